"""The recorder's system measures computed a block of months at once equal the one-group
definition month by month, bit for bit, however often the record is read.

``Recorder.record`` keeps each month's inputs (``SystemMeasures.snapshot``) and computes the
pending months together (``SystemMeasures.flush``) when 12 are pending or the record is read. These
tests hold that path to :func:`~ics_sim.model.system_metrics.system_metrics` computed group by
group on each month's own state, to a run read every month (as the dashboard reads it), and to that
run's key order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ics_sim import metrics
from ics_sim.config import load_config
from ics_sim.grouped import Runs
from ics_sim.model.ics_model import ICSModel
from ics_sim.model.record import summarise
from ics_sim.model.system_metrics import (
    SYSTEM_ONLY,
    SystemMeasures,
    group_indices,
    system_metrics,
)


def _bits(x) -> np.ndarray:
    return np.asarray(x, dtype=float).view(np.int64)


def _reference(model, d, unmet, delay, full) -> list[dict[str, float]]:
    """:func:`system_metrics` of every system (and England in a run of several), one group at a
    time, on this moment's state: the definition the recorder's blocks must equal."""
    L = model.layout
    pp = L.place_population()
    groups = [group_indices(model, idx, pp) for idx in L.system_index]
    rows = [system_metrics(model, g, d, unmet, delay, s, full) for s, g in enumerate(groups)]
    if L.n_systems > 1:
        alignment = np.array([r["strategy_alignment"] for r in rows], dtype=float)
        england = group_indices(model, np.arange(L.n_neighbourhoods), pp)
        rows.append(system_metrics(model, england, d, unmet, delay, None, full, alignment))
    return rows


@pytest.mark.parametrize(
    ("overrides", "seed"),
    [
        ({"years": 2}, 0),  # one system: a block of one group (blocks of 1, 12 and 11 months)
        ({"years": 2, "sed.enabled": True, "shocks": "winter_pressure", "governance": "lead_provider"}, 3),
        ({"system": "england", "years": 1}, 1),  # 42 systems and England
    ],
)
def test_blocks_equal_system_metrics_month_by_month(overrides, seed, monkeypatch):
    """Each month's inputs, as the recorder snapshots them, give :func:`system_metrics`' values
    per group; the recorder's record, computed in blocks, holds those values month by month and
    key by key (the national level holding England's, but for :data:`SYSTEM_ONLY`)."""
    refs = []
    snapshot = SystemMeasures.snapshot

    def spy(self, model, d, unmet, delay, full):
        refs.append(_reference(model, d, unmet, delay, full))
        snapshot(self, model, d, unmet, delay, full)

    monkeypatch.setattr(SystemMeasures, "snapshot", spy)
    m = ICSModel(load_config(overrides)[0], seed=seed)
    pending = []
    while m.running:
        m.step()
        pending.append(m.recorder._systems.pending)
    # the first month at once, then blocks of 12 (flushed as the 12th is kept), the last months on read
    assert m.recorder._systems.block == 12
    assert pending == [month % 12 for month in range(len(pending))] and pending[-1] > 0
    n = m.layout.n_systems
    data = m.recorder.data
    assert m.recorder._systems.pending == 0
    assert len(refs) == len(m.recorder.months) == m.cfg.years * 12
    keys = [key for level, key in data if level == "system"]
    assert keys == list(refs[0][0])
    if n > 1:
        assert [key for level, key in data if level == "national"] == [k for k in refs[0][-1] if k not in SYSTEM_ONLY]
    for month, rows in enumerate(refs):
        for key in keys:
            got = data[("system", key)][month]
            assert got.shape == (n,)
            assert np.array_equal(_bits(got), _bits([row[key] for row in rows[:n]])), (month, key)
            if n > 1 and key not in SYSTEM_ONLY:
                assert _bits(data[("national", key)][month][0]) == _bits(rows[n][key]), (month, key)


def _same_record(a, b) -> None:
    """Two recorders hold the same record: months, keys in order, and every value's bits."""
    assert a.months == b.months
    assert list(a.data) == list(b.data)
    for key, values in a.data.items():
        other = b.data[key]
        assert len(values) == len(other), key
        for x, y in zip(values, other, strict=True):
            assert np.array_equal(_bits(x), _bits(y)), key


@pytest.mark.parametrize(
    ("overrides", "timeseries"),
    [
        ({"years": 2}, True),
        ({"years": 2, "sed.enabled": True, "governance": "joint_committee"}, True),
        ({"system": "herefordshire_worcestershire", "years": 2}, False),  # summary only: months 12-23
        ({"system": "england", "years": 1}, True),
    ],
)
def test_reading_every_month_gives_the_record_of_a_run_read_at_the_end(overrides, timeseries):
    """A model read every month (each read computes the month pending: a block of one month, as
    the dashboard reads it) and one read only at the end hold the same record, key order
    included; each month's reading is the start of the final series."""
    cfg = load_config(overrides)[0]
    read = ICSModel(cfg, seed=4, timeseries=timeseries)
    level = "national" if read.layout.n_systems > 1 else "system"
    seen = []
    while read.running:
        read.step()
        assert read.recorder._systems.pending <= 1
        if read.recorder.months:
            seen.append({key: read.recorder.series(key, level) for key in ("hle_sii", "power_imbalance", "spend_gbp")})
            assert read.recorder._systems.pending == 0
    once = ICSModel(cfg, seed=4, timeseries=timeseries).run()
    assert once.recorder._systems.pending > 0  # the last months wait for the read
    _same_record(once.recorder, read.recorder)
    for month, series in enumerate(seen):
        for key, values in series.items():
            assert np.array_equal(_bits(values), _bits(once.recorder.series(key, level)[: month + 1])), (month, key)
    a, b = summarise(once.recorder), summarise(read.recorder)
    assert list(a) == list(b)
    assert all(x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)) for x, y in zip(a.values(), b.values(), strict=True))


