"""Pattern-oriented validation: MODEL.md section 9, patterns 1 to 7, as paired comparisons.

Every pattern is checked as one or more *paired comparisons*: two scenarios (A and B) run on the
same seeds (common random numbers, :func:`ics_sim.runs.seeds.replicate_seed`), and the difference
A - B of a measure is taken seed by seed. A comparison *holds* when the distribution-free 90%
interval of the median paired difference (:func:`median_interval`) lies wholly on the expected
side of zero. Where A and B are the same scenario, the comparison is between two measures of the
same run (for example the decision delay of the first year against that of the last three).

:data:`COMPARISONS` is the one declaration of the comparisons, used by
``experiments/patterns.py`` (the full experiment, 30 or more seeds, tables and figures) and by
``tests/test_patterns.py`` (the fast variant, fewer seeds). Measures are summary keys of a run
(:mod:`ics_sim.model.record`) or, for time shapes, measures derived from the run's monthly system
record (:data:`DERIVED`). The scenarios run as one :class:`ics_sim.runs.scenarios.Scenarios`
object (the derived measures are its ``measures``), and each comparison's pairs come from
:meth:`~ics_sim.runs.scenarios.Scenarios.compare`; money is in GBP per year, as stored.

Example::

    from ics_sim.analysis import patterns
    result = patterns.run_patterns(replicates=30, out_dir="results/patterns/demo", workers=2)
    result.table[["id", "median", "lo", "hi", "verdict"]]
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ics_sim.runs.io import atomic_path, atomic_write_text
from ics_sim.runs.scenarios import Scenarios
from ics_sim.runs.seeds import replicate_seed
from ics_sim.version import __version__

#: every optional member at the table, so that forms are compared with the same people present
SAME_TABLE: dict[str, Any] = {"membership.vcse": True, "membership.healthwatch": True, "membership.social_care": True}
#: the place share delegated in the delegation comparisons of pattern 3
SHARE = 0.6

#: plain titles of the patterns (MODEL.md section 9)
PATTERNS: dict[int, str] = {
    1: "Inverse care law",
    2: "Targeted resource narrows the gap",
    3: "Local knowledge versus variation",
    4: "Who is at the table matters",
    5: "Trust takes time",
    6: "Lead provider bias",
    7: "Decision rules and power",
}


@dataclass(frozen=True)
class Comparison:
    """One paired comparison: the difference A - B of ``metric`` should have sign ``sign``.

    Attributes:
        id: short name, e.g. ``"5c"`` (pattern number and letter).
        claim: the claim in plain language.
        a, b: config overrides of scenarios A and B (as for :func:`ics_sim.run`).
        label_a, label_b: short names of the scenarios for tables and figures.
        metric: the measure taken on A (a summary key or a :data:`DERIVED` measure).
        sign: the expected sign of A - B: +1 (A higher) or -1 (A lower).
        unit: unit of the measure (money in GBP per year, as stored).
        metric_b: the measure taken on B, when it differs from ``metric`` (a within-run comparison).
        kind: ``"validation"`` when the direction emerges from the model's dynamics, or
            ``"verification"`` when it holds by construction (it checks the code does what a
            mechanism says, not that the model reproduces the world): e.g. one decision maker has
            no delay, a preference scaled by a contract share, a trust loss set to three times a
            gain, a reach parameter that reveals hidden need.
    """

    id: str
    claim: str
    a: Mapping[str, Any]
    b: Mapping[str, Any]
    label_a: str
    label_b: str
    metric: str
    sign: int
    unit: str
    metric_b: str | None = None
    kind: str = "validation"

    @property
    def pattern(self) -> int:
        return int(self.id.rstrip("abcdefghij"))

    @property
    def measure_b(self) -> str:
        return self.metric_b or self.metric

    @property
    def comparison(self) -> str:
        """Scenario A against B, as text for the table (for a within-run comparison, the labels name
        the two measures)."""
        return f"{self.label_a} vs {self.label_b}"


JC = {"governance": "joint_committee", **SAME_TABLE}
COMMITTEE = {"governance": "committee", **SAME_TABLE}
CENTRAL_PER_HEAD = {"allocation": "per_head", "delegation": "central"}
FIXED = {"delegation": "fixed", "delegation.share": SHARE}
GBP = "GBP per year"

#: the pattern comparisons (MODEL.md section 9, patterns 1-7; pattern 8 is tested exactly in tests/test_model.py)
COMPARISONS: tuple[Comparison, ...] = (
    # 1 inverse care law
    Comparison("1a", "A need-blind, per-head central allocation spends less per pound of need in deprived areas",
               CENTRAL_PER_HEAD, {"delegation": "central"}, "per head", "need-weighted",
               "inverse_care_sii", +1, "GBP spent per GBP of need, least minus most deprived", kind="verification"),
    Comparison("1b", "Per-head allocation ends with wider absolute inequality in healthy life expectancy",
               CENTRAL_PER_HEAD, {"delegation": "central"}, "per head", "need-weighted",
               "hle_sii", +1, "years, slope index of HLE"),
    Comparison("1c", "Under per-head allocation absolute inequality widens over the run",
               CENTRAL_PER_HEAD, CENTRAL_PER_HEAD, "per head, last month", "per head, first month",
               "hle_sii", +1, "years, slope index of HLE", metric_b="hle_sii_start"),
    # 2 targeted resource narrows the gap
    Comparison("2a", "Need-weighted allocation with a health-inequalities adjustment ends with a narrower HLE gap than per-head allocation",
               {"allocation": "need_weighted_hi"}, {"allocation": "per_head"}, "need-weighted + HI", "per head",
               "hle_sii", -1, "years, slope index of HLE"),
    Comparison("2b", "With the health-inequalities adjustment the HLE gap narrows over the run",
               {"allocation": "need_weighted_hi"}, {"allocation": "need_weighted_hi"}, "need-weighted + HI, last month",
               "need-weighted + HI, first month",
               "hle_sii", -1, "years, slope index of HLE", metric_b="hle_sii_start"),
    Comparison("2c", "The gains are in the most deprived fifth of neighbourhoods",
               {"allocation": "need_weighted_hi"}, {"allocation": "per_head"}, "need-weighted + HI", "per head",
               "hle_q1", +1, "years of HLE, most deprived fifth"),
    Comparison("2d", "The gains in the most deprived fifth exceed those in the least deprived fifth",
               {"allocation": "need_weighted_hi"}, {"allocation": "per_head"}, "need-weighted + HI", "per head",
               "hle_gap_q1_q5", -1, "years of HLE, least minus most deprived fifth"),
    # 3 local knowledge versus variation
    Comparison("3a", "Delegating to places improves the match of spending to need inside places",
               FIXED, {"delegation": "central"}, f"delegated {SHARE:.0%}", "central",
               "need_mismatch_within_places", -1, "share of spending misplaced within places", kind="verification"),
    Comparison("3b", "With per-head place budgets, delegation raises variation between places",
               {**FIXED, "allocation": "per_head"}, CENTRAL_PER_HEAD, f"delegated {SHARE:.0%}, per head", "central, per head",
               "coverage_theil_between_places", +1, "Theil index of coverage between places"),
    Comparison("3c", "Need-weighted place budgets vary less between places than per-head ones",
               FIXED, {**FIXED, "allocation": "per_head"}, f"delegated {SHARE:.0%}, need-weighted", f"delegated {SHARE:.0%}, per head",
               "coverage_theil_between_places", -1, "Theil index of coverage between places"),
    Comparison("3d", "Without pooling, delegation raises duplicated spending",
               FIXED, {"delegation": "central"}, f"delegated {SHARE:.0%}", "central",
               "duplicated_spend_gbp", +1, GBP, kind="verification"),
    Comparison("3e", "Pooling council money with the delegated budget cuts that duplication",
               {**FIXED, "governance.pooled": True}, FIXED, f"delegated {SHARE:.0%}, pooled", f"delegated {SHARE:.0%}, not pooled",
               "duplicated_spend_gbp", -1, GBP),
    # 4 who is at the table
    Comparison("4a", "VCSE bodies and Healthwatch at the table lower unmet need in excluded groups",
               {}, {"membership.vcse": False, "membership.healthwatch": False}, "with VCSE and Healthwatch", "without",
               "unmet_need_hidden", -1, "share of hidden need unmet", kind="verification"),
    # 5 trust takes time
    Comparison("5a", "A joint committee with a pooled budget cuts duplicated spending",
               JC, COMMITTEE, "joint committee", "committee", "duplicated_spend_gbp", -1, GBP),
    Comparison("5b", "A joint committee with a pooled budget cuts gaps (unfunded need)",
               JC, COMMITTEE, "joint committee", "committee", "unfunded_need", -1, GBP),
    Comparison("5c", "A joint committee is slower to decide in its first year",
               JC, COMMITTEE, "joint committee", "committee", "decision_delay_year1", +1, "months from April"),
    Comparison("5d", "A joint committee's decisions come sooner as trust builds (first year vs last three)",
               JC, JC, "joint committee, first year", "joint committee, last three years", "decision_delay_year1", +1, "months from April",
               metric_b="decision_delay_last3"),
    Comparison("5e", "Trust in a joint committee builds over the years (end of run vs end of first year)",
               JC, JC, "joint committee, end of run", "joint committee, end of first year", "trust_mean", +1, "trust, 0 to 1", metric_b="trust_year1"),
    Comparison("5f", "Trust erodes faster than it builds: at the trust the partners reach, a broken agreement costs more than a kept one earns",
               JC, JC, "joint committee: one broken agreement", "one kept agreement", "trust_violation_cost", +1, "trust, 0 to 1, per event",
               metric_b="trust_success_gain", kind="verification"),
    # 6 lead provider bias
    Comparison("6a", "A lead provider decides fast",
               {"governance": "lead_provider", **SAME_TABLE}, COMMITTEE, "lead provider", "committee",
               "decision_delay_months", -1, "months from April", kind="verification"),
    Comparison("6b", "A lead provider bends spending towards its own services",
               {"governance": "lead_provider"}, {"governance": "committee"}, "lead provider", "committee",
               "own_service_bias", +1, "own services' share of spending minus share of need", kind="verification"),
    Comparison("6c", "... unless the contract pays for outcomes",
               {"governance": "lead_provider", "governance.outcome_payment_share": 0.8}, {"governance": "lead_provider"},
               "lead provider, 80% outcome payment", "lead provider, activity contract",
               "own_service_bias", -1, "own services' share of spending minus share of need", kind="verification"),
    # 7 decision rules and power
    Comparison("7a", "A supermajority rule softens power imbalance compared with simple majority (Choi and Robertson 2014)",
               {"decision_rule": "supermajority"}, {"decision_rule": "majority"}, "supermajority", "majority",
               "power_imbalance", -1, "power imbalance: 0 = even, 1 = the setter's own plan"),
)


# --------------------------------------------------------------------------------------------
# measures derived from a run's monthly system record


def _march(sys_ts: pd.DataFrame, metric: str) -> np.ndarray:
    """The values in March (the last month of each financial year)."""
    s = sys_ts[sys_ts["metric"] == metric].sort_values("month")
    return s.loc[s["month"] % 12 == 11, "value"].to_numpy(dtype=float)


def _first(sys_ts: pd.DataFrame, metric: str) -> float:
    s = sys_ts[sys_ts["metric"] == metric].sort_values("month")
    return float(s["value"].iloc[0]) if len(s) else float("nan")


def _trust_event(sys_ts: pd.DataFrame, cfg: Any, violation: bool) -> float:
    """Mean over the run's months of the trust one event (weight 1) moves, applied with the
    model's own :class:`~ics_sim.model.governance.trust.TrustNetwork` at the partnerships' mean trust."""
    from ics_sim.model.governance.trust import TrustNetwork

    levels = sys_ts.loc[sys_ts["metric"] == "trust_mean", "value"].to_numpy(dtype=float)
    if levels.size == 0:
        return float("nan")
    net = TrustNetwork(["a", "b"], cfg.trust)
    out = []
    for t in levels:
        net.matrix[0, 1] = t
        (net.violation if violation else net.success)(0, 1)
        out.append(abs(net.matrix[0, 1] - t))
    return float(np.mean(out))


#: derived measures: name -> (what it is, function of the run's system-level monthly record and config)
DERIVED: dict[str, tuple[str, Callable[[pd.DataFrame, Any], float]]] = {
    "hle_sii_start": ("slope index of HLE in the first month", lambda ts, cfg: _first(ts, "hle_sii")),
    "decision_delay_year1": (
        "months from April to the place decisions of the first year (12 if none), mean of places",
        lambda ts, cfg: float(_march(ts, "decision_delay_months")[0]),
    ),
    "decision_delay_last3": (
        "the same, mean of the last three years",
        lambda ts, cfg: float(np.mean(_march(ts, "decision_delay_months")[-3:])),
    ),
    "trust_year1": ("mean trust at the end of the first year", lambda ts, cfg: float(_march(ts, "trust_mean")[0])),
    "trust_violation_cost": (
        "trust lost to one broken agreement, at the run's trust levels", lambda ts, cfg: _trust_event(ts, cfg, True)
    ),
    "trust_success_gain": (
        "trust gained from one kept agreement, at the run's trust levels", lambda ts, cfg: _trust_event(ts, cfg, False)
    ),
}

#: system-level series kept for figures and derived measures
TS_METRICS = ("hle_sii", "decision_delay_months", "trust_mean", "duplicated_spend_gbp", "unfunded_need", "power_imbalance")


def needs_timeseries(c: Comparison) -> bool:
    return c.metric in DERIVED or c.measure_b in DERIVED


# --------------------------------------------------------------------------------------------
# statistics


def median_interval(x: Sequence[float], coverage: float = 0.9) -> tuple[float, float, float]:
    """Distribution-free interval for the median of ``x`` from its order statistics.

    The interval ``[x_(k), x_(n+1-k)]`` covers the population median with probability
    ``1 - 2 P(B <= k - 1)``, ``B ~ Binomial(n, 1/2)``; ``k`` is the largest with that probability at
    least ``coverage`` (e.g. n = 30, 90%: the 11th and 20th values, coverage 0.901). It needs no
    assumption about the distribution and no resampling.

    Returns:
        (low, high, achieved coverage); NaNs when ``n`` is too small for the coverage asked
        (fewer than 5 values for 90%).
    """
    v = np.sort(np.asarray(x, dtype=float)[np.isfinite(np.asarray(x, dtype=float))])
    n = v.size
    best = None
    for k in range(1, n // 2 + 1):
        cov = 1.0 - 2.0 * stats.binom.cdf(k - 1, n, 0.5)
        if cov >= coverage - 1e-12:
            best = (k, cov)
        else:
            break
    if best is None:
        return float("nan"), float("nan"), float("nan")
    k, cov = best
    return float(v[k - 1]), float(v[n - k]), float(cov)


def sign_test(diffs: Sequence[float], sign: int) -> float:
    """One-sided exact sign test: the probability, if A and B did not differ, of at least as many
    seeds in the expected direction among the seeds where they differ (ties dropped)."""
    d = np.asarray(diffs, dtype=float)
    d = d[np.isfinite(d) & (d != 0)]
    if d.size == 0:
        return 1.0
    k = int(np.sum(np.sign(d) == sign))
    return float(stats.binom.sf(k - 1, d.size, 0.5))


def verdict(lo: float, hi: float, sign: int) -> str:
    """``holds`` when the interval lies wholly on the expected side of zero; ``reversed`` when wholly
    on the other side; otherwise ``not shown``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "not shown"
    if (sign > 0 and lo > 0) or (sign < 0 and hi < 0):
        return "holds"
    if (sign > 0 and hi < 0) or (sign < 0 and lo > 0):
        return "reversed"
    return "not shown"


