"""Merge a Hydra multirun sweep into tidy tables: ``python -m ics_sim.aggregate SWEEP_DIR``.

A sweep (``python -m ics_sim -m governance=joint_committee,lead_provider replicates=10``) writes
one folder per job under ``results/sweeps/<name>/``, each holding a ``job.json`` (the job's
overrides and status, see :func:`record_job`) and one ``rep{r:03d}_s{seed}/`` folder per
replicate. This module reads them all — also after some jobs failed, were killed or never
started — and writes into ``<sweep>/aggregate/``:

``timeseries.parquet``
    every replicate's monthly record, tidy, with ``setting``, ``job`` and ``replicate`` columns.
``runs.parquet``
    one row per run: setting, job, replicate, seed and every summary metric.
``summary.csv``
    per setting and metric: number of runs, median and the 10-90% interval.
``paired.csv``
    per setting and metric: paired differences against a baseline setting on the same seeds
    (common random numbers): median, 10-90% interval and the number of pairs.
``failed.csv``
    every job that failed, did not finish or never started, with its error text.

A job's *setting* is its overrides less ``seed`` and ``replicates``; its label shows only the
keys that vary across the sweep, e.g. ``governance=lead_provider``. The baseline is given as
``--baseline governance=joint_committee``: each setting is compared with the setting that equals
it except for those keys (so in a two-factor sweep the other factor is held fixed). Without
``--baseline`` the setting of the first job is the baseline.

Every file is written atomically (temporary file, then :func:`os.replace`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ics_sim.runs.io import atomic_path, atomic_write_parquet, atomic_write_text  # noqa: F401

JOB_FILE = "job.json"
OUT_DIR = "aggregate"
#: override keys that do not define a setting (replicate seeds are derived from them)
NON_SETTING_KEYS = frozenset({"seed", "replicates"})
#: summary fields that are identifiers, not outcomes
META_FIELDS = frozenset(
    {"seed", "replicate", "years", "scenario", "ics_sim_version", "config_hash", "job", "setting", "overrides"}
)


# --------------------------------------------------------------------------------------------
# writing helpers


def _atomic_csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, df.to_csv(index=False))


def record_job(
    job_dir: str | Path,
    overrides: Sequence[str],
    job_num: int,
    status: str,
    error: BaseException | str | None = None,
) -> Path:
    """Write (or update) a sweep job's ``job.json``: its overrides, number and status.

    Called by the Hydra app at the start of each multirun job (``running``) and at its end
    (``done`` or ``failed``), so that aggregation knows every job's setting and outcome even
    when Hydra's ``on_multirun_end`` never runs.

    Args:
        job_dir: the job's output folder.
        overrides: the job's task overrides, e.g. ``["governance=lead_provider", "replicates=2"]``.
        job_num: Hydra's job number.
        status: ``running``, ``done`` or ``failed``.
        error: the exception (or text) that made the job fail.

    Returns:
        The path of ``job.json``.
    """
    path = Path(job_dir) / JOB_FILE
    record: dict[str, Any] = {}
    if path.exists():
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            record = {}
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    record.update(
        {
            "job": int(job_num),
            "overrides": [str(o) for o in overrides],
            "status": status,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
    )
    record.setdefault("started", now)
    if status != "running":
        record["finished"] = now
    if error is not None:
        if isinstance(error, BaseException):
            text = "".join(traceback.format_exception_only(type(error), error)).strip()
            tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            record["traceback"] = tb[-4000:]
        else:
            text = str(error)
        record["error"] = text
    atomic_write_text(path, json.dumps(record, indent=2) + "\n")
    return path


# --------------------------------------------------------------------------------------------
# reading a sweep


def parse_override(text: str) -> tuple[str, str]:
    """Split a Hydra override ``key=value`` (``+key=value``, ``++key=value``) into key and value."""
    key, _, value = text.partition("=")
    return key.lstrip("+~").strip(), value.strip()


def _setting_items(overrides: Iterable[str]) -> dict[str, str]:
    items = {}
    for o in overrides:
        key, value = parse_override(o)
        if key in NON_SETTING_KEYS or key.startswith("hydra.") or key.startswith("hydra/"):
            continue
        items[key] = value
    return items


@dataclass
class Job:
    """One job of a sweep, as found on disk (or expected from ``multirun.yaml``)."""

    num: int
    folder: Path | None
    overrides: list[str]
    status: str = "unknown"  # done | failed | incomplete | missing
    error: str = ""
    replicates_expected: int | None = None
    rep_folders: list[Path] = field(default_factory=list)

    @property
    def setting_items(self) -> dict[str, str]:
        return _setting_items(self.overrides)


def expected_jobs(sweep_dir: Path) -> list[list[str]] | None:
    """The jobs a basic-sweeper multirun launches, from ``multirun.yaml`` (None if unknown)."""
    path = sweep_dir / "multirun.yaml"
    if not path.exists():
        return None
    try:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from omegaconf import OmegaConf

        cfg = OmegaConf.load(path)
        task = [str(t) for t in OmegaConf.select(cfg, "hydra.overrides.task", default=[]) or []]
        if OmegaConf.select(cfg, "hydra.sweeper.params"):
            return None  # sweeps defined in config: not reconstructed here
        parsed = OverridesParser.create().parse_overrides(overrides=task)
        batches = BasicSweeper.split_arguments(parsed, None)
        return [list(job) for batch in batches for job in batch]
    except Exception:  # a hand-made or foreign sweep folder: fall back to what is on disk
        return None


def _job_num_from_name(name: str) -> int | None:
    head = name.split("_", 1)[0]
    return int(head) if head.isdigit() else None


def _replicates_of(overrides: Iterable[str]) -> int | None:
    for o in overrides:
        key, value = parse_override(o)
        if key == "replicates":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def find_jobs(sweep_dir: str | Path) -> list[Job]:
    """Every job of a sweep: those with a folder, and those ``multirun.yaml`` says are missing.

    Args:
        sweep_dir: the sweep's folder, e.g. ``results/sweeps/20250101-120000-000000``.

    Returns:
        The jobs ordered by job number, each with its status (``done``, ``failed``,
        ``incomplete`` or ``missing``) and error text.
    """
    sweep_dir = Path(sweep_dir)
    expected = expected_jobs(sweep_dir)
    jobs: dict[int, Job] = {}
    extra = 10**9
    for folder in sorted(p for p in sweep_dir.iterdir() if p.is_dir()):
        if folder.name.startswith(".") or folder.name == OUT_DIR:
            continue
        record: dict[str, Any] = {}
        if (folder / JOB_FILE).exists():
            try:
                record = json.loads((folder / JOB_FILE).read_text())
            except (OSError, ValueError) as exc:
                record = {"status": "failed", "error": f"unreadable {JOB_FILE}: {exc}"}
        reps = sorted(p for p in folder.glob("rep*") if p.is_dir() and (p / "summary.json").exists())
        num = record.get("job", _job_num_from_name(folder.name))
        if num is None and not reps:
            continue  # not a job folder
        if num is None:
            num, extra = extra, extra + 1
        overrides = record.get("overrides")
        if overrides is None:
            if expected is not None and 0 <= num < len(expected):
                overrides = expected[num]
            else:  # Hydra's override_dirname: key=value pairs joined by commas
                overrides = folder.name.split("_", 1)[1].split(",") if "_" in folder.name else []
        job = Job(int(num), folder, list(overrides), rep_folders=reps)
        job.replicates_expected = _replicates_of(job.overrides) or 1  # the config's default is 1
        status = record.get("status")
        n_exp = job.replicates_expected
        if status == "failed":
            job.status, job.error = "failed", record.get("error", "failed (no error text)")
        elif status == "done" or (status is None and n_exp is not None and len(reps) >= n_exp):
            job.status = "done"
            if n_exp is not None and len(reps) < n_exp:
                job.status = "incomplete"
                job.error = f"finished with {len(reps)} of {n_exp} replicate folders"
        else:
            job.status = "incomplete"
            job.error = (
                f"did not finish: {len(reps)} of {n_exp if n_exp is not None else '?'} replicates written "
                "(killed, timed out or still running)"
            )
        jobs[job.num] = job
    if expected is not None:
        for num, overrides in enumerate(expected):
            if num not in jobs:
                jobs[num] = Job(
                    num, None, list(overrides), status="missing",
                    error="no job folder: the job never started (launcher error or cancelled)",
                    replicates_expected=_replicates_of(overrides) or 1,
                )
    return [jobs[k] for k in sorted(jobs)]


# --------------------------------------------------------------------------------------------
# labels and baseline


def _same_value(a: str | None, b: str | None) -> bool:
    if a == b:
        return True
    if a is None or b is None:
        return False
    try:
        return float(a) == float(b)
    except ValueError:
        return a.strip("'\"") == b.strip("'\"")


def varying_keys(jobs: Sequence[Job]) -> list[str]:
    """Setting keys whose value differs between jobs, in order of first appearance."""
    order: list[str] = []
    for job in jobs:
        for k in job.setting_items:
            if k not in order:
                order.append(k)
    out = []
    for k in order:
        values = [job.setting_items.get(k) for job in jobs]
        if any(not _same_value(values[0], v) for v in values[1:]):
            out.append(k)
    return out


def setting_label(items: dict[str, str], keys: Sequence[str]) -> str:
    """A readable label of a setting from its varying keys, e.g. ``governance=lead_provider``."""
    parts = [f"{k}={items.get(k, '<default>')}" for k in keys]
    return ",".join(parts) if parts else "all"


def _parse_baseline(spec: Sequence[str] | dict[str, str] | None) -> dict[str, str]:
    if spec is None:
        return {}
    if isinstance(spec, dict):
        return {str(k): str(v) for k, v in spec.items()}
    out = {}
    for item in spec:
        for part in str(item).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ValueError(f"baseline must be KEY=VALUE, got {part!r}")
            k, v = parse_override(part)
            out[k] = v
    return out


# --------------------------------------------------------------------------------------------
# aggregation


@dataclass
class AggregateResult:
    """What :func:`aggregate` produced."""

    out_dir: Path
    runs: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame
    failed: pd.DataFrame
    baseline: str

    @property
    def files(self) -> dict[str, Path]:
        names = ["timeseries.parquet", "runs.parquet", "summary.csv", "paired.csv", "failed.csv"]
        return {n: self.out_dir / n for n in names if (self.out_dir / n).exists()}


def _read_summary(rep: Path) -> dict[str, Any]:
    data = json.loads((rep / "summary.json").read_text())
    if "replicate" not in data:
        head = rep.name[3:].split("_", 1)[0]
        data["replicate"] = int(head) if head.isdigit() else -1
    return data


def _metric_columns(runs: pd.DataFrame) -> list[str]:
    return [
        c for c in runs.columns
        if c not in META_FIELDS and pd.api.types.is_numeric_dtype(runs[c]) and not pd.api.types.is_bool_dtype(runs[c])
    ]


def summarise_runs(runs: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Per setting and metric: n, median, 10% and 90% quantiles, mean of the runs."""
    metrics = list(metrics) if metrics is not None else _metric_columns(runs)
    if runs.empty:
        return pd.DataFrame(columns=["setting", "metric", "n", "median", "q10", "q90", "mean"])
    long = runs.melt(id_vars=["setting"], value_vars=metrics, var_name="metric", value_name="value")
    g = long.groupby(["setting", "metric"], sort=False)["value"]
    out = pd.DataFrame(
        {
            "n": g.count(),
            "median": g.median(),
            "q10": g.quantile(0.1),
            "q90": g.quantile(0.9),
            "mean": g.mean(),
        }
    ).reset_index()
    order = {s: i for i, s in enumerate(dict.fromkeys(runs["setting"]))}
    morder = {m: i for i, m in enumerate(metrics)}
    out = out.sort_values(["setting", "metric"], key=lambda c: c.map(order if c.name == "setting" else morder))
    return out.reset_index(drop=True)


