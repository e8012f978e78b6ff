"""Organisations as Mesa agents (MODEL.md section 3).

Agents hold what is theirs: their place, their observer kind (which estimation errors they carry,
see :mod:`ics_sim.model.observation`), the services they own (their interest) and, for VCSE bodies and
social care providers, their finances or capacity. Their behaviour in meetings is
:meth:`Organisation.proposal_preferences` (what they would like the domain mix to be) and
:meth:`Organisation.belief` (what they think need is). Partnerships (institutions, not agents) turn
those into decisions: :mod:`ics_sim.model.governance.partnership`.
"""

from __future__ import annotations

import operator
from itertools import repeat
from operator import attrgetter

import numpy as np

from ics_sim.domains import ACUTE, MENTAL, N_DOMAINS, PREVENTION, PRIMARY, SOCIAL
from ics_sim.model.governance.allocation import Belief
from ics_sim.model.mesa_compat import Agent


class Organisation(Agent):
    """A member organisation of the system.

    Attributes:
        kind: icb, council, acute_trust, community_trust, mental_health_trust, pcn, social_care,
            vcse or healthwatch.
        observer: which estimation-error field it reads (ICB at place uses its place team's).
        place: index of its place, or None for system-level bodies.
        system: index of its system.
        own_domains: domains whose services it provides (its interest).
        level: system, place or neighbourhood.
    """

    kind = "organisation"
    own_domains: tuple[int, ...] = ()
    level = "place"

    def __init__(self, model, system: int, place: int | None, name: str, observer: str | None = None):
        super().__init__(model)
        self.system = system
        self.place = place
        self.name = name
        self.observer = observer or self.kind

    # --- what it believes --------------------------------------------------------------------
    def hidden_reach(self) -> float | None:
        """Reach into hidden need (None: the observer kind's default)."""
        return None

    def belief(self, idx: np.ndarray) -> Belief:
        """What it believes of need in neighbourhoods ``idx``: its estimate of visible need and
        what it sees of hidden need. Read-only arrays, computed once while what it observes is
        unchanged (a month: the meetings and delivery read the same belief), for the same ``idx``
        array and reach; for a place's neighbourhoods (a contiguous run) they are views of the
        month's whole-population arrays (:meth:`~ics_sim.model.observation.Observation.belief_rows`)."""
        obs = self.model.observation
        reach = self.hidden_reach()
        state = obs.state()
        if self._belief_state is not state:
            self._belief_state, self._beliefs = state, {}
        cached = self._beliefs.get(id(idx))
        if cached is not None and cached[0] is idx and cached[1] == reach:
            return cached[2]
        visible, seen = obs.belief_rows(self.observer, idx, reach)
        hidden = self.hidden_belief(seen)
        hidden.flags.writeable = False
        belief = Belief(visible, hidden)
        self._beliefs[id(idx)] = (idx, reach, belief)  # idx is held, so its id is not reused
        return belief

    _belief_state: dict | None = None
    _beliefs: dict

    def hidden_belief(self, seen: np.ndarray) -> np.ndarray:
        """What it believes of the hidden need it sees (``seen``, from its observer field)."""
        return seen

    @staticmethod
    def hidden_reaches(orgs: list) -> np.ndarray | None:
        """:meth:`hidden_reach` of each of ``orgs`` (all of this class) as one array, where the
        class can read them all at once; None when they must be asked one by one (the default:
        a class that overrides :meth:`hidden_reach` may override this too)."""
        return None

    # --- what it wants -----------------------------------------------------------------------
    def interest(self) -> np.ndarray:
        """Log-weights on domains from its own interests (zero when interests are switched off)."""
        pref = np.zeros(N_DOMAINS)
        if not self.model.cfg.interests.enabled:
            return pref
        for k in self.own_domains:
            pref[k] += self.model.cfg.interests.provider_own_service_bias
        return pref

    @classmethod
    def interests(cls, orgs: list) -> np.ndarray:
        """:meth:`interest` of each of ``orgs`` (all of this class, ``kind`` and ``own_domains``),
        as rows: one row read for them all, as an organisation's interest reads only the run's
        config, its class, kind and own domains (a class whose interest reads its own state
        overrides this). Read-only."""
        return np.broadcast_to(orgs[0].interest(), (len(orgs), N_DOMAINS))

    def proposal_preferences(self) -> np.ndarray:
        """Domain log-weights this member brings to a meeting: interests, local priorities and
        regard for the ICP strategy (:func:`proposal_preferences_all` asks many at once)."""
        m = self.model
        pref = self.interest()
        if m.cfg.interests.enabled and self.place is not None:
            pref = pref + self.local_priority_weight * m.local_priorities[self.place]
        return pref + m.finance.strategy_pull(self.system)

    local_priority_weight = 0.5

    def step(self) -> None:  # most organisations act only through meetings
        pass


