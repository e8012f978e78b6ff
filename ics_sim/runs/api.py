"""The Python API: run the model without Hydra, and write a run's results folder.

>>> import ics_sim
>>> result = ics_sim.run({"governance": "joint_committee"}, seed=1)
>>> result.summary["hle_sii"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ics_sim.config import Config, config_hash, load_config, safe_label, scenario_label, to_dict
from ics_sim.config.labels import MAX_LABEL
from ics_sim.model.ics_model import ICSModel
from ics_sim.model.record import summarise
from ics_sim.runs.factors import factors
from ics_sim.runs.io import atomic_write_text
from ics_sim.version import __version__


@dataclass
class RunResult:
    """What one run produced.

    Attributes:
        timeseries: tidy long table (run, scenario, the factor columns of
            :func:`ics_sim.runs.factors.factors`, seed, month, date, level, area, metric,
            measure_unit, value; see docs/OUTPUTS.md), or None when the run was made with
            ``timeseries=False``.
        summary: horizon values (see :data:`ics_sim.model.record.SUMMARY_KEYS`) plus seed, version and
            config hash.
        model: the finished :class:`~ics_sim.model.ICSModel` (a ``mesa.Model``).
        config: the validated config.
    """

    timeseries: pd.DataFrame | None
    summary: dict[str, Any]
    model: ICSModel
    config: Config

    @property
    def scenario(self) -> str:
        return self.summary["scenario"]


def scenario_name(cfg: Config) -> str:
    """A readable scenario label: the config's own, or the group options followed by every
    setting they do not set, e.g. ``synthetic-committee-fixed-need_weighted,delegation.share=0.4``
    (:func:`ics_sim.config.scenario_label`; always a safe label, so it can name a folder)."""
    return scenario_label(cfg)


def run_config(
    cfg: Config,
    seed: int | None = None,
    run_id: str = "",
    keep_model: bool = True,
    timeseries: bool = True,
    factor_keys: Iterable[str] = (),
) -> RunResult:
    """Run a validated config to its horizon.

    Args:
        cfg: the validated config (its ``seed`` is set to ``seed`` when given).
        seed: the random seed.
        run_id: the ``run`` column of the time series.
        keep_model: False lets go of Mesa's bookkeeping of the finished model (long in-process
            sweeps); ``result.model`` is still returned.
        timeseries: False skips the monthly time series (``result.timeseries`` is None): the model
            records only the last 12 months, which are all the summary reads, and no DataFrame is
            built. The summary is identical to that of a run with the time series. For batches.
        factor_keys: override keys (beyond the standard factors) to carry as columns of the time
            series, e.g. ``["trust.initial"]`` (see :func:`ics_sim.runs.factors.factors`).
    """
    if seed is not None:
        cfg.seed = int(seed)
    model = ICSModel(cfg, timeseries=timeseries).run()
    scenario = scenario_name(cfg)
    ts = model.recorder.frame(run=run_id, scenario=scenario, seed=cfg.seed, factors=factors(cfg, factor_keys)) if timeseries else None
    summary: dict[str, Any] = summarise(model.recorder)
    summary.update(
        {
            "scenario": scenario,
            "seed": int(cfg.seed),
            "years": int(cfg.years),
            "ics_sim_version": __version__,
            "config_hash": config_hash(cfg),
        }
    )
    if not keep_model:
        model.release()
    return RunResult(ts, summary, model, cfg)


def run(overrides: dict[str, Any] | list[str] | None = None, seed: int = 0) -> RunResult:
    """Run the model once.

    Args:
        overrides: config groups and dotted keys, as on the command line, e.g.
            ``{"governance": "joint_committee", "delegation": "fixed", "delegation.share": 0.4}``.
        seed: the random seed (overrides any ``seed`` in ``overrides``).

    Returns:
        A :class:`RunResult` with ``.timeseries``, ``.summary`` and ``.model``.
    """
    cfg, _ = load_config(overrides)
    return run_config(cfg, seed=seed)


def write_run(
    result: RunResult,
    root: str | Path = "results/runs",
    folder: str | Path | None = None,
    figure: Callable[[RunResult, pd.DataFrame, Path], None] | None = None,
) -> Path:
    """Write a run's folder atomically: everything goes into a hidden temporary folder that is
    renamed into place only when complete, so a folder that exists is whole.

    Contents: ``timeseries.parquet``, ``summary.json``, ``config.yaml`` (the resolved config) and
    whatever ``figure(result, timeseries, folder)`` draws into the folder (the package's
    :func:`ics_sim.write_run` passes the one-page run figure, ``outcomes.png``; this layer does
    not import views). The folder name is unique and never overwritten.

    Nothing is written outside ``root``: the folder's name is a safe label
    (:func:`ics_sim.config.safe_label`: no ``/``, ``..`` or leading dot, whatever the scenario
    says), and a ``folder`` given explicitly must lie inside ``root``.

    Raises:
        ValueError: ``folder`` is not inside ``root``.
        FileExistsError: ``folder`` exists.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if folder is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        scenario = safe_label(result.scenario)[:MAX_LABEL].rstrip("._")  # the whole label (its cut keeps a hash)
        folder = root / f"{stamp}_{scenario}_s{int(result.summary['seed'])}_{uuid.uuid4().hex[:6]}"
    final = Path(folder)
    inside = final.resolve().parent
    if inside != root.resolve() and root.resolve() not in inside.parents:
        raise ValueError(f"results folder {final} is outside the results root {root}; give a folder inside it")
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        raise FileExistsError(f"results folder {final} already exists; runs are never overwritten")
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
    try:
        ts = result.timeseries.copy()
        ts["run"] = final.name
        ts.to_parquet(tmp / "timeseries.parquet", index=False)
        atomic_write_text(tmp / "summary.json", json.dumps(result.summary, indent=2, sort_keys=True, default=float) + "\n")
        atomic_write_text(tmp / "config.yaml", yaml.safe_dump(to_dict(result.config), sort_keys=False))
        if figure is not None:
            figure(result, ts, tmp)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
