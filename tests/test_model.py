"""Core model: outputs, determinism, conservation and the degenerate cases of MODEL.md section 9.8."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import ics_sim
from ics_sim.config import ConfigError, load_config
from ics_sim.domains import GOVERNANCE_FORMS
from ics_sim.model import commissioning
from ics_sim.model.record import SUMMARY_KEYS


def test_default_run_reports_every_summary_key_and_a_tidy_series():
    r = ics_sim.run({"years": 2}, seed=0)
    assert set(SUMMARY_KEYS) <= set(r.summary)
    for key in SUMMARY_KEYS:
        assert np.isfinite(r.summary[key]), key
    assert list(r.timeseries.columns) == ["run", "scenario", "system", "governance", "delegation", "delegation_share",
                                          "allocation", "shocks", "seed", "month", "date", "level", "area", "metric",
                                          "measure_unit", "value"]
    first = r.timeseries.iloc[0]
    assert (first["governance"], first["delegation_share"], first["shocks"]) == ("committee", 0.5, "none")
    # the calendar date beside the month index: month 0 is April of start_year, month 23 March two years on
    dates = r.timeseries.drop_duplicates("month").set_index("month")["date"]
    assert dates[0] == pd.Timestamp("2025-04-01") and dates[23] == pd.Timestamp("2027-03-01")
    units = r.timeseries.drop_duplicates("metric").set_index("metric")["measure_unit"]
    assert units["hle_sii"] == "years" and units["duplicated_spend_gbp"] == "GBP per year" and (units != "").all()
    assert set(r.timeseries["level"]) == {"system", "place", "neighbourhood", "pair"}
    assert r.timeseries["month"].max() == 23
    # the synthetic default: about 1.2 million people in 4 places and about 30 neighbourhoods
    assert r.summary["population"] == pytest.approx(1_200_000)
    assert len(r.model.partnerships) == 4
    assert 25 <= r.model.layout.n_neighbourhoods <= 35
    pop = r.timeseries.query("level == 'place' and metric == 'population' and month == 0")
    assert len(pop) == 4


def test_same_seed_same_numbers_different_seed_differs():
    a = ics_sim.run({"years": 3}, seed=5)
    b = ics_sim.run({"years": 3}, seed=5)
    c = ics_sim.run({"years": 3}, seed=6)
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    assert a.summary == b.summary
    assert a.summary["hle_sii"] != c.summary["hle_sii"]


def test_same_seed_same_numbers_across_processes():
    code = (
        "import ics_sim, json, hashlib;"
        "r = ics_sim.run({'years': 2}, seed=11);"
        "h = hashlib.sha256(r.timeseries.to_csv(index=False).encode()).hexdigest();"
        "print(json.dumps({'h': h, 'sii': r.summary['hle_sii']}))"
    )
    outs = [json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(2)]
    assert outs[0] == outs[1]


@pytest.mark.parametrize("form", GOVERNANCE_FORMS)
def test_money_is_conserved_every_year_at_every_level(form):
    r = ics_sim.run({"governance": form, "years": 3, "delegation": "fixed", "delegation.share": 0.4}, seed=1)
    m = r.model
    ledger = pd.DataFrame(m.ledger.rows)
    assert len(ledger) > 0
    # budget = care + running costs + unspent, and nothing is spent twice or beyond the budget
    tol = 1e-9 * ledger["budget"].max()
    assert np.allclose(ledger["spent"] + ledger["running"] + ledger["unspent"], ledger["budget"], rtol=0, atol=tol)
    assert (ledger["unspent"] >= -tol).all() and (ledger["running"] >= 0).all()
    assert (ledger[ledger.holder.isin(["icb", "council"])]["running"] > 0).all()  # every body pays for its time
    # what the payers paid is what partnership working cost (reported per place), year by year
    paid = ledger.query("holder in ['icb', 'council', 'vcse']").groupby("year")["running"].sum()
    cost = r.timeseries.query("level == 'place' and metric == 'transaction_cost_gbp'")
    by_year_cost = cost.groupby(cost["month"] // 12)["value"].sum() / 12.0
    np.testing.assert_allclose(paid.to_numpy(), by_year_cost.to_numpy(), rtol=1e-9)
    # the ICB's allocation is exactly what it keeps plus what it delegates, budgeted and spent
    by_holder = ledger.groupby(["year", "holder"])[["budget", "spent", "running"]].sum().unstack("holder")
    for col in ("budget", "spent", "running"):
        icb = by_holder[(col, "icb")]
        parts = by_holder[(col, "icb_retained")] + by_holder[(col, "icb_delegated")]
        np.testing.assert_allclose(icb.to_numpy(), parts.to_numpy(), rtol=1e-12)
    assert (by_holder[("budget", "icb_delegated")] > 0).all()  # a share really was delegated
    nhs_pot = m.finance.pot_nhs.sum()
    assert m.finance.nhs_budget.sum() == pytest.approx(m.finance.central_plan.sum() + nhs_pot, rel=1e-12)
    # what left the budgets each year is what reached neighbourhoods (recorded independently)
    spend = r.timeseries.query("level == 'place' and metric == 'spend_gbp'")
    by_year = spend.groupby(spend["month"] // 12)["value"].sum() / 12.0
    spent = ledger.query("holder in ['icb', 'council', 'vcse']").groupby("year")["spent"].sum()
    np.testing.assert_allclose(by_year.to_numpy(), spent.to_numpy(), rtol=1e-9)


def test_people_are_conserved():
    r = ics_sim.run({"years": 2}, seed=0)
    pop = r.timeseries.query("level == 'neighbourhood' and metric == 'population'")
    totals = pop.groupby("month")["value"].sum()
    assert np.allclose(totals, 1_200_000)


@pytest.mark.parametrize("form", GOVERNANCE_FORMS)
def test_zero_delegation_reproduces_central_allocation_exactly(form):
    central = ics_sim.run({"governance": form, "delegation": "central", "years": 2}, seed=3)
    zero = ics_sim.run({"governance": form, "delegation": "fixed", "delegation.share": 0.0, "years": 2}, seed=3)
    names = ["scenario", "delegation", "delegation_share"]  # the columns naming the two settings
    def same(ts: pd.DataFrame) -> pd.DataFrame:  # and the places' recorded delegation rule, which names them too
        return ts[ts.metric != "delegation_rule"].drop(columns=names).reset_index(drop=True)

    pd.testing.assert_frame_equal(same(central.timeseries), same(zero.timeseries))
    assert set(central.timeseries.metric) - set(same(central.timeseries).metric) == {"delegation_rule"}
    # and with nothing delegated every NHS pound is the ICB's own plan
    assert central.model.finance.pot_nhs.sum() == 0.0
    assert central.model.finance.central_plan.sum() == pytest.approx(central.model.finance.nhs_budget.sum(), rel=1e-12)


def test_zero_delegation_nhs_spending_is_the_same_under_every_governance_form():
    # membership held fixed: who sits at the ICP changes what the ICB can see of hidden need
    same_table = {"membership.vcse": True, "membership.healthwatch": True, "membership.social_care": True}
    plans = [
        ics_sim.run({"governance": f, "delegation": "central", "years": 1, **same_table}, seed=2).model.finance.central_plan
        for f in GOVERNANCE_FORMS
    ]
    for p in plans[1:]:
        np.testing.assert_array_equal(plans[0], p)


EQUAL = {
    "observation.perfect": True,
    "interests.enabled": False,
    "interests.strategy_regard": 0.0,
    "finance.mental_health_floor": 0.0,  # a national commitment the ICB alone holds
    "delegation": "fixed",
    "delegation.share": 0.5,
    "membership.vcse": True,
    "membership.healthwatch": True,
    "membership.social_care": True,
    "years": 1,  # later years differ in true need (delivery differs by form), not in how it is allocated
    # every table decides in April, on the same month's need (the forms' processes take different
    # times, and true need moves with each form's delivery in the meantime)
    "decision.preparation_months": 0,
    "decision.signoff_months": 0,
}


def _decided_allocation(model) -> np.ndarray:
    """Every statutory budget's plan for the current year, per neighbourhood and domain."""
    total = model.finance.central_plan.copy()
    for part in model.partnerships:
        total[part.idx] += commissioning.pot_spend(model, part) + commissioning.council_spend(model, part)
    return total


