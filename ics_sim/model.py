"""ICSModel: the Mesa model that schedules the monthly process (MODEL.md section 6).

``step()`` reads like the process overview:

1. calendar (April: budgets, delegation review, envelopes, ICB plan; needs assessments refresh)
2. need moves
3. observation
4. meetings (ICP strategy; place partnerships decide or deadlock; bodies plan their own money)
5. commissioning and delivery
6. outcomes (health)
7. trust
8. accountability (assurance reviews, reporting burden, VCSE finances)
9. record
"""

from __future__ import annotations

import mesa
import numpy as np

from ics_sim.config.schema import Config
from ics_sim.delivery import Delivery, Funder, deliver, scale_efficiency
from ics_sim.domains import ACUTE, MENTAL, N_DOMAINS, PREVENTION, PRIMARY, SOCIAL
from ics_sim.geography import Layout, build_layout
from ics_sim.governance import delegation
from ics_sim.governance.allocation import Belief, area_weights, make_plan, shift_domains
from ics_sim.governance.partnership import IntegratedCarePartnership, PlacePartnership
from ics_sim.observation import Observation
from ics_sim.organisations import (
    ICB,
    PCN,
    VCSE,
    Council,
    Healthwatch,
    NHSProvider,
    SocialCareProvider,
)
from ics_sim.outputs import Recorder
from ics_sim.population import Population
from ics_sim.shocks import ShockTimeline

DUPLICATION_RATE = 0.15  # share of an overlapping, unco-ordinated contribution wasted (see ODD 7.5)