class ICB(Organisation):
    """Integrated care board: holds the NHS allocation, decides delegation, keeps accountability,
    weighs national commitments (mental health investment floor) and the ICP strategy."""

    kind = "icb"
    level = "system"
    local_priority_weight = 0.0

    def interest(self) -> np.ndarray:
        return np.zeros(N_DOMAINS)  # national commitments act through the MH floor, not a bias


class Council(Organisation):
    """Upper-tier council: adult social care and public health; answers to voters, which biases it
    towards visible need; a required ICP member with a duty to co-operate."""

    kind = "council"
    local_priority_weight = 1.0

    def hidden_belief(self, seen: np.ndarray) -> np.ndarray:
        """Answering to voters, it discounts the hidden need it sees (with interests enabled)."""
        if self.model.cfg.interests.enabled:
            return seen * (1.0 - self.model.cfg.interests.council_visible_bias)
        return seen

    def hidden_reach(self) -> float | None:
        return 0.0 + self.model.cfg.observation.reach_pcn * 0.5  # sees some hidden need via social work

    @staticmethod
    def hidden_reaches(orgs: list) -> np.ndarray | None:
        """Every council's :meth:`hidden_reach` at once (councils of one model: one number for all,
        from the run's config); None for no council."""
        return np.full(len(orgs), orgs[0].hidden_reach()) if orgs else None

    def interest(self) -> np.ndarray:
        pref = np.zeros(N_DOMAINS)
        if self.model.cfg.interests.enabled:
            pref[SOCIAL] += self.model.cfg.interests.council_social_care_bias
        return pref


class NHSProvider(Organisation):
    """An NHS trust: capacity, unit costs with economies of scale, an interest in its own services'
    income. May hold a place budget as lead provider."""

    level = "system"

    def __init__(self, model, system, place, name, kind: str):
        self.kind = kind
        self.own_domains = {
            "acute_trust": (ACUTE,),
            "community_trust": (PRIMARY,),
            "mental_health_trust": (MENTAL,),
        }[kind]
        super().__init__(model, system, place, name, observer=kind)

    def activity_share(self) -> float:
        """Share of its income that follows the activity of its own services (last month's
        spending on them in the places it serves). All of it under activity contracts; where it
        holds a place pot under contract, ``governance.outcome_payment_share`` (the place's own) of
        the pot's payments for its own services is paid for outcomes instead."""
        m = self.model
        if not m.outcome_payments:
            return 1.0
        own = list(self.own_domains)
        places = [self.place] if self.place is not None else np.flatnonzero(m.layout.place_system == self.system)
        income = m.place_spend_by_domain[places][:, own].sum()
        if income <= 0.0:
            return 1.0
        by_outcome = sum(  # each place's contract pays its own share for outcomes
            part.settings.governance.outcome_payment_share * m.pot_spend_by_domain[part.place, own].sum()
            for part in (m.partnerships[p] for p in places)
            if part.contracted and part.orgs[part.holder_key] is self
        )
        return float(1.0 - min(by_outcome / income, 1.0))

    def interest(self) -> np.ndarray:
        """Its bias towards its own services, in proportion to how much of its income follows
        their activity: an outcome-based contract weakens it because income then follows health."""
        return super().interest() * self.activity_share()

    @classmethod
    def interests(cls, orgs: list) -> np.ndarray:
        """:meth:`interest` of each of ``orgs`` (trusts of one kind), as rows: the kind's bias
        times each trust's own :meth:`activity_share` (element by element the same product)."""
        shares = np.array([org.activity_share() for org in orgs])
        return Organisation.interest(orgs[0]) * shares[:, None]


