"""Random valid configurations: every run finishes and the invariants hold.

A seeded generator draws a configuration over the whole schema — synthetic and real systems,
every group option, and for each numeric key it sets, a value at the bottom or top of its range
or inside it — keeping only keys the chosen options read and the cross-field rules (NHS shares
sum to 1, HLE curve inside its floor and span, ladder thresholds ordered). Each run must finish
with finite outputs; money conserved at every level; shares and trust in [0, 1]; the population
unchanged. The default suite runs 12 configurations; the slow-marked test runs the 500 of issue 12.
"""

from __future__ import annotations

import functools
import math
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import ics_sim
from ics_sim.config import CONFIG_DIR, ConfigError, schema
from ics_sim.config import overrides as ov
from ics_sim.config.validate import fields_of
from ics_sim.data.reference import icb_table
from ics_sim.domains import DOMAINS

#: keys drawn for every configuration (section -> keys), each set with probability P_SET; keys
#: that only some options read are added below, with those options
FREE_SECTIONS = ("need", "health", "observation", "interests", "decision", "trust", "costs", "providers", "icp", "finance", "system")
P_SET = 0.25
#: keys the generator leaves to dedicated rules (consistency or options)
SPECIAL = {
    "health.hle_floor", "health.hle_span", "health.hle_most_deprived", "health.hle_least_deprived",
    "finance.nhs_domain_shares", "trust.gain", "trust.loss_ratio",
    "governance.ladder_up_trust", "governance.ladder_down_trust",
    "system.geography_seed", "system.need_index", "system.deprivation_spread",
}


def _value(rng: random.Random, meta: dict, tp: Any) -> Any:
    """A valid value: the bottom or top of the range (the extremes) or a uniform draw inside."""
    lo, hi = meta["range"]
    where = rng.random()
    x = lo if where < 1 / 3 else hi if where < 2 / 3 else rng.uniform(lo, hi)
    return int(round(x)) if tp is int else float(x)


def _numeric_keys(section: str) -> list[tuple[str, dict, Any]]:
    out = []
    for key in _section_keys(section):
        target = ov.resolve_key(key)
        if target.tp in (int, float) and key not in SPECIAL and not any(key.startswith(s + ".") for s in SPECIAL):
            out.append((key, target.meta, target.tp))
    return out


def _section_keys(section: str) -> list[str]:
    cls = ov.resolve_key(section).tp
    keys = []
    for name in fields_of(cls):
        tp = ov.resolve_key(f"{section}.{name}").tp
        if hasattr(tp, "__dataclass_fields__"):
            keys += [f"{section}.{name}.{d}" for d in DOMAINS]
        else:
            keys.append(f"{section}.{name}")
    return keys


@functools.cache
def _governance_presets() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in (CONFIG_DIR / "governance").glob("*.yaml")}


def _options_config(o: dict[str, Any], kind: str) -> schema.Config:
    """The settings the no-op rules read, as the chosen options and switches set them (without
    composing, which would cost 0.3 s per new combination of options)."""
    cfg = schema.Config()
    preset = _governance_presets()[o["governance"]]
    cfg.governance.form = o["governance"]
    cfg.governance.pooled = o.get("governance.pooled", preset["governance"]["pooled"])
    cfg.governance.ladder = o.get("governance.ladder", False)
    cfg.decision_rule = o.get("decision_rule", preset.get("decision_rule", cfg.decision_rule))
    cfg.chair = o.get("chair", "independent")
    cfg.delegation.rule, cfg.allocation.rule = o["delegation"], o["allocation"]
    cfg.sed.enabled = o.get("sed.enabled", False)
    cfg.system.kind = kind
    return cfg


