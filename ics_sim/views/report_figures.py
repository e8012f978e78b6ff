"""The leaders' report's figures, as PNG bytes to inline in the HTML.

- :func:`fan_chart`: one outcome over time, each option's median over the futures with its
  10-90% band;
- :func:`trade_off`: each future's paired difference from the baseline on inequality (the HLE
  gap) against coordination (duplicated spending) and against cost (running costs of partnership
  working): the lower-left quarter is better on both.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies),
with the baseline in black; lines also differ by style, so the figures survive a grey printer.
"""

from __future__ import annotations

import io
import textwrap

import numpy as np
import pandas as pd

from ics_sim.runs.compare import CompareRuns
from ics_sim.views.report_text import words

#: Okabe and Ito (2008), without yellow (too pale on a projector); the baseline is black
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
BASELINE_COLOUR = "#000000"
STYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
TRADE_OFF = ("hle_sii", "duplicated_spend_gbp", "transaction_cost_gbp")


def colours(ids: list[str]) -> dict[str, str]:
    """Option id -> colour: the baseline (first) black, the others Okabe-Ito in order."""
    return {oid: BASELINE_COLOUR if i == 0 else OKABE_ITO[(i - 1) % len(OKABE_ITO)] for i, oid in enumerate(ids)}


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> bytes:
    """The figure as PNG bytes (no metadata that changes between runs)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def fan_chart(result: CompareRuns, metric: str) -> bytes | None:
    """``metric`` over time: each option's median over the futures and its 10-90% band (None
    without a monthly record)."""
    q = result.question
    ts = result.timeseries
    ts = ts[ts["metric"] == metric] if len(ts) else ts
    if ts.empty:
        return None
    w = words(metric)
    fig = _figure(7.2, 3.0)
    ax = fig.add_subplot(1, 1, 1)
    col = colours(q.ids)
    for i, oid in enumerate(q.ids):
        g = ts[ts["option"] == oid]
        if g.empty:
            continue
        qs = g.groupby("date")["value"].quantile([0.1, 0.5, 0.9]).unstack() * w.scale
        x = pd.to_datetime(qs.index)
        if getattr(x, "tz", None) is not None:
            x = x.tz_localize(None)
        ax.fill_between(x, qs[0.1], qs[0.9], color=col[oid], alpha=0.15, linewidth=0)
        ax.plot(x, qs[0.5], color=col[oid], linestyle=STYLES[i % len(STYLES)], linewidth=1.8,
                label=q.option(oid).name + (" (baseline)" if oid == q.baseline else ""))
    ax.set_ylabel(w.unit)
    ax.set_xlabel("year (financial years from April)")
    ax.set_title(textwrap.shorten(w.label, 80, placeholder="..."), fontsize=10, loc="left")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="best")
    fig.tight_layout()
    return png(fig)


def trade_off(result: CompareRuns) -> bytes | None:
    """Each future's change from the baseline: the HLE gap against duplicated spending and
    against running costs (None with a single option)."""
    q = result.question
    if len(q.ids) < 2:
        return None
    runs = result.runs.set_index(["option", "future"])
    base = runs.loc[q.baseline]
    wy, wx1, wx2 = (words(m) for m in TRADE_OFF)
    fig = _figure(9.0, 3.8)
    axes = [fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)]
    col = colours(q.ids)
    markers = ("o", "s", "^", "D", "v", "P")
    for i, oid in enumerate(q.ids[1:], start=1):
        opt = runs.loc[oid]
        idx = opt.index.intersection(base.index)
        dy = (opt.loc[idx, "hle_sii"] - base.loc[idx, "hle_sii"]).to_numpy() * wy.scale
        for ax, m, w in ((axes[0], "duplicated_spend_gbp", wx1), (axes[1], "transaction_cost_gbp", wx2)):
            dx = (opt.loc[idx, m] - base.loc[idx, m]).to_numpy() * w.scale
            ax.scatter(dx, dy, s=18, color=col[oid], marker=markers[(i - 1) % len(markers)], alpha=0.7,
                       label=q.option(oid).name, edgecolors="none")
            ax.scatter([np.median(dx)], [np.median(dy)], s=90, color=col[oid], marker=markers[(i - 1) % len(markers)],
                       edgecolors="black", linewidths=1.2)
    for ax, w in ((axes[0], wx1), (axes[1], wx2)):
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.set_xlabel(f"change in {w.label.lower()} ({w.unit})")
        ax.set_ylabel(f"change in the HLE gap ({wy.unit})")
        ax.grid(True, alpha=0.3)
    axes[0].set_title("Inequality against coordination", fontsize=10, loc="left")
    axes[1].set_title("Inequality against cost", fontsize=10, loc="left")
    axes[0].legend(fontsize=8, frameon=False, loc="upper right")
    fig.suptitle(f"Each dot is one future: the option minus {q.option(q.baseline).name.lower()}; "
                 "large dots are medians; below and left of the grey lines is better on both", fontsize=9)
    fig.tight_layout()
    return png(fig)