class PCN(Organisation):
    """Primary care network: delivers primary and community care; best information about its own
    neighbourhood. In place forums PCNs speak through their clinical directors (one combined seat)."""

    kind = "pcn"
    own_domains = (PRIMARY,)
    level = "neighbourhood"


class SocialCareProvider(Organisation):
    """Social care providers of a place: capacity bounded by workforce, thin margins."""

    kind = "social_care"
    own_domains = (SOCIAL,)


class _BodyArray:
    """A VCSE sector's per-body array (one value per body): the sector's own until it joins
    :class:`VCSESectors`, then its row of the sectors' array (a view, read afresh each time, so
    reading and writing it reads and writes the shared state, also in a copy of the model)."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        if obj._sectors is not None:
            return getattr(obj._sectors, self.name)[obj._row]
        return obj._arrays[self.name]

    def __set__(self, obj, value):
        if obj._sectors is not None:
            getattr(obj._sectors, self.name)[obj._row] = value
        else:
            obj._arrays[self.name] = np.array(value)


class VCSE(Organisation):
    """A place's voluntary, community and social enterprise sector: several bodies that reach
    excluded groups (they reveal hidden need), deliver low-cost prevention and community support,
    and can fold when their grants stop. The sector sits at the table as one member.

    Each body has a size, a dependence on statutory grants, reserves and running costs (staff,
    premises) committed in advance: costs follow income only slowly, and are cut more slowly still,
    so a body whose grants fall runs down its reserves and folds when they run out. A folded body
    is replaced only after years, by a small new body that grows back.

    The money is stepped for every place's sector at once (:class:`VCSESectors`, which the model
    builds once its sectors exist); each attribute below is then this sector's row of the shared
    arrays (reading or writing it reads or writes the shared state).

    Attributes:
        size: each body's share of the sector at full capacity.
        grant_dependence: each body's share of income from statutory grants at the start.
        capacity: each body's capacity relative to its full size (new bodies start small).
        alive: whether each body operates.
        reserves: each body's reserves, GBP (at most its reserves policy, ``reserve_months`` of
            running cost; a surplus beyond it is spent on the body's purposes).
        cost: each body's running cost, GBP per year.
        income: each body's income over the last 12 months (smoothed), GBP per year.
        original: each body has operated since the start without folding.
        folds: bodies that have folded so far.
    """

    kind = "vcse"
    own_domains = (PREVENTION,)

    size = _BodyArray()
    grant_dependence = _BodyArray()
    capacity = _BodyArray()
    alive = _BodyArray()
    base_income = _BodyArray()
    income = _BodyArray()
    cost = _BodyArray()
    reserve_months = _BodyArray()
    reserves = _BodyArray()
    months_folded = _BodyArray()
    original = _BodyArray()

    _sectors: VCSESectors | None = None

    def __init__(self, model, system, place, name, income: float, grants: float):
        super().__init__(model, system, place, name)
        c = model.cfg.providers
        rng = model.rng_sector
        k = c.vcse_bodies
        self._sectors, self._row = None, None
        self._arrays: dict[str, np.ndarray] = {}
        self.size = rng.dirichlet(np.full(k, 2.0))
        mean_dependence = grants / income if income > 0 else 0.0
        # bodies differ in how much they live on grants; the sector's mean stays what it takes
        spread = min(mean_dependence, 1.0 - mean_dependence)
        self.grant_dependence = np.clip(mean_dependence + spread * (2.0 * rng.beta(2.0, 2.0, k) - 1.0), 0.0, 1.0)
        self.capacity = np.ones(k)
        self.alive = np.ones(k, dtype=bool)
        self.base_income = income * self.size
        self.income = self.base_income.copy()
        self.cost = self.base_income * c.vcse_running_cost
        # each body's reserves policy, in months of running cost (many small bodies hold little)
        self.reserve_months = c.vcse_reserve_months * np.exp(rng.normal(0.0, 0.6, k))
        self.reserves = self.cost / 12.0 * self.reserve_months
        self.months_folded = np.zeros(k)
        self.original = np.ones(k, dtype=bool)  # operating since the start, never folded
        self._folds = 0
        self._grants_month = 0.0
        self._external_month = 0.0

    @property
    def folds(self) -> int:
        return int(self._sectors.folds[self._row]) if self._sectors is not None else self._folds

    @folds.setter
    def folds(self, value: int) -> None:
        if self._sectors is not None:
            self._sectors.folds[self._row] = value
        else:
            self._folds = int(value)

    def _joined(self) -> tuple[VCSESectors, np.ndarray]:
        """The sectors this one is part of, and its row of their arrays (a sector on its own,
        outside a model, joins a set of its own)."""
        if self._sectors is None:
            VCSESectors([self])
        return self._sectors, np.array([self._row])

    # --- what the sector can do --------------------------------------------------------------
    def operating_share(self) -> float:
        """The sector's working capacity: operating bodies' size x capacity (0..1)."""
        s = self._sectors
        if s is None:
            return float((self.size * self.capacity * self.alive).sum())
        r = self._row
        return float((s.size[r] * s.capacity[r] * s.alive[r]).sum())

    def grant_capacity(self) -> float:
        """How much of the sector's grant-funded work still operates (0..1): funders can pass
        grants only to bodies that exist."""
        sectors, rows = self._joined()
        return float(sectors.grant_capacity(rows)[0])

    def external_capacity(self) -> float:
        """How much of the sector's externally funded work still operates (0..1)."""
        sectors, rows = self._joined()
        return float(sectors.external_capacity(rows)[0])

    @property
    def operating(self) -> bool:
        return bool(self.alive.any())

    def survival(self) -> float:
        """Share of the place's VCSE bodies of the start still operating (a body that replaces a
        folded one is new, not a survivor: the sector's capacity says how far it has rebuilt)."""
        return float(self.original.mean())

    def interest(self) -> np.ndarray:
        pref = np.zeros(N_DOMAINS)
        if self.model.cfg.interests.enabled:
            pref[PREVENTION] += self.model.cfg.interests.vcse_prevention_bias
        return pref

    def hidden_reach(self) -> float | None:
        return self.model.cfg.observation.reach_vcse * self.operating_share()

    @staticmethod
    def hidden_reaches(orgs: list) -> np.ndarray | None:
        """Every sector's :meth:`hidden_reach` from the joined sectors' arrays at once (the same
        numbers: each place's row sum, times the same reach); None unless all are joined in one."""
        sectors = orgs[0]._sectors if orgs else None
        if sectors is None or not all(map(operator.is_, map(_SECTORS, orgs), repeat(sectors))):  # at C speed
            return None
        rows = np.fromiter(map(_ROW, orgs), dtype=np.intp, count=len(orgs))
        return sectors.model.cfg.observation.reach_vcse * sectors.operating_share()[rows]

    # --- money -------------------------------------------------------------------------------
    def receive(self, grants_per_month: float, external_per_month: float) -> None:
        """This month's grants and external income of the sector, GBP per month."""
        sectors, rows = self._joined()
        sectors.grants_month[rows] = grants_per_month
        sectors.external_month[rows] = external_per_month

    def step(self) -> None:
        """This sector's month (:meth:`VCSESectors.step` for its row alone; the model steps every
        place's sector at once)."""
        sectors, rows = self._joined()
        sectors.step(rows)


