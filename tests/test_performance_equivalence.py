"""The speed-ups change no number: summary-only runs, cached beliefs and the table builder give
exactly what the straightforward computations give (no timing assertions here; speed lives in
``benchmarks/``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ics_sim.config import load_config
from ics_sim.model.ics_model import ICSModel
from ics_sim.model.record import METRICS
from ics_sim.runs.api import run_config


def _same(a: dict, b: dict) -> bool:
    """Exact equality of two summaries, key order included (NaN equals NaN)."""
    if list(a) != list(b):
        return False
    for k, x in a.items():
        y = b[k]
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if type(x) is not type(y) or x != y:
            return False
    return True


@pytest.mark.parametrize(
    ("overrides", "seed"),
    [
        ({"years": 3}, 0),
        ({"years": 1, "governance": "joint_committee", "delegation": "fixed"}, 1),
        ({"years": 2, "sed.enabled": True, "shocks": "winter_pressure"}, 2),
        ({"years": 2, "delegation": "earned_autonomy", "governance": "lead_provider"}, 3),
        ({"years": 2, "system": "herefordshire_worcestershire"}, 4),
        ({"years": 1, "system": "england"}, 5),  # several systems: the summary is national
    ],
)
def test_summary_is_identical_without_the_timeseries(overrides, seed):
    full = run_config(load_config(overrides)[0], seed=seed)
    lean = run_config(load_config(overrides)[0], seed=seed, keep_model=False, timeseries=False)
    assert lean.timeseries is None
    assert full.timeseries is not None and len(full.timeseries) > 0
    assert _same(full.summary, lean.summary), {k: (full.summary[k], lean.summary.get(k)) for k in full.summary if full.summary[k] != lean.summary.get(k)}
    # the model ran the same: the ledger and the final state agree exactly
    assert full.model.ledger.rows == lean.model.ledger.rows
    np.testing.assert_array_equal(full.model.population.health, lean.model.population.health)


def test_summary_only_recorder_keeps_the_last_twelve_months():
    cfg, _ = load_config({"years": 2})
    m = ICSModel(cfg, seed=0, timeseries=False).run()
    assert m.recorder.months == list(range(12, 24))
    assert all(len(v) == 12 for v in m.recorder.data.values())


def test_batch_and_evaluate_return_the_full_run_summary():
    from ics_sim.runs.batch import RunTask, run_task
    from ics_sim.runs.evaluate import evaluate

    full = run_config(load_config({"years": 1})[0], seed=7).summary
    row, ts = run_task(RunTask("s", 0, 7, (("years", 1),)))
    assert ts is None and row["status"] == "ok", row.get("error")
    assert all(row[k] == v or (isinstance(v, float) and math.isnan(v) and math.isnan(row[k])) for k, v in full.items())
    out = evaluate(years=1, seed=7)
    assert out["hle_sii"] == full["hle_sii"] and out["unmet_need"] == full["unmet_need"]


def test_cached_beliefs_equal_the_direct_computation():
    """Observation computes each quantity once for the whole population and indexes it; check it
    against the per-call formulas after need moves, errors drift and a needs assessment."""
    cfg, _ = load_config({"years": 1})
    m = ICSModel(cfg, seed=3)
    obs, pop = m.observation, m.population

    def check() -> None:
        for part in m.partnerships:
            idx = part.idx
            for kind in obs.errors:
                vis = np.log(np.maximum(pop.visible_need[idx], 1e-9)) + obs.errors[kind][idx]
                np.testing.assert_array_equal(obs.log_visible(kind, idx), vis)
                np.testing.assert_array_equal(obs.visible_estimate(kind, idx), np.exp(vis))
                for reach in (None, 0.0, 0.3):
                    r = obs.reach.get(kind, 0.0) if reach is None else reach
                    seen = r * pop.hidden_need[idx] * np.exp(obs.errors[kind][idx])
                    np.testing.assert_array_equal(obs.hidden_seen(kind, idx, reach), seen)

    check()
    for _ in range(3):
        m.step()
        check()
    obs.sharpen(m.layout.nb_place == 0)
    check()
    out = obs.log_visible("council", m.partnerships[0].idx)
    out += 1.0  # a reader owns what it is given: the cache is untouched
    check()


def _frame_reference(rec, run: str, scenario: str, seed: int, factors: dict) -> pd.DataFrame:
    """The table built the straightforward way: one frame per metric, concatenated."""
    parts = []
    months = np.array(rec.months)
    for (level, metric), values in rec.data.items():
        arr = np.stack(values)
        month = np.repeat(months, arr.shape[1])
        parts.append(pd.DataFrame({
            "month": month,
            "date": [pd.Timestamp(rec.model.cfg.start_year, 4, 1) + pd.DateOffset(months=int(m)) for m in month],
            "level": level,
            "area": np.tile(np.array(rec.areas[level], dtype=object), arr.shape[0]),
            "metric": metric,
            "measure_unit": METRICS[metric].unit,
            "value": arr.ravel(),
        }))
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "seed", np.int64(seed))
    for i, (name, value) in enumerate(factors.items()):
        df.insert(i, name, value)
    df.insert(0, "scenario", scenario)
    df.insert(0, "run", run)
    df["date"] = df["date"].astype("datetime64[ns]")
    for col in ("run", "scenario", "level", "area", "metric"):
        df[col] = df[col].astype("string")
    for col in ("measure_unit", *(k for k, v in factors.items() if isinstance(v, str))):
        df[col] = df[col].astype("category")
    return df


@pytest.mark.parametrize("overrides", [{"years": 1}, {"years": 1, "system": "herefordshire_worcestershire"}])
def test_frame_equals_the_per_metric_construction(overrides):
    cfg, _ = load_config(overrides)
    rec = ICSModel(cfg, seed=1).run().recorder
    factors = {"governance": "committee", "delegation_share": 0.5, "pooled": False}
    pd.testing.assert_frame_equal(rec.frame("r1", "scen", 9, factors), _frame_reference(rec, "r1", "scen", 9, factors),
                                  check_exact=True)


def _frame_from_blocks_reference(rec, run: str = "", scenario: str = "", seed: int = 0, factors: dict | None = None) -> pd.DataFrame:
    """The table as ``Recorder.frame`` built it before it wrote the columns in place: each
    metric's block stacked, the columns concatenated, each month converted to its date, the
    string columns validated into copies and the frame copying and consolidating its columns."""
    from ics_sim.model.record import measure_unit

    months = np.array(rec.months, dtype=np.int64)
    keys = list(rec.data)
    blocks = [np.array(rec.data[key], dtype=float) for key in keys]
    sizes = [b.size for b in blocks]
    n = sum(sizes)

    def strings(values, repeats):
        return pd.array(np.repeat(np.array(values, dtype=object), repeats), dtype="string")

    area_names = {level: np.array(areas, dtype=object) for level, areas in rec.areas.items()}
    areas = np.concatenate([np.tile(area_names[level], b.shape[0]) for (level, _), b in zip(keys, blocks, strict=True)])
    month_col = np.concatenate([np.repeat(months, b.shape[1]) for b in blocks])
    first = np.datetime64(f"{int(rec.model.cfg.start_year)}-04", "M")
    columns = {"run": strings([run], n), "scenario": strings([scenario], n)}
    for name, value in (factors or {}).items():
        columns[name] = (pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])
                         if isinstance(value, str) else np.full(n, value))
    unit_of = [measure_unit(metric) for _, metric in keys]
    unit_names = sorted(set(unit_of))
    unit_codes = np.repeat(np.array([unit_names.index(u) for u in unit_of], dtype=np.int16), sizes)
    columns.update({
        "seed": np.full(n, seed, dtype=np.int64),
        "month": month_col,
        "date": (first + month_col.astype("timedelta64[M]")).astype("datetime64[ns]"),
        "level": strings([level for level, _ in keys], sizes),
        "area": pd.array(areas, dtype="string"),
        "metric": strings([metric for _, metric in keys], sizes),
        "measure_unit": pd.Categorical.from_codes(unit_codes, categories=unit_names),
        "value": np.concatenate([b.ravel() for b in blocks]),
    })
    return pd.DataFrame(columns)


@pytest.mark.parametrize(
    ("overrides", "timeseries"),
    [
        ({"years": 1, "sed.enabled": True}, True),  # one system; a system-only measure
        ({"years": 1, "system": "herefordshire_worcestershire", "start_year": 2026}, True),  # national and pair levels
        ({"years": 2}, False),  # a summary-only recorder: months 12-23
    ],
)
def test_frame_written_in_place_equals_the_block_construction(overrides, timeseries):
    """Columns written in place, strings wrapped without a copy and a frame that neither copies
    nor consolidates give the table the block-by-block construction gave, dtypes included."""
    cfg, _ = load_config(overrides)
    rec = ICSModel(cfg, seed=2, timeseries=timeseries).run().recorder
    factors = {"governance": "committee", "delegation_share": 0.5, "pooled": False, "years": 2}
    for args in (("r1", "scen", 9, factors), (), (7, "scen")):  # a run id that is not text: written as "7"
        new, old = rec.frame(*args), _frame_from_blocks_reference(rec, *args)
        pd.testing.assert_frame_equal(new, old, check_exact=True)
        assert list(new.dtypes.astype(str)) == list(old.dtypes.astype(str))
        assert new["month"].iloc[0] == rec.months[0]
    # the frame owns its columns: changing it leaves the record, and a second frame, alone
    new["value"] = 0.0
    new.loc[0, "area"] = "elsewhere"
    pd.testing.assert_frame_equal(rec.frame(), _frame_from_blocks_reference(rec), check_exact=True)


def test_frame_string_columns_follow_pandas_string_storage():
    """With pandas storing strings in pyarrow the table's text columns are pyarrow strings, as
    ``pd.array`` makes them (the recorder wraps its object arrays only for NumPy-backed strings)."""
    pytest.importorskip("pyarrow")
    rec = ICSModel(load_config({"years": 1})[0], seed=1).run().recorder
    with pd.option_context("mode.string_storage", "pyarrow"):
        new, old = rec.frame("r", "s"), _frame_from_blocks_reference(rec, "r", "s")
    assert new["area"].dtype.storage == "pyarrow"
    pd.testing.assert_frame_equal(new, old, check_exact=True)


# --- issue 13: vectorised record, views and meetings give the straightforward numbers -----------
def _stepped_model(overrides: dict, months: int, seed: int = 2) -> ICSModel:
    m = ICSModel(load_config(overrides)[0], seed=seed)
    for _ in range(months):
        m.step()
    return m


def test_system_measures_equal_the_validated_public_metrics():
    """The recorder computes inequality measures with ``ics_sim.metrics``' private kernels over a
    static design; the public, validated functions on the same group give the same numbers."""
    from ics_sim import metrics

    m = _stepped_model({"system": "herefordshire_worcestershire", "years": 1}, 5)
    L, pop, rec = m.layout, m.population, m.recorder
    idx = L.system_index[0]
    people, dec, rank = L.nb_population[idx], L.nb_decile[idx], L.nb_rank[idx]
    hle, health = pop.hle[idx], pop.health[idx]
    spend, need = m.last_delivery.spend[idx], pop.need[idx]
    got = {k[1]: v[-1][0] for k, v in rec.data.items() if k[0] == "system"}
    gv, gp = metrics.decile_groups(dec, hle, people)
    assert (got["hle_sii"], got["hle_rii"]) == metrics.sii(gv, gp)
    assert got["hle_relative_sii"] == metrics.relative_sii(gv, gp)
    assert got["health_gini"] == metrics.gini(health, people)
    sph, nph = spend.sum(axis=1) / people, need.sum(axis=1) / people
    assert got["spend_concentration_index"] == metrics.concentration_index(sph, rank, people)
    assert got["horizontal_inequity"] == metrics.horizontal_inequity(sph, nph, rank, people)
    rv, rp = metrics.decile_groups(dec, spend.sum(axis=1) / np.maximum(need.sum(axis=1), 1e-12), people)
    assert got["inverse_care_sii"] == metrics.sii(rv, rp)[0]
    th = metrics.theil(hle, people, L.nb_place[idx])
    assert (got["theil_between_places"], got["theil_within_places"]) == (th.between, th.within)
    ct = metrics.theil(np.maximum(m.coverage[idx], 1e-9), people, L.nb_place[idx])
    assert (got["coverage_theil_between_places"], got["coverage_theil_within_places"]) == (ct.between, ct.within)
    assert got["health_mean"] == float(np.average(health, weights=people))
    assert got["hle_mean"] == float(np.average(hle, weights=people))


def _pooled_reference(part):
    """A place table's pooled view computed place by place (the definition)."""
    from ics_sim.domains import N_DOMAINS
    from ics_sim.model.governance.allocation import Belief

    obs = part.model.observation
    num, den = np.zeros((len(part.idx), N_DOMAINS)), 0.0
    hidden = np.zeros_like(num)
    for s in part.seats:
        w = obs.precision(s.org.observer)
        num += w * obs.log_visible(s.org.observer, part.idx)
        den += w
        seen = obs.hidden_seen(s.org.observer, part.idx, s.org.hidden_reach())
        hidden = np.maximum(hidden, s.org.hidden_belief(seen))
    return Belief(np.exp(num / den), hidden)


