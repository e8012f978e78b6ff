"""Trust between partners (MODEL.md section 6.7).

Trust builds with agreement, delivery and small wins (Ansell and Gash 2008), erodes faster than it
builds — a violation costs ``loss_ratio`` times what a success earns (Slovic 1993) — and slowly
returns towards a baseline.
"""

from __future__ import annotations

import numpy as np

from ics_sim.config.schema import TrustConfig


class TrustNetwork:
    """Directed trust among the members of one partnership: ``matrix[i, j]`` is i's trust in j."""

    def __init__(self, members: list[str], cfg: TrustConfig):
        self.members = list(members)
        self.cfg = cfg
        n = len(members)
        self.matrix = np.full((n, n), cfg.initial)
        np.fill_diagonal(self.matrix, 1.0)

    def index(self, name: str) -> int:
        return self.members.index(name)

    def success(self, i: int | np.ndarray, j: int | np.ndarray, weight: float = 1.0) -> None:
        """i's trust in j grows after an agreement or a delivered promise."""
        t = self.matrix[i, j]
        self.matrix[i, j] = t + weight * self.cfg.gain * (1.0 - t)
        np.fill_diagonal(self.matrix, 1.0)

    def violation(self, i: int | np.ndarray, j: int | np.ndarray, weight: float = 1.0) -> None:
        """i's trust in j falls after being overruled or let down: loss_ratio times a success."""
        t = self.matrix[i, j]
        self.matrix[i, j] = t - weight * self.cfg.loss_ratio * self.cfg.gain * t
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

    def edges(self) -> list[tuple[str, str, float]]:
        n = len(self.members)
        return [(self.members[i], self.members[j], float(self.matrix[i, j])) for i in range(n) for j in range(n) if i != j]
