"""A participatory workshop session without a web framework (issue 16).

One room plays one workshop scenario (``configs/workshop/*.yml``, setting A) on its seed. People
join with the session's short code and a name, take seats at a place table (seats nobody takes
stay with the model's agents), and at each decision meeting every human voting seat tables a
proposal and says how far from it it will accept (its tolerance). The model asks them through the
per-seat proposal source (:mod:`ics_sim.model.governance.seats`), so a human plays by exactly the
agents' mechanism.

**The barrier.** The room steps a month at a time. Before each month it keeps a copy of the model;
while the month runs, a human seat asked for a proposal it has not yet given is recorded as
*pending* (the agent's proposal stands in for the rest of that pass). If anything is pending the
month is thrown away (the copy is restored) and the room waits: each pending seat sees what its
organisation sees and the agent's proposal as the default. When every pending seat has answered,
or the countdown runs out, or the facilitator advances (agents fill in the missing seats), the
month runs again from the copy with the answers. Runs are deterministic, so the re-run reaches the
same meetings with the same numbers. Only months that are kept go into the decision log.

Nothing here imports Solara: the pages (:mod:`ics_sim.views.workshop.app`), the tests and the load
benchmark drive exactly this object. State lives here, server side, keyed by session code and
participant token, so a browser reload loses nothing.
"""

from __future__ import annotations

import copy
import io
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ics_sim.domains import DOMAINS
from ics_sim.model.governance.seats import MeetingRecord, SeatRequest, Submission, seat_view
from ics_sim.model.record import METRICS, summarise
from ics_sim.views.dashboard.scenarios import Scenario, load_scenarios
from ics_sim.views.dashboard.state import Arm

#: letters and digits that cannot be misread on a projector (no 0/O, 1/I/L)
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: seconds a barrier waits for the human seats before the agents fill in
DEFAULT_COUNTDOWN = 240.0
#: outcomes the debrief sets side by side (system level)
DEBRIEF_METRICS = ("unmet_need", "unmet_need_hidden", "hle_sii", "trust_mean", "decision_delay_months", "deadlocks",
                   "duplicated_spend_gbp", "transaction_cost_gbp")
#: how a participant can say what it will accept, as tolerances (None: as the organisation's agent would)
ACCEPT_CHOICES = {"as_agent": None, "only_mine": 0.0, "close": 0.05, "broad": 0.15, "anything": 1.0}


class WorkshopError(ValueError):
    """A participant's or facilitator's request cannot be done; the message is one line that names
    the field and what is allowed. Nothing has changed."""


@dataclass
class Participant:
    name: str
    token: str
    seat: tuple[int, str] | None = None
    active: bool = True


@dataclass
class LogEntry:
    """One seat at one decision meeting: who tabled what, and whether it accepted the outcome."""

    month: int
    place: int
    seat: str
    who: str
    shares: list[float]  # the proposal's share of the money per domain
    moved_from_agent: float  # share of the money moved from the agent's proposal (0..1)
    tolerance: float
    accepted: bool
    decided: bool
    compromise: float


class _RoomSource:
    """The proposal source of every human seat of the room (one object; not copied with the model)."""

    def __init__(self, session: WorkshopSession):
        self.session = session
        self.pending: dict[tuple, SeatRequest] = {}
        self.answers: dict[tuple, Submission | None] = {}
        self.defaults: dict[tuple, SeatRequest] = {}
        self.records: list[MeetingRecord] = []

    def __deepcopy__(self, memo):
        return self

    def propose(self, request: SeatRequest) -> Submission | None:
        self.defaults[request.key] = request
        if request.key in self.answers:
            return self.answers[request.key]
        self.pending[request.key] = request
        return None

    def heard(self, record: MeetingRecord) -> None:
        self.records.append(record)