def test_pooled_views_and_whole_population_beliefs_equal_the_per_place_computation():
    """Views pooled once a month for every place with the same seating, with each place's own
    reach (a VCSE sector with folded bodies sees less), equal the per-place pooling; so do the
    councils' and VCSE sectors' beliefs read for the whole population."""
    from ics_sim.model.governance.views import whole_belief

    m = _stepped_model({"years": 1, "interests.enabled": True}, 2)
    m.vcses[1].alive[:] = False  # place 1's VCSE reach falls to zero
    m.vcses[2].capacity[:] = 0.3
    other = m.partnerships[3]
    other.form = "joint_committee"  # a second seating in the same month
    other._seat()
    m.step()
    for part in m.partnerships:
        got, ref = part.forum_belief(), _pooled_reference(part)
        np.testing.assert_array_equal(got.visible, ref.visible)
        np.testing.assert_array_equal(got.hidden, ref.hidden)
    for orgs in (m.councils, m.vcses):
        whole = whole_belief(m, orgs)
        for p, org in enumerate(orgs):
            b = org.belief(m.layout.place_index[p])
            np.testing.assert_array_equal(whole.visible[m.layout.place_index[p]], b.visible)
            np.testing.assert_array_equal(whole.hidden[m.layout.place_index[p]], b.hidden)
    seen = whole_belief(m, m.vcses).hidden  # the reaches differ by place, as the test meant
    assert np.all(seen[m.layout.place_index[1]] == 0.0) and np.all(seen[m.layout.place_index[0]] > 0.0)