def random_config(rng: random.Random, england: bool = False) -> dict[str, Any]:
    """A random valid configuration (overrides for :func:`ics_sim.run`)."""
    o: dict[str, Any] = {"years": rng.choice([1, 1, 2, 3])}
    # --- the system
    kind = rng.choices(["synthetic", "icb", "named", "england"], [0.6, 0.2, 0.2, 0.02 if england else 0.0])[0]
    if kind == "synthetic":
        if rng.random() < 0.5:
            n = rng.randint(1, 5)
            o["system.places"] = [
                {"name": f"P{i}", "population": _value(rng, {"range": (1_000, 3_000_000)}, float),
                 "mean_imd_rank": _value(rng, {"range": (0.0, 1.0)}, float),
                 "share_65plus": _value(rng, {"range": (0.0, 1.0)}, float),
                 "neighbourhoods": rng.choice([1, 1, 2, 5, 9])}
                for i in range(n)
            ]
        for key in ("system.need_index", "system.deprivation_spread"):
            if rng.random() < P_SET:
                o[key] = _value(rng, ov.resolve_key(key).meta, float)
    elif kind == "icb":
        o["system"] = "icb"
        o["system.icb"] = rng.choice(list(icb_table()["icb_code"]))
    elif kind == "named":
        o["system"] = rng.choice(["herefordshire_worcestershire", "shropshire_telford_wrekin", "north_east_north_cumbria"])
    else:
        o["system"] = "england"
        o["years"] = 1
    if rng.random() < P_SET:
        o["system.geography_seed"] = rng.randint(0, 2**31 - 1)
    # --- the options
    gov = rng.choice(ov.group_options()["governance"])
    dele = rng.choice(ov.group_options()["delegation"])
    alloc = rng.choice(ov.group_options()["allocation"])
    o |= {"governance": gov, "delegation": dele, "allocation": alloc}
    shocks = [s for s in ("funding_cut", "winter_pressure", "workforce_loss") if rng.random() < 0.3]
    o["shocks"] = shocks or "none"
    for s in shocks:
        o[f"shocks.{s}.magnitude"] = _value(rng, {"range": (0.0, 1.0)}, float)
    if rng.random() < 0.3:
        o["chair"] = "icb"
    if rng.random() < 0.3:
        o["decision_rule"] = rng.choice(["consensus", "majority", "supermajority", "weighted", "lead_decides"])
    for m in ("vcse", "healthwatch", "social_care"):
        if rng.random() < P_SET:
            o[f"membership.{m}"] = rng.random() < 0.5
    if rng.random() < P_SET:
        o["governance.pooled"] = rng.random() < 0.5
    # the ladder, on any form it holds (pooling included: money is conserved through every change
    # of form since issue 11), with thresholds anywhere in order
    from ics_sim.model.governance.partnership import LADDER

    if gov in LADDER and rng.random() < P_SET:
        o["governance.ladder"] = True
        down = rng.choice([0.0, 0.2, 0.5, 0.8])
        o |= {"governance.ladder_down_trust": down, "governance.ladder_up_trust": rng.choice([x for x in (0.6, 0.9, 1.0) if x > down])}
    if rng.random() < P_SET:
        o["sed.enabled"] = True
        for key in ("sed.external_gbp_per_head", "sed.ramp_years", "sed.anchor_local_share", "sed.effect"):
            if rng.random() < 0.5:
                o[key] = _value(rng, ov.resolve_key(key).meta, float)
    # keys only the chosen options read
    optional = {
        "delegation.share": dele == "fixed",
        "delegation.max_share": dele in ("subsidiarity", "earned_autonomy"),
        "delegation.initial_share": dele == "earned_autonomy", "delegation.step": dele == "earned_autonomy",
        "delegation.assurance_tolerance": dele == "earned_autonomy", "delegation.delay_penalty": dele == "earned_autonomy",
        "delegation.knowledge_weight": dele == "subsidiarity",
        "allocation.hi_adjustment": alloc == "need_weighted_hi",
        "governance.outcome_payment_share": gov == "lead_provider", "costs.contract_management": gov == "lead_provider",
        "governance.advice_weight": gov in ("consultative_forum", "individual_executive"),
        "governance.cadence_months": True, "governance.ladder_months": bool(o.get("governance.ladder")),
        "delegation.scale_elasticity.acute": True, "delegation.cross_place_flow.acute": dele == "subsidiarity",
    }
    for key, used in optional.items():
        if used and rng.random() < P_SET:
            o[key] = _value(rng, ov.resolve_key(key).meta, ov.resolve_key(key).tp)
    if gov == "lead_provider" and rng.random() < P_SET:
        o["governance.lead_provider"] = rng.choice(["community_trust", "acute_trust", "mental_health_trust"])
    if gov == "individual_executive" and rng.random() < P_SET:
        o["governance.sro_appointment"] = "joint"
    # --- every other numeric key, unless the options do not read it
    reads = _options_config(o, kind)
    for section in FREE_SECTIONS:
        for key, meta, tp in _numeric_keys(section):
            use = ov._use_of(key)
            if key in o or (use is not None and not use.used(reads)):
                continue
            if rng.random() < P_SET / 3:
                o[key] = _value(rng, meta, tp)
    # --- cross-field rules
    if rng.random() < P_SET:
        w = np.array([rng.random() ** 2 for _ in DOMAINS])
        w[rng.randrange(len(DOMAINS))] += 1e-3  # never all zero
        shares = w / w.sum()
        shares[-1] = 1.0 - shares[:-1].sum()
        o["finance.nhs_domain_shares"] = {d: float(max(s, 0.0)) for d, s in zip(DOMAINS, shares, strict=True)}
    if rng.random() < P_SET:
        most, least = sorted(rng.uniform(30.0, 90.0) for _ in range(2))
        floor = rng.uniform(max(0.0, least - 80.0), min(most, 80.0))
        span = rng.uniform(max(1.0, least - floor), 80.0)
        o |= {"health.hle_most_deprived": most, "health.hle_least_deprived": least, "health.hle_floor": floor, "health.hle_span": span}
    # trust: any valid gain and loss ratio (bounded by the form of the update since issue 11)
    if rng.random() < P_SET:
        o["trust.loss_ratio"] = _value(rng, ov.resolve_key("trust.loss_ratio").meta, float)
        o["trust.gain"] = _value(rng, ov.resolve_key("trust.gain").meta, float)
    return o


