"""Batch runner for large designs: a table of settings x replicates on local worker processes.

Hydra's multirun starts a job per setting, which is simple but slow for thousands of runs.
:func:`run_batch` instead keeps a pool of worker processes (joblib's ``loky`` by default, or a
Dask or Ray cluster: :mod:`ics_sim.runs.backends`) that run one replicate at a time with
``keep_model=False`` and return only the summary (the monthly time series is not even recorded
unless ``keep_timeseries=True``). The parent:

* composes each setting's config once (Hydra, about 0.2 s) and sends it, pickled (about 5 kB),
  with each of the setting's runs, so no worker composes configs;

* keys every run by ``(setting_id, replicate)``; the seed of replicate ``r`` is
  :func:`ics_sim.runs.seeds.replicate_seed` of the base seed, the same for every setting (common
  random numbers);
* writes finished runs in chunks, ``chunk-00000.parquet``, ``chunk-00001.parquet``, ... each
  written to a temporary file and renamed into place, so a chunk that exists is whole;
* on start reads the keys already in the chunks and runs only the others, so a batch that was
  interrupted (Ctrl-C, a kill, a crash, a wall-time limit) is resumed by running the same call
  again, without redoing or duplicating finished runs;
* shows a progress bar with the rate and an ETA (tqdm);
* holds a lock on the folder so two batches cannot write into it at once.

Command line::

    python -m ics_sim.batch design.csv --replicates 10 --out results/batches/my_design --workers 4

where ``design.csv`` (or ``.yaml`` / ``.json``) has one row per setting and one column per override
(``governance``, ``delegation.share``, ...), and optionally a ``setting_id`` column.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import pickle
import re
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ics_sim.config import Config, ConfigError, load_config
from ics_sim.runs.backends import check_backend, map_unordered
from ics_sim.runs.factors import factors
from ics_sim.runs.io import atomic_path, atomic_write_parquet, atomic_write_text  # noqa: F401
from ics_sim.runs.seeds import replicate_seed

CHUNK_RE = re.compile(r"^chunk-(\d{5,})\.parquet$")
TS_PREFIX = "timeseries-"
DESIGN_FILE = "design.json"
LOCK_FILE = ".lock"
KEY = ["setting_id", "replicate"]

# --------------------------------------------------------------------------------------------
# worker side


_CONFIG_CACHE: OrderedDict[tuple, Config] = OrderedDict()
_CACHE_SIZE = 64


def _plain(value: Any) -> Any:
    """A numpy scalar (from a DataFrame) as the plain Python value Hydra's override grammar wants."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return value.item()
        except (AttributeError, ValueError):
            return value
    return value


def _cache_key(overrides: Mapping[str, Any]) -> tuple:
    return tuple(sorted((str(k), repr(_plain(v))) for k, v in overrides.items()))


def config_for(overrides: Mapping[str, Any]) -> Config:
    """The validated config of ``overrides``, composed once per process and copied on each call.

    Composing through Hydra takes about 0.1 s, as long as a short run, so a worker keeps the
    last few settings it composed.

    Args:
        overrides: config groups and dotted keys, e.g. ``{"governance": "joint_committee"}``.

    Returns:
        A fresh (deep-copied) :class:`~ics_sim.config.Config` the caller may modify.

    Raises:
        ConfigError: the overrides are invalid.
    """
    key = _cache_key(overrides)
    cfg = _CONFIG_CACHE.get(key)
    if cfg is None:
        cfg, _ = load_config({str(k): _plain(v) for k, v in overrides.items()})
        _CONFIG_CACHE[key] = cfg
        while len(_CONFIG_CACHE) > _CACHE_SIZE:
            _CONFIG_CACHE.popitem(last=False)
    else:
        _CONFIG_CACHE.move_to_end(key)
    return copy.deepcopy(cfg)


def _rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc, else psutil, else NaN)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        try:
            import psutil

            return psutil.Process().memory_info().rss / 1e6
        except ImportError:
            return float("nan")


_MALLOC_TRIM: Any = None


def trim_memory() -> None:
    """Hand freed heap memory back to the operating system (glibc ``malloc_trim``; no-op elsewhere).

    A run allocates and frees some tens of MB of arrays and frames; without this, glibc keeps
    the freed pages and a worker's RSS creeps up by tens of MB over a thousand runs (the Python
    objects do not grow). With it, RSS stays flat.
    """
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        try:
            import ctypes
            import ctypes.util

            _MALLOC_TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _MALLOC_TRIM = False
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


