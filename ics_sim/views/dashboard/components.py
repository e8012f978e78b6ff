"""The dashboard's pieces, in plain Solara: monitors, controls generated from the schema, the run
controls, the views and the Info panel.

Mesa's SolaraViz is built around one model rebuilt from keyword arguments and a DataCollector;
here two settings step together on one seed and the measures come from the model's own
:class:`~ics_sim.model.record.Recorder`, so the pieces are plain Solara components (the play loop
follows Mesa's ``ModelController``: a threaded task that steps while playing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import markdown as md
import solara

from ics_sim.config import ConfigError
from ics_sim.views.dashboard import figures
from ics_sim.views.dashboard.controls import Control, apply, current_value
from ics_sim.views.dashboard.scenarios import INFO_HEADINGS, INFO_KEYS, Scenario
from ics_sim.views.dashboard.state import Arm, Session


def markdown(text: str):
    """Markdown as HTML rendered on the server (solara.Markdown loads KaTeX from a CDN for maths,
    which a workshop room without internet does not have)."""
    return solara.HTML(tag="div", unsafe_innerHTML=md.markdown(text), classes=["markdown"])


def _card(item: dict[str, Any], colour: str, label: str) -> str:
    return (f"<div class='monitor monitor-{item['metric']}' style='flex:1 1 96px;max-width:128px;padding:4px 6px;"
            f"border-radius:4px;box-shadow:0 1px 3px rgba(0,0,0,.25);background:white'>"
            f"<div style='font-size:11px;line-height:1.15'><b>{item['label']}</b> <span style='color:{colour}'>({label})</span></div>"
            f"<div><span class='monitor-value' style='font-size:17px;color:{colour}'>{item['text']}</span> "
            f"<span style='font-size:11px'>{item['unit']}</span></div>"
            f"<div style='font-size:11px'><i class='monitor-words'>{item['words']}</i></div></div>")


def monitors_html(session: Session) -> str:
    """The NetLogo-style monitor cards of each setting (value, unit, which way it moved over the
    last year) and, side by side, the difference B - A with a verdict: one block of HTML, so a
    step sends the browser one update rather than one per card."""
    parts = []
    for i, arm in enumerate(session.arms):
        cards = "".join(_card(item, figures.ARM_COLOURS[i], arm.label) for item in arm.monitors())
        parts.append(f"<div class='monitors-{arm.label.replace(' ', '-')}' style='display:flex;flex-wrap:wrap;gap:6px;"
                     f"margin:4px 0'>{cards}</div>")
    diffs = session.differences()
    if diffs:
        rows = "".join(
            f"<tr class='difference-{d['metric']}'><td>{d['label']}</td><td style='text-align:right'>{d['difference']:+,.3g} {d['unit']}</td>"
            f"<td><b>{d['verdict']}</b></td></tr>" for d in diffs
        )
        parts.append(f"<table class='differences' style='font-size:13px;border-spacing:10px 2px'><caption style='text-align:left'>"
                     f"<b>Difference {session.labels[1]} minus {session.labels[0]}</b> (same seed, month {session.month})</caption>"
                     f"{rows}</table>")
    return "".join(parts)


@solara.component
def ControlWidget(control: Control, value: Any, on_value: Callable[[Any], None], disabled: bool):
    """One control with its declared range, unit and tip."""
    with solara.Column(gap="0px", classes=[f"control-{control.key.replace('.', '-')}"]):
        if control.kind == "switch":
            solara.Switch(label=control.label, value=bool(value), on_value=on_value, disabled=disabled)
        elif control.kind == "choice":
            solara.Select(label=control.label, values=list(control.choices), value=value, on_value=on_value, disabled=disabled, dense=True)
        elif control.kind == "multi":
            solara.SelectMultiple(label=control.label, values=list(value), all_values=list(control.choices), on_value=on_value,
                                  disabled=disabled, dense=True)
        else:
            step = 1 if control.integer else (control.high - control.low) / 20
            solara.Text(f"{control.label} ({control.unit}, {control.low:g} to {control.high:g})", style={"font-size": "13px"})
            solara.SliderFloat(label="", value=float(value), min=control.low, max=control.high, step=step, on_value=on_value,
                               disabled=disabled)
        solara.Text(control.tip, style={"font-size": "11px", "color": "#555"})


@solara.component
def Controls(controls: list[Control], arm: Arm, settings: dict[str, Any], on_settings: Callable[[dict[str, Any]], None],
             disabled: bool):
    """The controls of one setting, showing its current values."""
    for c in controls:
        ControlWidget(c, current_value(arm.cfg, c), lambda v, c=c: on_settings(apply(settings, c, v)), disabled)


@solara.component
def InfoPanel(scenario: Scenario):
    """The scenario's Info tab under NetLogo's headings."""
    text = "\n\n".join(f"### {h}\n\n{scenario.info[k]}" for h, k in zip(INFO_HEADINGS, INFO_KEYS, strict=True))
    markdown(f"## {scenario.title}\n\n{text}\n\n*Facilitator notes: `docs/workshop/{scenario.name}.md`.*")


def charts_html(session: Session) -> str:
    """The outcome charts (SVG) in one block of HTML."""
    return ("<div class='outcome-charts' style='display:flex;flex-wrap:wrap;gap:2px'>"
            + "".join(f"<div>{svg}</div>" for svg in figures.outcomes_svg(session.arms)) + "</div>")


def view_figure(session: Session, view: str, place: int, measure: str, which: int):
    """The matplotlib figure of a view (the PNG export, and the network and place views)."""
    arm = session.arms[min(which, len(session.arms) - 1)]
    if view == "Network":
        return figures.network_figure(arm, place)
    if view == "Places":
        return figures.places_figure(arm, measure)
    return figures.outcomes_figure(session.arms)


def view_html(session: Session, view: str, place: int, measure: str, which: int) -> str:
    """The network or the places view as SVG in HTML; the PNG export draws the same view with
    matplotlib (:func:`view_figure`)."""
    arm = session.arms[min(which, len(session.arms) - 1)]
    svg = figures.network_svg(arm, place) if view == "Network" else figures.places_svg(arm, measure)
    return f"<div class='view-{view.lower()}'>{svg}</div>"


def config_error_text(exc: ConfigError) -> str:
    """The one line the page shows for a setting that cannot run."""
    return f"This setting cannot run: {exc}"
