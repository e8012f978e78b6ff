"""What drives a governance comparison: a bundle's difference split among its parts.

Before issue 11 each governance preset bundled a form with a membership, a decision rule and a
cadence (:data:`BUNDLES`), so "joint committee versus committee" compared five things at once. This
module runs the full factorial of the factors in which two bundles differ (form x membership x
decision rule x cadence x pooling), on the same seeds in every cell, and attributes the bundles'
difference in each outcome to the factors by their **Shapley values** (Shapley 1953): a factor's
share is its mean marginal effect over every order in which the factors could be switched from
bundle B's level to bundle A's. The shares add up exactly to the bundles' difference, seed by seed,
interactions included (split evenly between the factors that interact), so "membership explains
0.5 of the 0.55-year difference" is an exact statement about the model.

Example::

    from ics_sim.analysis import decomposition as dec
    result = dec.run_decomposition(["joint_committee"], seeds=8, out_dir="results/decomposition/demo",
                                   base_overrides={"system": "herefordshire_worcestershire", "years": 5})
    result.table

``experiments/decomposition.py`` is the command.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ics_sim.runs.io import atomic_path, atomic_write_text

#: the five factors of a governance bundle, in table order
FACTORS = ("form", "membership", "decision_rule", "cadence", "pooling")

#: memberships the presets used to set (MODEL.md section 3: optional members)
MEMBERSHIPS: dict[str, dict[str, bool]] = {
    "full": {"membership.vcse": True, "membership.healthwatch": True, "membership.social_care": True},
    "statutory": {"membership.vcse": False, "membership.healthwatch": False, "membership.social_care": True},
    "sro": {"membership.vcse": True, "membership.healthwatch": False, "membership.social_care": False},
}


@dataclass(frozen=True)
class Bundle:
    """A governance arrangement as a leader meets it: a form with the settings it came with."""

    form: str
    membership: str
    decision_rule: str
    cadence: int
    pooling: bool

    def level(self, factor: str) -> Any:
        return getattr(self, factor)


#: what each governance preset bundled before issue 11 (configs/governance/*.yaml at f431796)
BUNDLES: dict[str, Bundle] = {
    "committee": Bundle("committee", "full", "majority", 2, False),
    "joint_committee": Bundle("joint_committee", "statutory", "consensus", 2, True),
    "lead_provider": Bundle("lead_provider", "statutory", "lead_decides", 1, False),
    "individual_executive": Bundle("individual_executive", "sro", "lead_decides", 1, False),
    "consultative_forum": Bundle("consultative_forum", "full", "consensus", 3, False),
}

#: headline outcomes: summary key -> (label, unit as shown, display scale)
OUTCOMES: dict[str, tuple[str, str, float]] = {
    "hle_sii": ("HLE slope index of inequality", "years", 1.0),
    "unmet_need": ("unmet need", "share of need", 1.0),
    "unmet_need_hidden": ("hidden need unmet", "share of hidden need", 1.0),
    "duplicated_spend_gbp": ("duplicated spending", "GBP m a year", 1e-6),
    "decision_delay_months": ("decision delay", "months from April", 1.0),
    "trust_mean": ("trust", "0-1", 1.0),
}


def overrides(levels: Mapping[str, Any]) -> dict[str, Any]:
    """Config overrides of one cell: each factor at its level."""
    out: dict[str, Any] = {"governance": levels["form"]}
    out.update(MEMBERSHIPS[levels["membership"]])
    out["decision_rule"] = levels["decision_rule"]
    out["governance.cadence_months"] = int(levels["cadence"])
    out["governance.pooled"] = bool(levels["pooling"])
    return out


def differing_factors(a: Bundle, b: Bundle) -> tuple[str, ...]:
    return tuple(f for f in FACTORS if a.level(f) != b.level(f))


def cells(a: Bundle, b: Bundle) -> list[tuple[frozenset[str], dict[str, Any]]]:
    """Every cell of the factorial: the set of factors at bundle A's level (the rest at B's) and
    the cell's overrides."""
    factors = differing_factors(a, b)
    out = []
    for k in range(len(factors) + 1):
        for switched in itertools.combinations(factors, k):
            levels = {f: (a if f in switched else b).level(f) for f in FACTORS}
            out.append((frozenset(switched), overrides(levels)))
    return out


def cell_id(comparison: str, switched: frozenset[str]) -> str:
    return f"{comparison}|" + ("+".join(f for f in FACTORS if f in switched) or "baseline")


