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
        obs = self.model.observation
        visible = obs.visible_estimate(self.observer, idx)
        hidden = obs.hidden_seen(self.observer, idx, self.hidden_reach())
        return Belief(visible, hidden)

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

    def belief(self, idx: np.ndarray) -> Belief:
        b = super().belief(idx)
        if self.model.cfg.interests.enabled:
            b = Belief(b.visible, b.hidden * (1.0 - self.model.cfg.interests.council_visible_bias))
        return b

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
    """A place's voluntary, community and social enterprise sector: reaches excluded groups (reveals
    hidden need), delivers low-cost prevention and community support, and can fold when grants stop.

    Attributes:
        alive: whether it still operates.
        reserves: months of running cost it holds (GBP).
        income: income over the last 12 months (GBP/yr).
    """

    kind = "vcse"
    own_domains = (PREVENTION,)

    def __init__(self, model, system, place, name, income: float):
        super().__init__(model, system, place, name)
        self.alive = True
        self.income = income
        self.cost = income * model.cfg.providers.vcse_running_cost
        self.reserves = income / 12.0 * model.cfg.providers.vcse_reserve_months
        self.month_income = income / 12.0

    def interest(self) -> np.ndarray:
        pref = np.zeros(N_DOMAINS)
        if self.model.cfg.interests.enabled:
            pref[PREVENTION] += self.model.cfg.interests.vcse_prevention_bias
        return pref

    def hidden_reach(self) -> float | None:
        return self.model.cfg.observation.reach_vcse if self.alive else 0.0

    def receive(self, amount_per_month: float) -> None:
        self.month_income = amount_per_month

    def step(self) -> None:
        """Finances: income less running cost; running cost follows income with a year's lag;
        a body whose reserves run out folds and does not come back."""
        if not self.alive:
            return
        self.income += (self.month_income * 12.0 - self.income) / 12.0
        self.reserves += self.month_income - self.cost / 12.0
        target_cost = self.income * self.model.cfg.providers.vcse_running_cost
        self.cost += (target_cost - self.cost) / 12.0
        if self.reserves < 0.0:
            self.alive = False


class Healthwatch(Organisation):
    """Local Healthwatch: no budget; brings the voice of people who use services, which improves
    what a forum knows about unmet and hidden need."""

    kind = "healthwatch"
    local_priority_weight = 0.0

    def interest(self) -> np.ndarray:
        return np.zeros(N_DOMAINS)
