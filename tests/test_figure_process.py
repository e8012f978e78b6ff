"""The command line's figure helper (issue 13): a second process that imports matplotlib while the
model runs draws exactly the figure the calling process would, and when it cannot, the calling
process draws it (and raises a real error itself)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import ics_sim
from ics_sim.runs.api import write_run
from ics_sim.views.figure_process import FigureProcess, helper_pays
from ics_sim.views.figure_rows import figure_rows, read_figure_rows
from ics_sim.views.run_figure import plot_outcomes, write_run_figure


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[ics_sim.RunResult, Path, bytes]:
    """A one-year run's folder (no figure) and its figure drawn in this process from the whole
    table, as it was drawn before the figure rows and the helper."""
    result = ics_sim.run({"years": 1}, seed=2)
    folder = write_run(result, tmp_path_factory.mktemp("runs"))
    drawn = tmp_path_factory.mktemp("drawn") / "outcomes.png"
    plot_outcomes(result.timeseries.assign(run=folder.name), drawn, title=f"ics_sim — {result.scenario}, seed 2",
                  start_year=result.config.start_year)
    return result, folder, drawn.read_bytes()


def test_the_helper_draws_the_figure_the_caller_would_and_leaves_errors_to_it(reference, tmp_path):
    result, folder, png = reference
    with FigureProcess() as figures:
        figures.draw_run(result)  # from the rows in memory, while the caller writes the folder
        figures.run_figure(result, None, tmp_path / "run")
        figures.outcomes([folder / "timeseries.parquet"], tmp_path / "read.png",  # from the table file
                         title=f"ics_sim — {result.scenario}, seed 2", start_year=result.config.start_year)
        assert figures._proc.poll() is None  # both drawn by the helper, which is still serving
        # an error in drawing is raised here, by the caller drawing again, with nothing written
        with pytest.raises(OSError):
            figures.outcomes([tmp_path / "missing.parquet"], tmp_path / "x.png", title="t", start_year=2025)
        assert figures._proc.poll() is None and not (tmp_path / "x.png").exists()
    assert (tmp_path / "run" / "outcomes.png").read_bytes() == png
    assert (tmp_path / "read.png").read_bytes() == png


def test_the_figure_rows_draw_the_whole_table_s_figure(reference, tmp_path):
    result, folder, png = reference
    whole = result.timeseries.assign(run=folder.name)
    kept = figure_rows(whole)
    assert 0 < len(kept) < len(whole)
    read = read_figure_rows([folder / "timeseries.parquet"])
    pd.testing.assert_frame_equal(read[kept.columns], kept, check_categorical=False, check_dtype=False)
    write_run_figure(result, whole, tmp_path)  # draws the figure rows
    assert (tmp_path / "outcomes.png").read_bytes() == png


def test_a_dead_helper_leaves_the_figure_to_the_caller(reference, tmp_path):
    result, folder, png = reference
    figures = FigureProcess()
    figures._proc.kill()
    figures._proc.wait()
    figures.draw_run(result)
    figures.run_figure(result, result.timeseries.assign(run=folder.name), tmp_path)
    figures.close()
    assert (tmp_path / "outcomes.png").read_bytes() == png


def test_the_helper_is_gone_when_closed():
    figures = FigureProcess()
    proc = figures._proc
    figures.close()
    assert proc.poll() is not None
    figures.close()  # twice is harmless


def test_the_helper_is_used_only_when_a_core_is_idle(monkeypatch):
    monkeypatch.delenv("ICS_SIM_FIGURE_HELPER", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr("os.getloadavg", lambda: (0.4, 0.0, 0.0))
    assert helper_pays()
    monkeypatch.setattr("os.getloadavg", lambda: (1.6, 0.0, 0.0))
    assert not helper_pays()
    monkeypatch.setenv("ICS_SIM_FIGURE_HELPER", "1")
    assert helper_pays()
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    monkeypatch.setenv("ICS_SIM_FIGURE_HELPER", "0")
    assert not helper_pays()


@pytest.mark.parametrize("overrides", [
    {"years": 2},
    {"years": 3, "system": "herefordshire_worcestershire", "governance": "joint_committee", "shocks": ["funding_cut"]},
    pytest.param({"years": 2, "system": "england"}, marks=pytest.mark.slow),  # 42 systems' panels: 8 s
])
def test_a_page_drawn_empty_beforehand_gives_the_same_figure(overrides):
    """The helper draws its page once before the data comes (_ready_page): the PNG is the one a
    fresh page gives, for one system or several, one run or several seeds."""
    from ics_sim.views.figure_process import _ready_page, _render

    results = [ics_sim.run(overrides, seed=s) for s in (1, 2)]
    for rows in (figure_rows(results[0].timeseries),
                 pd.concat([figure_rows(r.timeseries.assign(run=f"r{i}")) for i, r in enumerate(results)], ignore_index=True)):
        body = {"rows": rows, "title": "t", "start_year": 2025}
        assert _render(body, _ready_page()) == _render(body)
