"""Outputs: the monthly record and the run summary (MODEL.md section 7).

Every month the recorder computes, per system (and nationally when a run holds several systems),
per place and per neighbourhood, the health, inequality, coordination, partnership and value
measures, and keeps them as arrays; :meth:`Recorder.frame` returns the tidy long table
(month, level, unit, metric, value). :func:`summarise` reduces it to the horizon values.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from ics_sim import metrics
from ics_sim.domains import DOMAINS, GOVERNANCE_FORMS

#: summary keys (issue 2) with how each is reduced: "last" = value at the horizon,
#: "mean12" = mean of the last 12 months (flows and noisy measures)
SUMMARY_KEYS: dict[str, str] = {
    "health_mean": "last",
    "hle_mean": "last",
    "hle_sii": "last",
    "hle_rii": "last",
    "hle_gap_q1_q5": "last",
    "health_gini": "last",
    "spend_concentration_index": "mean12",
    "horizontal_inequity": "mean12",
    "inverse_care_sii": "mean12",
    "theil_between_places": "last",
    "theil_within_places": "last",
    "unmet_need": "mean12",
    "unmet_need_hidden": "mean12",
    "duplicated_spend_gbp": "mean12",
    "unfunded_need": "mean12",
    "decision_delay_months": "run_mean",
    "deadlocks": "last",
    "transaction_cost_gbp": "mean12",
    "strategy_alignment": "mean12",
    "trust_mean": "last",
    "vcse_survival": "last",
    "health_gain_per_million_gbp": "last",
}
#: further summary measures used by the pattern experiments
EXTRA_SUMMARY: dict[str, str] = {
    "power_imbalance": "run_mean",
    "coverage_theil_between_places": "mean12",
    "coverage_theil_within_places": "mean12",
    "need_mismatch_within_places": "mean12",
    "own_service_bias": "mean12",
    "unspent_gbp": "mean12",
    "spend_gbp": "mean12",
    "population": "last",
    "hle_q1": "last",
    "hle_q5": "last",
    "hle_relative_sii": "last",
}

#: units of the recorded metrics, for tables, plots and the ODD
UNITS: dict[str, str] = {
    "health_mean": "health state 0-1",
    "hle_mean": "years",
    "hle_sii": "years",
    "hle_rii": "ratio, least to most deprived fitted end (PHE)",
    "hle_relative_sii": "ratio to mean",
    "hle_gap_q1_q5": "years",
    "health_gini": "0-1",
    "spend_concentration_index": "-1 to 1 (negative: towards the deprived)",
    "horizontal_inequity": "CI(spend) - CI(need)",
    "inverse_care_sii": "GBP spent per GBP of need, least minus most deprived",
    "theil_between_places": "Theil T of HLE",
    "theil_within_places": "Theil T of HLE",
    "unmet_need": "share of need",
    "unmet_need_hidden": "share of hidden need",
    "duplicated_spend_gbp": "GBP per year",
    "unfunded_need": "GBP per year",
    "decision_delay_months": "months from April",
    "deadlocks": "failed meetings (cumulative)",
    "transaction_cost_gbp": "GBP per year",
    "strategy_alignment": "0-1",
    "trust_mean": "0-1",
    "vcse_survival": "share of VCSE bodies operating",
    "health_gain_per_million_gbp": "HLE person-years per GBP million",
}


#: summary keys that :func:`summarise` takes from the partnerships' own histories, whatever the
#: recorder kept (so a summary-only recorder need not record them every month)
FROM_HISTORY = frozenset({"decision_delay_months", "power_imbalance"})


class Recorder:
    """Collects the monthly outputs of one model.

    Args:
        model: the :class:`~ics_sim.model.ICSModel`.
        timeseries: True (default) records every month; False records only the months the summary
            reads — the last 12 before the horizon (``"last"`` and ``"mean12"`` keys; the
            ``"run_mean"`` keys come from the partnerships' histories, :data:`FROM_HISTORY`) — so
            a batch that keeps only summaries does not pay for a monthly record it throws away.
            The months recorded are computed exactly as in a full record, so :func:`summarise`
            gives the same numbers either way.
    """

    def __init__(self, model, timeseries: bool = True):
        self.model = model
        L = model.layout
        self.data: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
        self.units = {
            "system": list(L.system_names),
            "place": list(L.place_names),
            "neighbourhood": L.nb_names,
        }
        if L.n_systems > 1:
            self.units["national"] = ["England"]
        self.months: list[int] = []
        self.timeseries = timeseries
        run_means = {k for k, how in {**SUMMARY_KEYS, **EXTRA_SUMMARY}.items() if how == "run_mean"}
        if not timeseries and not run_means <= FROM_HISTORY:  # a new run_mean key needs every month
            raise ValueError(f"summary keys {sorted(run_means - FROM_HISTORY)} need every month: record the time series")
        #: first month a summary-only recorder records (the summary reads at most the last 12)
        self.first_month = 0 if timeseries else max(int(model.cfg.years) * 12 - 12, 0)
        self._decile = L.nb_decile
        self._ranks = L.nb_rank
        # the layout is fixed for a run: each group's (system's, or England's) neighbourhoods,
        # places and partnerships are found once rather than every month
        place_pop = L.place_population()
        self._groups = [self._group(idx, place_pop) for idx in L.system_index]
        self._national = self._group(np.arange(L.n_neighbourhoods), place_pop) if L.n_systems > 1 else None

    def _group(self, idx: np.ndarray, place_pop: np.ndarray) -> dict:
        """Static index arrays of one group of neighbourhoods (a system, or the whole country)."""
        L = self.model.layout
        places_mask = np.isin(np.arange(L.n_places), np.unique(L.nb_place[idx]))
        place_of = L.nb_place[idx]
        return {
            "idx": idx,
            "places_mask": places_mask,
            "place_of": place_of,
            # per place of the group (ascending), the positions of its neighbourhoods in the group
            "place_rows": [np.flatnonzero(place_of == p) for p in np.unique(place_of)],
            "parts": [p for p in self.model.partnerships if places_mask[p.place]],
            "place_pop": place_pop[places_mask],
        }

    def place_unmet_share(self, unmet: np.ndarray) -> np.ndarray:
        L, need = self.model.layout, self.model.population.need
        u = np.bincount(L.nb_place, weights=unmet.sum(axis=1), minlength=L.n_places)
        n = np.bincount(L.nb_place, weights=need.sum(axis=1), minlength=L.n_places)
        return u / np.maximum(n, 1e-12)

    # ------------------------------------------------------------------ per month
    def record(self, d) -> None:
        m = self.model
        if m.month < self.first_month:  # summary-only: a month the summary never reads
            m.transaction_cost[:] = 0.0  # the month's costs are reported; the next month starts afresh
            return
        L, pop = m.layout, m.population
        self.months.append(m.month)
        hle, health, people = pop.hle, pop.health, L.nb_population
        need = pop.need
        unmet = np.maximum(need - d.met, 0.0)
        spend_nb = d.spend.sum(axis=1)
        need_nb = need.sum(axis=1)

        # neighbourhoods
        self._put("neighbourhood", "population", people)
        self._put("neighbourhood", "imd_rank", self._ranks)
        self._put("neighbourhood", "hle", hle)
        self._put("neighbourhood", "health", health)
        self._put("neighbourhood", "unmet_need", unmet.sum(axis=1) / np.maximum(need_nb, 1e-12))
        self._put("neighbourhood", "spend_per_head_gbp", spend_nb / people)

        # places
        pl = L.nb_place
        place_people = np.bincount(pl, weights=people, minlength=L.n_places)
        hidden = pop.hidden_need
        unmet_hidden = np.maximum(hidden - d.met_hidden, 0.0)
        self._put("place", "population", place_people)
        self._put("place", "hle_mean", np.bincount(pl, weights=hle * people, minlength=L.n_places) / place_people)
        self._put("place", "unmet_need", self.place_unmet_share(unmet))
        self._put(
            "place",
            "unmet_need_hidden",
            np.bincount(pl, weights=unmet_hidden.sum(axis=1), minlength=L.n_places)
            / np.maximum(np.bincount(pl, weights=hidden.sum(axis=1), minlength=L.n_places), 1e-12),
        )
        self._put("place", "spend_gbp", np.bincount(pl, weights=spend_nb, minlength=L.n_places))
        self._put("place", "delegated_budget_gbp", m.pot_envelope.sum(axis=1))
        self._put("place", "delegated_share", m.shares.mean(axis=1))
        self._put("place", "duplicated_spend_gbp", np.bincount(pl, weights=d.duplicated.sum(axis=1), minlength=L.n_places))
        parts = m.partnerships
        self._put("place", "trust_mean", np.array([p.mean_trust() for p in parts]))
        delay = np.array([p.year.delay if p.year.decided else (m.month % 12) + 1 for p in parts], dtype=float)
        self._put("place", "decision_delay_months", delay)
        self._put("place", "deadlocks", np.array([p.deadlocks_total for p in parts], dtype=float))
        self._put("place", "governance_form", np.array([GOVERNANCE_FORMS.index(p.form) for p in parts], dtype=float))
        self._put("place", "vcse_alive", np.array([float(v.alive) for v in m.vcses]))
        self._put("place", "transaction_cost_gbp", m.transaction_cost * 12.0)

        # systems (and England); whole-population arrays are computed once and indexed per group
        full = {"hle": hle, "hidden": hidden, "unmet_hidden": unmet_hidden}
        rows = [self._system_metrics(g, d, unmet, delay, s, full) for s, g in enumerate(self._groups)]
        for key in rows[0]:
            self._put("system", key, np.array([r[key] for r in rows]))
        if self._national is not None:
            nat = self._system_metrics(self._national, d, unmet, delay, None, full)
            for key, v in nat.items():
                self._put("national", key, np.array([v]))
        m.transaction_cost[:] = 0.0

    def _system_metrics(self, group: dict, d, unmet: np.ndarray, delay: np.ndarray, s: int | None, full: dict) -> dict[str, float]:
        """The system-level measures of one group (a system, or England when ``s`` is None).

        ``full`` holds this month's whole-population arrays (HLE, hidden need, unmet hidden need).
        """
        m = self.model
        L, pop = m.layout, m.population
        mask = group["idx"]  # an index array: selects the same cells, in the same order, as a mask
        people = L.nb_population[mask]
        hle = full["hle"][mask]
        health = pop.health[mask]
        need = pop.need[mask]
        spend = d.spend[mask]
        dec = self._decile[mask]
        rank = self._ranks[mask]
        places_mask = group["places_mask"]
        place_of = group["place_of"]
        out: dict[str, float] = {}
        out["population"] = float(people.sum())
        out["health_mean"] = float(np.average(health, weights=people))
        out["hle_mean"] = float(np.average(hle, weights=people))
        gv, gp = metrics.decile_groups(dec, hle, people)
        if len(gv) >= 2:
            out["hle_sii"], out["hle_rii"] = metrics.sii(gv, gp)
            out["hle_relative_sii"] = metrics.relative_sii(gv, gp)
        else:  # one decile: no gradient can be fitted
            out["hle_sii"], out["hle_rii"], out["hle_relative_sii"] = 0.0, 1.0, 0.0
        q1, q5 = dec <= 2, dec >= 9
        out["hle_q1"] = float(np.average(hle[q1], weights=people[q1])) if q1.any() else float("nan")
        out["hle_q5"] = float(np.average(hle[q5], weights=people[q5])) if q5.any() else float("nan")
        out["hle_gap_q1_q5"] = out["hle_q5"] - out["hle_q1"] if q1.any() and q5.any() else float("nan")
        out["health_gini"] = metrics.gini(health, people)
        spend_ph = spend.sum(axis=1) / people
        need_ph = need.sum(axis=1) / people
        out["spend_concentration_index"] = metrics.concentration_index(spend_ph, rank, people) if spend_ph.sum() > 0 else 0.0
        out["horizontal_inequity"] = metrics.horizontal_inequity(spend_ph, need_ph, rank, people) if spend_ph.sum() > 0 else 0.0
        ratio = spend.sum(axis=1) / np.maximum(need.sum(axis=1), 1e-12)
        rv, rp = metrics.decile_groups(dec, ratio, people)
        out["inverse_care_sii"] = metrics.sii(rv, rp)[0] if len(rv) >= 2 else 0.0
        th = metrics.theil(hle, people, place_of)
        out["theil_between_places"], out["theil_within_places"] = th.between, th.within
        cov = np.maximum(m.coverage[mask], 1e-9)
        ct = metrics.theil(cov, people, place_of)
        out["coverage_theil_between_places"], out["coverage_theil_within_places"] = ct.between, ct.within
        out["need_mismatch_within_places"] = self._within_mismatch(spend, need, group["place_rows"])
        total_need = need.sum()
        unmet_g = unmet[mask]
        out["unmet_need"] = float(unmet_g.sum() / total_need)
        hidden = full["hidden"][mask]
        out["unmet_need_hidden"] = float(full["unmet_hidden"][mask].sum() / max(hidden.sum(), 1e-12))
        for k, name in enumerate(DOMAINS):
            out[f"unmet_need_{name}"] = float(unmet_g[:, k].sum() / max(need[:, k].sum(), 1e-12))
        out["duplicated_spend_gbp"] = float(d.duplicated[mask].sum())
        out["unfunded_need"] = float(d.unfunded[mask].sum())
        out["spend_gbp"] = float(spend.sum())
        out["need_gbp"] = float(total_need)
        parts = group["parts"]
        out["decision_delay_months"] = float(np.mean(delay[places_mask]))
        out["deadlocks"] = float(sum(p.deadlocks_total for p in parts))
        out["transaction_cost_gbp"] = float(m.transaction_cost[places_mask].sum() * 12.0)
        if s is not None and m.icps[s].strategy is not None:
            share = spend.sum(axis=0) / max(spend.sum(), 1e-12)
            out["strategy_alignment"] = float(1.0 - 0.5 * np.abs(share - m.icps[s].strategy).sum())
        elif s is None:
            vals = [self.data[("system", "strategy_alignment")][-1]] if ("system", "strategy_alignment") in self.data else []
            out["strategy_alignment"] = float(np.mean(vals[-1])) if vals else float("nan")
        else:
            out["strategy_alignment"] = float("nan")
        out["trust_mean"] = float(np.mean([p.mean_trust() for p in parts]))
        out["vcse_survival"] = float(np.mean([m.vcses[p.place].alive for p in parts]))
        imb = [x for p in parts for x in p.power_imbalance]
        out["power_imbalance"] = float(np.mean(imb)) if imb else float("nan")
        gained = float((people * (hle - m.initial_hle[mask])).sum())
        out["health_gain_per_million_gbp"] = gained / max(m.cumulative_spend / 1e6, 1e-9) if s is None or L.n_systems == 1 else gained / max(m.cumulative_spend * people.sum() / L.nb_population.sum() / 1e6, 1e-9)
        out["own_service_bias"] = self._own_service_bias(parts, spend, need, place_of)
        if L.n_systems == 1:
            budget = sum(v for k, v in m.year_budget.items() if k.startswith(("icb:", "council:")) and (s is None or not k.startswith("icb:") or k == f"icb:{s}"))
            out["unspent_gbp"] = float(max(budget - spend.sum(), 0.0))
        else:  # budgets of several systems are not comparable with one group's spending
            out["unspent_gbp"] = float("nan")
        out["delegated_share"] = float(np.average(m.shares[places_mask].mean(axis=1), weights=group["place_pop"]))
        if m.cfg.sed.enabled and s is not None:
            out["external_funding_gbp"] = float(m.external_funding[s])
            out["local_spend_share"] = float(m.cfg.sed.anchor_local_share * (1.0 + 0.2 * out["trust_mean"]))
        return out

    @staticmethod
    def _within_mismatch(spend: np.ndarray, need: np.ndarray, place_rows: list[np.ndarray]) -> float:
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

    def _own_service_bias(self, parts, spend, need, place_of) -> float:
        """Share of place spending on the pot holder's own services minus their share of need (lead
        provider bias); 0 where no provider holds a pot."""
        vals = []
        for p in parts:
            if p.form != "lead_provider" or not p.voters:
                continue
            own = list(p.voters[0].org.own_domains)
            i = place_of == p.place
            s, n = spend[i].sum(axis=0), need[i].sum(axis=0)
            vals.append(s[own].sum() / s.sum() - n[own].sum() / n.sum())
        return float(np.mean(vals)) if vals else 0.0

    def _put(self, level: str, metric: str, values: np.ndarray) -> None:
        self.data[(level, metric)].append(np.asarray(values, dtype=float))

    # ------------------------------------------------------------------ tables
    def frame(self, run: str = "", scenario: str = "", seed: int = 0) -> pd.DataFrame:
        """The tidy long time series: run, scenario, seed, month, level, unit, metric, value.

        Rows run metric by metric (in the order first recorded), month by month, unit by unit. A
        summary-only recorder (``timeseries=False``) holds only the months it recorded.
        """
        months = np.array(self.months)
        keys = list(self.data)
        blocks = [np.array(self.data[key], dtype=float) for key in keys]  # each months x units
        sizes = [b.size for b in blocks]
        n = sum(sizes)

        def strings(values: list[str], repeats: int | list[int]) -> pd.api.extensions.ExtensionArray:
            # np.repeat of a few objects is much faster than filling an object array value by value
            return pd.array(np.repeat(np.array(values, dtype=object), repeats), dtype="string")

        unit_names = {level: np.array(units, dtype=object) for level, units in self.units.items()}
        units = np.concatenate([np.tile(unit_names[level], b.shape[0]) for (level, _), b in zip(keys, blocks, strict=True)])
        # one frame built from whole columns (rather than a frame per metric, concatenated)
        return pd.DataFrame(
            {
                "run": strings([run], n),
                "scenario": strings([scenario], n),
                "seed": np.full(n, seed, dtype=np.int64),
                "month": np.concatenate([np.repeat(months, b.shape[1]) for b in blocks]),
                "level": strings([level for level, _ in keys], sizes),
                "unit": pd.array(units, dtype="string"),
                "metric": strings([metric for _, metric in keys], sizes),
                "value": np.concatenate([b.ravel() for b in blocks]),
            }
        )

    def series(self, metric: str, level: str = "system", unit: int = 0) -> np.ndarray:
        """One metric's monthly values for one unit (fast access without building the frame)."""
        return np.array([v[unit] for v in self.data[(level, metric)]])


def summarise(recorder: Recorder) -> dict[str, float]:
    """Horizon values of the run (system level; national level when several systems)."""
    level = "national" if recorder.model.layout.n_systems > 1 else "system"
    out: dict[str, float] = {}
    for key, how in {**SUMMARY_KEYS, **EXTRA_SUMMARY}.items():
        if (level, key) not in recorder.data:
            continue
        series = recorder.series(key, level)
        finite = series[np.isfinite(series)]
        if how == "last":
            v = series[-1]
        elif how == "mean12":
            tail = series[-12:]
            tail = tail[np.isfinite(tail)]
            v = tail.mean() if tail.size else float("nan")
        else:  # run_mean
            v = finite.mean() if finite.size else float("nan")
        out[key] = float(v)
    parts = recorder.model.partnerships
    delays = [d for p in parts for d in p.delays]
    out["decision_delay_months"] = float(np.mean(delays)) if delays else 0.0
    imb = [x for p in parts for x in p.power_imbalance]
    out["power_imbalance"] = float(np.mean(imb)) if imb else float("nan")
    return out