def shapley(values: Mapping[frozenset[str], float], factors: Sequence[str]) -> dict[str, float]:
    """Shapley values of ``factors`` for the game ``values`` (outcome of each switched set).

    ``phi_i = sum over S not containing i of |S|! (k - |S| - 1)! / k! [v(S + i) - v(S)]``; they sum to
    ``v(all) - v(none)``.
    """
    k = len(factors)
    phi = {}
    for i in factors:
        others = [f for f in factors if f != i]
        total = 0.0
        for size in range(k):
            w = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            for s in itertools.combinations(others, size):
                s = frozenset(s)
                total += w * (values[s | {i}] - values[s])
        phi[i] = total
    return phi


@dataclass
class DecompositionResult:
    """What :func:`run_decomposition` produced.

    Attributes:
        runs: one row per cell and seed (the batch's summaries).
        contributions: one row per comparison, outcome, seed and factor: the factor's Shapley value
            (in the outcome's display unit), plus a ``total`` row (the bundles' difference).
        table: one row per comparison, outcome and factor (and total): mean and median over seeds,
            10% and 90% quantiles, and the factor's share of the mean total (the means add up).
        info: settings of the experiment.
    """

    runs: pd.DataFrame
    contributions: pd.DataFrame
    table: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def run_decomposition(
    comparisons: Sequence[str],
    seeds: int,
    out_dir: str | Path,
    baseline: str = "committee",
    workers: int = 2,
    base_seed: int = 0,
    base_overrides: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> DecompositionResult:
    """Run the factorial of each bundle in ``comparisons`` against ``baseline`` on common seeds and
    decompose the difference.

    Args:
        comparisons: bundle names (keys of :data:`BUNDLES`), each compared with ``baseline``.
        seeds: common seeds per cell.
        out_dir: the batch folder (resumable: the same call again finishes an interrupted run).
        baseline: the bundle every comparison is against.
        workers: worker processes.
        base_seed: base seed of the replicates.
        base_overrides: overrides of every run (system, years, ...).
        progress: show a progress bar.
    """
    from ics_sim.runs.batch import run_batch

    b = BUNDLES[baseline]
    design, index = [], {}
    for name in comparisons:
        a = BUNDLES[name]
        if not differing_factors(a, b):
            raise ValueError(f"bundle {name!r} does not differ from {baseline!r}")
        for switched, ovr in cells(a, b):
            sid = cell_id(name, switched)
            index[sid] = (name, switched)
            design.append({"setting_id": sid, **ovr})
    t0 = time.perf_counter()
    runs = run_batch(pd.DataFrame(design), replicates=seeds, out_dir=out_dir, workers=workers, base_seed=base_seed,
                     base_overrides=dict(base_overrides or {}), progress=progress)
    elapsed = time.perf_counter() - t0
    failed = runs[runs["status"] != "ok"]
    if len(failed):
        raise RuntimeError(f"{len(failed)} runs failed, e.g. {failed['error'].iloc[0]}")
    runs = runs.assign(comparison=runs["setting_id"].map(lambda s: index[s][0]),
                       switched=runs["setting_id"].map(lambda s: "+".join(f for f in FACTORS if f in index[s][1]) or "baseline"))
    contributions = decompose(runs, comparisons, baseline, index)
    table = summarise(contributions)
    info = {"comparisons": list(comparisons), "baseline": baseline, "seeds": seeds, "base_seed": base_seed,
            "base_overrides": dict(base_overrides or {}), "runs": len(runs), "elapsed_s": elapsed}
    return DecompositionResult(runs, contributions, table, info)


def decompose(runs: pd.DataFrame, comparisons: Sequence[str], baseline: str, index: Mapping[str, tuple]) -> pd.DataFrame:
    """Shapley value of every differing factor, per comparison, outcome and seed."""
    rows = []
    b = BUNDLES[baseline]
    for name in comparisons:
        factors = differing_factors(BUNDLES[name], b)
        sub = runs[runs["comparison"] == name]
        for seed, g in sub.groupby("seed"):
            by_cell = {index[sid][1]: row for sid, row in g.set_index("setting_id").iterrows()}
            for key, (_, _, scale) in OUTCOMES.items():
                values = {s: float(r[key]) * scale for s, r in by_cell.items()}
                phi = shapley(values, factors)
                total = values[frozenset(factors)] - values[frozenset()]
                rows.append({"comparison": name, "outcome": key, "seed": int(seed), "factor": "total", "value": total})
                rows += [{"comparison": name, "outcome": key, "seed": int(seed), "factor": f, "value": v} for f, v in phi.items()]
    return pd.DataFrame(rows)


def summarise(contributions: pd.DataFrame) -> pd.DataFrame:
    """Mean, median and 10-90% quantiles over seeds; each factor's share of the mean total."""
    g = contributions.groupby(["comparison", "outcome", "factor"], sort=False)["value"]
    t = g.agg(median="median", q10=lambda x: x.quantile(0.1), q90=lambda x: x.quantile(0.9), mean="mean").reset_index()
    totals = t[t["factor"] == "total"].set_index(["comparison", "outcome"])["mean"]
    t["share"] = [row["mean"] / totals[(row["comparison"], row["outcome"])] if totals[(row["comparison"], row["outcome"])] != 0 else np.nan
                  for _, row in t.iterrows()]
    return t


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "-"
    a = abs(x)
    if a >= 100:
        return f"{x:.0f}"
    if a >= 1:
        return f"{x:.2f}"
    if a >= 0.01:
        return f"{x:.3f}"
    return f"{x:.2g}"


def markdown_table(table: pd.DataFrame, baseline: str = "committee") -> str:
    """One row per comparison and outcome: the bundles' difference and each factor's part (means
    over seeds, so the parts add up to the difference; with each part's share of it)."""
    lines = ["| bundle vs " + baseline.replace("_", " ") + " | outcome (unit) | difference A - B (10-90%) | "
             + " | ".join(FACTORS) + " |", "|---|---|---|" + "---|" * len(FACTORS)]
    for (comp, outcome), g in table.groupby(["comparison", "outcome"], sort=False):
        label, unit, _ = OUTCOMES[outcome]
        by = g.set_index("factor")
        tot = by.loc["total"]
        cells = []
        for f in FACTORS:
            if f not in by.index:
                cells.append("same")
                continue
            r = by.loc[f]
            share = f" ({r['share']:.0%})" if np.isfinite(r["share"]) and abs(tot["mean"]) > 0 else ""
            cells.append(f"{_fmt(r['mean'])}{share}")
        lines.append(f"| {comp.replace('_', ' ')} | {label} ({unit}) | {_fmt(tot['mean'])} ({_fmt(tot['q10'])} to {_fmt(tot['q90'])}) | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(result: DecompositionResult, path: str | Path) -> Path:
    """One panel per outcome: for each comparison, the bundles' difference and each factor's part
    (mean over seeds, 10-90% bars)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = result.table
    comps = list(dict.fromkeys(t["comparison"]))
    outcomes = [o for o in OUTCOMES if o in set(t["outcome"])]
    ncol = 3
    nrow = math.ceil(len(outcomes) / ncol)
    fig = Figure(figsize=(5.0 * ncol, 3.4 * nrow))
    FigureCanvasAgg(fig)
    bars = ["total", *FACTORS]
    colours = {"total": "0.3", "form": "#1b9e77", "membership": "#d95f02", "decision_rule": "#7570b3", "cadence": "#e7298a", "pooling": "#66a61e"}
    width = 0.8 / len(bars)
    for k, outcome in enumerate(outcomes):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        for j, f in enumerate(bars):
            xs, ys, lo, hi = [], [], [], []
            for i, comp in enumerate(comps):
                r = t[(t["comparison"] == comp) & (t["outcome"] == outcome) & (t["factor"] == f)]
                if r.empty:
                    continue
                r = r.iloc[0]
                xs.append(i + (j - len(bars) / 2 + 0.5) * width)
                ys.append(r["mean"])
                lo.append(r["mean"] - r["q10"])
                hi.append(r["q90"] - r["mean"])
            if xs:
                ax.bar(xs, ys, width, yerr=[np.maximum(lo, 0), np.maximum(hi, 0)], color=colours[f], label=f if k == 0 else None,
                       error_kw={"elinewidth": 0.8, "capsize": 1.5})
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(range(len(comps)), [c.replace("_", " ") + "\nvs " + result.info.get("baseline", "committee").replace("_", " ") for c in comps], fontsize=8)
        label, unit, _ = OUTCOMES[outcome]
        ax.set_title(f"{label} ({unit})", fontsize=9)
    fig.legend(loc="lower center", ncol=len(bars), fontsize=8, frameon=False)
    fig.suptitle("A bundle's difference (grey) and each factor's part (Shapley value): mean over seeds, 10-90% of seeds", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return path


def write_outputs(result: DecompositionResult, folder: str | Path, figure: bool = True) -> dict[str, Path]:
    """``decomposition.csv`` (the table), ``contributions.csv`` (every seed), ``cells.csv`` (each
    cell's outcomes per seed), ``decomposition.md`` and ``decomposition.png``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, df in (("decomposition.csv", result.table), ("contributions.csv", result.contributions)):
        atomic_write_text(folder / name, df.to_csv(index=False))
        files[name] = folder / name
    keep = ["comparison", "switched", "setting_id", "replicate", "seed", *OUTCOMES]
    atomic_write_text(folder / "cells.csv", result.runs[keep].to_csv(index=False))
    files["cells.csv"] = folder / "cells.csv"
    atomic_write_text(folder / "decomposition.md", markdown_table(result.table, result.info.get("baseline", "committee")))
    files["decomposition.md"] = folder / "decomposition.md"
    if figure:
        files["decomposition.png"] = plot(result, folder / "decomposition.png")
    return files