def undefined_measures(m) -> set[str]:
    """Measures the model leaves undefined (NaN) on purpose for the whole run, and why: with no
    vote ever taken there is no power imbalance; a run of several systems has no single unspent
    budget (the model's record). The quintile HLE is defined for every group (its own population
    fifths where it has nobody in a national fifth: issue 10), so it is never among them."""
    out = set()
    if not any(p.power_imbalance for p in m.partnerships):
        out.add("power_imbalance")
    if m.layout.n_systems > 1:  # England: the budgets of 42 systems are not one pot to leave unspent
        out.add("unspent_gbp")
    return out


def check_invariants(r: ics_sim.RunResult, overrides: dict) -> None:
    """Finite outputs, money conserved, shares and trust in [0, 1], people conserved."""
    s, m, ts = r.summary, r.model, r.timeseries
    allowed = undefined_measures(m)
    bad = {k: v for k, v in s.items() if isinstance(v, float) and not math.isfinite(v) and not (k in allowed and math.isnan(v))}
    assert not bad, f"non-finite summary values {bad} for {overrides}"
    values = ts["value"].to_numpy()
    assert not np.isinf(values).any(), f"infinite time series values for {overrides}"
    # NaN only where a measure is undefined: the whole run (see undefined_measures), or, for the
    # measures of decisions and strategy, the months before the first vote or the first strategy
    nan = ts.assign(nan=np.isnan(values)).sort_values("month")
    before_first = nan.groupby(["metric", "level", "area"])["nan"].cummin()  # True until the first value
    history = nan["metric"].isin(["strategy_alignment", "power_imbalance"])
    unseated = nan["level"] == "pair"  # pair trust is NaN where the two are not both seated (record.METRICS)
    unexpected = nan.loc[nan["nan"] & ~(history & before_first) & ~nan["metric"].isin(allowed) & ~unseated]
    assert unexpected.empty, f"NaN in {sorted(set(unexpected['metric']))} for {overrides}"
    ledger = pd.DataFrame(m.ledger.rows)
    tol = 1e-9 * max(1.0, float(ledger["budget"].abs().max()))
    # budget = care + running costs + unspent (issue 10)
    assert np.allclose(ledger["spent"] + ledger["running"] + ledger["unspent"], ledger["budget"], rtol=0, atol=tol), overrides
    assert (ledger["spent"] + ledger["running"] <= ledger["budget"] + tol).all() and (ledger["spent"] >= -tol).all(), overrides
    assert (ledger["running"] >= -tol).all(), overrides
    by = ledger.groupby(["year", "holder"])[["budget", "spent", "running"]].sum().unstack("holder").fillna(0.0)
    if ("budget", "icb") in by:
        for col in ("budget", "spent", "running"):
            parts = by.get((col, "icb_retained"), 0.0) + by.get((col, "icb_delegated"), 0.0)
            np.testing.assert_allclose(by[(col, "icb")].to_numpy(), np.asarray(parts), rtol=1e-9, err_msg=str(overrides))
    for metric in ("delegated_share", "unmet_need", "unmet_need_hidden", "vcse_survival", "vcse_capacity", "trust_mean", "trust", "health"):
        v = ts.loc[ts["metric"] == metric, "value"].dropna()  # NaN: checked above
        assert ((v >= -1e-12) & (v <= 1 + 1e-12)).all(), f"{metric} outside [0, 1] ({v.min()}, {v.max()}) for {overrides}"
    # strategy alignment is the share of the budgets' distance from the strategy that spending has
    # closed: at most 1 (on strategy); below 0 when partners' own interests pull further away
    v = ts.loc[ts["metric"] == "strategy_alignment", "value"].dropna()
    assert (v <= 1 + 1e-12).all(), f"strategy_alignment above 1 for {overrides}"
    # power imbalance is (others' mean distance - the setter's) / their sum: -1 to 1
    v = ts.loc[ts["metric"] == "power_imbalance", "value"].dropna()
    assert ((v >= -1 - 1e-12) & (v <= 1 + 1e-12)).all(), f"power_imbalance outside [-1, 1] for {overrides}"
    for part in m.partnerships:
        t = part.trust.matrix
        assert ((t >= 0.0) & (t <= 1.0)).all(), f"trust outside [0, 1] ({t.min()}, {t.max()}) for {overrides}"
    pop = ts.query("level == 'neighbourhood' and metric == 'population'").groupby("month")["value"].sum()
    np.testing.assert_allclose(pop.to_numpy(), pop.iloc[0], rtol=1e-12, err_msg=str(overrides))


