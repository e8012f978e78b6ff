"""The leaders' decision report: every file of ``results/reports/<name>/`` from a question's runs.

:func:`write_report` writes ``report.html`` (:mod:`ics_sim.views.report_html`), ``report.xlsx``,
the tidy ``runs.parquet`` / ``runs.csv`` / ``futures.csv`` and, where Chromium is installed,
``report.pdf`` (:mod:`ics_sim.views.report_export`), each atomically.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ics_sim.runs.compare import CompareRuns
from ics_sim.runs.io import atomic_write_text
from ics_sim.views.report_content import Content, content
from ics_sim.views.report_export import write_pdf, write_tidy, write_workbook
from ics_sim.views.report_html import render


def write_report(result: CompareRuns, folder: str | Path, command: str = "", pdf: bool = True,
                 when: dt.datetime | None = None) -> tuple[Content, dict[str, Path | None]]:
    """Write the report's files into ``folder``.

    Args:
        result: the question's runs.
        folder: the report folder (``results/reports/<name>/``).
        command: the command line, for the run record.
        pdf: also print ``report.pdf`` (skipped, with ``None`` in the files, without Chromium).
        when: the report's date (default: now).

    Returns:
        The report's content and file name -> path (``report.pdf`` -> None when not printed).
    """
    folder = Path(folder)
    c = content(result, command=command, when=when)
    files: dict[str, Path | None] = {"report.html": folder / "report.html"}
    atomic_write_text(files["report.html"], render(c))
    files["report.xlsx"] = write_workbook(c, folder / "report.xlsx")
    files.update(write_tidy(c, folder))
    files["report.pdf"] = write_pdf(files["report.html"], folder / "report.pdf") if pdf else None
    return c, files
