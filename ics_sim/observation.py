"""Observation: how organisations estimate need (MODEL.md section 6.3).

Each kind of observer carries a persistent estimation error per neighbourhood and domain (an AR(1)
process on the log scale) whose size depends on how close it sits to the neighbourhood: system
bodies see least precisely, place bodies better, PCNs best. Hidden need is seen only by observers
with reach (VCSE, Healthwatch, partly PCNs), in proportion to that reach.

Observers are kept as one (neighbourhood x domain) error array per observer kind: every place has
one council, one VCSE body and so on, so a kind's array tiles the neighbourhoods. Agents read
their own place's rows.
"""

from __future__ import annotations

import numpy as np

from ics_sim.config.schema import Config
from ics_sim.population import Population

#: observer kind -> level whose error size applies
OBSERVERS: dict[str, str] = {
    "icb_system": "system",
    "icb_place": "place",
    "acute_trust": "system",
    "mental_health_trust": "system",
    "community_trust": "place",
    "council": "place",
    "social_care": "place",
    "vcse": "place",
    "healthwatch": "place",
    "pcn": "neighbourhood",
}


class Observation:
    """Estimation errors of every observer kind, and beliefs built from them."""

    def __init__(self, cfg: Config, population: Population, rng: np.random.Generator):
        self.cfg = cfg
        self.pop = population
        self.rng = rng
        oc = cfg.observation
        self.sd = {
            "system": oc.error_system,
            "place": oc.error_place,
            "neighbourhood": oc.error_neighbourhood,
        }
        shape = population.need.shape
        self.errors = {
            kind: self.rng.standard_normal(shape) * self.sd[level] for kind, level in OBSERVERS.items()
        }
        o = cfg.observation
        self.reach = {
            "vcse": o.reach_vcse,
            "healthwatch": o.reach_healthwatch,
            "pcn": o.reach_pcn,
        }

    def step(self) -> None:
        """Errors drift (AR(1) on the log scale, stationary s.d. equal to the level's)."""
        rho = self.cfg.observation.error_persistence
        innov = np.sqrt(1.0 - rho**2)
        for kind, level in OBSERVERS.items():
            e = self.errors[kind]
            e *= rho
            e += innov * self.sd[level] * self.rng.standard_normal(e.shape)

    def sharpen(self, nb_mask: np.ndarray) -> None:
        """A needs-assessment (JSNA) refresh shrinks place-level errors in one place."""
        f = 1.0 - self.cfg.observation.jsna_sharpening
        for kind, level in OBSERVERS.items():
            if level == "place":
                self.errors[kind][nb_mask] *= f

    def precision(self, kind: str) -> float:
        sd = self.sd[OBSERVERS[kind]]
        return 1.0 / max(sd, 1e-3) ** 2

    def log_visible(self, kind: str, idx: np.ndarray) -> np.ndarray:
        """Log of an observer's estimate of visible need for neighbourhoods ``idx``."""
        vis = np.log(np.maximum(self.pop.visible_need[idx], 1e-9))
        if self.cfg.observation.perfect:
            return vis
        return vis + self.errors[kind][idx]

    def hidden_seen(self, kind: str, idx: np.ndarray, reach: float | None = None) -> np.ndarray:
        """The part of hidden need an observer sees (its reach times hidden need, with its error)."""
        hidden = self.pop.hidden_need[idx]
        if self.cfg.observation.perfect:
            return hidden
        r = self.reach.get(kind, 0.0) if reach is None else reach
        return r * hidden * np.exp(self.errors[kind][idx])
