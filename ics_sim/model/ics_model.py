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

The class is the schedule and the state the month's mechanisms share; each mechanism lives in its
own module (money in ``finance`` and ``ledger``, commissioning and delivery in ``commissioning``
and ``delivery``, running costs in ``running_costs``, governance in ``governance/``, the record in
``record`` and ``system_metrics``).
"""

from __future__ import annotations

import numpy as np

from ics_sim.config.places import place_configs
from ics_sim.config.schema import Config
from ics_sim.domains import N_DOMAINS, PREVENTION
from ics_sim.model import commissioning, development, mesa_compat, running_costs
from ics_sim.model.delivery import Delivery
from ics_sim.model.finance import Finance, vcse_base_grants, vcse_base_income
from ics_sim.model.geography import Layout
from ics_sim.model.governance import delegation
from ics_sim.model.governance.allocation import area_weights, make_plan
from ics_sim.model.governance.partnership import (
    IntegratedCarePartnership,
    PlacePartnership,
    hold_meetings,
    plan_own_budgets_all,
    review_all,
)
from ics_sim.model.governance.trust import TrustTables
from ics_sim.model.governance.views import TableViews
from ics_sim.model.ledger import Ledger
from ics_sim.model.mesa_compat import Agent, Model
from ics_sim.model.observation import Observation
from ics_sim.model.organisations import (
    ICB,
    PCN,
    VCSE,
    Council,
    Healthwatch,
    NHSProvider,
    Organisation,
    SocialCareProvider,
    VCSESectors,
)
from ics_sim.model.population import Population
from ics_sim.model.record import Recorder
from ics_sim.model.shocks import ShockTimeline
from ics_sim.model.system_metrics import place_unmet_share
from ics_sim.model.systems import build_layout

mesa_compat.hold_models_weakly()


class ICSModel(Model):
    """An integrated care system (or several) as organisations acting under governance rules.

    Args:
        cfg: a validated :class:`~ics_sim.config.schema.Config` (default: the default scenario).
        seed: overrides ``cfg.seed`` when given.
        layout: a prebuilt layout (default: built from ``cfg.system``).
        timeseries: False records only the months the run summary reads (see
            :class:`~ics_sim.model.record.Recorder`); the model itself runs the same either way.

    Attributes:
        layout: systems, places and neighbourhoods.
        population: need and health per neighbourhood.
        observation: what each kind of organisation knows of need.
        finance: allocations, delegated shares, budgets and envelopes.
        ledger: budgets and spending by holder, closed each year into ``ledger.rows``.
        place_cfgs: each place's own settings, in place order: ``cfg`` with the place's
            ``place_settings`` laid over it (:func:`ics_sim.config.places.merged`; ``cfg`` itself
            for a place without settings of its own).
        partnerships: one :class:`PlacePartnership` per place.
        vcse_sectors: every place's VCSE bodies as arrays, stepped at once
            (:class:`~ics_sim.model.organisations.VCSESectors`; ``vcses[p]`` reads its row).
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
        self.rng_obs, self.rng_place, self.rng_vcse, self.rng_sector = (np.random.default_rng(s) for s in streams)
        self.layout = layout if layout is not None else build_layout(cfg.system)
        L = self.layout
        self.population = Population(L, cfg)
        self.observation = Observation(cfg, self.population, self.rng_obs)
        self.table_views = TableViews(self)  # the place tables' pooled views, once a month
        self.trust_tables = TrustTables(cfg.trust)  # every table's trust, relaxed in one operation
        self.shocks = ShockTimeline(cfg)
        self.local_priorities = self.rng_place.normal(0.0, cfg.interests.local_priority_sd, (L.n_places, N_DOMAINS))
        self.place_cfgs = place_configs(cfg, L.place_names, L.place_codes)
        #: whether any place pays part of a lead provider's contract for outcomes
        self.outcome_payments = any(c.governance.outcome_payment_share > 0.0 for c in self.place_cfgs)
        self.month = 0
        self._create_organisations()
        self.vcse_sectors = VCSESectors(self.vcses)  # every place's VCSE bodies, stepped at once
        #: organisations with monthly bookkeeping of their own beyond the VCSE sectors' (none yet)
        self._self_stepping = [a for a in self.agents if type(a).step is not Organisation.step and not isinstance(a, VCSE)]
        self.finance = Finance(self)
        self.ledger = Ledger()
        # state the month's mechanisms share
        self.place_spend_by_domain = np.zeros((L.n_places, N_DOMAINS))
        self.pot_spend_by_domain = np.zeros((L.n_places, N_DOMAINS))
        self.capacity: np.ndarray | None = None
        self.last_unmet = np.zeros_like(self.population.need)
        self.last_delivery: Delivery | None = None
        #: this month's running costs by payer (GBP); ``transaction_cost`` is their total per place
        self.running_costs = running_costs.RunningCosts.zeros(L.n_systems, L.n_places)
        self.transaction_cost = self.running_costs.by_place
        self.year_start_unmet = np.zeros(L.n_places)
        self.performance = np.zeros(L.n_places)
        self.external_effect_target = np.zeros(L.n_neighbourhoods)
        self.external_funding = np.zeros(L.n_systems)
        self.cumulative_spend = 0.0  # GBP spent on care so far in the run
        self.cumulative_spend_nb = np.zeros(L.n_neighbourhoods)  # the same per neighbourhood
        self.cumulative_running = np.zeros(L.n_places)  # running costs so far, per place
        self.initial_hle = self.population.hle.copy()
        self.form_changes: list[tuple[int, int, str]] = []
        self.recorder = Recorder(self, timeseries=timeseries)
        self._first_year()
        self.running = True

    # ------------------------------------------------------------------ set-up
    def _create_organisations(self) -> None:
        L = self.layout
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
            vcse = VCSE(self, s, p, f"{pname} VCSE", income=vcse_base_income(self.cfg, place_pop[p]), grants=vcse_base_grants(self.cfg, place_pop[p]))
            healthwatch = Healthwatch(self, s, p, f"Healthwatch {pname}")
            orgs = {
                "icb": self.icbs[s],
                "council": council,
                "acute_trust": self.acute[s],
                "community_trust": community,
                "mental_health_trust": self.mh[s],
                "pcn": self.pcns[int(L.place_index[p][0])],
                "social_care": social,
                "vcse": vcse,
                "healthwatch": healthwatch,
            }
            self.councils.append(council)
            self.vcses.append(vcse)
            self.partnerships.append(PlacePartnership(self, p, orgs))
        self.icps = [IntegratedCarePartnership(s) for s in range(L.n_systems)]

    def _first_year(self) -> None:
        """Budgets for the first April, and the plans inherited from the previous year (each body's
        own plan with no preferences: the historical allocation)."""
        self.finance.set_budgets(self.month, self.ledger, self.performance, first=True)
        L, a = self.layout, self.cfg.allocation
        for part in self.partnerships:
            people, rank = L.nb_population[part.idx], L.nb_rank[part.idx]
            for key, envelope, attr in (
                ("icb", self.finance.pot_envelope[part.place], "last_pot_plan"),
                ("council", self.finance.council_own_envelope(part.place), "last_council_plan"),
            ):
                w = area_weights(a.rule, part.orgs[key].belief(part.idx), people, rank, a.hi_adjustment)
                setattr(part, attr, make_plan(envelope, w))

    # ------------------------------------------------------------------ the month (MODEL.md 6)
    def step(self) -> None:
        """One month: calendar, need, observation, meetings, delivery, outcomes, trust and
        accountability, record."""
        moy = self.month % 12  # 0 = April
        self.running_costs.reset()
        if moy == 0:
            self._new_financial_year()
        if self.cfg.sed.enabled:
            development.pay_off(self)
        self.population.move_need(self.shocks.need_factor(self.month, self.layout), self.last_unmet)
        self.observation.step()
        self._meetings(moy)
        delivery = self._deliver()
        self._outcomes(delivery)
        self._trust_and_accountability(moy)
        self.recorder.record(delivery)
        self.month += 1
        if self.month >= self.cfg.years * 12:
            self.running = False

    def _new_financial_year(self) -> None:
        """April: close last year's ledger, set budgets and review delegation, refresh needs
        assessments on their staggered cycle, draw VCSE income and external funding."""
        if self.month > 0:
            self.ledger.close_year(self.month // 12 - 1)
            for part in self.partnerships:
                part.new_year()
                moved = part.change_form()  # a move up or down the ladder starts with the year's budgets
                if moved:
                    self.form_changes.append((self.month, part.place, moved))
            self.finance.set_budgets(self.month, self.ledger, self.performance)
        L, c = self.layout, self.cfg
        for p in range(L.n_places):
            if (self.month + 12 * p) % c.observation.jsna_cycle_months == 0:
                self.observation.sharpen(L.nb_place == p)
        if self.month > 0:  # year 1 starts from the first month's delivery (_trust_and_accountability)
            self.year_start_unmet = place_unmet_share(L, self.population.need, self.last_unmet)
        self.finance.draw_vcse_income(self.rng_vcse, self.ledger)
        if c.sed.enabled:
            development.draw_external_funding(self)

    def _meetings(self, moy: int) -> None:
        """The ICP refreshes its strategy and meets; each place table meets on its cadence once
        its plan for the year has been prepared, trying to decide until it has (later meetings
        review); a decided plan takes effect once signed off; bodies plan their own money. Every
        meeting held is a running cost, and a failed meeting is followed by a negotiation session
        of the same people the next month (costed; it decides nothing)."""
        c, L = self.cfg, self.layout
        for icp in self.icps:
            if moy == c.icp.strategy_month - 1:
                icp.refresh(self)
        if moy in running_costs.icp_meeting_months(c):
            running_costs.book_icp_meeting(self.running_costs, c, L, self.finance.place_pop, self.place_cfgs)
        prep = c.decision.preparation_months
        reviewing = []  # tables with their plan decided: reviewed together below
        booked = []  # tables holding a meeting (twice when they met twice): booked together below
        meeting = []  # tables with this year's plan still to decide: they meet together below
        planning = []  # tables whose bodies plan their own money after a decision: planned below
        empty = self._empty_pots()  # nothing below changes an envelope
        if moy == 0:  # April: bodies outside the pot set their own budgets (no table reads another's)
            plan_own_budgets_all(self.partnerships)
        for part in self.partnerships:
            nothing = self._nothing_to_decide(part, empty)
            if moy == 0 and nothing:
                part.year.decided = True  # no pot: no meeting, no delay, no meeting cost
            if part.take_effect(moy):
                planning.append(part)
            on_cadence = moy >= prep and (moy - prep) % part.settings.governance.cadence_months == 0
            if part.year.failed_last and not on_cadence:
                # the month after a failed meeting the members negotiate (papers redrafted, positions
                # sounded out): the same people's time, no decision, so deadlock costs money
                booked.append(part)
                part.year.failed_last = False
            if not nothing and on_cadence:
                booked.append(part)
                (reviewing if part.year.decided else meeting).append(part)
        # a meeting reads the month's observation and money, its members' preferences (strategy,
        # spending, local priorities) and its own table's trust, pooled view and record, and writes
        # only its own table's trust, plans and record; nothing above reads another table's: so
        # every table meeting this month proposes and decides at once (hold_meetings), as each in
        # its turn
        hold_meetings(meeting, moy)
        planning += [part for part in meeting if part.year.decided and part.signing is None]
        planning.sort(key=lambda part: part.place)  # in table order, as each was found
        # a table's own plans are read again only by its review below, a review touches only its
        # own table's trust, and nothing above reads another table's plans or trust: planning and
        # reviewing them all here is doing each in its turn; nothing above reads running costs
        plan_own_budgets_all(planning)
        review_all(reviewing)
        running_costs.book_meetings(self.running_costs, c, booked, L.place_system)
        for part in self.partnerships:
            part.watch_ladder()

    def _nothing_to_decide(self, part: PlacePartnership, empty: np.ndarray) -> bool:
        """True when the table holds no money (central delegation, or an emptied earned-autonomy
        pot) and is not an advisory table over aligned budgets. ``empty``: this month's
        :meth:`_empty_pots`."""
        return part.structure.binding and bool(empty[part.place])

    def _empty_pots(self) -> np.ndarray:
        """Per place, whether its pot holds no money: each row's own sum (numpy sums each row of
        the C-ordered matrix as it sums the row alone)."""
        return np.add.reduce(self.finance.pot_envelope, axis=1) <= 0.0  # .sum(axis=1), without the Python layer

    def _deliver(self) -> Delivery:
        """Standing running costs accrue; commissioning and delivery (running costs come out of
        the payers' care spending); money leaves the ledger; capacity adjusts."""
        running_costs.book_overheads(self.running_costs, self.layout, self.partnerships, self.finance.pot_envelope)
        d, spending = commissioning.commission(self)
        self.cumulative_running += spending.running.by_place
        self.ledger.book(self, spending)
        commissioning.pay_vcse(self, spending)
        commissioning.note_spending(self, d)
        commissioning.adjust_capacity(self, d)
        return d

    def _outcomes(self, d: Delivery) -> None:
        """Health moves with the weighted share of need met (MODEL.md 6.6)."""
        pop = self.population
        need = pop.need
        w = pop.domain_weights
        met = d.met  # worked out once (a property: met_visible + met_hidden)
        coverage = np.add.reduce(met * w, axis=1) / np.maximum(np.add.reduce(need * w, axis=1), 1e-12)  # .sum(axis=1)s
        prev_share = met[:, PREVENTION] / np.maximum(need[:, PREVENTION], 1e-12)
        pop.update_health(coverage, prev_share)
        self.last_unmet = np.maximum(need - met, 0.0)
        self.last_delivery = d
        self.coverage = coverage

    def _trust_and_accountability(self, moy: int) -> None:
        """Trust relaxes towards its baseline; in March the ICB's assurance review scores each
        place and partners learn from the year; organisations step."""
        L = self.layout
        self.trust_tables.relax([part.trust for part in self.partnerships])
        if self.month == 0:  # the first month's delivery is the first year's starting point
            self.year_start_unmet = place_unmet_share(L, self.population.need, self.last_unmet)
        if moy == 11:  # March: assurance reviews and delivery feedback
            change = place_unmet_share(L, self.population.need, self.last_unmet) - self.year_start_unmet
            pop = self.finance.place_pop
            w = pop / np.bincount(L.place_system, weights=pop)[L.place_system]
            system_change = np.bincount(L.place_system, weights=change * w, minlength=L.n_systems)[L.place_system]
            for part in self.partnerships:
                p = part.place
                part.year_end(bool(change[p] <= 0.0))
                delay = part.year.delay if part.year.decided else 12
                self.performance[p] = delegation.assurance_score(part.settings, change[p] - system_change[p], delay)
        self.vcse_sectors.step()  # VCSE finances, every place's at once (VCSE.step is one place's)
        for agent in self._self_stepping:  # other per-organisation bookkeeping, in Mesa's order
            agent.step()

    # ------------------------------------------------------------------ running
    def run(self) -> ICSModel:
        """Run to the horizon and close the final year's ledger."""
        while self.running:
            self.step()
        self.ledger.close_year(self.month // 12 - 1)
        return self

    def release(self) -> None:
        """Let go of Mesa's per-model bookkeeping at once (the agent counter, held weakly since
        :func:`~ics_sim.model.mesa_compat.hold_models_weakly`, and the agent sets by type); the model can no longer add
        agents. For long in-process sweeps that keep the result but not the model's agents."""
        ids = getattr(Agent, "_ids", None)
        if hasattr(ids, "pop"):
            ids.pop(self, None)
        self.agents_by_type.clear() if hasattr(self, "agents_by_type") and hasattr(self.agents_by_type, "clear") else None
