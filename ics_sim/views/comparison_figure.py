"""Figures that compare settings run on common seeds: one figure per measure.

Each figure has two panels:

* **left**: every setting (or scenario) over time: the median across seeds with a shaded
  10-90% band;
* **right**: the *paired* difference from the baseline: seed by seed on the same seeds (common
  random numbers), the median and 10-90% band over time; the legend says in what share of seeds
  the setting ends better than its baseline, using the measure's direction (docs/OUTPUTS.md).

The title names the measure in plain words with which way is better; axes carry the unit (money
in GBP, with "m" for millions on the ticks). Without a monthly record the figure shows the run
summaries instead: each seed's value by setting, and each seed's paired difference.

Drawn with :class:`matplotlib.figure.Figure` on the Agg canvas (never pyplot), so it is safe in
worker processes; files are written atomically.

Example::

    from ics_sim.views.comparison_figure import plot_comparison
    ts = pd.read_parquet("results/sweeps/<name>/aggregate/timeseries.parquet")
    plot_comparison(ts, "hle_sii", group="setting", path="hle_sii.png")
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ics_sim.model.record import DIRECTIONS, METRICS
from ics_sim.runs.aggregate import HEADLINE, AggregateResult, better
from ics_sim.runs.io import atomic_path

__all__ = ["metric_series", "plot_comparison", "write_sweep_figures"]

# Okabe-Ito colour-blind-safe palette
_PALETTE = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F7F00")
_BAND_ALPHA = 0.18
_TIME_XLABEL = "Date (financial years start in April)"


def _colours(groups: Sequence[str]) -> dict[str, str]:
    palette = list(_PALETTE) if len(groups) <= len(_PALETTE) else [to_hex(c) for c in colormaps["tab20"].colors]
    return {g: palette[i % len(palette)] for i, g in enumerate(groups)}


def _label(metric: str) -> tuple[str, str, str]:
    """(plain name, unit, direction words) of a measure."""
    m = METRICS.get(metric)
    if m is None:
        return metric, "", DIRECTIONS["none"]
    return m.label, m.unit, DIRECTIONS[m.direction]


def _money_axis(ax: Axes, unit: str) -> None:
    """Pounds on an axis: ticks as 12.5m or 250k, so the unit stays GBP and the numbers readable."""
    if not unit.startswith("GBP"):
        return

    def fmt(x: float, _pos: int) -> str:
        a = abs(x)
        if a >= 1e9:
            return f"{x / 1e9:,.1f}bn"
        if a >= 1e6:
            return f"{x / 1e6:,.1f}m"
        if a >= 1e3:
            return f"{x / 1e3:,.0f}k"
        return f"{x:,.0f}"

    ax.yaxis.set_major_formatter(FuncFormatter(fmt))


def _style(ax: Axes) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(True, color="0.88", linewidth=0.8)
    ax.set_axisbelow(True)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width))


def _tick(label: str) -> str:
    """A setting's label for a tick: one override per line."""
    return label.replace(",", ",\n")


def metric_series(timeseries: pd.DataFrame, metric: str, group: str = "setting") -> pd.DataFrame:
    """One measure's whole-population monthly series per group and seed.

    Uses the ``national`` level when the table has it (runs of several systems), else ``system``;
    several areas at that level are averaged.

    Args:
        timeseries: a tidy time series (a run's, a sweep's aggregate or a scenarios object's).
        metric: the measure.
        group: the column naming the setting or scenario.

    Returns:
        Columns ``group``, ``seed``, ``month``, ``x`` (the date, or the month index when the
        table has no dates) and ``value``.
    """
    df = timeseries[timeseries["metric"] == metric]
    if df.empty:
        return pd.DataFrame(columns=[group, "seed", "month", "x", "value"])
    level = "national" if (df["level"] == "national").any() else "system"
    df = df[df["level"] == level]
    keys = [group, "seed", "month"]
    out = df.groupby(keys, sort=False, observed=True)["value"].mean().reset_index()
    if "date" in df.columns:
        dates = df.drop_duplicates("month").set_index("month")["date"]
        out["x"] = out["month"].map(dates)
    else:
        out["x"] = out["month"]
    out[group] = out[group].astype(str)
    return out


def _bands(wide: pd.DataFrame) -> pd.DataFrame:
    """q10, median and q90 across the columns (seeds) of a month x seed table."""
    return pd.DataFrame({"lo": wide.quantile(0.1, axis=1), "med": wide.median(axis=1), "hi": wide.quantile(0.9, axis=1)})


