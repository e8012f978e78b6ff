"""Shocks on a dated timeline (MODEL.md section 6.2): winter pressure, funding cuts, workforce loss.

Dates are ``YYYY-MM`` calendar months; month 0 of a run is April of ``start_year``. A funding cut
takes effect at the first April budget-setting inside its window (budgets are set annually).
"""

from __future__ import annotations

import numpy as np

from ics_sim.config.schema import Config
from ics_sim.domains import DOMAINS, N_DOMAINS


def month_index(date: str, start_year: int) -> int:
    """Months from April of ``start_year`` to ``date`` (YYYY-MM)."""
    year, month = (int(x) for x in date.split("-"))
    return (year - start_year) * 12 + (month - 4)


#: the factor of a month with no shock of a kind: 1.0 per domain (one read-only array)
NO_SHOCK = np.ones(N_DOMAINS)
NO_SHOCK.flags.writeable = False


class ShockTimeline:
    """The configured shocks, queried month by month."""

    def __init__(self, cfg: Config):
        self.events = []
        for s in cfg.shocks:
            domains = np.ones(N_DOMAINS, dtype=bool) if s.domain == "all" else np.array([d == s.domain for d in DOMAINS])
            self.events.append((s.kind, month_index(s.start, cfg.start_year), s.months, s.magnitude, domains, s.every_year))

    @staticmethod
    def _active(month: int, start: int, months: int, every_year: bool) -> bool:
        if every_year:
            return month >= start and (month - start) % 12 < months
        return start <= month < start + months

    def _factor(self, kind: str, month: int, sign: float) -> np.ndarray:
        """Per domain, the product of the factors of the shocks of ``kind`` active in ``month``
        (:data:`NO_SHOCK`, read-only, when none is)."""
        active = [(mag, domains) for k, start, months, mag, domains, every in self.events if k == kind and self._active(month, start, months, every)]
        if not active:
            return NO_SHOCK
        f = np.ones(N_DOMAINS)
        for mag, domains in active:
            f[domains] *= 1.0 + sign * mag
        return f

    def need_factor(self, month: int, layout=None) -> np.ndarray:
        """Multiplier on need per domain (winter pressure)."""
        return self._factor("winter_pressure", month, +1.0)[None, :]

    def capacity_factor(self, month: int) -> np.ndarray:
        """Multiplier on provider capacity per domain (workforce loss)."""
        return self._factor("workforce_loss", month, -1.0)

    def budget_factor(self, month: int) -> tuple[float, float]:
        """Multipliers on NHS and council budgets set at this April (funding cut)."""
        f = self._factor("funding_cut", month, -1.0)
        return float(f.min()), float(f.min())
