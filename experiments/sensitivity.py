"""Global sensitivity analysis with SALib: Morris screening, then Sobol indices on the top factors.

Usage (from the repository root; needs ``pip install -e '.[sweep]'`` for SALib)::

    python experiments/sensitivity.py                                  # Morris, 12 factors, 10 trajectories, 3 seeds
    python experiments/sensitivity.py --method morris --trajectories 10 --seeds 3 --workers 4
    python experiments/sensitivity.py --method both --top-k 4 --sobol-n 64
    python experiments/sensitivity.py --method sobol --morris-table results/sensitivity/<stamp>/morris.csv
    python experiments/sensitivity.py --params trust.initial decision.tolerance=0.02:0.2 --years 5
    python experiments/sensitivity.py --set governance=joint_committee   # around another scenario

The parameter space is :data:`PARAMETER_SPACE` below: each factor's config key, the sub-range
sampled and why; its unit and the range it must lie in come from the config schema
(:mod:`ics_sim.config.schema`), so they are documented once. ``--params`` picks other schema
parameters (their declared range, or ``key=low:high``).

Every sample point is run for ``--seeds`` replicates on common random numbers (the same seeds
at every point) and the outcome averaged over them, so the indices measure the parameters'
effects, not process noise. Runs go through :func:`ics_sim.runs.batch.run_batch` (parallel, resumable:
rerun with ``--run-dir`` of an interrupted analysis to finish it).

Output, in ``results/sensitivity/<stamp>/``: ``parameters.csv`` (the space), ``morris.csv``
(mu, mu*, its confidence interval, sigma and a normalised rank per outcome and factor),
``morris.png``, and for Sobol ``sobol.csv`` (S1, ST with confidence intervals) and ``sobol.png``;
``runs/`` holds every run's summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ics_sim.config.schema import Config
from ics_sim.runs.io import atomic_write_csv, atomic_write_figure, atomic_write_text


@dataclass(frozen=True)
class Factor:
    """One uncertain parameter of the analysis.

    Attributes:
        name: short label for tables and plots.
        key: dotted config key.
        low: lower end of the range sampled.
        high: upper end of the range sampled.
        why: why this range (the schema's own range is often wider than plausible).
    """

    name: str
    key: str
    low: float
    high: float
    why: str = ""

    @property
    def meta(self) -> dict[str, Any]:
        return schema_meta(self.key)

    @property
    def unit(self) -> str:
        return str(self.meta.get("unit", ""))


#: The default parameter space: modelling assumptions with no direct empirical estimate (ODD
#: section 7), each narrowed to a plausible sub-range of its schema range.
PARAMETER_SPACE: list[Factor] = [
    Factor("trust_initial", "trust.initial", 0.15, 0.60, "starting trust: partnerships range from new and wary to long-standing"),
    Factor("trust_gain", "trust.gain", 0.02, 0.12, "speed of trust building; no empirical estimate, half to double the default"),
    Factor("trust_loss_ratio", "trust.loss_ratio", 1.5, 5.0, "trust asymmetry: studies report violations weigh 2-5 times successes"),
    Factor("decision_tolerance_trust", "decision.tolerance_trust", 0.04, 0.16, "how far from its own proposal a trusting member still accepts: half to double the default"),
    Factor("decision_concession", "decision.concession", 0.15, 0.60, "how far members move after a failed meeting"),
    Factor("observation_error_system", "observation.error_system", 0.15, 0.45, "error of system-level need estimates (log s.d.)"),
    Factor("observation_error_formula", "observation.error_formula", 0.05, 0.20, "error of the national need formula: Dixon et al. 2011, about 0.10 at practice level"),
    Factor("delegation_knowledge_weight", "delegation.knowledge_weight", 0.5, 2.0, "weight of local knowledge in the subsidiarity test"),
    Factor("provider_own_service_bias", "interests.provider_own_service_bias", 0.1, 0.6, "providers' preference for their own services"),
    Factor("health_at_stake", "health.health_at_stake", 9.0, 17.0, "HLE per unit of production: Barr et al. 2014 per pound, 2011 gap vs decade mean"),
    Factor("productivity_curvature", "health.productivity_curvature", 0.5, 3.0, "diminishing returns of care in coverage; not identified by one figure"),
    Factor("deprivation_productivity", "health.deprivation_productivity", 0.05, 0.3, "health at stake by deprivation: Love-Koh et al. 2020 split within 5 points"),
    Factor("need_spill_over", "need.spill_over", 0.10, 0.40, "unmet social and primary care need turning into acute demand"),
    Factor("hidden_share_deprivation", "need.hidden_share_deprivation", 0.08, 0.24, "hidden need of the most deprived: half to 1.5 times the default"),
    Factor("hourly_cost_gbp", "costs.hourly_cost_gbp", 85.0, 150.0, "cost of a member's hour: Agenda for Change band 8d to VSM with PSSRU 2023 conventions"),
    Factor("duplication_rate", "costs.duplication_rate", 0.0, 0.25, "waste of unco-ordinated overlapping funding: no national measure"),
]

#: outcomes analysed by default (summary keys, see ics_sim.model.record.SUMMARY_KEYS)
OUTCOMES = ["hle_sii", "hle_mean", "unmet_need", "duplicated_spend_gbp", "decision_delay_months", "trust_mean"]


def schema_meta(key: str) -> dict[str, Any]:
    """The schema metadata (unit, range, help, source, default) of a dotted config key.

    Raises:
        KeyError: the key is not a parameter of the schema.
    """
    obj: Any = Config()
    fld = None
    for part in key.split("."):
        fields = {f.name: f for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else {}
        if part not in fields:
            raise KeyError(f"{key!r} is not a config parameter ({part!r} unknown)")
        fld = fields[part]
        obj = getattr(obj, part)
    assert fld is not None
    meta = dict(fld.metadata)
    meta.setdefault("range", (None, None))
    meta["default"] = obj
    return meta


def check_space(space: list[Factor]) -> None:
    """Check every factor is a numeric schema parameter and its range lies within the schema's."""
    names = [f.name for f in space]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate factor names in {names}")
    for f in space:
        meta = f.meta
        if isinstance(meta["default"], bool) or not isinstance(meta["default"], (int, float)):
            raise ValueError(f"{f.key} is not numeric (default {meta['default']!r})")
        lo, hi = meta.get("range", (None, None))
        if not f.low < f.high:
            raise ValueError(f"{f.key}: low {f.low} must be below high {f.high}")
        if (lo is not None and f.low < lo) or (hi is not None and f.high > hi):
            raise ValueError(f"{f.key}: range {f.low}-{f.high} leaves the schema's allowed {lo}-{hi} ({f.unit})")


def factor_from_arg(text: str) -> Factor:
    """``trust.initial`` (schema range) or ``trust.initial=0.1:0.6``, or a name of PARAMETER_SPACE."""
    known = {f.name: f for f in PARAMETER_SPACE} | {f.key: f for f in PARAMETER_SPACE}
    key, _, rng = text.partition("=")
    if not rng and key in known:
        return known[key]
    key = known[key].key if key in known else key
    meta = schema_meta(key)
    if rng:
        low, high = (float(x) for x in rng.split(":"))
    else:
        low, high = meta.get("range", (None, None))
        if low is None or high is None:
            raise ValueError(f"{key} has no bounded range in the schema; give one as {key}=LOW:HIGH")
    return Factor(key.replace(".", "_"), key, float(low), float(high), "from the command line")


def space_table(space: list[Factor]) -> pd.DataFrame:
    """The parameter space as a table (name, key, low, high, unit, default, schema range, why)."""
    rows = []
    for f in space:
        m = f.meta
        rows.append({"name": f.name, "key": f.key, "low": f.low, "high": f.high, "unit": f.unit, "default": m["default"],
                     "schema_low": m["range"][0], "schema_high": m["range"][1], "why": f.why, "source": m.get("source", "")})
    return pd.DataFrame(rows)


def problem_of(space: list[Factor]) -> dict[str, Any]:
    return {"num_vars": len(space), "names": [f.name for f in space], "bounds": [[f.low, f.high] for f in space]}


def evaluate_points(
    X: np.ndarray, space: list[Factor], seeds: int, run_dir: Path, workers: int, base: dict[str, Any], outcomes: list[str],
    progress: bool = True,
) -> pd.DataFrame:
    """Run every sample point for ``seeds`` replicates and average each outcome over them.

    Returns:
        One row per sample point (in the order of ``X``) with one column per outcome.

    Raises:
        RuntimeError: some runs failed (their errors are listed).
    """
    from ics_sim.runs.batch import run_batch

    design = pd.DataFrame(X, columns=[f.key for f in space])
    for f in space:
        if isinstance(f.meta["default"], int):
            design[f.key] = design[f.key].round().astype(int)
    design.insert(0, "setting_id", range(len(design)))
    runs = run_batch(design, seeds, run_dir, workers=workers, base_overrides=base, progress=progress, chunk_size=200)
    bad = runs[runs["status"] != "ok"]
    if len(bad):
        errors = "; ".join(sorted(set(bad["error"].astype(str)))[:5])
        raise RuntimeError(f"{len(bad)} runs failed (see {run_dir}): {errors}")
    missing = [o for o in outcomes if o not in runs]
    if missing:
        raise ValueError(f"unknown outcome(s) {missing}; available: {sorted(c for c in runs.columns if runs[c].dtype.kind == 'f')}")
    means = runs.groupby("setting_id")[outcomes].mean()
    return means.reindex(range(len(design)))


def morris(args: argparse.Namespace, space: list[Factor], out: Path, base: dict[str, Any]) -> pd.DataFrame:
    """Morris elementary effects: sample, run, analyse, write ``morris.csv`` and ``morris.png``."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    problem = problem_of(space)
    X = morris_sample.sample(problem, N=args.trajectories, num_levels=args.levels, seed=args.sample_seed)
    print(f"Morris: {len(space)} factors, {args.trajectories} trajectories -> {len(X)} points x {args.seeds} seeds = {len(X) * args.seeds} runs")
    Y = evaluate_points(X, space, args.seeds, out / "runs-morris", args.workers, base, args.outcomes, not args.no_progress)
    rows = []
    for outcome in args.outcomes:
        y = Y[outcome].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)):
            print(f"  skipping {outcome}: not finite at {int((~np.isfinite(y)).sum())} points", file=sys.stderr)
            continue
        res = morris_analyze.analyze(problem, X, y, num_levels=args.levels, conf_level=0.95, seed=args.sample_seed)
        top = max(float(np.nanmax(res["mu_star"])), 1e-300)
        for i, f in enumerate(space):
            rows.append({"outcome": outcome, "parameter": f.name, "key": f.key, "unit": f.unit, "low": f.low, "high": f.high,
                         "mu": float(res["mu"][i]), "mu_star": float(res["mu_star"][i]),
                         "mu_star_conf": float(res["mu_star_conf"][i]), "sigma": float(res["sigma"][i]),
                         "mu_star_norm": float(res["mu_star"][i]) / top})
    table = pd.DataFrame(rows)
    table["rank"] = table.groupby("outcome")["mu_star"].rank(ascending=False, method="min").astype(int)
    atomic_write_csv(table, out / "morris.csv")
    plot_morris(table, out / "morris.png", args)
    return table


def top_factors(morris_table: pd.DataFrame, k: int) -> list[str]:
    """The ``k`` factors with the largest normalised mu* over all outcomes."""
    score = morris_table.groupby("parameter")["mu_star_norm"].max().sort_values(ascending=False)
    return list(score.index[:k])


def sobol(args: argparse.Namespace, space: list[Factor], out: Path, base: dict[str, Any]) -> pd.DataFrame:
    """Sobol indices (Saltelli sampling, first-order and total) on ``space``; writes ``sobol.csv`` and ``sobol.png``."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    problem = problem_of(space)
    X = sobol_sample.sample(problem, args.sobol_n, calc_second_order=False, seed=args.sample_seed)
    print(f"Sobol: {len(space)} factors, N={args.sobol_n} -> {len(X)} points x {args.seeds} seeds = {len(X) * args.seeds} runs")
    Y = evaluate_points(X, space, args.seeds, out / "runs-sobol", args.workers, base, args.outcomes, not args.no_progress)
    rows = []
    for outcome in args.outcomes:
        y = Y[outcome].to_numpy(dtype=float)
        if not np.all(np.isfinite(y)) or np.nanstd(y) == 0:
            print(f"  skipping {outcome}: constant or not finite", file=sys.stderr)
            continue
        res = sobol_analyze.analyze(problem, y, calc_second_order=False, conf_level=0.95, seed=args.sample_seed)
        for i, f in enumerate(space):
            rows.append({"outcome": outcome, "parameter": f.name, "key": f.key, "unit": f.unit,
                         "S1": float(res["S1"][i]), "S1_conf": float(res["S1_conf"][i]),
                         "ST": float(res["ST"][i]), "ST_conf": float(res["ST_conf"][i])})
    table = pd.DataFrame(rows)
    atomic_write_csv(table, out / "sobol.csv")
    plot_sobol(table, out / "sobol.png", args)
    return table


def _n(k: int, one: str, many: str | None = None) -> str:
    return f"{k} {one if k == 1 else (many or one + 's')}"


def _grid(n: int) -> tuple[int, int]:
    cols = min(3, n)
    return (n + cols - 1) // cols, cols


def plot_morris(table: pd.DataFrame, path: Path, args: argparse.Namespace) -> None:
    """One panel per outcome: mu* (bars, 95% interval) and sigma (dots) of each factor."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    outcomes = list(dict.fromkeys(table["outcome"]))
    rows, cols = _grid(len(outcomes))
    fig = Figure(figsize=(5.2 * cols, 0.32 * table["parameter"].nunique() * rows + 1.6 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, outcome in zip(axes, outcomes, strict=False):
        d = table[table["outcome"] == outcome].sort_values("mu_star")
        scale, unit = (1e6, "GBP m a year") if outcome.endswith("_gbp") else (1.0, "outcome units")
        y = np.arange(len(d))
        ax.barh(y, d["mu_star"] / scale, xerr=d["mu_star_conf"] / scale, color="#4c72b0", alpha=0.85,
                label="mu* (mean |effect|)", capsize=2)
        ax.plot(d["sigma"] / scale, y, "o", color="#dd8452", label="sigma (interaction / non-linearity)")
        ax.set_yticks(y, d["parameter"], fontsize=8)
        ax.set_title(outcome, fontsize=10)
        ax.set_xlabel(f"elementary effect on {outcome} ({unit})", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    for ax in axes[len(outcomes):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Morris screening: {_n(args.trajectories, 'trajectory', 'trajectories')}, "
                 f"{_n(args.seeds, 'seed')} per point" + (f", {_n(args.years, 'year')}" if args.years else ""), fontsize=11)
    atomic_write_figure(fig, path, dpi=110)


def plot_sobol(table: pd.DataFrame, path: Path, args: argparse.Namespace) -> None:
    """One panel per outcome: first-order (S1) and total (ST) Sobol indices with 95% intervals."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    outcomes = list(dict.fromkeys(table["outcome"]))
    rows, cols = _grid(len(outcomes))
    fig = Figure(figsize=(5.2 * cols, 2.8 * rows + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, outcome in zip(axes, outcomes, strict=False):
        d = table[table["outcome"] == outcome]
        x = np.arange(len(d))
        ax.bar(x - 0.2, d["S1"], 0.4, yerr=d["S1_conf"], label="S1 (first order)", color="#4c72b0", capsize=2)
        ax.bar(x + 0.2, d["ST"], 0.4, yerr=d["ST_conf"], label="ST (total)", color="#dd8452", capsize=2)
        ax.set_xticks(x, d["parameter"], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("share of output variance")
        ax.set_title(outcome, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(outcomes):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Sobol indices: N={args.sobol_n}, {_n(args.seeds, 'seed')} per point", fontsize=11)
    atomic_write_figure(fig, path, dpi=110)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", choices=["morris", "sobol", "both"], default="morris")
    ap.add_argument("--params", nargs="*", default=None, metavar="KEY[=LOW:HIGH]",
                    help="factors (default: the PARAMETER_SPACE table); config keys or table names")
    ap.add_argument("--outcomes", nargs="*", default=OUTCOMES)
    ap.add_argument("--trajectories", type=int, default=10, help="Morris trajectories (r)")
    ap.add_argument("--levels", type=int, default=4, help="Morris grid levels (p)")
    ap.add_argument("--seeds", type=int, default=3, help="replicates per sample point (common random numbers)")
    ap.add_argument("--top-k", type=int, default=4, help="factors passed from Morris to Sobol")
    ap.add_argument("--sobol-n", type=int, default=64, help="Sobol base sample size (a power of 2)")
    ap.add_argument("--morris-table", type=Path, default=None, help="with --method sobol: the morris.csv to take top factors from")
    ap.add_argument("--years", type=int, default=None, help="horizon of each run (default: the config's)")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="scenario overrides, e.g. governance=joint_committee")
    ap.add_argument("--workers", type=int, default=-1, help="worker processes (-1: all cores)")
    ap.add_argument("--sample-seed", type=int, default=1, help="seed of the SALib sampler")
    ap.add_argument("--out", type=Path, default=Path("results/sensitivity"))
    ap.add_argument("--run-dir", type=Path, default=None, help="reuse (resume) this output folder instead of a new one")
    ap.add_argument("--no-progress", action="store_true")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import yaml

    try:
        import SALib  # noqa: F401
    except ImportError:
        print("SALib is not installed: pip install -e '.[sweep]'", file=sys.stderr)
        return 2
    space = [factor_from_arg(p) for p in args.params] if args.params else list(PARAMETER_SPACE)
    check_space(space)
    base: dict[str, Any] = {}
    for item in args.set:
        k, _, v = item.partition("=")
        base[k] = yaml.safe_load(v)
    if args.years is not None:
        base["years"] = args.years
    out = args.run_dir or args.out / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(space_table(space), out / "parameters.csv")
    atomic_write_text(out / "settings.json", json.dumps({k: v for k, v in vars(args).items()}, default=str, indent=2))

    if args.method in ("morris", "both"):
        table = morris(args, space, out, base)
        print(table.sort_values(["outcome", "rank"]).groupby("outcome").head(3)[["outcome", "parameter", "mu_star", "sigma"]].to_string(index=False))
    if args.method in ("sobol", "both"):
        if args.method == "sobol" and args.morris_table is None and not (out / "morris.csv").exists():
            table = morris(args, space, out, base)
        elif args.method == "sobol":
            table = pd.read_csv(args.morris_table or out / "morris.csv")
        top = top_factors(table, args.top_k)
        first = table.drop_duplicates("parameter").set_index("parameter")
        sub = [Factor(t, str(first.at[t, "key"]), float(first.at[t, "low"]), float(first.at[t, "high"]),
                      next((f.why for f in PARAMETER_SPACE if f.name == t), "")) for t in top]
        print(f"Sobol on the top {len(sub)} Morris factors: {', '.join(f.name for f in sub)}")
        sobol(args, sub, out, base)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