@pytest.mark.parametrize(
    "overrides, months, seed",
    [
        ({"years": 1}, 3, 1),
        ({"years": 1, "observation.perfect": True}, 2, 3),  # every seat sees all hidden need
        ({"years": 1, "observation.reach_pcn": 0.0, "observation.reach_healthwatch": 0.0}, 4, 5),  # fewer seats see
        ({"years": 1, "interests.enabled": True, "governance": "consultative_forum"}, 6, 7),
        ({"years": 1, "system": "herefordshire_worcestershire", "interests.enabled": True}, 3, 11),
    ],
)
def test_pooled_views_equal_the_per_place_computation_over_varied_runs(overrides, months, seed):
    """The pooled views (every seat's weighted estimate in one product added seat after seat,
    seats that see no hidden need passed over) equal the per-place pooling month after month,
    with observation perfect or not and with reaches switched off; and every observer kind's
    log estimate read from the stacked field is its log visible need plus its own errors (and
    its estimate and its errors' exponential their exponentials), and the hidden need seen with no
    reach is +0.0 (all of it when observation is perfect)."""
    m = _stepped_model(overrides, 0, seed)
    obs = m.observation
    for _ in range(months):
        m.step()
        for part in m.partnerships:
            got, ref = part.forum_belief(), _pooled_reference(part)
            assert np.array_equal(got.visible, ref.visible) and np.array_equal(got.hidden, ref.hidden)
        log_vis = np.log(np.maximum(m.population.visible_need, 1e-9))
        for kind, errors in obs.errors.items():
            want = log_vis if m.cfg.observation.perfect else log_vis + errors
            assert np.array_equal(obs.whole_log_visible(kind), want)
            assert np.array_equal(obs.whole_visible_estimate(kind), np.exp(want))
            assert np.array_equal(obs._whole("exp_error", kind), np.exp(errors))
            hidden = m.population.hidden_need
            none_seen = hidden if m.cfg.observation.perfect else 0.0 * hidden * np.exp(errors)
            assert np.array_equal(_bits(obs.whole_hidden_seen(kind, 0.0)), _bits(none_seen))
        kinds = ["pcn", "council", "pcn", "vcse"]
        assert np.array_equal(obs.whole_log_visibles(kinds), np.stack([obs.whole_log_visible(k) for k in kinds]))