_SECTORS, _ROW = attrgetter("_sectors"), attrgetter("_row")


class VCSESectors:
    """Every place's VCSE sector as arrays of places x bodies, stepped at once.

    Building it joins the sectors: each :class:`VCSE`'s per-body attributes become its row of
    these arrays (views), so the agents' attributes stay true for their readers (the record, the
    dashboard, the workshop, tests).

    Args:
        vcses: one sector per place, in place order (each with the same number of bodies).

    Attributes:
        size, grant_dependence, capacity, alive, base_income, income, cost, reserve_months,
            reserves, months_folded, original: places x bodies (see :class:`VCSE`).
        folds: per place, bodies folded so far.
        grants_month, external_month: per place, this month's grants and external income, GBP.
    """

    FIELDS = ("size", "grant_dependence", "capacity", "alive", "base_income", "income", "cost",
              "reserve_months", "reserves", "months_folded", "original")

    def __init__(self, vcses: list[VCSE]):
        self.vcses = list(vcses)
        self.model = self.vcses[0].model
        for name in self.FIELDS:
            setattr(self, name, np.stack([v._arrays[name] for v in self.vcses]))
        self._place = np.array([v.place for v in self.vcses], dtype=int)
        self.folds = np.array([v.folds for v in self.vcses], dtype=int)
        self.grants_month = np.array([v._grants_month for v in self.vcses], dtype=float)
        self.external_month = np.array([v._external_month for v in self.vcses], dtype=float)
        # each body's weight in the grant-funded and the externally funded work (fixed: a body
        # keeps its size and its dependence on grants), stacked (grants, external) x places x
        # bodies so that one product serves both kinds of money, with their totals
        self._weights = np.stack([self.size * self.grant_dependence, self.size * (1.0 - self.grant_dependence)])
        self._grant_weights, self._external_weights = self._weights
        self._grant_total = self._grant_weights.sum(axis=1)
        self._external_total = self._external_weights.sum(axis=1)
        for row, v in enumerate(self.vcses):
            v._sectors, v._row, v._arrays = self, row, {}

    def operating(self) -> np.ndarray:
        """Per place, whether any body operates."""
        return self.alive.any(axis=1)

    def operating_share(self) -> np.ndarray:
        """Per place, :meth:`VCSE.operating_share`."""
        return (self.size * self.capacity * self.alive).sum(axis=1)

    def survival(self) -> np.ndarray:
        """Per place, :meth:`VCSE.survival` (each row's mean of 0/1 flags: exact in any order)."""
        return self.original.mean(axis=1)

    def grant_capacity(self, rows=slice(None)) -> np.ndarray:
        """Per place (of ``rows``), how much of the sector's grant-funded work still operates."""
        return self._working(self._grant_weights[rows], self._grant_total[rows], rows)

    def external_capacity(self, rows=slice(None)) -> np.ndarray:
        """Per place (of ``rows``), how much of the sector's externally funded work still operates."""
        return self._working(self._external_weights[rows], self._external_total[rows], rows)

    def _working(self, w: np.ndarray, total: np.ndarray, rows) -> np.ndarray:
        working = (w * self.capacity[rows] * self.alive[rows]).sum(axis=1)
        return np.divide(working, total, out=np.zeros_like(total), where=total > 0)

    def step(self, rows=slice(None)) -> None:
        """The month of every place's sector (of ``rows``, in place order). Each operating body is
        paid its share of the month's grants and external income (by its size, capacity and
        dependence), pays its running cost, and folds when its reserves run out. Costs move
        towards ``vcse_running_cost`` x income over ``vcse_cost_months``, and fall by at most
        ``vcse_cost_cut`` a year (contracts, leases, redundancy). Then :meth:`_rebuild`.

        Both kinds of money in one array (grants, external) x places x bodies: each body's working
        weight ``size x dep x capacity x alive`` (``size x (1 - dep)`` for external income, the
        products in that order), its share of the money, and the sum over the first axis, which
        adds ``0.0 + grants share + external share`` as the kind-by-kind ``+=`` did."""
        c = self.model.cfg.providers
        live = self.alive[rows]
        any_live = live.any(axis=1)
        if any_live.any():
            capacity = self.capacity[rows]
            income, cost, reserves = self.income[rows], self.cost[rows], self.reserves[rows]
            working = self._weights[:, rows] * capacity * live
            total = working.sum(axis=2)[:, :, None]  # each place's row summed alone, as per kind
            money = np.stack([self.grants_month[rows], self.external_month[rows]])[:, :, None]
            paid = np.add.reduce(np.divide(money * working, total, out=np.zeros_like(working), where=total > 0), axis=0)
            income = np.where(live, income + (12.0 * paid - income) / 12.0, income)
            reserves = np.where(live, reserves + (paid - cost / 12.0), reserves)
            # reserves beyond the body's reserves policy are spent on its purposes
            reserves = np.where(any_live[:, None], np.minimum(reserves, self.reserve_months[rows] * cost / 12.0), reserves)
            target = c.vcse_running_cost * income
            step = (target - cost) / c.vcse_cost_months
            floor = -cost * c.vcse_cost_cut / 12.0
            cost = np.where(live, cost + np.maximum(step, floor), cost)
            self.income[rows], self.cost[rows], self.reserves[rows] = income, cost, reserves
            broke = live & (reserves < 0.0)
            if broke.any():
                alive, original, folded = self.alive[rows], self.original[rows], self.months_folded[rows]
                alive[broke] = False
                original[broke] = False
                folded[broke] = 0.0
                self.alive[rows], self.original[rows], self.months_folded[rows] = alive, original, folded
                self.folds[rows] += broke.sum(axis=1)
        self._rebuild(c, rows)

    def _rebuild(self, c, rows) -> None:
        """New bodies grow back to full size; a folded body's place is taken by a new one at a
        monthly rate ``1 / (12 vcse_rebuild_years)`` while grants are not being cut (one draw per
        body of every place with a folded body, in place order)."""
        rate = 1.0 / (12.0 * c.vcse_rebuild_years)
        alive, capacity = self.alive[rows], self.capacity[rows]
        growing = alive & (capacity < 1.0)
        self.capacity[rows] = np.where(growing, np.minimum(1.0, capacity + 0.8 * rate), capacity)
        dead = ~alive
        places = np.flatnonzero(dead.any(axis=1))
        if not len(places):
            return
        folded = self.months_folded[rows]
        folded[dead] += 1.0
        self.months_folded[rows] = folded
        where = np.arange(len(self.vcses))[rows][places]  # the places' rows of the whole arrays
        climate = self.model.finance.grant_climate[self._place[where]]
        draws = self.model.rng_sector.random((len(places), dead.shape[1]))
        start = dead[places] & (draws < (rate * climate)[:, None])
        if start.any():
            rows_, bodies = where[np.nonzero(start)[0]], np.nonzero(start)[1]
            self.alive[rows_, bodies] = True
            self.capacity[rows_, bodies] = 0.2
            self.income[rows_, bodies] = 0.2 * self.base_income[rows_, bodies]
            self.cost[rows_, bodies] = self.income[rows_, bodies] * c.vcse_running_cost
            self.reserves[rows_, bodies] = self.cost[rows_, bodies] / 12.0 * self.reserve_months[rows_, bodies]


