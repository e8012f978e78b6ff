"""Money before it is spent: allocations, delegated shares, budgets and envelopes (MODEL.md
sections 3, 5 and 6.1).

Every April the ICB's NHS allocation (population x need index x pounds per head) and the
councils' social care and public health budgets are set, the delegation rule reviews what each
place holds, and the money is divided into envelopes: the place partnership's pot (delegated NHS
money, plus council money where it is pooled), each council's own envelope, and the ICB's plan for
what it retains. VCSE bodies' external income is drawn once a year.
"""

from __future__ import annotations

from operator import attrgetter

import numpy as np

from ics_sim.domains import N_DOMAINS, PREVENTION, SOCIAL
from ics_sim.model.governance import delegation
from ics_sim.model.governance.allocation import Belief, area_weights, make_plan, shift_domains

_POOLED = attrgetter("pooled")


def vcse_base_grants(cfg, place_population: float) -> float:
    """A place VCSE sector's expected yearly grants from the prevention budgets at the starting
    level of trust (7.13: the grant share is ``min(1, 0.5 + trust)`` of ``vcse_grant_share``), GBP
    per year."""
    c = cfg
    return c.providers.vcse_grant_share * min(1.0, 0.5 + c.trust.initial) * place_population * (
        c.system.council_public_health_gbp_per_head + c.system.nhs_gbp_per_head * c.finance.nhs_domain_shares.prevention
    )


def vcse_base_income(cfg, place_population: float) -> float:
    """A place VCSE sector's expected yearly income: grants from the prevention budgets plus
    external income, GBP per year."""
    return vcse_base_grants(cfg, place_population) + cfg.system.vcse_external_gbp_per_head * place_population


def icp_reach(cfg, membership) -> float:
    """The ICB's reach into a place's hidden need through the ICP: half the better reach of the
    place's VCSE bodies and Healthwatch, where they are members."""
    o, m = cfg.observation, membership
    return 0.5 * max(o.reach_vcse if m.vcse else 0.0, o.reach_healthwatch if m.healthwatch else 0.0)


def icb_hidden_seen(model, idx: np.ndarray) -> np.ndarray:
    """The hidden need of neighbourhoods ``idx`` the ICB sees through its ICP members with reach:
    each place's through that place's members (``place_settings.<place>.membership``)."""
    obs, L, reach = model.observation, model.layout, model.finance.icp_reach
    if np.all(reach == reach[0]):
        return obs.hidden_seen("icb_system", idx, float(reach[0]))
    nb_reach = reach[L.nb_place[idx]]
    out = np.zeros((len(idx), N_DOMAINS))
    for r in np.unique(nb_reach):
        rows = nb_reach == r
        out[rows] = obs.hidden_seen("icb_system", idx[rows], float(r))
    return out


def icb_system_belief(model, s: int, idx: np.ndarray) -> Belief:
    """The ICB's system-level view of neighbourhoods ``idx`` of system ``s``; it sees hidden need
    only through ICP members with reach."""
    visible = model.observation.visible_estimate("icb_system", idx)
    return Belief(visible, icb_hidden_seen(model, idx))


def icb_whole_belief(model) -> Belief:
    """:func:`icb_system_belief` of every neighbourhood (each by its own system's ICB) as the
    whole-population fields, read-only: the same numbers, without copying rows."""
    obs, reach = model.observation, model.finance.icp_reach
    seen = float(reach[0]) if np.all(reach == reach[0]) else reach[model.layout.nb_place]
    return Belief(obs.whole_visible_estimate("icb_system"), obs.whole_hidden_seen("icb_system", seen))


def icb_allocation_belief(model, s: int, idx: np.ndarray) -> Belief:
    """What the ICB divides its money by when it allocates by need: the national need formula's
    estimate of visible need (weighted capitation; ``observation.error_formula``), and the hidden
    need its ICP members with reach bring to it (as in :func:`icb_system_belief`)."""
    return Belief(model.observation.visible_estimate("formula", idx), icb_hidden_seen(model, idx))