class ICSModel(mesa.Model):
    """An integrated care system (or several) as organisations acting under governance rules.

    Args:
        cfg: a validated :class:`~ics_sim.config.schema.Config` (default: the default scenario).
        seed: overrides ``cfg.seed`` when given.
        layout: a prebuilt layout (default: built from ``cfg.system``).
        timeseries: False records only the months the run summary reads (see
            :class:`~ics_sim.outputs.Recorder`); the model itself runs the same either way.

    Attributes:
        layout: systems, places and neighbourhoods.
        population: need and health per neighbourhood.
        partnerships: one :class:`PlacePartnership` per place.
        icps: one :class:`IntegratedCarePartnership` per system.
        recorder: the monthly outputs.
    """

    def __init__(self, cfg: Config | None = None, seed: int | None = None, layout: Layout | None = None, timeseries: bool = True):
        if cfg is None:
            from ics_sim.config import load_config

            cfg, _ = load_config()
        seed = int(cfg.seed if seed is None else seed)
        super().__init__(rng=seed)  # a Python int: Mesa's streams depend on the type
        self.cfg = cfg
        self.seed = seed
        streams = np.random.SeedSequence([seed, 0x1C5]).spawn(4)
        self.rng_obs, self.rng_place, self.rng_vcse, _ = (np.random.default_rng(s) for s in streams)
        self.layout = layout if layout is not None else build_layout(cfg.system)
        L = self.layout
        self.population = Population(L, cfg)
        self.observation = Observation(cfg, self.population, self.rng_obs)
        self.shocks = ShockTimeline(cfg)
        self.local_priorities = self.rng_place.normal(0.0, cfg.interests.local_priority_sd, (L.n_places, N_DOMAINS))
        self.vcse_volatility = cfg.providers.vcse_income_volatility
        self.month = 0
        self._create_organisations()
        self._init_finance()
        self.recorder = Recorder(self, timeseries=timeseries)
        self._first_year()
        self.running = True

    # ------------------------------------------------------------------ set-up
    def _create_organisations(self) -> None:
        L, cfg = self.layout, self.cfg
        self.icbs = [ICB(self, s, None, f"{L.system_names[s]} ICB", observer="icb_place") for s in range(L.n_systems)]
        self.acute = [NHSProvider(self, s, None, f"{L.system_names[s]} acute trust", "acute_trust") for s in range(L.n_systems)]
        self.mh = [NHSProvider(self, s, None, f"{L.system_names[s]} MH trust", "mental_health_trust") for s in range(L.n_systems)]
        place_pop = L.place_population()
        self.councils, self.vcses, self.partnerships = [], [], []
        self.pcns = [PCN(self, int(L.nb_system[n]), int(L.nb_place[n]), name) for n, name in enumerate(L.nb_names)]
        for p, pname in enumerate(L.place_names):
            s = int(L.place_system[p])
            council = Council(self, s, p, f"{pname} council")
            community = NHSProvider(self, s, p, f"{pname} community services", "community_trust")
            social = SocialCareProvider(self, s, p, f"{pname} social care providers")
            vcse = VCSE(self, s, p, f"{pname} VCSE", income=self._vcse_base_income(p, place_pop[p]))
            healthwatch = Healthwatch(self, s, p, f"Healthwatch {pname}")
            first_pcn = self.pcns[int(L.place_index[p][0])]
            orgs = {
                "icb": self.icbs[s],
                "council": council,
                "acute_trust": self.acute[s],
                "community_trust": community,
                "mental_health_trust": self.mh[s],
                "pcn": first_pcn,
                "social_care": social,
                "vcse": vcse,
                "healthwatch": healthwatch,
            }
            self.councils.append(council)
            self.vcses.append(vcse)
            self.partnerships.append(PlacePartnership(self, p, orgs))
        self.icps = [IntegratedCarePartnership(s) for s in range(L.n_systems)]
        del cfg

    def _vcse_base_income(self, p: int, pop: float) -> float:
        c = self.cfg
        grants = c.providers.vcse_grant_share * 0.75 * pop * (
            c.system.council_public_health_gbp_per_head + c.system.nhs_gbp_per_head * c.finance.nhs_domain_shares.prevention
        )
        return grants + c.system.vcse_external_gbp_per_head * pop

    def _init_finance(self) -> None:
        L, c = self.layout, self.cfg
        sys_pop = L.system_population()
        self.nhs_allocation = sys_pop * L.need_index * c.system.nhs_gbp_per_head  # per system, GBP/yr
        self.nhs_shares = np.array(c.finance.nhs_domain_shares.as_tuple())
        council = np.zeros(N_DOMAINS)
        council[SOCIAL] = c.system.council_social_care_gbp_per_head
        council[PREVENTION] = c.system.council_public_health_gbp_per_head
        self.council_per_head = council
        self.place_pop = L.place_population()
        self.shares = delegation.initial_shares(c, L, self.population.base_need)
        self.nhs_budget = np.zeros((L.n_systems, N_DOMAINS))
        self.council_budget = np.zeros((L.n_places, N_DOMAINS))
        self.pot_envelope = np.zeros((L.n_places, N_DOMAINS))
        self.council_envelope = np.zeros((L.n_places, N_DOMAINS))
        self.central_plan = np.zeros_like(self.population.need)
        self.place_spend_by_domain = np.zeros((L.n_places, N_DOMAINS))
        self.capacity: np.ndarray | None = None
        self.ledger: list[dict] = []
        self.year_spent: dict[str, float] = {}
        self.year_budget: dict[str, float] = {}
        self.last_unmet = np.zeros_like(self.population.need)
        self.last_delivery: Delivery | None = None
        self.system_spend_share = np.tile(self.nhs_shares, (L.n_systems, 1))
        self.transaction_cost = np.zeros(L.n_places)  # GBP this month, per place
        self.year_start_unmet = np.zeros(L.n_places)
        self.performance = np.zeros(L.n_places)
        self.external_effect_target = np.zeros(L.n_neighbourhoods)
        self.external_funding = np.zeros(L.n_systems)
        self.cumulative_spend = 0.0
        self.initial_hle = self.population.hle.copy()
        self.form_changes: list[tuple[int, int, str]] = []

    def _first_year(self) -> None:
        """Budgets for the first April, and the plans inherited from the previous year (each body's
        own plan with no preferences: the historical allocation)."""
        self._set_budgets(first=True)
        for part in self.partnerships:
            icb_seat_belief = part.orgs["icb"].belief(part.idx)
            council_belief = part.orgs["council"].belief(part.idx)
            part.last_pot_plan = self._neutral_plan(part, self.pot_envelope[part.place], icb_seat_belief)
            part.last_council_plan = self._neutral_plan(part, self.council_own_envelope(part.place), council_belief)

    def _neutral_plan(self, part: PlacePartnership, env: np.ndarray, belief: Belief) -> np.ndarray:
        L = self.layout
        w = area_weights(self.cfg.allocation.rule, belief, L.nb_population[part.idx], L.nb_rank[part.idx], self.cfg.allocation.hi_adjustment)
        return make_plan(env, w)

    # ------------------------------------------------------------------ money
    def council_own_envelope(self, p: int) -> np.ndarray:
        pooled = self.partnerships[p].pooled if self.partnerships else self.cfg.governance.pooled
        keep = 1.0 - (self.cfg.finance.pooled_council_share if pooled else 0.0)
        return self.council_budget[p] * keep

    def icb_system_belief(self, s: int, idx: np.ndarray) -> Belief:
        """The ICB's system-level view; it sees hidden need only through ICP members with reach."""
        obs, m = self.observation, self.cfg.membership
        reach = 0.5 * max(self.cfg.observation.reach_vcse if m.vcse else 0.0, self.cfg.observation.reach_healthwatch if m.healthwatch else 0.0)
        visible = obs.visible_estimate("icb_system", idx)
        return Belief(visible, obs.hidden_seen("icb_system", idx, reach))

    def _set_budgets(self, first: bool = False) -> None:
        """April: allocations grow (or are cut), delegation is reviewed, envelopes and the ICB's
        plan for its retained money are set."""
        L, c = self.layout, self.cfg
        year = self.month // 12
        cut_nhs, cut_council = self.shocks.budget_factor(self.month)
        self.nhs_budget = (self.nhs_allocation * (1 + c.finance.nhs_growth) ** year * cut_nhs)[:, None] * self.nhs_shares[None, :]
        # council spending per head follows the place's need index (a proxy for the adult social care
        # relative needs formula); England = 1 reproduces the national averages per head
        council_pop = self.place_pop * L.place_need()
        self.council_budget = (council_pop * (1 + c.finance.council_growth) ** year * cut_council)[:, None] * self.council_per_head[None, :]
        if not first:
            self.shares = delegation.review(c, self.shares, self.performance)
        self.pot_envelope[:] = 0.0
        self.central_plan[:] = 0.0
        for s in range(L.n_systems):
            idx = L.system_index[s]
            belief = self.icb_system_belief(s, idx)
            w = area_weights(c.allocation.rule, belief, L.nb_population[idx], L.nb_rank[idx], c.allocation.hi_adjustment)
            wshare = w / np.maximum(w.sum(axis=0), 1e-12)
            places = L.nb_place[idx]
            kept = 1.0 - self.shares[places]  # share of each cell's money the ICB keeps
            budget = self.nhs_budget[s]
            delegated_cells = wshare * (1.0 - kept) * budget[None, :]
            np.add.at(self.pot_envelope, places, delegated_cells)
            retained = budget - delegated_cells.sum(axis=0)
            floor = c.finance.mental_health_floor * retained.sum()
            env = shift_domains(retained, self.icbs[s].proposal_preferences(), floor)
            kw = wshare * kept
            self.central_plan[idx] = make_plan(env, kw)
            self.year_budget[f"icb:{s}"] = float(budget.sum())
            self.year_budget[f"icb_retained:{s}"] = float(retained.sum())
            self.year_budget[f"icb_delegated:{s}"] = float(delegated_cells.sum())
        self.pot_nhs = self.pot_envelope.copy()
        for p, part in enumerate(self.partnerships):
            pooled = self.council_budget[p] - self.council_own_envelope(p)
            self.pot_envelope[p] += pooled
            self.year_budget[f"pot:{p}"] = float(self.pot_envelope[p].sum())
            self.year_budget[f"council:{p}"] = float(self.council_budget[p].sum())
            del part
        self.council_envelope = self.council_budget.copy()
        self.year_spent = {k: 0.0 for k in self.year_budget}

    def strategy_pull(self, s: int) -> np.ndarray:
        """Log-weights moving a body's domain mix towards the ICP strategy ('have regard to')."""
        strat = self.icps[s].strategy if self.icps else None
        if strat is None:
            return np.zeros(N_DOMAINS)
        current = np.maximum(self.system_spend_share[s], 1e-9)
        return self.cfg.interests.strategy_regard * np.log(np.maximum(strat, 1e-9) / current)

    # ------------------------------------------------------------------ the month
    def step(self) -> None:
        moy = self.month % 12  # 0 = April
        if moy == 0:
            self._new_financial_year()
        if self.cfg.sed.enabled:  # wider-determinants funding pays off over about three years
            self.population.external += (self.external_effect_target - self.population.external) / 36.0
        self._move_need()
        self.observation.step()
        self._meetings(moy)
        delivery = self._deliver()
        self._outcomes(delivery)
        self._trust_and_accountability(moy, delivery)
        self.recorder.record(delivery)
        self.month += 1
        if self.month >= self.cfg.years * 12:
            self.running = False

    def _new_financial_year(self) -> None:
        if self.month > 0:
            self._close_year()
            self._set_budgets()
            for part in self.partnerships:
                part.new_year()
        L, c = self.layout, self.cfg
        for p in range(L.n_places):  # needs assessments refresh on a staggered cycle
            if (self.month + 12 * p) % c.observation.jsna_cycle_months == 0:
                self.observation.sharpen(L.nb_place == p)
        if self.month > 0:  # year 1 starts from the first month's delivery (_trust_and_accountability)
            self.year_start_unmet = self.recorder.place_unmet_share(self.last_unmet)
        # VCSE external income is volatile year to year (grant rounds)
        self.vcse_external = self.place_pop * c.system.vcse_external_gbp_per_head * np.exp(
            self.rng_vcse.normal(0.0, self.vcse_volatility, L.n_places) - 0.5 * self.vcse_volatility**2
        )
        for p in range(L.n_places):
            self.year_budget[f"vcse:{p}"] = float(self.vcse_external[p])
            self.year_spent[f"vcse:{p}"] = 0.0
        if c.sed.enabled:
            self._social_economic_development()

    def _close_year(self) -> None:
        year = self.month // 12 - 1
        for key, budget in self.year_budget.items():
            spent = self.year_spent.get(key, 0.0)
            kind, _, unit = key.partition(":")
            self.ledger.append({"year": year, "holder": kind, "unit": int(unit), "budget": budget, "spent": spent, "unspent": budget - spent})

    def _move_need(self) -> None:
        self.population.move_need(self.shocks.need_factor(self.month, self.layout), self.last_unmet)

    def _meetings(self, moy: int) -> None:
        c = self.cfg
        for icp in self.icps:
            if moy == c.icp.strategy_month - 1:
                icp.refresh(self)
        if moy in self._icp_meeting_months:
            self._icp_meeting_cost()
        for part in self.partnerships:
            cadence = c.governance.cadence_months
            if moy == 0 and self._nothing_to_decide(part):
                part.year.decided = True  # no pot: no meeting, no delay, no meeting cost
            pending = not part.year.decided
            if moy % cadence == 0 or (pending and moy == 0):
                self.transaction_cost[part.place] += self._meeting_cost(part)
                decided_before = part.year.decided
                if pending:
                    part.meet(moy)
                if moy == 0 or (part.year.decided and not decided_before):
                    part.plan_own_budgets()
            climbed = part.maybe_climb()
            if climbed:
                self.form_changes.append((self.month, part.place, climbed))

    @property
    def _icp_meeting_months(self) -> set[int]:
        n = self.cfg.icp.meetings_per_year
        return {(k * 12) // n for k in range(n)}

    def _icp_meeting_cost(self) -> None:
        """An ICP assembly: the ICB and system trusts, and per place the council, community services
        and (when members) VCSE and Healthwatch; its cost falls on the places by population."""
        L, k, m = self.layout, self.cfg.costs, self.cfg.membership
        per_place = 2 + int(m.vcse) + int(m.healthwatch)
        places_in = np.bincount(L.place_system, minlength=L.n_systems)
        members = 3 + per_place * places_in
        cost = members * (k.meeting_hours + k.preparation_hours) * k.hourly_cost_gbp  # per system
        share = self.place_pop / np.bincount(L.place_system, weights=self.place_pop)[L.place_system]
        self.transaction_cost += cost[L.place_system] * share

    def _nothing_to_decide(self, part: PlacePartnership) -> bool:
        """True when the table holds no money (central delegation, or an emptied earned-autonomy
        pot) and is not an advisory forum over aligned budgets."""
        return part.form != "consultative_forum" and self.pot_envelope[part.place].sum() <= 0.0

    def _meeting_cost(self, part: PlacePartnership) -> float:
        k = self.cfg.costs
        return len(part.seats) * (k.meeting_hours + k.preparation_hours) * k.hourly_cost_gbp

    # ------------------------------------------------------------------ delivery
    def _pot_spend(self, part: PlacePartnership) -> np.ndarray:
        if part.pot_plan is not None:
            return part.pot_plan
        last = part.last_pot_plan
        if last is None:
            return np.zeros((len(part.idx), N_DOMAINS))
        env = self.pot_envelope[part.place]
        col = last.sum(axis=0)
        # last year's allocation continues; it cannot exceed this year's envelope
        scale = np.divide(np.minimum(col, env), col, out=np.zeros_like(col), where=col > 0)
        return last * scale[None, :]

    def _council_spend(self, part: PlacePartnership) -> np.ndarray:
        plan = part.council_plan if part.council_plan is not None else part.last_council_plan
        env = self.council_own_envelope(part.place)
        col = plan.sum(axis=0)
        scale = np.divide(np.minimum(col, env), col, out=np.zeros_like(col), where=col > 0)
        return plan * scale[None, :]

    def _deliver(self) -> Delivery:
        L, c, pop = self.layout, self.cfg, self.population
        shape = pop.need.shape
        elasticity = np.array(c.delegation.scale_elasticity.as_tuple())
        pot = np.zeros(shape)
        council = np.zeros(shape)
        vcse_ext = np.zeros(shape)
        pot_out = np.zeros(shape)
        council_out = np.zeros(shape)
        vcse_out = np.zeros(shape)
        pot_eff = np.ones(shape)
        place_eff = scale_efficiency(self.place_pop, elasticity)  # places x domains
        sys_eff = scale_efficiency(L.system_population(), elasticity)
        coord_central_pot = np.zeros(L.n_neighbourhoods)
        coord_central_council = np.zeros(L.n_neighbourhoods)
        coord_pot_council = np.zeros(L.n_neighbourhoods)
        coord_vcse = np.zeros(L.n_neighbourhoods)
        central_out = np.zeros(shape)
        grant_share = np.zeros(L.n_neighbourhoods)  # share of prevention money granted to the VCSE body
        for part in self.partnerships:
            i, p = part.idx, part.place
            s = int(L.place_system[p])
            pot[i] = self._pot_spend(part)
            council[i] = self._council_spend(part)
            forum = part.forum_belief()
            voters = part.voters
            pot_holder = voters[0] if voters else None
            holder_belief = part.working_belief(pot_holder, forum) if pot_holder else forum
            pot_out[i] = holder_belief.outreach_share
            council_out[i] = part.orgs["council"].belief(i).outreach_share
            central_out[i] = self.icb_system_belief(s, i).outreach_share
            t = part.mean_trust()
            integrated = part.pooled or part.form == "lead_provider"
            bonus = c.costs.integration_bonus * t if integrated else 0.0
            pot_eff[i] = place_eff[p] * (1.0 + bonus)
            # co-ordination is structural where a funder's controller votes on the pot's plan (it
            # knows the plan), and otherwise only as good as the trust between the two bodies
            holder_key = pot_holder.label if pot_holder else "icb"
            coord_central_pot[i] = 0.5 + (0.5 * t if part.controls("icb") else 0.0)
            coord_central_council[i] = part.trust_between("icb", "council")
            if part.controls("council"):
                coord_pot_council[i] = 0.5 + 0.5 * t
            else:
                coord_pot_council[i] = part.trust_between(holder_key, "council")
            vcse = self.vcses[p]
            coord_vcse[i] = part.trust_between("vcse", holder_key) if vcse.alive else 0.0
            if vcse.alive:
                vb = vcse.belief(i)
                w = vb.total[:, [PRIMARY, PREVENTION]]
                w = w / np.maximum(w.sum(), 1e-12)
                x = self.vcse_external[p] * w
                vcse_ext[i, PRIMARY] = x[:, 0]  # written in place column by column (vcse_ext[i][:, cols] = ...
                vcse_ext[i, PREVENTION] = x[:, 1]  # would write into a copy; np.ix_ is slower)
                vcse_out[i] = vb.outreach_share
                # VCSE grants: part of every funder's prevention money goes through the place's VCSE
                # body, more where the body is trusted; it is cheaper and reaches hidden need
                t_vcse = part.trust_between("vcse", "icb") if part.member("vcse") else 0.0
                grant_share[i] = c.providers.vcse_grant_share * min(1.0, 0.5 + t_vcse)
        central = self.central_plan
        funders = [
            Funder("central", central, central_out, sys_eff[L.nb_system]),
            Funder("pot", pot, pot_out, pot_eff),
            Funder("council", council, council_out, place_eff[L.nb_place]),
        ]
        grants = np.zeros(L.n_neighbourhoods)
        for f in funders:
            moved = f.spend[:, PREVENTION] * grant_share
            grants += moved
            f.spend = f.spend.copy()
            f.spend[:, PREVENTION] -= moved
        vcse_spend = vcse_ext.copy()
        vcse_spend[:, PREVENTION] += grants
        vcse_eff = np.full(shape, 1.0 / c.providers.vcse_cost_factor)
        funders.append(Funder("vcse", vcse_spend, vcse_out, vcse_eff))
        coordination = {
            (0, 1): coord_central_pot,
            (0, 2): coord_central_council,
            (1, 2): coord_pot_council,
            (0, 3): coord_vcse,
            (1, 3): coord_vcse,
            (2, 3): coord_vcse,
        }
        if self.capacity is None:
            self.capacity = np.zeros((L.n_places, N_DOMAINS))
            eff_total = sum(f.spend * f.efficiency for f in funders)
            np.add.at(self.capacity, L.nb_place, eff_total)
            self.capacity *= 1.0 + c.providers.capacity_slack
        mutual = np.zeros(N_DOMAINS, dtype=bool)
        if c.providers.collaborative:
            mutual[[ACUTE, MENTAL, PRIMARY]] = True
        cap = self.capacity * self.shocks.capacity_factor(self.month)[None, :]
        d = deliver(funders, coordination, pop.visible_need, pop.hidden_need, cap, L.nb_place, L.place_system, DUPLICATION_RATE, mutual)
        self._book(funders, grants, vcse_ext, central, pot, council, d)
        self._adjust_capacity(d)
        return d

    def _book(self, funders, grants, vcse_ext, central, pot, council, d: Delivery) -> None:
        """Money leaves budgets as it is spent (a twelfth of the annual plan each month)."""
        L = self.layout
        for s, m in enumerate(L.system_index):
            self.year_spent[f"icb_retained:{s}"] += central[m].sum() / 12.0
        nhs_pot_share = np.zeros(L.n_places)
        for p, i in enumerate(L.place_index):
            pot_p = pot[i].sum() / 12.0
            self.year_spent[f"pot:{p}"] += pot_p
            env = self.pot_envelope[p].sum()
            council_in_pot = (self.council_budget[p] - self.council_own_envelope(p)).sum()
            nhs_pot_share[p] = (env - council_in_pot) / env if env > 0 else 1.0
            own = council[i].sum() / 12.0
            self.year_spent[f"council:{p}"] += own + pot_p * (1 - nhs_pot_share[p])
            s = int(L.place_system[p])
            self.year_spent[f"icb:{s}"] += pot_p * nhs_pot_share[p]
            self.year_spent[f"icb_delegated:{s}"] += pot_p * nhs_pot_share[p]
            self.vcses[p].receive((grants[i].sum() + vcse_ext[i].sum()) / 12.0)
            self.year_spent[f"vcse:{p}"] += vcse_ext[i].sum() / 12.0
            self.place_spend_by_domain[p] = d.spend[i].sum(axis=0)
        for s, m in enumerate(L.system_index):
            self.year_spent[f"icb:{s}"] += central[m].sum() / 12.0
            tot = d.spend[m].sum(axis=0)
            self.system_spend_share[s] = tot / max(tot.sum(), 1e-12)
        self.cumulative_spend += d.spend.sum() / 12.0

    def _adjust_capacity(self, d: Delivery) -> None:
        """Capacity follows funded activity with a lag; social care can grow only as fast as its
        workforce."""
        c = self.cfg.providers
        target = d.demand_by_place * (1.0 + c.capacity_slack)
        change = (target - self.capacity) / c.capacity_adjustment_months
        cap_growth = self.capacity[:, SOCIAL] * c.social_care_workforce_growth / 12.0
        change[:, SOCIAL] = np.minimum(change[:, SOCIAL], cap_growth)
        self.capacity += change

    # ------------------------------------------------------------------ outcomes
    def _outcomes(self, d: Delivery) -> None:
        pop, h = self.population, self.cfg.health
        need = pop.need
        w = np.array(h.domain_weights.as_tuple())
        coverage = (d.met * w).sum(axis=1) / np.maximum((need * w).sum(axis=1), 1e-12)
        prev_share = d.met[:, PREVENTION] / np.maximum(need[:, PREVENTION], 1e-12)
        pop.update_health(coverage, prev_share)
        self.last_unmet = np.maximum(need - d.met, 0.0)
        self.last_delivery = d
        self.coverage = coverage

    # ------------------------------------------------------------------ trust and accountability
    def _trust_and_accountability(self, moy: int, d: Delivery) -> None:
        k = self.cfg.costs
        for part in self.partnerships:
            part.trust.relax()
            p = part.place
            cost = k.reporting_share * self.pot_envelope[p].sum() / 12.0
            if part.pooled:
                cost += k.pooled_admin_gbp / 12.0
            if part.form == "lead_provider":
                cost += k.contract_management * self.pot_envelope[p].sum() / 12.0
            if self.cfg.chair == "independent":
                cost += k.independent_chair_gbp / 12.0
            self.transaction_cost[p] += cost
        if self.month == 0:  # the first month's delivery is the first year's starting point
            self.year_start_unmet = self.recorder.place_unmet_share(self.last_unmet)
        if moy == 11:  # March: assurance reviews and delivery feedback
            unmet = self.recorder.place_unmet_share(self.last_unmet)
            change = unmet - self.year_start_unmet
            # the ICB benchmarks each place against its system's population-weighted change (peer
            # assurance): need outgrowing money raises unmet need everywhere, which is no place's fault
            L = self.layout
            w = self.place_pop / np.bincount(L.place_system, weights=self.place_pop)[L.place_system]
            system_change = np.bincount(L.place_system, weights=change * w, minlength=L.n_systems)[L.place_system]
            for part in self.partnerships:
                improved = bool(change[part.place] <= 0.0)
                part.year_end(improved)
                delay = part.year.delay if part.year.decided else 12
                self.performance[part.place] = (
                    -(change[part.place] - system_change[part.place]) + self.cfg.delegation.assurance_tolerance
                    - self.cfg.delegation.delay_penalty * max(0, delay - 2)
                )
        self.agents.do("step")  # VCSE finances and other per-organisation bookkeeping

    def _social_economic_development(self) -> None:
        """Optional (seed 003): an ICP lead draws external funding for the wider determinants; it
        grows with partnership working and pays off slowly, most in deprived areas."""
        L, sed = self.layout, self.cfg.sed
        years = self.month / 12.0
        for s in range(L.n_systems):
            trust = np.mean([p.mean_trust() for p in self.partnerships if L.place_system[p.place] == s])
            engagement = min(1.0, years / sed.ramp_years) * (0.5 + 0.5 * trust)
            self.external_funding[s] = sed.external_gbp_per_head * L.system_population()[s] * engagement
        per_head = self.external_funding[L.nb_system] / L.system_population()[L.nb_system]
        self.external_effect_target = sed.effect * (per_head / max(sed.external_gbp_per_head, 1e-9)) * (1.0 - L.nb_rank)

    def run(self) -> ICSModel:
        """Run to the horizon."""
        while self.running:
            self.step()
        self._close_year()
        return self

    def release(self) -> None:
        """Let go of Mesa's per-model bookkeeping so a finished model can be garbage-collected
        (Mesa 3.3 keeps every model in ``Agent._ids``; long in-process sweeps otherwise leak)."""
        ids = getattr(mesa.Agent, "_ids", None)
        if isinstance(ids, dict):
            ids.pop(self, None)
        self.agents_by_type.clear() if hasattr(self, "agents_by_type") and hasattr(self.agents_by_type, "clear") else None
