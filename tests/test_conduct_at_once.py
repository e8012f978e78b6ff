"""Reviews, conduct judgments and meeting bills worked out for every place table at once give
exactly the numbers the table-by-table definitions give (issue 13). Whole runs are held to the same
standard by ``scripts/fingerprint.py``; these tests cover branches its runs may miss (advisory
tables, a joint SRO, a lead provider, dialogue switched off or at full weight, tables whose trust
is not yet held in the array of every table's trust, a move on the ladder, a deep copy)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from reference_tables import judged_alone
from reference_tables import stepped as _stepped

from ics_sim.config import load_config
from ics_sim.model import running_costs
from ics_sim.model.governance.partnership import plan_own_budgets_all, review_all
from ics_sim.model.ics_model import ICSModel


def _reviewed_alone(part) -> None:
    """One table's review, the definition: the meeting counted, every pair's small win by
    TrustNetwork.success, then each statutory body judged on its own money (summed on its own row)
    by TrustNetwork.success and .violation, member by member."""
    part.meetings_total += 1
    part.year.meetings += 1
    trust, n = part.trust, len(part.seats)
    dialogue = part.model.cfg.trust.dialogue
    if n > 1 and dialogue > 0:
        for i in range(n):
            for j in range(n):
                if i != j:
                    trust.success(i, j, weight=float(dialogue))
    judged_alone(part)


def _scrambled(m: ICSModel, seed: int = 11) -> None:
    """Trust away from its start (some members tolerant, some not: kept and broken both happen),
    written into each network's matrix in place."""
    rng = np.random.default_rng(seed)
    for part in m.partnerships:
        part.trust.matrix[...] = rng.random(part.trust.matrix.shape)
        part.trust._unit_diagonal()


def _assert_reviews_equal(m: ICSModel, parts_of=lambda m: m.partnerships) -> int:
    together, alone = copy.deepcopy(m), copy.deepcopy(m)
    review_all(parts_of(together))
    judged = 0
    for part in parts_of(alone):
        judged += part.reference_plan() is not None
        _reviewed_alone(part)
    for a, b in zip(together.partnerships, alone.partnerships, strict=True):
        np.testing.assert_array_equal(a.trust.matrix, b.trust.matrix)
        assert (a.meetings_total, a.year.meetings) == (b.meetings_total, b.year.meetings)
    # and one table's own review (its trust network's own updates, its money alone)
    one = copy.deepcopy(m)
    for part in parts_of(one):
        part.review()
    for a, b in zip(one.partnerships, alone.partnerships, strict=True):
        np.testing.assert_array_equal(a.trust.matrix, b.trust.matrix)
    return judged


@pytest.mark.parametrize(
    "overrides",
    [
        ["governance=lead_provider"],
        ["governance=individual_executive", "governance.sro_appointment=joint"],
        ["governance=consultative_forum", "trust.dialogue=0.0"],  # no small wins
        ["governance=committee", "trust.dialogue=1.0", "membership.vcse=false", "membership.healthwatch=false"],
        ["governance=joint_committee", "interests.enabled=true", "delegation=fixed", "delegation.share=0.5"],
        ["system=herefordshire_worcestershire", "place_settings.herefordshire.governance.form=consultative_forum"],
    ],
)
def test_tables_reviewed_together_equal_each_table_reviewed_alone(overrides):
    m = _stepped(["years=2", *overrides], 19)
    _scrambled(m)
    assert _assert_reviews_equal(m) > 0
    # a subset of the tables, in another order, reviews only those
    assert _assert_reviews_equal(m, lambda m: m.partnerships[::-2]) >= 0


def test_tables_reviewed_before_their_trust_is_held_in_one_array_and_after_a_deep_copy():
    """Month 0 (before the first monthly relaxation packs every table's trust into one array), a
    network replaced by a move on the ladder, and a deep copy (its matrices are no longer views of
    the copied array): the review packs the array again and still gives the same numbers."""
    m = ICSModel(load_config(["years=1", "governance=consultative_forum"])[0], seed=3)
    assert m.trust_tables._networks == []  # nothing held yet
    for part in m.partnerships:
        part.shared_view = part.last_pot_plan  # something to judge against
        part.council_plan = part.last_council_plan * 1.3
    _scrambled(m, seed=4)
    _assert_reviews_equal(m)
    stepped = _stepped(["years=2", "governance=consultative_forum"], 14, seed=5)
    _scrambled(stepped, seed=6)
    stepped.trust_tables.relax([p.trust for p in stepped.partnerships])  # held
    part = stepped.partnerships[0]
    part.next_form = "committee"
    part.change_form()  # a new network, not yet held
    assert part.trust.matrix.base is not stepped.trust_tables._flat
    _assert_reviews_equal(stepped)
    twin = copy.deepcopy(stepped)
    twin.trust_tables.relax([p.trust for p in twin.partnerships])
    twin_copy = copy.deepcopy(twin)
    assert twin_copy.partnerships[1].trust.matrix.base is not twin_copy.trust_tables._flat
    _assert_reviews_equal(twin_copy)