def test_the_frame_reads_the_months_pending():
    """The table of a run stopped between blocks holds every month it recorded."""
    m = ICSModel(load_config({"years": 1})[0], seed=2)
    for _ in range(7):
        m.step()
    assert m.recorder._systems.pending == 6
    frame = m.recorder.frame()
    assert m.recorder._systems.pending == 0
    system = frame[frame["level"] == "system"]
    assert sorted(system["month"].unique()) == list(range(7))
    assert len(m.recorder.series("hle_sii")) == 7


def test_measures_is_a_block_of_one_month():
    """``SystemMeasures.measures`` is one month's block; it will not mix with months pending."""
    m = ICSModel(load_config({"years": 1})[0], seed=2)
    for _ in range(3):
        m.step()
    S = m.recorder._systems
    assert S.pending == 2
    with pytest.raises(RuntimeError, match="pending"):
        S.measures(m, m.last_delivery, np.zeros_like(m.population.need), np.ones(m.layout.n_places), {})


def test_ranks_of_a_block_equal_each_month_and_group_fractional_rank():
    """The ranks of months x groups at once, with and without tied values or NaNs (the tied path
    sorts stably and sums blocks of ties), equal ``metrics._fractional_rank`` of each month's
    group alone."""
    m = ICSModel(load_config({"system": "england", "years": 1})[0], seed=3)
    m.step()
    S, L = m.recorder._systems, m.layout
    rng = np.random.default_rng(7)
    groups = [*L.system_index, np.arange(L.n_neighbourhoods)]
    with_nan = rng.random((5, L.n_neighbourhoods))
    with_nan[:, rng.choice(L.n_neighbourhoods, 40)] = np.nan  # NaNs: sorted last, as a stable argsort does
    for y in (rng.random((5, L.n_neighbourhoods)), np.round(rng.random((5, L.n_neighbourhoods)), 1), with_nan):
        ranks = S._ranks(S.nbs.gather(y))
        assert ranks.shape == (5, S.nbs.items.size)
        for month in range(len(y)):
            for r, idx in enumerate(groups):
                shares = L.nb_population[idx] / L.nb_population[idx].sum()
                got = ranks[month, S.nbs.starts[r] : S.nbs.starts[r] + len(idx)]
                assert np.array_equal(_bits(got), _bits(metrics._fractional_rank(y[month, idx], shares))), (month, r)


