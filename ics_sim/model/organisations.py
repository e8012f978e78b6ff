"""Organisations as Mesa agents (MODEL.md section 3).

Agents hold what is theirs: their place, their observer kind (which estimation errors they carry,
see :mod:`ics_sim.model.observation`), the services they own (their interest) and, for VCSE bodies and
social care providers, their finances or capacity. Their behaviour in meetings is
:meth:`Organisation.proposal_preferences` (what they would like the domain mix to be) and
:meth:`Organisation.belief` (what they think need is). Partnerships (institutions, not agents) turn
those into decisions: :mod:`ics_sim.model.governance.partnership`.
"""

from __future__ import annotations

import mesa
import numpy as np

from ics_sim.domains import ACUTE, MENTAL, N_DOMAINS, PREVENTION, PRIMARY, SOCIAL
from ics_sim.model.governance.allocation import Belief


class Organisation(mesa.Agent):
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

    # --- what it wants -----------------------------------------------------------------------
    def interest(self) -> np.ndarray:
        """Log-weights on domains from its own interests (zero when interests are switched off)."""
        pref = np.zeros(N_DOMAINS)
        if not self.model.cfg.interests.enabled:
            return pref
        for k in self.own_domains:
            pref[k] += self.model.cfg.interests.provider_own_service_bias
        return pref

    def proposal_preferences(self) -> np.ndarray:
        """Domain log-weights this member brings to a meeting: interests, local priorities and
        regard for the ICP strategy."""
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


class VCSE(Organisation):
    """A place's voluntary, community and social enterprise sector: several bodies that reach
    excluded groups (they reveal hidden need), deliver low-cost prevention and community support,
    and can fold when their grants stop. The sector sits at the table as one member.

    Each body has a size, a dependence on statutory grants, reserves and running costs (staff,
    premises) committed in advance: costs follow income only slowly, and are cut more slowly still,
    so a body whose grants fall runs down its reserves and folds when they run out. A folded body
    is replaced only after years, by a small new body that grows back.

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

    def __init__(self, model, system, place, name, income: float, grants: float):
        super().__init__(model, system, place, name)
        c = model.cfg.providers
        rng = model.rng_sector
        k = c.vcse_bodies
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
        self.folds = 0
        # each body's weight in the grant-funded and the externally funded work (fixed: a body
        # keeps its size and its dependence on grants), with their totals
        w = self.size * self.grant_dependence
        self._grant_weights = (w, w.sum())
        w = self.size * (1.0 - self.grant_dependence)
        self._external_weights = (w, w.sum())
        self._grants_month = 0.0
        self._external_month = 0.0

    # --- what the sector can do --------------------------------------------------------------
    def operating_share(self) -> float:
        """The sector's working capacity: operating bodies' size x capacity (0..1)."""
        return float((self.size * self.capacity * self.alive).sum())

    def grant_capacity(self) -> float:
        """How much of the sector's grant-funded work still operates (0..1): funders can pass
        grants only to bodies that exist."""
        w, total = self._grant_weights
        return float((w * self.capacity * self.alive).sum() / total) if total > 0 else 0.0

    def external_capacity(self) -> float:
        """How much of the sector's externally funded work still operates (0..1)."""
        w, total = self._external_weights
        return float((w * self.capacity * self.alive).sum() / total) if total > 0 else 0.0

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

    # --- money -------------------------------------------------------------------------------
    def receive(self, grants_per_month: float, external_per_month: float) -> None:
        """This month's grants and external income of the sector, GBP per month."""
        self._grants_month = grants_per_month
        self._external_month = external_per_month

    def step(self) -> None:
        """Each operating body is paid its share of the month's grants and external income (by its
        size, capacity and dependence), pays its running cost, and folds when its reserves run out.
        Costs move towards ``vcse_running_cost`` x income over ``vcse_cost_months``, and fall by
        at most ``vcse_cost_cut`` a year (contracts, leases, redundancy). A folded body is
        replaced after ``vcse_rebuild_years`` on average, by a body at a fifth of its size that
        grows back over as long."""
        c = self.model.cfg.providers
        live = self.alive
        if live.any():
            g = self.size * self.grant_dependence * self.capacity * live
            e = self.size * (1.0 - self.grant_dependence) * self.capacity * live
            paid = np.zeros_like(self.income)
            if g.sum() > 0:
                paid += self._grants_month * g / g.sum()
            if e.sum() > 0:
                paid += self._external_month * e / e.sum()
            self.income[live] += (12.0 * paid[live] - self.income[live]) / 12.0
            self.reserves[live] += paid[live] - self.cost[live] / 12.0
            # reserves beyond the body's reserves policy are spent on its purposes
            np.minimum(self.reserves, self.reserve_months * self.cost / 12.0, out=self.reserves)
            target = c.vcse_running_cost * self.income
            step = (target - self.cost) / c.vcse_cost_months
            floor = -self.cost * c.vcse_cost_cut / 12.0
            self.cost[live] += np.maximum(step, floor)[live]
            broke = live & (self.reserves < 0.0)
            if broke.any():
                self.alive[broke] = False
                self.original[broke] = False
                self.folds += int(broke.sum())
                self.months_folded[broke] = 0.0
        self._rebuild(c)

    def _rebuild(self, c) -> None:
        """New bodies grow back to full size; a folded body's place is taken by a new one at a
        monthly rate ``1 / (12 vcse_rebuild_years)`` while grants are not being cut."""
        rate = 1.0 / (12.0 * c.vcse_rebuild_years)
        growing = self.alive & (self.capacity < 1.0)
        self.capacity[growing] = np.minimum(1.0, self.capacity[growing] + 0.8 * rate)
        dead = ~self.alive
        if not dead.any():
            return
        self.months_folded[dead] += 1.0
        climate = self.model.finance.grant_climate[self.place]
        start = dead & (self.model.rng_sector.random(len(self.alive)) < rate * climate)
        if start.any():
            self.alive[start] = True
            self.capacity[start] = 0.2
            self.income[start] = 0.2 * self.base_income[start]
            self.cost[start] = self.income[start] * c.vcse_running_cost
            self.reserves[start] = self.cost[start] / 12.0 * self.reserve_months[start]


class Healthwatch(Organisation):
    """Local Healthwatch: no budget; brings the voice of people who use services, which improves
    what a forum knows about unmet and hidden need."""

    kind = "healthwatch"
    local_priority_weight = 0.0

    def interest(self) -> np.ndarray:
        return np.zeros(N_DOMAINS)