def test_meetings_booked_at_once_equal_each_meeting_booked_in_turn():
    m = _stepped(["system=herefordshire_worcestershire", "years=1",
                  "place_settings.herefordshire.governance.form=lead_provider"], 2)
    L, c = m.layout, m.cfg
    parts = [m.partnerships[1], m.partnerships[0], m.partnerships[1], *m.partnerships]  # one table twice
    start = running_costs.RunningCosts.zeros(L.n_systems, L.n_places)
    rng = np.random.default_rng(2)
    for name in ("icb", "council", "pot", "vcse", "by_place"):
        getattr(start, name)[:] = rng.random(getattr(start, name).shape) * 1e4  # an ICP meeting before
    at_once, in_turn = copy.deepcopy(start), copy.deepcopy(start)
    running_costs.book_meetings(at_once, c, parts, L.place_system)
    for part in parts:
        running_costs.book_meeting(in_turn, c, part, int(L.place_system[part.place]))
    for name in ("icb", "council", "pot", "vcse", "by_place"):
        np.testing.assert_array_equal(getattr(at_once, name), getattr(in_turn, name))
    empty = copy.deepcopy(start)
    running_costs.book_meetings(empty, c, [], L.place_system)
    np.testing.assert_array_equal(empty.by_place, start.by_place)


@pytest.mark.parametrize("overrides", [[], ["delegation=central"], ["delegation=central", "governance=consultative_forum"]])
def test_empty_pots_worked_out_once_agree_with_each_table_s_own_sum(overrides):
    m = _stepped(["years=1", *overrides], 1)
    empty = m._empty_pots()
    for part in m.partnerships:  # each table's own sum, as the table alone would add it
        own_sum = m.finance.pot_envelope[part.place].sum()
        assert empty[part.place] == (own_sum <= 0.0)
        assert m._nothing_to_decide(part, empty) == (part.structure.binding and own_sum <= 0.0)


def test_the_icp_s_tables_are_its_system_s_tables_in_order():
    m = _stepped(["system=herefordshire_worcestershire", "years=1"], 1)
    for icp in m.icps:
        want = [p for p in m.partnerships if m.layout.place_system[p.place] == icp.system]
        assert icp.tables(m) == want and want
        assert icp.tables(m) is icp.tables(m)  # found once


def _plans(m: ICSModel) -> list[tuple]:
    return [(p.council_plan, p.pot_plan) for p in m.partnerships]


def _assert_plans_equal(m: ICSModel, parts_of=lambda m: m.partnerships) -> None:
    together, alone = copy.deepcopy(m), copy.deepcopy(m)
    plan_own_budgets_all(parts_of(together))
    for part in parts_of(alone):
        part.plan_own_budgets()
    for got, want in zip(_plans(together), _plans(alone), strict=True):
        for a, b in zip(got, want, strict=True):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)
                assert a.flags.owndata or a.base is None or a.base.size == a.size  # a plan of its own


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["governance=consultative_forum", "interests.enabled=true"],  # the ICB plans the pot too
        ["governance=lead_provider"],  # the council is not at the table: its own view, no lean
        ["governance=individual_executive", "governance.sro_appointment=joint", "allocation=need_weighted_hi"],
        ["governance=joint_committee", "allocation=per_head", "delegation=central"],
        ["governance=consultative_forum", "delegation=central"],  # an empty pot planned beside the table
        ["system=herefordshire_worcestershire", "place_settings.herefordshire.governance.form=consultative_forum"],
    ],
)
@pytest.mark.parametrize("months", [0, 14])
def test_own_budgets_planned_together_equal_each_table_planning_alone(overrides, months):
    m = _stepped(["years=2", *overrides], months)
    _scrambled(m, seed=8)  # listening weights of every size
    _assert_plans_equal(m)
    _assert_plans_equal(m, lambda m: m.partnerships[::-3])
    # a table's plan with a domain its reference does not fund (the body keeps its own there)
    for part in m.partnerships:
        if part.structure.binding and part.last_pot_plan is not None:
            part.pot_plan = part.last_pot_plan.copy()
            part.pot_plan[:, 1] = 0.0
        elif part.shared_view is None and part.last_pot_plan is not None:
            part.shared_view = part.last_pot_plan.copy()
            part.shared_view[:, 2] = 0.0
    _assert_plans_equal(m)


def test_own_budgets_planned_together_spread_a_domain_nobody_is_believed_to_need():
    """make_plan's even spread of a domain with no believed need, for bodies at the table and not:
    the councils of every other place see (next to) nothing of one domain's need, through their
    observer field's error, which every reader of their beliefs reads."""
    for form in ("lead_provider", "committee"):
        m = _stepped(["years=1", f"governance={form}"], 3)
        obs = m.observation
        for part in m.partnerships[::2]:
            # not at the table: its own belief, no logarithm taken, so nothing seen at all
            # (exp(-1000) is 0.0); at the table a belief of about 1e-300 (its logarithm is taken)
            obs.errors["council"][part.idx, 3] = -1000.0 if form == "lead_provider" else -690.0
        obs._clear_cache()
        for part in m.partnerships[::2]:
            belief = part.orgs["council"].belief(part.idx)
            assert np.all(belief.visible[:, 3] < 1e-290) and belief.visible[:, 3].any() == (form == "committee")
        _assert_plans_equal(m)
