"""The one-page figure drawn by a helper process that gets ready while the model runs (issue 13).

``python -m ics_sim`` spends about as long importing matplotlib and drawing its figure as it does
running the model. The machine has two cores or more, so the command line starts this helper
before the run (:class:`FigureProcess`): on another core while the model runs, it imports
matplotlib, pandas and pyarrow, and builds the page the figure will be drawn on
(:func:`~ics_sim.views.run_figure.new_page`), drawn once empty (matplotlib's first-figure set-up
and the page's own, :func:`_ready_page`). When the run ends, the command line hands the helper the rows the figure
reads (:func:`~ics_sim.views.figure_rows.figure_rows`, pandas only: this process never imports
matplotlib) and writes the run's table, summary and
config while the helper draws them with :func:`~ics_sim.views.run_figure.plot_outcomes` (the same
function, so the same figure, byte for byte). The helper then writes the PNG atomically inside the
run's temporary folder, which the command line renames into place: a results folder still appears
only when whole. For a set of replicates the helper reads their tables itself
(:func:`~ics_sim.views.figure_rows.read_figure_rows`).

The helper costs CPU (a second interpreter imports pandas and pyarrow again), so the command line
starts it only when a core is idle (:func:`helper_pays`); otherwise it draws in its own process as
before. If the helper cannot start, dies, or fails to draw, the figure is drawn in the calling process
instead, so a real error in drawing is raised there with its traceback, as without the helper.

Protocol: on the helper's stdin, length-prefixed pickles ``("draw", {...})`` (rows or table files,
title, start year: draw into memory) and ``("write", path)`` (write the drawn PNG there); on its
stdout one JSON line per ``write``: ``{"ok": true}`` or ``{"error": "<traceback>"}``. The helper
is stopped when the command line closes it, and exits when its stdin closes, so it never outlives
the command line.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["FigureProcess", "helper_pays"]

_LENGTH = struct.Struct(">Q")

#: environment variable: ``1`` always starts the helper, ``0`` never; unset, :func:`helper_pays` decides
HELPER_ENV = "ICS_SIM_FIGURE_HELPER"


def helper_pays() -> bool:
    """Whether a helper process would make the command line faster: only when a core is idle.
    The helper imports pandas and pyarrow a second time (about half a second of CPU), which is
    free on an idle core but slows everything when every core is busy; so it is used when the
    load average (last minute) leaves at least one core free. ``ICS_SIM_FIGURE_HELPER=1`` or
    ``=0`` decides instead (benchmarks, tests)."""
    forced = os.environ.get(HELPER_ENV, "")
    if forced in ("0", "1"):
        return forced == "1"
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform
        return cores > 1
    return load <= cores - 1


class FigureProcess:
    """A helper process that draws run figures; start it before the run, close it after.

    Example::

        with FigureProcess() as figures:
            result = run_config(cfg)
            figures.draw_run(result)  # the helper draws while the folder is written
            write_run(result, "results/runs", figure=figures.run_figure)
    """

    def __init__(self) -> None:
        self._sending: threading.Thread | None = None
        self._drawing: Any = None  # the run whose figure the helper is drawing
        self._broken = False
        try:
            self._proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except OSError:  # no helper: every figure is drawn in this process
            self._proc = None

    def __enter__(self) -> FigureProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the helper. Every figure asked for has been written by now (each ``write`` waits
        for its reply), so the helper is idle, or still importing when no figure was asked for:
        it is stopped at once rather than left to finish its imports or its interpreter's
        shutdown."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if self._sending is not None:
            self._sending.join()
        try:
            proc.stdin.close()
        except OSError:
            pass
        proc.terminate()
        proc.wait()
        proc.stdout.close()

    # ------------------------------------------------------------------ talking to the helper

    def _post(self, message: tuple[str, Any]) -> None:
        """Send a message from a thread, so this process carries on while the helper is still
        importing and not yet reading."""
        if self._sending is not None:
            self._sending.join()
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._sending = threading.Thread(target=self._send, args=(data,), daemon=True)
        self._sending.start()

    def _send(self, data: bytes) -> None:
        try:
            self._proc.stdin.write(_LENGTH.pack(len(data)) + data)
            self._proc.stdin.flush()
        except (OSError, ValueError):  # the helper died: the caller draws instead
            self._broken = True

    def _usable(self) -> bool:
        return self._proc is not None and not self._broken and self._proc.poll() is None

    def _draw(self, body: dict[str, Any]) -> bool:
        if not self._usable():
            return False
        self._post(("draw", body))
        return True

    def _write(self, png: str | Path) -> bool:
        """Ask the helper to write the figure it drew; True when it did."""
        if not self._usable():
            return False
        self._post(("write", str(Path(png).resolve())))
        self._sending.join()
        if self._broken:
            return False
        try:
            return json.loads(self._proc.stdout.readline()).get("ok") is True
        except (OSError, ValueError):
            return False

    # ------------------------------------------------------------------ figures

    def draw_run(self, result: Any) -> None:
        """Hand the helper a finished run's figure rows, to draw while the folder is written;
        :meth:`run_figure` then writes the figure into the folder."""
        from ics_sim.views.figure_rows import figure_rows

        if self._draw({"rows": figure_rows(result.timeseries), "title": _run_title(result),
                       "start_year": int(result.config.start_year)}):
            self._drawing = result

    def run_figure(self, result: Any, timeseries: Any, folder: Path) -> None:
        """The ``figure`` hook of :func:`ics_sim.runs.api.write_run`: the run's ``outcomes.png``
        in ``folder``, as drawn by the helper (:meth:`draw_run`), or, when the helper did not,
        by :func:`ics_sim.views.run_figure.write_run_figure` here."""
        drawing, self._drawing = self._drawing, None
        if drawing is result and self._write(Path(folder) / "outcomes.png"):
            return
        from ics_sim.views.run_figure import write_run_figure

        write_run_figure(result, timeseries, folder)

    def outcomes(self, frames: Sequence[str | Path], png: str | Path, *, title: str, start_year: int) -> None:
        """Draw the one-page figure of the runs whose tables are ``frames`` (``timeseries.parquet``
        files: the replicates of one setting) into ``png``, atomically.

        Args:
            frames: the runs' ``timeseries.parquet`` files.
            png: where to write the figure.
            title: the figure's title.
            start_year: the calendar year of month 0.
        """
        body = {"frames": [str(Path(f).resolve()) for f in frames], "title": title, "start_year": int(start_year)}
        if self._draw(body) and self._write(png):
            return
        from ics_sim.views.run_figure import plot_outcomes, read_figure_rows

        plot_outcomes(read_figure_rows(frames), png, title=title, start_year=start_year)


def _run_title(result: Any) -> str:
    return f"ics_sim — {result.scenario}, seed {result.summary['seed']}"


# ---------------------------------------------------------------------- the helper's side


def _read(stream: IO[bytes]) -> Any:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    return pickle.loads(stream.read(_LENGTH.unpack(head)[0]))


def _render(body: dict[str, Any], page: Any = None) -> bytes:
    """The PNG of one figure, as :func:`~ics_sim.views.run_figure.plot_outcomes` writes it (on
    ``page``, an empty page built beforehand, when given)."""
    import io

    from ics_sim.views.run_figure import plot_outcomes, read_figure_rows

    rows = body["rows"] if body.get("rows") is not None else read_figure_rows(body["frames"])
    fig = plot_outcomes(rows, title=body["title"], start_year=body["start_year"], page=page)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return buffer.getvalue()


def _ready_page() -> Any:
    """An empty page (:func:`~ics_sim.views.run_figure.new_page`) drawn once, at full size, with a
    bold line of text that is then taken off: the first figure of a process pays for matplotlib's
    lazy set-up (fonts, bold included, the tick machinery, the Agg renderer), and a page pays for
    its panels' tick objects and the text metrics of its fixed labels, about a fifth of a second
    that this moves onto the helper's idle time while the model runs. Drawing the empty page
    changes nothing drawn on it later: the figure is the same byte for byte
    (tests/test_figure_process.py)."""
    from ics_sim.views.run_figure import new_page

    page = new_page()
    warm = page.text(0.5, 0.5, "Warm-up", fontsize=12, fontweight="bold")
    page.canvas.draw()
    warm.remove()
    return page


def serve() -> None:
    """The helper's loop: answer messages on stdin until it closes."""
    import traceback

    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr  # anything printed while drawing must not break the replies
    try:  # the imports a figure needs, made while the caller runs the model
        import pyarrow.parquet  # noqa: F401

        page = _ready_page()  # the next figure's page, built and drawn while the caller runs the model
    except Exception:  # noqa: BLE001  (reported by the first request instead)
        page = None
    png: bytes | None = None
    error = "nothing was drawn"
    while (message := _read(sys.stdin.buffer)) is not None:
        kind, body = message
        if kind == "draw":
            try:
                png, error = _render(body, page), ""
            except Exception:  # noqa: BLE001  (reported on write; the caller draws again and raises)
                png, error = None, traceback.format_exc()
            page = None  # a page is used once
            continue
        try:
            if png is None:
                raise RuntimeError(error)
            from ics_sim.runs.io import atomic_path

            with atomic_path(body) as tmp:
                tmp.write_bytes(png)
            reply: dict[str, Any] = {"ok": True}
        except Exception:  # noqa: BLE001
            reply = {"error": traceback.format_exc()}
        png, error = None, "nothing was drawn"
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    serve()
