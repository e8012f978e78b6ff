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

import numpy as np

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


def passes(rule: str, accepted: np.ndarray, votes: np.ndarray, supermajority: float) -> bool:
    """Whether the accepting members carry the decision under ``rule``."""
    if rule == "consensus":
        return bool(accepted.all())
    share = votes[accepted].sum() / votes.sum()
    if rule == "supermajority":
        return bool(share >= supermajority - 1e-12)
    return bool(share > 0.5)  # majority, and weighted (votes already weighted by budget)


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
    """
    short = plan_distances(opening, proposals) - tolerance
    coalition = np.zeros(len(proposals), dtype=bool)
    for i in [setter, *(j for j in np.argsort(short, kind="stable") if j != setter)]:
        coalition[i] = True
        if passes(rule, coalition, votes, supermajority):
            break
    return coalition


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
    ref = proposals if reference is None else reference
    m = len(proposals)
    if rule == "lead_decides" or m == 1:
        plan = proposals[setter].copy()
        return Outcome(True, plan, np.ones(m, dtype=bool), 0.0, _imbalance(plan, ref, setter))
    centre = proposals.mean(axis=0)
    opening = (1.0 - moderation) * proposals[setter] + moderation * centre
    coalition = winning_coalition(opening, proposals, votes, setter, rule, tolerance, supermajority)
    target = proposals[coalition].mean(axis=0)
    accepted = np.zeros(m, dtype=bool)
    # every amendment still open, and each member's distance from each, in one pass
    lams = STEPS[STEPS >= start - 1e-9]
    cands = (1.0 - lams)[:, None, None] * opening + lams[:, None, None] * target
    dists = plan_distances(cands[:, None], proposals[None])  # amendments x members
    for k, lam in enumerate(lams):
        accepted = dists[k] <= tolerance
        accepted[setter] = True  # the setter backs every paper it tables
        if passes(rule, accepted, votes, supermajority):
            cand = cands[k].copy()
            return Outcome(True, cand, accepted, float(lam), _imbalance(cand, ref, setter), coalition)
    return Outcome(False, None, accepted, 1.0, 0.0, coalition)


def _imbalance(plan: np.ndarray, proposals: np.ndarray, setter: int) -> float:
    d = plan_distances(plan, proposals)
    keep = np.ones(len(d), dtype=bool)
    keep[setter] = False
    others = d[keep]  # every member but the setter, in order
    if others.size == 0:
        return 0.0
    num = others.mean() - d[setter]
    den = others.mean() + d[setter]
    return float(num / den) if den > 1e-12 else 0.0
