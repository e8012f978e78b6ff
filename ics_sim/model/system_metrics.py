"""System-level measures of one month (MODEL.md section 7): health, inequality, coordination,
partnership and value, for one system or for England when a run holds several.

:func:`system_metrics` defines the measures of one group of neighbourhoods (a system, or
England), a month at a time: it is the reference the tests hold the recorder to, not the recorder's
path. :class:`SystemMeasures` computes them for every group and a block of months at once (it keeps
each month's inputs and computes the months pending together, the month a leading axis of every
array), the same numbers bit for bit, in a few grouped numpy operations a block; it is what
:class:`~ics_sim.model.record.Recorder` stores. Inequality measures come from :mod:`ics_sim.metrics`.
"""

from __future__ import annotations

import itertools

import numpy as np

from ics_sim import metrics
from ics_sim.domains import DOMAINS
from ics_sim.grouped import Groups, Runs, as_slice

#: measures recorded for each system but not for England as a whole (social and economic development)
SYSTEM_ONLY = ("external_funding_gbp", "local_spend_share")


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
    places_mask = np.zeros(L.n_places, dtype=bool)
    places_mask[L.nb_place[idx]] = True
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
    """The system-level measures of one group (a system, or England when ``s`` is None): the
    definition, one group at a time (:class:`SystemMeasures` gives the same numbers for all).

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
        out["unspent_gbp"] = float(max(group_budget(m.ledger.year_budget, s) - spend.sum(), 0.0))
    else:  # budgets of several systems are not comparable with one group's spending
        out["unspent_gbp"] = float("nan")
    out["delegated_share"] = float(np.average(full["delegated_share"][places_mask], weights=group["place_pop"]))
    if m.cfg.sed.enabled and s is not None:
        out["external_funding_gbp"] = float(m.external_funding[s])
        out["local_spend_share"] = float(m.cfg.sed.anchor_local_share * (1.0 + 0.2 * out["trust_mean"]))
    return out


def group_budget(year_budget: dict[str, float], s: int | None) -> float:
    """This year's budgets that a group's unspent money is measured against (runs of one system),
    GBP: the system's ICB (every ICB for England, ``s`` None) and the councils (``year_budget``:
    the ledger's, by key ``"holder:unit"``)."""
    return sum(v for k, v in year_budget.items()
               if k.startswith(("icb:", "council:")) and (s is None or not k.startswith("icb:") or k == f"icb:{s}"))


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


# --------------------------------------------------------------------------------------------
# every group at once
# --------------------------------------------------------------------------------------------
def _cumsum_runs(x: np.ndarray, of: np.ndarray, pos: np.ndarray, n: int, start: bool = False) -> np.ndarray:
    """Per item of runs laid end to end (``of``: each item's run, ascending; ``pos``: its place in
    the run; any leading axes), its run's cumulative sum up to it, added one after another as
    ``np.cumsum`` of the run alone adds them (``0.0 + x0 + x1 ...`` when ``start``).

    The runs are laid in an ``n`` x longest matrix (zeros after each run's items) summed along its
    rows in one pass; a run more than four times the mean length (England's neighbourhoods among
    its systems') is summed alone, as padding every run to its length would cost more than its items."""
    lead, shift = x.shape[:-1], int(start)
    lengths = np.bincount(of, minlength=n)
    long = lengths > 4.0 * len(of) / max(n, 1)
    out = np.empty(x.shape)
    short = ~long[of]
    if short.any():
        o, p = of[short], pos[short] + shift
        padded = np.zeros(lead + (n, int(p.max()) + 1))
        padded[..., o, p] = x[..., short]
        out[..., short] = np.cumsum(padded, axis=-1)[..., o, p]
    for r in np.flatnonzero(long):
        a = int(np.searchsorted(of, r))
        run = x[..., a : a + lengths[r]]
        if start:
            run = np.concatenate([np.zeros(lead + (1,)), run], axis=-1)
        out[..., a : a + lengths[r]] = np.cumsum(run, axis=-1)[..., shift:]
    return out


