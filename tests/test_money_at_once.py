"""Commissioning, running costs, the ledger and the VCSE sectors' finances done for every place at
once give, bit for bit, what one place (or system, or holder) at a time gives: each whole-place
function is checked against the per-place computation it replaced (kept here, or in the model, as
the reference)."""

from __future__ import annotations

import copy
from collections import defaultdict

import numpy as np
import pytest

from ics_sim.config import load_config
from ics_sim.domains import N_DOMAINS
from ics_sim.grouped import Groups
from ics_sim.model import commissioning, running_costs
from ics_sim.model.delivery import deliver
from ics_sim.model.governance.trust import held_flat
from ics_sim.model.ics_model import ICSModel


def _model(overrides: list[str], months: int, seed: int = 3) -> ICSModel:
    cfg, _ = load_config(overrides=overrides)
    m = ICSModel(cfg, seed=seed, timeseries=False)
    for _ in range(months):
        m.step()
    return m


GOVERNANCE = [
    [],
    ["governance=joint_committee", "delegation=fixed", "delegation.share=0.5"],
    ["governance=lead_provider", "governance.outcome_payment_share=0.5"],
    ["governance=consultative_forum"],
    ["governance=individual_executive", "governance.sro_appointment=joint"],
    ["system=herefordshire_worcestershire", "place_settings.herefordshire.governance.form=joint_committee"],
]


@pytest.mark.parametrize("overrides", GOVERNANCE)
def test_every_place_at_once_gives_each_place_its_own_numbers(overrides):
    m = _model(overrides, months=15)
    parts = m.partnerships
    pot, council = commissioning.pot_spending(m), commissioning.council_spending(m)
    holders = [p.voters[0] if p.voters else None for p in parts]
    forums = [p.forum_belief() for p in parts]
    whole = m.table_views.whole_forums(parts)
    outreach = commissioning.holder_outreach(m, whole)
    for part, holder, forum in zip(parts, holders, forums, strict=True):
        i = part.idx
        np.testing.assert_array_equal(pot[i], commissioning.pot_spend(m, part))
        np.testing.assert_array_equal(council[i], commissioning.council_spend(m, part))
        np.testing.assert_array_equal(whole.visible[i], forum.visible)
        np.testing.assert_array_equal(whole.hidden[i], forum.hidden)
        own = part.working_belief(holder, forum) if holder is not None else forum
        np.testing.assert_array_equal(outreach[i], own.outreach_share)
    assert commissioning.integrations(m).tolist() == [commissioning.integration(m, p) for p in parts]


def _trust_place_by_place(m) -> dict:
    """Each table's trust as commissioning read it one place at a time: the reference."""
    out = {k: [] for k in ("mean", "icb_council", "holder_council", "vcse_holder", "vcse_icb", "listening")}
    for part in m.partnerships:
        holder = part.voters[0] if part.voters else None
        key = holder.label if holder else "icb"
        out["mean"].append(part.mean_trust())
        out["icb_council"].append(part.trust_between("icb", "council"))
        out["holder_council"].append(part.trust_between(key, "council"))
        out["vcse_holder"].append(part.trust_between("vcse", key))
        out["vcse_icb"].append(part.trust_between("vcse", "icb") if part.member("vcse") else 0.0)
        out["listening"].append(part.listening_weight(holder.label) if holder is not None else 0.0)
    return out


def _assert_table_trust(m) -> None:
    got, want = commissioning.table_trust(m), _trust_place_by_place(m)
    for name, values in want.items():
        assert getattr(got, name).tolist() == values, name


@pytest.mark.parametrize("overrides", GOVERNANCE + [["governance=consultative_forum", "governance.ladder=true"]])
def test_every_tables_trust_at_once_is_each_tables_own(overrides):
    m = _model(overrides, months=15)
    for part in m.partnerships:  # trust moved apart, pair by pair
        part.trust.matrix[...] = np.random.default_rng(part.place).uniform(0.05, 0.95, part.trust.matrix.shape)
        part.trust._unit_diagonal()
    m.trust_tables.relax([part.trust for part in m.partnerships])
    assert held_flat(m.trust_tables, [part.trust for part in m.partnerships]) is not None
    _assert_table_trust(m)  # read from the tables' array
    _assert_table_trust(copy.deepcopy(m))  # a snapshot's matrices are no longer views: copied end to end
    part = m.partnerships[0]
    part.next_form = "joint_committee" if part.form != "joint_committee" else "committee"
    part.change_form()  # seated afresh, with a network the tables do not hold yet
    assert held_flat(m.trust_tables, [part.trust for part in m.partnerships]) is None
    _assert_table_trust(m)
    assert commissioning._seating(m).holders[0] is part.voters[0]


