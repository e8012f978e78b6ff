"""Trust between partners (MODEL.md section 6.7).

Trust builds with agreement, delivery and small wins (Ansell and Gash 2008), erodes faster than it
builds — a violation costs about ``loss_ratio`` times what a success earns (Slovic 1993) — and slowly
returns towards a baseline.

Every update moves trust a *share of the distance to a bound*, so trust stays in [0, 1] for every
parameter value the schema allows, by the form of the update rather than by a clip:

- a success of weight ``w`` closes a share ``1 - (1 - gain)^w`` of the gap to 1;
- a violation of weight ``w`` removes a share ``1 - (1 - gain)^(loss_ratio w)`` of the trust held:
  ``loss_ratio`` successive losses of the size of a success, compounded (so at small ``gain`` it
  costs almost exactly ``loss_ratio`` times a success, and at ``gain = 1`` it removes all trust);
- the monthly return closes a share ``reversion`` of the gap to the baseline.

Each share lies in [0, 1] whenever ``gain``, ``reversion`` and the baseline do, so no sequence of
events can leave [0, 1].
"""

from __future__ import annotations

import operator
from itertools import repeat

import numpy as np

from ics_sim.config.schema import TrustConfig

_BASE = operator.attrgetter("matrix.base")  # a network's matrix's base array


def success_share(gain: float, weight: float | np.ndarray = 1.0) -> float | np.ndarray:
    """Share of the gap to full trust that a success of ``weight`` closes."""
    return 1.0 - (1.0 - gain) ** weight


def violation_share(gain: float, loss_ratio: float, weight: float | np.ndarray = 1.0) -> float | np.ndarray:
    """Share of the trust held that a violation of ``weight`` removes."""
    return 1.0 - (1.0 - gain) ** (loss_ratio * weight)


def _unit(weight) -> bool:
    """Whether ``weight`` is the plain float 1.0 (the share is then worked out already)."""
    return weight.__class__ is float and weight == 1.0


class TrustNetwork:
    """Directed trust among the members of one partnership: ``matrix[i, j]`` is i's trust in j.

    ``matrix`` may be a view into a block of a :class:`TrustTables` array (every place table's
    trust in one array, relaxed in one operation); updates write into it in place.
    """

    def __init__(self, members: list[str], cfg: TrustConfig):
        self.members = list(members)
        self._pos = {name: k for k, name in enumerate(self.members)}
        self.cfg = cfg
        n = len(members)
        self.n = n
        self._bind(np.full((n, n), cfg.initial))
        np.fill_diagonal(self.matrix, 1.0)
        # what a success or violation of weight 1 moves (the common case), worked out once
        self._success_1 = success_share(cfg.gain, 1.0)
        self._violation_1 = violation_share(cfg.gain, cfg.loss_ratio, 1.0)

    def _bind(self, matrix: np.ndarray) -> None:
        """Hold trust in ``matrix`` (n x n, C-ordered)."""
        self.matrix = matrix

    def _unit_diagonal(self) -> None:
        """Self-trust is always 1."""
        self.matrix.flat[:: self.n + 1] = 1.0

    def index(self, name: str) -> int:
        return self._pos[name]

    def success(self, i: int | np.ndarray, j: int | np.ndarray, weight: float | np.ndarray = 1.0) -> None:
        """i's trust in j grows after an agreement, a kept promise or a small win."""
        share = self._success_1 if _unit(weight) else success_share(self.cfg.gain, weight)
        t = self.matrix[i, j]
        self.matrix[i, j] = t + share * (1.0 - t)
        self._unit_diagonal()

    def violation(self, i: int | np.ndarray, j: int | np.ndarray, weight: float | np.ndarray = 1.0) -> None:
        """i's trust in j falls after being overruled or let down: about loss_ratio times a success."""
        share = self._violation_1 if _unit(weight) else violation_share(self.cfg.gain, self.cfg.loss_ratio, weight)
        t = self.matrix[i, j]
        self.matrix[i, j] = t - share * t
        self._unit_diagonal()

    def success_all(self, weight: float = 1.0) -> None:
        """:meth:`success` of every member in every other (the off-diagonal pairs), as one
        whole-matrix update: the diagonal is 1 either way."""
        share = self._success_1 if _unit(weight) else success_share(self.cfg.gain, weight)
        m = self.matrix
        m += share * (1.0 - m)
        self._unit_diagonal()

    def violation_all(self, weight: float = 1.0) -> None:
        """:meth:`violation` of every member in every other (the off-diagonal pairs), at once."""
        share = self._violation_1 if _unit(weight) else violation_share(self.cfg.gain, self.cfg.loss_ratio, weight)
        m = self.matrix
        m -= share * m
        self._unit_diagonal()

    def relax(self) -> None:
        """Monthly slow return towards the baseline."""
        self.matrix += self.cfg.reversion * (self.cfg.baseline - self.matrix)
        self._unit_diagonal()

    def trust_in(self, j: int) -> np.ndarray:
        """Every member's trust in member j."""
        return self.matrix[:, j]

    def outgoing_mean(self) -> np.ndarray:
        """Each member's mean trust in the others."""
        n = self.n
        if n < 2:
            return np.ones(n)
        return (self.matrix.sum(axis=1) - 1.0) / (n - 1)

    def outgoing_mean_of(self, i: int) -> float:
        """Member i's mean trust in the others: ``outgoing_mean()[i]``, the same number (numpy
        sums a row of a C-ordered matrix alone as it sums it within the matrix)."""
        n = self.n
        if n < 2:
            return 1.0
        return float((self.matrix[i].sum() - 1.0) / (n - 1))

    def mean(self) -> float:
        n = self.n
        if n < 2:
            return 1.0
        return float((self.matrix.sum() - n) / (n * (n - 1)))

    def mutual(self, a: str, b: str) -> float:
        """Mutual trust between two members: the mean of each one's trust in the other."""
        i, j = self._pos[a], self._pos[b]
        return 0.5 * float(self.matrix[i, j] + self.matrix[j, i])

    def edges(self) -> list[tuple[str, str, float]]:
        n = len(self.members)
        return [(self.members[i], self.members[j], float(self.matrix[i, j])) for i in range(n) for j in range(n) if i != j]


