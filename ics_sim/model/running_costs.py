"""Running costs of partnership working (MODEL.md section 6.8; ODD 7.9).

Meeting time is priced as the time of the people actually in the room: every seat's member, a
supporting officer for each voting member, and the secretariat that writes the papers, for the
meeting and its preparation, at published hourly unit costs. A meeting costs the same whether it
agrees or fails; a failed meeting is followed by a negotiation session of the same people, costed
like a meeting but deciding nothing (``ICSModel._meetings``), so deadlock costs money. The ICP
assembly, reporting to the ICB, administering a pooled budget, managing a provider's contract for
the pot and an independent chair's fee are standing costs.

Every cost has a **payer**, the body whose people's time it is: the ICB pays for its own staff
from its retained NHS budget; a council for its staff and for Healthwatch (which councils fund);
NHS and social care providers' time is recovered through their contracts, so it falls on the place
pot that pays them (the ICB where a place holds no pot); a VCSE body pays from its own income.
:class:`RunningCosts` collects a month's costs by payer; :func:`charge` takes them out of the
payers' care spending before delivery (``commissioning.commission``), so running costs compete
with care, and the ledger books them (``Ledger.book``).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np

from ics_sim.grouped import Groups

#: who pays for a seat's time, by seat label: "icb", "council", "pot" (providers' time, recovered
#: through contracts) or "vcse"
PAYER: dict[str, str] = {
    "icb": "icb",
    "council": "council",
    "healthwatch": "council",
    "acute_trust": "pot",
    "community_trust": "pot",
    "mental_health_trust": "pot",
    "pcn": "pot",
    "social_care": "pot",
    "vcse": "vcse",
}
#: the payers, in the order of :class:`RunningCosts`' fields
PAYERS = ("icb", "council", "pot", "vcse")


@dataclass
class RunningCosts:
    """A month's running costs by payer, GBP this month.

    Attributes:
        icb: per system, paid from the ICB's retained NHS money.
        council: per place, paid from the council's own money.
        pot: per place, paid from the place pot (providers' time, pooled-budget administration,
            reporting and contract management).
        vcse: per place, paid from the VCSE body's external income.
        by_place: per place, every payer's cost incurred for that place (what is reported as
            ``transaction_cost_gbp``).
    """

    icb: np.ndarray
    council: np.ndarray
    pot: np.ndarray
    vcse: np.ndarray
    by_place: np.ndarray

    @classmethod
    def zeros(cls, n_systems: int, n_places: int) -> RunningCosts:
        return cls(np.zeros(n_systems), np.zeros(n_places), np.zeros(n_places), np.zeros(n_places), np.zeros(n_places))

    def reset(self) -> None:
        for arr in (self.icb, self.council, self.pot, self.vcse, self.by_place):
            arr[:] = 0.0

    def add(self, payer: str, place: int, system: int, amount: float) -> None:
        """Book ``amount`` GBP incurred at ``place`` to ``payer``."""
        if payer == "icb":
            self.icb[system] += amount
        else:
            getattr(self, payer)[place] += amount
        self.by_place[place] += amount


def seat_hour_costs(cfg, part) -> dict[str, float]:
    """GBP per hour of meeting and preparation time of one place table's people, by payer: each
    seat's member, plus ``costs.officers_per_voting_seat`` supporting officers per voting seat."""
    k = cfg.costs
    out: dict[str, float] = {}
    for seat in part.seats:
        rate = k.hourly_cost_gbp + (k.officers_per_voting_seat * k.officer_hourly_cost_gbp if seat.role == "vote" else 0.0)
        payer = PAYER.get(seat.label, "pot")
        out[payer] = out.get(payer, 0.0) + rate
    return out


def meeting_cost(cfg, part) -> dict[str, float]:
    """One meeting of a place table, GBP by payer: the people in the room for the meeting and its
    preparation, and the secretariat's hours (papers and minutes; paid by the pot holder's body:
    the ICB where it holds the pot, else the pot)."""
    k = cfg.costs
    hours = k.meeting_hours + k.preparation_hours
    out = {payer: rate * hours for payer, rate in seat_hour_costs(cfg, part).items()}
    holder = part.voters[0].label if part.voters else "icb"
    secretariat = "icb" if holder == "icb" else "pot"
    out[secretariat] = out.get(secretariat, 0.0) + k.secretariat_hours * k.officer_hourly_cost_gbp
    return out


