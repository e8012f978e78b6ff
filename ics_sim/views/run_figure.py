"""One-page "main outcomes" figure for an ics_sim run.

The figure is meant for health and care leaders rather than modellers: plain
panel titles, labelled axes with units, legends, and (when several seeds were
run) the median with a shaded 10-90% range across seeds.

It is drawn with :class:`matplotlib.figure.Figure` and the Agg canvas directly,
never through :mod:`matplotlib.pyplot`, so it is safe to call from threads and
parameter sweeps, does not depend on (or change) the interactive backend, and
leaves no figures registered with pyplot.

Example:
    >>> import pandas as pd
    >>> from ics_sim.views.run_figure import plot_outcomes
    >>> ts = pd.read_parquet("results/run/timeseries.parquet")  # doctest: +SKIP
    >>> plot_outcomes(ts, "results/run/outcomes.png")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from ics_sim.runs.io import atomic_path, atomic_write_parquet, atomic_write_text  # noqa: F401
from ics_sim.views.figure_rows import REQUIRED_COLUMNS as _REQUIRED_COLUMNS
from ics_sim.views.figure_rows import figure_rows, read_figure_rows

__all__ = ["figure_rows", "new_page", "plot_outcomes", "read_figure_rows", "weighted_slope"]

#: Figure size (inches) and resolution: 16 x 10 in at 120 dpi = 1920 x 1200 px.
FIGSIZE: tuple[float, float] = (16.0, 10.0)
DPI: int = 120

_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")
# Okabe-Ito colour-blind-safe palette (black last; it is reserved for the system line).
_PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
            "#7F7F00", "#000000")
_STYLES = ("-", "--", ":", "-.")
_BAND_ALPHA = 0.18
_TIME_XLABEL = "Year (April start)"
_RANK_XLABEL = "Deprivation rank (0 = most deprived)"
_HEADER_FRACTION = 0.085  # share of figure height kept for title, subtitle and legend
#: The 2 x 3 grid's margins and gaps (figure fractions), room for the twin axes' right-hand labels.
_GRID = {"left": 0.045, "right": 0.975, "bottom": 0.06, "top": 0.975 - _HEADER_FRACTION - 0.025,
         "wspace": 0.32, "hspace": 0.26}


@dataclass(frozen=True)
class _Series:
    """One plotted metric: where to find it and how to show it."""

    metric: str
    label: str
    scale: float = 1.0
    level: str = "whole"  # the run's whole population: the system, or England (level "national")


@dataclass
class _Context:
    """Data and styling shared by all panels."""

    df: pd.DataFrame
    scenarios: list[str]
    colours: dict[str, str]
    rep_cols: list[str]
    start_year: int
    whole_level: str = "system"  # "national" when the run holds several systems
    n_systems: int = 1

    @property
    def multi(self) -> bool:
        return len(self.scenarios) > 1

    @property
    def several_systems(self) -> bool:
        return self.n_systems > 1

    def whole_name(self) -> str:
        return f"All {self.n_systems} systems" if self.several_systems else "Whole system"

    def years(self, months: Sequence[float] | np.ndarray | pd.Index) -> np.ndarray:
        return self.start_year + np.asarray(months, dtype=float) / 12.0


# --------------------------------------------------------------------------- helpers


def weighted_slope(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
                   w: Sequence[float] | np.ndarray | None = None) -> tuple[float, float]:
    """Weighted least-squares straight line through points.

    With ``x`` the deprivation rank (0 = most deprived, 1 = least deprived) and
    ``y`` healthy life expectancy, the slope is the slope index of inequality:
    the modelled gap in years between the least and the most deprived ends.

    Args:
        x: Explanatory values.
        y: Responses, same length as ``x``.
        w: Non-negative weights (e.g. population); equal weights when ``None``.

    Returns:
        ``(slope, intercept)``; both NaN if fewer than two distinct ``x`` values
        carry positive weight.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    wa = np.ones_like(xa) if w is None else np.asarray(w, dtype=float)
    ok = np.isfinite(xa) & np.isfinite(ya) & np.isfinite(wa) & (wa > 0)
    xa, ya, wa = xa[ok], ya[ok], wa[ok]
    if xa.size < 2 or wa.sum() <= 0:
        return float("nan"), float("nan")
    xm = np.average(xa, weights=wa)
    ym = np.average(ya, weights=wa)
    sxx = float(np.sum(wa * (xa - xm) ** 2))
    if sxx <= 1e-12 * max(1.0, float(np.sum(wa))):
        return float("nan"), float("nan")
    slope = float(np.sum(wa * (xa - xm) * (ya - ym)) / sxx)
    return slope, float(ym - slope * xm)