def test_hidden_need_seen_with_each_place_reach_is_worked_out_once_per_set_of_reaches():
    """Observation.place_hidden_seen is the hidden need seen with each neighbourhood its place's
    reach, computed directly; kept for the same reaches (by value) while the observation is
    unchanged, and worked out afresh for other reaches and after the errors drift."""
    m = _stepped_model({"years": 1}, 2, seed=4)
    obs, nb = m.observation, m.layout.nb_place
    rng = np.random.default_rng(4)
    for _ in range(20):
        reach = rng.uniform(0.0, 1.0, m.layout.n_places)
        reach[rng.random(len(reach)) < 0.3] = 0.0
        for kind in ("vcse", "council", "pcn"):
            got = obs.place_hidden_seen(kind, reach, nb)
            want = reach[nb][:, None] * obs._whole("hidden") * np.exp(obs.errors[kind])
            assert np.array_equal(got, want) and not got.flags.writeable
            assert obs.place_hidden_seen(kind, reach.copy(), nb) is got
    before = obs.place_hidden_seen("vcse", reach, nb)
    m.step()
    after = obs.place_hidden_seen("vcse", reach, nb)
    assert after is not before and not np.array_equal(after, before)


def test_a_sum_over_the_first_axis_adds_in_order():
    """``np.add.reduce(a, axis=0)`` (the pooled views' sum over seats, the VCSE payments' over
    kinds of money) adds ``0.0 + a[0] + a[1] + ...`` in order, as a loop of ``+=`` into zeros
    does (no pairwise reordering across the first axis; -0.0 comes out +0.0 alike)."""
    rng = np.random.default_rng(8)
    for _ in range(500):
        n = int(rng.integers(1, 20))
        a = rng.standard_normal((n, int(rng.integers(1, 40)), 5)) * 10.0 ** rng.uniform(-6, 6, (n, 1, 1))
        a[rng.random(a.shape) < 0.1] = -0.0
        total = np.zeros(a.shape[1:])
        for row in a:
            total += row
        assert np.array_equal(_bits(np.add.reduce(a, axis=0)), _bits(total))  # to the sign of zero