def book_meeting(costs: RunningCosts, cfg, part, system: int) -> float:
    """Book one held meeting of ``part``'s table, payer by payer (:func:`meeting_cost`); returns
    its total cost (GBP). The definition :func:`book_meetings` books a month's meetings by."""
    total = 0.0
    for payer, amount in meeting_cost(cfg, part).items():
        costs.add(payer, part.place, system, amount)
        total += amount
    return total


def book_meetings(costs: RunningCosts, cfg, parts: list, place_system: np.ndarray) -> None:
    """:func:`book_meeting` of each table in ``parts`` in turn (a table twice when it met twice),
    at once: every amount is added to its payer's and its place's entry in the same order as
    booking the meetings one by one (``np.add.at`` adds repeated entries one after another in
    the order given), so the sums are the same numbers."""
    if not parts:
        return
    bills = [_meeting_bill(cfg, part) for part in parts]
    payers = np.concatenate([b[0] for b in bills])
    amounts = np.concatenate([b[1] for b in bills])
    places = np.concatenate([b[2] for b in bills])
    for k, payer in enumerate(PAYERS):
        mine = payers == k
        if mine.any():
            at = place_system[places[mine]] if payer == "icb" else places[mine]
            np.add.at(getattr(costs, payer), at, amounts[mine])
    np.add.at(costs.by_place, places, amounts)


