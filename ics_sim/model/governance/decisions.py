"""Decision rules: how proposals become a decision, or a deadlock (MODEL.md sections 4, 6.4).

The meeting follows an agenda-setter model (Romer and Rosenthal 1978; Baron and Ferejohn 1989): the
holder of the place budget (the ICB, the SRO or the lead provider) opens with its own proposal,
pulled towards the members' mean by an independent chair. If the opening is not carried, the setter
amends it step by step towards the proposals of the members whose votes it needs: the *cheapest
winning coalition* under the decision rule (itself plus the members nearest to accepting, added
until their votes would carry the rule; Baron and Ferejohn 1989, Riker 1962). A member accepts a
candidate within its tolerance of its own proposal, and tolerance grows with trust in the proposer.
A compromise once tabled is not withdrawn: a later meeting of the same year starts from the
furthest amendment already offered (the monotonic concession protocol, Rosenschein and Zlotkin 1994).

Because a simple majority needs fewer, and nearer, members than a supermajority, and consensus
needs all, the rule decides *whose* views the decision moves towards, and how far it moves from
the setter's: power imbalance *emerges* from the rule (Choi and Robertson 2014), as delay does from
low trust (Ansell and Gash 2008). Under consensus the coalition is the whole table, so the amendment
heads for the members' mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ics_sim.grouped import Runs
from ics_sim.model.governance.allocation import plan_distances

STEPS = np.linspace(0.0, 1.0, 11)


@dataclass
class Outcome:
    """Result of one meeting's attempt to decide."""

    decided: bool
    plan: np.ndarray | None
    accepted: np.ndarray  # which voting members accepted the final candidate
    compromise: float  # how far the decision moved from the setter's opening towards the coalition (0..1)
    power_imbalance: float  # (mean distance of others - distance of setter) / sum; 0 = even
    coalition: np.ndarray | None = None  # the members whose votes the setter courted


@dataclass
class Agenda:
    """One table's business for :func:`decide_all`: the arguments of :func:`decide`."""

    proposals: np.ndarray
    votes: np.ndarray
    setter: int
    rule: str
    tolerance: np.ndarray
    moderation: float
    supermajority: float
    reference: np.ndarray | None = None
    start: float = 0.0


def passes(rule: str, accepted: np.ndarray, votes: np.ndarray, supermajority: float) -> bool:
    """Whether the accepting members carry the decision under ``rule``."""
    if rule == "consensus":
        return bool(accepted.all())
    share = votes[accepted].sum() / votes.sum()
    if rule == "supermajority":
        return bool(share >= supermajority - 1e-12)
    return bool(share > 0.5)  # majority, and weighted (votes already weighted by budget)


def _carried(rule: str, accepted: np.ndarray, votes: np.ndarray, supermajority: float) -> np.ndarray:
    """:func:`passes` of each set of accepting members in ``accepted`` (tables x sets x members;
    ``votes`` tables x members), the same answers. Whole-numbered votes (a seat's one or two) add
    up exactly in any order, so each set's share is the one :func:`passes` works out; other votes
    (weighted by budget) are counted set by set as :func:`passes` counts them."""
    if rule == "consensus":
        return accepted.all(axis=-1)
    total = votes.sum(axis=-1)
    if not (np.all(total < 2.0**53) and np.array_equal(votes, np.floor(votes))):
        return np.array([[passes(rule, a, v, supermajority) for a in sets] for sets, v in zip(accepted, votes, strict=True)],
                        dtype=bool).reshape(accepted.shape[:-1])
    share = (accepted * votes[:, None, :]).sum(axis=-1) / total[:, None]
    if rule == "supermajority":
        return share >= supermajority - 1e-12
    return share > 0.5


def _first(carried: np.ndarray, default: int) -> np.ndarray:
    """Per row, the first column that is True (``default`` where none is)."""
    return np.where(carried.any(axis=1), carried.argmax(axis=1), default)


def winning_coalition(
    opening: np.ndarray,
    proposals: np.ndarray,
    votes: np.ndarray,
    setter: int,
    rule: str,
    tolerance: np.ndarray,
    supermajority: float,
) -> np.ndarray:
    """The setter and the members nearest to accepting its opening, added one by one until their
    votes would carry ``rule`` (all members under consensus).

    "Nearest to accepting" is the distance of a member's proposal from the opening less its
    tolerance: the amendment each would need. Ties keep the seat order.

    Also for several tables at once: ``opening`` (tables, neighbourhoods, domains), ``proposals``
    (tables, members, ...), ``votes`` and ``tolerance`` (tables, members) give each table's
    coalition (tables, members). Every coalition on the way is counted at once (:func:`_carried`);
    the first that carries is the one.
    """
    if proposals.ndim == 3:
        return winning_coalition(opening[None], proposals[None], votes[None], setter, rule, tolerance[None], supermajority)[0]
    return _coalitions(plan_distances(opening[:, None], proposals) - tolerance, votes, setter, rule, supermajority)


