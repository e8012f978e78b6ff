"""Meetings concluded for every place table at once (``conclude_all``: the record and plans table by
table, every table's trust updates as one operation per kind on the array of every table's trust)
give exactly the numbers each table concluded alone gives, by the definition in
``tests/reference_tables.py`` and by the table's own ``_conclude``. Outcomes are drawn at random
(decided or failed, any voters accepting or rejecting, so failed meetings with several rejecters
and decisions with several overruled voters), as well as the ones the tables decide, on advisory
and binding forms, tables without an ICB or council seated, dialogue off, and trust not yet held
in the array of every table's trust. Every judged body's drift worked out at once (``drifts``,
``_conduct_all``) is its definition's, ``plan_distance`` to ``aligned_target``, and the drift its
table keeps for the same inputs."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from reference_tables import concluded_alone
from reference_tables import stepped as _stepped

from ics_sim.config import load_config
from ics_sim.model.governance.allocation import plan_distance
from ics_sim.model.governance.decisions import Outcome, decide_all
from ics_sim.model.governance.partnership import (
    STRAIN,
    PlaceMoney,
    PlacePartnership,
    _conduct_all,
    conclude_all,
    drifts,
    hold_meetings,
)
from ics_sim.model.ics_model import ICSModel


def _scrambled(m: ICSModel, rng: np.random.Generator) -> None:
    """Trust away from its start (some members tolerant, some not: kept and broken both happen)."""
    for part in m.partnerships:
        part.trust.matrix[...] = rng.random(part.trust.matrix.shape)
        part.trust._unit_diagonal()


def _random_outcome(agenda, rng: np.random.Generator) -> Outcome:
    """A decision or a deadlock with any voters accepting (the setter accepts its own decision)."""
    k = len(agenda.proposals)
    accepted = rng.random(k) < rng.choice([0.0, 0.3, 0.7, 1.0])
    if rng.random() < 0.55:
        accepted[agenda.setter] = True
        plan = agenda.proposals[rng.integers(k)] * rng.uniform(0.8, 1.2, agenda.proposals.shape[1:])
        return Outcome(True, plan, accepted, float(rng.random()), float(rng.uniform(-1, 1)))
    return Outcome(False, None, accepted, 1.0, 0.0)


def _state(part) -> tuple:
    plans = (part.pot_plan, part.council_plan, part.shared_view, None if part.signing is None else part.signing[1])
    return (part.trust.matrix.copy(), part.year, list(part.delays), list(part.power_imbalance), part.concession,
            part.deadlocks_total, part.meetings_total, None if part.signing is None else part.signing[0], plans)


def _assert_same(a, b) -> None:
    sa, sb = _state(a), _state(b)
    np.testing.assert_array_equal(sa[0], sb[0])
    assert sa[1:-1] == sb[1:-1]
    for x, y in zip(sa[-1], sb[-1], strict=True):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)


def _assert_concluded_equal(m: ICSModel, month_of_year: int, rng: np.random.Generator, decide: bool = False) -> dict:
    """Every table of ``m`` tables its meeting; its outcome drawn (or decided); concluded at once,
    alone by the definition and alone by ``_conclude``: the same tables. Returns counts of what
    happened."""
    held = [(part, b) for part in m.partnerships if (b := part._business()) is not None]
    agendas = [b.agenda for _, b in held]
    outcomes = decide_all(agendas) if decide else [_random_outcome(a, rng) for a in agendas]
    parts, business = [p for p, _ in held], [b for _, b in held]
    together, alone, own = (copy.deepcopy((m, parts, business, outcomes)) for _ in range(3))
    conclude_all(together[1], together[2], together[3], month_of_year)
    for part, b, out in zip(*alone[1:], strict=True):
        concluded_alone(part, month_of_year, b, out)
    for part, b, out in zip(*own[1:], strict=True):
        part._conclude(month_of_year, b, out)
    for a, b, c in zip(together[0].partnerships, alone[0].partnerships, own[0].partnerships, strict=True):
        _assert_same(a, b)
        _assert_same(c, b)
    return {"decided": sum(o.decided for o in outcomes),
            "failed_several": sum(not o.decided and (~o.accepted).sum() > 1 for o in outcomes),
            "overruled": sum(o.decided and (~o.accepted).sum() > 0 for o in outcomes),
            "judged": sum(p.reference_plan() is not None for p in together[0].partnerships),
            "several_voters": sum(len(b.voters) > 1 for b in business)}


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["governance=consultative_forum", "interests.enabled=true"],  # advisory: a shared view
        ["governance=lead_provider"],  # neither the ICB nor the council at the table
        ["governance=individual_executive", "governance.sro_appointment=joint"],
        ["governance=joint_committee", "trust.dialogue=0.0", "decision.signoff_months=3"],  # no small wins
        ["governance=committee", "trust.dialogue=1.0", "trust.gain=0.35", "trust.loss_ratio=2.0"],
        ["system=herefordshire_worcestershire", "place_settings.herefordshire.governance.form=consultative_forum",
         "place_settings.worcestershire.decision_rule=majority"],
        ["system=herefordshire_worcestershire", "place_settings.herefordshire.governance.form=lead_provider",
         "place_settings.worcestershire.membership.vcse=false"],
    ],
)
def test_meetings_concluded_together_equal_each_meeting_concluded_alone(overrides):
    rng = np.random.default_rng(len(overrides) + 3)
    seen = {"decided": 0, "failed_several": 0, "overruled": 0, "judged": 0, "several_voters": 0}
    for months in (0, 5, 14, 19):
        m = _stepped(["years=2", *overrides], months, seed=int(rng.integers(100)))
        _scrambled(m, rng)
        for _ in range(3):
            counts = _assert_concluded_equal(m, int(rng.integers(12)), rng)
            seen = {k: seen[k] + counts[k] for k in seen}
        _assert_concluded_equal(m, int(rng.integers(12)), rng, decide=True)
    assert seen["decided"] > 0
    if seen["several_voters"]:  # a lead provider decides alone: nobody to overrule, one rejecter at most
        assert seen["overruled"] > 0 and seen["failed_several"] > 0
    assert seen["judged"] > 0 or "governance=lead_provider" in overrides


@pytest.mark.parametrize("central", [False, True])
def test_meetings_held_together_equal_each_meeting_held_alone_month_by_month(central):
    """hold_meetings over a run's meeting months against each table's own meet, from one state
    (with central delegation a binding table has no money to decide and holds no meeting)."""
    m = _stepped(["system=herefordshire_worcestershire", "years=2", *(["delegation=central"] if central else []),
                  "place_settings.herefordshire.governance.form=consultative_forum"], 4, seed=7)
    rng = np.random.default_rng(9)
    for _ in range(10):
        _scrambled(m, rng)
        moy = int(rng.integers(12))
        together, alone = copy.deepcopy(m), copy.deepcopy(m)
        got = hold_meetings(together.partnerships, moy)
        want = [part.meet(moy) for part in alone.partnerships]
        assert (None in got) == central
        for x, y in zip(got, want, strict=True):
            assert (x is None) == (y is None)
            if x is not None:
                assert x.decided == y.decided
                np.testing.assert_array_equal(x.accepted, y.accepted)
        for a, b in zip(together.partnerships, alone.partnerships, strict=True):
            _assert_same(a, b)
        m.step()


def test_a_failed_meeting_strains_trust_in_each_rejecter_from_every_other_voter():
    """The strain is on each rejecter's column (every other voter's trust in it): two rejecters'
    cells are distinct, and nothing else moves but the judgment of conduct."""
    m = ICSModel(load_config(["years=1", "governance=lead_provider", "trust.dialogue=0.0"])[0], seed=3)
    _scrambled(m, np.random.default_rng(1))
    part = m.partnerships[0]
    b = part._business()
    k = len(b.voters)
    # a lead provider alone votes; neither the ICB nor the council is seated to be judged
    assert k == 1 and not part.member("icb") and not part.member("council")
    before = part.trust.matrix.copy()
    accepted = np.zeros(k, dtype=bool)
    conclude_all([part], [b], [Outcome(False, None, accepted, 1.0, 0.0)], 3)
    np.testing.assert_array_equal(part.trust.matrix, before)  # no other voter to strain
    m = ICSModel(load_config(["years=1", "governance=committee"])[0], seed=3)
    _scrambled(m, np.random.default_rng(2))
    part = m.partnerships[0]
    part.last_pot_plan = part.last_council_plan = None  # nothing to judge
    assert part.reference_plan() is None
    b = part._business()
    idx = b.seat_idx
    accepted = np.ones(len(idx), dtype=bool)
    accepted[[1, 3]] = False
    before = part.trust.matrix.copy()
    conclude_all([part], [b], [Outcome(False, None, accepted, 1.0, 0.0)], 3)
    c = m.cfg.trust
    share = 1.0 - (1.0 - c.gain) ** (c.loss_ratio * STRAIN)
    want = before.copy()
    for r in (1, 3):
        rows = idx[idx != idx[r]]
        want[rows, idx[r]] = before[rows, idx[r]] - share * before[rows, idx[r]]
    np.testing.assert_array_equal(part.trust.matrix, want)
    assert part.year.deadlocks == 1 and part.year.failed_last and part.concession == m.cfg.decision.concession


def test_drifts_at_once_equal_each_drift_by_its_definition():
    """Bodies of many sizes (plans of fewer than 8 cells, of up to 128, and longer ones numpy sums
    in halves), in any order, with domains the table does not fund, empty envelopes and plans
    already aligned: each drift is plan_distance to aligned_target, exactly."""
    rng = np.random.default_rng(21)
    for _ in range(60):
        k = int(rng.integers(1, 40))
        sizes = rng.choice([1, 1, 2, 3, 7, 8, 9, 17, 25, 26, 36, 64, 101], k)
        references, plans, envs = [], [], []
        for n in sizes:
            reference = rng.random((n, 5)) * 10.0 ** rng.uniform(2, 8, (1, 5))
            reference[:, rng.random(5) < 0.15] = 0.0  # domains the table does not fund
            env = rng.random(5) * 1e7 * (rng.random(5) > 0.1)
            if rng.random() < 0.1:
                env[:] = 0.0
            plan = rng.random((n, 5)) * 10.0 ** rng.uniform(2, 8, (1, 5))
            if rng.random() < 0.2:  # a plan that follows the table
                plan = PlacePartnership.aligned_target(reference, plan, env)
            references.append(reference)
            plans.append(plan)
            envs.append(env)
        got = drifts(references, plans, envs)
        want = [plan_distance(p, PlacePartnership.aligned_target(r, p, e)) for r, p, e in zip(references, plans, envs, strict=True)]
        assert got.tolist() == want


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["governance=consultative_forum"],  # the ICB plans the pot beside an advisory table
        ["governance=lead_provider"],  # nobody with money of its own at the table
        ["system=herefordshire_worcestershire", "place_settings.herefordshire.governance.form=consultative_forum",
         "delegation=fixed", "delegation.share=0.5"],
        ["governance=joint_committee", "delegation=central"],  # an empty pot: nothing in it to judge
    ],
)
@pytest.mark.parametrize("months", [0, 8, 15])
def test_conduct_at_once_equals_each_table_s_conduct(overrides, months):
    m = _stepped(["years=2", *overrides], months)
    rng = np.random.default_rng(months)
    money = PlaceMoney.of(m.finance)
    drifting = 0
    for _ in range(3):
        for part in m.partnerships:  # plans of every kind: none, the table's own, drifting away
            if part.last_pot_plan is not None and rng.random() < 0.8:
                part.pot_plan = part.last_pot_plan * rng.uniform(0.5, 1.5, part.last_pot_plan.shape)
                part.pot_plan[:, rng.random(5) < 0.2] = 0.0
            if part.last_council_plan is not None and rng.random() < 0.8:
                part.council_plan = part.last_council_plan * rng.uniform(0.7, 1.3, part.last_council_plan.shape)
            elif rng.random() < 0.3:
                part.council_plan = None
            if not part.structure.binding and part.last_pot_plan is not None and rng.random() < 0.8:
                part.shared_view = part.last_pot_plan * rng.uniform(0.9, 1.1, part.last_pot_plan.shape)  # advice
        for parts in (m.partnerships, m.partnerships[::-2]):
            for part in parts:  # some tables keep drifts (perhaps for plans since changed), some none
                if rng.random() < 0.4:
                    part._drift_memo.clear()
            got = _conduct_all(parts, money)
            kept = [dict(part._drift_memo) for part in parts]
            for part in parts:
                part._drift_memo.clear()
            assert got == [part._conduct() for part in parts]  # each worked out afresh
            for was, part in zip(kept, parts, strict=True):  # and kept as the table keeps them
                assert {key: was.get(key) for key in part._drift_memo} == part._drift_memo
            assert got == [part._conduct(money) for part in parts]
            drifting += sum(drift > 0 for judged in got for _, drift in judged)
    assert drifting > 0 or "governance=lead_provider" in overrides