def test_beliefs_are_shared_read_only_within_a_month_and_renewed_when_observations_change():
    m = _stepped_model({"years": 1}, 1)
    part = m.partnerships[0]
    council = part.orgs["council"]
    b = council.belief(part.idx)
    assert council.belief(part.idx) is b
    with pytest.raises(ValueError):
        b.visible += 1.0  # shared: nobody may write into it
    m.step()
    b2 = council.belief(part.idx)
    assert b2 is not b and not np.array_equal(b2.visible, b.visible)
    np.testing.assert_array_equal(b2.visible, m.observation.visible_estimate("council", part.idx))


def test_plan_distances_equal_plan_distance_pair_by_pair():
    from ics_sim.model.governance.allocation import plan_distance, plan_distances

    rng = np.random.default_rng(4)
    for n in (1, 7, 36):
        proposals = rng.random((5, n, 5)) * 1e6
        cands = rng.random((11, n, 5)) * 1e6
        got = plan_distances(cands[:, None], proposals[None])
        ref = np.array([[plan_distance(c, p) for p in proposals] for c in cands])
        np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(plan_distances(cands[0], proposals), ref[0])


# --- issue 13, second round: the system measures of every system at once ---------------------
def _bits(x) -> np.ndarray:
    return np.asarray(x, dtype=float).view(np.int64)