def _coalitions(short: np.ndarray, votes: np.ndarray, setter: int, rule: str, supermajority: float) -> np.ndarray:
    """Each table's :func:`winning_coalition` from ``short`` (tables, members): each member's
    distance from the opening less its tolerance."""
    tables, m = short.shape
    order = np.argsort(short, axis=1, kind="stable")
    order = np.concatenate([np.full((tables, 1), setter), order[order != setter].reshape(tables, m - 1)], axis=1)
    grown = np.zeros((tables, m, m), dtype=bool)  # [t, k]: the setter and the k nearest after it
    grown[np.arange(tables)[:, None, None], np.arange(m)[None, :, None], order[:, None, :]] = np.tri(m, dtype=bool)
    k = _first(_carried(rule, grown, votes, supermajority), m - 1)
    return grown[np.arange(tables), k]


def decide(
    proposals: np.ndarray,
    votes: np.ndarray,
    setter: int,
    rule: str,
    tolerance: np.ndarray,
    moderation: float,
    supermajority: float,
    reference: np.ndarray | None = None,
    start: float = 0.0,
) -> Outcome:
    """Turn voting members' proposals into a decision.

    Args:
        proposals: (members, neighbourhoods, domains) plans of the voting members.
        votes: votes per member (budget-weighted for the ``weighted`` rule).
        setter: index of the agenda setter (the pot holder).
        rule: consensus | majority | supermajority | weighted | lead_decides.
        tolerance: per member, the largest plan distance it accepts (grows with trust).
        moderation: how far an independent chair pulls the opening towards the mean (0 = ICB chair).
        supermajority: threshold share of votes.
        reference: members' proposals before any concessions, against which power imbalance is
            measured (default: ``proposals``).
        start: the furthest amendment (0..1 along the path from the opening to the coalition's
            mean) already tabled at an earlier meeting this year; the setter does not withdraw it.
    """
    agenda = Agenda(proposals, votes, setter, rule, tolerance, moderation, supermajority, reference, start)
    return decide_all([agenda])[0]


def decide_all(agendas: list[Agenda]) -> list[Outcome]:
    """:func:`decide` of each agenda (tables of one model meeting this month), the same outcomes:
    tables with the same number of members, the same rule and setter and the same amendments
    still open decide as one stack, whatever their number of neighbourhoods. Element by element
    it is the arithmetic of one table alone: each plan's sums add its own cells as numpy adds that
    plan alone (the plans laid end to end, :func:`~ics_sim.model.governance.allocation.plan_distances`
    with runs), and a mean over the members (or the coalition) adds their plans in seat order
    (with the others' as 0.0: ``x + 0.0`` is ``x``)."""
    out: list[Outcome | None] = [None] * len(agendas)
    stacks: dict[tuple, list[int]] = {}
    for i, a in enumerate(agendas):
        m = len(a.proposals)
        if a.rule == "lead_decides" or m == 1:
            plan = a.proposals[a.setter].copy()
            ref = a.proposals if a.reference is None else a.reference
            out[i] = Outcome(True, plan, np.ones(m, dtype=bool), 0.0, float(_imbalances(plan[None], ref[None], a.setter)[0]))
            continue
        lams = int((STEPS >= a.start - 1e-9).sum())
        stacks.setdefault((m, a.proposals.shape[2:], a.rule, a.setter, lams, a.supermajority), []).append(i)
    for (_, _, rule, setter, lams, supermajority), which in stacks.items():
        which = sorted(which, key=lambda i: agendas[i].proposals.shape[1])  # the plans of one size together
        for i, outcome in zip(which, _decide_stack([agendas[i] for i in which], rule, setter, STEPS[len(STEPS) - lams :], supermajority), strict=True):
            out[i] = outcome
    return out