# --------------------------------------------------------------------------------------------
# running


def _canonical(overrides: Mapping[str, Any]) -> str:
    return json.dumps({str(k): overrides[k] for k in sorted(overrides)}, default=str)


def setting_label(overrides: Mapping[str, Any]) -> str:
    """A readable id of a setting, e.g. ``governance=joint_committee,membership.vcse=True``."""
    return ",".join(f"{k}={overrides[k]}" for k in sorted(overrides)) or "default"


@lru_cache(maxsize=256)
def _config_hash(canonical: str) -> str:
    from ics_sim.config import config_hash, load_config

    return config_hash(load_config(json.loads(canonical))[0])


def settings_of(comparisons: Sequence[Comparison] = COMPARISONS) -> dict[str, dict[str, Any]]:
    """The distinct scenarios the comparisons need, keyed by setting id. Overrides that compose to
    the same config (e.g. ``{}`` and ``{"governance": "committee"}``) are run once."""
    out: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for c in comparisons:
        for o in (c.a, c.b):
            h = _config_hash(_canonical(o))
            if h not in seen:
                seen.add(h)
                out[setting_label(o)] = dict(o)
    return out


def setting_id(overrides: Mapping[str, Any], settings: Mapping[str, Mapping[str, Any]]) -> str:
    """The id under which ``overrides`` (or an equivalent config) was run."""
    label = setting_label(overrides)
    if label in settings:
        return label
    h = _config_hash(_canonical(overrides))
    for sid, o in settings.items():
        if _config_hash(_canonical(o)) == h:
            return sid
    raise KeyError(f"no setting runs {overrides}")


