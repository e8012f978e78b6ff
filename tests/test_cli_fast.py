"""The command line's fast path (issue 13): a plain run is composed once, without a second
composition by Hydra, and gives the API's numbers; ``--no-plot`` / ``plot=false`` skip the
figure; the figure comes after the results are written (drawn by a helper process when a core is
idle: the same PNG)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ics_sim
from ics_sim.views.figure_process import HELPER_ENV
from ics_sim.views.run_figure import write_run_figure


def _cli(tmp_path: Path, *args: str, helper: str | None = None,
         flags: tuple[str, ...] = ()) -> tuple[subprocess.CompletedProcess, list[Path]]:
    env = {**os.environ, HELPER_ENV: helper} if helper is not None else None
    proc = subprocess.run([sys.executable, *flags, "-m", "ics_sim", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=env)
    runs = tmp_path / "results" / "runs"
    return proc, sorted(runs.iterdir()) if runs.exists() else []


@pytest.mark.parametrize("flag", ["--no-plot", "plot=false"])
def test_no_plot_writes_the_results_without_the_figure(tmp_path, flag):
    proc, folders = _cli(tmp_path, "years=1", "seed=3", flag)
    assert proc.returncode == 0, proc.stderr
    assert len(folders) == 1
    names = {p.name for p in folders[0].iterdir()}
    assert {"timeseries.parquet", "summary.json", "config.yaml"} <= names
    assert "outcomes.png" not in names


def test_the_direct_path_gives_the_api_numbers_and_the_figure(tmp_path):
    proc, folders = _cli(tmp_path, "years=2", "seed=5", "governance=joint_committee", helper="1",
                         flags=("-X", "importtime"))  # the modules this process imports, on stderr
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "ics_sim.views.figure_process" in imported and "mesa.model" in imported
    assert "matplotlib" not in imported  # the point of the helper: this process never imports it
    summary = json.loads((folders[0] / "summary.json").read_text())
    result = ics_sim.run({"years": 2, "governance": "joint_committee"}, seed=5)
    for key in ("hle_sii", "hle_mean", "unmet_need", "duplicated_spend_gbp", "trust_mean"):
        assert summary[key] == result.summary[key], key
    # the figure the helper process drew is the one this process draws from the same run
    write_run_figure(result, result.timeseries.assign(run=folders[0].name), tmp_path)
    assert (folders[0] / "outcomes.png").read_bytes() == (tmp_path / "outcomes.png").read_bytes()
    assert sorted(p.name for p in folders[0].iterdir()) == ["config.yaml", "outcomes.png", "summary.json", "timeseries.parquet"]


def test_a_bad_plot_value_is_one_line(tmp_path):
    proc, folders = _cli(tmp_path, "plot=maybe")
    assert proc.returncode == 2 and folders == []
    assert proc.stderr.strip().splitlines() == [
        "ConfigError: plot: 'maybe' is not allowed; use plot=true or plot=false (or --no-plot)"]