class Healthwatch(Organisation):
    """Local Healthwatch: no budget; brings the voice of people who use services, which improves
    what a forum knows about unmet and hidden need."""

    kind = "healthwatch"
    local_priority_weight = 0.0

    def interest(self) -> np.ndarray:
        return np.zeros(N_DOMAINS)


def first_seen(keys: list) -> tuple[list, np.ndarray]:
    """The distinct ``keys`` in the order first seen, and each key's position among them (read at
    C speed)."""
    position = {key: g for g, key in enumerate(dict.fromkeys(keys))}
    return list(position), np.fromiter(map(position.__getitem__, keys), dtype=np.intp, count=len(keys))


def proposal_preferences_all(orgs: list[Organisation]) -> np.ndarray:
    """:meth:`Organisation.proposal_preferences` of each of ``orgs`` (organisations of one model),
    as one (organisations, domains) array of the same numbers: each class and kind's interests
    read at once (:meth:`Organisation.interests`), each system's strategy pull once, then element
    by element the same sums (interest, plus the weighted local priority, plus the pull)."""
    m = orgs[0].model
    pref = np.empty((len(orgs), N_DOMAINS))
    kinds, kind_of = first_seen(list(map(_INTEREST_KEY, orgs)))
    for g, (cls, _, _) in enumerate(kinds):
        rows = np.flatnonzero(kind_of == g)
        pref[rows] = cls.interests([orgs[k] for k in rows.tolist()])
    if m.cfg.interests.enabled:
        local = [k for k, org in enumerate(orgs) if org.place is not None]
        if local:
            weight = np.array([orgs[k].local_priority_weight for k in local])[:, None]
            pref[local] = pref[local] + weight * m.local_priorities[[orgs[k].place for k in local]]
    systems, system_of = first_seen(list(map(_SYSTEM, orgs)))
    return pref + np.array([m.finance.strategy_pull(s) for s in systems])[system_of]


_INTEREST_KEY, _SYSTEM = attrgetter("__class__", "kind", "own_domains"), attrgetter("system")