@dataclass
class PatternResult:
    """What :func:`run_patterns` produced.

    Attributes:
        runs: one row per setting and replicate: seed, every summary measure and the derived ones.
        diffs: one row per comparison and seed: the values of A and B and the difference A - B.
        table: one row per comparison: n, median difference, interval, share in the expected
            direction, verdict.
        timeseries: system-level monthly series (:data:`TS_METRICS`) of the settings that keep them.
        seeds: the seeds used (replicate order).
        settings: setting id -> overrides.
        elapsed_s: wall time of the runs.
    """

    runs: pd.DataFrame
    diffs: pd.DataFrame
    table: pd.DataFrame
    timeseries: pd.DataFrame
    seeds: list[int]
    settings: dict[str, dict[str, Any]]
    comparisons: tuple[Comparison, ...] = COMPARISONS
    elapsed_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


def run_patterns(
    replicates: int,
    out_dir: str | Path,
    workers: int = 2,
    base_seed: int = 0,
    comparisons: Sequence[Comparison] = COMPARISONS,
    progress: bool = True,
    coverage: float = 0.9,
) -> PatternResult:
    """Run every scenario of ``comparisons`` on ``replicates`` common seeds and evaluate them.

    The scenarios run as one :class:`ics_sim.runs.scenarios.Scenarios` object: those whose
    comparisons need a time shape (or are drawn over time, :data:`SERIES_PANELS`) keep the
    monthly system record (``<out_dir>/timeseries/``) and get the :data:`DERIVED` measures; the
    others keep summaries only (``<out_dir>/summary/``). Both go through
    :func:`ics_sim.runs.batch.run_batch`, so an interrupted call resumes when repeated with the
    same ``out_dir``. Each comparison's paired differences come from
    :meth:`~ics_sim.runs.scenarios.Scenarios.compare`.

    Args:
        replicates: seeds per scenario (replicate ``r`` has seed ``replicate_seed(base_seed, r)``).
        out_dir: folder for the two batches.
        workers: worker processes.
        base_seed: base seed.
        comparisons: the comparisons to evaluate (default: all).
        progress: show progress bars.
        coverage: coverage of the interval of the median difference.

    Returns:
        A :class:`PatternResult`.

    Raises:
        RuntimeError: a run failed.
    """
    comparisons = tuple(comparisons)
    settings = settings_of(comparisons)
    drawn = {cid for panels in SERIES_PANELS.values() for _, _, cid in panels}
    ts_ids = {setting_id(o, settings) for c in comparisons if needs_timeseries(c) or c.id in drawn for o in (c.a, c.b)}
    t0 = time.perf_counter()
    sc = Scenarios({sid: settings[sid] for sid in sorted(settings)}, seeds=replicates, base_seed=base_seed,
                   timeseries=ts_ids, measures={k: f for k, (_, f) in DERIVED.items()} if ts_ids else None)
    sc.run(workers=workers, out_dir=Path(out_dir), progress=progress)
    elapsed = time.perf_counter() - t0
    runs = sc.runs.rename(columns={"scenario": "setting_id"})
    system_ts = pd.DataFrame(columns=["setting_id", "replicate", "seed", "month", "metric", "value"])
    if len(sc.timeseries):
        ts = sc.timeseries
        system_ts = ts.loc[ts["metric"].isin(TS_METRICS), ["scenario", "replicate", "seed", "month", "metric", "value"]]
        system_ts = system_ts.rename(columns={"scenario": "setting_id"}).reset_index(drop=True)

    seeds = [replicate_seed(base_seed, r) for r in range(int(replicates))]
    diffs = paired_differences(sc, comparisons, settings)
    table = summarise(diffs, comparisons, coverage)
    info = {"ics_sim_version": __version__, "replicates": int(replicates), "base_seed": int(base_seed),
            "workers": int(workers), "coverage": coverage}
    return PatternResult(runs, diffs, table, system_ts, seeds, settings, comparisons, elapsed, info)


