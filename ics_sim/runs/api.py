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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ics_sim.config import Config, config_hash, load_config, to_dict
from ics_sim.model.ics_model import ICSModel
from ics_sim.model.record import summarise
from ics_sim.runs.io import atomic_write_text
from ics_sim.version import __version__


@dataclass
class RunResult:
    """What one run produced.

    Attributes:
        timeseries: tidy long table (run, scenario, seed, month, level, unit, metric, value), or
            None when the run was made with ``timeseries=False``.
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
    """A readable scenario label: the config's own, or governance/delegation/allocation."""
    if cfg.scenario:
        return cfg.scenario
    return f"{cfg.system.name}-{cfg.governance.form}-{cfg.delegation.rule}-{cfg.allocation.rule}"


def run_config(
    cfg: Config, seed: int | None = None, run_id: str = "", keep_model: bool = True, timeseries: bool = True
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
    """
    if seed is not None:
        cfg.seed = int(seed)
    model = ICSModel(cfg, timeseries=timeseries).run()
    scenario = scenario_name(cfg)
    ts = model.recorder.frame(run=run_id, scenario=scenario, seed=cfg.seed) if timeseries else None
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
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if folder is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = root / f"{stamp}_{result.scenario}_s{result.summary['seed']}_{uuid.uuid4().hex[:6]}"
    final = Path(folder)
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
