"""Merge a Hydra multirun sweep into tidy tables: ``python -m ics_sim.aggregate SWEEP_DIR``.

A sweep (``python -m ics_sim -m governance=joint_committee,lead_provider replicates=10``) writes
one folder per job under ``results/sweeps/<name>/``, each holding a ``job.json`` (the job's
overrides and status, see :func:`record_job`) and one ``rep{r:03d}_s{seed}/`` folder per
replicate. This module reads them all — also after some jobs failed, were killed or never
started — and writes into ``<sweep>/aggregate/``:

``timeseries.parquet``
    every replicate's monthly record, tidy, with ``setting``, ``job`` and ``replicate`` columns
    and one typed column per factor (see below).
``runs.parquet``
    one row per run: setting, the factor columns, job, replicate, seed and every summary metric.
``summary.csv``
    per setting and metric (long): the factor columns, ``measure_unit``, ``direction``, number of
    runs, median, the 10-90% interval and mean.
``paired.csv``
    per setting and metric: paired differences against a baseline setting on the same seeds
    (common random numbers): median, 10-90% interval, mean, the number of pairs and
    ``share_better``, the share of seeds in which the setting is better than its baseline
    (using the metric's direction, docs/OUTPUTS.md).
``failed.csv``
    every job that failed, did not finish or never started, with its error text.
``figures/<metric>.png``
    with the figure hook (``python -m ics_sim.aggregate`` passes
    :func:`ics_sim.views.comparison_figure.write_sweep_figures`): per headline metric
    (:data:`HEADLINE`), each setting's median over time with a 10-90% band, and the paired
    differences against the baseline.

**Factor columns.** Besides the standard factors (system, governance, delegation,
delegation_share, allocation, shocks) every key that varies across the sweep gets a column named
after it with dots as underscores (``trust.initial`` -> ``trust_initial``), its values read from
each run's resolved ``config.yaml`` (so typed: floats, booleans, strings;
:mod:`ics_sim.runs.factors`). Settings are sorted by those values (numbers numerically), in
every table and on the console.

A job's *setting* is its overrides less ``seed`` and ``replicates``; its label shows only the
keys that vary across the sweep, e.g. ``governance=lead_provider``. The baseline is given as
``--baseline governance=joint_committee``: each setting is compared with the setting that equals
it except for those keys (so in a two-factor sweep the other factor is held fixed). Without
``--baseline`` the setting of the first job is the baseline.

Every file is written atomically (temporary file, then :func:`os.replace`). Money is in GBP
(per year for flows), as in ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ics_sim.model.record import METRICS, direction
from ics_sim.runs.factors import STANDARD, column_name, factors
from ics_sim.runs.io import atomic_path, atomic_write_parquet, atomic_write_text  # noqa: F401

JOB_FILE = "job.json"
OUT_DIR = "aggregate"
#: override keys that do not define a setting (replicate seeds are derived from them)
NON_SETTING_KEYS = frozenset({"seed", "replicates"})
#: summary fields that are identifiers, not outcomes
META_FIELDS = frozenset(
    {"seed", "replicate", "years", "scenario", "ics_sim_version", "config_hash", "job", "setting", "overrides"}
)
#: the measures drawn (one figure each) and shown on the console after a sweep
HEADLINE: tuple[str, ...] = (
    "hle_mean",
    "hle_sii",
    "unmet_need",
    "unmet_need_hidden",
    "duplicated_spend_gbp",
    "unfunded_need",
    "decision_delay_months",
    "trust_mean",
)


def better(a: np.ndarray, b: np.ndarray, how: str) -> np.ndarray | None:
    """Whether each ``a`` is better than its paired ``b`` for a measure of direction ``how``.

    Args:
        a: values of the setting.
        b: values of its baseline, paired by seed.
        how: ``higher``, ``lower``, ``zero`` (closer to zero is better) or ``none``.

    Returns:
        A boolean array (ties are not better), or None when the measure has no better direction.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if how == "higher":
        return a > b
    if how == "lower":
        return a < b
    if how == "zero":
        return np.abs(a) < np.abs(b)
    return None


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
    """What :func:`aggregate` produced.

    Attributes:
        out_dir: the aggregate folder.
        runs, summary, paired, failed: the tables written.
        baseline: the baseline setting's label.
        order: the settings, sorted by their factor values.
        counterpart: each setting's baseline setting.
        factor_columns: the factor columns of the tables.
        figures: the figures written (with the figure hook).
        merged_timeseries: whether this aggregation merged the monthly records (so
            ``timeseries.parquet`` is current).
    """

    out_dir: Path
    runs: pd.DataFrame
    summary: pd.DataFrame
    paired: pd.DataFrame
    failed: pd.DataFrame
    baseline: str
    order: list[str] = field(default_factory=list)
    counterpart: dict[str, str] = field(default_factory=dict)
    factor_columns: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)
    merged_timeseries: bool = False

    @property
    def files(self) -> dict[str, Path]:
        names = ["timeseries.parquet", "runs.parquet", "summary.csv", "paired.csv", "failed.csv"]
        out = {n: self.out_dir / n for n in names if (self.out_dir / n).exists()}
        out.update({f"figures/{p.name}": p for p in self.figures})
        return out