def paired_differences(scenarios: Scenarios, comparisons: Sequence[Comparison], settings: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Per comparison and seed: the value of A, of B and the difference A - B."""
    parts = []
    for c in comparisons:
        d = scenarios.compare(setting_id(c.a, settings), setting_id(c.b, settings), c.metric, c.measure_b)
        d.insert(0, "pattern", c.pattern)
        d.insert(0, "id", c.id)
        parts.append(d)
    cols = ["id", "pattern", "seed", "replicate", "a", "b", "diff"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def summarise(diffs: pd.DataFrame, comparisons: Sequence[Comparison], coverage: float = 0.9) -> pd.DataFrame:
    """One row per comparison: n seeds, median difference and its interval, share of seeds in the
    expected direction, verdict."""
    rows = []
    for c in comparisons:
        d = diffs.loc[diffs["id"] == c.id, "diff"].to_numpy(dtype=float)
        d = d[np.isfinite(d)]
        lo, hi, cov = median_interval(d, coverage)
        rows.append({
            "id": c.id, "pattern": c.pattern, "pattern_name": PATTERNS[c.pattern], "claim": c.claim,
            "comparison": c.comparison, "metric": c.metric if not c.metric_b else f"{c.metric} - {c.metric_b}",
            "measure_unit": c.unit, "expected": "A > B" if c.sign > 0 else "A < B", "n": int(d.size),
            "median": float(np.median(d)) if d.size else float("nan"), "lo": lo, "hi": hi, "coverage": cov,
            "share_expected": float(np.mean(np.sign(d) == c.sign)) if d.size else float("nan"),
            "kind": c.kind,
            "sign_test_p": sign_test(d, c.sign),
            "verdict": verdict(lo, hi, c.sign),
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# tables and figures


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    a = abs(x)
    if a == 0:
        return "0"
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def markdown_table(table: pd.DataFrame) -> str:
    """The pattern table as Markdown (pattern, comparison, median difference, 90% interval, share of
    seeds in the expected direction, verdict)."""
    pct = int(math.floor(100 * float(table["coverage"].dropna().min()))) if table["coverage"].notna().any() else 90
    lines = [
        "| # | claim | check | comparison (A vs B) | measure (unit) | expected | n | median difference | interval of the median | seeds in expected direction | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        lines.append(
            f"| {r['id']} | {r['claim']} | {r['kind']} | {r['comparison']} | `{r['metric']}` ({r['measure_unit']}) | {r['expected']} | {r['n']} "
            f"| {_fmt(r['median'])} | {_fmt(r['lo'])} to {_fmt(r['hi'])} | {r['share_expected']:.0%} | **{r['verdict']}** |"
        )
    lines.append("")
    lines.append(f"A - B on common seeds. Interval: distribution-free interval of the median paired difference "
                 f"(order statistics), coverage at least {pct}%; verdict `holds` when it lies wholly on the expected side of zero. "
                 f"Check: `validation` when the direction emerges from the model's dynamics, `verification` when it holds by "
                 f"construction (the code does what the mechanism says).")
    return "\n".join(lines) + "\n"


_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")

#: time-series panels drawn beside the paired differences: pattern -> (metric, y label, comparison whose A and B are drawn)
SERIES_PANELS: dict[int, list[tuple[str, str, str]]] = {
    1: [("hle_sii", "Slope index of HLE (years)", "1b")],
    2: [("hle_sii", "Slope index of HLE (years)", "2a")],
    5: [("decision_delay_months", "Months from April to the place decision", "5c"),
        ("trust_mean", "Mean trust between partners (0-1)", "5c")],
}


def _wrap(text: str, width: int = 48) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def plot_pattern(result: PatternResult, pattern: int, path: str | Path, start_year: int = 2025) -> Path:
    """One figure for one pattern: per comparison, the paired differences of every seed with the
    median and its interval; for patterns with a time shape, the two scenarios' yearly series
    (median and 10-90% range across seeds). Drawn without pyplot (thread- and sweep-safe)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    comps = [c for c in result.comparisons if c.pattern == pattern]
    series = [s for s in SERIES_PANELS.get(pattern, []) if any(c.id == s[2] for c in comps)]
    series = [s for s in series if len(result.timeseries) and (result.timeseries["metric"] == s[0]).any()]
    values = comps[:1] if len(comps) + len(series) < 2 else []  # a lone comparison also shows both scenarios' values
    n_panels = len(comps) + len(series) + len(values)
    ncols = min(n_panels, 3)
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(5.2 * ncols, 4.6 * nrows + 0.6), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    rng = np.random.default_rng(0)
    table = result.table.set_index("id")
    for ax, c in zip(axes, comps, strict=False):
        d = result.diffs.loc[result.diffs["id"] == c.id, "diff"].to_numpy(dtype=float)
        row = table.loc[c.id]
        x = rng.uniform(-0.18, 0.18, d.size)
        good = np.sign(d) == c.sign
        ax.scatter(x[good], d[good], s=18, color=_PALETTE[0], alpha=0.75, label="seed in expected direction")
        ax.scatter(x[~good], d[~good], s=18, color=_PALETTE[1], alpha=0.9, label="seed against it")
        ax.axhline(0.0, color="0.3", lw=0.8)
        if math.isfinite(row["lo"]):
            ax.errorbar([0.45], [row["median"]], yerr=[[row["median"] - row["lo"]], [row["hi"] - row["median"]]],
                        fmt="D", color="black", capsize=5, ms=6, label=f"median, {row['coverage']:.0%} interval")
        ax.set_xlim(-0.4, 0.7)
        ax.set_xticks([])
        ax.set_ylabel(_wrap(f"Difference A - B ({c.unit})", 45))
        ax.set_xlabel(_wrap(f"A: {c.label_a};  B: {c.label_b}" + ("  (same runs)" if c.metric_b else ""), 60), fontsize=8)
        ax.set_title(_wrap(f"{c.id}. {c.claim}", 52) + f"\n{row['verdict']} ({row['share_expected']:.0%} of {row['n']} seeds)", fontsize=9)
        ax.legend(fontsize=7, loc="best")
    for ax, (metric, ylabel, cid) in zip(axes[len(comps):], series, strict=False):
        c = next(cc for cc in comps if cc.id == cid)
        for k, (ov, lab) in enumerate(((c.a, c.label_a), (c.b, c.label_b))):
            sid = setting_id(ov, result.settings)
            s = result.timeseries[(result.timeseries["setting_id"] == sid) & (result.timeseries["metric"] == metric)]
            if metric == "decision_delay_months":  # the year's delay is the March value
                s = s[s["month"] % 12 == 11]
            piv = s.pivot_table(index="month", columns="replicate", values="value")
            t = start_year + piv.index.to_numpy() // 12 if metric == "decision_delay_months" else start_year + piv.index.to_numpy() / 12.0
            q = piv.quantile([0.1, 0.5, 0.9], axis=1).to_numpy()
            ax.fill_between(t, q[0], q[2], color=_PALETTE[k], alpha=0.18, lw=0)
            ax.plot(t, q[1], color=_PALETTE[k], lw=2, label=f"{lab} (median, 10-90% of seeds)",
                    marker="o" if metric == "decision_delay_months" else None, ms=4)
        ax.set_xlabel("Financial year (April start)" if metric == "decision_delay_months" else "Year (April start)")
        ax.set_ylabel(ylabel)
        ax.set_title(_wrap(f"{ylabel.split(' (')[0]} over the run", 52), fontsize=9)
        ax.legend(fontsize=7, loc="best")
    for ax, c in zip(axes[len(comps) + len(series):], values, strict=False):
        d = result.diffs[result.diffs["id"] == c.id]
        for _, r in d.iterrows():
            ok = np.sign(r["diff"]) == c.sign
            ax.plot([0, 1], [r["b"], r["a"]], color=_PALETTE[0] if ok else _PALETTE[1], alpha=0.45, lw=1, marker="o", ms=3)
        ax.plot([0, 1], [d["b"].median(), d["a"].median()], color="black", lw=2.5, marker="D", ms=6, label="median")
        ax.set_xticks([0, 1], [_wrap(f"B: {c.label_b}", 24), _wrap(f"A: {c.label_a}", 24)])
        ax.set_xlim(-0.3, 1.3)
        ax.set_ylabel(_wrap(c.unit[:1].upper() + c.unit[1:], 45))
        ax.set_title(_wrap(f"{c.id}. Each seed's value under B and A (lines join the same seed)", 52), fontsize=9)
        ax.legend(fontsize=7, loc="best")
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    fig.suptitle(_wrap(f"Pattern {pattern}: {PATTERNS[pattern]} — paired differences on {len(result.seeds)} common seeds",
                       45 * ncols), fontsize=12)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def write_outputs(result: PatternResult, folder: str | Path, figures: bool = True) -> dict[str, Path]:
    """Write the tables (CSV, Markdown), the per-seed differences, one figure per pattern and a
    manifest (package version, seeds, runtime) into ``folder``; every file atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    cols = ["id", "pattern", "pattern_name", "claim", "comparison", "metric", "measure_unit", "expected", "n", "median", "lo",
            "hi", "coverage", "share_expected", "sign_test_p", "verdict", "kind"]
    atomic_write_text(folder / "patterns.csv", result.table[cols].to_csv(index=False))
    out["patterns.csv"] = folder / "patterns.csv"
    atomic_write_text(folder / "patterns.md", markdown_table(result.table))
    out["patterns.md"] = folder / "patterns.md"
    atomic_write_text(folder / "paired_differences.csv", result.diffs.to_csv(index=False))
    out["paired_differences.csv"] = folder / "paired_differences.csv"
    atomic_write_text(folder / "seeds.txt", "\n".join(str(s) for s in result.seeds) + "\n")
    out["seeds.txt"] = folder / "seeds.txt"
    if figures:
        for p in sorted({c.pattern for c in result.comparisons}):
            out[f"pattern{p}.png"] = plot_pattern(result, p, folder / f"pattern{p}.png")
    manifest = {
        **result.info,
        "seeds": result.seeds,
        "n_runs": int(len(result.runs)),
        "runs_elapsed_s": round(result.elapsed_s, 1),
        "settings": result.settings,
        "comparisons": [
            {"id": c.id, "claim": c.claim, "a": dict(c.a), "b": dict(c.b), "metric": c.metric, "metric_b": c.measure_b,
             "expected_sign": c.sign, "measure_unit": c.unit}
            for c in result.comparisons
        ],
        "derived_measures": {k: v[0] for k, v in DERIVED.items()},
        "holds": int((result.table["verdict"] == "holds").sum()),
        "of": int(len(result.table)),
    }
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")
    out["manifest.json"] = folder / "manifest.json"
    return out
