"""Commissioning: who pays for what this month (MODEL.md section 6.5; ODD 7.5).

Each month four kinds of funder spend a twelfth of their annual plans, less the month's running
costs each of them pays (:mod:`~ics_sim.model.running_costs`): the ICB's retained money
(``central``), each place partnership's pot (this year's decision, or last year's allocation
while the table is deadlocked), each council's own money, and the VCSE bodies (their external
income plus the prevention grants every funder passes through them). This module assembles them,
with each funder's outreach (the share of need it recognises as hidden), efficiency (scale, and
integration where one pot pools the money or one provider holds it under contract) and the co-ordination between each pair, then hands
them to :func:`~ics_sim.model.delivery.deliver`, which turns money into care. Providers' capacity
follows funded activity with a lag.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from ics_sim.domains import ACUTE, MENTAL, N_DOMAINS, PREVENTION, PRIMARY, SOCIAL
from ics_sim.grouped import Groups
from ics_sim.model import running_costs
from ics_sim.model.delivery import Delivery, Funder, deliver, scale_efficiency
from ics_sim.model.finance import icb_whole_belief
from ics_sim.model.governance.allocation import Belief
from ics_sim.model.governance.trust import held_flat
from ics_sim.model.governance.views import place_beliefs, whole_belief


@dataclass
class Spending:
    """This month's care spending by funder (annual rates, GBP per year per neighbourhood and
    domain), after the running costs each payer met this month (``running``, GBP this month)."""

    central: np.ndarray
    pot: np.ndarray
    council: np.ndarray
    grants: np.ndarray  # per neighbourhood: prevention money passed to the VCSE body
    vcse_external: np.ndarray
    running: running_costs.RunningCosts

    def place_totals(self, cells) -> np.ndarray:
        """Each place's total of the spending ``pot``, ``council`` and ``vcse_external`` (rows in
        that order; places as columns; GBP per year), each summed over ``cells``
        (:func:`running_costs.cell_groups <ics_sim.model.running_costs.cell_groups>` of the
        places) as that place's block alone, all at once (:meth:`Groups.sum_each
        <ics_sim.grouped.Groups.sum_each>`): worked out once for every reader of the month's
        spending (the ledger and the VCSE bodies' pay). Read-only."""
        held = self.__dict__.get("_totals")
        if held is None or held[0] is not cells:
            totals = cells.sum_each(np.array([self.pot.ravel(), self.council.ravel(), self.vcse_external.ravel()]))
            totals.flags.writeable = False
            held = self._totals = (cells, totals)
        return held[1]


def pot_spend(model, part) -> np.ndarray:
    """The pot's spending: this year's decision, or last year's allocation capped by this year's
    envelope while the table has not decided."""
    if part.pot_plan is not None:
        return part.pot_plan
    last = part.last_pot_plan
    if last is None:
        return np.zeros((len(part.idx), N_DOMAINS))
    env = model.finance.pot_envelope[part.place]
    col = last.sum(axis=0)
    scale = np.divide(np.minimum(col, env), col, out=np.zeros_like(col), where=col > 0)
    return last * scale[None, :]


def council_spend(model, part) -> np.ndarray:
    """The council's own spending: its plan (or last year's), capped by its own envelope."""
    plan = part.council_plan if part.council_plan is not None else part.last_council_plan
    env = model.finance.council_own_envelope(part.place)
    col = plan.sum(axis=0)
    scale = np.divide(np.minimum(col, env), col, out=np.zeros_like(col), where=col > 0)
    return plan * scale[None, :]


def integration(model, part) -> float:
    """How far the pot's care is organised as one (0..1), from what integrates it: one pooled
    budget (the share of the council's money that is in the pot) and one commissioner (a provider
    holding the pot under contract, which commissions and delivers the place's services through
    one contract). Either integrates: ``1 - (1 - pooled share) (1 - one commissioner)``. Shared
    information and working relationships scale the gain through trust (:func:`commission`)."""
    fin = model.finance
    council = fin.council_budget[part.place].sum()
    pooled = (fin.pot_envelope[part.place].sum() - fin.pot_nhs[part.place].sum()) / council if council > 0 else 0.0
    one_commissioner = 1.0 if part.contracted else 0.0
    return 1.0 - (1.0 - min(max(pooled, 0.0), 1.0)) * (1.0 - one_commissioner)


# --- every place at once ------------------------------------------------------------------------
# The functions below give, row by row, the numbers the per-place functions above give (the same
# operations on the same numbers: per-place sums through Layout.places, element-wise arithmetic
# on gathered arrays); tests/test_performance_equivalence.py checks them against each other.


def _laid_out(layout, blocks: list) -> np.ndarray:
    """Per-place blocks (a place's neighbourhoods x domains, or None for zeros) laid into one
    neighbourhoods x domains array."""
    if _in_place_order(layout):  # each place's neighbourhoods follow the last place's: stack them
        return np.concatenate(
            [b if b is not None else np.zeros((len(i), N_DOMAINS)) for b, i in zip(blocks, layout.place_index, strict=True)]
        )
    out = np.zeros((layout.n_neighbourhoods, N_DOMAINS))
    for idx, block in zip(layout.place_index, blocks, strict=True):
        if block is not None:
            out[idx] = block
    return out


def _in_place_order(layout) -> bool:
    """Whether the neighbourhoods are numbered place after place (every builder numbers them so),
    so per-place blocks stacked in place order are the whole-population array."""
    cached = _ORDERED.get(id(layout))
    if cached is None or cached[0] is not layout:
        _ORDERED.clear()  # one layout at a time
        ordered = bool(np.array_equal(np.concatenate(layout.place_index), np.arange(layout.n_neighbourhoods)))
        cached = _ORDERED[id(layout)] = (layout, ordered)
    return cached[1]


_ORDERED: dict[int, tuple] = {}


def _capped(layout, plan: np.ndarray, envelope: np.ndarray) -> np.ndarray:
    """Each place's plan (rows of ``plan``) with each domain capped by the place's ``envelope``
    (places x domains), as :func:`pot_spend` and :func:`council_spend` cap one place's."""
    col = layout.places.sum_rows(plan)
    scale = np.divide(np.minimum(col, envelope), col, out=np.zeros(col.shape), where=col > 0)
    return plan * scale[layout.nb_place]


def _laid_out_kept(model, key: str, blocks: list) -> np.ndarray:
    """:func:`_laid_out` of ``blocks``, read-only (a caller that writes copies it), laid out
    again only when some place's block is another array than last time under ``key``: the
    tables' plans are replaced when they change, never written into, so the same arrays hold the
    same numbers. Kept on the model (``_laid_out_plans``), so they go with it."""
    kept = model.__dict__.get("_laid_out_plans")
    if kept is None:
        kept = model._laid_out_plans = {}
    held = kept.get(key)
    if held is None or len(held[0]) != len(blocks) or not all(map(operator.is_, held[0], blocks)):
        laid = _laid_out(model.layout, blocks)
        laid.flags.writeable = False
        held = kept[key] = (blocks, laid)
    return held[1]


def pot_spending(model) -> np.ndarray:
    """:func:`pot_spend` of every place, as one neighbourhoods x domains array."""
    L, parts = model.layout, model.partnerships
    pot = _laid_out_kept(model, "pot", [part.pot_plan for part in parts]).copy()  # the caller's own: charged in place
    carried = [part.last_pot_plan if part.pot_plan is None else None for part in parts]
    if any(plan is not None for plan in carried):
        rows = np.array([plan is not None for plan in carried])[L.nb_place]
        pot[rows] = _capped(L, _laid_out_kept(model, "carried", carried), model.finance.pot_envelope)[rows]
    return pot


def council_spending(model) -> np.ndarray:
    """:func:`council_spend` of every place, as one neighbourhoods x domains array."""
    plans = [part.council_plan if part.council_plan is not None else part.last_council_plan for part in model.partnerships]
    return _capped(model.layout, _laid_out_kept(model, "council", plans), model.finance.council_own_envelopes())


def integrations(model, seated: _Seating | None = None) -> np.ndarray:
    """:func:`integration` of every place (0..1 each); who holds each pot under contract is read
    from ``seated`` (:func:`_seating`, read here when not given)."""
    fin = model.finance
    seated = _seating(model) if seated is None else seated
    council = np.add.reduce(fin.council_budget, axis=1)  # each row's .sum(), without the Python layer
    inside = np.add.reduce(fin.pot_envelope, axis=1) - np.add.reduce(fin.pot_nhs, axis=1)
    pooled = np.divide(inside, council, out=np.zeros(council.shape), where=council > 0)
    return 1.0 - (1.0 - np.minimum(np.maximum(pooled, 0.0), 1.0)) * (1.0 - seated.one_commissioner)


def _kinds(orgs: list) -> dict[tuple, list[int]]:
    """The places of ``orgs`` (one organisation per place) by the organisation's class and
    observer field."""
    kinds: dict[tuple, list[int]] = {}
    for p, org in enumerate(orgs):
        kinds.setdefault((type(org), org.observer), []).append(p)
    return kinds


def _whole_own_beliefs(model, orgs: list, kinds: dict[tuple, list[int]] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The own beliefs (visible, hidden) of one organisation per place (``orgs[p]``, of any
    kinds) over the whole population: each neighbourhood's row is its place's organisation's
    :meth:`~ics_sim.model.organisations.Organisation.belief`. ``kinds``: :func:`_kinds` of
    ``orgs`` (worked out here when not given)."""
    L = model.layout
    kinds = _kinds(orgs) if kinds is None else kinds
    if len(kinds) == 1:
        belief = whole_belief(model, orgs)
        return belief.visible, belief.hidden
    visible = np.zeros((L.n_neighbourhoods, N_DOMAINS))
    hidden = np.zeros((L.n_neighbourhoods, N_DOMAINS))
    for places in kinds.values():  # each kind's places: their rows of that kind's beliefs
        belief = place_beliefs(model, [orgs[p] for p in places], places)
        rows = np.isin(L.nb_place, places)
        visible[rows] = belief.visible[rows]
        hidden[rows] = belief.hidden[rows]
    return visible, hidden


def holder_outreach(model, forum: Belief, trust: TableTrust | None = None, seated: _Seating | None = None) -> np.ndarray:
    """The outreach share of every place's pot holder after listening to its table
    (:meth:`PlacePartnership.working_belief
    <ics_sim.model.governance.partnership.PlacePartnership.working_belief>`, for every place at
    once: the same arithmetic, element by element), or of the table's pooled view where no one
    holds the pot. ``forum`` is every place's pooled view over the whole population
    (:meth:`TableViews.whole_forums <ics_sim.model.governance.views.TableViews.whole_forums>`: each
    place's rows are its :meth:`~ics_sim.model.governance.partnership.PlacePartnership.forum_belief`).
    Who holds each pot is read from ``seated`` (:func:`_seating`), how far each holder listens
    from ``trust`` (this month's :func:`table_trust`); each is worked out here when not given."""
    L, cfg = model.layout, model.cfg
    seated = _seating(model) if seated is None else seated
    nb = L.nb_place
    f_visible, f_hidden = forum.visible, forum.hidden
    if not seated.any_held:
        return Belief(f_visible, f_hidden).outreach_share
    own_visible, own_hidden = _whole_own_beliefs(model, seated.own_orgs, seated.own_kinds)
    if seated.any_joint:  # a joint post reads both bodies' intelligence
        council = whole_belief(model, model.councils)
        rows = seated.joint[nb]
        own_visible = np.where(rows[:, None], np.sqrt(own_visible * council.visible), own_visible)
        own_hidden = np.where(rows[:, None], np.maximum(own_hidden, council.hidden), own_hidden)
    trust = table_trust(model, seated) if trust is None else trust
    w = trust.listening[nb][:, None]
    visible = np.exp((1.0 - w) * np.log(own_visible) + w * np.log(f_visible))
    heard = w * f_hidden
    if cfg.interests.enabled:
        heard = np.where(seated.council_holder[nb][:, None], heard * (1.0 - cfg.interests.council_visible_bias), heard)
    out = Belief(visible, np.maximum(own_hidden, heard)).outreach_share
    if not seated.all_held:  # no pot holder: the table's pooled view
        rows = ~seated.held[nb]
        out[rows] = Belief(f_visible, f_hidden).outreach_share[rows]
    return out


# --- the place tables' seating and trust, for every place at once -------------------------------


@dataclass
class _Seating:
    """What commissioning reads of the place tables' seating, worked out again only when a table
    is seated afresh (a move on the ladder of formality gives it new seats and a new trust
    network): per place, who holds the pot, who has a hand in its plan, and where each trust
    commissioning reads sits in every table's trust laid end to end (each table's matrix,
    flattened, after the last table's, as :class:`~ics_sim.model.governance.trust.TrustTables`
    holds them).

    Attributes:
        key: the tables as this was worked out from (:func:`running_costs.seated_as
            <ics_sim.model.running_costs.seated_as>`).
        networks: per place, the trust network.
        holders: per place, the pot holder's seat (the first voter), or None.
        held: per place, whether anyone holds the pot (any_held, all_held: at any place, at all).
        blocks: each table's trust matrix in the flat layout (for its mean).
        members: each table's number of members.
        rows: each pot holder's row of its table's trust (empty where no one holds the pot).
        square: when every table seats the same number of members (two or more), that number
            (the flat layout is then places x members x members), else 0.
        row_index: when ``square``, per place the flat positions of the holder's row (the
            first row where no one holds the pot), places x members.
        pairs: for the pairs (icb, council), (holder, council), (vcse, holder), (vcse, icb): per
            pair and place, the flat positions of a's trust in b and b's in a (2 x places each).
        seated: per pair and place, whether both are at the table (trust 0 otherwise).
        controls_icb, controls_council: per place, :meth:`PlacePartnership.controls
            <ics_sim.model.governance.partnership.PlacePartnership.controls>` of the ICB and the council.
        advisory: per place, whether the holder only takes the table's view as advice
            (any_advisory: at any place).
        advice_weight: per place, ``governance.advice_weight``.
        own_orgs: per place, the holder's organisation (the ICB where no one holds the pot).
        own_kinds: :func:`_kinds` of ``own_orgs``.
        joint: per place, whether the holder is a joint ICB-council post.
        council_holder: per place, whether a council holds the pot.
        one_commissioner: per place, 1.0 where a provider holds the pot under contract, else 0.0.
    """

    key: tuple
    networks: list
    holders: list
    held: np.ndarray
    any_held: bool
    all_held: bool
    blocks: Groups
    members: np.ndarray
    rows: Groups
    square: int
    row_index: np.ndarray
    pairs: np.ndarray
    seated: np.ndarray
    controls_icb: np.ndarray
    controls_council: np.ndarray
    advisory: np.ndarray
    any_advisory: bool
    advice_weight: np.ndarray
    own_orgs: list
    own_kinds: dict
    joint: np.ndarray
    any_joint: bool
    council_holder: np.ndarray
    one_commissioner: np.ndarray


def _seating(model) -> _Seating:
    """The place tables' :class:`_Seating`, kept on the model (``_seating``; it refers to the
    model's organisations, so a cache outside the model would keep the model alive) while every
    table is as it was seated (:func:`running_costs.still_seated
    <ics_sim.model.running_costs.still_seated>`)."""
    parts = model.partnerships
    held = model.__dict__.get("_seating")  # kept on the model: it holds the model's organisations
    if held is not None and running_costs.still_seated(held.key, parts):
        return held
    seating = model._seating = _seat_tables(parts)
    return seating


def _seat_tables(parts: list) -> _Seating:
    """Work out :class:`_Seating` for the tables ``parts`` (place order)."""
    n_places = len(parts)
    sizes = np.array([part.trust.n for part in parts], dtype=np.intp)
    starts = np.concatenate([[0], np.cumsum(sizes * sizes)]).astype(np.intp)
    n_flat = int(starts[-1])
    holders = [part.voters[0] if part.voters else None for part in parts]
    pairs = np.zeros((4, 2, n_places), dtype=np.intp)
    seated = np.zeros((4, n_places), dtype=bool)
    rows = []
    square = int(sizes[0]) if n_places and sizes[0] >= 2 and (sizes == sizes[0]).all() else 0
    row_index = np.zeros((n_places, square), dtype=np.intp)
    for p, (part, holder) in enumerate(zip(parts, holders, strict=True)):
        trust, start, n = part.trust, starts[p], sizes[p]
        holder_key = holder.label if holder else "icb"
        for k, (a, b) in enumerate((("icb", "council"), (holder_key, "council"), ("vcse", holder_key), ("vcse", "icb"))):
            if part.member(a) and part.member(b):
                i, j = trust.index(a), trust.index(b)
                pairs[k, :, p] = (start + i * n + j, start + j * n + i)
                seated[k, p] = True
        row = start + trust.index(holder.label) * n + np.arange(n) if holder is not None else np.zeros(0, np.intp)
        rows.append(row)
        if square:
            row_index[p] = row if holder is not None else start + np.arange(n)
    held = np.array([h is not None for h in holders], dtype=bool)
    joint = np.array([h is not None and h.label == "icb" and part.joint_sro for h, part in zip(holders, parts, strict=True)])
    own_orgs = [h.org if h is not None else part.orgs["icb"] for h, part in zip(holders, parts, strict=True)]
    advisory = np.array([h is not None and part.advisory_for(h.label) for h, part in zip(holders, parts, strict=True)], dtype=bool)
    key = running_costs.seated_as(parts)
    return _Seating(
        key=key,
        networks=key[2],
        holders=holders,
        held=held,
        any_held=bool(held.any()),
        all_held=bool(held.all()),
        blocks=Groups([np.arange(a, b) for a, b in zip(starts[:-1], starts[1:], strict=True)], n_flat),
        members=sizes,
        rows=Groups(rows, n_flat),
        square=square,
        row_index=row_index,
        pairs=pairs,
        seated=seated,
        controls_icb=np.array([part.controls("icb") for part in parts], dtype=bool),
        controls_council=np.array([part.controls("council") for part in parts], dtype=bool),
        advisory=advisory,
        any_advisory=bool(advisory.any()),
        advice_weight=np.array([part.settings.governance.advice_weight for part in parts], dtype=float),
        own_orgs=own_orgs,
        own_kinds=_kinds(own_orgs),
        joint=joint,
        any_joint=bool(joint.any()),
        council_holder=np.array([h is not None and h.org.kind == "council" for h in holders], dtype=bool),
        one_commissioner=np.array([1.0 if part.contracted else 0.0 for part in parts]),
    )


@dataclass
class TableTrust:
    """This month's trust at every place table, per place (the numbers the per-place methods of
    :class:`~ics_sim.model.governance.partnership.PlacePartnership` give).

    Attributes:
        mean: :meth:`mean_trust`.
        icb_council: ``trust_between("icb", "council")``.
        holder_council: ``trust_between(holder, "council")`` (the holder's key: the ICB where no
            one holds the pot).
        vcse_holder: ``trust_between("vcse", holder)``.
        vcse_icb: ``trust_between("vcse", "icb")``.
        listening: the pot holder's :meth:`listening_weight` (0 where no one holds the pot).
    """

    mean: np.ndarray
    icb_council: np.ndarray
    holder_council: np.ndarray
    vcse_holder: np.ndarray
    vcse_icb: np.ndarray
    listening: np.ndarray


def table_trust(model, seated: _Seating | None = None) -> TableTrust:
    """:class:`TableTrust` of this moment, for every place at once: gathered from every table's
    trust laid end to end (the :class:`~ics_sim.model.governance.trust.TrustTables` array when it
    holds every table's network, as it does after the monthly relaxation; else the matrices
    copied end to end). Each number is the per-place method's arithmetic on the same elements:
    a matrix's sum and a row's sum are taken as numpy takes them alone (:class:`Groups`), and
    the mutual trust of a pair is ``0.5 * (t_ij + t_ji)``. ``seated``: this month's
    :func:`_seating` (read here when not given)."""
    parts = model.partnerships
    seated = _seating(model) if seated is None else seated
    flat = held_flat(model.trust_tables, seated.networks)
    if flat is None:
        flat = np.concatenate([part.trust.matrix.ravel() for part in parts])
    n = seated.members
    k = seated.square
    if k:  # every table of k members: the tables' blocks are the rows of one places x k^2 array
        # np.add.reduce: each row's .sum(), without the Python layer
        mean = (np.add.reduce(flat.reshape(len(n), k * k), axis=1) - n) / (n * (n - 1))
        row_mean = (np.add.reduce(flat[seated.row_index], axis=1) - 1.0) / (n - 1)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n < 2, 1.0, (seated.blocks.sum(flat) - n) / (n * (n - 1)))
            row_mean = np.where(n < 2, 1.0, (seated.rows.sum(flat) - 1.0) / (n - 1))
    pairs = flat[seated.pairs]
    mutual = np.where(seated.seated, 0.5 * (pairs[:, 0] + pairs[:, 1]), 0.0)
    if seated.any_advisory:
        ref = max(model.cfg.trust.initial, 1e-9)
        row_mean = np.where(seated.advisory, np.minimum(1.0, seated.advice_weight * row_mean / ref), row_mean)
    listening = row_mean if seated.all_held else np.where(seated.held, row_mean, 0.0)
    return TableTrust(mean, mutual[0], mutual[1], mutual[2], mutual[3], listening)


def _column_groups(layout, columns: int) -> Groups:
    """Each place's cells of a neighbourhoods x ``columns`` array stacked column after column
    (``X.T.ravel()``), for sums equal bit for bit to summing a place's block as a whole: numpy
    sums a block in its memory order, and a block picked by a list of columns
    (``X[idx][:, [a, b]]``) is laid out column by column."""
    key = (id(layout), columns)
    cached = _COLUMN_GROUPS.get(key)
    if cached is None or cached[0] is not layout:
        n = layout.n_neighbourhoods
        members = [(idx[None, :] + n * np.arange(columns)[:, None]).ravel() for idx in layout.place_index]
        _COLUMN_GROUPS.clear()  # one layout at a time: a sweep does not keep every layout alive
        cached = _COLUMN_GROUPS[key] = (layout, Groups(members, n * columns))
    return cached[1]


_COLUMN_GROUPS: dict[tuple, tuple] = {}


def vcse_funding(model, operating: np.ndarray, trust_icb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The VCSE bodies that still operate (``operating``, per place): their external income spent
    on primary care and prevention where they believe it is needed (folded bodies raise nothing),
    and their outreach (both neighbourhoods x domains, zero where no body operates); and per
    place the share of every funder's prevention money granted to them: more where they are
    trusted (``trust_icb``, their trust with the ICB, 0 where none operates), less while funders
    cut against plan, and only to bodies that still operate (it is cheaper and reaches hidden
    need)."""
    L, fin, sectors = model.layout, model.finance, model.vcse_sectors
    shape = (L.n_neighbourhoods, N_DOMAINS)
    vcse_ext = np.zeros(shape)
    if not operating.any():
        return vcse_ext, np.zeros(shape), np.zeros(L.n_places)
    nb = L.nb_place
    vb = whole_belief(model, model.vcses)
    rows = operating[nb][:, None]
    w = vb.total[:, [PRIMARY, PREVENTION]]
    w = w / np.maximum(_column_groups(L, 2).sum(w.T.ravel()), 1e-12)[nb][:, None]
    external = fin.vcse_external * sectors.external_capacity()
    vcse_ext[:, [PRIMARY, PREVENTION]] = np.where(rows, external[nb][:, None] * w, 0.0)
    share = model.cfg.providers.vcse_grant_share * np.minimum(1.0, 0.5 + trust_icb) * fin.grant_climate * sectors.grant_capacity()
    return vcse_ext, np.where(rows, vb.outreach_share, 0.0), np.where(operating, share, 0.0)


@dataclass(frozen=True)
class _Design:
    """What commissioning reads every month that is fixed for a run (its config and layout):
    funders' scale efficiencies (places x domains, and per neighbourhood for the ICB's retained
    money, the councils and the VCSE bodies) and the domains a provider collaborative shares.
    Read-only arrays."""

    place_eff: np.ndarray
    central_eff: np.ndarray
    council_eff: np.ndarray
    vcse_eff: np.ndarray
    mutual: np.ndarray


def _design(model) -> _Design:
    """The run's :class:`_Design`, built on first use (the config and layout do not change) and
    kept on the model (``_commissioning_design``)."""
    design = model.__dict__.get("_commissioning_design")
    if design is None:
        L, c = model.layout, model.cfg
        elasticity = np.array(c.delegation.scale_elasticity.as_tuple())
        place_eff = scale_efficiency(model.finance.place_pop, elasticity)  # places x domains
        mutual = np.zeros(N_DOMAINS, dtype=bool)
        if c.providers.collaborative:
            mutual[[ACUTE, MENTAL, PRIMARY]] = True
        arrays = (
            place_eff,
            scale_efficiency(L.system_population(), elasticity)[L.nb_system],
            place_eff[L.nb_place],
            np.full((L.n_neighbourhoods, N_DOMAINS), 1.0 / c.providers.vcse_cost_factor),
            mutual,
        )
        for a in arrays:
            a.flags.writeable = False
        design = model._commissioning_design = _Design(*arrays)
    return design


def commission(model) -> tuple[Delivery, Spending]:
    """Assemble this month's funders and deliver care; returns what was delivered and the plans.

    Every place at once: each place's trust, co-ordination and grant terms are numbers per place
    (gathered from every table's trust at once, :func:`table_trust`), broadcast to its
    neighbourhoods; the money and the beliefs are whole-population arrays."""
    L, c, pop, fin = model.layout, model.cfg, model.population, model.finance
    parts = model.partnerships
    nb = L.nb_place
    design = _design(model)
    pot = pot_spending(model)
    council = council_spending(model)
    model.pot_spend_by_domain[:] = L.places.sum_rows(pot)
    # per place: trust and who holds the pot; co-ordination is structural where a funder's
    # controller votes on the pot's plan (it knows the plan), and otherwise only as good as the
    # trust between the two bodies
    seated = _seating(model)
    tt = table_trust(model, seated)
    trust = tt.mean
    operating = model.vcse_sectors.operating()
    structural = 0.5 + 0.5 * trust  # a controller that votes on the pot's plan
    coord_central_pot = np.where(seated.controls_icb, structural, 0.5)
    coord_central_council = tt.icb_council
    coord_pot_council = np.where(seated.controls_council, structural, tt.holder_council)
    coord_vcse = np.where(operating, tt.vcse_holder, 0.0)
    t_vcse = np.where(operating, tt.vcse_icb, 0.0)
    bonus = c.costs.integration_bonus * trust * integrations(model, seated)
    pot_out = holder_outreach(model, model.table_views.whole_forums(parts), tt, seated)
    council_out = whole_belief(model, model.councils).outreach_share  # every place's council, in place order
    central_out = icb_whole_belief(model).outreach_share
    # the VCSE bodies that still operate: their external income, outreach and grant share
    vcse_ext, vcse_out, grant_share = vcse_funding(model, operating, t_vcse)
    pot_eff = (design.place_eff * (1.0 + bonus)[:, None])[nb]
    # the per-place terms read per neighbourhood, gathered in one step
    coord_central_pot, coord_central_council, coord_pot_council, coord_vcse, grant_share = np.array(
        [coord_central_pot, coord_central_council, coord_pot_council, coord_vcse, grant_share])[:, nb]
    central = fin.central_plan.copy()
    # running costs come out of the payers' care spending before anything is delivered
    paid = running_costs.charge(model.running_costs, L, central, pot, council, vcse_ext)
    # the funders' spending stacked (a copy: ``Spending`` keeps what each paid before the grants)
    spends = np.array([central, pot, council, vcse_ext])
    grants = pass_grants(spends, grant_share)
    funders = [
        Funder("central", spends[0], central_out, design.central_eff),
        Funder("pot", spends[1], pot_out, pot_eff),
        Funder("council", spends[2], council_out, design.council_eff),
        Funder("vcse", spends[3], vcse_out, design.vcse_eff),
    ]
    coordination = {
        (0, 1): coord_central_pot,
        (0, 2): coord_central_council,
        (1, 2): coord_pot_council,
        (0, 3): coord_vcse,
        (1, 3): coord_vcse,
        (2, 3): coord_vcse,
    }
    if model.capacity is None:
        model.capacity = np.zeros((L.n_places, N_DOMAINS))
        eff_total = sum(f.spend * f.efficiency for f in funders)
        np.add.at(model.capacity, L.nb_place, eff_total)
        model.capacity *= 1.0 + c.providers.capacity_slack
    cap = model.capacity * model.shocks.capacity_factor(model.month)[None, :]
    d = deliver(funders, coordination, pop.visible_need, pop.hidden_need, cap, L.nb_place, L.place_system, c.costs.duplication_rate, design.mutual,
                L.system_places, L.places)
    return d, Spending(central, pot, council, grants, vcse_ext, paid)


def pass_grants(spends: np.ndarray, grant_share: np.ndarray) -> np.ndarray:
    """Move ``grant_share`` (per neighbourhood) of each paying funder's prevention money to the
    VCSE bodies, in place: ``spends`` is funders x neighbourhoods x domains, the payers first and
    the VCSE bodies last. Returns the grants per neighbourhood (GBP per year): each payer's part
    added one after another from 0.0 (a sum down the funders' axis adds them in turn), as moving
    one funder's at a time does (``tests/test_money_at_once.py`` checks it against that loop)."""
    moved = spends[:-1, :, PREVENTION] * grant_share
    grants = np.add.reduce(moved, axis=0, initial=0.0)
    spends[:-1, :, PREVENTION] -= moved
    spends[-1, :, PREVENTION] += grants
    return grants


def pay_vcse(model, spending: Spending) -> None:
    """Each place's VCSE bodies are paid this month's grants and external income (the whole of it:
    the part their people's time at the table took from care, ``spending.running.vcse``, is still
    their income)."""
    L, sectors = model.layout, model.vcse_sectors
    cells = running_costs.cell_groups(L, L.place_index, spending.vcse_external.shape[1], "places")
    sectors.grants_month[:] = L.places.sum(spending.grants) / 12.0
    sectors.external_month[:] = spending.place_totals(cells)[2] / 12.0 + spending.running.vcse


def note_spending(model, d: Delivery) -> None:
    """What partners see of the month's spending: by place and domain, each system's domain mix
    (which the ICP strategy pulls on) and the cumulative total."""
    L, fin = model.layout, model.finance
    model.place_spend_by_domain[:] = L.places.sum_rows(d.spend)
    tot = L.systems.sum_rows(d.spend)
    # np.add.reduce: each .sum(), without the Python layer
    fin.system_spend_share[:] = tot / np.maximum(np.add.reduce(tot, axis=1), 1e-12)[:, None]
    model.cumulative_spend_nb += np.add.reduce(d.spend, axis=1) / 12.0
    model.cumulative_spend += np.add.reduce(d.spend, axis=None) / 12.0


def adjust_capacity(model, d: Delivery) -> None:
    """Capacity follows funded activity with a lag; social care can grow only as fast as its
    workforce."""
    c = model.cfg.providers
    target = d.demand_by_place * (1.0 + c.capacity_slack)
    change = (target - model.capacity) / c.capacity_adjustment_months
    cap_growth = model.capacity[:, SOCIAL] * c.social_care_workforce_growth / 12.0
    change[:, SOCIAL] = np.minimum(change[:, SOCIAL], cap_growth)
    model.capacity += change
