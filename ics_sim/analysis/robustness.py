"""Where each conclusion flips: headline comparisons across the uncertain futures.

A conclusion such as "the joint committee cuts duplicated spending" is drawn at the default values
of parameters nobody knows well. This module draws those parameters (declared once, in the schema:
:func:`ics_sim.config.schema.uncertain_parameters`) over their uncertain ranges by a Latin
hypercube (McKay, Beckman and Conover 1979; :class:`scipy.stats.qmc.LatinHypercube`), runs both
scenarios of each comparison in every drawn *future* on the same seeds, and reports per comparison
and outcome

- the **share of futures in which A beats B** (the paired difference A - B, averaged over the
  seeds of the future, on the better side of zero), and
- the **conditions under which the conclusion reverses**, found by scenario discovery (Bryant and
  Lempert 2010): a shallow classification tree (scikit-learn's ``DecisionTreeClassifier``, depth 2)
  of "A beats B" on the uncertain parameters; the leaf where the minority verdict is most
  concentrated, if it holds most of its futures, is reported in plain words ("... unless the share
  of council money pooled is below 0.68"), or "no condition found".

:data:`HEADLINE` declares the comparisons and :data:`OUTCOMES` the outcomes with the direction
that counts as better. ``experiments/robustness.py`` is the command; the leaders' report reuses
:func:`run_robustness`, :func:`discover` and :func:`sentence`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ics_sim.config.overrides import unused_keys
from ics_sim.config.schema import uncertain_parameters
from ics_sim.runs.futures import sample_futures
from ics_sim.runs.io import atomic_path, atomic_write_text


@dataclass(frozen=True)
class Comparison:
    """Scenario A against scenario B (config overrides), with names for sentences."""

    id: str
    a_name: str
    b_name: str
    a: Mapping[str, Any]
    b: Mapping[str, Any]


#: the headline comparisons of issue 11
HEADLINE: tuple[Comparison, ...] = (
    Comparison("joint_committee_vs_committee", "the joint committee", "the committee",
               {"governance": "joint_committee"}, {"governance": "committee"}),
    Comparison("lead_provider_vs_committee", "a lead provider", "the committee",
               {"governance": "lead_provider"}, {"governance": "committee"}),
    Comparison("delegation_60_vs_central", "delegating 60% to places", "central allocation",
               {"delegation": "fixed", "delegation.share": 0.6}, {"delegation": "central"}),
    Comparison("need_weighted_hi_vs_per_head", "need-weighted allocation with the HI adjustment", "per-head allocation",
               {"allocation": "need_weighted_hi"}, {"allocation": "per_head"}),
)

#: outcomes: summary key -> (what A does when it beats B, +1 if higher is better else -1)
OUTCOMES: dict[str, tuple[str, int]] = {
    "hle_sii": ("narrows the HLE gap between deprived and affluent areas", -1),
    "hle_mean": ("raises mean healthy life expectancy", +1),
    "unmet_need": ("lowers unmet need", -1),
    "duplicated_spend_gbp": ("cuts duplicated spending", -1),
    "decision_delay_months": ("decides sooner", -1),
}


def _label(overrides: Mapping[str, Any]) -> str:
    return ",".join(f"{k}={overrides[k]}" for k in sorted(overrides)) or "default"


@dataclass
class RobustnessResult:
    """What :func:`run_robustness` produced.

    Attributes:
        futures: the drawn futures (one row each, one column per uncertain parameter).
        runs: one row per scenario, future and seed: the run's summary.
        differences: one row per comparison, outcome and future: mean paired difference A - B over
            the seeds, and whether A beats B.
        table: one row per comparison and outcome: share of futures A beats B, the reversal
            condition found (or none) with its support, and the sentence.
        conditions: the condition found per (comparison, outcome), or None.
        info: settings of the experiment.
    """

    futures: pd.DataFrame
    runs: pd.DataFrame
    differences: pd.DataFrame
    table: pd.DataFrame
    conditions: dict[tuple[str, str], Condition | None] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def run_robustness(
    futures: int,
    seeds: int,
    out_dir: str | Path,
    comparisons: Sequence[Comparison] = HEADLINE,
    workers: int = 2,
    base_seed: int = 0,
    base_overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
    max_depth: int = 2,
) -> RobustnessResult:
    """Run every comparison's two scenarios in ``futures`` Latin-hypercube futures x ``seeds``
    common seeds (resumable: the same call again finishes an interrupted run), then analyse.

    Args:
        futures: futures drawn (sample size of the Latin hypercube).
        seeds: common seeds per future and scenario.
        out_dir: the batch folder.
        comparisons: the comparisons (default :data:`HEADLINE`).
        workers: worker processes.
        base_seed: seed of the Latin hypercube and base seed of the replicates.
        base_overrides: overrides of every run (system, years, ...).
        progress: show a progress bar.
        max_depth: depth of the scenario-discovery tree.
    """
    from ics_sim.runs.batch import run_batch

    fut = sample_futures(futures, seed=base_seed)
    scenarios: dict[str, dict[str, Any]] = {}
    for c in comparisons:
        for o in (c.a, c.b):
            scenarios.setdefault(_label(o), dict(o))
    design = []
    meta = uncertain_parameters()
    # a future draws every uncertain parameter; each scenario takes those its options read (a
    # pooled share means nothing to an unpooled committee, and the config refuses silent no-ops)
    ignored = {label: set(unused_keys({**{k: meta[k]["low"] for k in meta}, **o})) for label, o in scenarios.items()}
    for f, row in fut.iterrows():  # (iterrows upcasts whole numbers to floats: cast them back)
        params = {k: (int(round(v)) if meta[k]["integer"] else float(v)) for k, v in row.items()}
        for label, o in scenarios.items():
            used = {k: v for k, v in params.items() if k not in ignored[label]}
            design.append({"setting_id": f"{label}|f{f:03d}", **used, **o})
    t0 = time.perf_counter()
    runs = run_batch(design, replicates=seeds, out_dir=out_dir, workers=workers, base_seed=base_seed,
                     base_overrides=dict(base_overrides or {}), progress=progress)
    elapsed = time.perf_counter() - t0
    failed = runs[runs["status"] != "ok"]
    if len(failed):
        raise RuntimeError(f"{len(failed)} runs failed, e.g. {failed['error'].iloc[0]}")
    sid = runs["setting_id"].astype(str)
    runs = runs.assign(scenario_label=sid.str.rsplit("|", n=1).str[0], future=sid.str.rsplit("|f", n=1).str[1].astype(int))
    diffs = paired_differences(runs, comparisons)
    table, conditions = analyse(diffs, fut, comparisons, max_depth=max_depth)
    info = {"futures": futures, "seeds": seeds, "base_seed": base_seed, "base_overrides": dict(base_overrides or {}),
            "runs": len(runs), "elapsed_s": elapsed, "uncertain": uncertain_parameters()}
    return RobustnessResult(fut, runs, diffs, table, conditions, info)


def paired_differences(runs: pd.DataFrame, comparisons: Sequence[Comparison]) -> pd.DataFrame:
    """Per comparison, outcome and future: the mean over seeds of A - B (same seed), and whether
    A beats B (the mean difference on the better side of zero)."""
    rows = []
    for c in comparisons:
        a = runs[runs["scenario_label"] == _label(c.a)].set_index(["future", "seed"])
        b = runs[runs["scenario_label"] == _label(c.b)].set_index(["future", "seed"])
        for key, (_, better) in OUTCOMES.items():
            d = (a[key] - b[key]).dropna().groupby(level="future").mean()
            for f, v in d.items():
                rows.append({"comparison": c.id, "outcome": key, "future": int(f), "difference": float(v),
                             "a_beats_b": bool(better * v > 0)})
    return pd.DataFrame(rows)


@dataclass
class Condition:
    """A box of futures found by scenario discovery: bounds on a few parameters."""

    bounds: list[tuple[str, str, float]]  # (parameter, "<=" or ">", threshold)
    n: int  # futures in the box
    hits: int  # futures in the box where the minority verdict holds
    total_hits: int  # futures anywhere where it holds

    @property
    def density(self) -> float:
        return self.hits / self.n if self.n else float("nan")

    @property
    def coverage(self) -> float:
        return self.hits / self.total_hits if self.total_hits else float("nan")


def discover(X: pd.DataFrame, y: np.ndarray, max_depth: int = 2, min_leaf: int | None = None) -> Condition | None:
    """The box where ``y`` (a boolean per future: the minority verdict) is most concentrated:
    the leaf of a shallow classification tree (leaves of at least ``min_leaf`` futures: 5, or a
    tenth of the futures if more) with the highest share of ``y``, if that share is above one half
    and at least 1.5 times its share in all futures; else None.

    Thresholds are those of the tree (midpoints between sampled values)."""
    from sklearn.tree import DecisionTreeClassifier

    y = np.asarray(y, dtype=bool)
    n = len(y)
    if y.sum() == 0 or y.sum() == n:
        return None
    min_leaf = min_leaf or max(5, math.ceil(0.1 * n))  # a box holds at least 5 futures
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_leaf, random_state=0)
    tree.fit(X.to_numpy(dtype=float), y)
    leaves = tree.apply(X.to_numpy(dtype=float))
    t = tree.tree_
    best = None
    for leaf in np.unique(leaves):
        inside = leaves == leaf
        rate = y[inside].mean()
        if best is None or rate > best[1] or (rate == best[1] and inside.sum() > best[2]):
            best = (leaf, rate, int(inside.sum()), int(y[inside].sum()))
    leaf, rate, size, hits = best
    if rate <= 0.5 or rate < 1.5 * y.mean():
        return None
    # the path from the root to the leaf
    parent = {}
    for node in range(t.node_count):
        for child, side in ((t.children_left[node], "<="), (t.children_right[node], ">")):
            if child != -1:
                parent[child] = (node, side)
    bounds = []
    node = leaf
    while node in parent:
        node, side = parent[node]
        bounds.append((X.columns[t.feature[node]], side, float(t.threshold[node])))
    return Condition(_tighten(bounds[::-1]), size, hits, int(y.sum()))


def _tighten(bounds: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """Keep the tightest bound per parameter and side."""
    out: dict[tuple[str, str], float] = {}
    for p, side, thr in bounds:
        k = (p, side)
        out[k] = min(out.get(k, thr), thr) if side == "<=" else max(out.get(k, thr), thr)
    return [(p, side, thr) for (p, side), thr in out.items()]


def _number(x: float) -> str:
    return f"{x:.2g}" if abs(x) < 10 else f"{x:.0f}"


def describe(bounds: list[tuple[str, str, float]], params: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """Bounds in words: "the share of council money pooled is below 0.68 and ..." (a parameter
    bounded on both sides "is between a and b")."""
    params = params or uncertain_parameters()
    by_param: dict[str, dict[str, float]] = {}
    for p, side, thr in bounds:
        by_param.setdefault(p, {})[side] = thr
    parts = []
    for p, sides in by_param.items():
        meta = params.get(p, {"label": p, "integer": False})
        lo, hi = sides.get(">"), sides.get("<=")
        if meta["integer"]:
            lo_t = None if lo is None else math.floor(lo) + 1
            hi_t = None if hi is None else math.floor(hi)
            if lo_t is not None and hi_t is not None:
                text = f"{lo_t}" if lo_t == hi_t else f"between {lo_t} and {hi_t}"
            else:
                text = f"at most {hi_t}" if hi_t is not None else f"at least {lo_t}"
        elif lo is not None and hi is not None:
            text = f"between {_number(lo)} and {_number(hi)}"
        else:
            text = f"below {_number(hi)}" if hi is not None else f"above {_number(lo)}"
        parts.append(f"the {meta['label']} is {text}")
    return " and ".join(parts)


def sentence(comp: Comparison, outcome: str, share: float, cond: Condition | None, n: int) -> str:
    """The finding in plain words."""
    verb, _ = OUTCOMES[outcome]
    a, b = comp.a_name[0].upper() + comp.a_name[1:], comp.b_name
    if share == 1.0:
        return f"{a} {verb} compared with {b} in every one of {n} futures."
    if share == 0.0:
        return f"{a} never {verb} compared with {b} (0 of {n} futures)."
    if share >= 0.5:
        head = f"{a} {verb} compared with {b} in {share:.0%} of futures"
        if cond is None:
            return head + "; no condition found under which this reverses."
        return head + f", unless {describe(cond.bounds)} (there it reverses in {cond.hits} of {cond.n} futures)."
    head = f"{a} {verb} compared with {b} in only {share:.0%} of futures"
    if cond is None:
        return head + "; no condition found under which it does."
    return head + f"; it does when {describe(cond.bounds)} ({cond.hits} of {cond.n} futures)."


def analyse(
    diffs: pd.DataFrame, futures: pd.DataFrame, comparisons: Sequence[Comparison], max_depth: int = 2
) -> tuple[pd.DataFrame, dict[tuple[str, str], Condition | None]]:
    """Per comparison and outcome: the share of futures in which A beats B and where that flips
    (the table, and the conditions found)."""
    rows, conditions = [], {}
    for c in comparisons:
        for key in OUTCOMES:
            d = diffs[(diffs["comparison"] == c.id) & (diffs["outcome"] == key)].set_index("future").sort_index()
            if d.empty:
                continue
            X = futures.loc[d.index]
            beats = d["a_beats_b"].to_numpy(dtype=bool)
            share = float(beats.mean())
            minority = ~beats if share >= 0.5 else beats
            cond = discover(X, minority, max_depth=max_depth)
            conditions[(c.id, key)] = cond
            rows.append({
                "comparison": c.id, "outcome": key, "futures": len(d), "share_a_beats_b": share,
                "median_difference": float(d["difference"].median()),
                "condition": describe(cond.bounds) if cond else "",
                "condition_futures": cond.n if cond else 0, "condition_density": cond.density if cond else float("nan"),
                "condition_coverage": cond.coverage if cond else float("nan"),
                "sentence": sentence(c, key, share, cond, len(d)),
            })
    return pd.DataFrame(rows), conditions


def markdown_table(table: pd.DataFrame, comparisons: Sequence[Comparison] = HEADLINE) -> str:
    names = {c.id: f"{c.a_name} vs {c.b_name}" for c in comparisons}
    lines = ["| comparison | outcome | A beats B in | median A - B | where it flips |", "|---|---|---|---|---|"]
    for _, r in table.iterrows():
        flip = r["sentence"].split("; ", 1)[1] if "; " in r["sentence"] else (
            r["sentence"].split(", unless ", 1)[1].rstrip(".") if ", unless " in r["sentence"] else "-")
        if ", unless " in r["sentence"]:
            flip = "unless " + flip
        lines.append(f"| {names.get(r['comparison'], r['comparison'])} | `{r['outcome']}` | {r['share_a_beats_b']:.0%} of "
                     f"{r['futures']} | {r['median_difference']:.3g} | {flip} |")
    return "\n".join(lines) + "\n"


def plot(result: RobustnessResult, path: str | Path, comparisons: Sequence[Comparison] = HEADLINE) -> Path:
    """One panel per comparison and outcome: each future's mean paired difference A - B against
    the parameter of the reversal condition (or the share of futures A beats B when none)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    params = uncertain_parameters()
    comps = [c for c in comparisons if c.id in set(result.table["comparison"])]
    outs = list(OUTCOMES)
    fig = Figure(figsize=(3.2 * len(outs), 2.6 * len(comps)))
    FigureCanvasAgg(fig)
    for i, c in enumerate(comps):
        for j, key in enumerate(outs):
            ax = fig.add_subplot(len(comps), len(outs), i * len(outs) + j + 1)
            row = result.table[(result.table["comparison"] == c.id) & (result.table["outcome"] == key)]
            d = result.differences[(result.differences["comparison"] == c.id) & (result.differences["outcome"] == key)]
            if row.empty or d.empty:
                ax.set_axis_off()
                continue
            row = row.iloc[0]
            cond = result.conditions.get((c.id, key))
            bounds = cond.bounds if cond else []
            x_key = bounds[0][0] if bounds else None
            colours = np.where(d["a_beats_b"], "#1b9e77", "#d95f02")
            if x_key:
                ax.scatter(result.futures.loc[d["future"], x_key], d["difference"], s=10, c=colours)
                ax.axvline(bounds[0][2], color="k", lw=0.7, ls=":")
                ax.set_xlabel(params.get(x_key, {"label": x_key})["label"], fontsize=7)
            else:
                ax.scatter(np.arange(len(d)), np.sort(d["difference"].to_numpy()), s=10, c=np.array(colours)[np.argsort(d["difference"].to_numpy())])
                ax.set_xlabel("futures, sorted", fontsize=7)
            ax.axhline(0, color="k", lw=0.6)
            ax.tick_params(labelsize=6)
            ax.set_title(f"{c.id.replace('_', ' ')}\n{key}: A beats B in {row['share_a_beats_b']:.0%}", fontsize=7)
    fig.suptitle("Paired difference A - B in each future (green: A better); dotted: the reversal threshold found", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return path


def write_outputs(result: RobustnessResult, folder: str | Path, figure: bool = True) -> dict[str, Path]:
    """``robustness.csv`` and ``robustness.md`` (the table and sentences), ``differences.csv``,
    ``futures.csv``, ``runs.csv`` and ``robustness.png``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, df, index in (("robustness.csv", result.table, False), ("differences.csv", result.differences, False),
                            ("futures.csv", result.futures, True)):
        atomic_write_text(folder / name, df.to_csv(index=index))
        files[name] = folder / name
    keep = ["setting_id", "scenario_label", "future", "replicate", "seed", *OUTCOMES]
    atomic_write_text(folder / "runs.csv", result.runs[keep].to_csv(index=False))
    files["runs.csv"] = folder / "runs.csv"
    md = markdown_table(result.table) + "\n" + "\n".join(f"- {s}" for s in result.table["sentence"]) + "\n"
    atomic_write_text(folder / "robustness.md", md)
    files["robustness.md"] = folder / "robustness.md"
    if figure:
        files["robustness.png"] = plot(result, folder / "robustness.png")
    return files
