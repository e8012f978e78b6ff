"""The workshop's pages (Solara): join, participant, facilitator and debrief, one address.

``python -m ics_sim.workshop`` opens one session (:class:`~ics_sim.views.workshop.session.WorkshopSession`)
on a scenario and serves this page. What the page shows is chosen by its query string, so a
reload comes back to the same place: ``?facilitator=KEY`` (the facilitator's page; the key is
printed on the console), ``?code=CODE&token=TOKEN`` (a participant, after joining), ``?code=CODE&debrief=1``
(the debrief), nothing (the join form). All state lives in the session on the server; the pages
poll it every second and a half, which also runs the barrier's countdown.
"""

from __future__ import annotations

import asyncio
import html
import os
import secrets
import urllib.parse

import numpy as np
import solara
import solara.lab

from ics_sim.domains import DOMAINS
from ics_sim.views.dashboard.components import markdown
from ics_sim.views.dashboard.figures import png_bytes
from ics_sim.views.workshop import debrief_figure
from ics_sim.views.workshop.session import (
    ACCEPT_CHOICES,
    WorkshopError,
    WorkshopSession,
    find_session,
    open_session,
)

POLL_SECONDS = 1.5
ACCEPT_WORDS = {
    "as_agent": "as my organisation usually would",
    "only_mine": "only my own proposal",
    "close": "a plan within 5% of mine",
    "broad": "a plan within 15% of mine",
    "anything": "whatever the chair tables",
}
_ROOM: dict[str, object] = {}


def room() -> WorkshopSession:
    """The server's session, opened once from the command line's settings (environment)."""
    if "session" not in _ROOM:
        scenario = os.environ.get("ICS_WORKSHOP_SCENARIO", "02_who_is_at_the_table")
        years = os.environ.get("ICS_WORKSHOP_YEARS")
        _ROOM["session"] = open_session(scenario, years=int(years) if years else None,
                                        countdown=float(os.environ.get("ICS_WORKSHOP_COUNTDOWN", "240")))
        _ROOM["key"] = os.environ.get("ICS_WORKSHOP_KEY") or secrets.token_urlsafe(8)
    return _ROOM["session"]


def facilitator_key() -> str:
    room()
    return str(_ROOM["key"])


def gbp_m(x: float) -> str:
    return f"£{x / 1e6:,.1f}m"


def table_html(rows: list[list[str]], head: list[str], cls: str) -> str:
    th = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td style='padding:2px 8px'>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table class='{cls}' style='border-collapse:collapse'><tr>{th}</tr>{body}</table>"


def use_poll():
    """Redraw every POLL_SECONDS (and run the barrier's countdown) while the page is open."""
    tick = solara.use_reactive(0)

    async def poll():
        while True:
            await asyncio.sleep(POLL_SECONDS)
            room().tick()
            tick.value += 1

    solara.lab.use_task(poll, dependencies=[])
    return tick.value


@solara.component
def Page():
    router = solara.use_router()
    query = dict(urllib.parse.parse_qsl(router.search or ""))
    s = room()
    tick = use_poll()
    solara.Title("ics_sim participatory workshop")
    if query.get("facilitator"):
        if query["facilitator"] != facilitator_key():
            solara.Error("This is not the facilitator's address; use the one printed when the workshop started.")
            return
        Facilitator(s, tick)
    elif query.get("debrief"):
        Debrief(s, tick)
    elif query.get("token"):
        Participant(s, query["token"], router, tick)
    else:
        Join(s, router, query.get("code", ""))


@solara.component
def Join(s: WorkshopSession, router, code0: str):
    code = solara.use_reactive(code0)
    name = solara.use_reactive("")
    error = solara.use_reactive("")

    def join():
        try:
            session = find_session(code.value)
            token = session.join(code.value, name.value)
            router.push(f"/?{urllib.parse.urlencode({'code': session.code, 'token': token})}")
        except WorkshopError as exc:
            error.value = str(exc)

    with solara.Card("Join the workshop", style={"max-width": "480px"}):
        markdown(f"**{html.escape(s.scenario.title)}**")
        solara.InputText("Session code", value=code, classes=["join-code"])
        solara.InputText("Your name", value=name, classes=["join-name"])
        solara.Button("Join", on_click=join, color="primary", classes=["join-button"])
        if error.value:
            solara.Error(error.value, classes=["join-error"])


def seat_label(x: dict) -> str:
    who = f" — {x['held_by']}" if x["held_by"] else ""
    return f"Place {x['place']}: {x['seat'].replace('_', ' ')} ({x['role']}){who}"