class Finance:
    """The money state of a run and the April budget round.

    Args:
        model: the :class:`~ics_sim.model.ICSModel` (its layout, config, population, observation,
            organisations and partnerships are read; nothing else is changed).

    Attributes:
        nhs_allocation: NHS allocation per system at year 0, GBP per year.
        shares: delegated share per place and domain (the delegation rule's state).
        nhs_budget: this year's NHS budget per system and domain, GBP per year.
        council_budget: this year's council budget per place and domain, GBP per year.
        pot_envelope: the place partnership's pot per place and domain (delegated NHS money plus
            pooled council money), GBP per year; ``pot_nhs`` its NHS part.
        council_envelope: each council's whole budget this year (what a forum can see).
        central_plan: the ICB's plan for its retained money, per neighbourhood and domain.
        system_spend_share: last month's share of each system's spending by domain.
        vcse_external: each place VCSE sector's external income this year, GBP.
        grant_climate: per place, the factor on grants to VCSE bodies this year (below 1 while
            funders cut against plan, ``providers.vcse_grant_cut_elasticity``).
        icp_reach: per place, the ICB's reach into its hidden need through the ICP.
    """

    def __init__(self, model):
        self.model = model
        L, c = model.layout, model.cfg
        self.nhs_allocation = L.system_population() * L.need_index * c.system.nhs_gbp_per_head
        self.nhs_shares = np.array(c.finance.nhs_domain_shares.as_tuple())
        council = np.zeros(N_DOMAINS)
        council[SOCIAL] = c.system.council_social_care_gbp_per_head
        council[PREVENTION] = c.system.council_public_health_gbp_per_head
        self.council_per_head = council
        self.place_pop = L.place_population()
        #: per place, the ICB's reach into its hidden need through the ICP (:func:`icp_reach`)
        self.icp_reach = np.array([icp_reach(c, c.membership) for c in model.place_cfgs])
        self.shares = delegation.place_initial_shares(model.place_cfgs, L, model.population.base_need)
        self.nhs_budget = np.zeros((L.n_systems, N_DOMAINS))
        self.council_budget = np.zeros((L.n_places, N_DOMAINS))
        self.pot_envelope = np.zeros((L.n_places, N_DOMAINS))
        self.pot_nhs = np.zeros((L.n_places, N_DOMAINS))
        self.council_envelope = np.zeros((L.n_places, N_DOMAINS))
        self.central_plan = np.zeros_like(model.population.need)
        self.system_spend_share = np.tile(self.nhs_shares, (L.n_systems, 1))
        self.vcse_external = np.zeros(L.n_places)
        self.grant_climate = np.ones(L.n_places)

    def council_own_envelope(self, p: int) -> np.ndarray:
        """What place ``p``'s council spends itself: its budget less what it pools."""
        m = self.model
        pooled = m.partnerships[p].pooled if m.partnerships else m.place_cfgs[p].governance.pooled
        keep = 1.0 - (m.cfg.finance.pooled_council_share if pooled else 0.0)
        return self.council_budget[p] * keep

    def council_own_envelopes(self) -> np.ndarray:
        """:meth:`council_own_envelope` of every place at once (places x domains): row by row the
        same numbers."""
        m = self.model
        share = m.cfg.finance.pooled_council_share
        pooled = list(map(_POOLED, m.partnerships)) if m.partnerships else [c.governance.pooled for c in m.place_cfgs]
        held = self.__dict__.get("_council_keep")  # each place's share kept, while the pooling is the same
        if held is None or held[0] != pooled or held[1] != share:
            keep = np.where(np.array(pooled, dtype=bool), 1.0 - share, 1.0 - 0.0)[:, None]
            keep.flags.writeable = False
            held = self._council_keep = (pooled, share, keep)
        return self.council_budget * held[2]

    def set_budgets(self, month: int, ledger, performance: np.ndarray, first: bool = False) -> None:
        """April: allocations grow (or are cut), delegation is reviewed, envelopes and the ICB's
        plan for its retained money are set, and each holder's budget opens in the ledger."""
        m = self.model
        L, c = m.layout, m.cfg
        year = month // 12
        cut_nhs, cut_council = m.shocks.budget_factor(month)
        # funders cutting against plan protect statutory services and cut discretionary grants first
        self.grant_climate[:] = min(cut_nhs, cut_council) ** c.providers.vcse_grant_cut_elasticity
        self.nhs_budget = (self.nhs_allocation * (1 + c.finance.nhs_growth) ** year * cut_nhs)[:, None] * self.nhs_shares[None, :]
        # council spending per head follows the place's need index (a proxy for the adult social care
        # relative needs formula); England = 1 reproduces the national averages per head
        council_pop = self.place_pop * L.place_need()
        self.council_budget = (council_pop * (1 + c.finance.council_growth) ** year * cut_council)[:, None] * self.council_per_head[None, :]
        if not first:
            self.shares = delegation.place_review(m.place_cfgs, self.shares, performance)
        self.pot_envelope[:] = 0.0
        self.central_plan[:] = 0.0
        for s in range(L.n_systems):
            idx = L.system_index[s]
            belief = icb_allocation_belief(m, s, idx)
            w = area_weights(c.allocation.rule, belief, L.nb_population[idx], L.nb_rank[idx], c.allocation.hi_adjustment)
            wshare = w / np.maximum(w.sum(axis=0), 1e-12)
            places = L.nb_place[idx]
            kept = 1.0 - self.shares[places]  # share of each cell's money the ICB keeps
            budget = self.nhs_budget[s]
            delegated_cells = wshare * (1.0 - kept) * budget[None, :]
            np.add.at(self.pot_envelope, places, delegated_cells)
            retained = budget - delegated_cells.sum(axis=0)
            floor = c.finance.mental_health_floor * retained.sum()
            env = shift_domains(retained, m.icbs[s].proposal_preferences(), floor)
            self.central_plan[idx] = make_plan(env, wshare * kept)
            ledger.open(f"icb:{s}", float(budget.sum()))
            ledger.open(f"icb_retained:{s}", float(retained.sum()))
            ledger.open(f"icb_delegated:{s}", float(delegated_cells.sum()))
        self.pot_nhs = self.pot_envelope.copy()
        for p in range(len(m.partnerships)):
            pooled = self.council_budget[p] - self.council_own_envelope(p)
            self.pot_envelope[p] += pooled
            ledger.open(f"pot:{p}", float(self.pot_envelope[p].sum()))
            ledger.open(f"council:{p}", float(self.council_budget[p].sum()))
        self.council_envelope = self.council_budget.copy()
        ledger.start_year()

    def draw_vcse_income(self, rng: np.random.Generator, ledger) -> None:
        """VCSE external income is volatile year to year (grant rounds): a mean-one lognormal draw
        per place; each body's external budget opens in the ledger."""
        m = self.model
        vol = m.cfg.providers.vcse_income_volatility
        self.vcse_external = self.place_pop * m.cfg.system.vcse_external_gbp_per_head * np.exp(
            rng.normal(0.0, vol, m.layout.n_places) - 0.5 * vol**2
        )
        for p in range(m.layout.n_places):
            ledger.open(f"vcse:{p}", float(self.vcse_external[p]), spent=0.0)

    def strategy_pull(self, s: int) -> np.ndarray:
        """Log-weights moving a body's domain mix towards the ICP strategy ('have regard to')."""
        icps = self.model.icps
        strat = icps[s].strategy if icps else None
        if strat is None:
            return np.zeros(N_DOMAINS)
        current = np.maximum(self.system_spend_share[s], 1e-9)
        return self.model.cfg.interests.strategy_regard * np.log(np.maximum(strat, 1e-9) / current)
