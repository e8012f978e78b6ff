"""System-level measures of one month (MODEL.md section 7): health, inequality, coordination,
partnership and value, for one system or for England when a run holds several.

Pure functions of the model's state after delivery; :class:`~ics_sim.model.record.Recorder`
stores what they return. Inequality measures come from :mod:`ics_sim.metrics`.
"""

from __future__ import annotations

import numpy as np

from ics_sim import metrics
from ics_sim.domains import DOMAINS


def place_unmet_share(layout, need: np.ndarray, unmet: np.ndarray) -> np.ndarray:
    """Unmet need as a share of need, per place."""
    L = layout
    u = np.bincount(L.nb_place, weights=unmet.sum(axis=1), minlength=L.n_places)
    n = np.bincount(L.nb_place, weights=need.sum(axis=1), minlength=L.n_places)
    return u / np.maximum(n, 1e-12)


def group_indices(model, idx: np.ndarray, place_pop: np.ndarray) -> dict:
    """Static index arrays of one group of neighbourhoods (a system, or the whole country), and
    everything the month's measures need that depends only on the layout: the population weights
    and ranks of the inequality measures, the decile and place groupings (computed once with
    :mod:`ics_sim.metrics`' private kernels, so each month only the values change)."""
    L = model.layout
    places_mask = np.isin(np.arange(L.n_places), np.unique(L.nb_place[idx]))
    place_of = L.nb_place[idx]
    people = L.nb_population[idx]
    dec = L.nb_decile[idx]
    rank = L.nb_rank[idx]
    shares = people / people.sum()
    deciles = metrics._decile_design(dec, people)
    q1, q5 = dec <= 2, dec >= 9
    if q1.any() and q5.any():
        w1, w5 = np.where(q1, people, 0.0), np.where(q5, people, 0.0)
        local_fifths = 0.0
    else:
        fifths = metrics.population_quantile_weights(rank, people, 5)
        w1, w5 = fifths[:, 0], fifths[:, 4]
        local_fifths = 1.0
    return {
        "idx": idx,
        "places_mask": places_mask,
        "place_of": place_of,
        # per place of the group (ascending), the positions of its neighbourhoods in the group
        "place_rows": [np.flatnonzero(place_of == p) for p in np.unique(place_of)],
        "parts": [p for p in model.partnerships if places_mask[p.place]],
        "place_pop": place_pop[places_mask],
        "people": people,
        "population": float(people.sum()),
        "people_sum": people.sum(),
        "shares": shares,
        "deciles": deciles,
        "decile_fit": metrics._sii_design(deciles[2]) if len(deciles[2]) >= 2 else None,
        "rank_centred": metrics._centred_rank(rank, shares),
        "theil_groups": metrics._theil_groups(shares, place_of),
        # quintile gap: national fifths (deciles 1-2 and 9-10) where the group has people in both,
        # else the group's own population-weighted fifths by national rank (ODD 7.20)
        "fifths": (w1, w1.sum(), w5, w5.sum(), local_fifths),
    }