@dataclass(frozen=True)
class RunTask:
    """One run of a batch: a setting's overrides, the replicate and its seed.

    ``config`` is the setting's validated config, pickled (about 5 kB), as :func:`run_batch`
    composes it once per setting in the parent; the worker then neither composes (0.2 s through
    Hydra) nor copies it. Without it the worker composes the overrides itself (cached per process).
    ``config_error`` is the error of a setting whose overrides are invalid.
    """

    setting_id: Any
    replicate: int
    seed: int
    overrides: tuple[tuple[str, Any], ...]
    keep_timeseries: bool | tuple[str, ...] = False
    factor_keys: tuple[str, ...] = ()
    config: bytes = b""
    config_error: str = ""


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _compose_pickled(overrides: Mapping[str, Any]) -> tuple[bytes, str]:
    """A setting's config, validated and pickled for :class:`RunTask`, or the error it raises."""
    try:
        cfg, _ = load_config({str(k): _plain(v) for k, v in overrides.items()})
    except Exception as exc:  # recorded on each of the setting's runs, as if the worker had failed
        return b"", _error_text(exc)
    return pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL), ""


def run_task(task: RunTask) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Run one task in a worker and return its summary row (and time series if asked).

    The row holds the key, the factor columns (:func:`ics_sim.runs.factors.factors` of the
    setting's own override keys) and the summary. ``keep_timeseries`` may name the levels to
    keep (e.g. ``("system", "national")``) rather than all of them.

    Errors of the run (an invalid setting, a model failure) are caught and returned as a row
    with ``status="failed"`` and the error text, so one bad setting does not stop a batch.
    """
    import logging

    from ics_sim.runs.api import run_config

    logging.getLogger("MESA").setLevel(logging.WARNING)
    t0, c0 = time.perf_counter(), time.process_time()
    row: dict[str, Any] = {"setting_id": task.setting_id, "replicate": int(task.replicate), "seed": int(task.seed)}
    ts = None
    try:
        if task.config_error:
            raise ConfigError(task.config_error)
        cfg = pickle.loads(task.config) if task.config else config_for(dict(task.overrides))  # a fresh copy
        result = run_config(cfg, seed=int(task.seed), keep_model=False, timeseries=bool(task.keep_timeseries),
                            factor_keys=task.factor_keys)
        row.update(factors(cfg, task.factor_keys))
        row.update(result.summary)
        row["seed"] = int(task.seed)
        row["status"], row["error"] = "ok", ""
        if task.keep_timeseries:
            ts = result.timeseries
            if isinstance(task.keep_timeseries, tuple):
                ts = ts[ts["level"].isin(task.keep_timeseries)].reset_index(drop=True)
            ts.insert(0, "replicate", int(task.replicate))
            ts.insert(0, "setting_id", task.setting_id)
        del result
    except Exception as exc:  # recorded, not raised: see docstring
        row["status"] = "failed"
        row["error"] = task.config_error or _error_text(exc)
    trim_memory()
    row["elapsed_s"] = time.perf_counter() - t0
    row["cpu_s"] = time.process_time() - c0  # this worker's CPU time: unlike elapsed_s, not slowed by other load
    row["worker_pid"] = os.getpid()
    row["worker_rss_mb"] = _rss_mb()
    return row, ts


# --------------------------------------------------------------------------------------------
# parent side: design, chunks, resume


def normalise_settings(settings: pd.DataFrame | Sequence[Mapping[str, Any]]) -> list[tuple[Any, dict[str, Any]]]:
    """Turn a design table into ``[(setting_id, overrides), ...]``.

    Args:
        settings: a DataFrame with one row per setting and one column per override (missing
            values mean "use the default"), or a list of override mappings. An optional
            ``setting_id`` column or key names the settings (default: 0, 1, 2, ...).

    Returns:
        The settings with their ids and plain-Python override values.

    Raises:
        ValueError: duplicate setting ids.
    """
    if isinstance(settings, pd.DataFrame):
        records = settings.to_dict(orient="records") if len(settings.columns) else [{} for _ in range(len(settings))]
    else:
        records = [dict(s) for s in settings]
    out = []
    for i, rec in enumerate(records):
        rec = {str(k): _plain(v) for k, v in rec.items()}
        sid = rec.pop("setting_id", i)
        rec = {k: v for k, v in rec.items() if not (isinstance(v, float) and math.isnan(v)) and v is not None}
        out.append((_plain(sid), rec))
    ids = [str(s) for s, _ in out]
    if len(set(ids)) != len(ids):
        dup = sorted({s for s in ids if ids.count(s) > 1})[:5]
        raise ValueError(f"duplicate setting_id values in the design: {dup}")
    return out


def _chunk_files(out_dir: Path) -> list[Path]:
    return sorted((p for p in out_dir.iterdir() if CHUNK_RE.match(p.name)), key=lambda p: int(CHUNK_RE.match(p.name).group(1)))


def _key(setting_id: Any, replicate: int) -> tuple[str, int]:
    return (str(setting_id), int(replicate))


def _finished_keys(out_dir: Path, retry_failed: bool) -> set[tuple[str, int]]:
    done: set[tuple[str, int]] = set()
    for f in _chunk_files(out_dir):
        df = pd.read_parquet(f, columns=["setting_id", "replicate", "status"])
        if retry_failed:
            df = df[df["status"] == "ok"]
        done.update(_key(s, r) for s, r in zip(df["setting_id"], df["replicate"], strict=True))
    return done


def read_results(out_dir: str | Path, timeseries: bool = False) -> pd.DataFrame:
    """All runs written to a batch folder so far, one row per ``(setting_id, replicate)``.

    If a key was run more than once (a failed run retried), the successful (else the last) row
    is kept.

    Args:
        out_dir: the batch folder.
        timeseries: return the kept time series (``keep_timeseries=True``) instead.

    Returns:
        The summaries (or time series), sorted by setting and replicate.
    """
    out_dir = Path(out_dir)
    if timeseries:
        files = sorted(out_dir.glob(f"{TS_PREFIX}chunk-*.parquet"))
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame()
    files = _chunk_files(out_dir) if out_dir.exists() else []
    if not files:
        return pd.DataFrame(columns=[*KEY, "seed", "status", "error"])
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    df["_ok"] = df["status"].eq("ok")
    df["_order"] = range(len(df))
    df["_sid"] = df["setting_id"].astype(str)
    df = df.sort_values(["_ok", "_order"]).drop_duplicates(["_sid", "replicate"], keep="last")
    df = df.drop(columns=["_ok", "_order", "_sid"])
    try:
        df = df.sort_values(KEY, kind="stable")
    except TypeError:  # mixed id types
        df = df.sort_values(["replicate"], kind="stable").sort_values("setting_id", key=lambda c: c.astype(str), kind="stable")
    return df.reset_index(drop=True)


class _FolderLock:
    """An exclusive ``flock`` on ``<out_dir>/.lock``, released when the process ends, even if killed."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / LOCK_FILE
        self.fd: int | None = None

    def __enter__(self) -> _FolderLock:
        try:
            import fcntl
        except ImportError:  # Windows: no lock
            return self
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            raise RuntimeError(f"another batch is writing into {self.path.parent}; wait for it or use another folder") from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _check_design(out_dir: Path, design: dict[str, Any]) -> None:
    """Write ``design.json``, or check that an existing one describes the same batch."""
    path = out_dir / DESIGN_FILE
    blob = json.loads(json.dumps(design, default=str))
    if path.exists():
        old = json.loads(path.read_text())
        for field in ("settings", "base_seed", "base_overrides"):
            if old.get(field) != blob.get(field):
                raise ValueError(
                    f"{out_dir} holds a batch with different {field}; resume it with the same design, "
                    "or write the new batch into another folder"
                )
        if old.get("replicates") == blob.get("replicates"):
            return
    atomic_write_text(path, json.dumps(blob, indent=2))


def run_batch(
    settings: pd.DataFrame | Sequence[Mapping[str, Any]],
    replicates: int,
    out_dir: str | Path,
    workers: int = 1,
    backend: str = "loky",
    chunk_size: int = 100,
    base_seed: int = 0,
    base_overrides: Mapping[str, Any] | None = None,
    keep_timeseries: bool | Sequence[str] = False,
    progress: bool = True,
    max_runs: int | None = None,
    flush_seconds: float = 60.0,
    retry_failed: bool = True,
    on_chunk: Callable[[Path, int], None] | None = None,
    address: str | None = None,
) -> pd.DataFrame:
    """Run every setting x replicate of a design, resumably, on local or cluster workers.

    Args:
        settings: one row (or mapping) per setting: override keys as in
            :func:`ics_sim.run`, e.g. ``{"governance": "lead_provider", "delegation.share": 0.3}``;
            an optional ``setting_id`` names it, and an optional ``seed`` replaces ``base_seed``
            for that setting.
        replicates: replicates per setting; replicate ``r`` gets seed
            ``replicate_seed(base_seed, r)`` in every setting (common random numbers).
        out_dir: the batch folder (created); chunks, ``design.json`` and the lock live here.
        workers: worker processes (``-1``: all cores). ``1`` runs in this process. With
            ``dask`` or ``ray``: runs in flight at once (``-1``: twice the cluster's cores).
        backend: where the runs execute (:mod:`ics_sim.runs.backends`): ``loky`` (local
            processes, default), ``multiprocessing``, ``threading``, ``dask`` (the current
            ``dask.distributed.Client``, or one connected to ``address``) or ``ray`` (the Ray this
            process is connected to, else ``ray.init(address=address)``).
        chunk_size: runs per chunk file.
        base_seed: the base seed of the replicates.
        base_overrides: overrides applied to every setting (e.g. ``{"years": 5}``); a setting's
            own values win.
        keep_timeseries: also write each run's monthly record (``timeseries-chunk-*.parquet``);
            a list of levels (e.g. ``["system", "national"]``) keeps only those.
        progress: show a progress bar (rate and ETA) on stderr.
        max_runs: stop after this many new runs (the rest is done by a later call).
        flush_seconds: also write a chunk when this long has passed since the last one, so an
            interruption loses little work.
        retry_failed: rerun keys whose earlier run failed.
        on_chunk: called with each chunk's path and the number of runs finished in this call.
        address: ``dask``: the scheduler to connect to if there is no current client
            (``"tcp://host:8786"``); ``ray``: passed to ``ray.init`` if Ray is not initialised
            (``"auto"``, ``"host:6379"``; default ``RAY_ADDRESS`` or a local Ray).

    Returns:
        All runs in the folder (this call's and earlier ones'), one row per
        ``(setting_id, replicate)`` with the seed, ``status`` (``ok`` / ``failed``), ``error``,
        the factor columns (standard factors and the settings' own keys, typed), scenario,
        config hash and every summary metric (see :func:`read_results`).

    Raises:
        ValueError: an invalid argument, or ``out_dir`` holds a different design.
        RuntimeError: another batch holds the folder's lock.
    """
    if int(replicates) < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    design = normalise_settings(settings)
    base = {str(k): _plain(v) for k, v in (base_overrides or {}).items()}
    if int(workers) == 0 or int(workers) < -1:
        raise ValueError(f"workers must be -1 (all cores) or a positive number, got {workers}")
    check_backend(backend, address)

    with _FolderLock(out_dir):
        _check_design(
            out_dir,
            {"settings": [{"setting_id": s, "overrides": o} for s, o in design], "replicates": int(replicates),
             "base_seed": int(base_seed), "base_overrides": base},
        )
        for stale in out_dir.glob(".*.tmp"):  # temporary files of an interrupted write
            stale.unlink(missing_ok=True)
        done = _finished_keys(out_dir, retry_failed)
        total = len(design) * int(replicates)
        n_done = sum(1 for s, _ in design for r in range(int(replicates)) if _key(s, r) in done)
        existing = _chunk_files(out_dir)
        next_chunk = int(CHUNK_RE.match(existing[-1].name).group(1)) + 1 if existing else 0

        keep = tuple(keep_timeseries) if isinstance(keep_timeseries, (list, tuple)) else bool(keep_timeseries)
        # every setting carries a column for every key any setting overrides (from its resolved config)
        factor_keys = tuple(dict.fromkeys(k for _, o in design for k in o if k != "seed"))

        # each setting's config is composed once, here, when its first run is handed out; worker
        # caches (one per process, of bounded size) would compose it once per worker, and in
        # replicate-major order a design of more settings than the cache holds would miss every time
        composed: dict[int, tuple[bytes, str]] = {}

        def tasks() -> Iterator[RunTask]:
            n = 0
            for r in range(int(replicates)):  # replicate-major: every setting gets early replicates first
                for i, (sid, ovr) in enumerate(design):
                    if _key(sid, r) in done:
                        continue
                    if max_runs is not None and n >= max_runs:
                        return
                    merged = {**base, **ovr}
                    s0 = int(merged.pop("seed", base_seed))
                    if i not in composed:
                        composed[i] = _compose_pickled(merged)
                    n += 1
                    yield RunTask(sid, r, replicate_seed(s0, r), tuple(merged.items()), keep, factor_keys,
                                  *composed[i])

        todo = total - n_done if max_runs is None else min(total - n_done, int(max_runs))
        buffer: list[dict[str, Any]] = []
        ts_buffer: list[pd.DataFrame] = []
        finished = 0
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal next_chunk, last_flush
            if not buffer:
                return
            path = out_dir / f"chunk-{next_chunk:05d}.parquet"
            if ts_buffer:
                atomic_write_parquet(pd.concat(ts_buffer, ignore_index=True), out_dir / f"{TS_PREFIX}{path.name}")
            atomic_write_parquet(pd.DataFrame(buffer), path)  # the summaries last: they mark the runs done
            buffer.clear()
            ts_buffer.clear()
            trim_memory()
            next_chunk += 1
            last_flush = time.monotonic()
            if on_chunk is not None:
                on_chunk(path, finished)

        bar = None
        if progress and todo > 0:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, initial=n_done, unit="run", desc="ics_sim batch", smoothing=0.05, mininterval=0.5,
                       dynamic_ncols=True)
        try:
            if todo > 0:
                for row, ts in map_unordered(run_task, tasks(), workers, backend, address):
                    buffer.append(row)
                    if ts is not None:
                        ts_buffer.append(ts)
                    finished += 1
                    if bar is not None:
                        bar.update(1)
                    if len(buffer) >= chunk_size or time.monotonic() - last_flush > flush_seconds:
                        flush()
        finally:  # runs in the buffer are complete: keep them, also on Ctrl-C
            flush()
            if bar is not None:
                bar.close()
    return read_results(out_dir)