def _read_summary(rep: Path) -> dict[str, Any]:
    data = json.loads((rep / "summary.json").read_text())
    if "replicate" not in data:
        head = rep.name[3:].split("_", 1)[0]
        data["replicate"] = int(head) if head.isdigit() else -1
    return data


def _metric_columns(runs: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    skip = set(META_FIELDS) | set(exclude)
    return [
        c for c in runs.columns
        if c not in skip and pd.api.types.is_numeric_dtype(runs[c]) and not pd.api.types.is_bool_dtype(runs[c])
    ]


def _factor_table(runs: pd.DataFrame, group: str, factor_cols: Sequence[str]) -> pd.DataFrame:
    """One row per setting: its factor values (from its first run)."""
    cols = [c for c in factor_cols if c in runs.columns and c != group]
    return runs.drop_duplicates(group)[[group, *cols]]


def summarise_runs(
    runs: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    group: str = "setting",
    factor_cols: Sequence[str] = (),
    order: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Per setting and metric: the factor columns, unit, direction, n, median, 10% and 90%
    quantiles and mean of the runs.

    Args:
        runs: one row per run with a ``group`` column and metric columns.
        metrics: metrics to summarise (default: every numeric outcome that is not a factor).
        group: the column naming the setting (``setting``, or ``scenario``).
        factor_cols: factor columns to carry (one value per setting).
        order: the settings' order (default: as they first appear).
    """
    metrics = list(metrics) if metrics is not None else _metric_columns(runs, factor_cols)
    head = [group, *[c for c in factor_cols if c != group], "metric", "measure_unit", "direction"]
    stats_cols = ["n", "median", "q10", "q90", "mean"]
    if runs.empty:
        return pd.DataFrame(columns=[*head, *stats_cols])
    long = runs.melt(id_vars=[group], value_vars=metrics, var_name="metric", value_name="value")
    long["value"] = long["value"].astype(float)
    g = long.groupby([group, "metric"], sort=False)["value"]
    out = pd.DataFrame(
        {
            "n": g.count(),
            "median": g.median(),
            "q10": g.quantile(0.1),
            "q90": g.quantile(0.9),
            "mean": g.mean(),
        }
    ).reset_index()
    out = _decorate(out, runs, group, factor_cols, order, metrics)
    return out[[*[c for c in head if c in out.columns], *stats_cols]]


def _decorate(out: pd.DataFrame, runs: pd.DataFrame, group: str, factor_cols: Sequence[str], order: Sequence[Any] | None,
              metrics: Sequence[str]) -> pd.DataFrame:
    """Add factor columns, unit and direction; sort by setting order, then metric order."""
    out = out.merge(_factor_table(runs, group, factor_cols), on=group, how="left")
    out["measure_unit"] = out["metric"].map(lambda m: METRICS[m].unit if m in METRICS else "")
    out["direction"] = out["metric"].map(direction)
    settings = list(order) if order is not None else list(dict.fromkeys(runs[group]))
    rank = {s: i for i, s in enumerate(settings)}
    mrank = {m: i for i, m in enumerate(metrics)}
    out = out.assign(_s=out[group].map(rank), _m=out["metric"].map(mrank)).sort_values(["_s", "_m"], kind="stable")
    return out.drop(columns=["_s", "_m"]).reset_index(drop=True)


def paired_differences(
    runs: pd.DataFrame,
    counterpart: dict[str, str],
    metrics: Sequence[str] | None = None,
    group: str = "setting",
    factor_cols: Sequence[str] = (),
    order: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Paired differences (setting minus its baseline) on matching seeds.

    Args:
        runs: one row per run with ``group``, ``seed`` and metric columns.
        counterpart: each setting's baseline setting label (settings without one are skipped).
        metrics: metrics to compare (default: every numeric outcome that is not a factor).
        group: the column naming the setting.
        factor_cols: factor columns to carry (the setting's values).
        order: the settings' order (default: as they first appear).

    Returns:
        Per setting and metric: the factor columns, baseline, unit, direction, number of pairs,
        median, 10% and 90% quantiles and mean of the differences, and ``share_better``: the
        share of pairs in which the setting is better than its baseline (NaN for a measure with
        no better direction; ties are not better).
    """
    metrics = list(metrics) if metrics is not None else _metric_columns(runs, factor_cols)
    head = [group, *[c for c in factor_cols if c != group], "baseline", "metric", "measure_unit", "direction"]
    stats_cols = ["n_pairs", "median_diff", "q10_diff", "q90_diff", "mean_diff", "share_better"]
    rows = []
    by_setting = {s: df.drop_duplicates("seed").set_index("seed") for s, df in runs.groupby(group, sort=False)}
    for setting, base in counterpart.items():
        if setting == base or setting not in by_setting or base not in by_setting:
            continue
        a, b = by_setting[setting], by_setting[base]
        seeds = a.index.intersection(b.index)
        for m in metrics:
            va, vb = a.loc[seeds, m].astype(float), b.loc[seeds, m].astype(float)
            ok = va.notna() & vb.notna()
            va, vb = va[ok], vb[ok]
            d = va - vb
            flags = better(va.to_numpy(), vb.to_numpy(), direction(m))
            rows.append(
                {
                    group: setting,
                    "baseline": base,
                    "metric": m,
                    "n_pairs": int(d.size),
                    "median_diff": float(d.median()) if d.size else np.nan,
                    "q10_diff": float(d.quantile(0.1)) if d.size else np.nan,
                    "q90_diff": float(d.quantile(0.9)) if d.size else np.nan,
                    "mean_diff": float(d.mean()) if d.size else np.nan,
                    "share_better": float(flags.mean()) if flags is not None and d.size else np.nan,
                }
            )
    if not rows:
        return pd.DataFrame(columns=[*head, *stats_cols])
    out = _decorate(pd.DataFrame(rows), runs, group, factor_cols, order, metrics)
    return out[[*[c for c in head if c in out.columns], *stats_cols]]


def _arrow_type(values: Sequence[Any]) -> Any:
    """The Arrow type of a factor column from its values (text when they do not share a type)."""
    import pyarrow as pa

    try:
        t = pa.array(list(values)).type
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.string()
    return pa.string() if pa.types.is_null(t) else t


def _write_timeseries(parts: list[tuple[Path, dict[str, Any]]], path: Path) -> int:
    """Stream every replicate's ``timeseries.parquet`` into one file (flat memory); rows written.

    Each part's ``cols`` (setting, factor columns, job, replicate) become constant columns at
    the front, replacing any column of that name in the file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not parts:
        return 0
    names = list(dict.fromkeys(k for _, cols in parts for k in cols))
    extra = {k: _arrow_type([cols.get(k) for _, cols in parts]) for k in names}
    schemas = []
    for f, _ in parts:
        s = pq.read_schema(f)
        if "unit" in s.names and "area" not in s.names:  # a run written before the column was renamed
            s = pa.schema([fld.with_name("area") if fld.name == "unit" else fld for fld in s])
        schemas.append(pa.schema([fld for fld in s if fld.name not in extra]))
    schema = pa.unify_schemas([pa.schema(list(extra.items())), *schemas], promote_options="permissive")
    rows = 0
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for f, cols in parts:
            table = pq.read_table(f)
            if "unit" in table.column_names and "area" not in table.column_names:
                table = table.rename_columns(["area" if c == "unit" else c for c in table.column_names])
            table = table.drop_columns([c for c in extra if c in table.column_names])
            n = table.num_rows
            arrays = []
            for fld in schema:
                if fld.name in extra:
                    value = cols.get(fld.name)
                    if pa.types.is_string(fld.type) and value is not None:
                        value = str(value)
                    arrays.append(pa.array([value] * n, type=fld.type))
                elif fld.name in table.column_names:
                    arrays.append(table.column(fld.name).cast(fld.type))
                else:
                    arrays.append(pa.nulls(n, type=fld.type))
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            rows += n
    return rows


def _typed(value: str) -> Any:
    """An override's value as YAML reads it (``0.2`` a float, ``true`` a bool), for keys the
    resolved config does not record."""
    import yaml

    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def _resolved_config(rep: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load((rep / "config.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _sort_key(value: Any) -> tuple:
    """Settings sort by their factor values: missing last, numbers numerically, then text."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return (2, 0, "")
    if isinstance(value, (bool, np.bool_)):
        return (0, 0, int(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return (0, 1, float(value))
    return (1, 0, str(value))


def setting_order(table: pd.DataFrame, columns: Sequence[str], group: str = "setting") -> list[str]:
    """The settings of ``table`` sorted by their values of ``columns`` (then by label)."""
    first = table.drop_duplicates(group)
    keyed = [
        (tuple(_sort_key(row[c]) if c in first.columns else (2, 0, "") for c in columns), str(row[group]))
        for _, row in first.iterrows()
    ]
    return [label for _, label in sorted(keyed)]


def console_table(summary: pd.DataFrame, paired: pd.DataFrame, metrics: Sequence[str], group: str = "setting") -> str:
    """Headline medians (10-90%) per setting, and the median paired difference from each setting's
    baseline with the share of seeds in which it is better, as text.

    Settings appear in the order of ``summary`` (sorted by setting); money in GBP per year.
    """
    lines = []
    metrics = [m for m in metrics if m in set(summary["metric"])]
    for m in metrics:
        meta = METRICS.get(m)
        unit = meta.unit if meta else ""
        words = {"higher": "higher is better", "lower": "lower is better", "zero": "closer to zero is better"}.get(
            meta.direction if meta else "none", "")
        lines.append(f"  {meta.label if meta else m} ({unit}{'; ' + words if words else ''})")
        rows = summary[summary["metric"] == m]
        width = max((len(str(s)) for s in rows[group]), default=0)
        for _, r in rows.iterrows():
            text = f"    {str(r[group]):<{width}}  {_num(r['median'])}  ({_num(r['q10'])} to {_num(r['q90'])})"
            p = paired[(paired["metric"] == m) & (paired[group] == r[group])] if len(paired) else paired
            if len(p):
                q = p.iloc[0]
                text += f"   difference {_num(q['median_diff'], sign=True)}"
                if pd.notna(q["share_better"]):
                    text += f", better in {q['share_better']:.0%} of {int(q['n_pairs'])} seeds"
            lines.append(text)
    return "\n".join(lines)


def _num(x: float, sign: bool = False) -> str:
    if not np.isfinite(x):
        return "-"
    a = abs(x)
    fmt = "{:+,.0f}" if sign else "{:,.0f}"
    if a < 1000:
        fmt = "{:+.4g}" if sign else "{:.4g}"
    return fmt.format(x)


def aggregate(
    sweep_dir: str | Path,
    baseline: Sequence[str] | dict[str, str] | None = None,
    timeseries: bool = True,
    quiet: bool = False,
    figures: Callable[[AggregateResult], list[Path]] | None = None,
) -> AggregateResult:
    """Merge every job of a sweep into ``<sweep>/aggregate/`` (see the module docstring).

    Args:
        sweep_dir: the sweep folder (``results/sweeps/<name>``).
        baseline: the baseline setting as ``["governance=joint_committee"]`` or a mapping; the
            keys not given are held at each setting's own values. Default: the first job's setting.
        timeseries: also merge the monthly time series into ``timeseries.parquet``.
        quiet: print nothing.
        figures: draws the figures into the aggregate folder and returns their paths (the entry
            point passes :func:`ics_sim.views.comparison_figure.write_sweep_figures`; this layer
            does not import views).

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
    key_cols = [column_name(k) for k in keys]
    factor_cols = list(dict.fromkeys([*STANDARD, *key_cols]))

    # runs: one row per replicate folder found (also from jobs that failed part-way)
    rows, ts_parts = [], []
    for job in jobs:
        fallbacks = {k: _typed(v) for k, v in job.setting_items.items()}
        for rep in job.rep_folders:
            try:
                data = _read_summary(rep)
            except (OSError, ValueError) as exc:
                job.error = (job.error + "; " if job.error else "") + f"unreadable {rep.name}/summary.json: {exc}"
                job.status = "incomplete" if job.status == "done" else job.status
                continue
            facts = factors(_resolved_config(rep), keys, fallbacks) if (rep / "config.yaml").exists() else {
                column_name(k): fallbacks.get(k) for k in keys}
            data.update({"setting": labels[job.num], **facts, "job": job.num, "overrides": " ".join(job.overrides)})
            rows.append(data)
            if timeseries and (rep / "timeseries.parquet").exists():
                ts_parts.append((rep / "timeseries.parquet", {"setting": labels[job.num], **facts, "job": job.num,
                                                              "replicate": int(data["replicate"])}))
    runs = pd.DataFrame(rows)
    factor_cols = [c for c in factor_cols if c in runs.columns]
    order = setting_order(runs, key_cols) if not runs.empty else []
    if not runs.empty:
        front = ["setting", *factor_cols, "job", "replicate", "seed", "scenario", "config_hash"]
        runs = runs[[c for c in front if c in runs] + [c for c in runs.columns if c not in front]]
        rank = {s: i for i, s in enumerate(order)}
        runs = runs.assign(_s=runs["setting"].map(rank)).sort_values(["_s", "replicate", "job"], kind="stable")
        runs = runs.drop(columns="_s").reset_index(drop=True)

    # baseline: each setting's counterpart
    spec = _parse_baseline(baseline)
    settings = {labels[j.num]: j.setting_items for j in jobs}
    have = set(runs["setting"]) if not runs.empty else set()
    with_data = [s for s in dict.fromkeys(labels[j.num] for j in jobs) if s in have]  # job order: the first job is the default baseline
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
    if runs.empty:
        summary = summarise_runs(runs, [], factor_cols=factor_cols)
        paired = paired_differences(pd.DataFrame(columns=["setting", "seed"]), {}, [], factor_cols=factor_cols)
    else:
        summary = summarise_runs(runs, factor_cols=factor_cols, order=order)
        paired = paired_differences(runs, counterpart, factor_cols=factor_cols, order=order)
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
    result = AggregateResult(out, runs, summary, paired, failed, base_label, order, counterpart, factor_cols,
                             merged_timeseries=timeseries)
    if figures is not None:
        result.figures = list(figures(result))

    if not quiet:
        n_set = runs["setting"].nunique() if not runs.empty else 0
        print(f"aggregated {len(runs)} runs of {n_set} settings from {len(jobs) - len(failed)} of {len(jobs)} jobs into {out}")
        if base_label:
            print(f"  paired differences against baseline: {', '.join(f'{k}={v}' for k, v in base_items.items()) or base_label}")
        if not runs.empty:
            print(console_table(summary, paired, HEADLINE))
        if result.figures:
            print(f"  figures: {result.figures[0].parent} ({len(result.figures)} files)")
        for _, f in failed.iterrows():
            print(f"  job {f['job']} ({f['setting']}) {f['status']}: {f['error']}", file=sys.stderr)
    return result


def main(argv: Sequence[str] | None = None, figures: Callable[[AggregateResult], list[Path]] | None = None) -> int:
    """Command line: ``python -m ics_sim.aggregate SWEEP_DIR [--baseline KEY=VALUE ...]``.

    Args:
        argv: the arguments (default: ``sys.argv``).
        figures: the figure hook (see :func:`aggregate`); ``--no-figures`` turns it off.
    """
    ap = argparse.ArgumentParser(
        prog="python -m ics_sim.aggregate",
        description="Merge a multirun sweep folder into aggregate/ (timeseries.parquet, runs.parquet, "
        "summary.csv, paired.csv, failed.csv, figures/). Works after a partial failure.",
    )
    ap.add_argument("sweep_dir", type=Path, help="the sweep folder, e.g. results/sweeps/20250101-120000-000000")
    ap.add_argument("--baseline", nargs="*", default=None, metavar="KEY=VALUE",
                    help="the baseline setting for paired differences (default: the first job's setting)")
    ap.add_argument("--no-timeseries", action="store_true", help="skip merging the monthly time series")
    ap.add_argument("--strict", action="store_true", help="exit with status 1 when any job failed or is missing")
    ap.add_argument("--no-figures", action="store_true", help="skip the figures")
    args = ap.parse_args(argv)
    try:
        res = aggregate(args.sweep_dir, baseline=args.baseline, timeseries=not args.no_timeseries,
                        figures=None if args.no_figures else figures)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if (args.strict and len(res.failed)) else 0


if __name__ == "__main__":
    raise SystemExit(main())