def _charge_place_by_place(costs, layout, central, pot, council, vcse):
    """The running costs taken one place (and system) at a time: the reference."""
    L, take = layout, running_costs._take
    paid = running_costs.RunningCosts.zeros(L.n_systems, L.n_places)
    left_icb = costs.icb.copy()
    for p, i in enumerate(L.place_index):
        rest = take(vcse, i, costs.vcse[p])
        paid.vcse[p] = costs.vcse[p] - rest
        due = costs.council[p] + rest
        rest = take(council, i, due)
        paid.council[p] = due - rest
        due = costs.pot[p] + rest
        rest = take(pot, i, due)
        paid.pot[p] = due - rest
        left_icb[int(L.place_system[p])] += rest
    for s, rows in enumerate(L.system_index):
        rest = take(central, rows, left_icb[s])
        paid.icb[s] = left_icb[s] - rest
        for p in np.flatnonzero(L.place_system == s):
            before = rest
            rest = take(pot, L.place_index[p], rest)
            paid.pot[p] += before - rest
    return paid


def test_running_costs_are_taken_as_one_place_after_another():
    m = _model(["system=england", "years=1"], months=2)
    L = m.layout
    rng = np.random.default_rng(0)
    shape = (L.n_neighbourhoods, N_DOMAINS)
    spend = {k: rng.lognormal(10.0, 2.0, shape) for k in ("central", "pot", "council", "vcse")}
    spend["vcse"][L.nb_place < 5] = 0.0  # folded VCSE sectors: their costs fall to the council
    spend["council"][L.nb_place % 7 == 0] = 0.0  # and on to the pot
    spend["pot"][L.nb_place % 11 == 0] = 0.0  # and on to the ICB
    spend["central"][L.nb_system == 3] = 0.0  # an ICB with no retained money: its places' pots pay
    costs = running_costs.RunningCosts.zeros(L.n_systems, L.n_places)
    for arr in (costs.vcse, costs.council, costs.pot, costs.icb):
        arr[:] = rng.lognormal(8.0, 1.0, arr.shape) * (rng.random(arr.shape) < 0.8)
    costs.icb[3] = 5e4
    whole = {k: v.copy() for k, v in spend.items()}
    alone = {k: v.copy() for k, v in spend.items()}
    paid = running_costs.charge(costs, L, whole["central"], whole["pot"], whole["council"], whole["vcse"])
    ref = _charge_place_by_place(costs, L, alone["central"], alone["pot"], alone["council"], alone["vcse"])
    for k in spend:
        np.testing.assert_array_equal(whole[k], alone[k])
    for k in ("icb", "council", "pot", "vcse"):
        np.testing.assert_array_equal(getattr(paid, k), getattr(ref, k))
    # ICB 3 could pay nothing itself: its places' pots paid its share, on top of their own
    ps = L.place_system == 3
    assert paid.icb[3] == 0.0 and paid.pot[ps].sum() > costs.pot[ps].sum()
    assert np.array_equal(paid.by_place, costs.by_place)


