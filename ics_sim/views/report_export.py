"""The leaders' report's other files: the workbook, the tidy runs and the PDF.

- :func:`write_workbook`: ``report.xlsx``, a sheet per table (the first screen, one per outcome
  with the unit in the column headers, the paired differences by future, the parameters varied,
  the run record);
- :func:`write_tidy`: ``runs.parquet`` and ``runs.csv`` (every run's summary measures, long:
  option, future, seed, the drawn parameters, metric, unit, whether headlined, value) and
  ``futures.csv``;
- :func:`write_pdf`: ``report.pdf`` printed from the HTML by headless Chromium, when a Chromium
  is installed (None, and nothing written, otherwise).

Every file is written atomically (:mod:`ics_sim.runs.io`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd

from ics_sim.runs.io import atomic_path, atomic_write_csv, atomic_write_parquet
from ics_sim.views.report_content import Content, first_screen
from ics_sim.views.report_text import words

#: where headless Chromium is looked for (``ICS_SIM_CHROMIUM`` first)
CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _sheet(name: str, used: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\, unique."""
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31]
    out, i = base, 2
    while out.lower() in used:
        out = f"{base[:28]}_{i}"
        i += 1
    used.add(out.lower())
    return out


def outcome_table(c: Content, metric: str) -> pd.DataFrame:
    """One outcome's table: per option the median and 10-90% range, the paired difference from
    the baseline and the chance better, with the unit in the column headers."""
    q = c.question
    w = words(metric)
    rows = []
    for oid in q.ids:
        lv = c.levels[(c.levels["option"] == oid) & (c.levels["metric"] == metric)].iloc[0]
        row = {"option": c.name(oid), "baseline": oid == q.baseline, "futures": int(lv["n"]),
               f"median ({w.unit})": lv["median"] * w.scale, f"10% ({w.unit})": lv["q10"] * w.scale,
               f"90% ({w.unit})": lv["q90"] * w.scale}
        if oid == q.baseline:
            row.update({f"difference from baseline, median ({w.diff_unit})": None, f"difference, 10% ({w.diff_unit})": None,
                        f"difference, 90% ({w.diff_unit})": None, "chance better than baseline (share of futures)": None,
                        "verdict": "baseline"})
        else:
            r = c.row(oid, metric)
            row.update({f"difference from baseline, median ({w.diff_unit})": r.median * w.scale,
                        f"difference, 10% ({w.diff_unit})": r.q10 * w.scale, f"difference, 90% ({w.diff_unit})": r.q90 * w.scale,
                        "chance better than baseline (share of futures)": r.chance_better, "verdict": r.verdict})
        rows.append(row)
    return pd.DataFrame(rows)


def write_workbook(c: Content, path: str | Path) -> Path:
    """``report.xlsx``: a sheet per table (see the module docstring)."""
    path = Path(path)
    q = c.question
    used: set[str] = set()
    sheets = {_sheet("answer", used): pd.DataFrame(first_screen(c))}
    for m in q.outcomes:
        sheets[_sheet(words(m).label, used)] = outcome_table(c, m)
    pairs = c.pairs.assign(option=c.pairs["option"].map(c.name), baseline=c.pairs["baseline"].map(c.name),
                           unit=c.pairs["metric"].map(lambda m: words(m).unit),
                           scale=c.pairs["metric"].map(lambda m: words(m).scale))
    for col in ("value", "baseline_value", "difference"):
        pairs[col] = pairs[col] * pairs["scale"]
    sheets[_sheet("paired differences by future", used)] = pairs.drop(columns="scale")
    sheets[_sheet("parameters varied", used)] = pd.DataFrame(
        [{"parameter": p["label"], "key": k, "low": p["low"], "high": p["high"], "default": p["default"], "unit": p["unit"]}
         for k, p in q.uncertain.items()])
    sheets[_sheet("futures", used)] = c.result.futures.reset_index()
    sheets[_sheet("run record", used)] = pd.DataFrame([{"item": k, "value": str(v)} for k, v in c.record.items()])
    with atomic_path(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, df in sheets.items():
            df.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            for i, col in enumerate(df.columns, start=1):
                width = min(60, max(10, len(str(col)) + 2))
                ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = width
    return path


def write_tidy(c: Content, folder: str | Path) -> dict[str, Path]:
    """``runs.parquet``, ``runs.csv`` (long, one row per run and summary measure) and ``futures.csv``."""
    folder = Path(folder)
    tidy = c.result.tidy()
    files = {"runs.parquet": folder / "runs.parquet", "runs.csv": folder / "runs.csv", "futures.csv": folder / "futures.csv"}
    atomic_write_parquet(tidy, files["runs.parquet"])
    atomic_write_csv(tidy, files["runs.csv"])
    atomic_write_csv(c.result.futures.reset_index(), files["futures.csv"])
    return files


def chromium() -> str | None:
    """The headless Chromium to print with: ``$ICS_SIM_CHROMIUM``, else the first on the PATH."""
    env = os.environ.get("ICS_SIM_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    for name in CHROMIUM:
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdf(html_path: str | Path, pdf_path: str | Path, timeout: float = 120.0) -> Path | None:
    """Print the HTML to PDF with headless Chromium (A4, the page's print style sheet).

    Returns:
        The PDF's path, or None when no Chromium is installed.

    Raises:
        RuntimeError: Chromium failed or wrote nothing.
    """
    exe = chromium()
    if exe is None:
        return None
    html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
    with atomic_path(pdf_path) as tmp:
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                "--disable-background-networking", f"--print-to-pdf={tmp}", html_path.as_uri()]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0 or tmp.stat().st_size == 0:
            raise RuntimeError(f"chromium could not print {html_path.name}: {proc.stderr.strip().splitlines()[-1:]}")
    return pdf_path
