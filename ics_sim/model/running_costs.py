"""Running costs of partnership working (MODEL.md section 6.8; ODD 7.9): meeting time, the ICP
assembly, reporting to the ICB, administering a pooled budget, managing a lead provider's
contract and paying an independent chair. Each is added to the place's transaction cost for the
month (GBP this month, per place); the monthly record reports and resets it.
"""

from __future__ import annotations

import numpy as np


def meeting_cost(cfg, part) -> float:
    """One meeting of a place table: every seat's meeting and preparation time, GBP."""
    k = cfg.costs
    return len(part.seats) * (k.meeting_hours + k.preparation_hours) * k.hourly_cost_gbp


def icp_meeting_months(cfg) -> set[int]:
    """Months of the financial year (0 = April) in which the ICP assembly meets."""
    n = cfg.icp.meetings_per_year
    return {(k * 12) // n for k in range(n)}


def icp_meeting_cost(cfg, layout, place_pop: np.ndarray) -> np.ndarray:
    """An ICP assembly: the ICB and system trusts, and per place the council, community services
    and (when members) VCSE and Healthwatch; its cost falls on the places by population.

    Returns:
        GBP per place.
    """
    L, k, m = layout, cfg.costs, cfg.membership
    per_place = 2 + int(m.vcse) + int(m.healthwatch)
    places_in = np.bincount(L.place_system, minlength=L.n_systems)
    members = 3 + per_place * places_in
    cost = members * (k.meeting_hours + k.preparation_hours) * k.hourly_cost_gbp  # per system
    share = place_pop / np.bincount(L.place_system, weights=place_pop)[L.place_system]
    return cost[L.place_system] * share


def monthly_overheads(cfg, part, pot_envelope: np.ndarray) -> float:
    """A month's standing costs of one place's arrangement, GBP: reporting on the delegated pot,
    administering a pooled budget, managing a lead provider's contract, an independent chair."""
    k = cfg.costs
    cost = k.reporting_share * pot_envelope.sum() / 12.0
    if part.pooled:
        cost += k.pooled_admin_gbp / 12.0
    if part.form == "lead_provider":
        cost += k.contract_management * pot_envelope.sum() / 12.0
    if cfg.chair == "independent":
        cost += k.independent_chair_gbp / 12.0
    return cost
