"""The command line's fast path (issue 13): a plain run is composed once, without a second
composition by Hydra, and gives the API's numbers; ``--no-plot`` / ``plot=false`` skip the
figure; the figure comes after the results are written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ics_sim


def _cli(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[Path]]:
    proc = subprocess.run([sys.executable, "-m", "ics_sim", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
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
    proc, folders = _cli(tmp_path, "years=2", "seed=5", "governance=joint_committee")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((folders[0] / "summary.json").read_text())
    api = ics_sim.run({"years": 2, "governance": "joint_committee"}, seed=5).summary
    for key in ("hle_sii", "hle_mean", "unmet_need", "duplicated_spend_gbp", "trust_mean"):
        assert summary[key] == api[key], key
    assert (folders[0] / "outcomes.png").stat().st_size > 10_000


def test_a_bad_plot_value_is_one_line(tmp_path):
    proc, folders = _cli(tmp_path, "plot=maybe")
    assert proc.returncode == 2 and folders == []
    assert proc.stderr.strip().splitlines() == [
        "ConfigError: plot: 'maybe' is not allowed; use plot=true or plot=false (or --no-plot)"]