# --------------------------------------------------------------------------------------------
# command line


def read_design(path: str | Path) -> pd.DataFrame:
    """Read a design table from CSV, YAML or JSON (a list of override mappings, or a table)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path)
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        import yaml

        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and "settings" in data:
            data = data["settings"]
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a list of settings (mappings of override keys to values)")
        return pd.DataFrame(data)
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    raise ValueError(f"{path}: unsupported design format (use .csv, .yaml, .json or .parquet)")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ics_sim.batch DESIGN --replicates N --out DIR [--workers W] [--set key=value ...]``."""
    ap = argparse.ArgumentParser(prog="python -m ics_sim.batch", description=__doc__.split("\n\n")[0])
    ap.add_argument("design", help="CSV/YAML/JSON design: one row per setting, one column per override; "
                    "or 'default' for the default setting only")
    ap.add_argument("--replicates", "-r", type=int, default=1)
    ap.add_argument("--out", "-o", type=Path, required=True, help="batch folder (resumes if it exists)")
    ap.add_argument("--workers", "-w", type=int, default=1, help="worker processes (-1: all cores)")
    ap.add_argument("--backend", default="loky", help="loky (local processes), multiprocessing, threading, dask, ray")
    ap.add_argument("--address", default=None, help="dask: scheduler address (tcp://host:8786); "
                    "ray: cluster address (auto, host:6379; default RAY_ADDRESS or a local Ray)")
    ap.add_argument("--chunk-size", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0, help="base seed of the replicates")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every setting, e.g. years=5")
    ap.add_argument("--max-runs", type=int, default=None, help="stop after this many new runs")
    ap.add_argument("--keep-timeseries", action="store_true")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)

    import yaml

    base = {}
    for item in args.set:
        if "=" not in item:
            ap.error(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        base[k] = yaml.safe_load(v)
    settings = [{}] if args.design == "default" else read_design(args.design)
    try:
        df = run_batch(
            settings, args.replicates, args.out, workers=args.workers, backend=args.backend, chunk_size=args.chunk_size,
            base_seed=args.seed, base_overrides=base, keep_timeseries=args.keep_timeseries,
            progress=not args.no_progress, max_runs=args.max_runs, address=args.address,
        )
    except (ValueError, RuntimeError, ConfigError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        n = len(read_results(args.out))
        print(f"\ninterrupted: {n} finished runs are saved in {args.out}; run the same command again to resume",
              file=sys.stderr)
        return 130
    n_fail = int((df["status"] != "ok").sum()) if len(df) else 0
    print(f"{len(df)} runs in {args.out} ({n_fail} failed)")
    return 0


if __name__ == "__main__":
    # run through the importable module, so workers receive ics_sim.runs.batch.run_task by reference
    # (functions of __main__ would be pickled by value, with their module globals)
    from ics_sim.runs.batch import main as _main

    raise SystemExit(_main())
