"""Institutions: place-based partnerships, the ICP and needs assessments (MODEL.md sections 3-4).

A governance form is *structure*, never a multiplier on outcomes:

================== ===================== ============== ============================ =============
form               who decides the pot   budgets        who votes / who is heard      opening
================== ===================== ============== ============================ =============
consultative_forum each body its own,    aligned        all members vote on a shared  ICB
                   informed by a shared                 view (advisory)
                   view
individual_exec.   one executive (SRO)   delegated      SRO alone; advisers speak     SRO
committee          ICB committee         delegated      ICB (2 seats), council,       ICB
                                                        trusts, PCNs, social care;
                                                        VCSE and Healthwatch speak
joint_committee    ICB and council       pooled (s75)   ICB and council; others       larger payer
                                                        speak by agreement
lead_provider      lead provider         contract       the lead; partner providers   lead
                                                        speak
================== ===================== ============== ============================ =============

Duplication, delay, inequality and trust differences between forms emerge from this table acting
on one population: who holds which money (separate budgets over the same need duplicate; pooled
ones do not), what each member sees (members bring their information; non-members' is lost), how
proposals become decisions (:mod:`ics_sim.model.governance.decisions`), and trust
(:mod:`ics_sim.model.governance.trust`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ics_sim.domains import N_DOMAINS
from ics_sim.model.governance.allocation import Belief, area_weights, make_plan, shift_domains
from ics_sim.model.governance.decisions import Outcome, decide
from ics_sim.model.governance.trust import TrustNetwork
from ics_sim.model.organisations import Organisation

#: order of formality for the optional ladder ("built by doing")
LADDER = ("consultative_forum", "committee", "joint_committee")


@dataclass
class Seat:
    org: Organisation
    role: str  # "vote" or "voice"
    votes: float = 1.0
    label: str = ""


def seat_members(form: str, orgs: dict[str, Organisation], membership, sro_appointment: str, lead: str) -> list[Seat]:
    """Who sits at the place table, with a vote or a voice, under each form (Thriving places, Table 2)."""
    seats: list[Seat] = []

    def add(key: str, role: str, votes: float = 1.0) -> None:
        if key in orgs:
            seats.append(Seat(orgs[key], role, votes, key))

    optional = [("social_care", membership.social_care), ("vcse", membership.vcse), ("healthwatch", membership.healthwatch)]
    if form == "consultative_forum":
        for key in ("icb", "council", "acute_trust", "community_trust", "mental_health_trust", "pcn"):
            add(key, "vote")
        for key, on in optional:
            if on:
                add(key, "vote" if key != "healthwatch" else "voice")
    elif form == "individual_executive":
        add("icb", "vote")  # the SRO; a joint ICB-council post also reads and weighs the council (PlacePartnership.joint_sro)
        for key in ("council", "community_trust", "pcn"):
            add(key, "voice")
        for key, on in optional:
            if on:
                add(key, "voice")
    elif form == "committee":
        add("icb", "vote", 2.0)
        for key in ("council", "acute_trust", "community_trust", "mental_health_trust", "pcn"):
            add(key, "vote")
        if membership.social_care:
            add("social_care", "vote")  # appointed member
        for key in ("vcse", "healthwatch"):
            if getattr(membership, key):
                add(key, "voice")
    elif form == "joint_committee":
        add("icb", "vote")
        add("council", "vote")
        for key in ("community_trust", "pcn"):
            add(key, "voice")
        for key, on in optional:
            if on:
                add(key, "voice")
    elif form == "lead_provider":
        add(lead, "vote")
        for key in ("acute_trust", "community_trust", "mental_health_trust", "pcn"):
            if key != lead:
                add(key, "voice")
        for key, on in optional:
            if on:
                add(key, "voice")
    else:
        raise ValueError(f"governance.form = {form!r} is not allowed")
    return seats


@dataclass
class YearRecord:
    decided: bool = False
    delay: int = 0
    meetings: int = 0
    deadlocks: int = 0
    failed_last: bool = False  # the last meeting failed: the table reconvenes next month


class PlacePartnership:
    """The place-based partnership of one place: its seats, trust, plans and decision record.

    Attributes:
        pot_plan: this year's plan for the place pot (delegated NHS money, plus pooled council money
            under a pooled form), or None until decided (last year's continues meanwhile).
        council_plan: the council's plan for the money it keeps.
        shared_view: a consultative forum's agreed shared plan (advisory).
    """

    def __init__(self, model, place: int, orgs: dict[str, Organisation]):
        self.model = model
        self.place = place
        self.orgs = orgs
        self.idx = model.layout.place_index[place]
        self.form = model.cfg.governance.form
        self.pooled = model.cfg.governance.pooled
        self.months_in_form = 0
        self.ladder_clock = 0
        self._seat()
        self.trust = TrustNetwork([s.label for s in self.seats], model.cfg.trust)
        self.pot_plan: np.ndarray | None = None
        self.council_plan: np.ndarray | None = None
        self.shared_view: np.ndarray | None = None
        self.last_pot_plan: np.ndarray | None = None
        self.last_council_plan: np.ndarray | None = None
        self.concession = 0.0
        self.year = YearRecord()
        self.power_imbalance: list[float] = []
        self.delays: list[int] = []
        self.deadlocks_total = 0
        self.meetings_total = 0

    def _seat(self) -> None:
        g = self.model.cfg.governance
        self.seats = seat_members(self.form, self.orgs, self.model.cfg.membership, g.sro_appointment, g.lead_provider)
        self._forum_cache: tuple[int, Belief] | None = None

    @property
    def joint_sro(self) -> bool:
        """True when the single executive is a joint ICB-council post (it reads both bodies' views
        and weighs both bodies' priorities)."""
        return self.form == "individual_executive" and self.model.cfg.governance.sro_appointment == "joint"

    def controls(self, key: str) -> bool:
        """Whether a body has a hand in the pot's plan (it votes, or shares the SRO post), so its own
        spending is structurally co-ordinated with the pot."""
        return any(s.label == key for s in self.voters) or (key == "council" and self.joint_sro)

    def listening_weight(self, key: str) -> float:
        """How far a member moves from its own view towards the table's: its mean trust in the
        others; a body that only takes advice (the SRO, or a body planning its own money beside a
        consultative forum) gives it ``governance.advice_weight`` at the initial level of trust,
        more as trust grows."""
        t = float(self.trust.outgoing_mean()[self.trust.index(key)])
        advisory = self.form == "consultative_forum" or (self.form == "individual_executive" and key == "icb")
        if not advisory:
            return t
        ref = max(self.model.cfg.trust.initial, 1e-9)
        return float(min(1.0, self.model.cfg.governance.advice_weight * t / ref))

    # --- structure ----------------------------------------------------------------------------
    @property
    def voters(self) -> list[Seat]:
        return [s for s in self.seats if s.role == "vote"]

    def member(self, key: str) -> bool:
        return any(s.label == key for s in self.seats)

    def trust_between(self, a: str, b: str) -> float:
        """Mutual trust between two members, or the baseline when one is not at the table."""
        if self.member(a) and self.member(b):
            i, j = self.trust.index(a), self.trust.index(b)
            return 0.5 * (self.trust.matrix[i, j] + self.trust.matrix[j, i])
        return 0.0

    def mean_trust(self) -> float:
        return self.trust.mean()

    # --- information --------------------------------------------------------------------------
    def forum_belief(self) -> Belief:
        """The table's pooled view: precision-weighted log estimates of visible need from every
        member present, and the best-reaching member's sight of hidden need. Computed once a month
        (what members know changes only with the month's observation)."""
        if self._forum_cache is not None and self._forum_cache[0] == self.model.month:
            return self._forum_cache[1]
        belief = self._pool_views()
        self._forum_cache = (self.model.month, belief)
        return belief

    def _pool_views(self) -> Belief:
        obs = self.model.observation
        num = np.zeros((len(self.idx), N_DOMAINS))
        den = 0.0
        hidden = np.zeros_like(num)
        for s in self.seats:
            w = obs.precision(s.org.observer)
            num += w * obs.log_visible(s.org.observer, self.idx)
            den += w
            hidden = np.maximum(hidden, s.org.belief(self.idx).hidden)
        return Belief(np.exp(num / den), hidden)

    def working_belief(self, seat: Seat, forum: Belief) -> Belief:
        """A member's belief after listening to the table, in proportion to its trust in the others."""
        own = seat.org.belief(self.idx)
        if seat.label == "icb" and self.joint_sro:  # a joint post reads both bodies' intelligence
            council = self.orgs["council"].belief(self.idx)
            own = Belief(np.sqrt(own.visible * council.visible), np.maximum(own.hidden, council.hidden))
        w = self.listening_weight(seat.label)
        visible = np.exp((1.0 - w) * np.log(own.visible) + w * np.log(forum.visible))
        heard = w * forum.hidden
        if seat.org.kind == "council" and self.model.cfg.interests.enabled:
            # the council discounts hidden need it hears as it discounts its own (Council.belief)
            heard = heard * (1.0 - self.model.cfg.interests.council_visible_bias)
        return Belief(visible, np.maximum(own.hidden, heard))

    # --- proposals and decisions ----------------------------------------------------------------
    def proposal(self, seat: Seat, envelope: np.ndarray, belief: Belief, nhs: bool) -> np.ndarray:
        m = self.model
        pref = seat.org.proposal_preferences()
        if seat.label == "icb" and self.joint_sro:
            pref = 0.5 * (pref + self.orgs["council"].proposal_preferences())
        if seat.org.kind in ("acute_trust", "community_trust", "mental_health_trust") and self.form == "lead_provider":
            if seat.label == m.cfg.governance.lead_provider:
                # an outcome-based contract pays for health, not activity: less reason to favour own services
                pref = pref * (1.0 - m.cfg.governance.outcome_payment_share)
        floor = m.cfg.finance.mental_health_floor * m.finance.pot_nhs[self.place].sum() if nhs else None
        env = shift_domains(envelope, pref, floor)
        rank = m.layout.nb_rank[self.idx]
        pops = m.layout.nb_population[self.idx]
        w = area_weights(m.cfg.allocation.rule, belief, pops, rank, m.cfg.allocation.hi_adjustment)
        return make_plan(env, w)

    def money_held(self, seat: Seat) -> float:
        """Money a member brings to the table (votes under the budget-weighted rule)."""
        m = self.model
        if seat.label == "icb":
            return float(m.finance.pot_envelope[self.place].sum() + 1.0)
        if seat.label == "council":
            return float(m.finance.council_envelope[self.place].sum() + 1.0)
        spend = m.place_spend_by_domain[self.place]
        return float(sum(spend[k] for k in seat.org.own_domains) + 1.0)

    def meet(self, month_of_year: int) -> Outcome | None:
        """One meeting: share information, propose, decide (or deadlock), and update trust."""
        m = self.model
        self.meetings_total += 1
        self.year.meetings += 1
        forum = self.forum_belief()
        voters = self.voters
        consult = self.form == "consultative_forum"
        envelope = m.finance.pot_envelope[self.place] + (m.finance.council_envelope[self.place] if consult else 0.0)
        if envelope.sum() <= 0 and not consult:
            return None
        beliefs = {s.label: self.working_belief(s, forum) for s in self.seats}
        proposals = np.stack([self.proposal(s, envelope, beliefs[s.label], nhs=s.label == "icb") for s in voters])
        raw = proposals
        if self.concession > 0 and len(voters) > 1:
            proposals = (1.0 - self.concession) * proposals + self.concession * proposals.mean(axis=0)
        rule = m.cfg.decision_rule
        if rule == "weighted":
            votes = np.array([self.money_held(s) for s in voters])
        else:
            votes = np.array([s.votes for s in voters])
        setter = 0  # the pot holder opens: seated first under every form (ICB; the SRO; the lead)
        tolerance = m.cfg.decision.tolerance + m.cfg.decision.tolerance_trust * self.trust.trust_in(
            self.trust.index(voters[setter].label)
        )[[self.trust.index(s.label) for s in voters]]
        if not consult:  # a voter answers for its own money in a binding pot (a forum's view binds none)
            pot, nhs = envelope.sum(), m.finance.pot_nhs[self.place].sum()
            own = np.array([nhs if s.label == "icb" else pot - nhs if s.label == "council" else 0.0 for s in voters]) / pot
            tolerance = tolerance * (1.0 - m.cfg.decision.stake_aversion * own)
        moderation = m.cfg.decision.independent_chair_moderation if m.cfg.chair == "independent" else 0.0
        # a failed meeting tabled every amendment up to the coalition's mean (Outcome.compromise = 1);
        # the setter does not withdraw it at a later meeting of the year (monotonic concession)
        start = 1.0 if self.year.deadlocks else 0.0
        out = decide(proposals, votes, setter, rule, tolerance, moderation, m.cfg.decision.supermajority, reference=raw, start=start)
        seat_idx = np.array([self.trust.index(s.label) for s in voters])
        s_idx = seat_idx[setter]
        if out.decided:
            self.year.decided = True
            self.year.failed_last = False
            self.year.delay = month_of_year
            self.delays.append(month_of_year)
            self.power_imbalance.append(out.power_imbalance)
            self.concession = 0.0
            # agreement builds trust (small wins); being overruled erodes it, three times faster
            for i, ok in zip(seat_idx, out.accepted, strict=True):
                if i == s_idx:
                    continue
                if ok:
                    self.trust.success(i, s_idx)
                    self.trust.success(s_idx, i)
                else:
                    self.trust.violation(i, s_idx)
            if consult:
                self.shared_view = out.plan
            else:
                self.pot_plan = out.plan
        else:
            self.year.deadlocks += 1
            self.year.failed_last = True
            self.deadlocks_total += 1
            self.concession += m.cfg.decision.concession * (1.0 - self.concession)
            rejecters = seat_idx[~out.accepted]
            for i in rejecters:  # a failed meeting strains relations with the side that blocked it
                self.trust.violation(seat_idx[seat_idx != i], i, weight=0.3)
        return out

    def plan_own_budgets(self) -> None:
        """Bodies outside the pot plan their own money, informed by the table (aligned budgets).

        The council always plans its own (non-pooled) money. Under a consultative forum the ICB's
        place team also plans the delegated NHS money itself. Each leans towards the table's agreed
        plan in proportion to its trust in the other members."""
        m = self.model
        forum = self.forum_belief()
        reference = self.shared_view if self.form == "consultative_forum" else (self.pot_plan if self.pot_plan is not None else self.last_pot_plan)
        bodies = [("council", m.finance.council_own_envelope(self.place))]
        if self.form == "consultative_forum":
            bodies.append(("icb", m.finance.pot_envelope[self.place]))
        for key, env in bodies:
            org = self.orgs[key]
            seat = Seat(org, "vote", 1.0, key)
            if self.member(key):
                belief = self.working_belief(seat, forum)
                lean = self.listening_weight(key)
            else:
                belief = org.belief(self.idx)
                lean = 0.0
            own = self.proposal(seat, env, belief, nhs=key == "icb")
            if reference is not None and lean > 0 and env.sum() > 0:
                col = reference.sum(axis=0)
                dist = np.divide(reference, col, out=np.zeros_like(reference), where=col > 0)
                target = dist * env[None, :]
                # domains the reference does not fund keep the body's own distribution
                target[:, col <= 0] = own[:, col <= 0]
                own = (1.0 - lean) * own + lean * target
            if key == "council":
                self.council_plan = own
            else:
                self.pot_plan = own

    # --- calendar -------------------------------------------------------------------------------
    def new_year(self) -> None:
        self.last_pot_plan = self.pot_plan if self.pot_plan is not None else self.last_pot_plan
        self.last_council_plan = self.council_plan if self.council_plan is not None else self.last_council_plan
        self.pot_plan = None
        self.shared_view = None if self.form == "consultative_forum" else self.shared_view
        self.year = YearRecord()
        self.concession = 0.0

    def year_end(self, improved: bool) -> None:
        """Delivery feeds back into trust: a year in which the place's unmet need fell is a shared
        success; a year in which it rose strains every relationship."""
        n = len(self.seats)
        if n < 2:
            return
        ii, jj = np.where(~np.eye(n, dtype=bool))
        if improved:
            self.trust.success(ii, jj, weight=0.5)
        else:
            self.trust.violation(ii, jj, weight=0.25)
        if not self.year.decided:
            self.delays.append(12)

    def maybe_climb(self) -> str | None:
        """Optional ladder of formality: move up after sustained high trust, fall back after
        sustained low trust (Thriving places: arrangements 'develop over time')."""
        g = self.model.cfg.governance
        if not g.ladder or self.form not in LADDER:
            return None
        t = self.mean_trust()
        pos = LADDER.index(self.form)
        if t >= g.ladder_up_trust and pos < len(LADDER) - 1:
            self.ladder_clock = max(self.ladder_clock, 0) + 1
        elif t <= g.ladder_down_trust and pos > 0:
            self.ladder_clock = min(self.ladder_clock, 0) - 1
        else:
            self.ladder_clock = 0
        if abs(self.ladder_clock) >= g.ladder_months:
            self.form = LADDER[pos + (1 if self.ladder_clock > 0 else -1)]
            self.pooled = self.form == "joint_committee"
            old = self.trust
            self._seat()
            self.trust = TrustNetwork([s.label for s in self.seats], self.model.cfg.trust)
            for a in self.trust.members:  # relationships carry over
                for b in self.trust.members:
                    if a in old.members and b in old.members:
                        self.trust.matrix[self.trust.index(a), self.trust.index(b)] = old.matrix[old.index(a), old.index(b)]
            self.ladder_clock = 0
            return self.form
        return None


@dataclass
class IntegratedCarePartnership:
    """The ICP of one system: produces the integrated care strategy (domain priorities), built
    bottom-up from place needs assessments, weighted between the ICB's and the councils' views by
    the chair arrangement ("separate chairs may help democratic representation, while the same chair
    may help co-ordination")."""

    system: int
    strategy: np.ndarray | None = None
    history: list = field(default_factory=list)

    def refresh(self, model) -> None:
        places = [p for p in model.partnerships if model.layout.place_system[p.place] == self.system]
        place_view = np.zeros(N_DOMAINS)
        for p in places:
            place_view += p.forum_belief().total.sum(axis=0)
        idx = model.layout.system_index[self.system]
        icb_view = model.icbs[self.system].belief(idx).total.sum(axis=0)
        council_weight = 0.6 if model.cfg.chair == "independent" else 0.4
        mix = council_weight * place_view / place_view.sum() + (1.0 - council_weight) * icb_view / icb_view.sum()
        self.strategy = mix / mix.sum()
        self.history.append(self.strategy.copy())
