"""Where the runs of a batch execute: local worker processes, a Dask cluster or a Ray cluster.

:func:`map_unordered` applies a function to a stream of tasks and yields the results as workers
finish them (in any order), keeping only a bounded number of tasks in flight, so a batch of a
million runs never holds a million futures and the caller can write results as they come:

* ``loky`` (default), ``multiprocessing``, ``threading``, ``sequential`` and any backend
  registered with joblib: a joblib pool on this machine; ``workers=1`` runs in this process.
* ``dask``: tasks submitted to a ``dask.distributed`` scheduler: the current client (a
  ``Client(...)`` made before the batch), else a client connected to ``address``
  (``tcp://host:8786``) for the duration of the batch.
* ``ray``: one Ray task of one CPU per run, on the Ray instance this process is connected to
  (``ray.init(...)`` before the batch), else on ``ray.init(address=address)`` (``"auto"``, a
  ``host:6379`` address, ``RAY_ADDRESS``, or none: a local Ray started and stopped here).

Dask and Ray are used directly rather than through joblib: joblib's Dask backend is registered
only inside ``parallel_config(backend="dask")`` (``Parallel(backend="dask")`` alone fails with
"Invalid backend"), and Ray's joblib backend runs a multiprocessing pool of Ray actors. Submitting
tasks ourselves keeps ``workers`` tasks in flight (with ``workers=-1``, twice the cluster's cores,
looked up every few seconds so workers that join later get work too), streams results in the order
they finish like the local pool, and cancels what is queued when the batch is interrupted.

The function and its tasks must be picklable by reference (a module-level function of an
installed package), and the package must be importable on every worker.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

LOCAL_BACKENDS = ("loky", "multiprocessing", "threading", "sequential")
CLUSTER_BACKENDS = ("dask", "ray")


def check_backend(backend: str, address: str | None = None) -> None:
    """Fail early, with one line, if ``backend`` cannot run here.

    Raises:
        ValueError: an unknown backend, or ``address`` given to a local backend.
        ImportError: the package a cluster backend needs is not installed (names the extra).
    """
    if backend == "dask":
        try:
            import distributed  # noqa: F401
        except ImportError as exc:
            raise ImportError("backend='dask' needs dask.distributed: pip install -e '.[dask]'") from exc
        return
    if backend == "ray":
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise ImportError("backend='ray' needs Ray: pip install -e '.[ray]'") from exc
        return
    if address is not None:
        raise ValueError(f"address is only used by the dask and ray backends, not by backend={backend!r}")
    from joblib.parallel import BACKENDS

    if backend not in BACKENDS:
        allowed = sorted({*LOCAL_BACKENDS, *CLUSTER_BACKENDS, *BACKENDS})
        raise ValueError(f"backend must be one of {allowed}, got {backend!r}")


def map_unordered(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int = 1,
    backend: str = "loky",
    address: str | None = None,
) -> Iterator[R]:
    """Yield ``fn(item)`` for every item, in the order the workers finish them.

    Args:
        fn: a module-level function (pickled by reference).
        items: the tasks; consumed lazily, a few ahead of the workers.
        workers: how many run at once. Local backends: processes (``-1``: all cores; ``1``: in
            this process). ``dask`` / ``ray``: tasks in flight (``-1``: twice the cluster's
            cores when the batch starts, so no worker waits for its next task).
        backend: ``loky``, ``multiprocessing``, ``threading``, ``sequential``, ``dask``, ``ray``
            or another joblib backend registered by the caller.
        address: the scheduler (``dask``) or Ray (``ray``) address to connect to when this
            process is not connected yet.

    Raises:
        ValueError: ``workers`` is 0 or below -1, or see :func:`check_backend`.
    """
    workers = int(workers)
    if workers == 0 or workers < -1:
        raise ValueError(f"workers must be -1 (all cores) or a positive number, got {workers}")
    check_backend(backend, address)
    if backend == "dask":
        return _dask(fn, items, workers, address)
    if backend == "ray":
        return _ray(fn, items, workers, address)
    return _joblib(fn, items, workers, backend)


def _joblib(fn: Callable[[T], R], items: Iterable[T], workers: int, backend: str) -> Iterator[R]:
    from joblib import Parallel, delayed

    for mode in ("generator_unordered", "generator"):  # a backend registered by the caller may lack one
        try:
            parallel = Parallel(n_jobs=workers, backend=backend, return_as=mode, pre_dispatch="2*n_jobs")
        except ValueError:
            continue
        yield from parallel(delayed(fn)(item) for item in items)
        return
    parallel = Parallel(n_jobs=workers, backend=backend)  # lists only: feed blocks, so results still stream
    todo = iter(items)
    while block := list(itertools.islice(todo, 4 * max(workers, 1))):
        yield from parallel(delayed(fn)(item) for item in block)


class _Target:
    """How many tasks to keep in flight: ``workers``, or twice the cluster's cores, looked up again
    every ``every`` seconds (workers that join a cluster after the batch starts get work too)."""

    def __init__(self, workers: int, cores: Callable[[], float], every: float = 5.0) -> None:
        self.workers, self.cores, self.every = workers, cores, every
        self.value, self.checked = 0, -math.inf

    def __call__(self) -> int:
        if self.workers > 0:
            return self.workers
        if time.monotonic() - self.checked > self.every:
            self.value, self.checked = 2 * max(1, int(self.cores())), time.monotonic()
        return self.value


def _dask(fn: Callable[[T], R], items: Iterable[T], workers: int, address: str | None) -> Iterator[R]:
    from distributed import Client, as_completed, get_client

    own = None
    try:
        client = get_client() if address is None else Client(address, set_as_default=False)
        own = client if address is not None else None
    except ValueError as exc:  # no current client and no address
        raise ValueError(
            "backend='dask' needs a running dask.distributed Client (`Client('tcp://scheduler:8786')` before "
            "the batch) or address='tcp://scheduler:8786'"
        ) from exc
    try:
        target = _Target(workers, lambda: sum(client.nthreads().values()))
        todo = iter(items)
        # pure=False: two tasks with equal arguments are still two runs (Dask would merge them)
        first = [client.submit(fn, item, pure=False) for item in itertools.islice(todo, target())]
        pending = as_completed(first, loop=client.loop)
        try:
            for future in pending:
                result = future.result()
                future.release()
                for item in itertools.islice(todo, max(1, target() - pending.count())):
                    pending.add(client.submit(fn, item, pure=False))
                yield result
        finally:  # an interrupted batch (Ctrl-C, an error): stop what is still queued
            left = list(pending.futures)
            if left:
                client.cancel(left)
    finally:
        if own is not None:
            own.close()


def _ray(fn: Callable[[T], R], items: Iterable[T], workers: int, address: str | None) -> Iterator[R]:
    import ray

    started = False
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(fn)
        target = _Target(workers, lambda: ray.cluster_resources().get("CPU", 1))
        todo = iter(items)
        pending = [remote.remote(item) for item in itertools.islice(todo, target())]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                result = ray.get(done[0])
                pending += [remote.remote(item) for item in itertools.islice(todo, max(1, target() - len(pending)))]
                yield result
        finally:  # an interrupted batch: stop what is still queued
            for ref in pending:
                ray.cancel(ref)
    finally:
        if started:
            ray.shutdown()