def test_perfect_information_and_equal_preferences_give_every_form_the_same_allocation():
    allocations = []
    for form in GOVERNANCE_FORMS:
        r = ics_sim.run({**EQUAL, "governance": form}, seed=4)
        allocations.append(_decided_allocation(r.model))
        assert all(p.year.decided for p in r.model.partnerships)  # nobody had reason to disagree
    for a in allocations[1:]:
        np.testing.assert_allclose(a, allocations[0], rtol=1e-9)
    # the check has teeth: with real interests the forms allocate differently
    biased = [_decided_allocation(ics_sim.run({**EQUAL, "interests.enabled": True, "governance": f}, seed=4).model) for f in ("committee", "lead_provider")]
    assert not np.allclose(biased[0], biased[1], rtol=1e-3)


def test_identical_neighbourhoods_give_zero_inequality_on_every_measure():
    places = [{"name": f"P{i}", "population": 300000, "mean_imd_rank": 0.5, "share_65plus": 0.185, "neighbourhoods": 7} for i in range(4)]
    r = ics_sim.run(
        {
            "system.places": places,
            "system.deprivation_spread": 0.0,
            "observation.perfect": True,
            "interests.enabled": False,
            "providers.vcse_income_volatility": 0.0,
            "years": 2,
        },
        seed=0,
    )
    assert abs(r.summary["hle_rii"] - 1.0) < 1e-9  # the PHE RII of no inequality is 1
    for key in ("hle_sii", "hle_relative_sii", "health_gini", "spend_concentration_index", "horizontal_inequity", "inverse_care_sii", "theil_between_places", "theil_within_places"):
        assert abs(r.summary[key]) < 1e-9, (key, r.summary[key])


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"delegation.share": 1.5}, "delegation.share"),
        ({"years": 0}, "years"),
        ({"chair": "mayor"}, "chair"),
        ({"governance": "cabinet"}, "governance"),
        ({"+nonsense": 1}, "nonsense"),
        ({"need.growth": "fast"}, "need.growth"),
        ({"system.places": [{"name": "A", "population": -5, "neighbourhoods": 2}]}, "population"),
    ],
)
def test_bad_config_stops_with_one_line_naming_the_field(overrides, field):
    with pytest.raises(ConfigError) as err:
        load_config(overrides)
    msg = str(err.value)
    assert field in msg
    assert "\n" not in msg