def test_runs_argsort_and_cumsum_each_run_as_numpy_does_alone():
    """``Runs.argsort`` and ``Runs.cumsum`` over runs of many lengths (empty, equal, long) and
    leading axes give each run's own stable ``np.argsort`` and ``np.cumsum``, exactly."""
    rng = np.random.default_rng(11)
    for trial in range(20):
        n_items = int(rng.integers(1, 300))
        lengths = rng.integers(0, 12, size=int(rng.integers(1, 30)))
        lengths[rng.integers(len(lengths))] = rng.integers(0, n_items + 1)  # now and then one long run
        members = [rng.choice(n_items, size=min(int(k), n_items), replace=False) for k in lengths]
        R = Runs(members)
        x = rng.random((3, 2, n_items))
        if trial % 2:
            x = np.round(x, 1)  # ties: a stable sort keeps them in the run's order
        laid = R.gather(x)
        order, cumulative = R.argsort(laid), R.cumsum(laid)
        if not trial % 2:  # distinct values: numpy's quicker sort gives the one order
            assert np.array_equal(R.argsort(laid, stable=False), order)
        for r, idx in enumerate(members):
            span = slice(R.starts[r], R.starts[r] + len(idx))
            for lead in np.ndindex(x.shape[:-1]):
                values = x[lead][idx]
                assert np.array_equal(order[lead][span] - R.starts[r], np.argsort(values, kind="stable"))
                assert np.array_equal(_bits(cumulative[lead][span]), _bits(np.cumsum(values)))


def test_runs_sum_of_ranges_equals_the_sum_of_the_gather():
    """``Runs.sum_of`` sums runs that are ranges of the array as slices of it, and other runs
    from the layout: the same bits as summing the runs laid out, as numpy sums each alone."""
    rng = np.random.default_rng(5)
    for trial in range(20):
        n_items = int(rng.integers(20, 400))
        cuts = np.sort(rng.choice(np.arange(1, n_items), size=int(rng.integers(1, 12)), replace=False))
        members = [np.arange(a, b) for a, b in zip(np.r_[0, cuts], np.r_[cuts, n_items], strict=True)]
        members.append(np.arange(n_items))  # the whole, as England's
        if trial % 3 == 0:
            members[-1] = members[-1][::-1].copy()  # not ascending: laid out and summed
        R = Runs(members)
        assert (R._ranges is None) == (trial % 3 == 0)
        x = rng.random((2, 3, n_items)) * 10.0 ** rng.integers(-3, 6, size=n_items)
        got = R.sum_of(x)
        for r, idx in enumerate(members):
            for lead in np.ndindex(x.shape[:-1]):
                assert _bits(got[lead][r]) == _bits(x[lead][idx].sum())


def test_means_of_lists_equal_np_mean_of_each_group_with_and_without_ranges():
    """Each group's mean of its partnerships' lists laid end to end (power imbalance, own-service
    bias) is ``np.mean`` of that list, whether the groups' partnerships are ranges (summed as
    slices) or not (summed as runs rebuilt when the lists' lengths change)."""
    m = ICSModel(load_config({"system": "england", "years": 1})[0], seed=3)
    m.step()
    S = m.recorder._systems
    n_parts = len(m.partnerships)
    rng = np.random.default_rng(2)
    months = []
    for month in range(6):
        lengths = rng.integers(0, 4, size=n_parts) * (month > 0)  # the first month: no values anywhere
        months.append((lengths, rng.normal(size=int(lengths.sum()))))
    months.append(months[-1])  # a month like the last: averaged together
    assert S._part_spans is not None
    spans = S._means("test", months, float("nan"))
    S._part_spans = None
    runs = S._means("test", months, float("nan"))
    assert np.array_equal(_bits(spans), _bits(runs))
    for i, (lengths, values) in enumerate(months):
        lists = np.split(values, np.cumsum(lengths)[:-1])
        for g, parts in enumerate(S.parts):
            mine = [v for p in parts for v in lists[p]]
            want = float(np.mean(mine)) if mine else float("nan")
            assert _bits(spans[i, g]) == _bits(want), (i, g)
