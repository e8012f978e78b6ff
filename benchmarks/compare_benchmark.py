"""Benchmark of the leaders' report: the Herefordshire and Worcestershire question from scratch.

    python benchmarks/compare_benchmark.py                       # 2 options x 100 futures x 10 years, 2 workers
    python benchmarks/compare_benchmark.py --futures 20 --years 3

Runs ``configs/questions/herefordshire_worcestershire.yaml`` (committees against joint committees
with a pooled budget at both places) into a fresh folder ``results/benchmarks/compare/<time>/``,
writes the whole report (HTML, workbook, tidy runs, PDF where Chromium is installed) and prints
the wall time of the runs, of the report and in all, against the issue's target of 5 minutes on
2 cores. Where Python Playwright and Chromium are installed it then opens the report in headless
Chromium and prints whether every figure rendered, with no console error and no network request.
Asserts nothing; the slow test ``tests/test_compare_report.py::test_full_question_benchmark`` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

TARGET_S = 300.0


def browser_check(html: Path, screenshot: Path | None = None) -> dict:
    """Open the report in headless Chromium: figures rendered, console errors, outside requests."""
    from playwright.sync_api import sync_playwright

    from ics_sim.views.report_export import chromium

    errors, outside = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
        page.goto(html.resolve().as_uri())
        page.wait_for_load_state("load")
        widths = page.evaluate("Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0)")
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
        browser.close()
    return {"figures": len(widths), "rendered": sum(w > 0 for w in widths), "console_errors": errors, "requests": outside}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--futures", type=int, default=100)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from ics_sim.runs.compare import load_question, run_question
    from ics_sim.views.report import write_report

    q = load_question("herefordshire_worcestershire").with_changes(futures=args.futures, years=args.years)
    out = Path("results/benchmarks/compare") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    print(f"{len(q.ids)} options x {q.futures} futures x {q.years} years, {args.workers} workers "
          f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}) -> {out}")
    t0 = time.perf_counter()
    result = run_question(q, out, workers=args.workers, progress=True)
    t_runs = time.perf_counter() - t0
    t1 = time.perf_counter()
    c, files = write_report(result, out, command="python " + " ".join(sys.argv))
    t_report = time.perf_counter() - t1
    total = time.perf_counter() - t0
    import pandas as pd

    cpu = sum(pd.read_parquet(f, columns=["cpu_s"])["cpu_s"].sum() for f in (out / "runs").glob("*/*/chunk-*.parquet"))
    print(f"runs: {len(result.runs)} in {t_runs:.0f} s ({len(result.runs) / t_runs:.2f} runs/s); the runs' own CPU time "
          f"{cpu:.0f} s, i.e. about {cpu / args.workers:.0f} s of wall time on {args.workers} otherwise idle cores")
    print(f"report (HTML, xlsx, tidy runs, PDF {'printed' if files['report.pdf'] else 'skipped: no Chromium'}): {t_report:.0f} s")
    print(f"total: {total:.0f} s = {total / 60:.1f} min (target {TARGET_S / 60:.0f} min): "
          f"{'within' if total <= TARGET_S else 'OVER'} target")
    for oid in q.ids[1:]:
        print(c.summary[oid])
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("browser check skipped: pip install playwright")
        return 0
    check = browser_check(files["report.html"], out / "report.png")
    ok = check["figures"] == check["rendered"] > 0 and not check["console_errors"] and not check["requests"]
    print(f"browser: {check['rendered']} of {check['figures']} figures rendered, {len(check['console_errors'])} console "
          f"errors, {len(check['requests'])} outside requests: {'pass' if ok else 'FAIL'}; screenshot {out / 'report.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
