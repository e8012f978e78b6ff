"""Nothing is written outside the results root, folder names are safe labels, and every final
file of the experiments is written atomically (issue 12)."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import ics_sim
from ics_sim.config import ConfigError, is_safe_label
from ics_sim.runs.api import write_run
from ics_sim.runs.io import atomic_write_csv, atomic_write_figure

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result() -> ics_sim.RunResult:
    return ics_sim.run({"years": 1, "delegation.share": 0.4}, seed=2)


@pytest.mark.parametrize("scenario", ["../../../../../escaped", "a/b", ".hidden", "a b"])
def test_the_api_refuses_a_scenario_that_is_not_a_safe_label(scenario):
    with pytest.raises(ConfigError, match=r"^scenario = .* is not a safe label"):
        ics_sim.run({"scenario": scenario, "years": 1})


def test_the_label_names_every_setting_and_the_folder_keeps_it(result, tmp_path):
    assert result.scenario == "synthetic-committee-fixed-need_weighted,years=1,delegation.share=0.4"  # schema order
    folder = write_run(result, tmp_path / "runs")
    assert folder.parent == tmp_path / "runs" and is_safe_label(folder.name)
    assert folder.name.split("_", 1)[1].startswith("synthetic-committee-fixed-need_weighted,years=1,delegation.share=0.4_s2_")


def test_a_result_with_an_unsafe_scenario_still_lands_inside_the_root(result, tmp_path):
    bad = dataclasses.replace(result, summary={**result.summary, "scenario": "../../../../../escaped/x"})
    folder = write_run(bad, tmp_path / "runs")
    assert folder.parent == tmp_path / "runs" and is_safe_label(folder.name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


@pytest.mark.parametrize("folder", ["../outside", "/tmp/ics_sim_outside_test", "sub/../../outside"])
def test_a_folder_outside_the_root_is_refused(result, tmp_path, folder):
    root = tmp_path / "root"
    target = Path(folder) if Path(folder).is_absolute() else root / folder
    with pytest.raises(ValueError, match="outside the results root"):
        write_run(result, root, folder=target)
    assert not (tmp_path / "outside").exists() and not Path("/tmp/ics_sim_outside_test").exists()
    assert list(root.iterdir()) == []


@pytest.mark.slow  # a Hydra multirun end to end, like tests/test_sweeps.py's; safe_label's own tests stay fast
def test_a_sweep_with_odd_values_writes_only_inside_its_folder(tmp_path):
    """Hydra names job folders after the overrides; they pass through safe_label, so a place
    named '../../../../x' cannot climb out."""
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [sys.executable, "-m", "ics_sim", "-m", "years=1", "seed=1,2", "hydra/launcher=basic",
         "system.places=[{name: ../../../../x, population: 300000, neighbourhoods: 2}]",
         f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name != "aggregate")  # the sweep's own tables
    assert len(jobs) == 2 and all(is_safe_label(p.name) for p in jobs)
    for path in sweep.rglob("*"):
        assert sweep in path.resolve().parents


def test_atomic_helpers_write_whole_files_or_nothing(tmp_path):
    from matplotlib.figure import Figure

    atomic_write_csv(pd.DataFrame({"a": [1, 2]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == "a\n1\n2\n"
    fig = Figure()
    fig.add_subplot().plot([0, 1])
    atomic_write_figure(fig, tmp_path / "f.png", dpi=50)
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    class Broken(pd.DataFrame):
        def to_csv(self, *args, **kwargs):
            Path(args[0]).write_text("half")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_csv(Broken({"a": [1]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == "a\n1\n2\n"  # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "t.csv"]  # no temporary left


RAW_WRITES = {"to_csv", "to_parquet", "savefig", "write_text", "write_bytes", "to_json"}


@pytest.mark.parametrize("script", ["experiments/sensitivity.py", "experiments/ema_example.py"])
def test_experiments_write_final_files_only_through_the_atomic_helpers(script):
    tree = ast.parse((ROOT / script).read_text())
    raw = [f"line {n.lineno}: .{n.func.attr}(...)" for n in ast.walk(tree)
           if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in RAW_WRITES]
    assert not raw, f"{script} writes without ics_sim.runs.io: {raw}"
    assert "atomic_write_" in (ROOT / script).read_text()


def test_a_marked_readme_block_is_replaced_and_nothing_else(tmp_path):
    from ics_sim.runs.io import replace_marked_block

    readme = tmp_path / "README.md"
    readme.write_text("# t\n\n<!-- x:table -->\nold\n<!-- /x:table -->\n\nrest\n")
    assert replace_marked_block(readme, "x:table", "new\n")
    assert readme.read_text() == "# t\n\n<!-- x:table -->\nnew\n<!-- /x:table -->\n\nrest\n"
    assert not replace_marked_block(readme, "y:table", "other\n")  # no markers: unchanged
    assert "other" not in readme.read_text()
