"""The dashboard's pictures, drawn with matplotlib's object interface (no pyplot state, so two
sessions drawing at once do not share a figure): outcomes over time for one or two settings, the
organisations at a place table, and the places and neighbourhoods coloured by a measure.
"""

from __future__ import annotations

import io

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from ics_sim.model.governance.partnership import MEMBER_KEYS, MEMBER_PAIRS
from ics_sim.model.record import METRICS
from ics_sim.views.dashboard.state import PLOTTED, Arm

#: one colour per setting (A, B): colour-blind safe (Okabe-Ito)
ARM_COLOURS = ("#0072B2", "#D55E00")
#: organisation kinds by colour (Okabe-Ito), with plain names
KIND_NAMES = {
    "icb": "ICB", "council": "Council", "acute_trust": "Acute trust", "community_trust": "Community trust",
    "mental_health_trust": "Mental health trust", "pcn": "PCN", "social_care": "Social care providers",
    "vcse": "VCSE", "healthwatch": "Healthwatch",
}
KIND_COLOURS = {
    "icb": "#0072B2", "council": "#009E73", "acute_trust": "#D55E00", "community_trust": "#E69F00",
    "mental_health_trust": "#CC79A7", "pcn": "#56B4E9", "social_care": "#F0E442", "vcse": "#000000",
    "healthwatch": "#999999",
}
#: measures the place view can colour by: (metric, plain label with unit, scale, colour map)
PLACE_MEASURES = {
    "hle": ("Healthy life expectancy (years)", 1.0, "viridis"),
    "unmet_need": ("Unmet need (% of need)", 100.0, "magma_r"),
}


def _scale(metric: str) -> tuple[float, str]:
    unit = METRICS[metric].unit
    if unit.startswith("share"):
        return 100.0, "% " + unit.removeprefix("share").strip()
    if metric.endswith("_gbp") or unit.startswith("GBP"):
        return 1e-6, "GBP m" + unit.removeprefix("GBP")
    return 1.0, unit


def outcomes_figure(arms: list[Arm], width: float = 10.0) -> Figure:
    """The main outcomes month by month, one line per setting (one seed: the spread between
    seeds is what the claims' tests measure; here a table watches one possible future)."""
    fig = Figure(figsize=(width, 5.6), dpi=80, layout="constrained")
    axes = fig.subplots(2, 3)
    for ax, metric in zip(axes.ravel(), PLOTTED, strict=True):
        scale, unit = _scale(metric)
        for i, arm in enumerate(arms):
            s = arm.series(metric)
            if s.size:
                ax.plot(np.arange(1, s.size + 1) / 12.0, s * scale, color=ARM_COLOURS[i], lw=1.8, label=arm.label)
        ax.set_title(METRICS[metric].label, fontsize=9.5)
        ax.set_ylabel(unit, fontsize=8)
        ax.set_xlabel("years from April 2025", fontsize=8)
        ax.set_xlim(0, arms[0].years)
        ax.tick_params(labelsize=7.5)
        ax.grid(alpha=0.3)
    if len(arms) > 1:
        axes[0, 0].legend(fontsize=8, loc="best")
    fig.suptitle(f"Outcomes over time (seed {arms[0].seed}; one possible future)", fontsize=10.5)
    return fig


