"""Layouts of real integrated care systems from the packaged public data (MODEL.md section 2).

:func:`build_layout` sends every ``system.kind`` other than ``synthetic`` here:

* ``icb``: one ICS named by ``system.icb`` (ONS code, ODS code, short name or a unique part of
  its name, e.g. ``python -m ics_sim system=icb system.icb=E54000048``);
* ``named``: the same, with ``system.icb`` fixed by a config file such as
  ``configs/system/herefordshire_worcestershire.yaml``;
* ``england``: all 42 systems in one layout, in ICB code order.

Places are the rows of ``places.csv`` (upper-tier councils, or the part of a council an ICB
covers), with their real populations, 65+ populations, need indices and deprivation profiles.
Neighbourhoods are PCN footprints: each place gets its real (apportioned) count of primary care
networks. We do not have PCN boundaries, so each neighbourhood's size and deprivation are *drawn*
so that, together, they reproduce the place:

* **Sizes**: a symmetric Dirichlet split of the place's population (concentration
  :data:`SIZE_CONCENTRATION`: coefficient of variation about 18%, so a place averaging 45,000 per
  PCN has most PCNs between about 30,000 and 60,000), rounded to whole people by largest
  remainder so that neighbourhoods sum *exactly* to the place's population in any float order.
* **Deprivation** (stratified quantile sampling): the place's population is laid out along the
  national IMD rank axis using its population share per national decile (uniform within a
  decile). The neighbourhoods, in a random order, take consecutive slices of that population,
  each slice as large as the neighbourhood; each neighbourhood's rank is a uniform draw *within
  its own slice* of the place's quantile function. Every slice is represented, so the
  population-weighted decile mix of the neighbourhoods equals the place's profile in expectation
  and deviates from it only by within-slice noise (far less than independent draws from the
  profile would give). The ranks are then shifted, each inside its own decile (so the mix is
  untouched), until their population-weighted mean equals the profile's mean rank. A place
  with one neighbourhood (Rutland, City of London, Isles of Scilly) takes the mean rank of its
  profile instead of a draw.
* **Age**: the place's 65+ share, tilted older in less deprived neighbourhoods (as in
  :func:`ics_sim.model.geography.synthetic_place`) and rescaled so that the place's number of people
  aged 65+ is kept exactly.

Everything is fixed by ``system.geography_seed`` and the ICB: each ICB draws from its own
generator, ``np.random.default_rng([geography_seed, n])`` with ``n`` the numeric part of its ONS
code (``E54000019`` -> 19), so an ICB's layout is the same built alone or within England, and
does not change if rows are added to the tables. ``system.deprivation_spread`` and
``system.need_index`` apply to synthetic systems only; real systems take both from the data.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd

from ics_sim.config.schema import SystemConfig
from ics_sim.data.reference import DEC_COLS, find_icb, icb_table, place_label, place_table
from ics_sim.model.geography import Layout, build_synthetic

__all__ = ["SIZE_CONCENTRATION", "AGE_TILT", "build", "build_icbs", "resolve_icb"]

#: Dirichlet concentration per neighbourhood of the split of a place's population. The CV of a
#: share is about 1/sqrt(concentration): 30 gives about 18%, keeping PCN footprints in the
#: 30,000-50,000 (up to about 60,000) band of the guidance rather than the occasional 5,000 or
#: 120,000 a flat Dirichlet would give.
SIZE_CONCENTRATION = 30.0

#: Relative change of the 65+ share per unit of national rank: less deprived areas are older
#: (Census 2021). Same tilt as the synthetic builder, so both kinds of layout behave alike.
AGE_TILT = 0.6

_EXAMPLE_KEYS = "e.g. E54000019, QGH or herefordshire_worcestershire"


def resolve_icb(key: str) -> pd.Series:
    """Find the ICB a ``system.icb`` value names, with an error that names the field.

    Args:
        key: ONS code (ICB22 or ICB23), ODS code, short name or unique part of the ICB's name.

    Returns:
        The ICB's row of :func:`ics_sim.data.reference.icb_table`.

    Raises:
        ValueError: If ``key`` is empty, matches no ICB (close matches are listed) or matches
            several.
    """
    text = str(key or "").strip()
    if not text:
        raise ValueError(
            f"system.icb must name one of the 42 ICBs (ONS code, ODS code or name), {_EXAMPLE_KEYS}; "
            "it is empty"
        )
    try:
        return find_icb(text)
    except ValueError as exc:
        raise ValueError(
            f"system.icb = {text!r} does not name one ICB: {exc}. "
            f"Use an ONS code, ODS code or name of one of the 42 ICBs, {_EXAMPLE_KEYS}"
        ) from exc


def build(cfg: SystemConfig) -> Layout:
    """Build the layout of a real system config (``kind`` ``icb``, ``named`` or ``england``).

    Args:
        cfg: the ``system`` part of the run's configuration.

    Returns:
        The layout: one system per ICB, one place per row of ``places.csv``, one neighbourhood
        per primary care network.

    Raises:
        ValueError: If ``cfg.kind`` is not a real-data kind or ``cfg.icb`` names no single ICB.
    """
    if cfg.kind in ("icb", "named"):
        return build_icbs([str(resolve_icb(cfg.icb)["icb_code"])], cfg.geography_seed)
    if cfg.kind == "england":
        return build_icbs(None, cfg.geography_seed)
    raise ValueError(
        f"system.kind = {cfg.kind!r} has no real-data builder: choose icb, named or england "
        "(synthetic systems are built by ics_sim.model.geography.build_synthetic)"
    )


def _icb_stream(icb_code: str) -> int:
    """Stable number of an ICB for its random stream: the numeric part of its ONS code."""
    return int(icb_code[3:])


def _whole_people(shares: np.ndarray, total: int) -> np.ndarray:
    """Round ``shares * total`` to whole people summing exactly to ``total`` (largest remainder).

    Whole numbers below 2**53 add up exactly in float64 in any order, so place and system
    totals equal the data however they are summed later.
    """
    raw = shares * total
    base = np.floor(raw)
    short = int(total - base.sum())
    if short:
        base[np.argsort(base - raw)[:short]] += 1.0  # largest remainders first
    return base


def _quantile_rank(u: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """National rank at population quantile ``u`` of a place with decile ``profile``.

    The place's population is spread uniformly within each national decile, so the quantile
    function is piecewise linear: decile ``d`` (0-based) holds quantiles
    ``[cum[d], cum[d] + profile[d])`` and ranks ``[d/10, (d+1)/10)``.

    Args:
        u: population quantiles in [0, 1).
        profile: population share per national decile, most deprived first (sums to 1).

    Returns:
        Ranks in [0, 1), 0 = most deprived in England.
    """
    cum = np.concatenate([[0.0], np.cumsum(profile)])
    cum /= cum[-1]
    # first decile whose upper bound exceeds u (empty deciles are skipped automatically)
    d = np.clip(np.searchsorted(cum[1:], u, side="right"), 0, 9)
    width = cum[d + 1] - cum[d]
    within = np.divide(u - cum[d], width, out=np.zeros_like(u), where=width > 0)
    return np.clip((d + np.clip(within, 0.0, 1.0)) / 10.0, 0.0, 1.0 - 1e-9)


def _recentre_within_deciles(rank: np.ndarray, weight: np.ndarray, target: float) -> np.ndarray:
    """Shift ranks so their weighted mean is ``target``, never moving one out of its decile.

    Within-slice draws leave the place's mean rank slightly off, most where a slice spans a
    thin tail of the profile (Liverpool's least deprived tenth spans deciles 6-10). Shifting
    inside each neighbourhood's decile corrects the mean without changing the decile mix. A few
    passes spread what clipping at decile bounds leaves over the neighbourhoods still free.

    Args:
        rank: drawn ranks (not modified).
        weight: neighbourhood populations.
        target: the place's mean rank implied by its decile profile.

    Returns:
        The shifted ranks.
    """
    lo = np.floor(rank * 10.0) / 10.0
    hi = lo + 0.1 - 1e-9
    rank = rank.copy()
    total = weight.sum()
    for _ in range(6):
        resid = target - float(np.dot(rank, weight)) / total
        if abs(resid) < 1e-12:
            break
        free = rank < hi if resid > 0 else rank > lo
        free_weight = weight[free].sum()
        if free_weight <= 0:
            break
        rank[free] = np.clip(rank[free] + resid * total / free_weight, lo[free], hi[free])
    return rank


def _place_neighbourhoods(
    n_pcns: int, population: float, pop_65plus: float, profile: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Neighbourhood populations, ranks and 65+ shares of one real place.

    Args:
        n_pcns: the place's (apportioned) number of primary care networks.
        population: the place's residents.
        pop_65plus: the place's residents aged 65+.
        profile: the place's population share per national IMD decile, most deprived first.
        rng: the ICB's generator (places draw from it in table order).

    Returns:
        ``(population, rank, share_65)``, one entry per neighbourhood.
    """
    n = max(int(n_pcns), 1)
    total = int(round(float(population)))
    shares = rng.dirichlet(np.full(n, SIZE_CONCENTRATION)) if n > 1 else np.ones(1)
    pop = _whole_people(shares, total)

    # Stratified quantile sampling: stack the neighbourhoods in a random order along the place's
    # population-by-rank axis, and draw each one's rank uniformly within its own slice. The
    # random order plays the part of "shuffling sizes" (which size goes with which rank).
    profile = np.clip(profile, 0.0, None)
    order = rng.permutation(n)
    stacked = pop[order] / pop.sum()
    start = np.concatenate([[0.0], np.cumsum(stacked)[:-1]])
    u = np.clip(start + rng.random(n) * stacked, 0.0, 1.0 - 1e-12)
    rank = np.empty(n)
    rank[order] = _quantile_rank(u, profile)
    mean_rank = float(np.dot(profile / profile.sum(), (np.arange(10) + 0.5) / 10.0))
    if n == 1:
        # One neighbourhood cannot carry the place's mix; its single slice is the whole place,
        # and the slice's mean (the place's mean rank) represents it better than a random draw
        # that could put, say, Rutland in the most deprived decile. (The draws above still run
        # so the generator advances the same way for every place.)
        rank[:] = mean_rank
    else:
        rank = _recentre_within_deciles(rank, pop, mean_rank)

    # Older populations in less deprived neighbourhoods, rescaled so the place keeps its exact
    # number of people aged 65+ (the tilt is mild enough that no share leaves (0, 1)).
    share = float(pop_65plus) / float(population)
    age = 1.0 + AGE_TILT * (rank - np.average(rank, weights=pop))
    share_65 = share * age / np.average(age, weights=pop)
    return pop, rank, share_65


def build_icbs(icb_codes: list[str] | None, geography_seed: int) -> Layout:
    """Layout of the given ICBs (all 42 if ``None``), in ICB code order.

    The layout depends only on the packaged tables, the ICBs and the seed, so a process builds
    each one once (a sweep's runs, the workshop's and the dashboard's models share the build);
    every call returns a new :class:`~ics_sim.model.geography.Layout` on its own copies of the
    arrays and lists, so no model can change another's.

    Args:
        icb_codes: ONS codes of the ICBs to include, or ``None`` for England.
        geography_seed: ``system.geography_seed``.

    Returns:
        One layout holding every requested system.
    """
    codes = None if icb_codes is None else tuple(str(c) for c in icb_codes)
    built = _build_icbs(codes, int(geography_seed))
    return Layout(**{f.name: _own_copy(getattr(built, f.name)) for f in dataclasses.fields(Layout)})


def _own_copy(value):
    """A layout field's value as a new object (arrays and lists copied)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    return list(value) if isinstance(value, list) else value


@functools.lru_cache(maxsize=8)
def _build_icbs(icb_codes: tuple[str, ...] | None, geography_seed: int) -> Layout:
    """:func:`build_icbs`, built once per ICBs and seed (never handed out: callers get copies)."""
    icbs = icb_table().sort_values("icb_code", kind="stable")
    if icb_codes is not None:
        icbs = icbs[icbs["icb_code"].isin(icb_codes)]
    places = place_table()
    # Plain arrays and one groupby: row access through pandas would dominate the build time.
    by_icb = places.groupby("icb_code", sort=False).indices
    names = places["place_name"].astype(str).to_numpy()
    codes = places["place_code"].astype(str).to_numpy()
    n_pcns = places["n_pcns"].to_numpy(dtype=int)
    population = places["population"].to_numpy(dtype=float)
    pop_65plus = places["pop_65plus"].to_numpy(dtype=float)
    place_need_all = places["need_index_overall"].to_numpy(dtype=float)
    profiles = places[list(DEC_COLS)].to_numpy(dtype=float)
    # a council split between ICBs is a place in each; name each part after its ICB so that every
    # place (and neighbourhood) has a unique name in the outputs
    split = set(places.loc[places["place_code"].duplicated(keep=False), "place_code"])

    system_names: list[str] = []
    system_codes: list[str] = []
    need_index: list[float] = []
    place_names: list[str] = []
    place_codes: list[str] = []
    place_system: list[int] = []
    place_need: list[float] = []
    nb_place: list[np.ndarray] = []
    pops: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    ages: list[np.ndarray] = []

    for s, icb in enumerate(icbs.itertuples(index=False)):
        system_names.append(icb.short_name)
        system_codes.append(icb.icb_code)
        need_index.append(float(icb.need_index_overall))
        rng = np.random.default_rng([geography_seed, _icb_stream(icb.icb_code)])
        rows = by_icb.get(icb.icb_code)
        if rows is None or len(rows) == 0:
            raise ValueError(f"places.csv has no place for ICB {icb.icb_code} ({icb.short_name})")
        for r in rows:  # places.csv order, so draws do not depend on what else is built
            p = len(place_names)
            name = str(names[r])
            place_names.append(place_label(name, icb.name, codes[r] in split))
            place_codes.append(str(codes[r]))
            place_system.append(s)
            place_need.append(float(place_need_all[r]))
            pop, rank, share_65 = _place_neighbourhoods(
                n_pcns[r], population[r], pop_65plus[r], profiles[r], rng
            )
            nb_place.append(np.full(len(pop), p, dtype=int))
            pops.append(pop)
            ranks.append(rank)
            ages.append(share_65)

    return Layout(
        system_names=system_names,
        place_names=place_names,
        place_system=np.array(place_system, dtype=int),
        nb_place=np.concatenate(nb_place),
        nb_population=np.concatenate(pops),
        nb_rank=np.concatenate(ranks),
        nb_share_65=np.concatenate(ages),
        need_index=np.array(need_index, dtype=float),
        place_codes=place_codes,
        system_codes=system_codes,
        place_need_index=np.array(place_need, dtype=float),
    )


def build_layout(cfg: SystemConfig) -> Layout:
    """Build the layout a ``system`` config asks for: synthetic, or real from packaged public data."""
    if cfg.kind == "synthetic":
        return build_synthetic(cfg)
    return build(cfg)
