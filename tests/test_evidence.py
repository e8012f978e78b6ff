"""Health and money against evidence (issue 10; ODD sections 7.4, 7.17 and 8;
docs/design/health_and_money.md).

Paired comparisons on common seeds: each direction is asserted with the one-sided exact sign test
of the pattern tests (:func:`ics_sim.analysis.patterns.sign_test`, p < 0.05 on 12 seeds, i.e. at
least 10 of 12 seeds the expected way) and a median on the expected side. The docking checks
(the social split and the cost per QALY of a 1% NHS uplift in ``system=england``, the start at the
ONS gradient and the drift of the status quo) compare the model with published figures.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from ics_sim import metrics
from ics_sim.analysis.calibration import targets
from ics_sim.analysis.patterns import sign_test
from ics_sim.config import load_config
from ics_sim.model.ics_model import ICSModel
from ics_sim.runs.api import run_config

SEEDS = range(12)
ALPHA = 0.05
RULES = ("per_head", "need_weighted", "need_weighted_hi")

#: Love-Koh, Cookson, Claxton and Griffin 2020 (Med Decis Making 40(2):170-182): shares of the
#: health effect of an NHS expenditure change accruing to the most and least deprived fifths
LOVE_KOH_MOST, LOVE_KOH_LEAST = 0.26, 0.14
#: the UK range of the marginal cost per QALY of NHS spending (Claxton et al. 2015: GBP 12,936;
#: Lomas, Martin and Claxton 2019: GBP 5,000-15,000), as issue 10 states it
COST_PER_QALY = (5_000.0, 20_000.0)


def _summary(overrides: dict, seed: int, keep: bool = False):
    cfg, _ = load_config(overrides)
    return run_config(cfg, seed=seed, keep_model=keep, timeseries=False)


@pytest.fixture(scope="module")
def runs() -> tuple[dict[str, list[dict]], np.ndarray]:
    """The default scenario under each allocation rule, 12 common seeds, 10 years: the summaries by
    rule; and, from the same runs of the default rule (need-weighted), the status quo's drift per
    seed (:func:`_status_quo_drift`'s numbers: the same config and seed give the same run)."""
    rules: dict[str, list[dict]] = {}
    drift = []
    for rule in RULES:
        rules[rule] = []
        for s in SEEDS:
            r = _summary({"allocation": rule}, s, keep=rule == "need_weighted")
            rules[rule].append(r.summary)
            if rule == "need_weighted":
                start = _hle_now(ICSModel(r.config, seed=s, timeseries=False))
                drift.append(np.subtract(_hle_now(r.model), start))
                r.model.release()
    return rules, np.array(drift)


@pytest.fixture(scope="module")
def rules(runs) -> dict[str, list[dict]]:
    """The default scenario under each allocation rule, 12 common seeds, 10 years."""
    return runs[0]


def _diff(rules, a: str, b: str, key: str) -> np.ndarray:
    return np.array([x[key] - y[key] for x, y in zip(rules[a], rules[b], strict=True)])


def _holds(d: np.ndarray, sign: int) -> tuple[bool, str]:
    p = sign_test(d, sign)
    return bool(np.sign(np.median(d)) == sign and p < ALPHA), f"median {np.median(d):.4g}, sign test p = {p:.3g}, diffs {np.round(d, 4)}"


# ---------------------------------------------------------------------------------------------
# allocation rules (12 paired seeds)
# ---------------------------------------------------------------------------------------------
def test_need_weighting_gives_at_least_the_health_of_per_head_allocation(rules):
    for key in ("health_mean", "qalys"):
        ok, msg = _holds(_diff(rules, "need_weighted", "per_head", key), +1)
        assert ok, f"need-weighted - per head, {key}: {msg}"


def test_need_weighting_leaves_less_need_unmet_than_per_head_allocation(rules):
    ok, msg = _holds(_diff(rules, "need_weighted", "per_head", "unmet_need"), -1)
    assert ok, f"need-weighted - per head, unmet need (need-weighted share): {msg}"


def test_health_inequalities_adjustment_narrows_the_sii_against_per_head(rules):
    ok, msg = _holds(_diff(rules, "need_weighted_hi", "per_head", "hle_sii"), -1)
    assert ok, f"need-weighted + HI - per head, HLE SII: {msg}"


def test_the_most_deprived_fifth_gains_more_than_the_least_deprived_fifth_loses(rules):
    gain = _diff(rules, "need_weighted_hi", "per_head", "hle_q1")
    loss = -_diff(rules, "need_weighted_hi", "per_head", "hle_q5")
    assert np.all(gain > 0), gain
    ok, msg = _holds(gain - loss, +1)
    assert ok, f"Q1 gain - Q5 loss (need-weighted + HI against per head): {msg}"


@pytest.mark.xfail(
    strict=True,
    reason="issue 10 asks for a loss under a quarter of the gain; with the split docked to Love-Koh et al. "
    "(26% / 14%) the health per pound of the least deprived fifth is at least 0.45 of the most deprived's, and "
    "per head to need-weighted + HI takes about 1.26 times as much per head from them as it gives the most "
    "deprived, so the ratio cannot fall below about 0.5 (measured 0.7-0.9): docs/design/health_and_money.md section 9",
)
def test_the_least_deprived_fifth_loses_under_a_quarter_of_what_the_most_deprived_gains(rules):
    gain = _diff(rules, "need_weighted_hi", "per_head", "hle_q1")
    loss = -_diff(rules, "need_weighted_hi", "per_head", "hle_q5")
    assert np.median(loss) < 0.25 * np.median(gain), (np.median(loss), np.median(gain))


# ---------------------------------------------------------------------------------------------
# the start at the ONS gradient and the status quo
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("system", ["synthetic", "england"])
def test_month_zero_reproduces_the_ons_sii(system):
    cfg, _ = load_config({"system": system, "years": 1})
    m = ICSModel(cfg, seed=0)
    L = m.layout
    gv, gp = metrics.decile_groups(L.nb_decile, m.population.hle, L.nb_population)
    sii = metrics.sii(gv, gp)[0]
    assert abs(sii - targets().sii) <= 0.5, f"{system}: month-0 SII {sii:.2f}, ONS target {targets().sii:.2f}"
    assert abs(m.population.hle[np.argmin(L.nb_rank)] - m.population.hle[np.argmax(L.nb_rank)]) > 10.0


def _hle_now(model: ICSModel) -> tuple[float, float]:
    """The HLE slope index of inequality and the population's mean HLE (years) at this moment."""
    L = model.layout
    gv, gp = metrics.decile_groups(L.nb_decile, model.population.hle, L.nb_population)
    return metrics.sii(gv, gp)[0], float(np.average(model.population.hle, weights=L.nb_population))


def _status_quo_drift(system: str, seeds) -> np.ndarray:
    """Per seed, the change of the SII and of mean HLE from month 0 to the horizon (years)."""
    out = []
    for s in seeds:
        cfg, _ = load_config({"system": system})
        m = ICSModel(cfg, seed=s, timeseries=False)
        sii0, hle0 = _hle_now(m)
        m.run()
        sii1, hle1 = _hle_now(m)
        out.append((sii1 - sii0, hle1 - hle0))
    return np.array(out)


def test_the_status_quo_does_not_drift_from_the_ons_gradient(runs):
    d = runs[1]  # the default (synthetic, need-weighted) runs of the rules above: _status_quo_drift's
    assert abs(np.median(d[:, 0])) <= 0.3, f"median SII drift over 10 years {np.median(d[:, 0]):+.3f}"
    assert abs(np.median(d[:, 1])) <= 0.3, f"median mean-HLE drift over 10 years {np.median(d[:, 1]):+.3f}"


@pytest.mark.slow
def test_england_status_quo_does_not_drift_from_the_ons_gradient():
    d = _status_quo_drift("england", range(3))
    assert abs(np.median(d[:, 0])) <= 0.3, f"England: median SII drift over 10 years {np.median(d[:, 0]):+.3f}"


# ---------------------------------------------------------------------------------------------
# a 1% uplift of the NHS allocation in England: social split and cost per QALY
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def uplift() -> list[tuple[dict, dict, np.ndarray]]:
    """Paired runs of system=england with and without a 1% uplift of the NHS allocation (2 seeds):
    (base summary, uplift summary, QALY gain per population fifth, most deprived first)."""
    out = []
    for seed in range(2):
        cfg, _ = load_config({"system": "england"})
        up = copy.deepcopy(cfg)
        up.system.nhs_gbp_per_head = cfg.system.nhs_gbp_per_head * 1.01
        a = run_config(cfg, seed=seed, timeseries=False)
        b = run_config(up, seed=seed, timeseries=False)
        L = a.model.layout
        fifths = metrics.population_quantile_weights(L.nb_rank, L.nb_population, 5) / L.nb_population[:, None]
        gain = (b.model.population.qalys_nb - a.model.population.qalys_nb) @ fifths
        out.append((a.summary, b.summary, gain))
        a.model.release()
        b.model.release()
    return out


@pytest.mark.slow
def test_uplift_qaly_gain_splits_across_fifths_as_love_koh(uplift):
    share = np.mean([g / g.sum() for _, _, g in uplift], axis=0)
    assert abs(share[0] - LOVE_KOH_MOST) <= 0.05, f"most deprived fifth's share {share[0]:.3f} (Love-Koh {LOVE_KOH_MOST})"
    assert abs(share[-1] - LOVE_KOH_LEAST) <= 0.05, f"least deprived fifth's share {share[-1]:.3f} (Love-Koh {LOVE_KOH_LEAST})"
    assert np.all(np.diff(share) < 0), f"the gain should fall with deprivation fifth by fifth: {np.round(share, 3)}"


@pytest.mark.slow
def test_uplift_marginal_cost_per_qaly_is_in_the_uk_range(uplift):
    spend = sum(b["spend_gbp_total"] - a["spend_gbp_total"] for a, b, _ in uplift)
    qalys = sum(b["qalys"] - a["qalys"] for a, b, _ in uplift)
    assert spend > 0 and qalys > 0
    ratio = spend / qalys
    assert COST_PER_QALY[0] <= ratio <= COST_PER_QALY[1], f"marginal cost per QALY GBP {ratio:,.0f}"


# ---------------------------------------------------------------------------------------------
# running costs
# ---------------------------------------------------------------------------------------------
def test_running_costs_vary_with_deadlock_and_reduce_care_spending():
    base = [_summary({"years": 3}, s).summary for s in range(6)]
    free = [
        _summary({"years": 3, "costs.hourly_cost_gbp": 0.0, "costs.officer_hourly_cost_gbp": 0.0, "costs.reporting_share": 0.0,
                  "costs.independent_chair_gbp": 0.0}, s).summary
        for s in range(6)
    ]
    running = np.array([r["running_cost_gbp_total"] for r in base])
    deadlocks = np.array([r["deadlocks"] for r in base])
    assert np.unique(np.round(running)).size > 1, f"running costs identical across seeds: {running}"
    assert np.corrcoef(running, deadlocks)[0, 1] > 0.5, (running, deadlocks)  # failed meetings cost money
    assert all(r["running_cost_gbp_total"] == 0.0 for r in free)
    # the money went on time at the table instead of care: care spending is lower by about the
    # running costs (budgets are the same; the small rest is unspent money the decisions moved)
    less = np.array([f["spend_gbp_total"] - b["spend_gbp_total"] for b, f in zip(base, free, strict=True)])
    assert np.all(less > 0), less
    np.testing.assert_allclose(less, running, rtol=0.05)


def test_summary_holds_qalys_and_total_spending_and_neighbourhood_series():
    r = run_config(load_config({"years": 2})[0], seed=0)
    s = r.summary
    assert s["qalys"] > 0 and s["spend_gbp_total"] > 0
    people = r.model.layout.nb_population.sum()
    # QALYs per person-year close to England's mean EQ-5D (about 0.85)
    assert 0.80 < s["qalys"] / (people * 2) < 0.90
    nb = r.timeseries.query("level == 'neighbourhood'")
    assert {"population", "imd_rank", "health", "hle"} <= set(nb["metric"].unique())
