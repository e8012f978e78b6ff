"""The command line's figure helper (issue 13): a second process that imports matplotlib while the
model runs draws exactly the figure the calling process would, and when it cannot, the calling
process draws it (and raises a real error itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ics_sim
from ics_sim.runs.api import write_run
from ics_sim.views.figure_process import FigureProcess
from ics_sim.views.run_figure import figure_rows, plot_outcomes, read_figure_rows, write_run_figure


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> tuple[ics_sim.RunResult, Path]:
    result = ics_sim.run({"years": 1}, seed=2)
    return result, write_run(result, tmp_path_factory.mktemp("runs"))


def test_the_helper_draws_the_figure_the_caller_would(run_folder, tmp_path):
    result, folder = run_folder
    write_run_figure(result, result.timeseries.assign(run=folder.name), tmp_path)  # in this process
    with FigureProcess() as figures:
        figures.outcomes([folder / "timeseries.parquet"], tmp_path / "helper.png",
                         title=f"ics_sim — {result.scenario}, seed 2", start_year=result.config.start_year)
        assert figures._proc.poll() is None  # drawn by the helper, which is still serving
    assert (tmp_path / "helper.png").read_bytes() == (tmp_path / "outcomes.png").read_bytes()


def test_the_run_figure_drawn_by_the_helper_is_the_caller_s(run_folder, tmp_path):
    result, folder = run_folder
    ts = result.timeseries.assign(run=folder.name)
    write_run_figure(result, ts, tmp_path)
    with FigureProcess() as figures:
        figures.draw_run(result)
        figures.run_figure(result, ts, tmp_path / "helper")
        assert figures._proc.poll() is None
    assert (tmp_path / "helper" / "outcomes.png").read_bytes() == (tmp_path / "outcomes.png").read_bytes()


def test_the_rows_read_for_the_figure_draw_the_whole_table_s_figure(run_folder, tmp_path):
    result, folder = run_folder
    whole = result.timeseries.assign(run=folder.name)
    read = read_figure_rows([folder / "timeseries.parquet"])
    kept = figure_rows(whole)
    assert len(read) == len(kept) < len(whole)
    for name, rows in (("whole", whole), ("read", read), ("kept", kept)):
        plot_outcomes(rows, tmp_path / f"{name}.png")
    png = (tmp_path / "whole.png").read_bytes()
    assert (tmp_path / "read.png").read_bytes() == png and (tmp_path / "kept.png").read_bytes() == png


def test_an_error_in_drawing_is_raised_in_the_caller(tmp_path):
    with FigureProcess() as figures, pytest.raises(OSError):
        figures.outcomes([tmp_path / "missing.parquet"], tmp_path / "x.png", title="t", start_year=2025)
    assert not (tmp_path / "x.png").exists()


def test_a_dead_helper_leaves_the_figure_to_the_caller(run_folder, tmp_path):
    result, folder = run_folder
    figures = FigureProcess()
    proc = figures._proc
    proc.kill()
    proc.wait()
    figures.draw_run(result)
    figures.run_figure(result, result.timeseries.assign(run=folder.name), tmp_path / "run")
    figures.outcomes([folder / "timeseries.parquet"], tmp_path / "set.png", title="t", start_year=2025)
    figures.close()
    assert (tmp_path / "run" / "outcomes.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "set.png").read_bytes()[:4] == b"\x89PNG"


def test_the_helper_exits_when_closed():
    figures = FigureProcess()
    proc = figures._proc
    figures.close()
    assert proc.returncode == 0
    figures.close()  # twice is harmless