def test_runs_sum_and_dot_each_run_as_numpy_does_alone():
    """``Runs`` sums and dot products over stacked runs of any lengths (equal, empty, long) give
    each run's ``.sum()`` and ``np.dot`` bit for bit: the order the model's numbers depend on."""
    from ics_sim.grouped import Runs

    rng = np.random.default_rng(13)
    lengths = [8, 13, 13, 0, 1, 2, 66, 7, 66, 30, 129, 1254, 9, 9, 9, 3, 0, 41]
    base = rng.standard_normal((3, 2000)) * rng.random((3, 2000)) * 1e6
    weights = rng.random(2000)
    members = [rng.choice(2000, size=n, replace=False) for n in lengths]
    runs = Runs(members)
    x, w = runs.gather(base), runs.gather(weights)
    sums, dots = runs.sum(x), runs.dot(w, x)
    assert sums.shape == dots.shape == (3, len(lengths))
    for r, idx in enumerate(members):
        for q in range(3):
            assert _bits(sums[q, r]) == _bits(base[q][idx].sum())
            assert _bits(dots[q, r]) == _bits(np.dot(weights[idx], base[q][idx]))
    np.testing.assert_array_equal(runs.sum(w), [weights[idx].sum() for idx in members])
    spread = runs.spread(np.arange(runs.n))
    for r, n in enumerate(lengths):
        assert np.all(spread[runs.starts[r] : runs.starts[r] + n] == r)
    y = np.round(rng.random(2000), 1)
    y[:100] = 2.5  # runs drawn from here are flat
    some = Runs([np.arange(9), np.arange(10, 11), np.arange(20, 86), rng.choice(2000, 30, replace=False), np.arange(95, 105)])
    np.testing.assert_array_equal(some.all_equal(some.gather(y)), [True, True, True, False, False])


def test_cumulative_and_running_sums_of_runs_add_each_run_in_order():
    """``_cumsum_runs`` and ``_running_sum`` give each run's ``np.cumsum`` and its sum from 0.0
    added in order, bit for bit, for short runs laid in a padded matrix, a long run summed alone
    (England's among systems), empty runs, -0.0 first items and leading axes."""
    from ics_sim.model.system_metrics import _cumsum_runs, _running_sum

    rng = np.random.default_rng(4)
    lengths = [3, 0, 7, 1, 200, 5, 0, 12, 9]  # one long run, two empty
    of = np.repeat(np.arange(len(lengths)), lengths)
    pos = np.concatenate([np.arange(k) for k in lengths])
    x = rng.standard_normal((2, len(of))) * 10.0 ** rng.integers(-8, 8, (2, len(of)))
    x[:, pos == 0] = -0.0
    got, start, total = _cumsum_runs(x, of, pos, len(lengths)), _cumsum_runs(x, of, pos, len(lengths), start=True), _running_sum(x, of, pos, len(lengths))
    for r in range(len(lengths)):
        run = x[:, of == r]
        np.testing.assert_array_equal(_bits(got[:, of == r]), _bits(np.cumsum(run, axis=-1)))
        for row in range(2):
            acc, accs = 0.0, []
            for v in run[row]:
                acc += v
                accs.append(acc)
            np.testing.assert_array_equal(_bits(start[row, of == r]), _bits(np.array(accs)))
            assert _bits(total[row, r]) == _bits(acc), (r, row)
    assert np.signbit(got[0, 0]) and not np.signbit(start[0, 0])  # np.cumsum keeps -0.0; 0.0 + -0.0 is 0.0


