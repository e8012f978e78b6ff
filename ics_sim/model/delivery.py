"""Commissioning and delivery: money becomes care (MODEL.md section 6.5).

Every budget holder ("funder": the ICB's retained budget, each place pot, each council's own money,
VCSE bodies) spends its plan over neighbourhoods and domains. For each cell:

- **efficiency**: a funder's unit cost falls with the population it commissions for (economies of
  scale) and integrated delivery from one pooled or lead-provider pot earns a bonus;
- **duplication**: where two funders who do not co-ordinate pay for the same need, part of the
  smaller contribution is wasted (two assessments, two teams visiting the same people). The waste
  falls with their co-ordination — one pot has none, trusting partners little;
- **outreach**: only money aimed at hidden need (the share of need its funder recognises as hidden)
  reaches excluded groups;
- **capacity**: providers deliver at most their capacity per place and domain; a provider
  collaborative lends spare capacity across places;
- **gaps**: need that nobody's money covers is unfunded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ics_sim.grouped import Groups


@dataclass
class Funder:
    """One budget holder's monthly spending (as annual rates, GBP/yr per cell)."""

    name: str
    spend: np.ndarray
    outreach: np.ndarray
    efficiency: np.ndarray


@dataclass
class Delivery:
    """What a month's spending achieved (annual rates, GBP/yr per neighbourhood and domain)."""

    spend: np.ndarray
    duplicated: np.ndarray
    effective: np.ndarray
    unfunded: np.ndarray
    met_visible: np.ndarray
    met_hidden: np.ndarray
    demand_by_place: np.ndarray
    capacity_ratio: np.ndarray

    @property
    def met(self) -> np.ndarray:
        return self.met_visible + self.met_hidden


def deliver(
    funders: list[Funder],
    coordination: dict[tuple[int, int], np.ndarray],
    visible_need: np.ndarray,
    hidden_need: np.ndarray,
    capacity: np.ndarray,
    nb_place: np.ndarray,
    place_system: np.ndarray,
    duplication_rate: float,
    mutual_aid: np.ndarray,
    system_places: Groups | None = None,
    places: Groups | None = None,
) -> Delivery:
    """Turn funders' spending into met need.

    Args:
        funders: budget holders' spending this month.
        coordination: for a pair of funder indices, their co-ordination per neighbourhood (0..1);
            pairs not listed do not overlap.
        visible_need, hidden_need: true need (GBP/yr per cell).
        capacity: providers' capacity per place and domain (GBP/yr of care).
        nb_place: place of each neighbourhood; place_system: system of each place.
        duplication_rate: share of the overlapping (smaller) contribution wasted when two funders
            do not co-ordinate at all.
        mutual_aid: per domain, whether a provider collaborative shares spare capacity across places.
        system_places: the places of each system (``Layout.system_places``; default: built from
            ``place_system``).
        places: the neighbourhoods of each place (``Layout.places``), to sum each place's demand
            as one (its rows one after another, as adding them in turn does); default: added in turn.
    """
    # every funder at once, stacked funders x cells: a sum over the funders (axis 0, from 0.0) adds
    # each cell's funders one after another, as adding them in turn did
    spends = np.array([f.spend for f in funders])
    effs = spends * np.array([f.efficiency for f in funders])
    spend = np.add.reduce(spends, axis=0, initial=0.0)
    effective = np.add.reduce(effs, axis=0, initial=0.0)
    outreach = np.add.reduce(effs * np.array([f.outreach for f in funders]), axis=0, initial=0.0)
    if coordination:  # every overlapping pair at once, in the order listed
        a, b = _pair_ends(tuple(coordination))
        overlap = np.minimum(spends[a], spends[b])
        waste = duplication_rate * overlap * (1.0 - np.array(list(coordination.values())))[:, :, None]
        duplicated = np.add.reduce(waste, axis=0, initial=0.0)
    else:
        duplicated = np.zeros(visible_need.shape)
    # waste removes effective care in proportion to the cell's average efficiency
    spent = spend > 0
    mean_eff = np.divide(effective, spend, out=np.ones_like(spend), where=spent)
    waste_share = np.divide(duplicated, spend, out=np.zeros(spend.shape), where=spent)
    effective = effective - duplicated * mean_eff
    outreach = outreach * (1.0 - waste_share)
    need = visible_need + hidden_need
    unfunded = np.maximum(need - effective, 0.0)

    # capacity per place and domain, with mutual aid across the places of a system
    n_places = capacity.shape[0]
    if places is not None:
        demand = places.sum_rows(effective)
    else:
        demand = np.zeros(capacity.shape)
        np.add.at(demand, nb_place, effective)
    demanded = demand > 0
    if not mutual_aid.any():
        ratio = np.minimum(np.divide(capacity, demand, out=np.ones_like(capacity), where=demanded), 1.0)
    else:  # every system at once: each system's places summed as one system alone
        if system_places is None:
            system_places = Groups([np.flatnonzero(place_system == s) for s in np.unique(place_system)], n_places)
        over = np.maximum(capacity - demand, 0.0)
        gap = np.maximum(demand - capacity, 0.0)
        spare = system_places.sum_rows(over)
        short = system_places.sum_rows(gap)
        fill = np.divide(0.9 * spare, short, out=np.zeros(spare.shape), where=short > 0)
        fill = np.where(mutual_aid, np.minimum(fill, 1.0), 0.0)
        extra = gap * fill[system_places.of]
        reached = np.divide(np.minimum(capacity, demand) + extra, demand, out=np.ones_like(demand), where=demanded)
        ratio = np.minimum(reached, 1.0)
    assert ratio.shape[0] == n_places
    cell_ratio = ratio[nb_place]
    delivered = effective * cell_ratio
    aimed = np.minimum(outreach * cell_ratio, delivered)
    met_hidden = np.minimum(hidden_need, aimed)
    rest = delivered - met_hidden
    met_visible = np.minimum(visible_need, rest)
    return Delivery(spend, duplicated, effective, unfunded, met_visible, met_hidden, demand, ratio)


@functools.lru_cache(maxsize=16)
def _pair_ends(pairs: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """The first and the second funder of each pair in ``pairs``, as two index arrays
    (read-only; worked out once per set of pairs: ``commission`` lists the same pairs every
    month)."""
    ends = tuple(np.array(e, dtype=np.intp) for e in zip(*pairs, strict=True))
    for e in ends:
        e.flags.writeable = False
    return ends


def scale_efficiency(population: float | np.ndarray, elasticity: np.ndarray, reference: float = 500_000.0) -> np.ndarray:
    """Relative efficiency of commissioning for ``population`` people: (population / reference) ** e."""
    pop = np.asarray(population, dtype=float)
    return np.clip((pop[..., None] / reference) ** elasticity, 0.5, 1.5)
