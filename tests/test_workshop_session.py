"""The workshop session engine: joining, seats, the barrier, validation, the log and the debrief."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from ics_sim.model.record import summarise
from ics_sim.views.dashboard.scenarios import load_scenarios
from ics_sim.views.workshop.session import (
    WorkshopError,
    WorkshopSession,
    find_session,
    open_session,
)

SCENARIO = "02_who_is_at_the_table"


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def room(years=2, **kw) -> WorkshopSession:
    return WorkshopSession(load_scenarios()[SCENARIO], years=years, **kw)


def seated(s: WorkshopSession, n: int) -> list[str]:
    """n participants in the first n voting seats."""
    voting = [x for x in s.seats() if x["role"] == "vote"]
    tokens = []
    for i in range(n):
        tok = s.join(s.code, f"P{i}")
        s.take_seat(tok, voting[i]["place"], voting[i]["seat"])
        tokens.append(tok)
    return tokens


def test_humans_keeping_their_agents_proposals_reproduce_the_all_agent_run():
    s = room()
    tokens = seated(s, 5)
    barriers = 0
    while not s.done:
        while s.play():
            barriers += 1
            for tok in tokens:
                if s.request_for(tok) is not None:
                    s.submit(tok)  # the defaults: the agent's plan and tolerance
    assert barriers >= 2
    assert any(e.who != "agent" for e in s.log)
    assert summarise(s.room.model.recorder) == summarise(s.agents.model.recorder)
    pd.testing.assert_frame_equal(s.room.model.recorder.frame("x"), s.agents.model.recorder.frame("x"), check_exact=True)
    d = s.debrief()
    assert all(row["difference"] == 0.0 for row in d["outcomes"])


def test_the_barrier_waits_for_human_seats_then_the_countdown_lets_agents_fill_in():
    clock = FakeClock()
    s = room(clock=clock, countdown=60)
    tokens = seated(s, 2)
    assert s.play()  # waiting at the first decision meeting
    month = s.model.month
    assert set(s.submitted()) == {"P0", "P1"} and not any(s.submitted().values())
    assert s.seconds_left() == 60
    s.submit(tokens[0], accept="only_mine")
    assert s.submitted()["P0"] and s.model.month == month  # still waiting for P1
    clock.t = 59
    s.tick()
    assert s.model.month == month
    s.pause()
    clock.t = 1000
    s.tick()
    assert s.model.month == month  # paused: no timeout
    s.pause(False)
    clock.t = 1061
    s.tick()
    assert s.model.month > month  # P1's seat filled by its agent
    entries = [e for e in s.log if e.month == month]
    assert {e.who for e in entries} >= {"P0", "agent"}
    assert next(e for e in entries if e.who == "P0").tolerance == 0.0


def test_facilitator_advance_fills_missing_seats_with_agents():
    s = room()
    seated(s, 3)
    assert s.play()
    s.advance()
    assert s.model.month > 0
    assert all(e.who == "agent" for e in s.log)


def test_bad_proposals_get_one_clear_message_and_change_nothing():
    s = room()
    (tok,) = seated(s, 1)
    assert s.play()
    req = s.request_for(tok)
    before = (s.model.month, dict(s.source.answers))
    plan = req.default_plan.copy()
    cases = [
        ("not a plan", "proposal: must be a table of numbers"),
        (plan[:-1], "proposal: must have"),
        (plan * 1.1, "but the budget is"),
        (np.where(plan == plan.max(), -1.0, plan), "0 or more"),
    ]
    for bad, words in cases:
        with pytest.raises(WorkshopError, match=words):
            s.submit(tok, bad)
    from ics_sim.domains import DOMAINS
    funded = [DOMAINS[d] for d in range(len(DOMAINS)) if req.envelope[d] > 0]
    with pytest.raises(WorkshopError, match="move.gbp_m: .* holds"):
        s.submit(tok, moves=[{"from": funded[0], "to": funded[1], "gbp_m": 1e9}])
    unfunded = [DOMAINS[d] for d in range(len(DOMAINS)) if req.envelope[d] <= 0]
    if unfunded:
        with pytest.raises(WorkshopError, match="move.to: the table has no money for"):
            s.submit(tok, moves=[{"from": funded[0], "to": unfunded[0], "gbp_m": 1}])
    with pytest.raises(WorkshopError, match="move.from: 'dentistry' is not a care domain"):
        s.submit(tok, moves=[{"from": "dentistry", "to": DOMAINS[0], "gbp_m": 1}])
    with pytest.raises(WorkshopError, match="accept: must be one of"):
        s.submit(tok, accept="maybe")
    assert (s.model.month, dict(s.source.answers)) == before


def test_a_money_shift_keeps_the_budget_and_is_logged():
    from ics_sim.domains import DOMAINS
    s = room()
    (tok,) = seated(s, 1)
    assert s.play()
    req = s.request_for(tok)
    funded = [d for d in range(len(DOMAINS)) if req.envelope[d] > 0]
    s.submit(tok, moves=[{"from": DOMAINS[funded[0]], "to": DOMAINS[funded[1]], "gbp_m": 1.0}])
    e = next(e for e in s.log if e.who == "P0")
    assert 0 < e.moved_from_agent < 0.5


def test_joining_needs_the_code_and_a_name_and_seats_are_one_each():
    s = room()
    with pytest.raises(WorkshopError, match="code: not this session's code"):
        s.join("WRONG1", "Ann")
    with pytest.raises(WorkshopError, match="name:"):
        s.join(s.code, "  ")
    a = s.join(s.code.lower(), "Ann")
    b = s.join(s.code, "Bob")
    with pytest.raises(WorkshopError, match="already in the room"):
        s.join(s.code, "ann")
    s.take_seat(a, 0, "council")
    with pytest.raises(WorkshopError, match="taken by Ann"):
        s.take_seat(b, 0, "council")
    with pytest.raises(WorkshopError, match="has no seat"):
        s.take_seat(b, 0, "mayor")
    s.remove(a)
    with pytest.raises(WorkshopError, match="token: not in this room"):
        s.view_for(a)
    s.take_seat(b, 0, "council")  # the seat is free again


def test_the_facilitator_moves_a_participant_to_a_free_seat_and_the_old_seat_returns_to_its_agent():
    from ics_sim.views.workshop.app import _move

    s = room()
    a = s.join(s.code, "Ann")
    s.take_seat(a, 0, "council")
    free = next(x for x in s.seats() if x["held_by"] is None and (x["place"], x["seat"]) != (0, "council"))
    _move(s, a, f"{free['place']}: {free['seat']}")
    held = {(x["place"], x["seat"]): x["held_by"] for x in s.seats()}
    assert held[(free["place"], free["seat"])] == "Ann" and held[(0, "council")] is None
    _move(s, a, None)  # nothing chosen: nothing changes
    assert s.participant(a).seat == (free["place"], free["seat"])


def test_a_reload_finds_the_session_and_the_seat_by_code_and_token():
    s = open_session(SCENARIO, years=1)
    tok = s.join(s.code, "Cat")
    s.take_seat(tok, 1, "icb")
    s.play()
    again = find_session(s.code.lower())
    assert again is s and again.request_for(tok) is not None
    view = again.view_for(tok)
    assert view["asked"] and view["seat"] == "icb" and view["place"] == 1
    with pytest.raises(WorkshopError, match="no session has this code"):
        find_session("ZZZZZZ")


def test_debrief_sets_the_room_beside_the_agents_and_exports_csv():
    s = room(years=1)
    (tok,) = seated(s, 1)
    while s.play():
        if s.request_for(tok) is not None:
            s.submit(tok, accept="only_mine")
        else:
            s.advance()
    d = s.debrief()
    assert {r["metric"] for r in d["outcomes"]} >= {"unmet_need", "trust_mean"}
    assert len(d["trust"]) == 12 and len(d["places"]) == len(s.model.partnerships)
    csv = s.export_csv()
    assert csv.splitlines()[0].startswith("table,")
    assert {"outcomes", "trust", "places", "log"} <= {line.split(",")[0] for line in csv.splitlines()[1:]}


def test_thirty_participants_play_a_year_in_under_two_seconds_of_server_time():
    s = room(years=1)
    voting = [x for x in s.seats()]
    assert len(voting) >= 30
    tokens = []
    for i, seat in enumerate(voting[:30]):
        tok = s.join(s.code, f"Player {i}")
        s.take_seat(tok, seat["place"], seat["seat"])
        tokens.append(tok)
    t = time.perf_counter()
    rounds = 0
    while not s.done:
        while s.play():
            rounds += 1
            for tok in tokens:
                if s.request_for(tok) is not None:
                    s.submit(tok, accept="broad")
    wall = time.perf_counter() - t
    print(f"\n30 participants, 1 simulated year, {rounds} barrier(s): server time {s.server_seconds[0]:.3f} s "
          f"(wall {wall:.3f} s)")
    assert rounds >= 1 and len(s.server_seconds) == 1
    assert s.server_seconds[0] < 2.0
