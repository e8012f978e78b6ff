"""Seats whose proposals come from outside the model: the hybrid human/agent table (issue 16).

A voting seat at a place table tables a proposal (a plan: GBP/yr per neighbourhood and care
domain) and accepts every candidate within its tolerance of that proposal
(:mod:`ics_sim.model.governance.decisions`). By default both come from the seat's agent. A
*proposal source* registered for a seat (:attr:`PlacePartnership.sources
<ics_sim.model.governance.partnership.PlacePartnership.sources>`) is asked first at each meeting:
it sees a :class:`SeatRequest` (what the organisation sees, and what its agent would table) and
returns a :class:`Submission` (its own plan and, optionally, its own tolerance) or None, which
leaves the seat to its agent. The submission then goes through exactly the path an agent's
proposal does: the concession after a failed meeting, the agenda setter's opening and amendments,
acceptance within tolerance, the decision rule and the trust updates. Nothing else changes, so a
source that submits what the agent would have tabled reproduces the all-agent run bit for bit
(``tests/test_workshop_hybrid.py``).

:func:`seat_view` is what a seat sees, as plain data: the organisation's own estimate of need
(with its observation error and reach into hidden need), its view after listening to the table,
its budget, the integrated care strategy, and its trust in the others. Never the true state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ics_sim.domains import DOMAINS


@dataclass(frozen=True)
class SeatRequest:
    """A meeting asks a seat for its proposal.

    Attributes:
        key: ``(month, place, seat label, meeting of the year)``: the same meeting of the same run
            gives the same key, so an answer can be stored and replayed.
        envelope: the money the table divides, GBP/yr per domain.
        default_plan: what the seat's agent would table (neighbourhoods x domains, GBP/yr).
        default_tolerance: the largest share of the plan the agent would accept moving.
        view: :func:`seat_view` for this seat (plain data).
    """

    key: tuple[int, int, str, int]
    envelope: np.ndarray
    default_plan: np.ndarray
    default_tolerance: float
    view: dict[str, Any]


@dataclass(frozen=True)
class Submission:
    """A seat's answer: its plan, and optionally its tolerance (None: the agent's own).

    A tolerance of 0 accepts only its own plan; 1 accepts anything the chair tables.
    """

    plan: np.ndarray
    tolerance: float | None = None


@dataclass(frozen=True)
class MeetingRecord:
    """One decision meeting at a table with a proposal source: who tabled what, who accepted."""

    month: int
    place: int
    labels: tuple[str, ...]
    from_source: tuple[bool, ...]
    proposals: np.ndarray
    tolerance: np.ndarray
    decided: bool
    accepted: np.ndarray
    compromise: float
    plan: np.ndarray | None
    keys: tuple[tuple, ...] = field(default=())


class ProposalSource(Protocol):
    """Where a seat's proposal comes from when not from its agent."""

    def propose(self, request: SeatRequest) -> Submission | None:
        """The seat's submission, or None to leave this meeting's proposal to the agent."""

    def heard(self, record: MeetingRecord) -> None:
        """Called once per meeting after the decision (for a decision log)."""


def seat_view(part, label: str, envelope: np.ndarray | None = None) -> dict[str, Any]:
    """What the organisation in seat ``label`` at ``part``'s table sees, as plain data.

    Keys: ``place``, ``seat``, ``role`` (vote or voice), ``organisation``, ``month``,
    ``neighbourhoods`` (population ids), ``domains``, ``own_estimate`` (its own estimate of need,
    GBP/yr per neighbourhood and domain, visible plus the hidden need it reaches),
    ``hidden_seen`` (the part of it that is hidden need), ``working_estimate`` (after listening
    to the table), ``listening_weight``, ``budget`` (the envelope the table divides per domain,
    GBP/yr), ``money_held`` (GBP/yr this body brings), ``strategy`` (the ICP's domain priorities,
    shares), and ``trust`` (its trust in each other member, 0..1).
    """
    seat = next(s for s in part.seats if s.label == label)
    m = part.model
    own = seat.org.belief(part.idx)
    working = part.working_belief(seat, part.forum_belief())
    if envelope is None:
        envelope = m.finance.pot_envelope[part.place]
    icp = next((i for i in m.icps if i.system == int(m.layout.place_system[part.place])), None)
    strategy = icp.strategy if icp is not None and icp.strategy is not None else None
    row = part.trust.matrix[part.trust.index(label)]
    trust = {k: float(row[part.trust.index(k)]) for k in part.trust.members if k != label}
    return {
        "place": int(part.place),
        "seat": label,
        "role": seat.role,
        "organisation": getattr(seat.org, "name", label),
        "month": int(m.month),
        "neighbourhoods": [int(i) for i in part.idx],
        "domains": list(DOMAINS),
        "own_estimate": own.total.tolist(),
        "hidden_seen": own.hidden.tolist(),
        "working_estimate": working.total.tolist(),
        "listening_weight": float(part.listening_weight(label)),
        "budget": [float(x) for x in envelope],
        "money_held": float(part.money_held(seat)),
        "strategy": None if strategy is None else [float(x) for x in strategy],
        "trust": trust,
    }