@solara.component
def Participant(s: WorkshopSession, token: str, router, tick: int = 0):
    error = solara.use_reactive("")
    src = solara.use_reactive(DOMAINS[0])
    dst = solara.use_reactive(DOMAINS[1])
    amount = solara.use_reactive(0.0)
    accept = solara.use_reactive("as_agent")
    try:
        me = s.participant(token)
    except WorkshopError as exc:
        solara.Error(f"{exc}.")
        solara.Button("Join again", on_click=lambda: router.push("/"))
        return
    markdown(f"## {html.escape(me.name)} — {html.escape(s.scenario.title)}")
    solara.Text(f"Year {s.year} of {s.years}, month {s.model.month}", classes=["participant-month"])
    for m in s.messages[-3:]:
        solara.Info(m, classes=["broadcast"])
    if s.ended or s.done:
        solara.Success("The session has ended.")
        solara.Button("Debrief", on_click=lambda: router.push(f"/?code={s.code}&debrief=1"), classes=["to-debrief"])
        return
    seats = s.seats()
    if me.seat is None:
        free = {seat_label(x): x for x in seats if x["held_by"] is None}

        def take(label):
            try:
                s.take_seat(token, free[label]["place"], free[label]["seat"])
                error.value = ""
            except WorkshopError as exc:
                error.value = str(exc)
        solara.Select("Take a seat at a place table", values=list(free), value=None, on_value=take, classes=["seat-select"])
        solara.Text("Seats nobody takes stay with the model's agents. A 'vote' seat tables proposals; a 'voice' is heard.")
        if error.value:
            solara.Error(error.value, classes=["participant-error"])
        return
    place, label = me.seat
    solara.Text(f"Your seat: {label.replace('_', ' ')} at place {place}", classes=["my-seat"],
                style={"font-weight": "bold"})
    view = s.view_for(token)
    if view is not None:
        SeatView(view)
    req = s.request_for(token)
    if req is None:
        answered = any((k[1], k[2]) == me.seat for k in s.source.answers if k in s.source.pending)
        solara.Info("Your proposal is in; waiting for the others." if answered else
                    "Nothing to decide at your seat now. The facilitator will run the year.", classes=["participant-status"])
        return
    plan = req.default_plan.copy()
    left = s.seconds_left()
    solara.Warning(f"Your table is meeting: table your proposal ({'' if left is None else f'{left:.0f} s left'}).",
                   classes=["asked"])
    funded = [d for i, d in enumerate(DOMAINS) if req.envelope[i] > 0]
    # sensible defaults: from the domain with most money to the next one the table funds
    by_size = sorted(funded, key=lambda d: -req.envelope[DOMAINS.index(d)])
    frm = src.value if src.value in funded else by_size[0]
    to = dst.value if dst.value in funded and dst.value != frm else next((d for d in by_size if d != frm), frm)
    by_domain = plan.sum(axis=0)

    def table():
        try:
            moves = [{"from": frm, "to": to, "gbp_m": float(amount.value or 0.0)}] if amount.value else []
            s.submit(token, None, moves, accept.value)
            error.value = ""
        except WorkshopError as exc:
            error.value = str(exc)

    rows = [[d, gbp_m(by_domain[i])] for i, d in enumerate(DOMAINS) if req.envelope[i] > 0]
    solara.HTML(tag="div", unsafe_innerHTML="<b>Your organisation's usual proposal</b>" +
                table_html(rows, ["care domain", "a year"], "default-plan"))
    with solara.Row():
        solara.Select("Move money from", values=funded, value=frm, on_value=src.set, classes=["move-from"])
        solara.Select("to", values=funded, value=to, on_value=dst.set, classes=["move-to"])
        solara.InputFloat("£ million a year", value=amount, continuous_update=True, classes=["move-amount"])
    solara.Text("Leave the amount at 0 to table your organisation's usual proposal.")
    solara.Select("I will accept", values=list(ACCEPT_CHOICES), value=accept,
                  classes=["accept-select"])
    solara.Text(f"({ACCEPT_WORDS[accept.value]})")
    solara.Button("Table my proposal", on_click=table, color="primary", classes=["table-proposal"])
    if error.value:
        solara.Error(error.value, classes=["participant-error"])


@solara.component
def SeatView(view: dict):
    """What the organisation sees: its estimate of need, its budget, the strategy, its trust."""
    own = np.array(view["own_estimate"]).sum(axis=0)
    hidden = np.array(view["hidden_seen"]).sum(axis=0)
    budget = view["budget"]
    strat = view["strategy"]
    rows = [[d, gbp_m(own[i]), gbp_m(hidden[i]), gbp_m(budget[i]), "-" if strat is None else f"{100 * strat[i]:.0f}%"]
            for i, d in enumerate(view["domains"])]
    trust = [[k.replace("_", " "), f"{v:.2f}"] for k, v in sorted(view["trust"].items(), key=lambda kv: -kv[1])]
    solara.HTML(tag="div", classes=["seat-view"], unsafe_innerHTML=(
        "<p><b>What your organisation sees</b> (its own estimate, with its errors; not the true need)</p>" +
        table_html(rows, ["care domain", "need you estimate", "of which hidden need you reach", "table budget",
                          "ICP strategy"], "estimate") +
        f"<p>You listen to the table with weight {view['listening_weight']:.2f}. Your trust in the others:</p>" +
        table_html(trust, ["member", "trust (0-1)"], "trust")))