class TrustTables:
    """Every place table's trust matrix in one flat array, so the monthly return towards the
    baseline is one array operation for all tables rather than one per table.

    Each network's ``matrix`` becomes a view of its block (its values copied in); element by
    element the relaxation is the per-network one, so trust is bit-for-bit what it was. A table
    that changes form gets a new network (:meth:`PlacePartnership.change_form
    <ics_sim.model.governance.partnership.PlacePartnership.change_form>`): :meth:`relax` notices a
    network it does not hold, or one whose matrix is no longer a view of its array (a deep copy of
    the model, as the workshop takes before a month it may replay, copies views as separate
    arrays), and packs the array again.
    """

    def __init__(self, cfg: TrustConfig):
        self.cfg = cfg
        self._networks: list[TrustNetwork] = []
        self._flat = np.zeros(0)
        self._diagonal = np.zeros(0, dtype=np.intp)
        self._starts: dict[int, int] = {}

    def _pack(self, networks: list[TrustNetwork]) -> None:
        sizes = [net.n * net.n for net in networks]
        flat = np.empty(sum(sizes))
        diagonal, starts, start = [], {}, 0
        for net, size in zip(networks, sizes, strict=True):
            block = flat[start : start + size].reshape(net.n, net.n)
            block[...] = net.matrix
            net._bind(block)
            diagonal.append(start + np.arange(net.n) * (net.n + 1))
            starts[id(net)] = start
            start += size
        self._flat, self._networks, self._starts = flat, list(networks), starts
        self._diagonal = np.concatenate(diagonal) if diagonal else np.zeros(0, dtype=np.intp)

    def hold(self, networks: list[TrustNetwork]) -> np.ndarray:
        """Hold ``networks`` (every table's, in the model's order) in the array, packing it again
        when it does not hold exactly these (see the class docstring); returns the array. Network
        ``net``'s ``matrix`` is then ``array[start(net) : start(net) + n * n]`` as an n x n view."""
        if not self.holds(networks):
            self._pack(networks)
        return self._flat

    def holds(self, networks: list[TrustNetwork]) -> bool:
        """Whether the array holds exactly ``networks``, in this order, each matrix a view of its
        block (checked at C speed over every table)."""
        return (len(networks) == len(self._networks) and all(map(operator.is_, networks, self._networks))
                and all(map(operator.is_, map(_BASE, networks), repeat(self._flat))))

    def start(self, net: TrustNetwork) -> int:
        """Where a held network's block starts in the array (:meth:`hold`)."""
        return self._starts[id(net)]

    def relax(self, networks: list[TrustNetwork]) -> None:
        """Every network's :meth:`TrustNetwork.relax`, in one operation."""
        self.hold(networks)
        c = self.cfg
        flat = self._flat
        flat += c.reversion * (c.baseline - flat)
        flat[self._diagonal] = 1.0


def held_flat(tables: TrustTables, networks: list[TrustNetwork]) -> np.ndarray | None:
    """``tables``' array of every table's trust when each of ``networks`` is held in it, in this
    order (its matrix a view of its block, as :meth:`TrustTables.relax` leaves them), else None.
    Read-only use: network k's matrix, flattened, then starts after the blocks (n x n each) of the
    networks before it, so a reader of many tables' trust gathers it from one array."""
    return tables._flat if tables.holds(networks) else None