def test_command_line_runs_and_writes_a_whole_results_folder(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ics_sim", "years=1", "governance=joint_committee"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Healthy life expectancy" in proc.stdout
    runs = list((tmp_path / "results" / "runs").iterdir())
    assert len(runs) == 1
    files = {p.name for p in runs[0].iterdir()}
    assert files == {"timeseries.parquet", "summary.json", "config.yaml", "outcomes.png"}
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert set(SUMMARY_KEYS) <= set(summary)
    assert summary["seed"] == 0 and summary["config_hash"] and summary["ics_sim_version"] == ics_sim.__version__
    ts = pd.read_parquet(runs[0] / "timeseries.parquet")
    assert {"month", "date", "level", "area", "metric", "measure_unit", "value"} <= set(ts.columns)


def test_command_line_rejects_bad_value_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ics_sim", "delegation.share=2"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "delegation.share" in proc.stderr and "0 to 1" in proc.stderr
    assert not (tmp_path / "results" / "runs").exists() or not any((tmp_path / "results" / "runs").iterdir())


def test_vcse_external_income_is_spent_and_credited():
    m = ics_sim.run({}, seed=3).model
    vcse = [row for row in m.ledger.rows if row["holder"] == "vcse"]
    assert vcse and all(row["budget"] > 0 for row in vcse)
    for row in vcse:  # spent on care, or on the body's people's time at the table
        assert row["spent"] + row["running"] == pytest.approx(row["budget"], rel=1e-9)
        assert row["spent"] > 0.9 * row["budget"]


def test_a_table_with_nothing_to_decide_does_not_meet_or_delay():
    central = ics_sim.run({"delegation": "central"}, seed=1)
    assert central.summary["decision_delay_months"] == 0.0
    assert central.summary["deadlocks"] == 0.0
    assert all(p.meetings_total == 0 for p in central.model.partnerships)
    fixed = ics_sim.run({"delegation": "fixed"}, seed=1)
    assert all(p.meetings_total > 0 for p in fixed.model.partnerships)


def test_earned_autonomy_widens_for_some_places_and_never_empties_every_pot():
    for seed in range(3):
        ts = ics_sim.run({"delegation": "earned_autonomy"}, seed=seed).timeseries
        share = ts[(ts.metric == "delegated_share") & (ts.level == "place")].pivot(index="month", columns="area", values="value")
        assert share.to_numpy().max() > 0.1 + 1e-9, f"seed {seed}: no place ever earned more autonomy"
        assert share.iloc[-1].max() > 0.0, f"seed {seed}: every pot emptied"


def test_more_icp_meetings_cost_more_time():
    few = ics_sim.run({"icp.meetings_per_year": 1}, seed=0).summary["transaction_cost_gbp"]
    many = ics_sim.run({"icp.meetings_per_year": 12}, seed=0).summary["transaction_cost_gbp"]
    assert many > few


def test_stepping_by_hand_matches_run_with_social_and_economic_development():
    from ics_sim.model.ics_model import ICSModel
    from ics_sim.model.record import summarise

    cfg, _ = load_config({"sed.enabled": True, "years": 3})
    a = ICSModel(cfg, seed=2).run()
    b = ICSModel(cfg, seed=2)
    while b.running:
        b.step()
    assert np.array_equal(a.population.external, b.population.external)
    assert np.abs(b.population.external).max() > 0
    assert summarise(a.recorder)["hle_mean"] == summarise(b.recorder)["hle_mean"]


def test_the_subsidiarity_test_copes_with_a_domain_nobody_needs():
    """A domain with no need has no within-place variation to know about: no division by zero,
    no warning, and the domain is judged on scale and co-ordination alone."""
    import warnings

    from ics_sim.model.governance.delegation import subsidiarity_test
    from ics_sim.model.systems import build_layout

    cfg, _ = load_config({"need.gbp_per_head.prevention": 0.0})
    layout = build_layout(cfg.system)
    need = np.ones((layout.n_neighbourhoods, 5)) * layout.nb_population[:, None]
    need[:, 4] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        delegated = subsidiarity_test(cfg, layout, need)
    assert delegated.shape == (5,) and delegated.dtype == bool