def _month_label(month: int, start_year: int) -> str:
    """Calendar label of a model month (0 = April of ``start_year``)."""
    idx = 3 + int(month)
    return f"{_MONTHS[idx % 12]} {start_year + idx // 12}"


def _fmt_years(value: float) -> str:
    return f"{value + 0.0:.1f}"  # + 0.0 avoids printing "-0.0"


def _prepare(timeseries: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Validate and normalise the tidy frame; return it and the replicate key columns."""
    missing = [c for c in _REQUIRED_COLUMNS if c not in timeseries.columns]
    if missing:
        raise ValueError(f"timeseries is missing required column(s): {', '.join(missing)}")
    cols = list(_REQUIRED_COLUMNS) + (["run"] if "run" in timeseries.columns else [])
    df = timeseries.loc[:, cols].copy()
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    df["month"] = pd.to_numeric(df["month"], errors="coerce")
    df = df.dropna(subset=["value", "month"])
    df["month"] = df["month"].astype(int)
    for c in ("scenario", "level", "metric", "area"):
        df[c] = df[c].astype(str).astype("category")  # fast equality filters in every panel
    rep_cols = ["run", "seed"] if "run" in df.columns else ["seed"]
    for c in rep_cols:
        df[c] = df[c].astype(str)  # robust grouping even if seeds are NaN or mixed types
    return df, rep_cols


def _stats(ctx: _Context, series: _Series, unit: str | None = None) -> dict[str, pd.DataFrame]:
    """Median and 10-90% range across replicates, per scenario and month.

    Values are first averaged over units within a replicate (relevant only if a
    level holds several units and ``unit`` is ``None``).

    Returns:
        Mapping scenario -> frame indexed by month with columns ``lo``, ``med``,
        ``hi`` (already scaled) and ``n`` (number of replicates). Scenarios
        without data are absent.
    """
    df = ctx.df
    level = ctx.whole_level if series.level == "whole" else series.level
    sel = (df["level"] == level) & (df["metric"] == series.metric)
    if unit is not None:
        sel &= df["area"] == unit
    sub = df.loc[sel]
    if sub.empty:
        return {}
    per_rep = sub.groupby(["scenario", *ctx.rep_cols, "month"], observed=True)["value"].mean()
    grouped = per_rep.groupby(level=["scenario", "month"], observed=True)
    out = grouped.quantile([0.1, 0.5, 0.9]).unstack()
    out.columns = ["lo", "med", "hi"]
    out = out * series.scale
    out["n"] = grouped.size()
    result: dict[str, pd.DataFrame] = {}
    for scen in ctx.scenarios:
        if scen in out.index.get_level_values("scenario"):
            result[scen] = out.xs(scen, level="scenario").sort_index()
    return result


def _draw(ax: Axes, ctx: _Context, st: pd.DataFrame, *, colour: str, style: str = "-",
          lw: float = 2.0, label: str | None = None, band: bool = True) -> Line2D:
    """Plot one median line (and its 10-90% band when there are several replicates)."""
    x = ctx.years(st.index)
    if band and int(st["n"].max()) > 1:
        ax.fill_between(x, st["lo"].to_numpy(), st["hi"].to_numpy(), color=colour,
                        alpha=_BAND_ALPHA, linewidth=0)
    (line,) = ax.plot(x, st["med"].to_numpy(), color=colour, linestyle=style, linewidth=lw,
                      label=label)
    return line


def _not_recorded_handle(label: str) -> Line2D:
    return Line2D([], [], linestyle="none", marker="", label=f"{label}: not recorded")


def _style_axes(ax: Axes, *, right_spine: bool = False) -> None:
    ax.spines["top"].set_visible(False)
    if not right_spine:
        ax.spines["right"].set_visible(False)
    ax.grid(True, color="0.88", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=10)


def _time_axis(ax: Axes) -> None:
    ax.set_xlabel(_TIME_XLABEL, fontsize=11)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    # a run shorter than two years gets fractional ticks: print them as years, never as an offset
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"))
    ax.margins(x=0.01)


def _headroom(ax: Axes, n_legend_rows: int, *, floor: float | None = None) -> None:
    """Extend the y axis upwards so a top-anchored legend does not cover data."""
    lo, hi = ax.get_ylim()
    if floor is not None:
        lo = min(floor, lo) if lo < floor else floor
    span = hi - lo if hi > lo else 1.0
    ax.set_ylim(lo, hi + span * (0.06 + 0.11 * max(n_legend_rows, 0)))


def _legend_width_in(labels: Sequence[str], ncol: int, fontsize: float,
                     handlelength: float) -> float:
    """Rough legend width in inches (matplotlib fills legend columns top to bottom)."""
    rows = -(-len(labels) // ncol)
    em = fontsize / 72.0
    width = 1.0 * em  # frame padding
    for c in range(ncol):
        col = labels[c * rows:(c + 1) * rows]
        if col:
            width += (handlelength + 1.0 + 0.56 * max(len(t) for t in col)) * em
    return width + 1.2 * em * (ncol - 1)


def _legend(ax: Axes, handles: list, *, ncol: int = 2, loc: str = "upper left",
            max_width_in: float = 4.1, handlelength: float = 2.4) -> int:
    """Draw a compact legend no wider than a panel; return the number of rows used.

    The number of columns is reduced from ``ncol`` until the estimated width
    fits, so long labels never push the panel's axes out of shape.
    """
    if not handles:
        return 0
    fontsize = 9.5
    labels = [h.get_label() for h in handles]
    ncol = max(1, min(ncol, len(handles)))
    while ncol > 1 and _legend_width_in(labels, ncol, fontsize, handlelength) > max_width_in:
        ncol -= 1
    ax.legend(handles=handles, loc=loc, ncol=ncol, fontsize=fontsize, frameon=True,
              framealpha=0.9, edgecolor="0.85", handlelength=handlelength, columnspacing=1.2,
              borderaxespad=0.4)
    return -(-len(handles) // ncol)


def _empty_panel(ax: Axes, text: str = "not recorded") -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=13, color="0.45", style="italic")


# --------------------------------------------------------------------------- panels


def _series_panel(ax: Axes, ctx: _Context, series: Sequence[_Series], *, title: str,
                  ylabel: str, floor: float | None = None) -> None:
    """Generic time-series panel: one line per series (and per scenario)."""
    ax.set_title(title, fontsize=13, loc="left", fontweight="bold")
    handles: list = []
    missing: list[str] = []
    for i, s in enumerate(series):
        stats = _stats(ctx, s)
        if not stats:
            missing.append(s.label)
            continue
        style = _STYLES[i % len(_STYLES)] if ctx.multi else "-"
        for scen, st in stats.items():
            colour = ctx.colours[scen] if ctx.multi else _PALETTE[i % len(_PALETTE)]
            _draw(ax, ctx, st, colour=colour, style=style)
        colour = "0.3" if ctx.multi else _PALETTE[i % len(_PALETTE)]
        handles.append(Line2D([], [], color=colour, linestyle=style, linewidth=2, label=s.label))
    handles += [_not_recorded_handle(m) for m in missing]
    _time_axis(ax)
    ax.set_ylabel(ylabel, fontsize=11)
    if len(missing) == len(series):
        _empty_panel(ax)
    rows = _legend(ax, handles, ncol=2)
    _headroom(ax, rows, floor=floor)


def _hle_panel(ax: Axes, ctx: _Context) -> None:
    """Panel 1: HLE of the whole run plus (single scenario only) one thin line per place, or per
    system when the run holds several systems (England: 42 systems, not 158 places)."""
    ax.set_title("Healthy life expectancy", fontsize=13, loc="left", fontweight="bold")
    whole = ctx.whole_name() + (" (population-weighted)" if ctx.several_systems else "")
    system = _stats(ctx, _Series("hle_mean", whole))
    handles: list = []
    if not ctx.multi and ctx.several_systems:
        systems = sorted(ctx.df.loc[(ctx.df["level"] == "system")
                                    & (ctx.df["metric"] == "hle_mean"), "area"].unique())
        for code in systems:
            for st in _stats(ctx, _Series("hle_mean", code, level="system"), unit=code).values():
                _draw(ax, ctx, st, colour="0.7", lw=0.7, band=False)
        if systems:
            handles.append(Line2D([], [], color="0.7", linewidth=0.9, label=f"Each system ({len(systems)})"))
    elif not ctx.multi:
        places = sorted(ctx.df.loc[(ctx.df["level"] == "place")
                                   & (ctx.df["metric"] == "hle_mean"), "area"].unique())
        place_colours = [c for c in _PALETTE if c != "#000000"]
        if len(places) > len(place_colours):
            place_colours = [to_hex(c) for c in colormaps["tab20"].colors]
        for j, place in enumerate(places):
            stats = _stats(ctx, _Series("hle_mean", place, level="place"), unit=place)
            for st in stats.values():
                handles.append(_draw(ax, ctx, st, colour=place_colours[j % len(place_colours)],
                                     lw=1.1, label=place, band=False))
    for scen, st in system.items():
        _draw(ax, ctx, st, colour=ctx.colours[scen] if ctx.multi else "black", lw=2.8)
    if system:
        handles.insert(0, Line2D([], [], color="0.3" if ctx.multi else "black", linewidth=2.8,
                                 label=whole))
    if not system:
        handles.insert(0, _not_recorded_handle(ctx.whole_name()))
        if len(handles) == 1:
            _empty_panel(ax)
    _time_axis(ax)
    ax.set_ylabel("Healthy life expectancy (years)", fontsize=11)
    rows = _legend(ax, handles, ncol=2 if len(handles) <= 4 else 3, handlelength=1.8)
    _headroom(ax, rows)


def _twin_panel(ax: Axes, ctx: _Context, left: _Series, right: _Series, *, title: str, name: str,
                left_ylabel: str, right_ylabel: str, left_unit_range: bool = False) -> Axes:
    """A panel with two measures of different size: ``left`` on the left axis, ``right`` on a twin
    right axis (labelled ``name``; dashed when several scenarios share colours). With
    ``left_unit_range`` the left axis is fixed to 0-1 (a share or an index)."""
    ax.set_title(title, fontsize=13, loc="left", fontweight="bold")
    ax2 = _twin_of(ax, name)
    st_left, st_right = _stats(ctx, left), _stats(ctx, right)
    c_left = "0.3" if ctx.multi else _PALETTE[0]
    c_right = "0.3" if ctx.multi else _PALETTE[1]
    s_right = "--" if ctx.multi else "-"
    for scen, st in st_left.items():
        _draw(ax, ctx, st, colour=ctx.colours[scen] if ctx.multi else c_left)
    for scen, st in st_right.items():
        _draw(ax2, ctx, st, colour=ctx.colours[scen] if ctx.multi else c_right, style=s_right)
    handles: list = []
    for stats, series, colour, style, side in ((st_left, left, c_left, "-", "left"),
                                              (st_right, right, c_right, s_right, "right")):
        if stats:
            handles.append(Line2D([], [], color=colour, linestyle=style, linewidth=2,
                                  label=f"{series.label} ({side})"))
        else:
            handles.append(_not_recorded_handle(series.label))
    _time_axis(ax)
    ax.set_ylabel(left_ylabel, fontsize=11, color=c_left)
    ax2.set_ylabel(right_ylabel, fontsize=11, color=c_right)
    ax.tick_params(axis="y", colors=c_left)
    ax2.tick_params(axis="y", colors=c_right, labelsize=10)
    ax.spines["top"].set_visible(False)
    ax2.spines["top"].set_visible(False)
    ax.grid(True, color="0.88", linewidth=0.8)
    ax.set_axisbelow(True)
    if not st_left and not st_right:
        _empty_panel(ax)
    # Legend on the twin axes, which is drawn on top of the left-axis lines.
    rows = _legend(ax2, handles, ncol=2)
    if left_unit_range:
        ax.set_ylim(0.0, 1.0 + 0.06 + 0.11 * rows)
        ax.yaxis.set_major_locator(FixedLocator([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]))
    else:
        _headroom(ax, rows, floor=0.0)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    _headroom(ax2, rows, floor=0.0)
    ax2.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    return ax2


def _partnership_panel(ax: Axes, ctx: _Context) -> Axes:
    """Panel 5: mean trust (left axis) and budget decision delay (right axis), both means over
    the places' partnerships."""
    return _twin_panel(
        ax, ctx,
        _Series("trust_mean", "Mean trust between partners"),
        _Series("decision_delay_months", "Budget decision delay"),
        title="Partnership working", name="partnership_delay",
        left_ylabel="Mean trust over places (0 = none, 1 = full)",
        right_ylabel="Place budget decision delay (months, mean)", left_unit_range=True,
    )


def _coordination_panel(ax: Axes, ctx: _Context) -> Axes:
    """Panel 4: duplicated spending (left axis) and unfunded need, the gaps (right axis): gaps are
    often ten times the duplication, so one axis would flatten it. Both are totals over the run's
    whole population (all systems of a national run), as the summary prints them."""
    where = f"total of {ctx.n_systems} systems, " if ctx.several_systems else ""
    return _twin_panel(
        ax, ctx,
        _Series("duplicated_spend_gbp", "Duplicated spend", scale=1e-6),
        _Series("unfunded_need", "Unfunded need", scale=1e-6),
        title="Coordination: waste and gaps", name="coordination_gaps",
        left_ylabel=f"Duplicated spend ({where}£ million per year)",
        right_ylabel=f"Unfunded need ({where}£ million per year)",
    )


def _distinct_parts(names: Sequence[str]) -> dict[str, str]:
    """Scenario names with the parts they all share left out ('synthetic-committee-subsidiarity'
    and 'synthetic-joint_committee-subsidiarity' become 'committee' and 'joint_committee'), so that
    labels inside a panel stay short; the figure's legend keeps the full names."""
    parts = {n: n.split("-") for n in names}
    common = set.intersection(*(set(p) for p in parts.values())) if len(names) > 1 else set()
    out = {n: "-".join(t for t in p if t not in common) or n for n, p in parts.items()}
    return out if len(set(out.values())) == len(out) else {n: n for n in names}


def _gradient_panel(ax: Axes, ctx: _Context) -> None:
    """Panel 6: neighbourhood HLE at the last month against deprivation rank."""
    df = ctx.df
    nb = df.loc[df["level"] == "neighbourhood"]
    hle = nb.loc[nb["metric"] == "hle"]
    ax.set_xlabel(_RANK_XLABEL, fontsize=11)
    ax.set_ylabel("Neighbourhood healthy life expectancy (years)", fontsize=11)
    ax.set_xlim(-0.04, 1.04)
    if hle.empty:
        ax.set_title("Deprivation gradient", fontsize=13, loc="left", fontweight="bold")
        _empty_panel(ax)
        return
    horizon = int(hle["month"].max())
    ax.set_title(f"Deprivation gradient, {_month_label(horizon, ctx.start_year)}",
                 fontsize=13, loc="left", fontweight="bold")

    def per_unit(metric: str, scen: str, at: int | None) -> pd.Series:
        """Median over replicates of ``metric`` per neighbourhood (at month ``at`` or latest)."""
        m = nb.loc[nb["metric"] == metric]
        m_s = m.loc[m["scenario"] == scen]
        if m_s.empty:
            m_s = m  # e.g. deprivation rank recorded once, not per scenario
        if m_s.empty:
            return pd.Series(dtype=float)
        if at is not None and (m_s["month"] == at).any():
            m_s = m_s.loc[m_s["month"] == at]
        else:  # latest month per neighbourhood and replicate
            last = m_s.groupby(["area", *ctx.rep_cols], observed=True)["month"].transform("max")
            m_s = m_s.loc[m_s["month"] == last]
        return m_s.groupby(["area", *ctx.rep_cols], observed=True)["value"].mean().groupby(level="area", observed=True).median()

    frames: dict[str, pd.DataFrame] = {}
    weighted = True
    for scen in ctx.scenarios:
        h_s = hle.loc[hle["scenario"] == scen]
        if h_s.empty:
            continue
        last = int(h_s["month"].max())
        d = pd.DataFrame({"hle": per_unit("hle", scen, last),
                          "rank": per_unit("imd_rank", scen, None)})
        pop = per_unit("population", scen, last)
        if pop.empty:
            weighted = False
            d["pop"] = 1.0
        else:
            d["pop"] = pop
        d = d.dropna()
        if not d.empty:
            frames[scen] = d
    if not frames:
        _empty_panel(ax, "deprivation rank not recorded")
        return

    pop_max = max(float(d["pop"].max()) for d in frames.values()) or 1.0
    short = _distinct_parts(list(frames))
    recorded = _stats(ctx, _Series("hle_sii", "SII"))
    lines: list[str] = []
    slopes: list[float] = []
    for scen, d in frames.items():
        colour = ctx.colours[scen] if ctx.multi else _PALETTE[0]
        sizes = 25.0 + 375.0 * d["pop"].to_numpy() / pop_max
        ax.scatter(d["rank"], d["hle"], s=sizes, color=colour, alpha=0.55,
                   edgecolors="white", linewidths=0.7, zorder=3)
        slope, intercept = weighted_slope(d["rank"], d["hle"], d["pop"])
        prefix = f"{short[scen]}: " if ctx.multi else ""
        # one SII everywhere: the recorded one (by national decile), which the summary and the
        # console print; the fitted line over neighbourhoods is a different estimate, named so
        sii = f"SII = {_fmt_years(recorded[scen]['med'].iloc[-1])} years" if scen in recorded else "SII not recorded"
        if np.isfinite(slope):
            xs = np.array([d["rank"].min(), d["rank"].max()])
            ax.plot(xs, intercept + slope * xs, color=colour if ctx.multi else "black",
                    linewidth=2, zorder=4)
            lines.append(f"{prefix}{sii}; line {_fmt_years(slope)}")
            slopes.append(slope)
        else:
            lines.append(f"{prefix}{sii}; line not estimable")
    lines.append("SII by national decile, as in the summary;\nline: slope of the fit over neighbourhoods")

    positive = not slopes or float(np.median(slopes)) >= 0
    handles = [
        Line2D([], [], linestyle="none", marker="o", markersize=9, color="0.5", alpha=0.6,
               label="Neighbourhood (marker area ∝ population)" if weighted
               else "Neighbourhood (population not recorded)"),
        Line2D([], [], color="0.15", linewidth=2,
               label="Population-weighted straight-line fit" if weighted
               else "Unweighted straight-line fit"),
    ]
    rows = _legend(ax, handles, ncol=1, loc="lower right" if positive else "upper right")
    note = lines.pop()
    box = ax.text(0.02, 0.97 if positive else 0.03, "\n".join(lines), transform=ax.transAxes,
                  ha="left", va="top" if positive else "bottom", fontsize=11.5, fontweight="bold",
                  bbox={"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": "0.8",
                        "alpha": 0.92}, zorder=5)
    box.set_gid("sii")
    ax.text(0.02, 0.97 - 0.065 * (len(lines) + 0.6) if positive else 0.03 + 0.065 * (len(lines) + 0.6),
            note, transform=ax.transAxes, ha="left", va="top" if positive else "bottom",
            fontsize=9, color="0.35", zorder=5)
    lines.append(note)
    # Room at the top (text boxes) and at the bottom (legend) so neither covers a marker.
    lo, hi = ax.get_ylim()
    span = hi - lo if hi > lo else 1.0
    top_rows = len(lines) + 1.5
    bottom_rows = rows + 0.5
    if not positive:
        top_rows, bottom_rows = bottom_rows, top_rows
    ax.set_ylim(lo - span * 0.09 * bottom_rows, hi + span * 0.09 * top_rows)
    _style_axes(ax)


# --------------------------------------------------------------------------- main API


def _subtitle(ctx: _Context) -> str:
    df = ctx.df
    parts: list[str] = []
    if not ctx.scenarios:
        return "No data recorded"
    if ctx.multi:
        parts.append(f"{len(ctx.scenarios)} scenarios (colours)")
    else:
        parts.append(f"Scenario: {ctx.scenarios[0]}")
    if ctx.several_systems:
        parts.append(f"{ctx.n_systems} systems: lines are all systems together")
    n_rep = [int(df.loc[df["scenario"] == s, ctx.rep_cols].drop_duplicates().shape[0])
             for s in ctx.scenarios]
    lo, hi = min(n_rep), max(n_rep)
    if hi <= 1:
        seed = df["seed"].iloc[0]
        parts.append("single seed" if ctx.multi else f"single run (seed {seed})")
    else:
        n_txt = f"{hi}" if lo == hi else f"{lo}–{hi}"
        parts.append(f"lines show median and 10–90% range over {n_txt} seeds")
    m0, m1 = int(df["month"].min()), int(df["month"].max())
    parts.append(f"{_month_label(m0, ctx.start_year)} – {_month_label(m1, ctx.start_year)}")
    return "  ·  ".join(parts)


def _save_atomic(fig: Figure, path: Path) -> None:
    """Write the figure to ``path`` via a temporary file in the same folder."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in fig.canvas.get_supported_filetypes():
        fmt = "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=fig.dpi)


#: the six panels' axes labels, in grid order, and the twin right axes' (after them, in this order)
_PANELS = ("hle", "inequality", "unmet_need", "coordination", "partnership", "gradient")
_TWINS = (("coordination", "coordination_gaps"), ("partnership", "partnership_delay"))


def new_page() -> Figure:
    """The figure's empty page, before any data: the 2 x 3 grid of styled panels and the two twin
    right axes, on an Agg canvas. :func:`plot_outcomes` draws on one (a page is used once); the
    command line's figure helper builds it while the model runs
    (:mod:`ics_sim.views.figure_process`)."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    # A fixed grid, not a layout engine: the page is always 16 x 10 in with the same six panels,
    # so fixed margins fit, and drawing once instead of measuring every label first halves the
    # time `python -m ics_sim` spends on its figure (issue 13).
    axes = fig.subplots(2, 3, gridspec_kw=_GRID)
    for ax, name in zip(axes.ravel(), _PANELS, strict=True):
        ax.set_label(name)
        _style_axes(ax)
    panels = dict(zip(_PANELS, axes.ravel(), strict=True))
    for panel, name in _TWINS:
        panels[panel].twinx().set_label(name)
    return fig


def _twin_of(ax: Axes, name: str) -> Axes:
    return next(a for a in ax.get_figure().axes if a.get_label() == name)


def plot_outcomes(timeseries: pd.DataFrame, path: str | Path | None = None, *,
                  title: str | None = None, start_year: int = 2025, page: Figure | None = None) -> Figure:
    """Draw the one-page "main outcomes" figure of a run (or several seeds/scenarios).

    Six panels in a 2 x 3 grid: healthy life expectancy (system and places),
    inequality in HLE, unmet need, coordination costs, partnership working
    (trust and decision delay), and the neighbourhood deprivation gradient at
    the last month with its population-weighted slope index of inequality.

    When a scenario has several replicates (distinct ``(run, seed)`` pairs) each
    series shows the median across replicates with a shaded 10-90% band; with
    several scenarios each scenario has its own colour in panels 1-6 (place
    lines are drawn only for a single scenario). Missing metrics are marked
    "not recorded" instead of raising.

    Args:
        timeseries: Tidy long frame with columns ``run`` (optional), ``scenario``,
            ``seed``, ``month`` (0 = April of ``start_year``), ``level``
            (``"system"``, ``"place"`` or ``"neighbourhood"``), ``area``,
            ``metric`` and ``value``.
        path: If given, the PNG is written there atomically (temporary file in
            the same folder, then :func:`os.replace`). A ``.pdf``/``.svg``
            suffix selects that format instead.
        title: Figure title; defaults to ``"ics_sim — main outcomes"``.
        start_year: Calendar year of month 0 (April start of the financial year).
        page: An empty page from :func:`new_page` to draw on (made here when None); the same
            figure either way.

    Returns:
        The :class:`matplotlib.figure.Figure` (16 x 10 in at 120 dpi, i.e.
        1920 x 1200 px), attached to an Agg canvas and not registered with
        pyplot.

    Raises:
        ValueError: If a required column is missing.
    """
    df, rep_cols = _prepare(timeseries)
    scenarios = [str(s) for s in pd.unique(df["scenario"])]
    colours = {s: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(scenarios)}
    n_systems = int(df.loc[df["level"] == "system", "area"].nunique())
    whole_level = "national" if n_systems > 1 and (df["level"] == "national").any() else "system"
    ctx = _Context(df=df, scenarios=scenarios, colours=colours, rep_cols=rep_cols,
                   start_year=int(start_year), whole_level=whole_level, n_systems=max(n_systems, 1))

    fig = page if page is not None else new_page()
    a_hle, a_ineq, a_unmet, a_coord, a_part, a_grad = fig.axes[:6]

    _hle_panel(a_hle, ctx)
    _series_panel(a_ineq, ctx, [
        _Series("hle_sii", "Slope index of inequality (SII, by national decile)"),
        _Series("hle_gap_q1_q5", "Gap, least vs most deprived fifth"),
    ], title="Inequality in healthy life expectancy", ylabel="Gap in healthy life expectancy (years)")
    _series_panel(a_unmet, ctx, [
        _Series("unmet_need", "All unmet need", scale=100.0),
        _Series("unmet_need_hidden", "Hidden: excluded groups", scale=100.0),
    ], title="Unmet need", ylabel="Need not met (% of need)", floor=0.0)
    _coordination_panel(a_coord, ctx)
    _partnership_panel(a_part, ctx)
    _gradient_panel(a_grad, ctx)

    fig.suptitle(title or "ics_sim — main outcomes", x=0.012, y=0.985, ha="left", va="top",
                 fontsize=18, fontweight="bold").set_in_layout(False)
    fig.text(0.012, 0.935, _subtitle(ctx), ha="left", va="top", fontsize=12,
             color="0.3").set_in_layout(False)
    if ctx.multi:
        handles = [Patch(facecolor=colours[s], edgecolor="none", label=s) for s in scenarios]
        leg = fig.legend(handles=handles, loc="upper right", bbox_to_anchor=(0.99, 0.99),
                         ncol=min(len(handles), 4), fontsize=11, frameon=False,
                         title="Scenario", title_fontsize=11)
        leg.set_in_layout(False)

    if path is not None:
        _save_atomic(fig, Path(path))
    return fig


def write_run_figure(result, timeseries: pd.DataFrame, folder: Path) -> None:
    """Draw a run's one-page figure into its results folder as ``outcomes.png`` (the ``figure``
    hook of :func:`ics_sim.runs.api.write_run`)."""
    title = f"ics_sim — {result.scenario}, seed {result.summary['seed']}"
    plot_outcomes(figure_rows(timeseries), Path(folder) / "outcomes.png", title=title, start_year=result.config.start_year)