@pytest.mark.parametrize("overrides", [[], ["system=england", "years=1"]])
def test_running_costs_taken_at_once_in_many_cases_are_one_place_after_another(overrides):
    """Random spending and costs, with folded VCSE sectors, empty council budgets, empty pots and
    ICBs with no retained money in varying places, zero and -0.0 cells: each payer's blocks and
    payments are the place-by-place reference's, bit for bit."""
    m = _model(overrides, months=1)
    L = m.layout
    rng = np.random.default_rng(21)
    shape = (L.n_neighbourhoods, N_DOMAINS)
    compared = 0
    for _ in range(25):
        spend = {k: rng.lognormal(10.0, 2.0, shape) * (rng.random(shape) < 0.9) for k in ("central", "pot", "council", "vcse")}
        for k in ("vcse", "council", "pot"):
            spend[k][rng.random(L.n_places)[L.nb_place] < 0.2] = 0.0
        spend["pot"][rng.random(shape) < 0.05] = -0.0
        spend["central"][rng.random(L.n_systems)[L.nb_system] < 0.2] = 0.0
        costs = running_costs.RunningCosts.zeros(L.n_systems, L.n_places)
        for arr in (costs.vcse, costs.council, costs.pot, costs.icb, costs.by_place):
            arr[:] = rng.lognormal(6.0, 2.0, arr.shape) * (rng.random(arr.shape) < 0.7)
        whole = {k: v.copy() for k, v in spend.items()}
        alone = {k: v.copy() for k, v in spend.items()}
        try:
            paid = running_costs.charge(costs, L, whole["central"], whole["pot"], whole["council"], whole["vcse"])
        except ValueError:  # a system whose places cannot cover its costs either: nothing to compare
            continue
        ref = _charge_place_by_place(costs, L, alone["central"], alone["pot"], alone["council"], alone["vcse"])
        for k in spend:
            assert np.array_equal(whole[k], alone[k]) and np.array_equal(np.signbit(whole[k]), np.signbit(alone[k]))
        for k in ("icb", "council", "pot", "vcse"):
            assert np.array_equal(getattr(paid, k), getattr(ref, k))
        assert np.array_equal(paid.by_place, costs.by_place)  # what was incurred per place, passed on as it is
        compared += 1
    assert compared >= 10  # most random cases can be paid: the comparison is not skipped


def test_overheads_are_booked_as_one_place_after_another():
    m = _model(["system=england", "years=1", "chair=independent", "governance.pooled=true"], months=1)
    costs = running_costs.RunningCosts.zeros(m.layout.n_systems, m.layout.n_places)
    _assert_overheads(m, costs)
    _assert_overheads(m, costs)  # the places' terms kept from the last month
    assert costs._overheads[0] is m.partnerships
    import dataclasses

    m.partnerships[3].pooled = False  # a table's pooling, or its settings, replaced: read afresh
    m.partnerships[5].settings = dataclasses.replace(m.partnerships[5].settings, chair="icb")
    _assert_overheads(m, costs)


def _assert_overheads(m, costs) -> None:
    L = m.layout
    costs.reset()
    running_costs.book_overheads(costs, L, m.partnerships, m.finance.pot_envelope)
    ref = running_costs.RunningCosts.zeros(L.n_systems, L.n_places)
    for part in m.partnerships:  # the per-place booking the array version replaced
        k, p, s = part.settings.costs, part.place, int(L.place_system[part.place])
        env = m.finance.pot_envelope[p]
        pot = k.reporting_share * env.sum() / 12.0
        if part.pooled:
            pot += k.pooled_admin_gbp / 12.0
        if part.contracted:
            pot += k.contract_management * env.sum() / 12.0
        if pot > 0:
            ref.add("pot", p, s, pot)
        if part.settings.chair == "independent":
            ref.add("icb", p, s, 0.5 * k.independent_chair_gbp / 12.0)
            ref.add("council", p, s, 0.5 * k.independent_chair_gbp / 12.0)
    for k in ("icb", "council", "pot", "vcse", "by_place"):
        np.testing.assert_array_equal(getattr(costs, k), getattr(ref, k))
    assert (costs.icb > 0).all()


def _book_holder_by_holder(model, spending, spent: dict, run: dict) -> None:
    """The ledger's booking one holder at a time: the reference."""
    L, fin, paid = model.layout, model.finance, spending.running
    for s, rows in enumerate(L.system_index):
        spent[f"icb_retained:{s}"] += spending.central[rows].sum() / 12.0
        run[f"icb_retained:{s}"] += paid.icb[s]
        run[f"icb:{s}"] += paid.icb[s]
    for p, i in enumerate(L.place_index):
        s = int(L.place_system[p])
        pot_p = spending.pot[i].sum() / 12.0
        spent[f"pot:{p}"] += pot_p
        run[f"pot:{p}"] += paid.pot[p]
        env = fin.pot_envelope[p].sum()
        council_in_pot = (fin.council_budget[p] - fin.council_own_envelope(p)).sum()
        share = (env - council_in_pot) / env if env > 0 else 1.0
        spent[f"council:{p}"] += spending.council[i].sum() / 12.0 + pot_p * (1 - share)
        run[f"council:{p}"] += paid.council[p] + paid.pot[p] * (1 - share)
        for key in (f"icb:{s}", f"icb_delegated:{s}"):
            spent[key] += pot_p * share
            run[key] += paid.pot[p] * share
        spent[f"vcse:{p}"] += spending.vcse_external[i].sum() / 12.0
        run[f"vcse:{p}"] += paid.vcse[p]
    for s, rows in enumerate(L.system_index):
        spent[f"icb:{s}"] += spending.central[rows].sum() / 12.0