def _paired(series: pd.DataFrame, group: str, a: str, b: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Month x seed tables of a, b and a - b on the seeds both ran."""
    wa = series[series[group] == a].pivot_table(index="x", columns="seed", values="value")
    wb = series[series[group] == b].pivot_table(index="x", columns="seed", values="value")
    seeds = wa.columns.intersection(wb.columns)
    months = wa.index.intersection(wb.index)
    wa, wb = wa.loc[months, seeds], wb.loc[months, seeds]
    return wa, wb, wa - wb


def plot_comparison(
    timeseries: pd.DataFrame | None,
    metric: str,
    *,
    group: str = "setting",
    order: Sequence[str] | None = None,
    counterpart: Mapping[str, str] | None = None,
    runs: pd.DataFrame | None = None,
    title: str | None = None,
    path: str | Path | None = None,
) -> Figure:
    """Draw one measure for settings compared on common seeds.

    Args:
        timeseries: tidy time series with ``group``, ``seed``, ``month``, ``level``, ``metric``
            and ``value`` columns (``date`` optional); None to draw the run summaries.
        metric: the measure (a key of :data:`ics_sim.model.record.METRICS`).
        group: the column naming each setting (``setting`` in a sweep, ``scenario`` for a
            scenarios object).
        order: the settings in the order to draw them (default: as found).
        counterpart: each setting's baseline for the paired differences (default: the first
            setting for all); a setting that is its own baseline is drawn on the left only.
        runs: one row per run (``group``, ``seed`` and ``metric`` columns): used when the time
            series lacks the measure.
        title: the figure title (default: the measure's name and which way is better).
        path: write the figure there (PNG) atomically.

    Returns:
        The figure (not registered with pyplot).

    Raises:
        ValueError: neither the time series nor the runs hold the measure.
    """
    name, unit, direction = _label(metric)
    noun = "scenario" if group == "scenario" else "setting"
    series = metric_series(timeseries, metric, group) if timeseries is not None else None
    over_time = series is not None and not series.empty
    if not over_time and (runs is None or metric not in runs.columns):
        raise ValueError(f"no values of {metric!r} to draw")
    found = list(dict.fromkeys(series[group])) if over_time else list(dict.fromkeys(runs[group].astype(str)))
    groups = [str(g) for g in order if str(g) in found] if order is not None else found
    groups += [g for g in found if g not in groups]
    counterpart = dict(counterpart) if counterpart is not None else {g: groups[0] for g in groups}
    colours = _colours(groups)
    pairs = [(g, counterpart[g]) for g in groups if counterpart.get(g) not in (None, g) and counterpart[g] in groups]
    bases = sorted({b for _, b in pairs})
    m = METRICS.get(metric)
    direction_key = m.direction if m is not None else "none"

    fig = Figure(figsize=(14.0, 5.6), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        _style(ax)
        _money_axis(ax, unit)
    ylabel = f"{name} ({unit})" if unit else name
    diff_label = f"Difference ({unit})" if unit else "Difference"
    n_seeds = 0

    if over_time:
        for g in groups:
            wide = series[series[group] == g].pivot_table(index="x", columns="seed", values="value")
            n_seeds = max(n_seeds, wide.shape[1])
            st = _bands(wide)
            if wide.shape[1] > 1:
                left.fill_between(st.index, st["lo"], st["hi"], color=colours[g], alpha=_BAND_ALPHA, lw=0)
            left.plot(st.index, st["med"], color=colours[g], lw=2, label=g)
        for g, b in pairs:
            wa, wb, d = _paired(series, group, g, b)
            if d.empty:
                continue
            st = _bands(d)
            share = _share_better(wa.iloc[-1].to_numpy(), wb.iloc[-1].to_numpy(), direction_key)
            label = f"{g} minus {b}" if len(bases) > 1 else g
            if share is not None:
                label += f" (better in {share:.0%} of seeds at the end)"
            label = _wrap(label, 80)
            if d.shape[1] > 1:
                right.fill_between(st.index, st["lo"], st["hi"], color=colours[g], alpha=_BAND_ALPHA, lw=0)
            right.plot(st.index, st["med"], color=colours[g], lw=2, label=label)
        for ax in (left, right):
            ax.set_xlabel(_TIME_XLABEL)
            if pd.api.types.is_datetime64_any_dtype(series["x"]):
                locator = AutoDateLocator()
                ax.xaxis.set_major_locator(locator)
                ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        left.set_title(_wrap(f"Each {noun} over time: median and 10-90% of {n_seeds} seeds", 60), loc="left", fontsize=11)
    else:
        values = runs[[group, "seed", metric]].copy()
        values[group] = values[group].astype(str)
        for i, g in enumerate(groups):
            v = values.loc[values[group] == g, metric].to_numpy(dtype=float)
            n_seeds = max(n_seeds, v.size)
            jitter = np.random.default_rng(i).uniform(-0.15, 0.15, v.size)
            left.scatter(i + jitter, v, s=14, color=colours[g], alpha=0.6)
            if v.size:
                q = np.quantile(v, [0.1, 0.5, 0.9])
                left.errorbar([i + 0.3], [q[1]], yerr=[[q[1] - q[0]], [q[2] - q[1]]], fmt="D", color="black", capsize=4)
        left.set_xticks(range(len(groups)), [_tick(g) for g in groups], fontsize=7)
        wide = values.pivot_table(index="seed", columns=group, values=metric)
        for i, (g, b) in enumerate(pairs):
            d = (wide[g] - wide[b]).dropna().to_numpy()
            jitter = np.random.default_rng(100 + i).uniform(-0.15, 0.15, d.size)
            share = _share_better(wide[g].to_numpy(), wide[b].to_numpy(), direction_key)
            right.scatter(i + jitter, d, s=14, color=colours[g], alpha=0.6)
            if d.size:
                q = np.quantile(d, [0.1, 0.5, 0.9])
                right.errorbar([i + 0.3], [q[1]], yerr=[[q[1] - q[0]], [q[2] - q[1]]], fmt="D", color="black", capsize=4)
            if share is not None:
                right.annotate(f"better in {share:.0%}", (i, 1.0), xycoords=("data", "axes fraction"), ha="center",
                               va="top", fontsize=8, color="0.3")
        ticks = [_tick(g) + ("" if len(bases) == 1 else "\nminus\n" + _tick(b)) for g, b in pairs]
        right.set_xticks(range(len(pairs)), ticks, fontsize=7)
        right.set_xlim(-0.5, len(pairs) - 0.5)
        left.set_title(_wrap(f"Each {noun}: run summaries of {n_seeds} seeds (median and 10-90%)", 60), loc="left", fontsize=11)

    left.set_ylabel(_wrap(ylabel, 50))
    right.set_ylabel(_wrap(diff_label, 50))
    right.axhline(0.0, color="0.3", lw=0.8)
    base_text = bases[0] if len(bases) == 1 else f"each {noun}'s baseline"
    right.set_title(_wrap(f"Difference from {base_text} on the same seeds (median and 10-90%)", 60), loc="left", fontsize=11)
    for ax in (left, right):
        if ax.get_legend_handles_labels()[0]:  # below the panel, so long setting names never cover data
            ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.16), frameon=False)
    if not pairs:
        right.text(0.5, 0.5, "no baseline to compare with", transform=right.transAxes, ha="center", va="center",
                   color="0.45", style="italic")
    fig.suptitle(title or f"{name}: {direction}", x=0.01, ha="left", fontsize=14, fontweight="bold")
    if path is not None:
        path = Path(path)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
    return fig


def _share_better(a: np.ndarray, b: np.ndarray, direction: str) -> float | None:
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return None
    flags = better(a[ok], b[ok], direction)
    return None if flags is None else float(np.mean(flags))


def _read_headline(path: Path, metrics: Sequence[str]) -> pd.DataFrame | None:
    """The whole-population rows of the headline measures from an aggregated time series."""
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    names = set(pq.read_schema(path).names)
    cols = [c for c in ("setting", "seed", "month", "date", "level", "metric", "value") if c in names]
    table = pq.read_table(path, columns=cols, filters=[("level", "in", ["system", "national"]), ("metric", "in", list(metrics))])
    return table.to_pandas()


def write_sweep_figures(result: AggregateResult, metrics: Sequence[str] = HEADLINE) -> list[Path]:
    """One figure per headline measure of an aggregated sweep, ``<aggregate>/figures/<metric>.png``.

    The hook :func:`ics_sim.runs.aggregate.aggregate` calls (``figures=``): the settings in
    their sorted order, each compared with its baseline (the keys named by ``--baseline``
    changed, the others held); over time when the aggregation merged the monthly records, else
    from the run summaries.

    Args:
        result: what :func:`ics_sim.runs.aggregate.aggregate` produced.
        metrics: the measures to draw.

    Returns:
        The paths written.
    """
    if result.runs.empty:
        return []
    ts = _read_headline(result.out_dir / "timeseries.parquet", metrics) if result.merged_timeseries else None
    folder = result.out_dir / "figures"
    written = []
    for metric in metrics:
        has_ts = ts is not None and (ts["metric"] == metric).any()
        if not has_ts and metric not in result.runs.columns:
            continue
        path = folder / f"{metric}.png"
        plot_comparison(ts if has_ts else None, metric, group="setting", order=result.order,
                        counterpart=result.counterpart, runs=result.runs, path=path)
        written.append(path)
    return written


def plot_scenarios(timeseries: pd.DataFrame | None, runs: pd.DataFrame, metric: str, order: Sequence[str], baseline: str,
                   path: str | Path | None = None, **kwargs: Any) -> Figure:
    """A scenarios object's figure of one measure: each scenario over time and its paired
    difference from the baseline (the plotting hook of :class:`ics_sim.Scenarios`)."""
    return plot_comparison(timeseries, metric, group="scenario", order=order, counterpart={s: baseline for s in order},
                           runs=runs, path=path, **kwargs)
