"""Memory stays flat over many in-process runs (issue 12): a result the caller drops is freed.

Mesa 3.3 kept every model in ``mesa.Agent._ids``; ``ics_sim.model.ics_model`` holds that counter
weakly. ``benchmarks/memory_benchmark.py`` measures 500 default runs; here fewer, shorter ones.
"""

from __future__ import annotations

import gc
import weakref

import mesa
import pytest

import ics_sim
from ics_sim.model.ics_model import ICSModel


def _rss_mb() -> float:
    import os

    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _models_in_mesa() -> set[int]:
    return {id(m) for m in list(getattr(mesa.Agent, "_ids", {})) if isinstance(m, ICSModel)}


def test_a_dropped_result_frees_its_model():
    gc.collect()
    before = _models_in_mesa()  # models other tests in this worker still hold (a workshop session, say)
    r = ics_sim.run({"years": 1}, seed=0)
    model = weakref.ref(r.model)
    agents = weakref.ref(next(iter(r.model.agents)))
    assert id(r.model) in _models_in_mesa() or not hasattr(mesa.Agent, "_ids")  # Mesa >= 3.4 has no such counter
    del r
    gc.collect()
    assert model() is None and agents() is None
    assert _models_in_mesa() <= before  # Mesa's counter let go of it


def test_a_kept_result_keeps_its_model_and_agent_numbers_run_on():
    r = ics_sim.run({"years": 1}, seed=0)
    ids = sorted(a.unique_id for a in r.model.agents)
    assert ids == list(range(1, len(ids) + 1))  # numbered from 1 per model, as Mesa does
    gc.collect()
    assert r.model.agents and r.summary["hle_mean"] > 0


@pytest.mark.slow  # 45 two-year runs (about ten seconds of CPU); .ci/run runs it
def test_many_runs_keep_memory_flat():
    for i in range(5):  # warm-up: imports, caches, allocator pools
        ics_sim.run({"years": 2}, seed=i)
    gc.collect()
    start = _rss_mb()
    for i in range(40):
        ics_sim.run({"years": 2}, seed=i)
    gc.collect()
    assert _rss_mb() - start < 15.0
