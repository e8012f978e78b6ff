"""The monthly record and the run summary (MODEL.md section 7).

Every month the recorder stores, per neighbourhood, place and system (and nationally when a run
holds several systems), the health, inequality, coordination, partnership and value measures as
arrays. The system-level measures of every system (and England) are computed by
:class:`~ics_sim.model.system_metrics.SystemMeasures` a block of months at once: each month the
recorder keeps their inputs (a snapshot), and computes the months pending together when 12 are
pending or when anyone reads the record (:attr:`Recorder.data`, and through it
:meth:`Recorder.series`, :meth:`Recorder.frame` and :func:`summarise`); nothing in the model reads
the record during a run, and the numbers are those of a month at a time, bit for bit.
:meth:`Recorder.frame` returns the tidy long table (month, date, level, area, metric,
measure_unit, value); :data:`METRICS` is the data dictionary (unit, direction, levels) of every measure;
:func:`summarise` reduces it to the horizon values.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ics_sim.domains import CHAIRS, DECISION_RULES, DELEGATION_RULES, DOMAINS, GOVERNANCE_FORMS
from ics_sim.model.commissioning import table_trust
from ics_sim.model.governance.partnership import MEMBER_PAIRS
from ics_sim.model.system_metrics import (
    SYSTEM_ONLY,
    SystemMeasures,
    group_indices,
    place_unmet_share,
)

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
    "vcse_capacity": "last",
}

#: what "better" means for a measure: higher, lower, closer to zero, or neither (context)
DIRECTIONS: dict[str, str] = {
    "higher": "higher is better",
    "lower": "lower is better",
    "zero": "closer to zero is better",
    "none": "neither (context)",
}
#: the levels a measure can be recorded at (and, in multi-system runs, ``national`` for England)
N, P, S = "neighbourhood", "place", "system"


@dataclass(frozen=True)
class Metric:
    """One recorded measure in the data dictionary (docs/OUTPUTS.md).

    Attributes:
        label: a plain name for titles and axes, e.g. ``"Unmet need"``.
        unit: the unit of the stored value (money always in GBP; flows per year).
        direction: a key of :data:`DIRECTIONS`: ``higher``, ``lower``, ``zero`` or ``none``.
        levels: the levels at which it is recorded each month (runs holding several systems
            also record every system measure at the ``national`` level).
        description: what it is, in one line.
    """

    label: str
    unit: str
    direction: str
    levels: tuple[str, ...]
    description: str


#: the data dictionary: every measure the recorder stores, with its unit, direction and levels;
#: docs/OUTPUTS.md is generated from it (``python scripts/outputs_doc.py``)
METRICS: dict[str, Metric] = {
    # people and places
    "population": Metric("Population", "people", "none", (N, P, S), "residents"),
    "imd_rank": Metric("Deprivation rank", "rank 0-1 (0 = most deprived)", "none", (N,), "national deprivation rank of the neighbourhood"),
    # health and its inequality
    "hle": Metric("Healthy life expectancy", "years", "higher", (N,), "healthy life expectancy of the neighbourhood"),
    "hle_mean": Metric("Healthy life expectancy", "years", "higher", (P, S), "population-weighted mean healthy life expectancy (HLE)"),
    "health": Metric("Health state", "health state 0-1", "higher", (N,), "health state of the neighbourhood"),
    "health_mean": Metric("Mean health state", "health state 0-1", "higher", (S,), "population-weighted mean health state"),
    "hle_sii": Metric("Inequality in healthy life expectancy (SII)", "years", "lower", (S,), "slope index of inequality of HLE across deprivation deciles"),
    "hle_rii": Metric("Relative inequality in healthy life expectancy (RII)", "ratio, least to most deprived fitted end", "lower", (S,),
        "relative index of inequality of HLE as PHE/OHID publish it: fitted value at the least deprived end / at the most deprived end"),
    "hle_relative_sii": Metric("Inequality in healthy life expectancy relative to the mean", "ratio to mean", "lower", (S,),
        "SII of HLE divided by its population-weighted mean (not the PHE RII)"),
    "hle_q1": Metric("Healthy life expectancy, most deprived fifth", "years", "higher", (S,),
        "mean HLE of the most deprived fifth (deciles 1-2; the group's own population fifth where it has none)"),
    "hle_q5": Metric("Healthy life expectancy, least deprived fifth", "years", "higher", (S,),
        "mean HLE of the least deprived fifth (deciles 9-10; the group's own population fifth where it has none)"),
    "hle_gap_local_fifths": Metric("Quintile gap on the group's own fifths", "0/1", "none", (S,),
        "1 where the quintile gap uses the group's own population fifths (no national fifth present)"),
    "qalys": Metric("QALYs lived", "QALYs", "higher", (S,), "QALYs lived by the population so far in the run"),
    "hle_gap_q1_q5": Metric("Healthy life expectancy gap, least vs most deprived fifth", "years", "lower", (S,), "HLE gap: least minus most deprived fifth"),
    "health_gini": Metric("Gini of health", "0-1", "lower", (S,), "Gini coefficient of the health state"),
    "theil_between_places": Metric("Inequality of HLE between places", "Theil T of HLE", "lower", (S,), "inequality of HLE between places"),
    "theil_within_places": Metric("Inequality of HLE within places", "Theil T of HLE", "lower", (S,), "inequality of HLE within places"),
    # spending against need
    "spend_concentration_index": Metric("Concentration of spending by deprivation",
        "-1 to 1 (negative: towards the deprived)", "none", (S,),
        "concentration index of spending per head by deprivation (ignores need: see horizontal_inequity)"),
    "horizontal_inequity": Metric("Horizontal inequity of spending",
        "CI(spend) - CI(need)", "zero", (S,), "spending's concentration beyond need's: 0 when spending follows need"),
    "inverse_care_sii": Metric("Inverse care (spending per pound of need)",
        "GBP spent per GBP of need, least minus most deprived", "zero", (S,),
        "slope index of spending per pound of need: > 0 is the inverse care law"),
    "coverage_theil_between_places": Metric("Variation of coverage between places", "Theil T of coverage", "lower", (S,), "variation of coverage (need met) between places"),
    "coverage_theil_within_places": Metric("Variation of coverage within places", "Theil T of coverage", "lower", (S,), "variation of coverage within places"),
    "need_mismatch_within_places": Metric("Spending misplaced within places", "share of spending", "lower", (S,), "share of spending misplaced against need within places"),
    "unmet_need": Metric("Unmet need", "share of need", "lower", (N, P, S), "unmet need / need"),
    "unmet_need_hidden": Metric("Unmet hidden need (excluded groups)", "share of hidden need", "lower", (P, S), "unmet hidden need (excluded groups) / hidden need"),
    **{f"unmet_need_{d}": Metric(f"Unmet need, {d.replace('_', ' ')}", "share of need", "lower", (S,), f"unmet need / need in the {d} domain")
       for d in DOMAINS},
    # money (GBP; flows are annual rates)
    "spend_per_head_gbp": Metric("Spending per head", "GBP per person per year", "none", (N,), "spending per resident"),
    "spend_gbp": Metric("Spending", "GBP per year", "none", (P, S), "spending on care"),
    "need_gbp": Metric("Need", "GBP per year", "none", (S,), "need, priced at reference unit cost"),
    "delegated_budget_gbp": Metric("Delegated place budget", "GBP per year", "none", (P,), "the place pot: delegated NHS money plus pooled council money"),
    "delegated_share": Metric("Share delegated to places", "share of domain budget", "none", (P, S), "mean share of NHS domain budgets delegated to the place"),
    "duplicated_spend_gbp": Metric("Duplicated spending", "GBP per year", "lower", (P, S), "spending duplicated by uncoordinated funders"),
    "unfunded_need": Metric("Unfunded need (gaps)", "GBP per year", "lower", (S,), "need not covered by effective spending (gaps)"),
    "unspent_gbp": Metric("Unspent budget", "GBP per year", "none", (S,), "this year's ICB and council budgets less spending"),
    "transaction_cost_gbp": Metric("Transaction costs", "GBP per year", "lower", (P, S),
        "running costs of partnership working incurred this month (meetings held, ICP, standing costs) x 12"),
    "spend_gbp_total": Metric("Care spending so far", "GBP", "none", (S,), "care spending so far in the run"),
    "running_cost_gbp_total": Metric("Running costs so far", "GBP", "lower", (S,), "running costs of partnership working so far in the run"),
    "health_gain_per_million_gbp": Metric("Health gain per pound",
        "HLE person-years per GBP million", "higher", (S,), "HLE gained since the start per GBP million spent"),
    # partnership working
    "decision_delay_months": Metric("Decision delay", "months from April", "lower", (P, S), "month of this year's place budget decision"),
    "deadlocks": Metric("Deadlocked meetings", "failed meetings (cumulative)", "lower", (P, S), "meetings that ended without a decision"),
    "strategy_alignment": Metric("Alignment with the ICP strategy",
        "share of the budgets' distance from the ICP strategy that spending has closed (1 = on strategy, below 0 = further)",
        "higher", (S,), "how far spending has moved from the budgets' domain mix towards the ICP strategy"),
    "trust_mean": Metric("Trust between partners", "0-1", "higher", (P, S), "mean trust between partners"),
    "trust": Metric("Trust between a pair of members", "0-1 (NaN: not both seated)", "higher", ("pair",),
        "mutual trust of a pair of members at a place table (recorded with the time series)"),
    "governance_form": Metric("Governance form", "index into GOVERNANCE_FORMS", "none", (P,), "the place's current governance form"),
    # each place's settings (its own under place_settings, else the run's; constant but for the ladder)
    "pooled": Metric("Pooled budget", "0/1", "none", (P,), "1 while the place's council money is pooled with its delegated NHS money (section 75)"),
    "membership_vcse": Metric("VCSE at the table", "0/1", "none", (P,), "1 where VCSE bodies are members of the place's table (membership.vcse)"),
    "membership_healthwatch": Metric("Healthwatch at the table", "0/1", "none", (P,), "1 where Healthwatch is a member of the place's table (membership.healthwatch)"),
    "membership_social_care": Metric("Social care providers at the table", "0/1", "none", (P,),
        "1 where social care providers are represented at the place's table (membership.social_care)"),
    "decision_rule": Metric("Decision rule", "index into DECISION_RULES", "none", (P,),
        "the place table's decision rule: " + ", ".join(f"{i} {r}" for i, r in enumerate(DECISION_RULES))),
    "chair": Metric("Chair", "index into CHAIRS", "none", (P,), "who chairs the place's table: " + ", ".join(f"{i} {c}" for i, c in enumerate(CHAIRS))),
    "delegation_rule": Metric("Delegation rule", "index into DELEGATION_RULES", "none", (P,),
        "the rule that sets the place's delegated share: " + ", ".join(f"{i} {r}" for i, r in enumerate(DELEGATION_RULES))),
    "ladder_moves": Metric("Moves on the ladder of formality", "changes of form (cumulative)", "none", (P,), "the place's changes of form on the ladder of formality so far (the summary counts all places)"),
    "power_imbalance": Metric("Power imbalance", "-1 to 1 (0 = even, 1 = the setter's own plan)", "zero", (S,), "how far decisions sit towards the agenda setter"),
    "own_service_bias": Metric("Lead provider's own-service bias",
        "share of spending minus share of need", "zero", (S,), "a lead provider's own services' share of spending beyond need"),
    "vcse_alive": Metric("VCSE bodies operating", "share of the place's starting VCSE bodies", "higher", (P,), "share of the place's starting VCSE bodies still operating"),
    "vcse_survival": Metric("VCSE survival", "share of the VCSE bodies of the start still operating", "higher", (S,), "share of the starting VCSE bodies still operating"),
    "vcse_capacity": Metric("VCSE capacity", "share of the sector's full capacity operating", "higher", (P, S),
        "share of the VCSE sector's full capacity operating (folded bodies replaced, regrowing)"),
    # social and economic development (only with sed.enabled)
    "external_funding_gbp": Metric("External funding drawn in", "GBP per year", "higher", (S,), "wider-determinants funding drawn in (sed.enabled)"),
    "local_spend_share": Metric("Local share of spending", "share of spending", "higher", (S,), "NHS non-pay spending kept local (sed.enabled)"),
}

#: units of the summary measures, for tables, plots and the ODD (from :data:`METRICS`)
UNITS: dict[str, str] = {key: METRICS[key].unit for key in {**SUMMARY_KEYS, **EXTRA_SUMMARY}}


def measure_unit(metric: str) -> str:
    """The unit of a recorded measure (empty when it is not in :data:`METRICS`)."""
    m = METRICS.get(metric)
    return m.unit if m is not None else ""


def direction(metric: str) -> str:
    """``higher``, ``lower``, ``zero`` or ``none``: which way a measure is better (:data:`DIRECTIONS`)."""
    m = METRICS.get(metric)
    return m.direction if m is not None else "none"


#: the place-level record of each place's settings: metric -> its value for a partnership
SETTINGS = {
    "pooled": lambda p: p.pooled,
    "membership_vcse": lambda p: p.settings.membership.vcse,
    "membership_healthwatch": lambda p: p.settings.membership.healthwatch,
    "membership_social_care": lambda p: p.settings.membership.social_care,
    "decision_rule": lambda p: DECISION_RULES.index(p.settings.decision_rule),
    "chair": lambda p: CHAIRS.index(p.settings.chair),
    "delegation_rule": lambda p: DELEGATION_RULES.index(p.settings.delegation.rule),
}


def place_settings_text(model) -> str:
    """Each place's settings at the horizon, for the summary: ``'<place>: form=committee
    pooled=false vcse=true healthwatch=true social_care=true decision_rule=majority
    chair=independent delegation=subsidiarity delegated_share=0.4; <place>: ...'`` (the
    delegated share is the mean over domains at the horizon)."""
    def flag(x: bool) -> str:
        return "true" if x else "false"

    out = []
    for p, share in zip(model.partnerships, model.finance.shares.mean(axis=1), strict=True):
        c = p.settings
        out.append(
            f"{model.layout.place_names[p.place]}: form={p.form} pooled={flag(p.pooled)} vcse={flag(c.membership.vcse)} "
            f"healthwatch={flag(c.membership.healthwatch)} social_care={flag(c.membership.social_care)} "
            f"decision_rule={c.decision_rule} chair={c.chair} delegation={c.delegation.rule} delegated_share={share:.3g}"
        )
    return "; ".join(out)


#: summary keys that :func:`summarise` takes from the partnerships' own histories, whatever the
#: recorder kept (so a summary-only recorder need not record them every month)
FROM_HISTORY = frozenset({"decision_delay_months", "power_imbalance"})


class Recorder:
    """Collects the monthly outputs of one model.

    :meth:`record` puts the month's neighbourhood, place and pair measures in the record at once;
    the system (and national) measures' inputs it keeps (:meth:`SystemMeasures.snapshot
    <ics_sim.model.system_metrics.SystemMeasures.snapshot>`) until 12 months are pending (a
    year of England's inputs is about 5 MiB) or the record is read: reading :attr:`data` first
    computes the months pending in one pass and appends them month by month. The first month's
    are computed at once, so that the system and national measures come after the neighbourhood,
    place and pair measures in the record's order, as each month records them.

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
        self._data: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
        #: the names of the areas (the geographic units) at each level, in array order
        self.areas = {
            "system": list(L.system_names),
            "place": list(L.place_names),
            "neighbourhood": list(L.nb_names),
        }
        if L.n_systems > 1:
            self.areas["national"] = ["England"]
        if timeseries:  # the trust network: one area per place and pair of members
            self.areas["pair"] = [f"{place}: {a}-{b}" for place in L.place_names for a, b in MEMBER_PAIRS]
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
        groups = [group_indices(model, idx, place_pop) for idx in L.system_index]
        if L.n_systems > 1:
            groups.append(group_indices(model, np.arange(L.n_neighbourhoods), place_pop))
        self._systems = SystemMeasures(model, groups, national=L.n_systems > 1)
        #: per place, the settings object and pooled flag last recorded and their values (:data:`SETTINGS`)
        self._settings: list[tuple[Any, bool, tuple[float, ...]] | None] = [None] * L.n_places
        #: every table's members, and where each table's cells and recorded pair's trust sit in
        #: their matrices laid end to end (:func:`_pair_positions`)
        self._pairs: tuple[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    # ------------------------------------------------------------------ per month
    def record(self, d) -> None:
        """Record this month (``d``: its :class:`~ics_sim.model.delivery.Delivery`): the
        neighbourhood, place and pair measures now, the system measures' inputs for the next
        flush (:class:`Recorder`); then this month's transaction costs start afresh."""
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
        delegated_share = m.finance.shares.mean(axis=1)
        self._put("place", "delegated_share", delegated_share)
        self._put("place", "duplicated_spend_gbp", np.bincount(pl, weights=d.duplicated.sum(axis=1), minlength=L.n_places))
        parts = m.partnerships
        place_trust = table_trust(m).mean  # every place's mean_trust, as commissioning reads it
        pair_trust = self._pair_trust(parts)
        self._put("place", "trust_mean", place_trust)
        delay = np.array([p.year.delay if p.year.decided else (m.month % 12) + 1 for p in parts], dtype=float)
        self._put("place", "decision_delay_months", delay)
        self._put("place", "deadlocks", np.array([p.deadlocks_total for p in parts], dtype=float))
        self._put("place", "governance_form", np.array([GOVERNANCE_FORMS.index(p.form) for p in parts], dtype=float))
        self._put_settings(parts)
        moves = np.bincount([place for _, place, _ in m.form_changes], minlength=L.n_places).astype(float)
        self._put("place", "ladder_moves", moves)
        sectors = m.vcse_sectors  # every place's sector, in place order (m.vcses[p] is its row p)
        vcse_alive = sectors.survival()
        vcse_capacity = sectors.operating_share()
        self._put("place", "vcse_alive", vcse_alive)
        self._put("place", "vcse_capacity", vcse_capacity)
        self._put("place", "transaction_cost_gbp", m.transaction_cost * 12.0)
        if self.timeseries:
            self._put("pair", "trust", pair_trust)

        # systems (and England): this month's inputs kept, the measures computed a block at a time
        full = {"hle": hle, "hidden": hidden, "unmet_hidden": unmet_hidden, "place_trust": place_trust,
                "vcse_alive": vcse_alive, "vcse_capacity": vcse_capacity, "delegated_share": delegated_share,
                "spend_nb": spend_nb, "need_nb": need_nb}
        systems = self._systems
        systems.snapshot(m, d, unmet, delay, full)
        m.transaction_cost[:] = 0.0
        if len(self.months) == 1 or systems.pending == systems.block:
            # the first month at once: its measures take their place in the record's order, after
            # the neighbourhood, place and pair measures, as every month's did
            self._flush()

    def _flush(self) -> None:
        """The system (and national) measures of the months pending, appended month by month."""
        if not self._systems.pending:
            return
        values = self._systems.flush(self.model)
        n, data = self.model.layout.n_systems, self._data
        for key, v in values.items():
            data[("system", key)].extend(v[:, :n])
        if n > 1:
            for key, v in values.items():
                if key not in SYSTEM_ONLY:
                    data[("national", key)].extend(v[:, n:])

    @property
    def data(self) -> dict[tuple[str, str], list[np.ndarray]]:
        """The record: per (level, metric), in the order first recorded, one array a month (the
        areas' values). Reading it first computes the system measures of the months pending."""
        self._flush()
        return self._data

    def _put_settings(self, parts) -> None:
        """Each place's settings (:data:`SETTINGS`), as numbers, every month. A place's values are
        worked out again only when its settings object or its pooled flag has changed (settings
        are replaced, never edited, during a run)."""
        rows = []
        for p in parts:
            last = self._settings[p.place]
            if last is None or last[0] is not p.settings or last[1] != p.pooled:
                last = self._settings[p.place] = (p.settings, p.pooled, tuple(float(value(p)) for value in SETTINGS.values()))
            rows.append(last[2])
        table = np.array(rows, dtype=float).reshape(len(parts), len(SETTINGS))
        for j, metric in enumerate(SETTINGS):
            self._put("place", metric, table[:, j])

    def _pair_trust(self, parts) -> np.ndarray:
        """Every place's :meth:`~ics_sim.model.governance.partnership.PlacePartnership.pair_trust`
        end to end, from one gather over all the trust matrices: a pair's trust is
        ``0.5 * (t[i, j] + t[j, i])``, NaN where one of the pair is not seated."""
        members = tuple(tuple(p.trust.members) for p in parts)
        if self._pairs is None or self._pairs[0] != members:
            self._pairs = (members, _pair_positions(members))
        ij, ji, seated = self._pairs[1]
        t = np.concatenate([p.trust.matrix.ravel() for p in parts])
        pairs = np.full(seated.shape, np.nan)
        pairs[seated] = 0.5 * (t[ij] + t[ji])
        return pairs

    def _put(self, level: str, metric: str, values: np.ndarray) -> None:
        self._data[(level, metric)].append(np.asarray(values, dtype=float))

    # ------------------------------------------------------------------ tables
    def frame(self, run: str = "", scenario: str = "", seed: int = 0, factors: dict[str, Any] | None = None) -> pd.DataFrame:
        """The tidy long time series, one row per month, area and measure.

        Columns: ``run``, ``scenario``, one column per factor in ``factors`` (e.g. ``governance``,
        ``delegation_share``, each a constant of its own type; text as a categorical), ``seed``,
        ``month`` (0 = April of ``start_year``), ``date`` (the first day of that month), ``level``
        (neighbourhood, place, system, national), ``area`` (the neighbourhood's, place's or
        system's name), ``metric``, ``measure_unit`` (categorical, from :data:`METRICS`; money in
        GBP) and ``value``.

        Rows run metric by metric (in the order first recorded), month by month, area by area. A
        summary-only recorder (``timeseries=False``) holds only the months it recorded.
        """
        data = self.data
        keys = list(data)
        shapes = [(len(data[key]), len(self.areas[key[0]])) for key in keys]  # months x areas
        sizes = [rows * cols for rows, cols in shapes]
        n = sum(sizes)
        months = np.array(self.months, dtype=np.int64)
        first = np.datetime64(f"{int(self.model.cfg.start_year)}-04", "M")
        dates = (first + months.astype("timedelta64[M]")).astype("datetime64[ns]")
        area_names = {level: np.array(areas, dtype=object) for level, areas in self.areas.items()}
        # every metric's rows written straight into whole columns, block by block (months x areas)
        value = np.empty(n)
        month = np.empty(n, dtype=np.int64)
        date = np.empty(n, dtype=dates.dtype)
        level_col, area_col, metric_col = (np.empty(n, dtype=object) for _ in range(3))
        start = 0
        for (level, metric), (rows, cols) in zip(keys, shapes, strict=True):
            end = start + rows * cols
            np.stack(data[(level, metric)], out=value[start:end].reshape(rows, cols))
            month[start:end].reshape(rows, cols)[:] = months[:, None]  # every metric holds every month
            date[start:end].reshape(rows, cols)[:] = dates[:, None]
            area_col[start:end].reshape(rows, cols)[:] = area_names[level]
            level_col[start:end] = level
            metric_col[start:end] = metric
            start = end
        # np.repeat of one object (np.full would store a new copy of the text in every row)
        columns: dict[str, Any] = {name: _strings(np.repeat(np.array([text], dtype=object), n), [text])
                                   for name, text in (("run", run), ("scenario", scenario))}
        for name, constant in (factors or {}).items():
            # a constant text factor as a one-category column: a byte a row rather than a pointer
            columns[name] = (pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[constant])
                             if isinstance(constant, str) else np.full(n, constant))
        unit_of = [measure_unit(metric) for _, metric in keys]
        unit_names = sorted(set(unit_of))
        unit_codes = np.repeat(np.array([unit_names.index(u) for u in unit_of], dtype=np.int16), sizes)
        columns.update(
            {
                "seed": np.full(n, seed, dtype=np.int64),
                "month": month,
                "date": date,
                "level": _strings(level_col, [level for level, _ in keys]),
                "area": _strings(area_col, [name for names in area_names.values() for name in names]),
                "metric": _strings(metric_col, [metric for _, metric in keys]),
                "measure_unit": pd.Categorical.from_codes(unit_codes, categories=unit_names),
                "value": value,
            }
        )
        # one frame from whole columns, each used as it is (every column is a new array): no
        # copy of each column, nor of the columns of one dtype into one block
        return pd.DataFrame(columns, copy=False)

    def series(self, metric: str, level: str = "system", area: int = 0) -> np.ndarray:
        """One metric's monthly values for one area (fast access without building the frame)."""
        return np.array([v[area] for v in self.data[(level, metric)]])


def _strings(values: np.ndarray, distinct: list) -> pd.api.extensions.ExtensionArray:
    """A ``string`` column of the table on the object array ``values`` itself (no copy), which
    holds only the objects of ``distinct`` (the few values a column repeats: its levels, metrics,
    areas' names). pandas checks each value of a column it is given; here it checks
    ``distinct`` and the column is wrapped as it stands. Where pandas would store the values
    otherwise (not as a NumPy-backed ``StringArray``, e.g. ``mode.string_storage = "pyarrow"``)
    or changes one (a value that is not a ``str``), or a pandas without the private
    ``_from_backing_data``, the whole column goes through ``pd.array``."""
    checked = pd.array(np.array(distinct, dtype=object), dtype="string")
    wrap = getattr(checked, "_from_backing_data", None)  # pandas' private API: absent, the plain path
    if (isinstance(checked, pd.arrays.StringArray) and wrap is not None
            and all(a is b for a, b in zip(checked._ndarray, distinct, strict=True))):
        return wrap(values)
    return pd.array(values, dtype="string", copy=False)


def _pair_positions(members: tuple[tuple[str, ...], ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every place's table (its members, in its trust matrix's order) laid end to end, its
    flattened matrix laid end to end with the others': for every pair of :data:`MEMBER_PAIRS`,
    where ``t[i, j]`` and ``t[j, i]`` sit, for the pairs whose both members are seated
    (``seated``)."""
    ij, ji, seated = [], [], []
    offset = 0
    for keys in members:
        n = len(keys)
        at = {k: i for i, k in enumerate(keys)}
        assert len(at) == n, keys
        for a, b in MEMBER_PAIRS:
            both = a in at and b in at
            seated.append(both)
            if both:
                ij.append(offset + at[a] * n + at[b])
                ji.append(offset + at[b] * n + at[a])
        offset += n * n
    return np.array(ij, dtype=np.intp), np.array(ji, dtype=np.intp), np.array(seated, dtype=bool)


def summarise(recorder: Recorder) -> dict[str, float | str]:
    """Horizon values of the run (system level; national level when several systems), and each
    place's settings as text (``place_settings``, :func:`place_settings_text`)."""
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
    out["ladder_moves"] = float(len(recorder.model.form_changes))
    out["place_settings"] = place_settings_text(recorder.model)
    return out