def network_figure(arm: Arm, place: int = 0, width: float = 10.0) -> Figure:
    """The organisations at one place table: each kind a node coloured by type, a filled node
    holds a vote and a ringed node a voice (grey: not at the table); lines are the trust between
    each pair of members (thicker and darker = more trust)."""
    model = arm.model
    part = model.partnerships[place]
    roles = {s.label: s.role for s in part.seats}
    fig = Figure(figsize=(width, 5.0), dpi=80, layout="constrained")
    ax = fig.subplots()
    angle = np.linspace(0, 2 * np.pi, len(MEMBER_KEYS), endpoint=False) + np.pi / 2
    pos = {k: (np.cos(a), np.sin(a)) for k, a in zip(MEMBER_KEYS, angle, strict=True)}
    pairs = part.pair_trust()
    for (a, b), t in zip(MEMBER_PAIRS, pairs, strict=True):
        if np.isfinite(t):
            (x0, y0), (x1, y1) = pos[a], pos[b]
            ax.plot([x0, x1], [y0, y1], color="#333333", alpha=0.15 + 0.8 * float(t), lw=0.5 + 5 * float(t), zorder=1)
    for k in MEMBER_KEYS:
        x, y = pos[k]
        role = roles.get(k)
        colour = KIND_COLOURS[k] if role else "#dddddd"
        ax.scatter([x], [y], s=900, color=colour if role == "vote" else "white", edgecolors=colour, linewidths=3, zorder=2)
        text = KIND_NAMES[k] + ("\n(vote)" if role == "vote" else "\n(voice)" if role == "voice" else "\n(not at the table)")
        ax.annotate(text, (x * 1.28, y * 1.2), ha="center", va="center", fontsize=8.5)
    ax.set_xlim(-1.7, 1.7)
    ax.set_ylim(-1.45, 1.45)
    ax.set_aspect("equal")
    ax.axis("off")
    form = part.form.replace("_", " ")
    ax.set_title(f"{model.layout.place_names[place]} place table ({form}), month {arm.month}: "
                 f"line width = trust between the pair (0-1); mean trust {part.mean_trust():.2f}", fontsize=10)
    return fig


def _neighbourhood_values(arm: Arm, measure: str, scale: float) -> np.ndarray:
    """A neighbourhood measure at the current month, scaled for display (month 0: HLE from the
    starting state, other measures not yet recorded)."""
    if arm.month > 0:
        return arm.model.recorder.data[("neighbourhood", measure)][-1] * scale
    if measure == "hle":
        return arm.model.population.hle * scale
    return np.full(arm.model.layout.n_neighbourhoods, np.nan)


def places_figure(arm: Arm, measure: str = "hle", width: float = 10.0) -> Figure:
    """Each place a column of its neighbourhoods (most deprived at the bottom), coloured by a
    neighbourhood measure, with the place's name and population."""
    label, scale, cmap = PLACE_MEASURES[measure]
    L = arm.model.layout
    values = _neighbourhood_values(arm, measure, scale)
    fig = Figure(figsize=(width, 5.0), dpi=80, layout="constrained")
    ax = fig.subplots()
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1e-6
    norm = mpl.colors.Normalize(lo, hi)
    colours = mpl.colormaps[cmap]
    for p, name in enumerate(L.place_names):
        idx = np.flatnonzero(L.nb_place == p)
        idx = idx[np.argsort(L.nb_rank[idx])]
        for row, n in enumerate(idx):
            v = values[n]
            ax.add_patch(mpl.patches.Rectangle((p + 0.05, row + 0.05), 0.9, 0.9,
                                               color=colours(norm(v)) if np.isfinite(v) else "#eeeeee"))
        people = L.nb_population[idx].sum()
        ax.text(p + 0.5, -0.5, f"{name}\n{people / 1000:,.0f} thousand people", ha="center", va="top", fontsize=8.5)
    ax.set_xlim(0, L.n_places)
    ax.set_ylim(-1.6, max(np.bincount(L.nb_place)) + 0.2)
    ax.set_xticks([])
    ax.set_ylabel("neighbourhoods, most deprived at the bottom", fontsize=8.5)
    ax.set_yticks([])
    fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=colours), ax=ax, label=label)
    ax.set_title(f"Places and neighbourhoods by {label.split(' (')[0].lower()}, month {arm.month} ({arm.label})", fontsize=10)
    return fig


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """A figure as PNG bytes (the page's export of the current view)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """A few round tick values between ``lo`` and ``hi``."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / n
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    first = np.ceil(lo / step) * step
    return [float(v) for v in np.arange(first, hi + step * 1e-9, step)]