def _running_sum(x: np.ndarray, of: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    """Per run (``of``: each item's run, ascending; ``pos``: its place in it), ``total = 0.0; for v
    in run: total += v``, in that order: an array ``(..., runs)``, 0.0 for a run with no items."""
    out = np.zeros(x.shape[:-1] + (n,))
    if len(of):
        last = np.flatnonzero(np.append(of[1:] != of[:-1], True))
        out[..., of[last]] = _cumsum_runs(x, of, pos, n, start=True)[..., last]
    return out


def _cat(parts: list[np.ndarray], dtype=float) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


class SystemMeasures:
    """The measures of :func:`system_metrics` for every system, and England when the run holds
    several, for a block of months at once: the same numbers, bit for bit
    (``tests/test_performance_equivalence.py`` and ``tests/test_record_blocks.py`` check them
    against :func:`system_metrics` group by group and month by month).

    Nothing in the model reads the measures during a run, so they need not be computed each
    month. :meth:`snapshot` keeps a month's inputs (copies of the arrays, which the model
    changes in place next month, and the few values it reads from the partnerships and the
    ledger) in buffers of :attr:`block` months; :meth:`flush` computes every pending month at
    once, with the month as the leading axis of every array, in about as many numpy calls as one
    month takes (the :class:`~ics_sim.model.record.Recorder` flushes when a block is full and
    whenever its record is read). :meth:`measures` is one month's measures (a block of one).

    Each measure reduces runs of neighbourhoods (each group's; each group's deprivation deciles;
    each group's places), of neighbourhood x domain cells, of places or of partnerships. Each kind
    of run is a :class:`Runs`, built once with the static parts of :func:`group_indices` (shares,
    ranks, the designs of the fits and decompositions) laid out alongside; a block gathers the
    values, combines them element by element as the one-group code does, and reduces every run of
    every month at once: the same sums and dot products over the same numbers in the same order.
    Sums the one-group code builds term by term in a loop (Theil's components and the mismatch
    over places) are added term by term in that order too. A run of one system is a block of one
    group.

    Args:
        model: the :class:`~ics_sim.model.ICSModel`.
        groups: :func:`group_indices` of each system, then of England when ``national``.
        national: whether the last group is England.
        block: the most months :meth:`snapshot` keeps before a :meth:`flush` (12: a year's
            inputs are about 5 MiB for England's 1,254 neighbourhoods).
    """

    #: the neighbourhood rows, the neighbourhood x domain blocks and the place rows of a month's
    #: inputs, in their buffers' order
    NB_ROWS = ("hle", "health", "coverage", "spend_nb", "need_nb", "cumulative_spend_nb", "qalys_nb")
    CELL_BLOCKS = ("unmet", "need", "hidden", "unmet_hidden", "duplicated", "unfunded", "spend")
    PLACE_ROWS = ("delay", "transaction_cost", "place_trust", "vcse_alive", "vcse_capacity", "cumulative_running", "delegated_share")

    def __init__(self, model, groups: list[dict], national: bool, block: int = 12):
        self.n_groups = G = len(groups)
        self.n_systems = S = G - int(national)
        self.national = national
        L = model.layout
        n_domains = model.population.need.shape[1]

        def flat(idx: np.ndarray) -> np.ndarray:  # a block of neighbourhoods x domains, row by row
            return (idx[:, None] * n_domains + np.arange(n_domains)).ravel()

        # each group's neighbourhoods, and (flattened) its neighbourhood x domain block
        self.nbs = R = Runs([g["idx"] for g in groups])
        self.flat = Runs([flat(g["idx"]) for g in groups])
        self.people = R.lay([g["people"] for g in groups])
        self.nb_people = L.nb_population  # each neighbourhood's people, whichever group holds it
        self.shares = R.lay([g["shares"] for g in groups])
        self.w1, self.w5 = R.lay([g["fifths"][0] for g in groups]), R.lay([g["fifths"][2] for g in groups])
        self.rank_centred = R.lay([g["rank_centred"] for g in groups])
        self.people_sum = np.array([g["people_sum"] for g in groups])
        self.population = np.array([g["population"] for g in groups])
        self.w1_sum, self.w5_sum = np.array([g["fifths"][1] for g in groups]), np.array([g["fifths"][3] for g in groups])
        self.local_fifths = np.array([g["fifths"][4] for g in groups], dtype=float)
        # each group's deprivation deciles (most deprived first)
        dec = [g["deciles"] for g in groups]
        self.deciles = Runs([g["idx"][r] for g, (rows, _, _) in zip(groups, dec, strict=True) for r in rows])
        self.decile_people = self.deciles.lay([n for _, pops_of, _ in dec for n in pops_of])
        self.decile_pops = _cat([pops for _, _, pops in dec])
        # the Low and Low fit over each group's deciles (none for a group with one decile)
        first = np.concatenate([[0], np.cumsum([len(pops) for _, _, pops in dec])[:-1]])
        self.fit = Runs([f + np.arange(len(pops)) for f, (_, _, pops) in zip(first, dec, strict=True)])
        self.has_fit = np.array([g["decile_fit"] is not None for g in groups])
        designs = [metrics._sii_design(pops) for _, _, pops in dec]
        self.fit_p, self.fit_dx = self.fit.lay([d[0] for d in designs]), self.fit.lay([d[2] for d in designs])
        self.fit_x_bar, self.fit_sxx = np.array([d[1] for d in designs]), np.array([d[3] for d in designs])
        # each group's places (ascending): Theil's decomposition and the mismatch within places
        for g in groups:  # the mismatch's places are Theil's
            assert [list(r) for r in g["place_rows"]] == [list(c[0]) for c in g["theil_groups"][1]]
        cells = [(i, g["idx"][c[0]], c) for i, g in enumerate(groups) for c in g["theil_groups"][1]]
        self.cells = C = Runs([nbs for _, nbs, _ in cells])
        # the mismatch within a place is the same in every group that holds it (England's and its
        # system's): worked out once a place, each place's neighbourhood x domain block
        place_of_cell = [int(L.nb_place[nbs[0]]) for _, nbs, _ in cells]
        place_nbs: dict[int, np.ndarray] = {}
        for p, (_, nbs, _) in zip(place_of_cell, cells, strict=True):
            assert np.array_equal(place_nbs.setdefault(p, nbs), nbs)
        slot = {p: i for i, p in enumerate(place_nbs)}
        self.place_flat = Runs([flat(nbs) for nbs in place_nbs.values()])
        self.cell_place = np.array([slot[p] for p in place_of_cell], dtype=np.intp)  # per cell, its run of place_flat
        self.cell_share = np.array([c[1] for _, _, c in cells])
        self.cell_s = C.lay([c[2] for _, _, c in cells])
        self.cell_s_within = C.lay([c[3] for _, _, c in cells])
        self.cell_group = np.array([i for i, _, _ in cells], dtype=np.intp)
        self.cell_pos = np.arange(len(cells)) - np.searchsorted(self.cell_group, self.cell_group)
        # each group's places and partnerships (in the model's order)
        self.places = Runs([np.flatnonzero(g["places_mask"]) for g in groups])
        self.place_pop = self.places.lay([g["place_pop"] for g in groups])
        self.place_pop_sum = np.array([g["place_pop"].sum() for g in groups])
        number = {id(p): i for i, p in enumerate(model.partnerships)}
        self.parts = [np.array([number[id(p)] for p in g["parts"]], dtype=np.intp) for g in groups]
        self.part_runs = Runs(self.parts)
        #: every group's partnerships end to end, and where each group's but the last ends
        self._group_parts = np.concatenate(self.parts)
        self._group_ends = np.cumsum([len(p) for p in self.parts])[:-1]
        #: per group, the range of partnerships it holds, where each group's are one range (else None)
        spans = [as_slice(p) for p in self.parts]
        self._part_spans = (np.array([(r.start, r.stop) for r in spans], dtype=np.intp)
                            if all(type(r) is slice for r in spans) else None)
        self._lists: dict[str, tuple[bytes, Runs]] = {}
        # each system's spending and budgets by domain, for strategy alignment
        self.system_nbs = Groups([g["idx"] for g in groups[:S]], L.n_neighbourhoods)
        self.system_places = Groups([np.flatnonzero(g["places_mask"]) for g in groups[:S]], L.n_places)
        #: per group, its system for :func:`group_budget` (None for England), in runs of one system
        #: only: budgets of several systems are not comparable with one group's spending
        self._budget_of = [i if i < S else None for i in range(G)] if L.n_systems == 1 else None
        # the pending months' inputs (:meth:`snapshot`), block x ...
        self.block = block
        #: how many months :meth:`snapshot` has kept since the last :meth:`flush`
        self.pending = 0
        P, n_parts = L.n_places, len(model.partnerships)
        self._nb = np.empty((block, len(self.NB_ROWS), L.n_neighbourhoods))
        self._cells = np.empty((block, len(self.CELL_BLOCKS), L.n_neighbourhoods, n_domains))
        self._place = np.empty((block, len(self.PLACE_ROWS), P))
        self._deadlocks = np.empty((block, n_parts))
        self._strategy = np.empty((block, S, n_domains))  # NaN for a system without a strategy
        self._nhs_budget = np.empty((block, S, n_domains))
        self._council_budget = np.empty((block, P, n_domains))
        self._budget = np.empty((block, G))  # the unspent measure's budgets (one system only)
        self._external = np.empty((block, S))  # external funding drawn in (sed.enabled)
        #: per month and partnership, how many values its power_imbalance list held (the lists
        #: are only appended to, so a month's values are the lists' first values)
        self._imbalance_lengths = np.empty((block, n_parts), dtype=np.intp)
        #: per month, :func:`_own_service_values`
        self._own: list[tuple[np.ndarray, np.ndarray] | None] = [None] * block

    # ------------------------------------------------------------------ per month
    def snapshot(self, model, d, unmet: np.ndarray, delay: np.ndarray, full: dict) -> None:
        """Keep this month's inputs of the measures until the next :meth:`flush` (arguments as
        :func:`system_metrics`; ``full`` also holds ``spend_nb`` and ``need_nb``, each
        neighbourhood's spending and need over all domains). The arrays are copied into the
        block's buffers; a lead provider's own-service bias and the budgets of the unspent
        measure (Python loops over partnerships and ledger keys) are worked out now."""
        if self.pending == self.block:
            raise RuntimeError(f"{self.block} months pending: flush first")
        i, m, pop = self.pending, model, model.population
        nb, cells, place = self._nb[i], self._cells[i], self._place[i]
        for row, a in enumerate((full["hle"], pop.health, m.coverage, full["spend_nb"], full["need_nb"],
                                 m.cumulative_spend_nb, pop.qalys_nb)):
            nb[row] = a
        for row, a in enumerate((unmet, pop.need, full["hidden"], full["unmet_hidden"], d.duplicated, d.unfunded, d.spend)):
            cells[row] = a
        for row, a in enumerate((delay, m.transaction_cost, full["place_trust"], full["vcse_alive"], full["vcse_capacity"],
                                 m.cumulative_running, full["delegated_share"])):
            place[row] = a
        parts = m.partnerships
        self._deadlocks[i] = [p.deadlocks_total for p in parts]
        self._imbalance_lengths[i] = [len(p.power_imbalance) for p in parts]
        self._own[i] = _own_service_values(m, d.spend, pop.need)
        for s in range(self.n_systems):
            strategy = m.icps[s].strategy
            self._strategy[i, s] = np.nan if strategy is None else strategy
        self._nhs_budget[i] = m.finance.nhs_budget
        self._council_budget[i] = m.finance.council_budget
        if self._budget_of is not None:
            self._budget[i] = [group_budget(m.ledger.year_budget, s) for s in self._budget_of]
        if m.cfg.sed.enabled:
            self._external[i] = np.asarray(m.external_funding, dtype=float)[: self.n_systems]
        self.pending += 1

    def measures(self, model, d, unmet: np.ndarray, delay: np.ndarray, full: dict) -> dict[str, np.ndarray]:
        """This month's measures of every group (a block of one month, with none pending): per
        measure, in :func:`system_metrics`' order, an array with one value per group (the systems,
        then England). Arguments as :meth:`snapshot`."""
        if self.pending:
            raise RuntimeError("months pending: flush them first")
        self.snapshot(model, d, unmet, delay, full)
        return {key: v[0] for key, v in self.flush(model).items()}

    def flush(self, model) -> dict[str, np.ndarray]:
        """The measures of every pending month, which are then dropped: per measure, in
        :func:`system_metrics`' order, an array of months x groups (the systems, then England;
        England's values of :data:`SYSTEM_ONLY` are NaN)."""
        M, self.pending = self.pending, 0
        m, R, k = model, self.nbs, self._cells.shape[-1]
        people, s = self.people, self.shares
        hle_nb, health_nb, coverage_nb, spend_nb_all, need_nb_all, spent_nb, qalys_all = _rows(self._nb[:M])
        unmet, need, hidden, unmet_hidden, duplicated_nb, unfunded_nb, spend = _rows(self._cells[:M])
        cov_nb = np.maximum(coverage_nb, 1e-9)
        ratio_nb = spend_nb_all / np.maximum(need_nb_all, 1e-12)
        # the neighbourhood-level inputs the measures combine within each group, gathered once
        hle, health, cov, spend_nb, need_nb = _rows(R.gather(np.stack([hle_nb, health_nb, cov_nb, spend_nb_all, need_nb_all], axis=1)))
        spend_ph, need_ph = spend_nb / people, need_nb / people
        # each group's sums of values that are the same whichever group holds a neighbourhood
        nb_people = self.nb_people
        sums = R.sum_of(np.concatenate([np.stack([health_nb * nb_people, hle_nb * nb_people, spend_nb_all / nb_people,
                                                  nb_people * (hle_nb - m.initial_hle), spent_nb, qalys_all], axis=1),
                                        unmet.transpose(0, 2, 1), need.transpose(0, 2, 1)], axis=1))
        health_sum, hle_sum, spend_ph_sum, gained, spent_so_far, qalys = _rows(sums[:, :6])
        unmet_k, need_k = _rows(sums[:, 6 : 6 + k]), _rows(sums[:, 6 + k :])
        q1_sum, q5_sum = _rows(R.sum(np.stack([hle * self.w1, hle * self.w5], axis=1)))
        unmet_sum, need_sum, hidden_sum, unmet_hidden_sum, duplicated, unfunded, spend_sum = _rows(
            self.flat.sum_of(self._cells[:M].reshape(M, len(self.CELL_BLOCKS), -1)))
        # deprivation gradients (decile means, each group's fit); concentration; Theil
        dec_values = self.deciles.dot(self.decile_people, self.deciles.gather(np.stack([hle_nb, ratio_nb], axis=1))) / self.decile_pops
        (hle_sii, hle_rii, hle_relative_sii), inverse_care_sii = self._fits(dec_values)
        ranks = self._ranks(health)
        rank_mean, mu_health, mu_spend, mu_need, mu_hle, mu_cov = _rows(R.dot(s, np.stack([ranks, health, spend_ph, need_ph, hle, cov], axis=1)))
        cov_health, cov_spend, cov_need = _rows(R.dot(s, np.stack([
            (health - R.spread(mu_health)) * (ranks - R.spread(rank_mean)),
            (spend_ph - R.spread(mu_spend)) * self.rank_centred,
            (need_ph - R.spread(mu_need)) * self.rank_centred,
        ], axis=1)))
        gini = self._concentration(R.all_equal(health), cov_health, mu_health)
        spending = spend_ph_sum > 0
        ci_spend = self._concentration(R.all_equal(spend_ph) | ~spending, cov_spend, mu_spend)
        ci_need = self._concentration(R.all_equal(need_ph) | ~spending, cov_need, mu_need)
        flat = R.all_equal(np.stack([hle, cov], axis=1))
        between, within = self._theil(np.stack([hle_nb, cov_nb], axis=1), np.stack([mu_hle, mu_cov], axis=1), flat)
        (theil_between, coverage_between), (theil_within, coverage_within) = _rows(between), _rows(within)
        # per place (and partnership), summed over each group's places
        P = self.places
        place = P.gather(self._place[:M])
        place[:, 4] *= self.place_pop  # vcse_capacity and delegated_share: weighted by population
        place[:, 6] *= self.place_pop
        delay_sum, cost_sum, trust_sum, alive_sum, capacity_sum, running_sum, delegated_sum = _rows(P.sum(place))
        count = P.lengths
        deadlocks = self.part_runs.sum(self.part_runs.gather(self._deadlocks[:M]))

        out: dict[str, np.ndarray] = {}
        out["population"] = np.tile(self.population, (M, 1))
        out["health_mean"] = health_sum / self.people_sum
        out["hle_mean"] = hle_sum / self.people_sum
        out["hle_sii"], out["hle_rii"], out["hle_relative_sii"] = hle_sii, hle_rii, hle_relative_sii
        out["hle_gap_local_fifths"] = np.tile(self.local_fifths, (M, 1))
        out["hle_q1"] = q1_sum / self.w1_sum
        out["hle_q5"] = q5_sum / self.w5_sum
        out["hle_gap_q1_q5"] = out["hle_q5"] - out["hle_q1"]
        out["health_gini"] = _clamp(gini)
        out["spend_concentration_index"] = np.where(spending, ci_spend, 0.0)
        out["horizontal_inequity"] = np.where(spending, ci_spend - ci_need, 0.0)
        out["inverse_care_sii"] = inverse_care_sii
        out["theil_between_places"], out["theil_within_places"] = theil_between, theil_within
        out["coverage_theil_between_places"], out["coverage_theil_within_places"] = coverage_between, coverage_within
        out["need_mismatch_within_places"] = self._mismatch(spend, need)
        out["unmet_need"] = unmet_sum / need_sum
        out["unmet_need_hidden"] = unmet_hidden_sum / np.maximum(hidden_sum, 1e-12)
        for j, name in enumerate(DOMAINS):
            out[f"unmet_need_{name}"] = unmet_k[j] / np.maximum(need_k[j], 1e-12)
        out["duplicated_spend_gbp"] = duplicated
        out["unfunded_need"] = unfunded
        out["spend_gbp"] = spend_sum
        out["need_gbp"] = need_sum
        out["decision_delay_months"] = delay_sum / count
        out["deadlocks"] = deadlocks
        out["transaction_cost_gbp"] = cost_sum * 12.0
        out["strategy_alignment"] = self._alignment(spend, M)
        out["trust_mean"] = trust_sum / count
        out["vcse_survival"] = alive_sum / count
        out["vcse_capacity"] = capacity_sum / self.place_pop_sum
        out["power_imbalance"] = self._imbalance(m, M)
        out["health_gain_per_million_gbp"] = gained / np.maximum(spent_so_far / 1e6, 1e-9)
        out["qalys"] = qalys
        out["spend_gbp_total"] = spent_so_far
        out["running_cost_gbp_total"] = running_sum
        out["own_service_bias"] = self._means("own_service_bias", [self._own[i] for i in range(M)], 0.0)
        if self._budget_of is not None:
            out["unspent_gbp"] = np.maximum(self._budget[:M] - spend_sum, 0.0)
        else:  # budgets of several systems are not comparable with one group's spending
            out["unspent_gbp"] = np.full((M, self.n_groups), np.nan)
        out["delegated_share"] = delegated_sum / self.place_pop_sum
        if m.cfg.sed.enabled:
            national = np.full((M, self.n_groups - self.n_systems), np.nan)
            out["external_funding_gbp"] = np.concatenate([self._external[:M], national], axis=1)
            out["local_spend_share"] = m.cfg.sed.anchor_local_share * (1.0 + 0.2 * out["trust_mean"])
            out["local_spend_share"][:, self.n_systems :] = np.nan
        return out

    # ------------------------------------------------------------------ the measures' parts
    def _fits(self, y: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
        """``metrics._fit_sii`` of the decile means of HLE and of spending per pound of need
        (``y``: months x 2 x deciles of every group): ((SII, RII, relative SII) of HLE, SII of
        the ratio), each months x groups."""
        F = self.fit
        y = F.gather(y)
        y_bar = F.dot(self.fit_p, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = F.dot(self.fit_p, self.fit_dx * (y - F.spread(y_bar))) / self.fit_sxx
            intercept = y_bar - slope * self.fit_x_bar
            fitted = self.has_fit & ~F.all_equal(y)  # one decile, or every value the same: no gradient
            if np.any(fitted & (intercept == 0.0)):
                raise ValueError("RII undefined: the fitted value at the most deprived end is 0")
            if np.any(fitted[:, 0] & (y_bar[:, 0] == 0.0)):
                raise ValueError("relative SII undefined: the population-weighted mean of `values` is 0")
            rii = (intercept[:, 0] + slope[:, 0]) / intercept[:, 0]
            relative = slope[:, 0] / y_bar[:, 0]
        hle = (np.where(fitted[:, 0], slope[:, 0], 0.0), np.where(fitted[:, 0], rii, 1.0), np.where(fitted[:, 0], relative, 0.0))
        return hle, np.where(fitted[:, 1], slope[:, 1], 0.0)

    def _ranks(self, y: np.ndarray) -> np.ndarray:
        """``metrics._fractional_rank(y, shares)`` within every group (``y`` in the layout of
        :attr:`nbs`, any leading axes, e.g. months): the midpoint of each value's cumulative
        share, ties averaged. Each (leading index, group) is one group of the sort."""
        R = self.nbs
        n = y.shape[-1]
        y_flat = y.reshape(-1, n)
        # by group, then by y: the stable order where no two values of a group are equal (or NaN)
        order = R.argsort(y_flat, stable=False)
        y_sorted = np.take_along_axis(y_flat, order, axis=-1)
        if np.isnan(y_sorted).any() or not (R.first[1:] | (y_sorted[:, 1:] != y_sorted[:, :-1])).all():
            return self._tied_ranks(y_flat, R.argsort(y_flat)).reshape(y.shape)
        # no ties (as a rule): each item is a block of its own, its rank the shares before it plus half its own
        s_sorted = self.shares[order]
        cumulative = R.cumsum(s_sorted)
        before = np.empty_like(cumulative)
        before[:, 1:] = cumulative[:, :-1]
        before[:, R.first] = 0.0
        ranks = np.empty_like(y_flat)
        np.put_along_axis(ranks, order, before + s_sorted / 2.0, axis=-1)
        return ranks.reshape(y.shape)

    def _tied_ranks(self, y: np.ndarray, order: np.ndarray) -> np.ndarray:
        """:meth:`_ranks` of ``y`` (rows x the layout of :attr:`nbs`) where some values tie
        within a group, given each group's stable ``order`` (:meth:`Runs.argsort`): each block
        of tied values gets the midpoint of its share."""
        R = self.nbs
        lead, n = y.shape
        # the group key of every item, ascending along the flattened array: (row, group)
        key = (np.arange(lead)[:, None] * R.n + R.slot).ravel()
        order = (order + (np.arange(lead) * n)[:, None]).ravel()
        y_flat = y.ravel()
        y_sorted, s_sorted = y_flat[order], self.shares[order % n]
        new = np.ones(len(y_flat), dtype=bool)
        new[1:] = y_sorted[1:] != y_sorted[:-1]
        new[(np.arange(lead)[:, None] * n + R.starts).ravel()] = True
        starts = np.flatnonzero(new)  # blocks of tied values
        block_share = np.add.reduceat(s_sorted, starts)
        slot = key[starts]  # the sort keeps the (ascending) keys in place
        pos = np.arange(len(starts)) - np.searchsorted(slot, slot)  # each block's place in its group
        cumulative = _cumsum_runs(block_share, slot, pos, lead * R.n)
        block_before = np.where(pos == 0, 0.0, np.concatenate([[0.0], cumulative[:-1]]))
        ranks = np.empty_like(y_flat)
        ranks[order] = (block_before + block_share / 2.0)[np.cumsum(new) - 1]
        return ranks.reshape(y.shape)

    @staticmethod
    def _concentration(flat: np.ndarray, cov: np.ndarray, mu: np.ndarray) -> np.ndarray:
        """``metrics._concentration_ranked`` from its covariance and mean (0 where ``flat``)."""
        if np.any(~flat & (mu == 0.0)):
            raise ValueError("index undefined: the weighted mean of `values` is 0")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(flat, 0.0, 2.0 * cov / mu)

    def _theil(self, y: np.ndarray, mu: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``metrics._theil_decomposition`` over each group's places of each row of ``y``
        (months x rows x neighbourhoods), given each group's weighted mean ``mu`` and whether its
        values are all equal (``flat``), both months x rows x groups: (between, within), each
        months x rows x groups."""
        C = self.cells
        y = C.gather(y)
        G, of, pos = self.n_groups, self.cell_group, self.cell_pos
        with np.errstate(divide="ignore", invalid="ignore"):
            mu_place, mu_within = C.dot(np.stack([self.cell_s, self.cell_s_within])[:, None, None, :], y[None])
            rel = mu_place / self.cell_share / mu[..., of]
            ratio = y / C.spread(mu_within)
            theil_t = np.where(C.all_equal(y), 0.0, C.dot(self.cell_s_within, ratio * np.log(ratio)))
            between, within = _running_sum(self.cell_share * rel * np.stack([np.log(rel), theil_t]), of, pos, G)
        return np.where(flat, 0.0, _clamp(between)), np.where(flat, 0.0, _clamp(within))

    def _mismatch(self, spend: np.ndarray, need: np.ndarray) -> np.ndarray:
        """:func:`within_mismatch` of every group (``spend``, ``need``: months x neighbourhoods x
        domains): months x groups."""
        C, M = self.place_flat, len(spend)
        sn = C.gather(np.stack([spend.reshape(M, -1), need.reshape(M, -1)], axis=1))
        s, n = sn[:, 0], sn[:, 1]
        s_sum, n_sum = _rows(C.sum(sn))
        with np.errstate(divide="ignore", invalid="ignore"):
            term = 0.5 * C.sum(np.abs(s / C.spread(s_sum) - n / C.spread(n_sum))) * s_sum
            term, s_sum = term[:, self.cell_place], s_sum[:, self.cell_place]  # each group's places
            paid = s_sum > 0
            total, weight = _running_sum(np.where(paid, np.stack([term, s_sum]), 0.0), self.cell_group, self.cell_pos, self.n_groups)
            return np.where(weight > 0, total / weight, 0.0)

    def _alignment(self, spend: np.ndarray, M: int) -> np.ndarray:
        """:func:`strategy_alignment` of each system in each of the block's ``M`` months (NaN
        without a strategy: its NaN strategy makes every term NaN); England's is their mean.
        ``spend``: months x neighbourhoods x domains. Each system's rows are summed for every
        month at once as the columns of one neighbourhoods x (months x domains) matrix (a sum
        down the rows adds each column's rows one after another, as for one month)."""
        S, k = self.n_systems, spend.shape[-1]
        out = np.full((M, self.n_groups), np.nan)

        def by_system(groups: Groups, x: np.ndarray) -> np.ndarray:  # months x items x domains -> months x systems x domains
            rows = groups.sum_rows(x.transpose(1, 0, 2).reshape(x.shape[1], M * k))
            return rows.reshape(S, M, k).transpose(1, 0, 2)

        strategy = self._strategy[:M]
        if not np.isnan(strategy).all():
            mix = by_system(self.system_nbs, spend)
            budgets = self._nhs_budget[:M] + by_system(self.system_places, self._council_budget[:M])
            x = mix / np.maximum(mix.sum(axis=-1), 1e-12)[..., None]
            ref = budgets / np.maximum(budgets.sum(axis=-1), 1e-12)[..., None]
            out[:, :S] = 1.0 - np.abs(x - strategy).sum(axis=-1) / np.maximum(np.abs(ref - strategy).sum(axis=-1), 0.005)
        if self.national:
            out[:, S] = np.mean(out[:, :S], axis=-1)
        return out

    def _imbalance(self, m, M: int) -> np.ndarray:
        """Per month of the block and group, the mean of its partnerships' power imbalances so
        far (:meth:`_means`); a month's values are the first ``_imbalance_lengths`` of each list."""
        lists = [p.power_imbalance for p in m.partnerships]
        values: dict[bytes, np.ndarray] = {}  # the lists' lengths change only with a decision
        months = []
        for lengths in self._imbalance_lengths[:M]:
            key = lengths.tobytes()
            if key not in values:
                values[key] = np.fromiter(itertools.chain.from_iterable(x[:n] for x, n in zip(lists, lengths, strict=True)),
                                          dtype=float, count=int(lengths.sum()))
            months.append((lengths, values[key]))
        return self._means("power_imbalance", months, float("nan"))

    def _means(self, name: str, months: list[tuple[np.ndarray, np.ndarray]], empty: float) -> np.ndarray:
        """Per month and group, ``np.mean`` of its partnerships' lists laid end to end (``empty``
        where they hold nothing). ``months``: per month, each partnership's list's length and the
        lists' values laid end to end. The months whose lists have the same lengths are averaged
        together; the runs are rebuilt only when the lengths change."""
        out = np.full((len(months), self.n_groups), empty)
        same: dict[bytes, list[int]] = {}
        for i, (lengths, _) in enumerate(months):
            same.setdefault(lengths.tobytes(), []).append(i)
        for key, at in same.items():
            lengths = months[at[0]][0]
            if not lengths.any():  # e.g. no pot held by a provider: nothing to average anywhere
                continue
            sums, counts = self._list_sums(name, key, lengths, np.stack([months[i][1] for i in at]))
            with np.errstate(divide="ignore", invalid="ignore"):
                out[at] = np.where(counts > 0, sums / counts, empty)
        return out

    def _list_sums(self, name: str, key: bytes, lengths: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per group, the sum of its partnerships' lists laid end to end and their number of
        values (``lengths``: each list's, ``key`` their bytes; ``values``: months x the lists laid
        end to end). Where each group's partnerships are a range of them (a system's places are
        numbered together), a group's values are a slice, summed as such; else the runs of each
        group's values are built (again only when the lengths change) and summed together."""
        if self._part_spans is not None:
            ends = np.concatenate([[0], np.cumsum(lengths)])
            sums = np.empty((len(values), self.n_groups))
            for g, (a, b) in enumerate(self._part_spans):
                np.add.reduce(values[:, ends[a] : ends[b]], axis=-1, out=sums[:, g])
            return sums, ends[self._part_spans[:, 1]] - ends[self._part_spans[:, 0]]
        if name not in self._lists or self._lists[name][0] != key:
            # each group's partnerships' values, list after list, all groups end to end
            n = lengths[self._group_parts]
            before = np.cumsum(n) - n
            items = np.repeat((np.cumsum(lengths) - lengths)[self._group_parts] - before, n) + np.arange(n.sum())
            self._lists[name] = (key, Runs(np.split(items, before[self._group_ends])))
        runs = self._lists[name][1]
        return runs.sum(runs.gather(values)), runs.lengths


def _rows(x: np.ndarray) -> np.ndarray:
    """``x`` (months x rows x ...) with its rows first, to unpack one row (months x ...) at a time."""
    return x.swapaxes(0, 1)


def _clamp(x: np.ndarray) -> np.ndarray:
    """``metrics._clamp`` of every value: rounding noise in (-1e-12, 0) is 0."""
    return np.where((-metrics._CLAMP_TOL < x) & (x < 0.0), 0.0, x)


def _own_service_values(model, spend: np.ndarray, need: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per partnership, how many values of :func:`own_service_bias` it has (1 where a provider
    holds the pot, else 0), and those values, in partnership order."""
    parts = model.partnerships
    lengths = np.zeros(len(parts), dtype=np.intp)
    values = []
    for i, p in enumerate(parts):
        if not p.contracted or not p.voters:
            continue
        own = list(p.voters[0].org.own_domains)
        rows = model.layout.place_index[p.place]
        s, n = spend[rows].sum(axis=0), need[rows].sum(axis=0)
        lengths[i] = 1
        values.append(s[own].sum() / s.sum() - n[own].sum() / n.sum())
    return lengths, np.array(values, dtype=float)