def _meeting_bill(cfg, part) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`meeting_cost` of ``part``'s table as arrays in its order: each payer's place in
    :data:`PAYERS`, the amounts (GBP) and the table's place (repeated, one per amount); kept on
    the table itself (``_meeting_bill``, so it goes with the table) while its seats (a new list,
    voters with it, whenever it is seated afresh) and ``cfg`` are the same objects."""
    held = part.__dict__.get("_meeting_bill")
    if held is None or held[0] is not part.seats or held[1] is not cfg:
        items = meeting_cost(cfg, part).items()
        codes = np.array([PAYERS.index(payer) for payer, _ in items], dtype=np.intp)
        amounts = np.array([amount for _, amount in items], dtype=float)
        held = part._meeting_bill = (part.seats, cfg, (codes, amounts, np.full(len(codes), part.place, dtype=np.intp)))
    return held[2]


def icp_meeting_months(cfg) -> set[int]:
    """Months of the financial year (0 = April) in which the ICP assembly meets."""
    n = cfg.icp.meetings_per_year
    return {(k * 12) // n for k in range(n)}


def book_icp_meeting(costs: RunningCosts, cfg, layout, place_pop: np.ndarray, place_cfgs=None) -> None:
    """An ICP assembly: the ICB and its two system trusts, and per place the council, community
    services and (when members of that place's table, ``place_cfgs[p].membership``; default the
    run's) VCSE and Healthwatch, each with the meeting's and preparation's hours; the system
    members' cost is spread over the places by population."""
    L, k = layout, cfg.costs
    hours = k.meeting_hours + k.preparation_hours
    member = k.hourly_cost_gbp * hours
    share = place_pop / np.bincount(L.place_system, weights=place_pop)[L.place_system]
    for p in range(L.n_places):
        s = int(L.place_system[p])
        m = (place_cfgs[p] if place_cfgs is not None else cfg).membership
        costs.add("icb", p, s, member * share[p])  # the ICB's member
        costs.add("pot", p, s, 2.0 * member * share[p])  # the acute and mental health trusts
        costs.add("council", p, s, member)
        costs.add("pot", p, s, member)  # community services
        if m.vcse:
            costs.add("vcse", p, s, member)
        if m.healthwatch:
            costs.add("council", p, s, member)
    # secretariat of the assembly, by the ICB
    for s in range(L.n_systems):
        places = np.flatnonzero(L.place_system == s)
        for p in places:
            costs.add("icb", int(p), s, k.secretariat_hours * k.officer_hourly_cost_gbp * share[p])


def book_overheads(costs: RunningCosts, layout, parts: list, pot_envelope: np.ndarray) -> None:
    """A month's standing costs of every place's arrangement: reporting on the delegated pot,
    administering a pooled budget and managing a lead provider's contract (paid from the pot), an
    independent chair's fee (shared by the ICB and the council). Each place's own settings
    (``part.settings``: its costs and its chair) price its own; ``pot_envelope`` is places x
    domains. Booked in place order, as one place after another would book them."""
    reporting, admin, contract, chair, pooled, contracted, chaired = _overhead_terms(costs, parts)
    envelope = np.add.reduce(pot_envelope, axis=1)  # each row's .sum(), without the Python layer
    pot = reporting * envelope / 12.0
    pot = np.where(pooled, pot + admin / 12.0, pot)
    pot = np.where(contracted, pot + contract * envelope / 12.0, pot)  # a provider holds the pot under contract
    pot = np.where(pot > 0, pot, -0.0)  # a place that pays nothing adds -0.0 (x + -0.0 is x for every x)
    costs.pot += pot
    costs.by_place += pot
    if len(chaired):
        places = chaired
        half = 0.5 * chair[places] / 12.0
        np.add.at(costs.icb, layout.place_system[places], half)  # in place order, as add() would
        costs.by_place[places] += half
        costs.council[places] += half
        costs.by_place[places] += half


def _overhead_terms(costs: RunningCosts, parts: list) -> tuple[np.ndarray, ...]:
    """Per place, what :func:`book_overheads` prices its arrangement by: its reporting share,
    pooled-budget administration, contract management and independent chair's fee, and whether
    it pools and holds the pot under contract; and the places with an independent chair (in
    place order). Read-only arrays, kept
    while every table is as it was seated (:func:`still_seated`); kept with ``costs`` (the
    model's running costs, which last the run: ``_overheads``), so they go with the model."""
    held = costs.__dict__.get("_overheads")
    if held is not None and held[0] is parts and still_seated(held[1], parts):
        return held[2]
    n = len(parts)
    reporting, admin, contract, chair = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    pooled, contracted, independent = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    for p, part in enumerate(parts):
        cfg = part.settings
        k = cfg.costs
        reporting[p], admin[p], contract[p], chair[p] = k.reporting_share, k.pooled_admin_gbp, k.contract_management, k.independent_chair_gbp
        pooled[p], contracted[p], independent[p] = part.pooled, part.contracted, cfg.chair == "independent"
    terms = (reporting, admin, contract, chair, pooled, contracted, np.flatnonzero(independent))
    for a in terms:
        a.flags.writeable = False
    costs._overheads = (parts, seated_as(parts), terms)
    return terms


def seated_as(parts: list) -> tuple[list, list, list, list]:
    """What the caches of the place tables' arrangement (:func:`_overhead_terms` and
    ``commissioning._seating``) are kept while, per table: its seats, settings object and trust
    network (a move on the ladder of formality seats a table afresh, with a new trust network,
    perhaps a new pot holder and new pooling) and its pooling."""
    return list(map(_SEATS, parts)), list(map(_SETTINGS, parts)), list(map(_TRUST, parts)), list(map(_POOLED, parts))


def still_seated(key: tuple, parts: list) -> bool:
    """Whether every table of ``parts`` is as :func:`seated_as` saw it (``key``): the same seats,
    settings and trust network objects and the same pooling (checked at C speed)."""
    seats, settings, trust, pooled = key
    return (len(seats) == len(parts) and all(map(operator.is_, map(_SEATS, parts), seats))
            and all(map(operator.is_, map(_SETTINGS, parts), settings))
            and all(map(operator.is_, map(_TRUST, parts), trust)) and list(map(_POOLED, parts)) == pooled)


_SEATS, _SETTINGS, _TRUST, _POOLED = (operator.attrgetter(name) for name in ("seats", "settings", "trust", "pooled"))


def cell_groups(layout, members: list[np.ndarray], columns: int, key: str) -> Groups:
    """Groups of the cells of a neighbourhoods x ``columns`` array (flattened in C order) whose
    rows are each group's ``members`` (e.g. ``layout.place_index``): a group's sum equals
    ``X[members].sum()`` bit for bit (numpy sums the block in its C order). Cached for one layout
    at a time under ``key``."""
    cached = _CELL_GROUPS.get((key, columns))
    if cached is None or cached[0] is not layout:
        if cached is not None:
            _CELL_GROUPS.clear()  # a new layout: a sweep does not keep every layout alive
        cells = [(idx[:, None] * columns + np.arange(columns)).ravel() for idx in members]
        cached = _CELL_GROUPS[(key, columns)] = (layout, Groups(cells, layout.n_neighbourhoods * columns))
    return cached[1]


_CELL_GROUPS: dict[tuple, tuple] = {}


def _take(spend: np.ndarray, rows: np.ndarray, amount: float) -> float:
    """Reduce ``spend[rows]`` (annual rates, GBP per year) by ``amount`` GBP this month, in
    proportion across its cells; returns the part of ``amount`` it could not cover."""
    block = spend[rows]
    available = block.sum() / 12.0
    if amount <= 0.0 or available <= 0.0:
        return max(amount, 0.0)
    taken = min(amount, available)
    spend[rows] = block * (1.0 - taken / available)
    return amount - taken


def _shares(amount: np.ndarray, available: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_take` for every group at once, as numbers: each group's ``amount`` (GBP) taken
    from what it has this month, ``available`` (GBP). Returns the factor each group's spending
    is scaled by (exactly 1.0 where it pays nothing: ``x * 1.0`` is ``x``) and the part of
    ``amount`` it could not cover."""
    active = (amount > 0.0) & (available > 0.0)
    taken = np.minimum(amount, available)
    factor = 1.0 - np.divide(taken, available, out=np.zeros(available.shape), where=active)
    return factor, np.where(active, amount - taken, np.maximum(amount, 0.0))


def charge(costs: RunningCosts, layout, central: np.ndarray, pot: np.ndarray, council: np.ndarray, vcse: np.ndarray) -> RunningCosts:
    """Take this month's running costs out of the payers' care spending (arrays changed in place).

    Each payer pays from its own spending this month; what it cannot cover (an empty pot, a VCSE
    body that has folded) falls to the next body down the chain — VCSE to council, council to
    pot, pot to the ICB's retained money, the ICB to the pots of its places. Every place (and
    every system) at once: each place's block of cells is scaled as one place at a time would.

    Returns:
        What each payer actually paid, GBP this month (same shape as ``costs``).
    """
    L = layout
    columns = central.shape[1]
    places = cell_groups(L, L.place_index, columns, "places")
    systems = cell_groups(L, L.system_index, columns, "systems")
    # what each payer has this month before anything is taken (each takes only from its own)
    vcse_has, council_has, pot_has = places.sum_each(np.array([vcse.ravel(), council.ravel(), pot.ravel()])) / 12.0
    central_has = systems.sum(central.ravel()) / 12.0
    vcse_factor, rest = _shares(costs.vcse, vcse_has)
    paid_vcse = costs.vcse - rest
    due = costs.council + rest
    council_factor, rest = _shares(due, council_has)
    paid_council = due - rest
    due = costs.pot + rest
    pot_factor, rest = _shares(due, pot_has)
    paid_pot = due - rest
    left_icb = costs.icb.copy()
    np.add.at(left_icb, L.place_system, rest)  # in place order, as one place after another
    central_factor, rest = _shares(left_icb, central_has)
    paid = RunningCosts(left_icb - rest, paid_council, paid_pot, paid_vcse, costs.by_place.copy())
    # every place's factors, each row of the payers' spending scaled by its place's (or system's)
    factors = np.array([vcse_factor, council_factor, pot_factor])[:, L.nb_place, None]
    vcse *= factors[0]
    council *= factors[1]
    pot *= factors[2]
    central *= central_factor[L.nb_system, None]
    for s in (rest > 0.0).nonzero()[0]:  # no retained money: the places' pots pay, in proportion to their spending
        left = rest[s]
        for p in np.flatnonzero(L.place_system == s):
            before = left
            left = _take(pot, L.place_index[p], left)
            paid.pot[p] += before - left
        if left > 1e-6:
            raise ValueError(f"system {s}: running costs of GBP {left:,.0f} exceed all of its care spending this month")
    return paid