def test_the_ledger_books_every_holder_as_one_holder_after_another():
    m = _model(["system=england", "years=1", "governance=joint_committee", "governance.pooled=true"], months=0)
    spent, run = defaultdict(float), defaultdict(float)  # the year opens at the first step
    real_book = m.ledger.book

    def book(model, spending):
        real_book(model, spending)
        _book_holder_by_holder(model, spending, spent, run)

    m.ledger.book = book
    for _ in range(3):
        m.step()
    assert list(m.ledger.year_spent) == list(m.ledger.year_budget)
    assert m.ledger.year_spent == dict(spent) and m.ledger.year_running == dict(run)
    assert all(v > 0 for v in spent.values())


def test_mutual_aid_for_every_system_is_each_system_alone():
    m = _model(["system=england", "years=1"], months=1)
    L = m.layout
    rng = np.random.default_rng(1)
    capacity = rng.lognormal(15.0, 0.3, (L.n_places, N_DOMAINS))
    need = rng.lognormal(12.0, 0.5, (L.n_neighbourhoods, N_DOMAINS))
    funder = commissioning.Funder("x", need * rng.uniform(0.5, 1.5, need.shape), np.zeros_like(need), np.ones_like(need))
    mutual = np.array([True, True, False, True, False])
    d = deliver([funder], {}, need, 0.1 * need, capacity, L.nb_place, L.place_system, 0.2, mutual, L.system_places)
    demand = d.demand_by_place
    for s in range(L.n_systems):  # the per-system computation the whole-layout one replaced
        ps = L.place_system == s
        spare = np.maximum(capacity[ps] - demand[ps], 0.0).sum(axis=0)
        short = np.maximum(demand[ps] - capacity[ps], 0.0).sum(axis=0)
        fill = np.divide(0.9 * spare, short, out=np.zeros_like(spare), where=short > 0)
        fill = np.where(mutual, np.minimum(fill, 1.0), 0.0)
        extra = np.maximum(demand[ps] - capacity[ps], 0.0) * fill[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(demand[ps] > 0, np.minimum((np.minimum(capacity[ps], demand[ps]) + extra) / demand[ps], 1.0), 1.0)
        np.testing.assert_array_equal(d.capacity_ratio[ps], r)
    assert (d.capacity_ratio < 1.0).any() and (d.capacity_ratio == 1.0).any()


def test_vcse_sectors_step_together_as_each_would_alone():
    m = _model(["shocks=funding_cut", "allocation=per_head", "delegation=central"], months=40, seed=5)
    together, alone = copy.deepcopy(m), copy.deepcopy(m)
    for _ in range(24):
        together.vcse_sectors.step()
        for v in alone.vcses:  # one place's sector at a time, in place order
            v.step()
    for name in together.vcse_sectors.FIELDS:
        np.testing.assert_array_equal(getattr(together.vcse_sectors, name), getattr(alone.vcse_sectors, name))
    np.testing.assert_array_equal(together.vcse_sectors.folds, alone.vcse_sectors.folds)
    assert together.rng_sector.random() == alone.rng_sector.random()
    assert together.vcse_sectors.folds.sum() > 0 and (~together.vcse_sectors.alive).any()


def _vcse_step_reference(sectors, rows=slice(None)) -> None:
    """VCSESectors.step as it was written kind by kind (the definition): grant-funded and
    externally funded weights and payments worked out one after the other."""
    c = sectors.model.cfg.providers
    live = sectors.alive[rows]
    any_live = live.any(axis=1)
    if any_live.any():
        size, dep, capacity = sectors.size[rows], sectors.grant_dependence[rows], sectors.capacity[rows]
        income, cost, reserves = sectors.income[rows], sectors.cost[rows], sectors.reserves[rows]
        g = size * dep * capacity * live
        e = size * (1.0 - dep) * capacity * live
        g_total, e_total = g.sum(axis=1)[:, None], e.sum(axis=1)[:, None]
        paid = np.zeros_like(income)
        paid += np.divide(sectors.grants_month[rows][:, None] * g, g_total, out=np.zeros_like(g), where=g_total > 0)
        paid += np.divide(sectors.external_month[rows][:, None] * e, e_total, out=np.zeros_like(e), where=e_total > 0)
        income = np.where(live, income + (12.0 * paid - income) / 12.0, income)
        reserves = np.where(live, reserves + (paid - cost / 12.0), reserves)
        reserves = np.where(any_live[:, None], np.minimum(reserves, sectors.reserve_months[rows] * cost / 12.0), reserves)
        step = (c.vcse_running_cost * income - cost) / c.vcse_cost_months
        cost = np.where(live, cost + np.maximum(step, -cost * c.vcse_cost_cut / 12.0), cost)
        sectors.income[rows], sectors.cost[rows], sectors.reserves[rows] = income, cost, reserves
        broke = live & (reserves < 0.0)
        if broke.any():
            alive, original, folded = sectors.alive[rows], sectors.original[rows], sectors.months_folded[rows]
            alive[broke] = False
            original[broke] = False
            folded[broke] = 0.0
            sectors.alive[rows], sectors.original[rows], sectors.months_folded[rows] = alive, original, folded
            sectors.folds[rows] += broke.sum(axis=1)
    sectors._rebuild(c, rows)


@pytest.mark.parametrize(
    "overrides, seed",
    [
        (["shocks=funding_cut", "allocation=per_head", "delegation=central"], 5),
        (["shocks=funding_cut", "interests.enabled=true"], 9),
        (["system=herefordshire_worcestershire"], 3),
    ],
)
def test_vcse_sectors_step_pays_both_kinds_of_money_as_kind_by_kind(overrides, seed):
    """Both kinds of money paid in one array equal the kind-by-kind payments, month after month
    (bodies folding and starting again), for every place at once and for one place's row;
    including grants of zero and of -0.0 and a place with every body folded."""
    m = _model(overrides, months=30, seed=seed)
    fast, ref = copy.deepcopy(m), copy.deepcopy(m)
    rng = np.random.default_rng(seed)
    for month in range(36):
        grants = fast.vcse_sectors.grants_month * rng.uniform(0.0, 2.0, len(fast.vcses))
        grants[rng.random(len(grants)) < 0.2] = rng.choice([0.0, -0.0])
        for model in (fast, ref):
            model.vcse_sectors.grants_month[:] = grants
            if month == 10:
                model.vcses[1].alive[:] = False
        rows = slice(None) if month % 3 else slice(1, 2)
        fast.vcse_sectors.step(rows)
        _vcse_step_reference(ref.vcse_sectors, rows)
        for name in (*fast.vcse_sectors.FIELDS, "folds"):
            assert np.array_equal(getattr(fast.vcse_sectors, name), getattr(ref.vcse_sectors, name)), name
    assert fast.rng_sector.random() == ref.rng_sector.random()
    assert fast.vcse_sectors.folds.sum() > m.vcse_sectors.folds.sum()  # bodies folded on the way


def test_each_vcse_agent_reads_and_writes_its_row_of_the_sectors():
    m = _model([], months=2)
    v, sectors = m.vcses[2], m.vcse_sectors
    assert np.shares_memory(v.reserves, sectors.reserves)
    v.alive[:] = False  # what tests and the workshop do to fold a sector
    assert not sectors.alive[2].any() and sectors.operating().tolist() == [True, True, False, True]
    assert v.hidden_reach() == 0.0 and sectors.grant_capacity()[2] == 0.0 == v.grant_capacity()
    v.capacity = np.full(len(v.capacity), 0.5)  # assigning writes into the shared row
    assert (sectors.capacity[2] == 0.5).all()
    copied = copy.deepcopy(m)  # a snapshot (the workshop's) keeps its own, linked, state
    copied.vcses[0].alive[:] = False
    assert not copied.vcse_sectors.alive[0].any() and m.vcse_sectors.alive[0].all()


def test_per_place_blocks_are_laid_out_whatever_the_numbering():
    from ics_sim.model.geography import Layout

    rng = np.random.default_rng(2)
    for nb_place in (np.array([0, 0, 0, 1, 1, 2]), np.array([1, 0, 2, 1, 0, 0])):  # place after place, or interleaved
        n = len(nb_place)
        L = Layout(["S"], ["a", "b", "c"], np.zeros(3, int), nb_place, np.ones(n), np.linspace(0, 1, n), np.full(n, 0.2), np.ones(1))
        blocks = [rng.random((len(i), N_DOMAINS)) for i in L.place_index]
        blocks[1] = None  # a place with no plan: zeros
        expected = np.zeros((n, N_DOMAINS))
        for i, b in zip(L.place_index, blocks, strict=True):
            if b is not None:
                expected[i] = b
        np.testing.assert_array_equal(commissioning._laid_out(L, blocks), expected)


def test_a_meeting_is_billed_as_its_table_is_seated_now():
    """book_meetings keeps each table's bill while its seats are unchanged; a new seating (a move
    on the ladder of formality) is billed afresh, as meeting_cost prices it."""
    m = _model([], months=1)
    part, c = m.partnerships[0], m.cfg
    s = int(m.layout.place_system[part.place])
    for form in (part.form, "consultative_forum", "joint_committee"):
        part.form = form
        part._seat()
        for _ in range(2):  # the second booking reads the cached bill
            costs = running_costs.RunningCosts.zeros(m.layout.n_systems, m.layout.n_places)
            ref = running_costs.RunningCosts.zeros(m.layout.n_systems, m.layout.n_places)
            for payer, amount in running_costs.meeting_cost(c, part).items():
                ref.add(payer, part.place, s, amount)
            running_costs.book_meetings(costs, c, [part], m.layout.place_system)
            for name in ("icb", "council", "pot", "vcse", "by_place"):
                np.testing.assert_array_equal(getattr(costs, name), getattr(ref, name))


def test_plans_laid_out_again_when_a_table_replaces_one():
    """pot_spending and council_spending keep last month's laid-out plans while every plan is the
    same array; a plan replaced (a decision, a new year) is read afresh."""
    m = _model(["system=herefordshire_worcestershire"], months=15)
    parts = m.partnerships
    for _ in range(2):
        commissioning.pot_spending(m), commissioning.council_spending(m)
        for k, part in enumerate(parts):
            if part.pot_plan is not None:
                part.pot_plan = part.pot_plan * (1.0 + 0.1 * k)
            part.last_council_plan = part.last_council_plan * 0.9
            part.council_plan = None
        pot, council = commissioning.pot_spending(m), commissioning.council_spending(m)
        pot[:] = -1.0  # the caller's own array: the kept layout is untouched
        pot = commissioning.pot_spending(m)
        for part in parts:
            np.testing.assert_array_equal(pot[part.idx], commissioning.pot_spend(m, part))
            np.testing.assert_array_equal(council[part.idx], commissioning.council_spend(m, part))


def test_councils_reach_hidden_need_at_once_as_each_alone():
    m = _model([], months=1)
    assert type(m.councils[0]).hidden_reaches(m.councils).tolist() == [c.hidden_reach() for c in m.councils]


def _spend_funder_by_funder(funders, coordination, duplication_rate):
    """The funders' spending, effective care, outreach and duplication added one funder (and one
    pair) after another: the reference for deliver's stacked sums."""
    shape = funders[0].spend.shape
    spend, effective, outreach, duplicated = (np.zeros(shape) for _ in range(4))
    for f in funders:
        spend += f.spend
        eff = f.spend * f.efficiency
        effective += eff
        outreach += eff * f.outreach
    for (a, b), coord in coordination.items():
        overlap = np.minimum(funders[a].spend, funders[b].spend)
        duplicated += duplication_rate * overlap * (1.0 - coord)[:, None]
    return spend, effective, outreach, duplicated


@pytest.mark.parametrize("pairs", [{}, {(0, 1): 0, (0, 2): 1, (1, 2): 2, (0, 3): 3, (1, 3): 3, (2, 3): 3}])
def test_funders_stacked_add_up_as_one_funder_after_another(pairs):
    rng = np.random.default_rng(4)
    n = 57
    funders = []
    for k in range(4):
        spend = rng.lognormal(10.0, 2.0, (n, N_DOMAINS)) * (rng.random((n, N_DOMAINS)) < 0.7)
        funders.append(commissioning.Funder(str(k), spend, rng.random((n, N_DOMAINS)), rng.uniform(0.5, 1.5, (n, N_DOMAINS))))
    coords = [rng.random(n) for _ in range(4)]
    coordination = {pair: coords[c] for pair, c in pairs.items()}
    need = rng.lognormal(11.0, 1.0, (n, N_DOMAINS))
    nb_place = np.repeat(np.arange(3), [20, 20, 17])
    d = deliver(funders, coordination, need, 0.2 * need, np.full((3, N_DOMAINS), 1e7), nb_place, np.zeros(3, int), 0.3, np.zeros(N_DOMAINS, bool))
    grouped = deliver(funders, coordination, need, 0.2 * need, np.full((3, N_DOMAINS), 1e7), nb_place, np.zeros(3, int), 0.3,
                      np.zeros(N_DOMAINS, bool), places=Groups([np.flatnonzero(nb_place == p) for p in range(3)], n))
    np.testing.assert_array_equal(grouped.demand_by_place, d.demand_by_place)  # each place's rows summed as one
    np.testing.assert_array_equal(grouped.met_visible, d.met_visible)
    spend, effective, outreach, duplicated = _spend_funder_by_funder(funders, coordination, 0.3)
    np.testing.assert_array_equal(d.spend, spend)
    np.testing.assert_array_equal(d.duplicated, duplicated)
    mean_eff = np.divide(effective, spend, out=np.ones_like(spend), where=spend > 0)
    np.testing.assert_array_equal(d.effective, effective - duplicated * mean_eff)
    assert (d.duplicated > 0).any() == bool(pairs)


def test_an_observer_without_reach_sees_the_zeros_the_product_gives():
    """The hidden need an observer with no reach sees is the product it replaced, bit for bit
    (+0.0 everywhere), and any reach is still the product."""
    m = _model([], months=3)
    obs = m.observation
    hidden = m.population.hidden_need
    for kind in obs.errors:
        for reach in (0.0, 0.35):
            got = obs.hidden_seen(kind, np.arange(m.layout.n_neighbourhoods), reach)
            want = reach * hidden * np.exp(obs.errors[kind])
            assert got.tobytes() == want.tobytes(), (kind, reach)


@pytest.mark.parametrize("overrides", [[], ["system=herefordshire_worcestershire", "place_settings.herefordshire.membership.vcse=false",
                                            "place_settings.herefordshire.membership.healthwatch=false"]])
def test_the_icbs_whole_view_is_each_systems_view(overrides):
    from ics_sim.model.finance import icb_system_belief, icb_whole_belief

    m = _model(overrides, months=2)
    whole = icb_whole_belief(m)
    for s, idx in enumerate(m.layout.system_index):
        ref = icb_system_belief(m, s, idx)
        assert whole.visible[idx].tobytes() == ref.visible.tobytes()
        assert whole.hidden[idx].tobytes() == ref.hidden.tobytes()
    assert (len(set(m.finance.icp_reach.tolist())) > 1) == bool(overrides)


def test_observation_errors_drift_at_once_as_one_kind_after_another():
    """Every observer kind's errors drift in one update from one draw, as each kind's did from
    its own draw in turn; a deep copy (the workshop's snapshot) drifts alike."""
    from ics_sim.model.observation import OBSERVERS

    m = _model([], months=2)
    obs = m.observation
    snapshot = copy.deepcopy(m)
    rng = copy.deepcopy(obs.rng)
    errors = {k: e.copy() for k, e in obs.errors.items()}
    rho = m.cfg.observation.error_persistence
    innov = np.sqrt(1.0 - rho**2)
    for kind, level in OBSERVERS.items():  # the per-kind update it replaced
        e = errors[kind]
        e *= rho
        e += innov * obs.sd[level] * rng.standard_normal(e.shape)
    obs.step()
    snapshot.observation.step()
    for kind in OBSERVERS:
        assert obs.errors[kind].tobytes() == errors[kind].tobytes() == snapshot.observation.errors[kind].tobytes()
    assert obs.rng.random() == rng.random()
    assert all(e.base is snapshot.observation._stack for e in snapshot.observation.errors.values())


def _grants_one_funder_at_a_time(spends, grant_share):
    """The reference of ``commissioning.pass_grants``: each paying funder's part of its prevention
    money moved to the VCSE bodies in turn (the loop ``commission`` ran funder by funder)."""
    from ics_sim.domains import PREVENTION

    grants = np.zeros(spends.shape[1])
    out = []
    for spend in spends[:-1]:
        moved = spend[:, PREVENTION] * grant_share
        grants += moved
        spend = spend.copy()
        spend[:, PREVENTION] -= moved
        out.append(spend)
    vcse = spends[-1].copy()
    vcse[:, PREVENTION] += grants
    return np.array(out + [vcse]), grants


def test_grants_passed_at_once_are_each_funder_in_turn():
    rng = np.random.default_rng(12)
    for _ in range(200):
        n = int(rng.integers(1, 80))
        spends = rng.lognormal(10.0, 3.0, (4, n, N_DOMAINS)) * (rng.random((4, n, N_DOMAINS)) < 0.8)
        spends[rng.random(spends.shape) < 0.05] = -0.0
        share = rng.random(n) * (rng.random(n) < 0.8)
        ref_spends, ref_grants = _grants_one_funder_at_a_time(spends, share)
        got = spends.copy()
        grants = commissioning.pass_grants(got, share)
        assert np.array_equal(grants, ref_grants) and np.array_equal(np.signbit(grants), np.signbit(ref_grants))
        assert np.array_equal(got, ref_spends) and np.array_equal(np.signbit(got), np.signbit(ref_spends))


def _vcse_funding_by_rows(model, operating, trust_icb):
    """The reference of ``commissioning.vcse_funding``: the operating places' rows written into
    zeros (the code ``commission`` ran before)."""
    from ics_sim.domains import PREVENTION, PRIMARY
    from ics_sim.model.governance.views import whole_belief

    L, fin, sectors = model.layout, model.finance, model.vcse_sectors
    nb, shape = L.nb_place, (L.n_neighbourhoods, N_DOMAINS)
    vcse_ext, vcse_out, grant_share = np.zeros(shape), np.zeros(shape), np.zeros(L.n_places)
    if operating.any():
        vb = whole_belief(model, model.vcses)
        rows = operating[nb]
        w = vb.total[:, [PRIMARY, PREVENTION]]
        w = w / np.maximum(commissioning._column_groups(L, 2).sum(w.T.ravel()), 1e-12)[nb][:, None]
        x = (fin.vcse_external * sectors.external_capacity())[nb][:, None] * w
        vcse_ext[rows, PRIMARY] = x[rows, 0]
        vcse_ext[rows, PREVENTION] = x[rows, 1]
        vcse_out[rows] = vb.outreach_share[rows]
        share = model.cfg.providers.vcse_grant_share * np.minimum(1.0, 0.5 + trust_icb) * fin.grant_climate * sectors.grant_capacity()
        grant_share = np.where(operating, share, 0.0)
    return vcse_ext, vcse_out, grant_share


@pytest.mark.parametrize("overrides", [[], ["system=england", "years=1"]])
def test_vcse_funding_at_once_is_the_operating_rows_written_into_zeros(overrides):
    """Every pattern of folded sectors (none, some, all): the same arrays, bit for bit."""
    m = _model(overrides, months=3)
    rng = np.random.default_rng(5)
    n = m.layout.n_places
    for folded in [np.zeros(n, bool), np.ones(n, bool)] + [rng.random(n) < q for q in (0.2, 0.5, 0.8) for _ in range(3)]:
        m.vcse_sectors.alive[:] = ~folded[:, None]
        operating = m.vcse_sectors.operating()
        trust = np.where(operating, rng.random(n), 0.0)
        for got, ref in zip(commissioning.vcse_funding(m, operating, trust), _vcse_funding_by_rows(m, operating, trust), strict=True):
            assert np.array_equal(got, ref) and np.array_equal(np.signbit(got), np.signbit(ref))


def test_council_own_envelopes_at_once_follow_each_tables_pooling():
    """Every place's own envelope is its row of council_own_envelope, also after a table's pooling
    changes (the kept shares are worked out again) and after a new year's budgets."""
    m = _model(["system=herefordshire_worcestershire", "governance.pooled=true"], months=2)
    fin = m.finance
    for step in range(4):
        if step == 1:
            m.partnerships[0].pooled = not m.partnerships[0].pooled
        if step == 2:
            for _ in range(12):
                m.step()
        if step == 3:
            for part in m.partnerships:
                part.pooled = False
        got = fin.council_own_envelopes()
        ref = np.array([fin.council_own_envelope(p) for p in range(m.layout.n_places)])
        assert np.array_equal(got, ref)