def _decide_stack(agendas: list[Agenda], rule: str, setter: int, lams: np.ndarray, supermajority: float) -> list[Outcome]:
    """:func:`decide` of tables with the same number of members, one rule and setter and the same
    amendments ``lams`` still open, in order of their number of neighbourhoods. Every plan is laid
    end to end along the last axis (its cells: neighbourhood by neighbourhood, domain by domain),
    the members' plans one row each."""
    cells = [a.proposals[0].size for a in agendas]
    runs = _cell_runs(tuple(cells))
    per_cell = np.repeat(np.arange(len(agendas)), cells)  # each cell's table
    m = len(agendas[0].proposals)
    proposals = np.concatenate([a.proposals.reshape(m, -1) for a in agendas], axis=1)  # members x cells
    votes = np.stack([a.votes for a in agendas])
    tolerance = np.stack([a.tolerance for a in agendas])
    moderation = np.array([a.moderation for a in agendas], dtype=float)[per_cell]
    tables = len(agendas)
    centre = proposals.mean(axis=0)
    opening = (1.0 - moderation) * proposals[setter] + moderation * centre
    coalition = _coalitions(plan_distances(opening, proposals, runs).T - tolerance, votes, setter, rule, supermajority)
    courted = coalition.T[:, per_cell]  # members x cells
    target = np.where(courted, proposals, 0.0).sum(axis=0) / coalition.sum(axis=1)[per_cell]
    # every amendment still open, each member's distance from each, and which carry; the first
    # that carries is tabled (the setter backs every paper it tables). Most tables carry the
    # opening: the later amendments are weighed only at the tables where it failed (their
    # distances are the same numbers, each plan's sums its own)
    cands = (1.0 - lams)[:, None] * opening + lams[:, None] * target  # amendments x cells
    accepted = np.zeros((tables, len(lams), m), dtype=bool)  # tables x amendments x members
    carried = np.zeros((tables, len(lams)), dtype=bool)
    accepted[:, :1] = _accepting(cands[:1], proposals, tolerance, setter, runs)
    carried[:, :1] = _carried(rule, accepted[:, :1], votes, supermajority)
    failed = np.flatnonzero(~carried[:, 0])
    if len(lams) > 1 and len(failed):
        at = np.flatnonzero(np.isin(per_cell, failed))
        later = _accepting(cands[1:, at], proposals[:, at], tolerance[failed], setter, _cell_runs(tuple(cells[t] for t in failed.tolist())))
        accepted[failed, 1:] = later
        carried[failed, 1:] = _carried(rule, later, votes[failed], supermajority)
    decided = carried.any(axis=1)
    k = _first(carried, len(lams) - 1)
    plans = cands[k[per_cell], np.arange(len(per_cell))]
    imbalance = np.zeros(tables)
    if decided.any():
        refs = np.concatenate([(a.proposals if a.reference is None else a.reference).reshape(m, -1) for a in agendas], axis=1)
        imbalance[decided] = _imbalance_of(plan_distances(plans, refs, runs).T, setter)[decided]
    out = []
    starts = (np.cumsum(cells) - cells).tolist()
    for t, a in enumerate(agendas):
        if decided[t]:
            plan = plans[starts[t] : starts[t] + cells[t]].reshape(a.proposals.shape[1:]).copy()
            out.append(Outcome(True, plan, accepted[t, k[t]].copy(), float(lams[k[t]]), float(imbalance[t]), coalition[t].copy()))
        else:
            last = accepted[t, -1].copy() if len(lams) else np.zeros(m, dtype=bool)
            out.append(Outcome(False, None, last, 1.0, 0.0, coalition[t].copy()))
    return out


def _accepting(cands: np.ndarray, proposals: np.ndarray, tolerance: np.ndarray, setter: int, runs: Runs) -> np.ndarray:
    """Which members accept each amendment (tables x amendments x members): those whose own
    proposal is within their tolerance of it, and the setter. ``cands`` (amendments x cells) and
    ``proposals`` (members x cells) are the tables' plans laid end to end (``runs``)."""
    accepted = plan_distances(cands[:, None], proposals, runs).transpose(2, 0, 1) <= tolerance[:, None, :]
    accepted[:, :, setter] = True
    return accepted


@lru_cache(maxsize=32)
def _cell_runs(cells: tuple[int, ...]) -> Runs:
    """Runs of the given numbers of cells laid end to end (the same tables meet month after month)."""
    ends = np.cumsum(cells).tolist()
    return Runs([np.arange(e - c, e) for e, c in zip(ends, cells, strict=True)])


def _imbalances(plans: np.ndarray, proposals: np.ndarray, setter: int) -> np.ndarray:
    """Per table, the power imbalance of its ``plans`` row against its members' ``proposals``
    (:func:`_imbalance_of` their distances)."""
    return _imbalance_of(plan_distances(plans[:, None], proposals), setter)


def _imbalance_of(d: np.ndarray, setter: int) -> np.ndarray:
    """Per table, the power imbalance of a plan whose distances from its members' proposals are
    ``d`` (tables x members): (the mean distance of the others' proposals - the setter's) / their
    sum; 0 with no other member."""
    if d.shape[1] < 2:
        return np.zeros(len(d))
    others = np.delete(d, setter, axis=1)  # every member but the setter, in order
    mean = others.sum(axis=1) / others.shape[1]  # each row's mean, as numpy's mean divides it
    num = mean - d[:, setter]
    den = mean + d[:, setter]
    return np.where(den > 1e-12, num / np.where(den > 1e-12, den, 1.0), 0.0)
