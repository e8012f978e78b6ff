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
from functools import lru_cache
from itertools import groupby
from operator import attrgetter

import numpy as np

from ics_sim.domains import N_DOMAINS
from ics_sim.grouped import Groups
from ics_sim.model.governance.allocation import (
    Belief,
    area_weights,
    make_plan,
    plan_distance,
    ragged_plans,
    shift_domains,
    shift_stacked,
    stacked_plans,
)
from ics_sim.model.governance.decisions import Agenda, Outcome, decide_all
from ics_sim.model.governance.seats import MeetingRecord, SeatRequest, seat_view
from ics_sim.model.governance.trust import TrustNetwork, success_share, violation_share
from ics_sim.model.governance.views import place_beliefs
from ics_sim.model.organisations import Organisation, first_seen, proposal_preferences_all

#: order of formality for the optional ladder ("built by doing")
LADDER = ("consultative_forum", "committee", "joint_committee")

#: weight of the violation a failed meeting's blockers suffer in every other voter's trust
STRAIN = 0.3


@dataclass(frozen=True)
class FormStructure:
    """What a governance form fixes besides its seats (:func:`seat_members`): the only place the
    model looks a form up by name. Everything else branches on these attributes.

    Attributes:
        holder: who holds and tables the place pot: ``"icb"`` or ``"lead"`` (the lead provider,
            ``governance.lead_provider``, under contract).
        binding: the table's decision is the pot's plan; False for an advisory table whose shared
            view binds no money (each statutory body then plans its own money beside it).
        advised: the bodies that decide money decide alone and take the table's view as advice
            (the SRO; every statutory body beside an advisory table).
        pools: whether a partnership that moves onto this rung of the ladder pools council money
            (a joint committee is the section 75 rung); outside the ladder ``governance.pooled``.
    """

    holder: str = "icb"
    binding: bool = True
    advised: bool = False
    pools: bool = False


FORMS: dict[str, FormStructure] = {
    "consultative_forum": FormStructure(binding=False, advised=True),
    "individual_executive": FormStructure(advised=True),
    "committee": FormStructure(),
    "joint_committee": FormStructure(pools=True),
    "lead_provider": FormStructure(holder="lead"),
}

#: organisation kinds that deliver care and can hold a pot under contract
PROVIDER_KINDS = ("acute_trust", "community_trust", "mental_health_trust")

#: every kind of member a place table can seat, in the order of the trust network record
MEMBER_KEYS = ("icb", "council", "acute_trust", "community_trust", "mental_health_trust", "pcn", "social_care", "vcse", "healthwatch")
#: the unordered pairs of :data:`MEMBER_KEYS` (the edges of the recorded trust network)
MEMBER_PAIRS = tuple((a, b) for i, a in enumerate(MEMBER_KEYS) for b in MEMBER_KEYS[i + 1 :])


@dataclass(frozen=True)
class PlaceMoney:
    """Every place's money as the tables judge conduct on it this month (rows are places): the pot
    and its total, the NHS part's total, and what each council spends itself and its total. Each
    total is the row's own sum (numpy sums each row of a C-ordered matrix as it sums the row
    alone), so the numbers are those of the place-by-place sums."""

    pot: np.ndarray
    pot_total: np.ndarray
    pot_nhs: np.ndarray
    council_own: np.ndarray
    council_own_total: np.ndarray

    @classmethod
    def of(cls, fin) -> PlaceMoney:
        """Every place's, from the finance state (:class:`~ics_sim.model.finance.Finance`)."""
        own = fin.council_own_envelopes()
        return cls(fin.pot_envelope, fin.pot_envelope.sum(axis=1), fin.pot_nhs.sum(axis=1), own, own.sum(axis=1))

    def at(self, p: int) -> tuple[np.ndarray, float, float, np.ndarray, float]:
        """Place ``p``'s: its pot, the pot's total, the NHS part's total, what its council spends
        itself and that total."""
        return self.pot[p], self.pot_total[p], self.pot_nhs[p], self.council_own[p], self.council_own_total[p]

    @staticmethod
    def of_place(fin, p: int) -> tuple[np.ndarray, float, float, np.ndarray, float]:
        """:meth:`at` place ``p`` of :meth:`of`, worked out for that place alone (the same sums)."""
        own = fin.council_own_envelope(p)
        return fin.pot_envelope[p], fin.pot_envelope[p].sum(), fin.pot_nhs[p].sum(), own, own.sum()


def mh_floors(model) -> np.ndarray:
    """Per place, the mental health floor (GBP) on a plan of its NHS money: the mental health
    investment standard's share of the NHS money in its pot (each place's own sum: numpy sums
    each row of a C-ordered matrix as it sums the row alone)."""
    return model.cfg.finance.mental_health_floor * model.finance.pot_nhs.sum(axis=1)


def meeting_proposals(parts: list[PlacePartnership]) -> list[np.ndarray]:
    """Per table in ``parts`` (tables of one model holding a decision meeting this month), its
    voters' :meth:`~PlacePartnership.voter_proposals` for the meeting (its
    :meth:`~PlacePartnership.meeting_envelope` and pooled view), worked out for every table at once
    (:func:`_plans_at_once`): the same numbers."""
    if not parts:
        return []
    table = np.repeat(np.arange(len(parts)), [len(part._voters) for part in parts])
    seats = [s for part in parts for s in part._voters]
    w = _listening_at_once(parts, table, seats, np.concatenate([part._indexed()._voter_idx for part in parts]))
    envelopes = np.stack([part.meeting_envelope() for part in parts])[table]
    plans, sizes = _plans_at_once(parts, table, seats, envelopes, w, np.ones(len(seats), dtype=bool))
    out, start = [], 0
    for part in parts:
        k, n = len(part._voters), len(part.idx)
        out.append(plans[start : start + k * n].reshape(k, n, N_DOMAINS).copy())
        start += k * n
    return out