@dataclass
class WorkshopSession:
    """One room: a scenario, its participants and seats, the barrier, the log and the debrief.

    Args:
        scenario: a workshop scenario (its setting A is played).
        seed: the seed (the scenario's own by default).
        years: the horizon (the scenario's by default).
        countdown: seconds a barrier waits before the agents fill in.
        clock: the time source (tests pass a fake one).
    """

    scenario: Scenario
    seed: int | None = None
    years: int | None = None
    countdown: float = DEFAULT_COUNTDOWN
    clock: Callable[[], float] = time.monotonic
    code: str = field(default_factory=lambda: "".join(secrets.choice(CODE_ALPHABET) for _ in range(6)))

    def __post_init__(self):
        self.seed = self.scenario.seed if self.seed is None else int(self.seed)
        self.years = self.scenario.years if self.years is None else int(self.years)
        self.room = Arm(self.scenario.settings, self.seed, self.years, "room")
        self.agents = Arm(self.scenario.settings, self.seed, self.years, "all agents")
        self.participants: dict[str, Participant] = {}
        self.source = _RoomSource(self)
        self.log: list[LogEntry] = []
        self.messages: list[str] = []
        self.paused = False
        self.ended = False
        self.deadline: float | None = None
        self.server_seconds: list[float] = []  # server time of each completed round (year)
        self._round_seconds = 0.0
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ who is in the room
    @property
    def model(self):
        return self.room.model

    def seats(self) -> list[dict[str, Any]]:
        """Every seat of every place table: place, seat label, role, and who holds it (None: agent)."""
        held = {p.seat: p.name for p in self.participants.values() if p.active and p.seat is not None}
        return [{"place": part.place, "seat": s.label, "role": s.role, "held_by": held.get((part.place, s.label))}
                for part in self.model.partnerships for s in part.seats]

    def join(self, code: str, name: str) -> str:
        """A participant joins with the session code and a name; returns its token."""
        with self._lock:
            if str(code).strip().upper() != self.code:
                raise WorkshopError("code: not this session's code; ask the facilitator for the code on the screen")
            name = str(name).strip()
            if not 1 <= len(name) <= 40:
                raise WorkshopError("name: give a name of 1 to 40 characters")
            if any(p.name.lower() == name.lower() and p.active for p in self.participants.values()):
                raise WorkshopError(f"name: {name!r} is already in the room; choose another")
            if self.ended:
                raise WorkshopError("session: this session has ended")
            token = secrets.token_urlsafe(16)
            self.participants[token] = Participant(name, token)
            return token

    def participant(self, token: str) -> Participant:
        p = self.participants.get(token)
        if p is None or not p.active:
            raise WorkshopError("token: not in this room (removed, or never joined); join again with the code")
        return p

    def take_seat(self, token: str, place: int, seat: str) -> None:
        """Sit a participant at a seat (leaving any seat it held to its agent)."""
        with self._lock:
            p = self.participant(token)
            valid = {(s["place"], s["seat"]): s for s in self.seats()}
            if (int(place), seat) not in valid:
                raise WorkshopError(f"seat: place {place} has no seat {seat!r}; choose from the list of seats")
            holder = valid[(int(place), seat)]["held_by"]
            if holder is not None and holder != p.name:
                raise WorkshopError(f"seat: {seat} at place {place} is taken by {holder}")
            p.seat = (int(place), seat)

    def remove(self, token: str) -> None:
        """The facilitator removes a participant; its seat goes back to its agent."""
        with self._lock:
            p = self.participant(token)
            p.active, p.seat = False, None
            self._drop_pending_without_humans()

    def broadcast(self, message: str) -> None:
        message = str(message).strip()
        if message:
            self.messages.append(message[:500])

    # ------------------------------------------------------------------ the barrier
    @property
    def waiting(self) -> list[SeatRequest]:
        """The meetings' requests still waiting for a human seat, in order."""
        return list(self.source.pending.values())

    def request_for(self, token: str) -> SeatRequest | None:
        """The pending request of a participant's seat, if its seat is being asked."""
        p = self.participant(token)
        if p.seat is None:
            return None
        for key, req in self.source.pending.items():
            if (key[1], key[2]) == p.seat and key not in self.source.answers:
                return req
        return None

    def submitted(self) -> dict[str, bool]:
        """For each human seat asked at the current barrier, whether it has answered (by name)."""
        out = {}
        for key in self.source.pending:
            name = self._holder(key[1], key[2]) or f"{key[2]} (agent)"
            out[name] = key in self.source.answers
        return out

    def seconds_left(self) -> float | None:
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - self.clock())

    def submit(self, token: str, plan: Any = None, moves: list[dict[str, Any]] | None = None,
               accept: str = "as_agent") -> None:
        """A participant tables its proposal for the pending meeting.

        Args:
            plan: a full plan (neighbourhoods x domains, GBP/yr), or None to start from the agent's.
            moves: simple shifts applied to that plan, each ``{"from": domain, "to": domain,
                "gbp_m": amount}`` (GBP million a year moved between care domains, spread over
                neighbourhoods as the plan spreads each domain).
            accept: what it will accept: one of :data:`ACCEPT_CHOICES`.

        Raises:
            WorkshopError: nothing pending for this seat, or a malformed or out-of-budget proposal;
                nothing changes.
        """
        with self._lock:
            t = time.perf_counter()
            req = self.request_for(token)
            if req is None:
                raise WorkshopError("proposal: nothing is being decided at your seat now; wait for the next meeting")
            if accept not in ACCEPT_CHOICES:
                raise WorkshopError(f"accept: must be one of {', '.join(ACCEPT_CHOICES)}")
            proposal = validate_plan(req, plan)
            for move in moves or []:
                proposal = move_money(proposal, req.envelope, move)
            self.source.answers[req.key] = Submission(proposal, ACCEPT_CHOICES[accept])
            self._round_seconds += time.perf_counter() - t
            if self._all_answered():
                self.play()

    def _holder(self, place: int, seat: str) -> str | None:
        return next((p.name for p in self.participants.values() if p.active and p.seat == (place, seat)), None)

    def _all_answered(self) -> bool:
        return bool(self.source.pending) and all(k in self.source.answers for k in self.source.pending)

    def _drop_pending_without_humans(self) -> None:
        for key in list(self.source.pending):
            if self._holder(key[1], key[2]) is None and key not in self.source.answers:
                self.source.answers[key] = None

    def advance(self) -> None:
        """The facilitator moves on: agents fill in every seat that has not answered."""
        with self._lock:
            for key in self.source.pending:
                self.source.answers.setdefault(key, None)
            self.play()

    def pause(self, paused: bool = True) -> None:
        """Pause (or resume) the countdown; a resumed countdown starts afresh."""
        with self._lock:
            self.paused = bool(paused)
            if not self.paused and self.source.pending:
                self.deadline = self.clock() + self.countdown

    def tick(self) -> None:
        """Called by the pages on a timer: a barrier past its countdown advances."""
        with self._lock:
            if self.source.pending and not self.paused and self.deadline is not None and self.clock() >= self.deadline:
                self.advance()

    def end(self) -> None:
        with self._lock:
            self.ended = True
            self.source.pending.clear()
            self.deadline = None

    # ------------------------------------------------------------------ playing
    @property
    def year(self) -> int:
        """The simulated year being played (1-based)."""
        return min(self.model.month // 12 + 1, self.years)

    @property
    def done(self) -> bool:
        return self.room.done or self.ended

    def play(self) -> bool:
        """Run months until the end of the current year, a barrier, or the horizon.

        Returns True when the room is waiting at a barrier."""
        with self._lock:
            if self.done:
                return False
            t = time.perf_counter()
            waiting = False
            while not self.done:
                if not self._month():
                    waiting = True
                    break
                if self.model.month % 12 == 0:
                    break
            self._round_seconds += time.perf_counter() - t
            if not waiting:
                self.server_seconds.append(self._round_seconds)
                self._round_seconds = 0.0
            return waiting

    def _sync_sources(self, model) -> None:
        human = {p.seat for p in self.participants.values() if p.active and p.seat is not None}
        for part in model.partnerships:
            part.sources = {s.label: self.source for s in part.voters if (part.place, s.label) in human}

    def _month(self) -> bool:
        """One month with the room's answers; False (and the month undone) when a human seat has
        been asked something it has not answered."""
        src = self.source
        snapshot = copy.deepcopy(self.room.model)
        self._sync_sources(self.room.model)
        src.pending, src.records = {}, []
        self.room.step(1)
        unanswered = [k for k in src.pending if k not in src.answers]
        if unanswered:
            self.room.model = snapshot
            src.pending = {k: src.pending[k] for k in unanswered}
            if self.deadline is None:
                self.deadline = self.clock() + self.countdown
            return False
        self._keep_log(src.records)
        src.pending, src.records = {}, []
        self.deadline = None
        self.agents.step(1)
        return True

    def _keep_log(self, records: list[MeetingRecord]) -> None:
        for r in records:
            for i, label in enumerate(r.labels):
                who = self._holder(r.place, label) if r.from_source[i] else None
                default = self.source.defaults.get(r.keys[i])
                plan = r.proposals[i]
                moved = 0.0
                if default is not None:
                    moved = 0.5 * float(np.abs(plan - default.default_plan).sum()) / max(float(plan.sum()), 1e-12)
                col = plan.sum(axis=0)
                self.log.append(LogEntry(r.month, r.place, label, who or "agent",
                                         [float(x) for x in col / max(col.sum(), 1e-12)], moved,
                                         float(r.tolerance[i]), bool(r.accepted[i]), r.decided, r.compromise))

    # ------------------------------------------------------------------ what a seat sees
    def view_for(self, token: str) -> dict[str, Any] | None:
        """What the participant's organisation sees now (plain data), or None without a seat."""
        p = self.participant(token)
        if p.seat is None:
            return None
        req = self.request_for(token)
        if req is not None:
            return {**req.view, "asked": True, "default_plan": req.default_plan.tolist(),
                    "default_tolerance": req.default_tolerance}
        part = self.model.partnerships[p.seat[0]]
        view = seat_view(part, p.seat[1]) if self.model.month > 0 else None
        return None if view is None else {**view, "asked": False}

    # ------------------------------------------------------------------ debrief
    def debrief(self) -> dict[str, Any]:
        """The room's run beside the same seed with all-agent seats: the paired difference per
        outcome, trust over time, outcomes by place, and the decision log."""
        outcomes = []
        if self.room.month > 0:
            room, agents = summarise(self.room.model.recorder), summarise(self.agents.model.recorder)
            for key in DEBRIEF_METRICS:
                a, r = float(agents[key]), float(room[key])
                outcomes.append({"metric": key, "label": METRICS[key].label, "unit": METRICS[key].unit,
                                 "room": r, "all_agents": a, "difference": r - a,
                                 "better": METRICS[key].direction})
        trust = pd.DataFrame({"month": np.arange(1, self.room.month + 1),
                              "room": self.room.series("trust_mean"), "all_agents": self.agents.series("trust_mean")})
        places = []
        if self.room.month > 0:
            for part in self.model.partnerships:
                row = {"place": part.place}
                for key in ("unmet_need", "trust_mean"):
                    row[f"{key}_room"] = float(self.room.model.recorder.series(key, "place", part.place)[-1])
                    row[f"{key}_all_agents"] = float(self.agents.model.recorder.series(key, "place", part.place)[-1])
                places.append(row)
        return {"outcomes": outcomes, "trust": trust, "places": pd.DataFrame(places),
                "log": pd.DataFrame([e.__dict__ for e in self.log])}

    def export_csv(self) -> str:
        """The debrief as one CSV: a ``table`` column (outcomes, trust, places, log) then each
        table's columns."""
        d = self.debrief()
        frames = [pd.DataFrame(d["outcomes"]).assign(table="outcomes"), d["trust"].assign(table="trust"),
                  d["places"].assign(table="places"), d["log"].assign(table="log")]
        frames = [f[["table", *[c for c in f.columns if c != "table"]]] for f in frames if len(f)]
        buf = io.StringIO()
        if frames:
            pd.concat(frames, ignore_index=True).to_csv(buf, index=False)
        return buf.getvalue()


# ---------------------------------------------------------------------- proposals
def validate_plan(request: SeatRequest, plan: Any) -> np.ndarray:
    """A submitted plan checked against the meeting's envelope (None: the agent's own).

    Raises:
        WorkshopError: not numbers, the wrong shape, negative, money in a domain the table has no
            money for, or not spending the envelope (within 0.1 per cent).
    """
    if plan is None:
        return request.default_plan.copy()
    try:
        arr = np.array(plan, dtype=float)
    except (TypeError, ValueError):
        raise WorkshopError("proposal: must be a table of numbers (GBP a year per neighbourhood and domain)") from None
    want = request.default_plan.shape
    if arr.shape != want:
        raise WorkshopError(f"proposal: must have {want[0]} neighbourhoods x {want[1]} domains, not {' x '.join(map(str, arr.shape))}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise WorkshopError("proposal: every amount must be a number of 0 or more")
    col = arr.sum(axis=0)
    empty = [DOMAINS[d] for d in range(len(col)) if request.envelope[d] <= 0 and col[d] > 0]
    if empty:
        raise WorkshopError(f"proposal: the table has no money for {', '.join(empty)}; put it elsewhere")
    total, env = float(arr.sum()), float(request.envelope.sum())
    if abs(total - env) > 1e-3 * env:
        raise WorkshopError(f"proposal: allocates GBP {total / 1e6:.1f}m but the budget is GBP {env / 1e6:.1f}m; "
                            "move money between neighbourhoods and domains, do not add or remove it")
    return arr


def move_money(plan: np.ndarray, envelope: np.ndarray, move: dict[str, Any]) -> np.ndarray:
    """Move ``move["gbp_m"]`` GBP million a year from care domain ``move["from"]`` to ``move["to"]``,
    taken from each neighbourhood in proportion to the plan's spending there and given where the
    receiving domain's money goes (evenly by the giving domain's spread if it has none).

    Raises:
        WorkshopError: an unknown domain, a negative amount, more than the domain holds, or a
            domain the table has no money for.
    """
    src, dst = move.get("from"), move.get("to")
    for name, d in (("from", src), ("to", dst)):
        if d not in DOMAINS:
            raise WorkshopError(f"move.{name}: {d!r} is not a care domain; allowed: {', '.join(DOMAINS)}")
    try:
        amount = float(move.get("gbp_m", 0.0)) * 1e6
    except (TypeError, ValueError):
        raise WorkshopError("move.gbp_m: must be a number of GBP million") from None
    if not np.isfinite(amount) or amount < 0:
        raise WorkshopError("move.gbp_m: must be a number of 0 or more")
    i, j = DOMAINS.index(src), DOMAINS.index(dst)
    if envelope[j] <= 0:
        raise WorkshopError(f"move.to: the table has no money for {dst}")
    have = float(plan[:, i].sum())
    if amount > have + 1e-6:
        raise WorkshopError(f"move.gbp_m: {src} holds GBP {have / 1e6:.2f}m; you cannot move {amount / 1e6:.2f}m")
    if amount == 0 or i == j:
        return plan.copy()
    out = plan.copy()
    give = out[:, i] / have
    recv = out[:, j] / out[:, j].sum() if out[:, j].sum() > 0 else give
    out[:, i] -= amount * give
    out[:, j] += amount * recv
    out[:, i] = np.maximum(out[:, i], 0.0)
    return out


# ---------------------------------------------------------------------- the server's rooms
SESSIONS: dict[str, WorkshopSession] = {}


def open_session(scenario: str, **kwargs) -> WorkshopSession:
    """Start a session on a workshop scenario by name; it is findable by its code."""
    scenarios = load_scenarios()
    if scenario not in scenarios:
        raise WorkshopError(f"scenario: {scenario!r} is not a workshop scenario; allowed: {', '.join(scenarios)}")
    s = WorkshopSession(scenarios[scenario], **kwargs)
    while s.code in SESSIONS:
        s.code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
    SESSIONS[s.code] = s
    return s


def find_session(code: str) -> WorkshopSession:
    s = SESSIONS.get(str(code).strip().upper())
    if s is None:
        raise WorkshopError("code: no session has this code; check the code on the facilitator's screen")
    return s