def system_metrics(model, group: dict, d, unmet: np.ndarray, delay: np.ndarray, s: int | None, full: dict, system_alignment: np.ndarray | None = None) -> dict[str, float]:
    """The system-level measures of one group (a system, or England when ``s`` is None).

    The inequality measures are those of :mod:`ics_sim.metrics` (SII, RII, Gini, concentration
    index, Theil), computed with its unvalidated kernels over the group's static design
    (:func:`group_indices`): the model's arrays are valid by construction, and the same operations
    on the same numbers give the same results bit for bit.

    Args:
        model: the :class:`~ics_sim.model.ICSModel` after this month's delivery.
        group: a group's static indices (:func:`group_indices`).
        d: this month's :class:`~ics_sim.model.delivery.Delivery`.
        unmet: unmet need per neighbourhood and domain.
        delay: each place's decision delay this year, months.
        s: the system's index, or None for England (several systems).
        full: this month's whole-population and per-place arrays (HLE, hidden need, unmet hidden
            need; ``place_trust``, ``vcse_alive``, ``vcse_capacity`` and ``delegated_share`` per place).
        system_alignment: for England, this month's strategy alignment of each system.
    """
    m = model
    pop = m.population
    mask = group["idx"]  # an index array: selects the same cells, in the same order, as a mask
    people = group["people"]
    shares = group["shares"]
    hle = full["hle"].take(mask)
    health = pop.health.take(mask)
    need = pop.need.take(mask, axis=0)
    spend = d.spend.take(mask, axis=0)
    places_mask = group["places_mask"]
    out: dict[str, float] = {}
    out["population"] = group["population"]
    out["health_mean"] = float((health * people).sum() / group["people_sum"])
    out["hle_mean"] = float((hle * people).sum() / group["people_sum"])
    design = group["decile_fit"]
    if design is not None:
        fit = metrics._fit_sii(design, metrics._decile_means(group["deciles"], hle)[0])
        out["hle_sii"], out["hle_rii"] = metrics._sii_of_fit(fit)
        out["hle_relative_sii"] = metrics._relative_sii_of_fit(fit)
    else:  # one decile: no gradient can be fitted
        out["hle_sii"], out["hle_rii"], out["hle_relative_sii"] = 0.0, 1.0, 0.0
    w1, w1_sum, w5, w5_sum, out["hle_gap_local_fifths"] = group["fifths"]
    out["hle_q1"] = float((hle * w1).sum() / w1_sum)
    out["hle_q5"] = float((hle * w5).sum() / w5_sum)
    out["hle_gap_q1_q5"] = out["hle_q5"] - out["hle_q1"]
    out["health_gini"] = metrics._clamp(metrics._concentration_ranked(health, shares, metrics._centred_rank(health, shares)))
    spend_nb = spend.sum(axis=1)
    need_nb = need.sum(axis=1)
    spend_ph = spend_nb / people
    need_ph = need_nb / people
    rc = group["rank_centred"]
    if spend_ph.sum() > 0:
        ci_spend = metrics._concentration_ranked(spend_ph, shares, rc)
        out["spend_concentration_index"] = ci_spend
        out["horizontal_inequity"] = ci_spend - metrics._concentration_ranked(need_ph, shares, rc)
    else:
        out["spend_concentration_index"] = out["horizontal_inequity"] = 0.0
    ratio = spend_nb / np.maximum(need_nb, 1e-12)
    out["inverse_care_sii"] = metrics._sii_of_fit(metrics._fit_sii(design, metrics._decile_means(group["deciles"], ratio)[0]))[0] if design is not None else 0.0
    th = group["theil_groups"]
    out["theil_between_places"], out["theil_within_places"] = metrics._theil_decomposition(th, hle)
    cov = np.maximum(m.coverage.take(mask), 1e-9)
    out["coverage_theil_between_places"], out["coverage_theil_within_places"] = metrics._theil_decomposition(th, cov)
    out["need_mismatch_within_places"] = within_mismatch(spend, need, group["place_rows"])
    total_need = need.sum()
    unmet_g = unmet.take(mask, axis=0)
    out["unmet_need"] = float(unmet_g.sum() / total_need)
    hidden = full["hidden"].take(mask, axis=0)
    out["unmet_need_hidden"] = float(full["unmet_hidden"].take(mask, axis=0).sum() / max(hidden.sum(), 1e-12))
    for k, name in enumerate(DOMAINS):
        out[f"unmet_need_{name}"] = float(unmet_g[:, k].sum() / max(need[:, k].sum(), 1e-12))
    out["duplicated_spend_gbp"] = float(d.duplicated.take(mask, axis=0).sum())
    out["unfunded_need"] = float(d.unfunded.take(mask, axis=0).sum())
    out["spend_gbp"] = float(spend.sum())
    out["need_gbp"] = float(total_need)
    parts = group["parts"]
    out["decision_delay_months"] = float(np.mean(delay[places_mask]))
    out["deadlocks"] = float(sum(p.deadlocks_total for p in parts))
    out["transaction_cost_gbp"] = float(m.transaction_cost[places_mask].sum() * 12.0)
    if s is not None and m.icps[s].strategy is not None:
        out["strategy_alignment"] = strategy_alignment(spend.sum(axis=0), budget_mix(m, s, places_mask), m.icps[s].strategy)
    elif s is None:
        out["strategy_alignment"] = float(np.mean(system_alignment)) if system_alignment is not None else float("nan")
    else:
        out["strategy_alignment"] = float("nan")
    out["trust_mean"] = float(np.mean(full["place_trust"][places_mask]))
    out["vcse_survival"] = float(np.mean(full["vcse_alive"][places_mask]))
    out["vcse_capacity"] = float(np.average(full["vcse_capacity"][places_mask], weights=group["place_pop"]))
    imb = [x for p in parts for x in p.power_imbalance]
    out["power_imbalance"] = float(np.mean(imb)) if imb else float("nan")
    gained = float((people * (hle - m.initial_hle.take(mask))).sum())
    spent_so_far = float(m.cumulative_spend_nb.take(mask).sum())
    out["health_gain_per_million_gbp"] = gained / max(spent_so_far / 1e6, 1e-9)
    out["qalys"] = float(pop.qalys_nb.take(mask).sum())
    out["spend_gbp_total"] = spent_so_far
    out["running_cost_gbp_total"] = float(m.cumulative_running[places_mask].sum())
    out["own_service_bias"] = own_service_bias(parts, spend, need, group["place_of"])
    if m.layout.n_systems == 1:
        budget = sum(v for k, v in m.ledger.year_budget.items() if k.startswith(("icb:", "council:")) and (s is None or not k.startswith("icb:") or k == f"icb:{s}"))
        out["unspent_gbp"] = float(max(budget - spend.sum(), 0.0))
    else:  # budgets of several systems are not comparable with one group's spending
        out["unspent_gbp"] = float("nan")
    out["delegated_share"] = float(np.average(full["delegated_share"][places_mask], weights=group["place_pop"]))
    if m.cfg.sed.enabled and s is not None:
        out["external_funding_gbp"] = float(m.external_funding[s])
        out["local_spend_share"] = float(m.cfg.sed.anchor_local_share * (1.0 + 0.2 * out["trust_mean"]))
    return out