def paired_differences(
    runs: pd.DataFrame,
    counterpart: dict[str, str],
    metrics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Paired differences (setting minus its baseline) on matching seeds.

    Args:
        runs: one row per run with ``setting``, ``seed`` and metric columns.
        counterpart: each setting's baseline setting label (settings without one are skipped).
        metrics: metrics to compare (default: every numeric outcome).

    Returns:
        Per setting and metric: baseline, number of pairs, median, 10% and 90% quantiles and mean
        of the differences.
    """
    metrics = list(metrics) if metrics is not None else _metric_columns(runs)
    cols = ["setting", "baseline", "metric", "n_pairs", "median_diff", "q10_diff", "q90_diff", "mean_diff"]
    rows = []
    by_setting = {s: df.drop_duplicates("seed").set_index("seed") for s, df in runs.groupby("setting", sort=False)}
    for setting, base in counterpart.items():
        if setting == base or setting not in by_setting or base not in by_setting:
            continue
        a, b = by_setting[setting], by_setting[base]
        seeds = a.index.intersection(b.index)
        for m in metrics:
            d = (a.loc[seeds, m].astype(float) - b.loc[seeds, m].astype(float)).dropna()
            rows.append(
                {
                    "setting": setting,
                    "baseline": base,
                    "metric": m,
                    "n_pairs": int(d.size),
                    "median_diff": float(d.median()) if d.size else np.nan,
                    "q10_diff": float(d.quantile(0.1)) if d.size else np.nan,
                    "q90_diff": float(d.quantile(0.9)) if d.size else np.nan,
                    "mean_diff": float(d.mean()) if d.size else np.nan,
                }
            )
    return pd.DataFrame(rows, columns=cols)


def _write_timeseries(parts: list[tuple[Path, dict[str, Any]]], path: Path) -> int:
    """Stream every replicate's ``timeseries.parquet`` into one file (flat memory); rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    extra = {"setting": pa.string(), "job": pa.int64(), "replicate": pa.int64()}
    schemas = []
    for f, _ in parts:
        s = pq.read_schema(f)
        s = pa.schema([fld for fld in s if fld.name not in extra])
        schemas.append(s)
    if not schemas:
        return 0
    schema = pa.unify_schemas([pa.schema([(k, t) for k, t in extra.items()]), *schemas], promote_options="permissive")
    rows = 0
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for f, cols in parts:
            table = pq.read_table(f)
            table = table.drop_columns([c for c in extra if c in table.column_names])
            n = table.num_rows
            arrays = []
            for fld in schema:
                if fld.name in cols:
                    arrays.append(pa.array([cols[fld.name]] * n, type=fld.type))
                elif fld.name in table.column_names:
                    arrays.append(table.column(fld.name).cast(fld.type))
                else:
                    arrays.append(pa.nulls(n, type=fld.type))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            rows += n
    return rows


def aggregate(
    sweep_dir: str | Path,
    baseline: Sequence[str] | dict[str, str] | None = None,
    timeseries: bool = True,
    quiet: bool = False,
) -> AggregateResult:
    """Merge every job of a sweep into ``<sweep>/aggregate/`` (see the module docstring).

    Args:
        sweep_dir: the sweep folder (``results/sweeps/<name>``).
        baseline: the baseline setting as ``["governance=joint_committee"]`` or a mapping; the
            keys not given are held at each setting's own values. Default: the first job's setting.
        timeseries: also merge the monthly time series into ``timeseries.parquet``.
        quiet: print nothing.

    Returns:
        An :class:`AggregateResult` with the tables written.

    Raises:
        FileNotFoundError: the sweep folder does not exist or holds no job.
        ValueError: the baseline names a key or value that no setting has.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"sweep folder {sweep_dir} does not exist")
    jobs = find_jobs(sweep_dir)
    if not jobs:
        raise FileNotFoundError(
            f"no sweep jobs in {sweep_dir}: expected job folders (e.g. 0_governance=...) or multirun.yaml"
        )
    keys = varying_keys(jobs)
    labels = {job.num: setting_label(job.setting_items, keys) for job in jobs}

    # runs: one row per replicate folder found (also from jobs that failed part-way)
    rows, ts_parts = [], []
    for job in jobs:
        for rep in job.rep_folders:
            try:
                data = _read_summary(rep)
            except (OSError, ValueError) as exc:
                job.error = (job.error + "; " if job.error else "") + f"unreadable {rep.name}/summary.json: {exc}"
                job.status = "incomplete" if job.status == "done" else job.status
                continue
            data.update({"setting": labels[job.num], "job": job.num, "overrides": " ".join(job.overrides)})
            rows.append(data)
            if timeseries and (rep / "timeseries.parquet").exists():
                ts_parts.append((rep / "timeseries.parquet", {"setting": labels[job.num], "job": job.num, "replicate": int(data["replicate"])}))
    runs = pd.DataFrame(rows)
    if not runs.empty:
        front = ["setting", "job", "replicate", "seed", "scenario", "config_hash"]
        runs = runs[[c for c in front if c in runs] + [c for c in runs.columns if c not in front]]
        runs = runs.sort_values(["job", "replicate"], kind="stable").reset_index(drop=True)

    # baseline: each setting's counterpart
    spec = _parse_baseline(baseline)
    settings = {labels[j.num]: j.setting_items for j in jobs}
    have = set(runs["setting"]) if not runs.empty else set()
    with_data = [s for s in dict.fromkeys(labels[j.num] for j in jobs) if s in have]
    if spec:
        all_keys = {k for items in settings.values() for k in items}
        unknown = [k for k in spec if k not in all_keys]
        if unknown:
            raise ValueError(f"baseline key(s) {unknown} are not among the sweep's overrides {sorted(all_keys)}")
        for k, v in spec.items():
            if not any(_same_value(items.get(k), v) for items in settings.values()):
                values = sorted({items.get(k, "") for items in settings.values()})
                raise ValueError(f"no job has {k}={v}; the sweep has {k} in {values}")
        base_items = spec
    else:
        base_items = {k: settings[with_data[0]].get(k) for k in keys} if with_data else {}
    counterpart: dict[str, str] = {}
    for label, items in settings.items():
        target = {**items, **base_items}
        for other, oitems in settings.items():
            if all(_same_value(oitems.get(k), target.get(k)) for k in set(target) | set(oitems)):
                counterpart[label] = other
                break
    base_label = setting_label({**settings[with_data[0]], **base_items}, keys) if with_data else ""

    out = sweep_dir / OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    if timeseries:
        _write_timeseries(ts_parts, out / "timeseries.parquet")
    if not runs.empty:
        atomic_write_parquet(runs, out / "runs.parquet")
    summary = summarise_runs(runs)
    paired = paired_differences(runs, counterpart) if not runs.empty else paired_differences(pd.DataFrame(columns=["setting", "seed"]), {})
    _atomic_csv(summary, out / "summary.csv")
    _atomic_csv(paired, out / "paired.csv")
    failed = pd.DataFrame(
        [
            {
                "job": j.num,
                "setting": labels[j.num],
                "status": j.status,
                "error": j.error,
                "replicates_found": len(j.rep_folders),
                "replicates_expected": j.replicates_expected,
                "overrides": " ".join(j.overrides),
                "folder": str(j.folder) if j.folder else "",
            }
            for j in jobs
            if j.status != "done"
        ],
        columns=["job", "setting", "status", "error", "replicates_found", "replicates_expected", "overrides", "folder"],
    )
    _atomic_csv(failed, out / "failed.csv")

    if not quiet:
        n_set = runs["setting"].nunique() if not runs.empty else 0
        print(f"aggregated {len(runs)} runs of {n_set} settings from {len(jobs) - len(failed)} of {len(jobs)} jobs into {out}")
        if base_label:
            print(f"  paired differences against baseline: {', '.join(f'{k}={v}' for k, v in base_items.items()) or base_label}")
        for _, f in failed.iterrows():
            print(f"  job {f['job']} ({f['setting']}) {f['status']}: {f['error']}", file=sys.stderr)
    return AggregateResult(out, runs, summary, paired, failed, base_label)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m ics_sim.aggregate SWEEP_DIR [--baseline KEY=VALUE ...]``."""
    ap = argparse.ArgumentParser(
        prog="python -m ics_sim.aggregate",
        description="Merge a multirun sweep folder into aggregate/ (timeseries.parquet, runs.parquet, "
        "summary.csv, paired.csv, failed.csv). Works after a partial failure.",
    )
    ap.add_argument("sweep_dir", type=Path, help="the sweep folder, e.g. results/sweeps/20250101-120000-000000")
    ap.add_argument("--baseline", nargs="*", default=None, metavar="KEY=VALUE",
                    help="the baseline setting for paired differences (default: the first job's setting)")
    ap.add_argument("--no-timeseries", action="store_true", help="skip merging the monthly time series")
    ap.add_argument("--strict", action="store_true", help="exit with status 1 when any job failed or is missing")
    args = ap.parse_args(argv)
    try:
        res = aggregate(args.sweep_dir, baseline=args.baseline, timeseries=not args.no_timeseries)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if (args.strict and len(res.failed)) else 0


if __name__ == "__main__":
    raise SystemExit(main())
