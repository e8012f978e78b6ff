"""The one-page figure drawn by a helper process that gets ready while the model runs (issue 13).

``python -m ics_sim`` spends about as long importing matplotlib and drawing its first figure as it
does running the model. The machine has two cores or more, so the command line starts this helper
before the run (:class:`FigureProcess`): it imports matplotlib, pandas and pyarrow on another
core while the model runs. When the run's
table is written, the command line sends the helper one request naming the table file(s) and the
PNG to write; the helper reads the rows the figure needs (:func:`~ics_sim.views.run_figure.read_figure_rows`),
draws with :func:`~ics_sim.views.run_figure.plot_outcomes` (the same function, so the same figure)
and writes the PNG atomically inside the run's temporary folder, which the command line then
renames into place: a results folder still appears only when whole.

If the helper cannot start, dies, or reports an error, the figure is drawn in the calling process
instead, so a real error in drawing is raised there with its traceback, as without the helper.

Protocol: one JSON object per line on the helper's stdin (``frames``, ``png``, ``title``,
``start_year``), one JSON object per line back (``{"ok": true}`` or ``{"error": "<traceback>"}``);
the helper exits when its stdin closes, so it never outlives the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["FigureProcess"]


class FigureProcess:
    """A helper process that draws run figures; start it before the run, close it after.

    Example::

        with FigureProcess() as figures:
            result = run_config(cfg)
            write_run(result, "results/runs", figure=figures.run_figure)
    """

    def __init__(self) -> None:
        try:
            self._proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True, encoding="utf-8")
        except OSError:  # no helper: every figure is drawn in this process
            self._proc = None

    def __enter__(self) -> FigureProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the helper's stdin (it exits) and wait for it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            proc.stdout.close()

    def _ask(self, request: dict[str, Any]) -> bool:
        """Send one request; True when the helper drew the figure."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return False
        try:
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            reply = proc.stdout.readline()
        except OSError:  # the helper died: draw here
            return False
        try:
            return json.loads(reply).get("ok") is True
        except ValueError:
            return False

    def outcomes(self, frames: Sequence[str | Path], png: str | Path, *, title: str, start_year: int) -> None:
        """Draw the one-page figure of the runs whose tables are ``frames`` (``timeseries.parquet``
        files: one run, or the replicates of one setting) into ``png``, atomically.

        Args:
            frames: the runs' ``timeseries.parquet`` files.
            png: where to write the figure.
            title: the figure's title.
            start_year: the calendar year of month 0.
        """
        request = _request(frames, png, title, start_year)
        if not self._ask(request):
            _draw(request)

    def run_figure(self, result: Any, timeseries: Any, folder: Path) -> None:
        """The ``figure`` hook of :func:`ics_sim.runs.api.write_run`: the run's ``outcomes.png``
        in ``folder``, drawn by the helper from the table just written there, or (when the helper
        cannot) by :func:`ics_sim.views.run_figure.write_run_figure` from ``timeseries``."""
        folder = Path(folder)
        request = _request([folder / "timeseries.parquet"], folder / "outcomes.png",
                           f"ics_sim — {result.scenario}, seed {result.summary['seed']}", result.config.start_year)
        if not self._ask(request):
            from ics_sim.views.run_figure import write_run_figure

            write_run_figure(result, timeseries, folder)


def _request(frames: Sequence[str | Path], png: str | Path, title: str, start_year: int) -> dict[str, Any]:
    return {"frames": [str(Path(f).resolve()) for f in frames], "png": str(Path(png).resolve()),
            "title": title, "start_year": int(start_year)}


def _draw(request: dict[str, Any]) -> None:
    from ics_sim.views.run_figure import plot_outcomes, read_figure_rows

    plot_outcomes(read_figure_rows(request["frames"]), request["png"], title=request["title"],
                  start_year=request["start_year"])


def serve() -> None:
    """The helper's loop: answer requests on stdin until it closes."""
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr  # anything printed while drawing must not break the replies
    try:  # the imports a figure needs, made while the caller runs the model
        import pyarrow.parquet  # noqa: F401

        import ics_sim.views.run_figure  # noqa: F401
    except Exception:  # noqa: BLE001  (reported by the first request instead)
        pass
    for line in sys.stdin:
        try:
            _draw(json.loads(line))
            reply: dict[str, Any] = {"ok": True}
        except Exception:  # noqa: BLE001  (reported; the caller draws again and raises)
            import traceback

            reply = {"error": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve()
