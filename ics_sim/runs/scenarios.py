"""Named options compared on common seeds: the scenarios object.

::

    import ics_sim
    sc = ics_sim.Scenarios({"Committee": {"governance": "committee"},
                            "Joint committee": {"governance": "joint_committee"}},
                           baseline="Committee", seeds=30, years=10)
    sc.run(workers=2)
    sc.summary()      # median and 10-90% per scenario and measure
    sc.paired()       # paired differences from the baseline, share of seeds in which each is better
    sc.plot("hle_sii")

Every scenario runs on the same seeds (replicate ``r`` has seed
:func:`ics_sim.runs.seeds.replicate_seed` of the base seed in every scenario: common random
numbers), so the difference between two scenarios can be taken seed by seed and differs only by
the scenario. Runs go through the batch runner (:func:`ics_sim.runs.batch.run_batch`): on
worker processes, and resumable when :meth:`Scenarios.run` is given an ``out_dir`` (run the
same call again after an interruption). Without one the batch runs in a temporary folder that is
removed afterwards; everything is then held in memory.

Tables are tidy: one row per scenario and measure (or seed), the standard factor columns and
one column per overridden key, typed (:mod:`ics_sim.runs.factors`), ``measure_unit`` and
``direction`` (docs/OUTPUTS.md); money in GBP (per year for flows), as in ``summary.json``.

This class lives in the runs layer and does not draw: :meth:`Scenarios.plot` calls the class's
``plotter`` hook, which the package facade ``ics_sim.Scenarios`` sets to
:func:`ics_sim.views.comparison_figure.plot_scenarios` (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from ics_sim.config import Config
from ics_sim.model.record import METRICS, direction
from ics_sim.runs.aggregate import HEADLINE, better, paired_differences, summarise_runs
from ics_sim.runs.factors import STANDARD, column_name
from ics_sim.runs.io import atomic_path
from ics_sim.runs.seeds import replicate_seed

#: the levels of the monthly record a scenarios object keeps (the whole population)
LEVELS: tuple[str, ...] = ("system", "national")
#: a derived per-run measure: a function of the run's whole-population monthly record (columns
#: month, metric, value, ...) and its config
Measure = Callable[[pd.DataFrame, Config], float]


class Scenarios:
    """Named options compared on common seeds.

    Args:
        scenarios: name -> config overrides, e.g. ``{"Joint committee": {"governance":
            "joint_committee"}}`` (as for :func:`ics_sim.run`).
        baseline: the scenario the others are compared with (default: the first).
        seeds: the number of common seeds (replicates) per scenario.
        base_seed: replicate ``r`` runs on ``replicate_seed(base_seed, r)``.
        system: the system for every scenario (``synthetic``, ``england``, a named system, ...;
            default: the config's).
        years: the horizon for every scenario (default: the config's).
        overrides: further overrides for every scenario; a scenario's own values win.
        timeseries: keep each run's monthly whole-population record (for :meth:`plot`,
            :meth:`bands` and ``measures``): True for every scenario, False for none, or the
            names of the scenarios that keep it (the others record only what the summary needs,
            which is faster and gives the same summary).
        measures: derived per-run measures, name -> function of the run's whole-population
            monthly record and config (computed for the scenarios that keep the record), added
            beside the summary measures.

    Attributes:
        plotter: the function :meth:`plot` draws with (set by the facade ``ics_sim.Scenarios``).
    """

    plotter: ClassVar[Callable[..., Any] | None] = None

    def __init__(
        self,
        scenarios: Mapping[str, Mapping[str, Any]],
        baseline: str | None = None,
        seeds: int = 30,
        base_seed: int = 0,
        system: str | None = None,
        years: int | None = None,
        overrides: Mapping[str, Any] | None = None,
        timeseries: bool | Collection[str] = True,
        measures: Mapping[str, Measure] | None = None,
    ) -> None:
        if not scenarios:
            raise ValueError("give at least one scenario: Scenarios({'name': {overrides}, ...})")
        self.scenarios: dict[str, dict[str, Any]] = {str(k): dict(v) for k, v in scenarios.items()}
        names = list(self.scenarios)
        self.baseline = str(baseline) if baseline is not None else names[0]
        if self.baseline not in self.scenarios:
            raise ValueError(f"baseline {self.baseline!r} is not one of the scenarios {names}")
        if int(seeds) < 1:
            raise ValueError(f"seeds must be at least 1, got {seeds}")
        self.n_seeds = int(seeds)
        self.base_seed = int(base_seed)
        common = dict(overrides or {})
        if system is not None:
            common["system"] = system
        if years is not None:
            common["years"] = int(years)
        self.common = common
        if isinstance(timeseries, bool):
            self.keep = set(names) if timeseries else set()
        else:
            unknown = sorted(set(timeseries) - set(names))
            if unknown:
                raise ValueError(f"timeseries names {unknown}, which are not among the scenarios {names}")
            self.keep = set(timeseries)
        self.measures: dict[str, Measure] = dict(measures or {})
        self._runs: pd.DataFrame | None = None
        self._timeseries: pd.DataFrame | None = None

    # ------------------------------------------------------------------ running
    @property
    def names(self) -> list[str]:
        """The scenarios' names, baseline first in the order given."""
        return list(self.scenarios)

    @property
    def seeds(self) -> list[int]:
        """The common seeds, in replicate order."""
        return [replicate_seed(self.base_seed, r) for r in range(self.n_seeds)]

    @property
    def factor_columns(self) -> list[str]:
        """The factor columns of the tables: the standard factors and every overridden key."""
        keys = [column_name(k) for o in self.scenarios.values() for k in o if k != "seed"]
        return list(dict.fromkeys([*STANDARD, *keys]))

    def run(self, workers: int = 1, out_dir: str | Path | None = None, progress: bool = False, backend: str = "loky") -> Scenarios:
        """Run every scenario on every seed (on the batch runner) and keep the results.

        Args:
            workers: worker processes (``-1``: all cores).
            out_dir: the folder for the runs (``timeseries/`` and ``summary/`` batches); an
                interrupted call resumes when repeated with the same folder. Default: a
                temporary folder, removed afterwards.
            progress: show a progress bar.
            backend: the joblib backend (see :func:`ics_sim.runs.batch.run_batch`).

        Returns:
            The object itself, so that ``Scenarios(...).run().summary()`` reads as a sentence.

        Raises:
            RuntimeError: a run failed (the error of the first is shown).
        """
        if out_dir is None:
            with tempfile.TemporaryDirectory(prefix="ics_sim_scenarios_") as tmp:
                return self._run(Path(tmp), workers, progress, backend)
        return self._run(Path(out_dir), workers, progress, backend)

    def _run(self, out_dir: Path, workers: int, progress: bool, backend: str) -> Scenarios:
        from ics_sim.runs.batch import config_for, read_results, run_batch

        frames, series = [], []
        batches = (("timeseries", [n for n in self.names if n in self.keep], list(LEVELS)),
                   ("summary", [n for n in self.names if n not in self.keep], False))
        for folder, names, keep in batches:
            if not names:
                continue
            design = [{"setting_id": n, **self.scenarios[n]} for n in names]
            df = run_batch(design, self.n_seeds, out_dir / folder, workers=workers, backend=backend,
                           base_seed=self.base_seed, base_overrides=self.common, keep_timeseries=keep,
                           progress=progress)
            failed = df[df["status"] != "ok"]
            if len(failed):
                raise RuntimeError(f"{len(failed)} runs failed, e.g. {failed['setting_id'].iloc[0]}: {failed['error'].iloc[0]}")
            frames.append(df)
            if keep:
                series.append(_whole_population(read_results(out_dir / folder, timeseries=True)))
        runs = pd.concat(frames, ignore_index=True)
        runs["setting_id"] = runs["setting_id"].astype(str)
        ts = pd.concat(series, ignore_index=True) if series else pd.DataFrame()
        if self.measures and len(ts):
            rows = []
            for (name, rep), g in ts.groupby(["scenario_name", "replicate"], sort=False):
                cfg = config_for({**self.common, **self.scenarios[name]})
                rows.append({"setting_id": name, "replicate": int(rep), **{k: f(g, cfg) for k, f in self.measures.items()}})
            runs = runs.merge(pd.DataFrame(rows), on=["setting_id", "replicate"], how="left")
        runs = runs.rename(columns={"scenario": "scenario_label", "setting_id": "scenario"})
        front = ["scenario", *[c for c in self.factor_columns if c in runs.columns], "replicate", "seed"]
        rank = {n: i for i, n in enumerate(self.names)}
        runs = runs[front + [c for c in runs.columns if c not in front]]
        self._runs = runs.sort_values(["scenario", "replicate"], key=lambda c: c.map(rank) if c.name == "scenario" else c,
                                      kind="stable").reset_index(drop=True)
        if len(ts):
            ts = ts.drop(columns=["scenario", "setting_id"], errors="ignore").rename(columns={"scenario_name": "scenario"})
            front = ["scenario", *[c for c in self.factor_columns if c in ts.columns], "replicate", "seed"]
            ts = ts[front + [c for c in ts.columns if c not in front and c != "run"]]
        self._timeseries = ts
        return self

    # ------------------------------------------------------------------ tables
    @property
    def runs(self) -> pd.DataFrame:
        """One row per scenario and seed: the factor columns, replicate, seed, every summary
        measure and the derived ``measures`` (wide)."""
        if self._runs is None:
            raise RuntimeError("no results yet: call .run() first")
        return self._runs

    @property
    def timeseries(self) -> pd.DataFrame:
        """The kept monthly whole-population records (tidy: scenario, factor columns, replicate,
        seed, month, date, level, area, metric, measure_unit, value)."""
        self.runs  # noqa: B018 - raises before .run()
        return self._timeseries if self._timeseries is not None else pd.DataFrame()

    def metrics(self) -> list[str]:
        """The measures of the tables: the summary measures, then the derived ones."""
        skip = {"scenario", "replicate", "seed", "years", "elapsed_s", "cpu_s", "worker_pid", "worker_rss_mb",
                *self.factor_columns}
        return [c for c in self.runs.columns if c not in skip and pd.api.types.is_numeric_dtype(self.runs[c])
                and not pd.api.types.is_bool_dtype(self.runs[c])]

    def summary(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Per scenario and measure: factor columns, unit, direction, n, median, 10% and 90%
        quantiles and mean over the seeds."""
        return summarise_runs(self.runs, metrics or self.metrics(), group="scenario",
                              factor_cols=self.factor_columns, order=self.names)

    def compare(self, a: str, b: str, metric: str, metric_b: str | None = None) -> pd.DataFrame:
        """Seed by seed: ``metric`` of scenario ``a`` against ``metric_b`` (default the same) of
        scenario ``b``, on the seeds both ran.

        Returns:
            Columns ``seed``, ``replicate``, ``a``, ``b`` and ``diff`` (a - b), in replicate order.
        """
        runs = self.runs
        ra = runs[runs["scenario"] == a].set_index("seed")
        rb = runs[runs["scenario"] == b].set_index("seed")
        if ra.empty or rb.empty:
            raise KeyError(f"no runs of {a if ra.empty else b!r}; the scenarios are {self.names}")
        rows = []
        for seed in ra.index.intersection(rb.index):
            va = float(ra.at[seed, metric])
            vb = float(rb.at[seed, metric_b or metric])
            rows.append({"seed": int(seed), "replicate": int(ra.at[seed, "replicate"]), "a": va, "b": vb, "diff": va - vb})
        return pd.DataFrame(rows, columns=["seed", "replicate", "a", "b", "diff"])

    def paired(self, metrics: Sequence[str] | None = None, by_seed: bool = False) -> pd.DataFrame:
        """Paired differences from the baseline on the same seeds.

        Args:
            metrics: the measures (default: all).
            by_seed: one row per scenario, measure and seed (``value``, ``baseline_value``,
                ``diff`` and ``better``) instead of the summary.

        Returns:
            By default, per scenario other than the baseline and measure: factor columns,
            baseline, unit, direction, number of pairs, median, 10% and 90% quantiles and mean of
            the differences, and ``share_better``, the share of seeds in which the scenario is
            better than the baseline by the measure's direction (NaN for a measure with none).
        """
        metrics = list(metrics or self.metrics())
        if not by_seed:
            return paired_differences(self.runs, {n: self.baseline for n in self.names}, metrics, group="scenario",
                                      factor_cols=self.factor_columns, order=self.names)
        rows = []
        for name in self.names:
            if name == self.baseline:
                continue
            for m in metrics:
                d = self.compare(name, self.baseline, m)
                flags = better(d["a"].to_numpy(), d["b"].to_numpy(), direction(m))
                rows.append(pd.DataFrame({
                    "scenario": name, "baseline": self.baseline, "metric": m,
                    "measure_unit": METRICS[m].unit if m in METRICS else "", "direction": direction(m),
                    "seed": d["seed"], "replicate": d["replicate"], "value": d["a"], "baseline_value": d["b"],
                    "diff": d["diff"],
                    "better": pd.array(flags if flags is not None else [pd.NA] * len(d), dtype="boolean"),
                }))
        cols = ["scenario", "baseline", "metric", "measure_unit", "direction", "seed", "replicate", "value",
                "baseline_value", "diff", "better"]
        return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)

    def bands(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Per scenario, measure and month of the kept records: median and 10-90% over seeds."""
        ts = self.timeseries
        if ts.empty:
            return pd.DataFrame(columns=["scenario", "metric", "measure_unit", "month", "date", "n", "median", "q10", "q90"])
        if metrics is not None:
            ts = ts[ts["metric"].isin(list(metrics))]
        level = "national" if (ts["level"] == "national").any() else "system"
        ts = ts[ts["level"] == level]
        g = ts.groupby(["scenario", "metric", "measure_unit", "month", "date"], sort=False, observed=True)["value"]
        out = pd.DataFrame({"n": g.count(), "median": g.median(), "q10": g.quantile(0.1), "q90": g.quantile(0.9)})
        return out.reset_index()

    def to_frame(self) -> pd.DataFrame:
        """Every run's measures, long and tidy: scenario, factor columns, replicate, seed, metric,
        measure_unit, direction, value."""
        ids = ["scenario", *[c for c in self.factor_columns if c in self.runs.columns], "replicate", "seed"]
        metrics = self.metrics()
        long = self.runs.melt(id_vars=ids, value_vars=metrics, var_name="metric", value_name="value")
        long.insert(len(ids) + 1, "measure_unit", long["metric"].map(lambda m: METRICS[m].unit if m in METRICS else ""))
        long.insert(len(ids) + 2, "direction", long["metric"].map(direction))
        return long

    def to_excel(self, path: str | Path) -> Path:
        """Write the tables to an Excel workbook, atomically: ``summary``, ``paired``,
        ``paired_by_seed``, ``runs`` (one row per scenario and seed) and ``bands`` (medians and
        10-90% over time of the kept records). Needs openpyxl (``pip install -e '.[excel]'``).

        Returns:
            The path written.
        """
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise ImportError("to_excel needs openpyxl: pip install -e '.[excel]'") from exc
        path = Path(path)
        sheets = {"summary": self.summary(), "paired": self.paired(), "paired_by_seed": self.paired(by_seed=True),
                  "runs": self.runs, "bands": self.bands(HEADLINE)}
        with atomic_path(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, df in sheets.items():
                df = df.copy()
                for c in df.columns:
                    if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                        df[c] = df[c].dt.tz_localize(None)
                df.to_excel(writer, sheet_name=name, index=False)
        return path

    def plot(self, metric: str, path: str | Path | None = None, **kwargs: Any) -> Any:
        """Draw ``metric``: each scenario's median over time with its 10-90% band, and the paired
        difference from the baseline (the run summaries when no monthly record was kept).

        Args:
            metric: the measure (see docs/OUTPUTS.md).
            path: also write the figure there (PNG), atomically.
            **kwargs: passed to the plotter (e.g. ``title``).

        Returns:
            The matplotlib figure.

        Raises:
            RuntimeError: no plotter is set (use ``ics_sim.Scenarios``, which sets it).
        """
        if self.plotter is None:
            raise RuntimeError("this Scenarios class has no plotter: use ics_sim.Scenarios, which draws with "
                               "ics_sim.views.comparison_figure.plot_scenarios")
        ts = self.timeseries if len(self.timeseries) else None
        return type(self).plotter(ts, self.runs, metric, self.names, self.baseline, path=path, **kwargs)

    def __repr__(self) -> str:
        state = f"{len(self.runs)} runs" if self._runs is not None else "not run"
        return (f"Scenarios({self.names}, baseline={self.baseline!r}, seeds={self.n_seeds}, "
                f"overrides={self.common}; {state})")


def _whole_population(ts: pd.DataFrame) -> pd.DataFrame:
    """The kept records at the whole-population level (national when present, else system),
    with the scenario's name in ``scenario_name``; duplicates of a retried run dropped."""
    if ts.empty:
        return ts
    ts = ts.copy()
    ts["scenario_name"] = ts["setting_id"].astype(str)
    national = ts["level"] == "national"
    if national.any():
        ts = ts[national]
    else:
        ts = ts[ts["level"] == "system"]
    ts = ts.drop_duplicates(["scenario_name", "replicate", "month", "area", "metric"], keep="last")
    return ts.reset_index(drop=True)
