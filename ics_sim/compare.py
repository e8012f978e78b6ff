"""``python -m ics_sim.compare``: the leaders' decision report for a governance question.

::

    python -m ics_sim.compare configs/questions/herefordshire_worcestershire.yaml
    python -m ics_sim.compare herefordshire_worcestershire --futures 20 --years 5 --workers 2
    python -m ics_sim.compare --system herefordshire_worcestershire --options committee,joint_committee

Runs every option of the question in the same futures (resumable: the same command again finishes
an interrupted run) and writes ``results/reports/<name>/``: ``report.html`` (one self-contained
file), ``report.xlsx``, the tidy ``runs.parquet`` / ``runs.csv`` and, where Chromium is installed,
``report.pdf``. See ``ics_sim.runs.compare`` for the question file.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ics_sim.config import ConfigError

EPILOG = "Question files: configs/questions/*.yaml (a packaged question may be given by name, e.g. herefordshire_worcestershire)."


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m ics_sim.compare", description="The leaders' decision report: governance options compared on paired futures.", epilog=EPILOG)
    ap.add_argument("question", nargs="?", help="a question file (.yaml) or a packaged question's name")
    ap.add_argument("--system", help="the system: a named system, any ICB by name or code, or synthetic "
                    "(with a question file: replaces its system)")
    ap.add_argument("--options", help="without a file: the options by name, comma-separated (governance forms, "
                    "delegation or allocation rules), the first the baseline, e.g. committee,joint_committee")
    ap.add_argument("--futures", type=int, help="futures (default: the question's; 20 without a file)")
    ap.add_argument("--years", type=int, help="horizon in years (default: the question's; 10 without a file)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--out", type=Path, help="the report folder (default results/reports/<name>)")
    ap.add_argument("--no-pdf", action="store_true", help="do not print report.pdf")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = parser()
    args = ap.parse_args(argv)
    from ics_sim.runs.compare import load_question, quick_question, run_question

    try:
        if args.question and args.options:
            raise ConfigError("give a question file or --options, not both")
        if args.question:
            q = load_question(args.question).with_changes(futures=args.futures, years=args.years, system=args.system)
        elif args.options and args.system:
            q = quick_question(args.system, args.options.split(","), futures=args.futures or 20, years=args.years or 10)
        else:
            raise ConfigError("give a question file, or --system and --options (e.g. --system herefordshire_worcestershire "
                              "--options committee,joint_committee)")
        if args.workers < 1:
            raise ConfigError(f"--workers = {args.workers} is not allowed: 1 or more")
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out or Path("results") / "reports" / q.name
    command = "python -m ics_sim.compare " + shlex.join(argv)
    print(f"{q.title}\n{len(q.ids)} options x {q.futures} futures x {q.years} years -> {out}", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        result = run_question(q, out, workers=args.workers, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished runs are kept in {out}/runs; run the same command again to resume", file=sys.stderr)
        return 130
    except (RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from ics_sim.views.report import write_report

    c, files = write_report(result, out, command=command, pdf=not args.no_pdf)
    for oid in q.ids[1:]:
        print(c.summary[oid])
    print(f"report: {files['report.html']} ({time.perf_counter() - t0:.0f} s, {result.n_new} new runs)")
    if files.get("report.pdf") is None and not args.no_pdf:
        print("note: no Chromium found, so report.pdf was not printed (set ICS_SIM_CHROMIUM or install chromium)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
