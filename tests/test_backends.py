"""The batch runner on cluster backends gives the same runs as on this machine.

Dask runs for real on a ``LocalCluster`` of two worker processes (``distributed`` is in the
``test`` extra, so CI runs it); Ray runs on a local Ray when the ``[ray]`` extra is installed
(``pytest.importorskip``). Each compares every summary column with the local in-process batch of
the same design and seeds.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ics_sim.runs.backends import map_unordered
from ics_sim.runs.batch import run_batch

DESIGN = [{"setting_id": "committee", "governance": "committee"},
          {"setting_id": "lead", "governance": "lead_provider"}]
BASE = {"years": 1}
#: columns that describe the worker, not the run
WORKER_COLUMNS = ["elapsed_s", "cpu_s", "worker_pid", "worker_rss_mb"]


def runs(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=WORKER_COLUMNS).sort_values(["setting_id", "replicate"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("local")
    return runs(run_batch(DESIGN, 2, out, workers=1, base_overrides=BASE, progress=False))


def test_unknown_backend_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="backend must be one of .*'dask'.*'loky'.*'ray'.*got 'spark'"):
        run_batch(DESIGN, 1, tmp_path, backend="spark", progress=False)
    with pytest.raises(ValueError, match="workers must be -1 .* got 0"):
        run_batch(DESIGN, 1, tmp_path, workers=0, progress=False)
    with pytest.raises(ValueError, match="address is only used by the dask and ray backends"):
        run_batch(DESIGN, 1, tmp_path, backend="loky", address="tcp://127.0.0.1:8786", progress=False)


def test_dask_without_a_client_says_how_to_make_one():
    pytest.importorskip("distributed")
    from distributed import get_client

    try:
        get_client()
        pytest.skip("a dask client is already current in this process")
    except ValueError:
        pass
    with pytest.raises(ValueError, match=r"needs a running dask.distributed Client .*address="):
        list(map_unordered(abs, [1, -2], workers=2, backend="dask"))


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield cluster


@pytest.mark.slow  # starting a two-process LocalCluster takes tens of seconds
def test_dask_batch_matches_local_batch(dask_cluster, local_runs, tmp_path):
    from distributed import Client

    with Client(dask_cluster) as client:
        df = run_batch(DESIGN, 2, tmp_path, workers=-1, backend="dask", base_overrides=BASE, progress=False)
        worker_pids = set(client.run(lambda: __import__("os").getpid()).values())
    assert (df["status"] == "ok").all(), df["error"].tolist()
    assert set(df["worker_pid"]) <= worker_pids  # the runs ran on the cluster's workers, not here
    pd.testing.assert_frame_equal(runs(df), local_runs)


@pytest.mark.slow  # shares the LocalCluster above
def test_dask_by_scheduler_address_resumes_an_interrupted_batch(dask_cluster, local_runs, tmp_path):
    address = dask_cluster.scheduler_address
    first = run_batch(DESIGN, 2, tmp_path, workers=2, backend="dask", address=address, base_overrides=BASE, max_runs=3,
                      chunk_size=2, progress=False)
    assert len(first) == 3
    df = run_batch(DESIGN, 2, tmp_path, workers=2, backend="dask", address=address, base_overrides=BASE,
                   progress=False)
    assert len(df) == 4 and not df.duplicated(["setting_id", "replicate"]).any()
    pd.testing.assert_frame_equal(runs(df), local_runs)


def test_ray_batch_matches_local_batch(local_runs, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        df = run_batch(DESIGN, 2, tmp_path, workers=-1, backend="ray", base_overrides=BASE, progress=False)
    finally:
        ray.shutdown()
    assert (df["status"] == "ok").all(), df["error"].tolist()
    pd.testing.assert_frame_equal(runs(df), local_runs)