def _system_measures_check(m, national: bool) -> None:
    """The batched measures of every group equal :func:`system_metrics` group by group, bit for
    bit and key for key, for this month's state of ``m``."""
    from ics_sim.model.system_metrics import (
        SYSTEM_ONLY,
        SystemMeasures,
        group_indices,
        system_metrics,
    )

    L, pop, d = m.layout, m.population, m.last_delivery
    unmet = np.maximum(pop.need - d.met, 0.0)
    parts = m.partnerships
    full = {"hle": pop.hle, "hidden": pop.hidden_need, "unmet_hidden": np.maximum(pop.hidden_need - d.met_hidden, 0.0),
            "place_trust": np.array([p.mean_trust() for p in parts]), "vcse_alive": np.array([v.survival() for v in m.vcses]),
            "vcse_capacity": np.array([v.operating_share() for v in m.vcses]), "delegated_share": m.finance.shares.mean(axis=1),
            "spend_nb": d.spend.sum(axis=1), "need_nb": pop.need.sum(axis=1)}
    delay = np.arange(L.n_places, dtype=float) % 7 + 1
    m.transaction_cost[:] = np.linspace(1e4, 2e5, L.n_places)  # the recorder has reset this month's
    pp = L.place_population()
    groups = [group_indices(m, idx, pp) for idx in L.system_index]
    if national:
        groups.append(group_indices(m, np.arange(L.n_neighbourhoods), pp))
    got = SystemMeasures(m, groups, national).measures(m, d, unmet, delay, full)
    rows = [system_metrics(m, g, d, unmet, delay, s, full) for s, g in enumerate(groups[: L.n_systems])]
    if national:
        alignment = np.array([r["strategy_alignment"] for r in rows], dtype=float)
        rows.append(system_metrics(m, groups[-1], d, unmet, delay, None, full, alignment))
    assert list(got) == list(rows[0])
    for key, values in got.items():
        assert values.shape == (len(groups),), key
        for i, row in enumerate(rows):
            if key in SYSTEM_ONLY and i >= L.n_systems:
                assert key not in row and np.isnan(values[i])
                continue
            assert _bits(values[i]) == _bits(row[key]), (key, i, values[i], row[key])


@pytest.mark.parametrize(
    ("overrides", "months"),
    [
        ({"system": "england", "years": 2}, (1, 13)),  # 42 systems and England
        ({"system": "herefordshire_worcestershire", "years": 2, "governance": "lead_provider",
          "sed.enabled": True, "shocks": "funding_cut"}, (2, 12, 14)),  # one system, forced into a batch with "England"
        ({"years": 2, "governance": "joint_committee", "delegation": "earned_autonomy", "sed.enabled": True}, (3, 13)),
    ],
)
def test_system_measures_equal_system_metrics_group_by_group(overrides, months):
    """After the given months (a decision year's start, its end, the next), for England's 42
    systems, a lead provider's own-service bias, SED, shocks and earned autonomy. A run of one
    system is checked with an "England" group added, so that the batch holds two groups
    (``tests/test_record_blocks.py`` checks a lone system's blocks of months)."""
    m = ICSModel(load_config(overrides)[0], seed=5)
    for month in range(1, max(months) + 1):
        m.step()
        if month in months:
            _system_measures_check(m, national=True)