def budget_mix(model, s: int, places_mask: np.ndarray) -> np.ndarray:
    """The system's money by domain as the budgets allocate it (the ICB's NHS budget and its
    councils' budgets), before anyone moves it between domains."""
    f = model.finance
    return f.nhs_budget[s] + f.council_budget[places_mask].sum(axis=0)


def strategy_alignment(spend: np.ndarray, budgets: np.ndarray, strategy: np.ndarray) -> float:
    """How far spending has moved from the budgets' domain mix to the ICP strategy's: 1 minus the
    distance (L1) of the spending mix from the strategy over the distance of the budget mix from it.
    1 = spending follows the strategy; 0 = no closer to it than the budgets as allocated; below 0 =
    partners' own interests pulled spending further from it. (The distance of the budget mix is
    floored at 0.005 so that a strategy that asks for almost no change does not divide by zero.)"""
    x = spend / max(spend.sum(), 1e-12)
    ref = budgets / max(budgets.sum(), 1e-12)
    return float(1.0 - np.abs(x - strategy).sum() / max(np.abs(ref - strategy).sum(), 0.005))


def within_mismatch(spend: np.ndarray, need: np.ndarray, place_rows: list[np.ndarray]) -> float:
    """Half the sum of |spend share - need share| across neighbourhood-domain cells within each
    place, population of money-weighted over places: 0 = spending matches need exactly.

    ``place_rows``: per place, the rows of ``spend`` and ``need`` that are its neighbourhoods."""
    total = 0.0
    weight = 0.0
    for i in place_rows:
        s, n = spend[i], need[i]
        s_sum = s.sum()
        if s_sum <= 0:
            continue
        total += 0.5 * np.abs(s / s_sum - n / n.sum()).sum() * s_sum
        weight += s_sum
    return float(total / weight) if weight > 0 else 0.0

def own_service_bias(parts, spend, need, place_of) -> float:
    """Share of place spending on the pot holder's own services minus their share of need (lead
    provider bias); 0 where no provider holds a pot."""
    vals = []
    for p in parts:
        if not p.contracted or not p.voters:
            continue
        own = list(p.voters[0].org.own_domains)
        i = place_of == p.place
        s, n = spend[i].sum(axis=0), need[i].sum(axis=0)
        vals.append(s[own].sum() / s.sum() - n[own].sum() / n.sum())
    return float(np.mean(vals)) if vals else 0.0