@solara.component
def Facilitator(s: WorkshopSession, tick: int = 0):
    message = solara.use_reactive("")
    error = solara.use_reactive("")
    bump = solara.use_reactive(0)
    address = os.environ.get("ICS_WORKSHOP_ADDRESS", "http://127.0.0.1:8766/")

    def act(fn):
        try:
            fn()
            error.value = ""
        except WorkshopError as exc:
            error.value = str(exc)
        bump.value += 1

    markdown(f"# {html.escape(s.scenario.title)}")
    markdown(f"Join at **{address}** with code **<span class='session-code'>{s.code}</span>**")
    status = (f"Year {s.year} of {s.years}, month {s.model.month}" +
              (" — ended" if s.done else ""))
    solara.Text(status, classes=["facilitator-month"])
    waiting = s.submitted()
    if waiting:
        left = s.seconds_left()
        rows = [[name, "submitted" if ok else "waiting"] for name, ok in waiting.items()]
        solara.HTML(tag="div", classes=["barrier"], unsafe_innerHTML=(
            f"<p><b>Meeting in progress</b>{' (paused)' if s.paused else ''}: "
            f"{'' if left is None else f'{left:.0f} s left'}</p>" + table_html(rows, ["seat", "status"], "who-submitted")))
    with solara.Row():
        solara.Button("Run the year", on_click=lambda: act(s.play), disabled=bool(waiting) or s.done,
                      color="primary", classes=["run-year"])
        solara.Button("Advance (agents fill in)", on_click=lambda: act(s.advance), disabled=not waiting,
                      classes=["advance"])
        solara.Button("Resume" if s.paused else "Pause", on_click=lambda: act(lambda: s.pause(not s.paused)))
        solara.Button("End", on_click=lambda: act(s.end), disabled=s.done, classes=["end"])
    with solara.Row():
        solara.InputText("Message to everyone", value=message)
        solara.Button("Broadcast", on_click=lambda: act(lambda: (s.broadcast(message.value), setattr(message, "value", ""))))
    if error.value:
        solara.Error(error.value)
    people = [p for p in s.participants.values() if p.active]
    markdown(f"**In the room: {len(people)}**")
    for p in people:
        with solara.Row(style={"align-items": "center"}):
            seat = "no seat yet" if p.seat is None else f"place {p.seat[0]}: {p.seat[1].replace('_', ' ')}"
            solara.Text(f"{p.name} — {seat}", classes=["participant-row"])
            free = [f"{x['place']}: {x['seat']}" for x in s.seats() if x["held_by"] is None]
            solara.Select("Move to", values=free, value=None, classes=["move-participant"],
                          on_value=lambda choice, t=p.token: act(lambda: _move(s, t, choice)))
            solara.Button("Remove", on_click=lambda t=p.token: act(lambda: s.remove(t)), text=True)
    if s.done or s.model.month >= 12:
        solara.HTML(tag="div", classes=["debrief-link"], unsafe_innerHTML=f"<a href='/?code={s.code}&debrief=1'>Debrief</a>")


def _move(s: WorkshopSession, token: str, choice: str | None) -> None:
    """The facilitator moves a participant to a free seat ("<place>: <seat>"); its old seat goes
    back to its agent."""
    if choice:
        place, seat = choice.split(": ", 1)
        s.take_seat(token, int(place), seat)


@solara.component
def Debrief(s: WorkshopSession, tick: int = 0):
    d = s.debrief()
    markdown(f"# Debrief: {html.escape(s.scenario.title)}")
    markdown(f"The room's run beside the same seed ({s.seed}) with every seat played by the model's agents, "
                    f"after {s.model.month} months.")
    rows = [[o["label"], o["unit"], f"{o['room']:.4g}", f"{o['all_agents']:.4g}", f"{o['difference']:+.3g}",
             f"{o['better']} is better"] for o in d["outcomes"]]
    solara.HTML(tag="div", classes=["debrief-outcomes"], unsafe_innerHTML=table_html(
        rows, ["outcome", "unit", "the room", "all agents", "room minus agents", ""], "outcomes"))
    if s.model.month > 0:
        solara.FigureMatplotlib(debrief_figure.figure(s))
    log = d["log"]
    humans = log[log["who"] != "agent"] if len(log) else log
    lrows = [[r.month, r.place, r.seat, r.who, f"{100 * r.moved_from_agent:.1f}%", "yes" if r.accepted else "no",
              "decided" if r.decided else "deadlock"] for r in humans.itertuples()]
    solara.HTML(tag="div", classes=["decision-log"], unsafe_innerHTML="<b>Decision log (human seats)</b>" + table_html(
        lrows, ["month", "place", "seat", "who", "moved from the agent's plan", "accepted", "meeting"], "log"))
    with solara.Row():
        solara.FileDownload(lambda: s.export_csv(), filename=f"workshop_{s.code}.csv", label="Export (CSV)")
        solara.FileDownload(lambda: png_bytes(debrief_figure.figure(s)), filename=f"workshop_{s.code}.png",
                            label="Export figure (PNG)")
