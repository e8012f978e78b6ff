"""Settings for one place (issue 14): ``place_settings.<place>.<key>=value`` on the command line,
through the API, ``ics_sim.Scenarios`` and YAML; validated as the system-wide keys are; each
place's table runs on its own settings; every place given the system-wide value is the
system-wide run; and the record names each place's settings."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

import ics_sim
from ics_sim.config import ConfigError, load_config, scenario_label, to_dict, validate
from ics_sim.config import overrides as ov
from ics_sim.config.places import find_place, merged, system_places
from ics_sim.data.reference import layout_places
from ics_sim.model.systems import build_icbs
from ics_sim.runs.api import run_config
from ics_sim.runs.factors import factors

HW = "system=herefordshire_worcestershire"
HEREFORDSHIRE, WORCESTERSHIRE = 0, 1  # layout order of the ICB's places (places.csv)


def run(overrides: list[str], seed: int = 1, years: int = 2, timeseries: bool = False):
    cfg, _ = load_config([*overrides, f"years={years}"])
    return run_config(cfg, seed=seed, timeseries=timeseries)


def error(overrides) -> str:
    with pytest.raises(ConfigError) as exc:
        load_config(overrides)
    return str(exc.value)


# ------------------------------------------------------------------------------ naming a place
def test_a_place_is_named_by_its_name_any_case_or_its_code():
    names, codes = system_places(load_config([HW])[0].system)
    assert names == ["Herefordshire, County of", "Worcestershire"]
    for key in ("Herefordshire", "herefordshire", "HEREFORDSHIRE", "herefordshire_county_of", "E06000019"):
        assert find_place(key, names, codes) == HEREFORDSHIRE, key
    assert find_place("worcestershire", names, codes) == WORCESTERSHIRE
    assert find_place("Hereford", names, codes) is None
    stw = system_places(load_config(["system=shropshire_telford_wrekin"])[0].system)
    assert find_place("telford_and_wrekin", *stw) == find_place("Telford and Wrekin", *stw) is not None


def test_the_config_knows_the_places_the_model_builds():
    """Validation names places as the layout does, split councils included (England)."""
    england = build_icbs(None, 1)
    rows = layout_places(None)
    assert [n for n, _ in rows] == england.place_names and [c for _, c in rows] == england.place_codes
    names, codes = [n for n, _ in rows], [c for _, c in rows]
    split = [n for n in names if n.endswith(" part)")]
    assert split, "England has councils split between ICBs"
    assert find_place(split[0].split(" (")[0], names, codes) is None  # the bare name names several places
    assert names[find_place(split[0].replace(" ", "_"), names, codes)] == split[0]


# ------------------------------------------------------------------------------ validation
def test_an_unknown_place_lists_the_places_of_the_system():
    assert error([HW, "place_settings.Hereford.governance.form=joint_committee"]) == (
        "place_settings.Hereford: herefordshire_worcestershire has no place called 'Hereford' (did you mean "
        "herefordshire?); its places are herefordshire, worcestershire (or their codes: E06000019, E10000034)"
    )
    assert error(["place_settings.Herefordshire.chair=icb"]).startswith(
        "place_settings.Herefordshire: synthetic has no place called 'Herefordshire'; its places are northbridge, eastmoor, southvale, westfield"
    )


@pytest.mark.parametrize(
    "override, message",
    [
        ("place_settings.Herefordshire.governance.form=joint",
         "place_settings.Herefordshire.governance.form = 'joint' is not allowed: choose one of consultative_forum, "
         "individual_executive, committee, joint_committee, lead_provider"),
        ("place_settings.Herefordshire.delegation.share=1.5",
         "place_settings.Herefordshire.delegation.share = 1.5 is out of range: allowed 0 to 1 (share of domain budget)"),
        ("place_settings.Herefordshire.membership.vcse=maybe", "place_settings.Herefordshire.membership.vcse must be true or false, got 'maybe'"),
        ("place_settings.Herefordshire.decision_rule=unanimity",
         "place_settings.Herefordshire.decision_rule = 'unanimity' is not allowed: choose one of consensus, majority, "
         "supermajority, weighted, lead_decides"),
        ("place_settings.Herefordshire.governance.formm=committee",
         "unknown key place_settings.Herefordshire.governance.formm (did you mean place_settings.Herefordshire.governance.form?): "
         "allowed keys here are advice_weight, cadence_months, form, lead_provider, outcome_payment_share, pooled, sro_appointment"),
        ("place_settings.Herefordshire.governance.ladder=true",
         "place_settings.Herefordshire.governance.ladder cannot be set for one place (the ladder of formality is one "
         "rule for the system): set governance.ladder for the whole run"),
        ("place_settings.Herefordshire.delegation.cross_place_flow.acute=0.1",
         "place_settings.Herefordshire.delegation.cross_place_flow cannot be set for one place (patient flows across "
         "places are a property of the system): set delegation.cross_place_flow for the whole run"),
        ("place_settings.Herefordshire.governance.outcome_payment_share=0.3",
         "place_settings.Herefordshire.governance.outcome_payment_share has no effect with governance=committee at "
         "Herefordshire, County of: it is used only with governance=lead_provider"),
        ("place_settings.Worcestershire.delegation.max_share=0.5",
         None),  # read by the system's subsidiarity rule: accepted
    ],
)
def test_a_place_key_is_checked_as_the_system_wide_key_is(override, message):
    if message is None:
        load_config([HW, override])
        return
    assert error([HW, override]) == message


def test_keys_a_place_may_not_set_are_named_with_what_it_may():
    text = error([HW, "place_settings.Herefordshire.seed=3"])
    assert text.startswith("place_settings.Herefordshire.seed cannot be set for one place (it is one setting for the whole run): a place may set governance.{form,")
    assert "membership.{vcse,healthwatch,social_care}, decision_rule, chair, delegation.{rule,share," in text
    assert error([HW, "place_settings.Herefordshire.trust.initial=0.3"]).startswith("place_settings.Herefordshire.trust cannot be set for one place")
    assert error([HW, "place_settings.Herefordshire=3"]).startswith("place_settings.Herefordshire takes settings, e.g. place_settings.Herefordshire.chair=icb")
    assert error([HW, "place_settings={}"]).startswith("place_settings={} sets nothing")
    assert error([HW, "place_settings.Herefordshire={}"]).startswith("place_settings.Herefordshire={} sets nothing")
    assert error([HW, "place_settings.E06000019.chair=icb", "place_settings.herefordshire.decision_rule=consensus"]) == (
        "place_settings.herefordshire and place_settings.E06000019 both name Herefordshire, County of: give each place once"
    )
    assert error([HW, "place_settings.Herefordshire.delegation.share=0.6", "place_settings.Herefordshire.delegation.step=0.1"]) == (
        "place_settings.Herefordshire: delegation.share (read by delegation=fixed) and delegation.step (read by "
        "delegation=earned_autonomy) need different rules: choose one with place_settings.Herefordshire.delegation.rule=<rule>"
    )


def test_a_system_wide_key_read_only_by_one_place_is_not_a_no_op():
    cfg, _ = load_config([HW, "governance.outcome_payment_share=0.5", "place_settings.Herefordshire.governance.form=lead_provider"])
    assert ov.unused_keys({"system": "herefordshire_worcestershire", "governance.outcome_payment_share": 0.5}) == [
        "governance.outcome_payment_share"
    ]
    assert ov.unused_keys({"system": "herefordshire_worcestershire", "governance.outcome_payment_share": 0.5,
                           "place_settings.Herefordshire.governance.form": "lead_provider"}) == []
    # the value the user set for the run is kept by the place's form (the form file's 0.0 is not)
    here = merged(cfg, cfg.place_settings["Herefordshire"]).governance
    assert (here.form, here.outcome_payment_share, here.cadence_months) == ("lead_provider", 0.5, 1)


def test_a_results_folder_config_validates_to_the_same_settings():
    cfg, _ = load_config([HW, "place_settings.Herefordshire.governance.form=joint_committee", "place_settings.E10000034.chair=icb"])
    again = validate(yaml.safe_load(yaml.safe_dump(to_dict(cfg))))
    assert again == cfg and again.place_settings == {"Herefordshire": {"governance": {"form": "joint_committee"}}, "E10000034": {"chair": "icb"}}


# ------------------------------------------------------------------------------ the syntax, every way in
def test_the_command_line_takes_place_settings_without_a_plus(tmp_path):
    args = [HW, "years=1", "place_settings.Herefordshire.governance.form=joint_committee",
            "place_settings.Herefordshire.governance.pooled=true", "place_settings.worcestershire.membership.vcse=false"]
    proc = subprocess.run([sys.executable, "-m", "ics_sim", *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (folder,) = (tmp_path / "results" / "runs").iterdir()
    assert "Herefordshire.form=joint_committee" in folder.name  # the folder names the place's settings
    config = yaml.safe_load((folder / "config.yaml").read_text())
    assert config["place_settings"] == {"Herefordshire": {"governance": {"form": "joint_committee", "pooled": True}},
                                        "worcestershire": {"membership": {"vcse": False}}}
    summary = json.loads((folder / "summary.json").read_text())
    assert "Herefordshire, County of: form=joint_committee pooled=true vcse=true" in summary["place_settings"]
    assert "Worcestershire: form=committee pooled=false vcse=false" in summary["place_settings"]


def test_the_command_line_refuses_an_unknown_place_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ics_sim", HW, "place_settings.Hereford.chair=icb"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [f"ConfigError: {error([HW, 'place_settings.Hereford.chair=icb'])}"]
    assert list(tmp_path.iterdir()) == []


def test_the_api_yaml_and_scenarios_take_the_same_settings():
    strings = [HW, "place_settings.Herefordshire.governance.form=joint_committee", "place_settings.Herefordshire.governance.pooled=true"]
    mapping = {"system": "herefordshire_worcestershire", "place_settings.Herefordshire.governance.form": "joint_committee",
               "place_settings.Herefordshire.governance.pooled": True}
    text = """
    system: herefordshire_worcestershire
    place_settings: {Herefordshire: {governance: {form: joint_committee, pooled: true}}}
    """
    from_yaml = yaml.safe_load(text)
    configs = [load_config(o)[0] for o in (strings, mapping, from_yaml)]
    assert configs[0] == configs[1] == configs[2]
    a = ics_sim.run(strings + ["years=1"], seed=2).summary
    sc = ics_sim.Scenarios({"Joint committee in Herefordshire": from_yaml, "Committees": {"system": "herefordshire_worcestershire"}},
                           seeds=1, base_seed=2, years=1, timeseries=False)
    runs = sc.run().runs
    b = runs[runs.scenario == "Joint committee in Herefordshire"].iloc[0]
    for settings in (a["place_settings"], b["place_settings"]):
        assert settings.startswith("Herefordshire, County of: form=joint_committee pooled=true")
        assert "; Worcestershire: form=committee pooled=false" in settings
    other = runs[runs.scenario == "Committees"].iloc[0]
    assert other["place_settings"].startswith("Herefordshire, County of: form=committee pooled=false")


# ------------------------------------------------------------------------------ the model
@pytest.mark.parametrize(
    "system_wide, per_place",
    [
        (["governance=joint_committee"], ["governance.form=joint_committee"]),
        (["governance=lead_provider", "governance.outcome_payment_share=0.4"],
         ["governance.form=lead_provider", "governance.outcome_payment_share=0.4"]),
        (["governance=individual_executive", "governance.sro_appointment=joint"],
         ["governance.form=individual_executive", "governance.sro_appointment=joint"]),
        (["decision_rule=consensus", "chair=icb"], ["decision_rule=consensus", "chair=icb"]),
        (["membership.vcse=false", "membership.healthwatch=false"], ["membership.vcse=false", "membership.healthwatch=false"]),
        (["delegation=earned_autonomy", "delegation.step=0.2"], ["delegation.rule=earned_autonomy", "delegation.step=0.2"]),
        (["delegation.share=0.3"], ["delegation.share=0.3"]),
    ],
)
def test_every_place_given_the_system_wide_setting_is_the_system_wide_run(system_wide, per_place):
    one = run([HW, *system_wide]).summary
    each = run([HW, *[f"place_settings.{p}.{kv}" for p in ("Herefordshire", "Worcestershire") for kv in per_place]]).summary
    differ = {k for k in one if one[k] != each[k] and k not in ("scenario", "config_hash")}
    assert not differ, {k: (one[k], each[k]) for k in differ}
    assert one["scenario"] != each["scenario"]


def test_a_joint_committee_pooling_in_one_place_moves_that_places_money_only():
    base = run([HW], years=1, timeseries=True)
    joint = run([HW, "place_settings.Herefordshire.governance.form=joint_committee",
                 "place_settings.Herefordshire.governance.pooled=true"], years=1, timeseries=True)
    fin_b, fin_j = base.model.finance, joint.model.finance
    pooled = fin_j.pot_envelope.sum(axis=1) - fin_j.pot_nhs.sum(axis=1)
    share = joint.config.finance.pooled_council_share
    assert pooled[HEREFORDSHIRE] == pytest.approx(share * fin_j.council_budget[HEREFORDSHIRE].sum()) and pooled[HEREFORDSHIRE] > 1e6
    assert pooled[WORCESTERSHIRE] == 0.0
    assert fin_j.pot_envelope[WORCESTERSHIRE].sum() == fin_b.pot_envelope[WORCESTERSHIRE].sum()
    assert fin_j.council_own_envelope(WORCESTERSHIRE).sum() == fin_b.council_own_envelope(WORCESTERSHIRE).sum()
    assert fin_j.council_own_envelope(HEREFORDSHIRE).sum() < fin_b.council_own_envelope(HEREFORDSHIRE).sum()
    forms = [p.form for p in joint.model.partnerships]
    assert forms == ["joint_committee", "committee"]
    seats = {p.place: {s.label: s.role for s in p.seats} for p in joint.model.partnerships}
    assert [s for s, r in seats[HEREFORDSHIRE].items() if r == "vote"] == ["icb", "council"]
    assert seats[WORCESTERSHIRE]["acute_trust"] == "vote"  # still a committee of the ICB
    # the recorded place settings and money
    ts = joint.timeseries
    place = ts[(ts.level == "place") & (ts.month == 0)].pivot(index="area", columns="metric", values="value")
    assert place.loc["Herefordshire, County of", "pooled"] == 1.0 and place.loc["Worcestershire", "pooled"] == 0.0
    assert place.loc["Herefordshire, County of", "governance_form"] != place.loc["Worcestershire", "governance_form"]
    tb = base.timeseries
    base_place = tb[(tb.level == "place") & (tb.month == 0)].pivot(index="area", columns="metric", values="value")
    assert place.loc["Herefordshire, County of", "delegated_budget_gbp"] > base_place.loc["Herefordshire, County of", "delegated_budget_gbp"]
    assert place.loc["Worcestershire", "delegated_budget_gbp"] == base_place.loc["Worcestershire", "delegated_budget_gbp"]


def test_a_delegation_key_alone_selects_its_rule_for_that_place():
    r = run([HW, "place_settings.Herefordshire.delegation.share=0.6"], years=1)
    m = r.model
    assert [p.settings.delegation.rule for p in m.partnerships] == ["fixed", "subsidiarity"]
    assert np.all(m.finance.shares[HEREFORDSHIRE] == 0.6)
    whole = run([HW], years=1).model.finance.shares
    assert np.array_equal(m.finance.shares[WORCESTERSHIRE], whole[WORCESTERSHIRE])


def test_each_table_meets_on_its_own_cadence_and_decides_by_its_own_rule():
    r = run([HW, "place_settings.Herefordshire.governance.cadence_months=1", "place_settings.Worcestershire.decision_rule=consensus",
             "place_settings.Worcestershire.chair=icb"], years=1)
    here, worc = r.model.partnerships
    assert (here.settings.governance.cadence_months, worc.settings.governance.cadence_months) == (1, 2)
    assert here.meetings_total > worc.meetings_total
    assert (here.settings.decision_rule, worc.settings.decision_rule) == ("majority", "consensus")
    # the ICB's chair's vote at the ICP counts for the share of places it chairs
    assert r.model.icps[0].votes(r.model) == (2.0, r.config.icp.icb_votes + 0.5)


def test_labels_and_factor_columns_name_each_places_settings():
    cfg, _ = load_config([HW, "place_settings.Herefordshire.governance.form=joint_committee", "place_settings.E10000034.membership.vcse=false"])
    assert scenario_label(cfg).startswith("herefordshire_worcestershire-committee-subsidiarity-need_weighted,Herefordshire.form=joint_committee,")
    assert scenario_label(load_config(["place_settings.Northbridge.decision_rule=consensus"])[0]) == (
        "synthetic-committee-subsidiarity-need_weighted,Northbridge.decision_rule=consensus"
    )
    cols = factors(cfg, ["place_settings.Herefordshire.governance.form", "place_settings.E10000034.membership.vcse"])
    assert cols["place_settings_Herefordshire_governance_form"] == "joint_committee"
    assert cols["place_settings_E10000034_membership_vcse"] is False
    assert scenario_label(load_config([HW, "place_settings.Herefordshire.chair=icb"])[0]) != scenario_label(
        load_config([HW, "place_settings.Worcestershire.chair=icb"])[0])


def test_a_sweep_over_one_places_form_is_checked_whole_and_passed_to_hydra_as_written():
    from ics_sim.__main__ import check_command_line

    args = ["-m", HW, "place_settings.Herefordshire.governance.form=committee,joint_committee", "years=1"]
    assert check_command_line(args) == args
    with pytest.raises(ConfigError) as exc:
        check_command_line(["-m", HW, "place_settings.Herefordshire.governance.form=committee,joint"])
    assert str(exc.value).startswith("place_settings.Herefordshire.governance.form = 'joint' is not allowed")