def _case(i: int, england: bool = False) -> None:
    rng = random.Random(1_000 + i)
    overrides = random_config(rng, england=england)
    try:
        r = ics_sim.run(overrides, seed=i)
    except ConfigError as exc:  # the generator's fault: it must draw valid configurations only
        raise AssertionError(f"generator drew an invalid configuration {overrides}: {exc}") from None
    check_invariants(r, overrides)


@pytest.mark.parametrize("i", range(12))
def test_random_valid_configurations_keep_the_invariants(i):
    _case(i)


@pytest.mark.slow
@pytest.mark.parametrize("i", range(12, 512))
def test_five_hundred_random_valid_configurations_keep_the_invariants(i):
    _case(i, england=True)


def test_the_generator_reaches_the_extremes():
    drawn = [random_config(random.Random(1_000 + i)) for i in range(200)]
    keys = {k for o in drawn for k in o}
    assert {"system.places", "system.icb", "governance.ladder", "sed.effect", "trust.gain", "finance.nhs_domain_shares",
            "health.hle_floor", "delegation.share", "allocation.hi_adjustment"} <= keys
    at_bounds = sum(1 for o in drawn for k, v in o.items()
                    if isinstance(v, float) and "." in k and k not in ("trust.gain",)
                    and ov.resolve_key(k).meta.get("range") and v in ov.resolve_key(k).meta["range"])
    assert at_bounds > 100  # many values sit exactly on a bound of their range


def test_the_base_of_composition_is_the_schemas_defaults_as_omegaconf_reads_them():
    """``_base_node`` builds the root of composition with ``dataclasses.asdict`` (fast at start-up):
    the same values, and the same types (lists, not tuples), as OmegaConf's reading of the schema."""
    from omegaconf import OmegaConf

    from ics_sim.config.hydra_store import _base_node

    def shape(value):
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [type(value).__name__, *(shape(v) for v in value)]
        return (type(value).__name__, value)

    expected = OmegaConf.to_container(OmegaConf.structured(schema.Config))
    expected["shocks"] = {}
    got = OmegaConf.to_container(_base_node())
    assert shape(got) == shape(expected)
    assert OmegaConf.is_struct(_base_node().place_settings) is False
