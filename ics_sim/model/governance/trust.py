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

import numpy as np

from ics_sim.config.schema import TrustConfig


def success_share(gain: float, weight: float | np.ndarray = 1.0) -> float | np.ndarray:
    """Share of the gap to full trust that a success of ``weight`` closes."""
    return 1.0 - (1.0 - gain) ** weight


def violation_share(gain: float, loss_ratio: float, weight: float | np.ndarray = 1.0) -> float | np.ndarray:
    """Share of the trust held that a violation of ``weight`` removes."""
    return 1.0 - (1.0 - gain) ** (loss_ratio * weight)


class TrustNetwork:
    """Directed trust among the members of one partnership: ``matrix[i, j]`` is i's trust in j."""

    def __init__(self, members: list[str], cfg: TrustConfig):
        self.members = list(members)
        self._pos = {name: k for k, name in enumerate(self.members)}
        self.cfg = cfg
        n = len(members)
        self.matrix = np.full((n, n), cfg.initial)
        np.fill_diagonal(self.matrix, 1.0)

    def index(self, name: str) -> int:
        return self._pos[name]

    def success(self, i: int | np.ndarray, j: int | np.ndarray, weight: float | np.ndarray = 1.0) -> None:
        """i's trust in j grows after an agreement, a kept promise or a small win."""
        t = self.matrix[i, j]
        self.matrix[i, j] = t + success_share(self.cfg.gain, weight) * (1.0 - t)
        np.fill_diagonal(self.matrix, 1.0)

    def violation(self, i: int | np.ndarray, j: int | np.ndarray, weight: float | np.ndarray = 1.0) -> None:
        """i's trust in j falls after being overruled or let down: about loss_ratio times a success."""
        t = self.matrix[i, j]
        self.matrix[i, j] = t - violation_share(self.cfg.gain, self.cfg.loss_ratio, weight) * t
        np.fill_diagonal(self.matrix, 1.0)

    def relax(self) -> None:
        """Monthly slow return towards the baseline."""
        self.matrix += self.cfg.reversion * (self.cfg.baseline - self.matrix)
        np.fill_diagonal(self.matrix, 1.0)

    def trust_in(self, j: int) -> np.ndarray:
        """Every member's trust in member j."""
        return self.matrix[:, j]

    def outgoing_mean(self) -> np.ndarray:
        """Each member's mean trust in the others."""
        n = len(self.members)
        if n < 2:
            return np.ones(n)
        return (self.matrix.sum(axis=1) - 1.0) / (n - 1)

    def mean(self) -> float:
        n = len(self.members)
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
