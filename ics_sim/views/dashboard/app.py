"""The workshop dashboard page (``solara run ics_sim.views.dashboard.app:Page``; started by
``python -m ics_sim.dashboard``).

Left: the scenario chooser, setting A's (or B's) controls generated from the schema, side by
side on or off. Main: the run controls (step a month, step a year, play/pause with a speed,
reset, the seed), the monitors with the difference B - A, and the views (outcomes over time, the
place table as a network, places and neighbourhoods, the scenario's Info), with exports of the
session's runs (CSV) and the current view (PNG). Each browser tab has its own session.
"""

from __future__ import annotations

import threading
import time

import solara
import solara.lab

from ics_sim.config import ConfigError
from ics_sim.views.dashboard import components as C
from ics_sim.views.dashboard.controls import place_controls, workshop_controls
from ics_sim.views.dashboard.figures import PLACE_MEASURES, png_bytes
from ics_sim.views.dashboard.scenarios import Scenario, load_scenarios
from ics_sim.views.dashboard.state import Session

VIEWS = ["Outcomes", "Network", "Places", "Info"]
#: the play speeds offered, in simulated months per second
SPEEDS = [1, 2, 5, 10, 20]
MONTHS = ["April", "May", "June", "July", "August", "September", "October", "November", "December", "January",
          "February", "March"]


def new_session(s: Scenario, side_by_side: bool = True) -> Session:
    session = Session(s.name, s.settings, s.settings_b if side_by_side else None, s.seed, s.years, (s.label_a, s.label_b))
    session.lock = threading.RLock()  # the play thread steps under it; the page reads under it
    return session


def month_text(session: Session, start_year: int = 2025) -> str:
    m = session.month
    if m == 0:
        return f"Month 0 of {session.years * 12}: before April {start_year}"
    last = m - 1  # the month just simulated
    year = start_year + (last + 9) // 12
    return f"Month {m} of {session.years * 12}: {MONTHS[last % 12]} {year} simulated"