def _plans_at_once(parts: list[PlacePartnership], table: np.ndarray, seats: list[Seat], envelopes: np.ndarray,
                   w: np.ndarray, heard: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The plan of each seat ``seats[k]`` at table ``parts[table[k]]`` (tables of one model) for
    its money ``envelopes[k]``, as :meth:`PlacePartnership.proposal` makes it from the seat's
    belief: its :meth:`~PlacePartnership.working_belief` after listening to the table with weight
    ``w[k]`` where ``heard[k]``, else its own (:meth:`~PlacePartnership._own_belief`). Returns the
    plans laid end to end (each seat's place's neighbourhoods, one row each) and each plan's rows.

    Every seat's preferences are asked at once (:func:`_preferences_at_once`), its beliefs read
    from the month's whole-population arrays (:func:`~ics_sim.model.governance.views.place_beliefs`
    and :meth:`~ics_sim.model.governance.views.TableViews.whole_forums`), and the arithmetic is
    element by element the one-seat arithmetic; each plan's sums add its own rows as numpy adds
    them for the plan alone (:func:`ragged_plans`), so each plan is the same numbers. Under the
    need-blind ``per_head`` rule beliefs play no part."""
    m = parts[0].model
    a, L = m.cfg.allocation, m.layout
    nhs_floor = mh_floors(m).tolist()  # a plan of NHS money keeps the mental health floor
    floors = [nhs_floor[parts[t].place] if s.label == "icb" else None for t, s in zip(table.tolist(), seats, strict=True)]
    joint = _joint_posts(parts, table, seats)
    envs = shift_stacked(envelopes, _preferences_at_once(parts, table, seats, joint), floors)
    n = np.array([len(p.idx) for p in parts], dtype=np.intp)
    sizes = n[table]
    row = np.repeat(np.arange(len(seats)), sizes)  # each row's seat
    starts = np.cumsum(sizes) - sizes  # each seat's first row
    # each row's neighbourhood: its table's neighbourhoods (all tables' end to end), in turn
    nb = np.concatenate([p.idx for p in parts])[(np.cumsum(n) - n)[table][row] - starts[row] + np.arange(len(row))]
    if a.rule == "per_head":
        return ragged_plans(envs, area_weights(a.rule, None, L.nb_population[nb], None, a.hi_adjustment), sizes), sizes
    # own beliefs: per class and observer field, its seats' places' rows of the whole population
    kinds, kind_of = first_seen(list(map(_BELIEF_KIND, seats)))
    beliefs = []
    for g in range(len(kinds)):
        ks = np.flatnonzero(kind_of == g).tolist()
        beliefs.append(place_beliefs(m, [seats[k].org for k in ks], [parts[table[k]].place for k in ks]))
    kind_of = kind_of[row]
    visible = np.stack([b.visible for b in beliefs])[kind_of, nb]
    hidden = np.stack([b.hidden for b in beliefs])[kind_of, nb]
    for k in joint:  # a joint ICB-council post reads both bodies' beliefs (_own_belief)
        own = parts[table[k]]._own_belief(seats[k])
        at = slice(starts[k], starts[k] + sizes[k])
        visible[at], hidden[at] = own.visible, own.hidden
    # working_belief of every seat that listens to its table
    cells = heard[row]
    all_heard = bool(cells.all())
    if all_heard:
        cells = slice(None)
    if all_heard or cells.any():
        forum = m.table_views.whole_forums(m.partnerships)
        wc = w[row[cells]][:, None]
        at = nb[cells]
        own_hidden = hidden[cells]
        visible[cells] = np.exp((1.0 - wc) * np.log(visible[cells]) + wc * forum.log_visible()[at])
        told = wc * forum.hidden[at]
        if m.cfg.interests.enabled:  # a council discounts the hidden need it hears (working_belief)
            council = np.array([s.org.kind == "council" for s in seats])[row[cells]]
            if council.any():
                told[council] = told[council] * (1.0 - m.cfg.interests.council_visible_bias)
        hidden[cells] = np.maximum(own_hidden, told)
    rank = L.nb_rank[nb] if a.rule == "need_weighted_hi" else None
    return ragged_plans(envs, area_weights(a.rule, Belief(visible, hidden), None, rank, a.hi_adjustment), sizes), sizes


def _preferences_at_once(parts: list[PlacePartnership], table: np.ndarray, seats: list[Seat],
                         joint: list[int] | None = None) -> np.ndarray:
    """:meth:`PlacePartnership._preferences` of each seat ``seats[k]`` at table
    ``parts[table[k]]``, as one (seats, domains) array of the same numbers: each organisation
    asked once (an ICB and its system's trusts sit at every table of the system), every
    organisation at once (:func:`~ics_sim.model.organisations.proposal_preferences_all`).
    ``joint``: the seats that are joint ICB-council posts (:func:`_joint_posts`), found here
    when not given."""
    if joint is None:
        joint = _joint_posts(parts, table, seats)
    orgs, rows = first_seen(list(map(_ORG, seats)) + [parts[table[k]].orgs["council"] for k in joint])
    pref = proposal_preferences_all(orgs)
    prefs = pref[rows[: len(seats)]]
    for k, council in zip(joint, rows[len(seats) :].tolist(), strict=True):
        prefs[k] = 0.5 * (prefs[k] + pref[council])
    return prefs


def _joint_posts(parts: list[PlacePartnership], table: np.ndarray, seats: list[Seat]) -> list[int]:
    """Which of the seats (``seats[k]`` at ``parts[table[k]]``) are joint ICB-council posts."""
    joint_sro = [t for t, part in enumerate(parts) if part.joint_sro]
    if not joint_sro:
        return []
    return [k for k in np.flatnonzero(np.isin(table, joint_sro)).tolist() if seats[k].label == "icb"]


_ORG = attrgetter("org")
#: a seat's organisation's class and observer field (one call of place_beliefs each)
_BELIEF_KIND = attrgetter("org.__class__", "org.observer")


def _listening_at_once(parts: list[PlacePartnership], table: np.ndarray, seats: list[Seat], rows: np.ndarray) -> np.ndarray:
    """:meth:`PlacePartnership.listening_weight` of each seat ``seats[k]`` (at row ``rows[k]`` of
    its table's trust) at table ``parts[table[k]]``, as one array of the same numbers: every
    member's mean trust in the others from one sum per row of its table's matrix (the matrices of
    tables with the same number of members stacked: numpy sums each row of a C-ordered stack as it
    sums the row alone), then the advice an advisory body takes, as
    :meth:`~PlacePartnership.listening_weights` works them out."""
    m = parts[0].model
    nets = [part.trust for part in parts]
    n = np.array([net.n for net in nets], dtype=np.intp)
    first = np.cumsum(n) - n  # where each table's members' sums start
    sums = np.empty(int(n.sum()))
    sizes: dict[int, list[int]] = {}
    for t, k in enumerate(n.tolist()):
        sizes.setdefault(k, []).append(t)
    for k, ts in sizes.items():
        sums[(first[ts][:, None] + np.arange(k)).ravel()] = np.stack([nets[t].matrix for t in ts]).sum(axis=2).ravel()
    members = n[table]
    w = np.ones(len(seats))  # a member alone at its table: 1
    np.divide(sums[first[table] + rows] - 1.0, members - 1, out=w, where=members > 1)
    advised = [t for t, part in enumerate(parts) if part.structure.advised]
    if advised:  # advisory_for: the bodies that decide alone take the table's view as advice
        takes = np.zeros(len(parts), dtype=bool)
        takes[advised] = True
        holder = {t: parts[t].holder_key for t in advised}
        advice = [takes[t] and (not parts[t].structure.binding or s.label == holder[t]) for t, s in zip(table.tolist(), seats, strict=True)]
        if any(advice):
            weight = np.array([part.settings.governance.advice_weight for part in parts])[table[advice]]
            w[advice] = np.minimum(1.0, weight * w[advice] / max(m.cfg.trust.initial, 1e-9))
    return w


@dataclass
class _Business:
    """A decision meeting tabled (:meth:`PlacePartnership._business`): its agenda for
    :func:`~ics_sim.model.governance.decisions.decide_all`, the voters and their trust rows, and
    the workshop's request keys and which seats' proposals came from outside (None without)."""

    agenda: Agenda
    voters: list[Seat]
    seat_idx: np.ndarray
    keys: tuple | None
    outside: tuple | None


def hold_meetings(parts: list[PlacePartnership], month_of_year: int) -> list[Outcome | None]:
    """:meth:`PlacePartnership.meet` of every table in ``parts`` (tables of one model holding a
    decision meeting this month), in order, with every table's proposals worked out at once
    (:func:`meeting_proposals`), every table's decision taken at once
    (:func:`~ics_sim.model.governance.decisions.decide_all`) and every meeting concluded at once
    (:func:`conclude_all`). A meeting tabled reads its own table's trust, concession and record
    and the month's money; a meeting concluded writes its own table's trust, plans and record: so
    tabling them all, deciding, then concluding them all is holding each in its turn. Where a
    workshop's seats propose (``sources``) each meeting is held whole in its turn: a seat hears one
    meeting's outcome before the next is tabled."""
    proposals = meeting_proposals(parts)
    if any(part.sources for part in parts):
        return [part.meet(month_of_year, p) for part, p in zip(parts, proposals, strict=True)]
    business = [part._business(p) for part, p in zip(parts, proposals, strict=True)]
    held = [k for k, b in enumerate(business) if b is not None]  # tables with money to decide
    outcomes = decide_all([business[k].agenda for k in held])
    conclude_all([parts[k] for k in held], [business[k] for k in held], outcomes, month_of_year)
    decided: list[Outcome | None] = [None] * len(parts)
    for k, out in zip(held, outcomes, strict=True):
        decided[k] = out
    return decided


def conclude_all(parts: list[PlacePartnership], business: list[_Business], outcomes: list[Outcome], month_of_year: int) -> None:
    """:meth:`PlacePartnership._conclude` of every table in ``parts`` (tables of one model, none
    with a workshop's seats) with its meeting's ``business`` and decision ``outcomes``, at once:
    each table's record and plan settled in turn (:meth:`~PlacePartnership._settle`, cheap Python),
    then each kind of trust update done as one operation on the array of every table's trust
    (``model.trust_tables``) for every table it applies to (:class:`_TrustUpdates`). Within a table
    the updates keep their order (the voters' successes and violations with the setter, which touch
    distinct cells; the small win; the judgment of conduct), a failed meeting's rejecters each
    touch their own column of cells, and each table's cells are its own: so concluding them
    together is concluding them one by one."""
    if not parts:
        return
    model = parts[0].model
    tables = getattr(model, "trust_tables", None)
    if tables is None:  # no array of every table's trust: one by one
        for part, b, out in zip(parts, business, outcomes, strict=True):
            part._conclude(month_of_year, b, out)
        return
    flat = tables.hold([part.trust for part in model.partnerships])
    updates, judging = _TrustUpdates(model.cfg), []
    for part, b, out in zip(parts, business, outcomes, strict=True):
        part._settle(month_of_year, out)
        start, n, seat_idx = tables.start(part.trust), part.trust.n, b.seat_idx
        off, judged = part._conduct_cells(flat, start)
        judging.append(judged)
        if out.decided:
            s_idx = seat_idx[b.agenda.setter]
            others = seat_idx != s_idx
            agreed, overruled = seat_idx[others & out.accepted], seat_idx[others & ~out.accepted]
            updates.agreed += [start + agreed * n + s_idx, start + s_idx * n + agreed]
            updates.overruled.append(start + overruled * n + s_idx)
            updates.win(part, off)
        else:
            for i in seat_idx[~out.accepted].tolist():
                updates.strained.append(start + seat_idx[seat_idx != i] * n + i)
    updates.judge(parts, judging, PlaceMoney.of(model.finance))
    updates.apply(flat)


def review_all(parts: list[PlacePartnership]) -> None:
    """:meth:`PlacePartnership.review` of every table in ``parts`` (tables of one model reviewing
    this month), at once: the month's money worked out once, and every table's small win and
    judgment of conduct done as one operation each on the array holding every table's trust
    (``model.trust_tables``, :class:`_TrustUpdates`). Each table's trust is its own and each update
    is element by element the per-table arithmetic (the small win before the judgment), so
    reviewing the tables together is reviewing them one by one."""
    if not parts:
        return
    model = parts[0].model
    money = PlaceMoney.of(model.finance)
    tables = getattr(model, "trust_tables", None)
    if tables is None:  # no array of every table's trust: one by one
        for part in parts:
            part.review(money)
        return
    flat = tables.hold([part.trust for part in model.partnerships])
    updates, judging = _TrustUpdates(model.cfg), []
    for part in parts:
        part._held_meeting()
        off, judged = part._conduct_cells(flat, tables.start(part.trust))
        judging.append(judged)
        updates.win(part, off)
    updates.judge(parts, judging, money)
    updates.apply(flat)


class _TrustUpdates:
    """Trust updates of many tables, gathered as cells of the array of every table's trust
    (:class:`~ics_sim.model.governance.trust.TrustTables`) and applied one kind at a time, each
    kind as one operation element by element the arithmetic of :class:`TrustNetwork` (none of the
    cells is on a diagonal: it stays 1). :meth:`apply` does, for every table, in this order: the
    successes of weight 1 between each voter who accepted a decision and its setter, both ways
    (``agreed``); the violations of weight 1 of each overruled voter's trust in the setter
    (``overruled``) and of weight :data:`STRAIN` of every other voter's trust in each rejecter of a
    failed meeting (``strained``); the small wins (:meth:`win`); then the judgments of conduct
    (:meth:`judge`). A table's cells of one kind are distinct (each step reads every cell before
    writing any)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.agreed: list[np.ndarray] = []
        self.overruled: list[np.ndarray] = []
        self.strained: list[np.ndarray] = []
        self._won: list[np.ndarray] = []
        self._judged: list[np.ndarray] = []
        self._drifts: list[float] = []
        self._counts: list[int] = []

    def win(self, part: PlacePartnership, off: np.ndarray) -> None:
        """The table's :meth:`~PlacePartnership._small_win` (``off``: its block's off-diagonal
        cells, :meth:`~PlacePartnership._conduct_cells`)."""
        if len(part.seats) > 1 and self.cfg.trust.dialogue > 0:
            self._won.append(off)

    def judge(self, parts: list[PlacePartnership], judging: list[dict[str, np.ndarray]], money: PlaceMoney) -> None:
        """Each table's :meth:`~PlacePartnership._judge_conduct` on this month's ``money``
        (``judging``: per table, the cells of every other member's trust in each body it judges,
        :meth:`~PlacePartnership._conduct_cells`)."""
        for part_cells, judged in zip(judging, _conduct_all(parts, money), strict=True):
            for key, drift in judged:
                cells = part_cells[key]
                self._judged.append(cells)
                self._drifts.append(drift)
                self._counts.append(len(cells))

    def apply(self, flat: np.ndarray) -> None:
        """Every update gathered, kind by kind (the class docstring's order)."""
        c = self.cfg.trust
        _succeed(flat, self.agreed, success_share(c.gain, 1.0))
        _violate(flat, self.overruled, violation_share(c.gain, c.loss_ratio, 1.0))
        _violate(flat, self.strained, violation_share(c.gain, c.loss_ratio, STRAIN))
        _succeed(flat, self._won, success_share(c.gain, c.dialogue))
        if self._judged:
            at = np.concatenate(self._judged)
            drift = np.repeat(np.array(self._drifts), self._counts)
            flat[at] = _judged(flat[at], drift, self.cfg.decision, c)


def _succeed(flat: np.ndarray, cells: list[np.ndarray], share: float) -> None:
    """:meth:`TrustNetwork.success` closing ``share`` of the gap to 1 at every one of ``cells``."""
    if cells:
        at = np.concatenate(cells)
        t = flat[at]
        flat[at] = t + share * (1.0 - t)


def _violate(flat: np.ndarray, cells: list[np.ndarray], share: float) -> None:
    """:meth:`TrustNetwork.violation` removing ``share`` of the trust held at every one of ``cells``."""
    if cells:
        at = np.concatenate(cells)
        t = flat[at]
        flat[at] = t - share * t


def _judged(t: np.ndarray, drift, d, c) -> np.ndarray:
    """Trust ``t`` of the members judging a body whose money drifted by ``drift`` from the table's
    plan, after the judgment: :meth:`TrustNetwork.success` where the drift is within the member's
    tolerance (:meth:`PlacePartnership._tolerance_of`; ``d``: the decision settings),
    :meth:`TrustNetwork.violation` elsewhere, element by element the same arithmetic (``c``: the
    trust settings)."""
    kept = drift <= d.tolerance + d.tolerance_trust * t
    return np.where(kept, t + success_share(c.gain, 1.0) * (1.0 - t), t - violation_share(c.gain, c.loss_ratio, 1.0) * t)


def _conduct_all(parts: list[PlacePartnership], money: PlaceMoney) -> list[list[tuple[str, float]]]:
    """:meth:`PlacePartnership._conduct` of every table in ``parts`` on this month's ``money``: each
    body's drift the one its table keeps for the same inputs (:meth:`~PlacePartnership._drift`),
    and the drifts none is kept for worked out at once (:func:`drifts`) and kept."""
    terms = [part._conduct_terms(money) for part in parts]
    kept, missing = [], []  # per body with a drift: its drift kept by its table, else None; the rest
    for part, (reference, bodies) in zip(parts, terms, strict=True):
        memo = part._drift_memo
        for key, _, _, plan, env in bodies:
            if plan is None:
                continue
            inputs = _drift_inputs(reference, plan, env)
            held = memo.get(key)
            if held is not None and held[0] == inputs:
                kept.append(held[1])
            else:
                kept.append(None)
                missing.append((memo, key, inputs, reference, plan, env))
    if missing:
        worked = drifts(*zip(*(m[3:] for m in missing), strict=True)).tolist()
        for (memo, key, inputs, *_), drift in zip(missing, worked, strict=True):
            memo[key] = (inputs, drift)
        worked = iter(worked)
        kept = [next(worked) if drift is None else drift for drift in kept]
    drift = iter(kept)
    return [[(key, 0.0 if plan is None else next(drift) * outside / whole) for key, outside, whole, plan, _ in bodies]
            for _, bodies in terms]


def _drift_inputs(reference: np.ndarray, plan: np.ndarray, env: np.ndarray) -> tuple:
    """What a drift is worked out from, as a key for the drift kept with it: the shapes, types and
    bytes of the table's plan, the body's plan and its envelope."""
    return (reference.shape, plan.shape, env.shape, reference.dtype, plan.dtype, env.dtype,
            reference.tobytes(), plan.tobytes(), env.tobytes())


def drifts(references: list[np.ndarray], plans: list[np.ndarray], envs: list[np.ndarray]) -> np.ndarray:
    """Per body, how far its own ``plans[k]`` (neighbourhoods x domains, GBP/yr) is from the table's
    ``references[k]`` applied to its envelope ``envs[k]`` (per domain):
    ``plan_distance(plan, PlacePartnership.aligned_target(reference, plan, env))``, for every body
    at once, bit for bit. The bodies are laid end to end, fewest neighbourhoods first, so that the
    bodies of one size are one block: each reference's column sums add its own rows one after
    another (as ``reference.sum(axis=0)`` does) and each plan's whole sums are a row of a C-ordered
    bodies x cells matrix (numpy sums such a row pairwise, as it sums the plan alone); everything
    else is element by element."""
    order = sorted(range(len(plans)), key=lambda k: len(plans[k]))
    n_bodies, n_cols = len(order), plans[0].shape[1]
    laid = [len(plans[k]) for k in order]
    blocks, a, f = [], 0, 0  # per size: (first row, bodies, size, first body)
    for n, same in groupby(laid):
        k = len(list(same))
        blocks.append((a, k, n, f))
        a, f = a + k * n, f + k
    reference = np.concatenate([references[k] for k in order])
    own = np.concatenate([plans[k] for k in order])
    col = np.empty((n_bodies, n_cols))
    for a, k, n, f in blocks:
        np.add.reduce(reference[a : a + k * n].reshape(k, n, n_cols), axis=1, out=col[f : f + k])
    col = np.repeat(col, laid, axis=0)
    env = np.repeat(np.concatenate([envs[k] for k in order]).reshape(n_bodies, n_cols), laid, axis=0)
    # aligned_target: each domain's money spread as the table spreads it; an unfunded domain as the body's own
    unfunded = col <= 0
    target = np.divide(reference, col, out=np.zeros(reference.shape), where=~unfunded) * env
    target[unfunded] = own[unfunded]
    cells = np.stack([own, target, np.abs(own - target)]).reshape(3, -1)
    sums = np.empty((3, n_bodies))
    for a, k, n, f in blocks:
        np.add.reduce(cells[:, a * n_cols : (a + k * n) * n_cols].reshape(3, k, n * n_cols), axis=-1, out=sums[:, f : f + k])
    out = np.empty(n_bodies)
    out[order] = 0.5 * sums[2] / np.maximum(np.maximum(sums[0], sums[1]), 1e-12)  # plan_distance
    return out


def plan_own_budgets_all(parts: list[PlacePartnership]) -> None:
    """:meth:`PlacePartnership.plan_own_budgets` of every table in ``parts`` (tables of one model
    planning this month), at once: every body's plan from its belief (:func:`_plans_at_once`),
    then its lean towards the table's plan, worked out for every body's neighbourhoods laid end to
    end, element by element the per-table arithmetic, and each plan's column sums as numpy sums
    that plan's rows (:class:`~ics_sim.grouped.Groups`). No table reads another's plans, so
    planning them together is planning them one by one."""
    if not parts:
        return
    # per body planning its own money: its table, seat, envelope, whether it listens to the
    # table (a member) and its row of the table's trust, and the table's plan it leans towards
    # (None without)
    table, seats, envs, heard, rows, references = [], [], [], [], [], []
    for t, part in enumerate(parts):
        reference = part.reference_plan() if part.structure.binding else part.shared_view
        for key, env in part.own_money_planners():
            member = part.member(key)
            table.append(t)
            seats.append(Seat(part.orgs[key], "vote", 1.0, key))
            envs.append(env)
            heard.append(member)
            rows.append(part.trust.index(key) if member else 0)
            references.append(reference)
    table, heard = np.array(table, dtype=np.intp), np.array(heard, dtype=bool)
    w = np.zeros(len(seats))
    if heard.any():
        w[heard] = _listening_at_once(parts, table[heard], [s for s, h in zip(seats, heard.tolist(), strict=True) if h],
                                      np.array(rows, dtype=np.intp)[heard])
    envs = np.array(envs)
    plans, sizes = _plans_at_once(parts, table, seats, envs, w, heard)
    # each body leans towards the table's plan applied to its envelope (aligned_target); each
    # envelope's total is its row's own sum
    lean = np.array([ref is not None for ref in references]) & (w > 0) & (envs.sum(axis=1) > 0)
    leaning = np.flatnonzero(lean)
    if len(leaning):
        body_of = np.repeat(np.arange(len(seats)), sizes)  # each cell's body
        cells = lean[body_of]
        at = body_of[cells]
        own = plans[cells]
        reference = np.concatenate([references[k] for k in leaning.tolist()])
        col = _runs(tuple(sizes[leaning].tolist())).sum_rows(reference)
        col = col[np.repeat(np.arange(len(leaning)), sizes[leaning])]
        target = np.divide(reference, col, out=np.zeros(reference.shape), where=col > 0) * envs[at]
        unfunded = col <= 0
        target[unfunded] = own[unfunded]
        wc = w[at][:, None]
        plans[cells] = (1.0 - wc) * own + wc * target
    starts = (np.cumsum(sizes) - sizes).tolist()
    for k, (t, seat) in enumerate(zip(table.tolist(), seats, strict=True)):
        own = plans[starts[k] : starts[k] + sizes[k]].copy()
        if seat.label == "council":
            parts[t].council_plan = own
        else:
            parts[t].pot_plan = own


@lru_cache(maxsize=32)
def _runs(sizes: tuple[int, ...]) -> Groups:
    """Groups of consecutive rows of the given sizes (plans laid end to end)."""
    ends = np.cumsum(sizes)
    return Groups([np.arange(e - k, e) for e, k in zip(ends.tolist(), sizes, strict=True)], int(ends[-1]) if sizes else 0)


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
    failed_last: bool = False  # the last meeting failed: the members negotiate before the next one


class PlacePartnership:
    """The place-based partnership of one place: its seats, trust, plans and decision record.

    Attributes:
        settings: the place's own settings: the run's config with the place's
            ``place_settings`` laid over it (:func:`ics_sim.config.places.merged`; the run's config
            itself when the place has none). Everything the table reads about its governance,
            membership, decision rule, chair and delegation comes from here.
        form: the governance form (it can change on the ladder of formality).
        structure: the form's :class:`FormStructure`.
        pooled: whether council money is in the pot; set for the financial year (a change of
            form takes effect with the next April's budgets).
        pot_plan: this year's plan for the place pot (delegated NHS money, plus pooled council money
            under a pooled form), or None until decided and signed off (last year's continues
            meanwhile).
        council_plan: the council's plan for the money it keeps.
        shared_view: an advisory table's agreed shared plan.
    """

    def __init__(self, model, place: int, orgs: dict[str, Organisation]):
        self.model = model
        self.place = place
        self.orgs = orgs
        self.idx = model.layout.place_index[place]
        self.settings = model.place_cfgs[place]
        self.form = self.settings.governance.form
        self.pooled = self.settings.governance.pooled
        self.ladder_clock = 0
        self.next_form: str | None = None
        self._seat()
        self.trust = TrustNetwork([s.label for s in self.seats], model.cfg.trust)
        self.pot_plan: np.ndarray | None = None
        self.council_plan: np.ndarray | None = None
        self.shared_view: np.ndarray | None = None
        self.last_pot_plan: np.ndarray | None = None
        self.last_council_plan: np.ndarray | None = None
        self.last_shared_view: np.ndarray | None = None
        self.signing: tuple[int, np.ndarray] | None = None
        self.concession = 0.0
        self.year = YearRecord()
        self.power_imbalance: list[float] = []
        self.delays: list[int] = []
        self.deadlocks_total = 0
        self.meetings_total = 0
        #: per seat label, where its proposal comes from when not from its agent (the workshop's
        #: human seats, :mod:`ics_sim.model.governance.seats`); empty: every seat is its agent
        self.sources: dict = {}

    def _seat(self) -> None:
        g = self.settings.governance
        self.structure = FORMS[self.form]
        self.seats = seat_members(self.form, self.orgs, self.settings.membership, g.sro_appointment, g.lead_provider)
        self._labels = {s.label for s in self.seats}
        self._voters = [s for s in self.seats if s.role == "vote"]
        self._voter_labels = {s.label for s in self._voters}
        #: the kinds of organisation seated, in order: places with the same seating pool the same
        #: observer fields (governance/views.py)
        self.seating = tuple((type(s.org), s.org.observer) for s in self.seats)
        self._forum_cache: tuple[int, Belief] | None = None
        self._indexed_for: TrustNetwork | None = None
        self._drift_memo: dict[str, tuple] = {}

    def _indices(self) -> None:
        """Where each seat sits in the trust network, worked out once per network (the network is
        replaced when the form changes): the voters' rows and every other member's rows for each
        body judged on its conduct."""
        trust = self.trust
        self._indexed_for = trust
        self._voter_idx = np.array([trust.index(s.label) for s in self._voters], dtype=np.intp)
        self._others = {
            key: np.array([trust.index(s.label) for s in self.seats if s.label != key], dtype=np.intp)
            for key in ("icb", "council")
        }

    def _indexed(self) -> PlacePartnership:
        if self._indexed_for is not self.trust:
            self._indices()
        return self

    @property
    def holder_key(self) -> str:
        """The member key of the pot holder (the agenda setter)."""
        return self.settings.governance.lead_provider if self.structure.holder == "lead" else "icb"

    @property
    def contracted(self) -> bool:
        """True when a provider holds the pot under contract (it is paid through the contract)."""
        return self.holder_key in PROVIDER_KINDS

    @property
    def joint_sro(self) -> bool:
        """True when the single decision maker is a joint ICB-council post (it reads both bodies'
        views and weighs both bodies' priorities)."""
        return self.structure.advised and self.structure.binding and self.settings.governance.sro_appointment == "joint"

    def controls(self, key: str) -> bool:
        """Whether a body has a hand in the pot's plan (it votes, or shares the SRO post), so its own
        spending is structurally co-ordinated with the pot."""
        return key in self._voter_labels or (key == "council" and self.joint_sro)

    def advisory_for(self, key: str) -> bool:
        """Whether ``key`` decides money alone and takes the table's view only as advice."""
        s = self.structure
        return s.advised and (not s.binding or key == self.holder_key)

    def listening_weight(self, key: str) -> float:
        """How far a member moves from its own view towards the table's: its mean trust in the
        others; a body that only takes advice (the SRO, or a body planning its own money beside a
        consultative forum) gives it ``governance.advice_weight`` at the initial level of trust,
        more as trust grows."""
        t = self.trust.outgoing_mean_of(self.trust.index(key))
        if not self.advisory_for(key):
            return t
        ref = max(self.model.cfg.trust.initial, 1e-9)
        return float(min(1.0, self.settings.governance.advice_weight * t / ref))

    def listening_weights(self, labels: list[str], rows: np.ndarray) -> np.ndarray:
        """:meth:`listening_weight` of each member in ``labels`` (at trust rows ``rows``), as one
        array of the same numbers: every member's mean trust in the others from one sum per row
        (numpy sums each row of the C-ordered matrix as it sums the row alone)."""
        trust = self.trust
        n = trust.n
        if n < 2:
            means = [1.0] * len(labels)
        else:
            means = ((trust.matrix.sum(axis=1)[rows] - 1.0) / (n - 1)).tolist()
        s = self.structure
        if s.advised:  # advisory_for, with the branch taken once
            ref = max(self.model.cfg.trust.initial, 1e-9)
            aw = self.settings.governance.advice_weight
            holder = self.holder_key
            means = [float(min(1.0, aw * t / ref)) if (not s.binding or k == holder) else t
                     for k, t in zip(labels, means, strict=True)]
        return np.array(means)

    # --- structure ----------------------------------------------------------------------------
    @property
    def voters(self) -> list[Seat]:
        """The seats with a vote, in seat order (the pot holder first)."""
        return list(self._voters)

    def member(self, key: str) -> bool:
        return key in self._labels

    def trust_between(self, a: str, b: str) -> float:
        """Mutual trust between two members, or 0 when one is not at the table."""
        if self.member(a) and self.member(b):
            return self.trust.mutual(a, b)
        return 0.0

    def mean_trust(self) -> float:
        return self.trust.mean()

    def pair_trust(self) -> np.ndarray:
        """Mutual trust for every pair of :data:`MEMBER_PAIRS` (NaN where one is not seated)."""
        trust = self.trust
        held = self.__dict__.get("_pair_map")
        if held is None or held[0] is not trust:  # the seated pairs, once per network
            local = {k: trust.index(k) for k in trust.members}
            seated = [(k, a, b) for k, (a, b) in enumerate(MEMBER_PAIRS) if a in local and b in local]
            held = self._pair_map = (trust, np.array([k for k, _, _ in seated], dtype=np.intp),
                                     np.array([local[a] for _, a, _ in seated], dtype=np.intp),
                                     np.array([local[b] for _, _, b in seated], dtype=np.intp))
        _, pairs, a, b = held
        t = trust.matrix
        out = np.full(len(MEMBER_PAIRS), np.nan)
        out[pairs] = 0.5 * (t[a, b] + t[b, a])
        return out

    # --- information --------------------------------------------------------------------------
    def forum_belief(self) -> Belief:
        """The table's pooled view: precision-weighted log estimates of visible need from every
        member present, and the best-reaching member's sight of hidden need. Computed once a month
        (what members know changes only with the month's observation)."""
        if self._forum_cache is not None and self._forum_cache[0] == self.model.month:
            return self._forum_cache[1]
        belief = self._pool_views()
        belief.visible.flags.writeable = False  # shared by every reader this month
        belief.hidden.flags.writeable = False
        self._forum_cache = (self.model.month, belief)
        return belief

    def _pool_views(self) -> Belief:
        # pooled for every place with the same seating at once (governance/views.py)
        return self.model.table_views.forum(self)

    def working_belief(self, seat: Seat, forum: Belief) -> Belief:
        """A member's belief after listening to the table, in proportion to its trust in the others."""
        own = self._own_belief(seat)
        w = self.listening_weight(seat.label)
        visible = np.exp((1.0 - w) * own.log_visible() + w * forum.log_visible())
        heard = w * forum.hidden
        if seat.org.kind == "council" and self.model.cfg.interests.enabled:
            # the council discounts hidden need it hears as it discounts its own (Council.belief)
            heard = heard * (1.0 - self.model.cfg.interests.council_visible_bias)
        return Belief(visible, np.maximum(own.hidden, heard))

    def _own_belief(self, seat: Seat) -> Belief:
        """What a member brings to the table: its own belief (a joint ICB-council post reads both
        bodies' intelligence)."""
        own = seat.org.belief(self.idx)
        if seat.label == "icb" and self.joint_sro:
            council = self.orgs["council"].belief(self.idx)
            own = Belief(np.sqrt(own.visible * council.visible), np.maximum(own.hidden, council.hidden))
        return own

    # --- proposals and decisions ----------------------------------------------------------------
    def _preferences(self, seat: Seat) -> np.ndarray:
        """A member's domain log-weights (a joint ICB-council post weighs both bodies')."""
        pref = seat.org.proposal_preferences()
        if seat.label == "icb" and self.joint_sro:
            pref = 0.5 * (pref + self.orgs["council"].proposal_preferences())
        return pref

    def _mh_floor(self, nhs: bool) -> float | None:
        """The mental health floor (GBP) on a plan of NHS money (:func:`mh_floors`); None for
        other money."""
        return mh_floors(self.model)[self.place] if nhs else None

    def _envelope_for(self, seat: Seat, envelope: np.ndarray, nhs: bool) -> np.ndarray:
        """The envelope a member divides: shifted between domains by its preferences (and, for NHS
        money, kept above the mental health floor)."""
        return shift_domains(envelope, self._preferences(seat), self._mh_floor(nhs))

    def _areas(self) -> tuple[np.ndarray, np.ndarray]:
        """The place's neighbourhoods' deprivation rank and population (fixed by the layout)."""
        areas = self.__dict__.get("_area_cache")
        if areas is None or areas[0] is not self.idx:
            L = self.model.layout
            areas = self._area_cache = (self.idx, L.nb_rank[self.idx], L.nb_population[self.idx])
        return areas[1], areas[2]

    def proposal(self, seat: Seat, envelope: np.ndarray, belief: Belief, nhs: bool) -> np.ndarray:
        """A member's plan for ``envelope``: its domain envelopes divided across the place's
        neighbourhoods by the allocation rule on ``belief``."""
        m = self.model
        env = self._envelope_for(seat, envelope, nhs)
        rank, pops = self._areas()
        w = area_weights(m.cfg.allocation.rule, belief, pops, rank, m.cfg.allocation.hi_adjustment)
        return make_plan(env, w)

    def voter_proposals(self, voters: list[Seat], envelope: np.ndarray, forum: Belief) -> np.ndarray:
        """Every voter's :meth:`proposal` from its :meth:`working_belief` (``nhs`` for the ICB), as
        one (voters, neighbourhoods, domains) array, with the arithmetic done for all voters at
        once: element by element the same operations on the same numbers as voter by voter (each
        voter's column sums are its own rows added in order, as numpy adds them for one plan)."""
        m = self.model
        a = m.cfg.allocation
        prefs = np.stack([self._preferences(s) for s in voters])
        envs = shift_stacked(envelope, prefs, [self._mh_floor(s.label == "icb") for s in voters])
        rank, pops = self._areas()
        if a.rule == "per_head":  # need-blind: beliefs play no part
            weights = np.broadcast_to(area_weights(a.rule, forum, pops, rank, a.hi_adjustment), (len(voters), *forum.visible.shape))
            return stacked_plans(envs, weights)
        own = [self._own_belief(s) for s in voters]
        own_log = np.stack([b.log_visible() for b in own])
        own_hidden = np.stack([b.hidden for b in own])
        labels = [s.label for s in voters]
        rows = self._indexed()._voter_idx if voters == self._voters else [self.trust.index(k) for k in labels]
        w = self.listening_weights(labels, rows)[:, None, None]
        visible = np.exp((1.0 - w) * own_log + w * forum.log_visible())
        heard = w * forum.hidden
        if m.cfg.interests.enabled:
            for k, s in enumerate(voters):
                if s.org.kind == "council":  # as in working_belief
                    heard[k] = heard[k] * (1.0 - m.cfg.interests.council_visible_bias)
        weights = area_weights(a.rule, Belief(visible, np.maximum(own_hidden, heard)), pops, rank, a.hi_adjustment)
        return stacked_plans(envs, weights)

    def money_held(self, seat: Seat) -> float:
        """Money a member brings to the table (votes under the budget-weighted rule)."""
        m = self.model
        if seat.label == "icb":
            return float(m.finance.pot_envelope[self.place].sum() + 1.0)
        if seat.label == "council":
            return float(m.finance.council_envelope[self.place].sum() + 1.0)
        spend = m.place_spend_by_domain[self.place]
        return float(sum(spend[k] for k in seat.org.own_domains) + 1.0)

    def signoff_months(self) -> int:
        """Months between agreement and the plan taking effect: a statutory body whose money is in
        the pot but which has no hand in the plan signs it off through its own governance (its
        board for pooled council money; the ICB's assurance for delegated NHS money it neither
        votes on nor has placed under contract, since a contract already fixes what the holder may
        do with it); bodies sign off in parallel. An advisory view binds no money."""
        if not self.structure.binding:
            return 0
        m = self.model
        nhs = m.finance.pot_nhs[self.place].sum() > 0
        council = (m.finance.pot_envelope[self.place].sum() - m.finance.pot_nhs[self.place].sum()) > 0
        unsigned = (nhs and not self.controls("icb") and not self.contracted) or (council and not self.controls("council"))
        return m.cfg.decision.signoff_months if unsigned else 0

    def meeting_envelope(self) -> np.ndarray:
        """The money a decision meeting divides: the pot; beside an advisory table, the pot and the
        council's whole budget (the shared view covers both)."""
        fin = self.model.finance
        return fin.pot_envelope[self.place] + (0.0 if self.structure.binding else fin.council_envelope[self.place])

    def meet(self, month_of_year: int, proposals: np.ndarray | None = None) -> Outcome | None:
        """A decision meeting: share information, propose, decide (or deadlock), and update trust.

        ``proposals``: the voters' :meth:`voter_proposals` for this meeting when already worked out
        (for every table meeting this month at once, :func:`meeting_proposals`; every table's
        whole meeting: :func:`hold_meetings`)."""
        business = self._business(proposals)
        if business is None:
            return None
        return self._conclude(month_of_year, business, decide_all([business.agenda])[0])

    def _business(self, proposals: np.ndarray | None = None) -> _Business | None:
        """The meeting up to its decision: the meeting is held, and the voters' proposals, votes
        and tolerances tabled (None when a binding table has no money to decide)."""
        m = self.model
        self._held_meeting()
        voters = self.voters
        binding = self.structure.binding
        envelope = self.meeting_envelope()
        if envelope.sum() <= 0 and binding:
            return None
        # each voter proposes from its own view after listening to the table (voices inform the
        # pooled view; only voters table proposals)
        if proposals is None:
            proposals = self.voter_proposals(voters, envelope, self.forum_belief())
        raw = proposals
        if self.concession > 0 and len(voters) > 1:
            proposals = (1.0 - self.concession) * proposals + self.concession * proposals.mean(axis=0)
        rule = self.settings.decision_rule
        if rule == "weighted":
            votes = np.array([self.money_held(s) for s in voters])
        else:
            votes = np.array([s.votes for s in voters])
        setter = 0  # the pot holder opens: seated first under every form (ICB; the SRO; the lead)
        seat_idx = self._indexed()._voter_idx
        tolerance = self._tolerance_of(int(seat_idx[setter]), seat_idx)
        if binding:  # a voter answers for its own money in a binding pot (an advisory view binds none)
            pot, nhs = envelope.sum(), m.finance.pot_nhs[self.place].sum()
            own = np.array([nhs if s.label == "icb" else pot - nhs if s.label == "council" else 0.0 for s in voters]) / pot
            tolerance = tolerance * (1.0 - m.cfg.decision.stake_aversion * own)
        keys = outside = None
        if self.sources:  # seats whose proposals come from outside (the workshop's human seats)
            raw, tolerance, keys, outside = self._ask_sources(voters, raw, tolerance, envelope)
            proposals = raw
            if self.concession > 0 and len(voters) > 1:
                proposals = (1.0 - self.concession) * proposals + self.concession * proposals.mean(axis=0)
        moderation = m.cfg.decision.independent_chair_moderation if self.settings.chair == "independent" else 0.0
        # a failed meeting tabled every amendment up to the coalition's mean (Outcome.compromise = 1);
        # the setter does not withdraw it at a later meeting of the year (monotonic concession)
        start = 1.0 if self.year.deadlocks else 0.0
        agenda = Agenda(proposals, votes, setter, rule, tolerance, moderation, m.cfg.decision.supermajority, reference=raw, start=start)
        return _Business(agenda, voters, seat_idx, keys, outside)

    def _conclude(self, month_of_year: int, business: _Business, out: Outcome) -> Outcome:
        """The meeting after its decision ``out``: the record and the plan (:meth:`_settle`),
        trust, and conduct judged. A decision builds trust between each voter who accepted it and
        the setter (both ways) and erodes an overruled voter's trust in the setter (about
        ``trust.loss_ratio`` times faster); the meeting's small win follows. A failed meeting
        strains relations with the side that blocked it: every other voter's trust in each
        rejecter suffers a violation of weight :data:`STRAIN`. :func:`conclude_all` concludes many
        tables at once."""
        if self.sources:
            m, voters, agenda = self.model, business.voters, business.agenda
            record = MeetingRecord(m.month, self.place, tuple(s.label for s in voters), business.outside, agenda.reference,
                                   agenda.tolerance, out.decided, out.accepted, out.compromise, out.plan, business.keys)
            for source in {id(v): v for v in self.sources.values()}.values():
                source.heard(record)
        self._settle(month_of_year, out)
        seat_idx = business.seat_idx
        if out.decided:
            s_idx = seat_idx[business.agenda.setter]
            # each voter's own pair of cells with the setter: all of them updated at once
            others = seat_idx != s_idx
            agreed, overruled = seat_idx[others & out.accepted], seat_idx[others & ~out.accepted]
            if agreed.size:
                self.trust.success(agreed, s_idx)
                self.trust.success(s_idx, agreed)
            if overruled.size:
                self.trust.violation(overruled, s_idx)
            self._small_win()
        else:
            for i in seat_idx[~out.accepted]:
                self.trust.violation(seat_idx[seat_idx != i], i, weight=STRAIN)
        self._judge_conduct()
        return out

    def _settle(self, month_of_year: int, out: Outcome) -> None:
        """What a meeting's decision ``out`` does besides trust: the year's record (decided, the
        delay to the plan taking effect, deadlocks), the power imbalance, the concession the
        setter makes after a failed meeting, and the plan: an advisory table's shared view, or a
        binding plan signed off (and in force when it needs no sign-off). Reads and writes no
        trust."""
        if out.decided:
            self.year.decided = True
            self.year.failed_last = False
            delay = min(month_of_year + self.signoff_months(), 12)
            self.year.delay = delay
            self.delays.append(delay)
            self.power_imbalance.append(out.power_imbalance)
            self.concession = 0.0
            if not self.structure.binding:
                self.shared_view = out.plan
            else:
                self.signing = (delay, out.plan)
                self.take_effect(month_of_year)
        else:
            self.year.deadlocks += 1
            self.year.failed_last = True
            self.deadlocks_total += 1
            self.concession += self.model.cfg.decision.concession * (1.0 - self.concession)

    def _ask_sources(self, voters: list[Seat], raw: np.ndarray, tolerance: np.ndarray, envelope: np.ndarray):
        """Replace the proposals and tolerances of seats with a proposal source by their submissions
        (a source answering None leaves the seat to its agent). Returns the proposals, tolerances,
        the request keys and which seats' proposals came from outside."""
        raw, tolerance = raw.copy(), tolerance.copy()
        keys, outside = [], []
        for i, s in enumerate(voters):
            key = (int(self.model.month), int(self.place), s.label, int(self.year.meetings))
            keys.append(key)
            source = self.sources.get(s.label)
            sub = None
            if source is not None:
                request = SeatRequest(key, envelope.copy(), raw[i].copy(), float(tolerance[i]), seat_view(self, s.label, envelope))
                sub = source.propose(request)
            outside.append(sub is not None)
            if sub is None:
                continue
            raw[i] = sub.plan
            if sub.tolerance is not None:
                tolerance[i] = sub.tolerance
        return raw, tolerance, tuple(keys), tuple(outside)

    def review(self, money: PlaceMoney | None = None) -> None:
        """A meeting with no decision left to take this year: the partners talk and see whether
        the bodies spending their own money beside the table kept to what was agreed (``money``:
        this month's :class:`PlaceMoney` when several tables review together, :func:`review_all`)."""
        self._held_meeting()
        self._small_win()
        self._judge_conduct(money)

    def take_effect(self, month_of_year: int) -> bool:
        """A signed-off plan becomes the pot's plan in its month; True when it did this month."""
        if self.signing is None or month_of_year < self.signing[0]:
            return False
        self.pot_plan = self.signing[1]
        self.signing = None
        return True

    def _tolerance(self, setter: str, labels: list[str]) -> np.ndarray:
        """Each member's tolerance of a plan tabled by ``setter``: grows with its trust in it."""
        return self._tolerance_of(self.trust.index(setter), np.array([self.trust.index(k) for k in labels], dtype=np.intp))

    def _tolerance_of(self, j: int, rows: np.ndarray) -> np.ndarray:
        """:meth:`_tolerance` by trust index: the members in ``rows`` judging member ``j``."""
        d = self.model.cfg.decision
        return d.tolerance + d.tolerance_trust * self.trust.matrix[rows, j]

    def _held_meeting(self) -> None:
        self.meetings_total += 1
        self.year.meetings += 1

    def _small_win(self) -> None:
        """A meeting that concludes its business (a decision reached, or a review of a plan in
        force) is a small win built by dialogue (Ansell and Gash 2008): each pair of seats gains
        ``trust.dialogue`` of a success. A failed meeting earns none."""
        n = len(self.seats)
        if n > 1 and self.model.cfg.trust.dialogue > 0:
            self.trust.success_all(weight=self.model.cfg.trust.dialogue)

    def own_money_planners(self) -> list[tuple[str, np.ndarray]]:
        """Bodies that plan money of their own beside the table, with their envelopes: the council
        (the money it does not pool); beside an advisory table also the ICB's place team (the pot)."""
        m = self.model
        bodies = [("council", m.finance.council_own_envelope(self.place))]
        if not self.structure.binding:
            bodies.append(("icb", m.finance.pot_envelope[self.place]))
        return bodies

    def reference_plan(self) -> np.ndarray | None:
        """The table's plan in force, which bodies planning their own money align with."""
        if not self.structure.binding:
            return self.shared_view if self.shared_view is not None else self.last_shared_view
        return self.pot_plan if self.pot_plan is not None else self.last_pot_plan

    @staticmethod
    def aligned_target(reference: np.ndarray, own: np.ndarray, env: np.ndarray) -> np.ndarray:
        """The reference plan's distribution across neighbourhoods within each domain, applied to a
        body's own envelope (domains the reference does not fund keep the body's own distribution)."""
        col = reference.sum(axis=0)
        if (col > 0).all():  # every domain funded: the division below with nothing left out
            return reference / col * env[None, :]
        dist = np.divide(reference, col, out=np.zeros(reference.shape), where=col > 0)
        target = dist * env[None, :]
        empty = col <= 0
        if empty.any():
            target[:, empty] = own[:, empty]
        return target

    def _judge_conduct(self, money: PlaceMoney | None = None) -> None:
        """Kept or broken agreements: each seated statutory body with money (the ICB, the council)
        is judged by every other member on whether its money follows the table's plan. Money in a
        binding pot follows it by construction; money a body plans itself beside the table drifts
        from it as far as the body leans away. A body keeps the agreement when the drift of its
        money as a whole stays within the judging member's tolerance (the tolerance it would give
        a proposal from that body); kept is a success, broken a violation. So a pooled pot leaves
        nothing to break, and aligned budgets that drift apart erode trust in the drifting body.

        ``money``: every place's pot and council money this month (:class:`PlaceMoney`); worked
        out for this place when None. :func:`review_all` judges many tables at once."""
        judged = self._conduct(money)
        if not judged:
            return
        ix = self._indexed()
        matrix = self.trust.matrix
        for key, drift in judged:
            j = self.trust.index(key)
            others = ix._others[key]
            # TrustNetwork.success of those who judge it kept, .violation of the rest, element by
            # element the same arithmetic (none of them is ``key``: the diagonal stays 1)
            matrix[others, j] = _judged(matrix[others, j], drift, self.model.cfg.decision, self.trust.cfg)

    def _conduct(self, money: PlaceMoney | None = None) -> list[tuple[str, float]]:
        """The bodies :meth:`_judge_conduct` judges (``"icb"`` before ``"council"``), each with the
        drift of its money as a whole from the table's plan (:meth:`_drift` of the money it plans
        itself, weighted by that money's share of its money): empty when there is nothing to
        judge. Reads no trust. :func:`_conduct_all` works it out for many tables at once."""
        reference, bodies = self._conduct_terms(money)
        return [(key, 0.0 if plan is None else self._drift(key, reference, plan, env) * outside / whole)
                for key, outside, whole, plan, env in bodies]

    def _conduct_terms(self, money: PlaceMoney | None = None) -> tuple[np.ndarray | None, list[tuple]]:
        """What :meth:`_conduct` weighs: the table's plan in force (:meth:`reference_plan`), and per
        body judged its key, the money it plans itself beside the table (GBP/yr), its money as a
        whole (that and its money in the pot), and its own plan and envelope when its drift
        counts (both None when it plans no money of its own or has no plan yet: no drift).
        ``money``: :class:`PlaceMoney` of every place, or None for this place's worked out alone."""
        reference = self.reference_plan()
        if reference is None:
            return None, []
        labels = self._labels
        if "icb" not in labels and "council" not in labels:
            return reference, []
        binding = self.structure.binding
        fin = self.model.finance
        pot, pot_total, pot_nhs, council_own, council_own_total = (
            PlaceMoney.of_place(fin, self.place) if money is None else money.at(self.place))
        bodies = []
        for key in ("icb", "council"):
            if key not in labels:
                continue
            # the money it plans itself beside the table (own_money_planners), and its money in the pot
            if key == "council":
                env = council_own
                outside = float(council_own_total)
                inside = float(pot_total - pot_nhs) if binding else 0.0
                plan = self.council_plan
            else:
                env = None if binding else pot
                outside = 0.0 if binding else float(pot_total)
                inside = 0.0 if not binding else float(pot_nhs)
                plan = self.pot_plan
            if outside + inside <= 0:
                continue
            if outside > 0 and plan is not None:
                bodies.append((key, outside, outside + inside, plan, env))
            else:
                bodies.append((key, outside, outside + inside, None, None))
        return reference, bodies

    def _conduct_cells(self, flat: np.ndarray, start: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Where this table's trust sits in ``flat`` (its network's block from ``start``,
        :meth:`TrustTables.hold <ics_sim.model.governance.trust.TrustTables.hold>`): the block's
        off-diagonal cells, and per body judged on its conduct every other member's trust in it;
        worked out again when the network, the array or the block moves."""
        held = self.__dict__.get("_cells")
        trust = self.trust
        if held is None or held[0] is not trust or held[1] is not flat or held[2] != start:
            n = trust.n
            cells = np.arange(n * n, dtype=np.intp)
            off = start + cells[cells % (n + 1) != 0]
            ix = self._indexed()
            judged = {key: start + ix._others[key] * n + trust.index(key) for key in ("icb", "council") if key in self._labels}
            held = self._cells = (trust, flat, start, off, judged)
        return held[3], held[4]

    def _drift(self, key: str, reference: np.ndarray, plan: np.ndarray, env: np.ndarray) -> float:
        """How far ``key``'s own plan is from the table's plan applied to its envelope
        (:func:`plan_distance` to :meth:`aligned_target`). Plans change a few times a year and the
        partners judge conduct at every meeting, so the last answer is kept with the bytes (and
        shapes) of what it was worked out from (:func:`_drift_inputs`), and given again while they
        are the same (the same inputs, the same number). Tables judged together
        (:func:`review_all`, :func:`conclude_all`) keep and read the same answers, and work out
        the drifts none is kept for at once (:func:`drifts`, the same numbers)."""
        inputs = _drift_inputs(reference, plan, env)
        memo = self._drift_memo.get(key)
        if memo is not None and memo[0] == inputs:
            return memo[1]
        drift = plan_distance(plan, self.aligned_target(reference, plan, env))
        self._drift_memo[key] = (inputs, drift)
        return drift

    def plan_own_budgets(self) -> None:
        """Bodies outside the pot plan their own money, informed by the table (aligned budgets).

        The council always plans its own (non-pooled) money. Beside an advisory table the ICB's
        place team also plans the delegated NHS money itself. Each leans towards the table's agreed
        plan in proportion to its trust in the other members. :func:`plan_own_budgets_all` plans
        many tables' at once."""
        forum = self.forum_belief()
        reference = self.reference_plan() if self.structure.binding else self.shared_view
        for key, env in self.own_money_planners():
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
                own = (1.0 - lean) * own + lean * self.aligned_target(reference, own, env)
            if key == "council":
                self.council_plan = own
            else:
                self.pot_plan = own

    # --- calendar -------------------------------------------------------------------------------
    def new_year(self) -> None:
        self.last_pot_plan = self.pot_plan if self.pot_plan is not None else self.last_pot_plan
        self.last_council_plan = self.council_plan if self.council_plan is not None else self.last_council_plan
        self.last_shared_view = self.shared_view if self.shared_view is not None else self.last_shared_view
        self.pot_plan = None
        self.signing = None
        self.shared_view = None if not self.structure.binding else self.shared_view
        self.year = YearRecord()
        self.concession = 0.0

    def year_end(self, improved: bool) -> None:
        """Delivery feeds back into trust: a year in which the place's unmet need fell is a shared
        success; a year in which it rose strains every relationship."""
        n = len(self.seats)
        if n < 2:
            return
        if improved:
            self.trust.success_all(weight=0.5)
        else:
            self.trust.violation_all(weight=0.25)
        if not self.year.decided:
            self.delays.append(12)

    # --- ladder of formality ----------------------------------------------------------------------
    def watch_ladder(self) -> None:
        """Optional ladder of formality (Thriving places: arrangements 'develop over time, with the
        potential to develop into more formal arrangements as working relationships and trust
        increase'): count the months mean trust has stayed above the threshold to move up (or
        below the one to fall back); once it has held for ``governance.ladder_months``, the
        partners agree the move, which takes effect with the next financial year's budgets."""
        g = self.settings.governance
        if not g.ladder or self.form not in LADDER:
            return
        t = self.mean_trust()
        pos = LADDER.index(self.form)
        if t >= g.ladder_up_trust and pos < len(LADDER) - 1:
            self.ladder_clock = max(self.ladder_clock, 0) + 1
        elif t <= g.ladder_down_trust and pos > 0:
            self.ladder_clock = min(self.ladder_clock, 0) - 1
        else:
            self.ladder_clock = 0
        if abs(self.ladder_clock) >= g.ladder_months and self.next_form is None:
            self.next_form = LADDER[pos + (1 if self.ladder_clock > 0 else -1)]

    def change_form(self) -> str | None:
        """April, before budgets are set: an agreed move up or down the ladder takes effect. Seats
        are recomputed, relationships between continuing members carry over (new members start at
        ``trust.initial``), pooling follows the new rung, and last year's plans are re-divided
        between the pot and the council in proportion to what each will hold, so the historical
        allocation continues until the new table decides."""
        if self.next_form is None:
            return None
        old_trust, was_pooled = self.trust, self.pooled
        self.form, self.next_form = self.next_form, None
        self.pooled = FORMS[self.form].pools
        self._seat()
        self.trust = TrustNetwork([s.label for s in self.seats], self.model.cfg.trust)
        keep = [k for k in self.trust.members if k in old_trust.members]
        new_i = [self.trust.index(k) for k in keep]
        old_i = [old_trust.index(k) for k in keep]
        self.trust.matrix[np.ix_(new_i, new_i)] = old_trust.matrix[np.ix_(old_i, old_i)]
        self.ladder_clock = 0
        self.shared_view = self.last_shared_view = None
        if was_pooled != self.pooled and self.last_pot_plan is not None and self.last_council_plan is not None:
            # the council's money moves into (or out of) the pot: so does its share of last year's plan
            share = self.model.cfg.finance.pooled_council_share
            moved = share * self.last_council_plan if self.pooled else self._council_part_of_pot()
            sign = 1.0 if self.pooled else -1.0
            self.last_pot_plan = self.last_pot_plan + sign * moved
            self.last_council_plan = self.last_council_plan - sign * moved
        return self.form

    def _council_part_of_pot(self) -> np.ndarray:
        """The council's pooled money in last year's pot plan: per domain, its share of the pot."""
        fin = self.model.finance
        env, nhs = fin.pot_envelope[self.place], fin.pot_nhs[self.place]
        council_share = np.divide(env - nhs, env, out=np.zeros_like(env), where=env > 0)
        return self.last_pot_plan * council_share[None, :]


@dataclass
class IntegratedCarePartnership:
    """The ICP of one system: produces the integrated care strategy (domain priorities), built
    bottom-up from place needs assessments.

    The strategy weighs its members' views by their votes: each council votes for its place's view
    of need (the place tables' pooled views), the ICB (``icp.icb_votes``) for its own system view.
    An ICB chair adds the chair's vote to the ICB's; an independent chair has no vote of its own
    ("separate chairs may help democratic representation, while the same chair may help
    co-ordination"). The assembly is built around the places' boards, so where places have
    different chairs (``place_settings``) the chair's vote counts in proportion to the share of
    the system's places an ICB chair chairs (1 with ``chair=icb`` for the whole run).
    """

    system: int
    strategy: np.ndarray | None = None
    history: list = field(default_factory=list)

    def tables(self, model) -> list[PlacePartnership]:
        """The place tables of this ICP's system, in the model's order (found once per list of
        tables: the tables themselves persist, a change of form changes them in place)."""
        held = self.__dict__.get("_tables")
        parts = model.partnerships
        if held is None or held[0] is not parts or held[1] != len(parts):
            system = model.layout.place_system.tolist()
            held = self._tables = (parts, len(parts), [p for p in parts if system[p.place] == self.system])
        return held[2]

    def votes(self, model) -> tuple[float, float]:
        """The councils' and the ICB's votes at this ICP."""
        mine = self.tables(model)
        councils = float(len(mine))
        chaired = sum(p.settings.chair == "icb" for p in mine) / len(mine)
        icb = float(model.cfg.icp.icb_votes) + chaired  # exactly 1.0 or 0.0 when every place agrees
        return councils, icb

    def refresh(self, model) -> None:
        place_view = np.zeros(N_DOMAINS)
        for p in self.tables(model):
            place_view += p.forum_belief().total.sum(axis=0)
        idx = model.layout.system_index[self.system]
        icb_view = model.icbs[self.system].belief(idx).total.sum(axis=0)
        councils, icb = self.votes(model)
        council_weight = councils / (councils + icb)
        mix = council_weight * place_view / place_view.sum() + (1.0 - council_weight) * icb_view / icb_view.sum()
        self.strategy = mix / mix.sum()
        self.history.append(self.strategy.copy())