def test_system_measures_rank_ties_as_the_fractional_rank():
    """Tied values (rare in the model) share the midpoint of their block, within each group."""
    from ics_sim import metrics

    m = _stepped_model({"system": "england", "years": 1}, 1)
    S = m.recorder._systems
    y = np.round(np.random.default_rng(1).random(m.layout.n_neighbourhoods), 1)  # many ties
    ranks = S._ranks(S.nbs.gather(y))
    L = m.layout
    groups = [*L.system_index, np.arange(L.n_neighbourhoods)]
    for r, idx in enumerate(groups):
        shares = L.nb_population[idx] / L.nb_population[idx].sum()
        got = ranks[S.nbs.starts[r] : S.nbs.starts[r] + len(idx)]
        np.testing.assert_array_equal(_bits(got), _bits(metrics._fractional_rank(y[idx], shares)))


def test_place_settings_follow_a_place_whose_settings_change():
    """The recorder works a place's settings out again only when they change; a replaced
    settings object or a new pooled flag shows in the next month's record."""
    import dataclasses

    from ics_sim.domains import CHAIRS

    m = _stepped_model({"years": 1}, 2)
    rec, part = m.recorder, m.partnerships[1]
    other = next(c for c in CHAIRS if c != part.settings.chair)
    part.settings = dataclasses.replace(part.settings, chair=other)
    part.pooled = not part.pooled
    m.step()
    assert rec.series("chair", "place", 1)[-1] == CHAIRS.index(other)
    assert rec.series("pooled", "place", 1)[-1] == float(part.pooled)
    assert rec.series("pooled", "place", 1)[-2] == float(not part.pooled)
    assert rec.series("chair", "place", 0)[-1] == CHAIRS.index(m.partnerships[0].settings.chair)


def test_recorded_pair_trust_equals_each_place_pair_trust_as_tables_change():
    """The recorder reads every table's trust matrix in one gather; it records what each
    partnership's ``pair_trust()`` gives, for tables of different members (no VCSE at one place)
    and after a table's trust network is rebuilt with other members, in another order."""
    from ics_sim.model.governance.trust import TrustNetwork

    m = _stepped_model({"years": 1, "system": "herefordshire_worcestershire",
                        "place_settings.herefordshire.membership.vcse": False}, 2)
    rec = m.recorder
    ref = np.concatenate([p.pair_trust() for p in m.partnerships])
    np.testing.assert_array_equal(rec.data[("pair", "trust")][-1], ref)
    assert np.isnan(ref).any() and not np.isnan(ref).all()
    part = m.partnerships[1]
    members = [k for k in reversed(part.trust.members) if k != "pcn"]
    part.trust = TrustNetwork(members, m.cfg.trust)
    part.trust.matrix[:] = np.random.default_rng(0).random((len(members), len(members)))
    m.step()
    ref = np.concatenate([p.pair_trust() for p in m.partnerships])
    np.testing.assert_array_equal(rec.data[("pair", "trust")][-1], ref)
    assert np.isnan(ref[len(ref) // 2 :]).sum() == len(members)  # the pairs with the PCN
    _check_recorded_mean_trust(m)
    part.trust = TrustNetwork(members[:1], m.cfg.trust)  # a table of one (read, not stepped): no pair seated
    pairs = rec._pair_trust(m.partnerships)
    np.testing.assert_array_equal(pairs, np.concatenate([p.pair_trust() for p in m.partnerships]))
    assert np.isnan(pairs[len(pairs) // 2 :]).all()


def _check_recorded_mean_trust(m) -> None:
    got = m.recorder.data[("place", "trust_mean")][-1]
    np.testing.assert_array_equal(_bits(got), _bits(np.array([p.mean_trust() for p in m.partnerships])))


def test_recorded_mean_trust_equals_each_place_mean_trust():
    """The recorder sums every table's trust matrix at once (England's 158 tables, of a few
    sizes); each place's mean trust is its partnership's ``mean_trust()``, bit for bit, with the
    time series and without."""
    for timeseries in (True, False):
        m = ICSModel(load_config({"system": "england", "years": 1})[0], seed=3, timeseries=timeseries)
        m.recorder.first_month = 0
        for _ in range(3):
            m.step()
            _check_recorded_mean_trust(m)
        assert len({p.trust.n for p in m.partnerships}) < len(m.partnerships) // 8  # grouped by size
