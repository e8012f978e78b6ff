"""The monthly record and the run summary (MODEL.md section 7).

Every month the recorder stores, per neighbourhood, place and system (and nationally when a run
holds several systems), the health, inequality, coordination, partnership and value measures as
arrays; the system-level measures are computed by :mod:`ics_sim.model.system_metrics`.
:meth:`Recorder.frame` returns the tidy long table (month, level, unit, metric, value);
:func:`summarise` reduces it to the horizon values.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from ics_sim.domains import GOVERNANCE_FORMS
from ics_sim.model.system_metrics import group_indices, place_unmet_share, system_metrics

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
    "qalys": "last",
    "spend_gbp_total": "last",
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
    "running_cost_gbp_total": "last",
    "hle_gap_local_fifths": "last",
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
    "qalys": "QALYs lived by the population over the run",
    "spend_gbp_total": "GBP spent on care over the run",
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
        self._ranks = L.nb_rank
        # the layout is fixed for a run: each group's (system's, or England's) neighbourhoods,
        # places and partnerships are found once rather than every month
        place_pop = L.place_population()
        self._groups = [group_indices(model, idx, place_pop) for idx in L.system_index]
        self._national = group_indices(model, np.arange(L.n_neighbourhoods), place_pop) if L.n_systems > 1 else None

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
        self._put("place", "unmet_need", place_unmet_share(L, need, unmet))
        self._put(
            "place",
            "unmet_need_hidden",
            np.bincount(pl, weights=unmet_hidden.sum(axis=1), minlength=L.n_places)
            / np.maximum(np.bincount(pl, weights=hidden.sum(axis=1), minlength=L.n_places), 1e-12),
        )
        self._put("place", "spend_gbp", np.bincount(pl, weights=spend_nb, minlength=L.n_places))
        self._put("place", "delegated_budget_gbp", m.finance.pot_envelope.sum(axis=1))
        self._put("place", "delegated_share", m.finance.shares.mean(axis=1))
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
        rows = [system_metrics(m, g, d, unmet, delay, s, full) for s, g in enumerate(self._groups)]
        for key in rows[0]:
            self._put("system", key, np.array([r[key] for r in rows]))
        if self._national is not None:
            alignment = np.array([r["strategy_alignment"] for r in rows], dtype=float)
            nat = system_metrics(m, self._national, d, unmet, delay, None, full, alignment)
            for key, v in nat.items():
                self._put("national", key, np.array([v]))
        m.transaction_cost[:] = 0.0

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
