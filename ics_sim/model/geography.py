"""Geography: systems, places and neighbourhoods as arrays (MODEL.md section 2).

A :class:`Layout` is the fixed structure of a run: which neighbourhoods (PCN footprints) make up
which places (upper-tier council footprints), which places make up which systems (ICSs), and each
neighbourhood's population, age mix and deprivation. Builders turn a ``system`` config into a
Layout; the synthetic builder is here, builders from real data (and :func:`~ics_sim.model.systems.build_layout`,
which picks one) live in :mod:`ics_sim.model.systems`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ics_sim.config.schema import PlaceSpec, SystemConfig
from ics_sim.grouped import Groups


@dataclass
class Layout:
    """The fixed structure of a run.

    Attributes:
        system_names: one name per system (ICS).
        place_names: one name per place; ``place_system[p]`` is its system.
        nb_place: the place of each neighbourhood.
        nb_population: people per neighbourhood.
        nb_rank: national deprivation rank percentile of each neighbourhood (0 = most deprived).
        nb_share_65: share of people aged 65+.
        need_index: per system, the NHS England overall need index (England = 1).
    """

    system_names: list[str]
    place_names: list[str]
    place_system: np.ndarray
    nb_place: np.ndarray
    nb_population: np.ndarray
    nb_rank: np.ndarray
    nb_share_65: np.ndarray
    need_index: np.ndarray
    place_codes: list[str] = field(default_factory=list)
    system_codes: list[str] = field(default_factory=list)
    #: per place, NHS England need index (England = 1); None: the system's index everywhere
    place_need_index: np.ndarray | None = None

    @property
    def n_systems(self) -> int:
        return len(self.system_names)

    @property
    def n_places(self) -> int:
        return len(self.place_names)

    @property
    def n_neighbourhoods(self) -> int:
        return len(self.nb_population)

    def place_need(self) -> np.ndarray:
        """Need index per place: the place's own where the data give one, else its system's."""
        if self.place_need_index is not None:
            return self.place_need_index
        return self.need_index[self.place_system]

    # The layout is fixed for a run, so derived index arrays are computed once (cached) and read
    # on every step; they must not be written to.
    @cached_property
    def nb_system(self) -> np.ndarray:
        """The system of each neighbourhood."""
        return _read_only(self.place_system[self.nb_place])

    @cached_property
    def place_index(self) -> list[np.ndarray]:
        """Per place, the indices of its neighbourhoods (ascending)."""
        return [_read_only(np.flatnonzero(self.nb_place == p)) for p in range(self.n_places)]

    @cached_property
    def system_index(self) -> list[np.ndarray]:
        """Per system, the indices of its neighbourhoods (ascending)."""
        return [_read_only(np.flatnonzero(self.nb_system == s)) for s in range(self.n_systems)]

    @cached_property
    def places(self) -> Groups:
        """The neighbourhoods of each place, for sums over every place at once that equal
        summing each place on its own bit for bit (:class:`~ics_sim.grouped.Groups`)."""
        return Groups(self.place_index, self.n_neighbourhoods)

    @cached_property
    def systems(self) -> Groups:
        """The neighbourhoods of each system, as :attr:`places`."""
        return Groups(self.system_index, self.n_neighbourhoods)

    @cached_property
    def system_places(self) -> Groups:
        """The places of each system, as :attr:`places` (items are places)."""
        return Groups([np.flatnonzero(self.place_system == s) for s in range(self.n_systems)], self.n_places)

    @property
    def nb_decile(self) -> np.ndarray:
        """National IMD decile of each neighbourhood, 1 = most deprived."""
        return np.clip(np.floor(self.nb_rank * 10).astype(int) + 1, 1, 10)

    @cached_property
    def nb_names(self) -> list[str]:
        """Each neighbourhood's name, ``"<place> N01"`` onwards within its place (worked out once
        for the layout: readers index it name by name; do not change it)."""
        counts: dict[int, int] = {}
        names = []
        for p in self.nb_place:
            counts[p] = counts.get(p, 0) + 1
            names.append(f"{self.place_names[p]} N{counts[p]:02d}")
        return names

    def place_population(self) -> np.ndarray:
        return np.bincount(self.nb_place, weights=self.nb_population, minlength=self.n_places)

    def system_population(self) -> np.ndarray:
        return np.bincount(self.place_system, weights=self.place_population(), minlength=self.n_systems)


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _beta_params(mean: float, sd: float) -> tuple[float, float]:
    mean = float(np.clip(mean, 0.02, 0.98))
    var = min(sd**2, mean * (1 - mean) * 0.9)
    common = mean * (1 - mean) / var - 1
    return mean * common, (1 - mean) * common


def synthetic_place(spec: PlaceSpec, spread: float, rng: np.random.Generator):
    """Neighbourhoods of one synthetic place: populations summing exactly to the place's, ranks
    scattered around its mean deprivation rank, older populations in less deprived areas."""
    n = spec.neighbourhoods
    shares = rng.dirichlet(np.full(n, 40.0)) if n > 1 else np.ones(1)
    pop = shares * spec.population
    if spread > 0 and n > 1:
        a, b = _beta_params(spec.mean_imd_rank, spread)
        ranks = rng.beta(a, b, size=n)
        # recentre so the population-weighted mean rank equals the place's
        ranks = np.clip(ranks + spec.mean_imd_rank - np.average(ranks, weights=pop), 0.005, 0.995)
    else:
        ranks = np.full(n, spec.mean_imd_rank)
    # less deprived neighbourhoods are older (Census 2021), scaled to the place's 65+ share
    age = 1.0 + 0.6 * (ranks - ranks.mean())
    share_65 = np.clip(spec.share_65plus * age / np.average(age, weights=pop), 0.02, 0.6)
    return pop, ranks, share_65


def build_synthetic(cfg: SystemConfig) -> Layout:
    """A synthetic system from the place list in ``cfg`` (fixed by ``cfg.geography_seed``)."""
    rng = np.random.default_rng(cfg.geography_seed)
    pops, ranks, ages, places = [], [], [], []
    for i, spec in enumerate(cfg.places):
        pop, rank, share_65 = synthetic_place(spec, cfg.deprivation_spread, rng)
        pops.append(pop)
        ranks.append(rank)
        ages.append(share_65)
        places.append(np.full(len(pop), i))
    return Layout(
        system_names=[cfg.name],
        place_names=[p.name for p in cfg.places],
        place_system=np.zeros(len(cfg.places), dtype=int),
        nb_place=np.concatenate(places),
        nb_population=np.concatenate(pops),
        nb_rank=np.concatenate(ranks),
        nb_share_65=np.concatenate(ages),
        need_index=np.array([cfg.need_index]),
        place_codes=[p.code or p.name for p in cfg.places],
        system_codes=[cfg.name],
    )