def line_chart_svg(series: list[np.ndarray], labels: list[str], title: str, unit: str, years: int,
                   width: int = 300, height: int = 200) -> str:
    """A small line chart as SVG text: month by month, one line per setting, with a title, the
    unit on the y axis and years on the x axis. Drawn as text in microseconds, so the page can
    redraw every chart every simulated month while playing (matplotlib takes a large part of a
    second for six panels; it draws the exported PNG)."""
    left, right, top, bottom = 46, 8, 40, 32
    w, h = width - left - right, height - top - bottom
    finite = [s[np.isfinite(s)] for s in series if s.size]
    values = np.concatenate(finite) if finite and any(f.size for f in finite) else np.array([])
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    pad = (hi - lo) * 0.08 or max(abs(hi) * 0.05, 1e-3)
    lo, hi = lo - pad, hi + pad

    def x(month: float) -> float:
        return left + w * month / (years * 12)

    def y(v: float) -> float:
        return top + h * (1 - (v - lo) / (hi - lo))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{title}" style="font-family:sans-serif;font-size:10px">',
             f'<text x="{width / 2}" y="13" text-anchor="middle" style="font-size:11.5px;font-weight:bold">{title}</text>',
             f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/>']
    for v in _ticks(lo, hi):
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{left - 3}" y="{y(v) + 3:.1f}" text-anchor="end">{v:,.4g}</text>')
    for yr in range(0, years + 1, max(1, years // 5)):
        parts.append(f'<text x="{x(12 * yr):.1f}" y="{top + h + 12}" text-anchor="middle">{yr}</text>')
    parts.append(f'<text x="{left + w / 2}" y="{height - 4}" text-anchor="middle">years from April 2025</text>')
    parts.append(f'<text transform="translate(11,{top + h / 2}) rotate(-90)" text-anchor="middle">{unit}</text>')
    for i, s in enumerate(series):
        if s.size:
            pts = " ".join(f"{x(m + 1):.1f},{y(v):.1f}" for m, v in enumerate(s) if np.isfinite(v))
            parts.append(f'<polyline fill="none" stroke="{ARM_COLOURS[i]}" stroke-width="2" points="{pts}"/>')
    if len(series) > 1:
        for i, lab in enumerate(labels):
            parts.append(f'<text x="{left + w - 4}" y="{top - 4 - 11 * (len(labels) - 1 - i)}" text-anchor="end" '
                         f'fill="{ARM_COLOURS[i]}" style="font-weight:bold">{lab}</text>')
    parts.append("</svg>")
    return "".join(parts)


#: short titles and units of the charts (the data dictionary's labels are long for a small chart)
CHART_TITLES = {
    "hle_gap_q1_q5": ("HLE gap, least vs most deprived", "years"),
    "unmet_need": ("Unmet need", "% of need"),
    "unmet_need_hidden": ("Hidden need unmet", "% of hidden need"),
    "trust_mean": ("Trust between partners", "trust, 0-1"),
    "decision_delay_months": ("Month the plan is agreed", "months from April"),
    "vcse_survival": ("VCSE bodies operating", "% of those at the start"),
}


def outcomes_svg(arms: list[Arm]) -> list[str]:
    """The outcome charts of :data:`PLOTTED` as SVG, one per measure."""
    out = []
    for metric in PLOTTED:
        scale, _ = _scale(metric)
        title, unit = CHART_TITLES.get(metric, (METRICS[metric].label, METRICS[metric].unit))
        out.append(line_chart_svg([a.series(metric) * scale for a in arms], [a.label for a in arms],
                                  title, unit, arms[0].years))
    return out


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def network_svg(arm: Arm, place: int = 0, width: int = 760, height: int = 470) -> str:
    """The place table of :func:`network_figure` as SVG (drawn in a millisecond, so the page can
    redraw it every month while playing)."""
    part = arm.model.partnerships[place]
    roles = {s.label: s.role for s in part.seats}
    cx, cy, r = width / 2, height / 2 + 12, min(width, height) * 0.34
    angle = np.linspace(0, 2 * np.pi, len(MEMBER_KEYS), endpoint=False) + np.pi / 2
    pos = {k: (cx + r * np.cos(a), cy - r * np.sin(a)) for k, a in zip(MEMBER_KEYS, angle, strict=True)}
    title = (f"{arm.model.layout.place_names[place]} place table ({part.form.replace('_', ' ')}), month {arm.month}, "
             f"{arm.label}: line width = trust between the pair (0-1); mean trust {part.mean_trust():.2f}")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="network" '
           f'style="font-family:sans-serif;font-size:11px">',
           f'<text x="{cx}" y="16" text-anchor="middle" style="font-size:12.5px;font-weight:bold">{_esc(title)}</text>']
    for (a, b), t in zip(MEMBER_PAIRS, part.pair_trust(), strict=True):
        if np.isfinite(t):
            (x0, y0), (x1, y1) = pos[a], pos[b]
            out.append(f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="#333" '
                       f'stroke-opacity="{0.15 + 0.8 * float(t):.2f}" stroke-width="{0.5 + 6 * float(t):.2f}"/>')
    for k in MEMBER_KEYS:
        x, y = pos[k]
        role = roles.get(k)
        colour = KIND_COLOURS[k] if role else "#dddddd"
        fill = colour if role == "vote" else "white"
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="15" fill="{fill}" stroke="{colour}" stroke-width="4"/>')
        where = "(vote)" if role == "vote" else "(voice)" if role == "voice" else "(not at the table)"
        lx, ly = cx + (x - cx) * 1.3, cy + (y - cy) * 1.22
        out.append(f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle">{KIND_NAMES[k]}</text>'
                   f'<text x="{lx:.1f}" y="{ly + 13:.1f}" text-anchor="middle" fill="#555">{where}</text>')
    out.append("</svg>")
    return "".join(out)


def places_svg(arm: Arm, measure: str = "hle", width: int = 760, height: int = 470) -> str:
    """The places and neighbourhoods of :func:`places_figure` as SVG, with a colour key."""
    label, scale, cmap = PLACE_MEASURES[measure]
    L = arm.model.layout
    values = _neighbourhood_values(arm, measure, scale)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1e-6
    colours = mpl.colormaps[cmap]

    def colour(v: float) -> str:
        return mpl.colors.to_hex(colours((v - lo) / (hi - lo))) if np.isfinite(v) else "#eeeeee"

    rows = int(max(np.bincount(L.nb_place)))
    left, top, bottom, key = 30, 30, 46, 90
    cw = (width - left - key) / L.n_places
    ch = (height - top - bottom) / rows
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="places" '
           f'style="font-family:sans-serif;font-size:11px">',
           f'<text x="{width / 2}" y="16" text-anchor="middle" style="font-size:12.5px;font-weight:bold">'
           f'{_esc(label)} by neighbourhood, month {arm.month} ({_esc(arm.label)}); most deprived at the bottom</text>']
    for p, name in enumerate(L.place_names):
        idx = np.flatnonzero(L.nb_place == p)
        idx = idx[np.argsort(L.nb_rank[idx])]
        for row, n in enumerate(idx):
            y = height - bottom - (row + 1) * ch
            out.append(f'<rect x="{left + p * cw + 3:.1f}" y="{y + 1:.1f}" width="{cw - 6:.1f}" height="{ch - 2:.1f}" '
                       f'fill="{colour(values[n])}"><title>{_esc(L.nb_names[n])}: {values[n]:.1f}</title></rect>')
        people = L.nb_population[idx].sum()
        out.append(f'<text x="{left + (p + 0.5) * cw:.1f}" y="{height - bottom + 15}" text-anchor="middle">{_esc(name)}</text>'
                   f'<text x="{left + (p + 0.5) * cw:.1f}" y="{height - bottom + 29}" text-anchor="middle" fill="#555">'
                   f'{people / 1000:,.0f} thousand people</text>')
    kx = width - key + 20
    for i in range(50):  # the colour key, high at the top
        v = hi - (hi - lo) * i / 49
        out.append(f'<rect x="{kx}" y="{top + i * (height - top - bottom) / 50:.1f}" width="16" '
                   f'height="{(height - top - bottom) / 50 + 0.5:.1f}" fill="{colour(v)}"/>')
    out.append(f'<text x="{kx + 20}" y="{top + 9}">{hi:.1f}</text><text x="{kx + 20}" y="{height - bottom}">{lo:.1f}</text>')
    out.append(f'<text transform="translate({kx + 60},{(top + height - bottom) / 2}) rotate(90)" text-anchor="middle">'
               f'{_esc(label)}</text>')
    out.append("</svg>")
    return "".join(out)