@solara.component
def Page():
    scenarios = load_scenarios()
    names = list(scenarios)
    titles = {scenarios[n].title: n for n in names}
    name = solara.use_reactive(names[0])
    scenario = scenarios[name.value]
    side = solara.use_reactive(True)
    session = solara.use_memo(lambda: new_session(scenario, side.value), [name.value])
    tick = solara.use_reactive(0)  # every step: only the Live part of the page reads it
    version = solara.use_reactive(0)  # a change of setting, seed or a finished run: the whole page
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(5)
    error = solara.use_reactive("")
    which = solara.use_reactive(0)
    view = solara.use_reactive("Outcomes")
    place = solara.use_reactive(0)
    measure = solara.use_reactive("hle")
    last_step = solara.use_reactive(0.0)

    def bump(whole: bool = False):
        tick.value += 1
        if whole or session.done:
            version.value += 1

    def play():
        # months fall due on a fixed clock (not "sleep after each step"), so the time the page
        # takes to redraw does not slow the play below the chosen speed
        due = time.perf_counter()
        while playing.value and not session.done:
            t = time.perf_counter()
            with session.lock:
                session.step(1)
            last_step.value = time.perf_counter() - t
            bump()
            due = max(due + 1.0 / speed.value, time.perf_counter() - 1.0 / speed.value)
            time.sleep(max(0.0, due - time.perf_counter()))
        playing.value = False

    solara.lab.use_task(play, dependencies=[playing.value, session], prefer_threaded=True)

    def step(months: int):
        with session.lock:
            last_step.value = session.step(months)
        bump()

    def guarded(action):
        """Run a change of setting; a setting that cannot run is explained, not raised."""
        try:
            with session.lock:
                action()
            error.value = ""
        except ConfigError as exc:
            error.value = C.config_error_text(exc)
        bump(whole=True)

    def reset():
        playing.value = False
        guarded(lambda: session.reset())

    def reset_settings():
        playing.value = False
        guarded(lambda: (session.change(0, scenario.settings),
                         session.change(1, scenario.settings_b if side.value else None)))

    def set_side(on: bool):
        playing.value = False
        side.value = on
        which.value = 0
        guarded(lambda: session.change(1, scenario.settings_b if on else None))

    def choose(title: str):
        playing.value = False
        error.value = ""
        name.value = titles[title]

    # what the page shows, read under the lock (the play thread may be stepping)
    with session.lock:
        arms = list(session.arms)
        arm = arms[min(which.value, len(arms) - 1)]
        settings = session.settings[min(which.value, len(arms) - 1)]
        done = session.done
    _ = version.value  # the whole page is drawn again when a setting changes; a step redraws Live only

    solara.Title("ics_sim workshop dashboard")
    with solara.Sidebar():
        solara.Select(label="Scenario", values=list(titles), value=scenario.title, on_value=choose)
        solara.Switch(label=f"Side by side: {scenario.label_a} and {scenario.label_b}", value=side.value, on_value=set_side,
                      classes=["side-by-side"])
        if side.value:
            solara.Text("The controls below change:")
            solara.ToggleButtonsSingle(value=[scenario.label_a, scenario.label_b][which.value],
                                       values=[scenario.label_a, scenario.label_b],
                                       on_value=lambda v: setattr(which, "value", [scenario.label_a, scenario.label_b].index(v)),
                                       classes=["which-setting"])
        if error.value:
            solara.Error(label=error.value, classes=["config-error"])
        solara.Button("Reset settings to the scenario", on_click=reset_settings, outlined=True, classes=["reset-settings"])
        C.markdown(f"**Settings of {arm.label}**")
        C.Controls(workshop_controls(), arm, settings, lambda s: guarded(lambda: session.change(which.value, s)), playing.value)
        for p in arm.model.layout.place_names:
            C.Controls(place_controls(p), arm, settings, lambda s: guarded(lambda: session.change(which.value, s)),
                       playing.value)

    with solara.Column(style={"padding": "6px"}):
        C.markdown(f"## {scenario.title}")
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Button("Step a month", on_click=lambda: step(1), disabled=playing.value or done, color="primary")
            solara.Button("Step a year", on_click=lambda: step(12), disabled=playing.value or done, color="primary")
            solara.Button("Pause" if playing.value else "Play", on_click=lambda: setattr(playing, "value", not playing.value),
                          disabled=done, color="primary", classes=["play"])
            solara.Button("Reset", on_click=reset, outlined=True)
            solara.Select(label="Speed (months a second)", values=SPEEDS, value=speed.value,
                          on_value=lambda v: setattr(speed, "value", v), dense=True, style={"max-width": "180px"})
            solara.InputInt(label="Seed", value=session.seed, on_value=lambda v: (setattr(playing, "value", False),
                            guarded(lambda: session.reset(int(v or 0)))), dense=True, style={"max-width": "110px"},
                            classes=["seed"])
        LiveMonitors(session, tick, last_step)
        solara.ToggleButtonsSingle(value=view.value, values=VIEWS, on_value=lambda v: setattr(view, "value", v))
        with solara.Row():
            if view.value == "Network":
                solara.Select(label="Place table", values=arm.model.layout.place_names,
                              value=arm.model.layout.place_names[place.value],
                              on_value=lambda v: setattr(place, "value", arm.model.layout.place_names.index(v)), dense=True)
            elif view.value == "Places":
                solara.Select(label="Colour by", values=list(PLACE_MEASURES), value=measure.value,
                              on_value=lambda v: setattr(measure, "value", v), dense=True)
        LiveView(session, tick, view.value, place.value, measure.value, which.value, scenario)
        with solara.Row():
            solara.FileDownload(lambda: session.export_csv(), filename=f"{scenario.name}_runs.csv", label="Export runs (CSV)")
            solara.FileDownload(lambda: png_bytes(C.view_figure(session, view.value, place.value, measure.value, which.value)),
                                filename=f"{scenario.name}_{view.value.lower()}_month{session.month}.png", label="Export view (PNG)")


@solara.component
def LiveMonitors(session: Session, tick, last_step):
    """What changes every simulated month at the top: the month counter, the monitors and the
    difference B - A. Only the Live parts read ``tick``, so a step redraws them and not the page,
    and each is one block of HTML: playing stays quick."""
    _ = tick.value
    with session.lock:
        counter = month_text(session)
        monitors = C.monitors_html(session)
    solara.Text(counter, classes=["month-counter"], style={"font-size": "16px", "font-weight": "bold"})
    solara.HTML(tag="div", unsafe_innerHTML=monitors)
    solara.Text(f"last step took {last_step.value * 1000:.0f} ms", classes=["step-time"], style={"font-size": "11px", "color": "#777"})


@solara.component
def LiveView(session: Session, tick, view: str, place: int, measure: str, which: int, scenario: Scenario):
    """The current view, redrawn every simulated month (SVG), or the scenario's Info."""
    _ = tick.value
    if view == "Info":
        C.InfoPanel(scenario)
        return
    with session.lock:
        body = C.charts_html(session) if view == "Outcomes" else C.view_html(session, view, place, measure, which)
    solara.HTML(tag="div", unsafe_innerHTML=body)
