#!/usr/bin/env python
"""Generate the data dictionary table of ``docs/OUTPUTS.md`` from the code.

The table between ``<!-- metrics -->`` and ``<!-- /metrics -->`` lists every measure of
:data:`ics_sim.model.record.METRICS` with its unit, the levels it is recorded at, which way is
better and, for the summary measures, how ``summary.json`` reduces the monthly series; the text
around it is written by hand.

Usage::

    python scripts/outputs_doc.py            # rewrite docs/OUTPUTS.md in place
    python scripts/outputs_doc.py --check    # exit 1 if docs/OUTPUTS.md is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ics_sim.model.record import DIRECTIONS, EXTRA_SUMMARY, METRICS, SUMMARY_KEYS  # noqa: E402
from ics_sim.runs.io import atomic_write_text  # noqa: E402

OUTPUTS_PATH = REPO / "docs" / "OUTPUTS.md"
MARKER = re.compile(r"<!-- metrics -->\n.*?<!-- /metrics -->", re.S)
LEVEL_SHORT = {"neighbourhood": "neighbourhood", "place": "place", "system": "system", "pair": "pair of members"}
REDUCTION = {"last": "value at the horizon", "mean12": "mean of the last 12 months", "run_mean": "mean over the run"}


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    """The metrics table as Markdown (one row per measure, in :data:`METRICS` order)."""
    reductions = {**SUMMARY_KEYS, **EXTRA_SUMMARY}
    lines = [
        "| metric | unit (`measure_unit`) | levels | direction | in `summary.json` | description |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in METRICS.items():
        summary = REDUCTION.get(reductions[name], reductions[name]) if name in reductions else "-"
        levels = ", ".join(LEVEL_SHORT[level] for level in m.levels) or "run (summary only)"
        lines.append(
            f"| `{name}` | {_escape(m.unit)} | {levels} | {DIRECTIONS[m.direction]} | {summary} | {_escape(m.description)} |"
        )
    return "\n".join(lines) + "\n"


def update(text: str) -> str:
    """``text`` with the generated table replaced.

    Raises:
        ValueError: the document has no ``<!-- metrics -->`` block.
    """
    if not MARKER.search(text):
        raise ValueError("docs/OUTPUTS.md has no <!-- metrics --> ... <!-- /metrics --> block")
    return MARKER.sub(lambda _: f"<!-- metrics -->\n{render()}<!-- /metrics -->", text)


def check(path: Path = OUTPUTS_PATH) -> bool:
    """Whether ``path`` is up to date with :data:`METRICS`."""
    text = path.read_text(encoding="utf-8")
    return update(text) == text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/OUTPUTS.md is out of date")
    parser.add_argument("--path", type=Path, default=OUTPUTS_PATH, help="the data dictionary (default docs/OUTPUTS.md)")
    args = parser.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    try:
        new = update(text)
    except ValueError as exc:
        print(f"outputs_doc: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(f"outputs_doc: {args.path} is out of date; run python scripts/outputs_doc.py", file=sys.stderr)
            return 1
        print(f"outputs_doc: {args.path} is up to date")
        return 0
    if new != text:
        atomic_write_text(args.path, new)
        print(f"outputs_doc: rewrote the metrics table of {args.path}")
    else:
        print(f"outputs_doc: {args.path} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
