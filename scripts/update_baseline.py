"""Regenerate the regression baseline: stored summaries of fixed-seed runs that the tests compare
against (``tests/test_regression.py``).

Any change to the model's behaviour changes these numbers. That is allowed, but it must be a
visible, reviewed change: run this script, read the diff of ``tests/baseline/summaries.json``
(``git diff``), say in the commit message why the numbers moved, and record mechanism changes in
``docs/ODD.md`` section 10.

    python scripts/update_baseline.py           # rewrite the baseline
    python scripts/update_baseline.py --check   # exit 1 and list the changes if it is out of date
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ics_sim.config import load_config
from ics_sim.runs.api import run_config
from ics_sim.runs.io import atomic_write_text

BASELINE = Path(__file__).resolve().parents[1] / "tests" / "baseline" / "summaries.json"

#: the runs the baseline holds: a name, the overrides and the seed. They cover the default, every
#: governance form's distinctive path (pooling, lead provider, advisory forum), two delegation
#: rules, a shock and a real system, and stay cheap (about 10 s in all).
CASES: list[tuple[str, dict, int]] = [
    ("default", {}, 0),
    ("default_seed7", {}, 7),
    ("joint_committee_fixed", {"governance": "joint_committee", "delegation": "fixed", "delegation.share": 0.5}, 1),
    ("lead_provider_outcomes", {"governance": "lead_provider", "governance.outcome_payment_share": 0.5}, 2),
    ("consultative_forum_earned", {"governance": "consultative_forum", "delegation": "earned_autonomy"}, 3),
    ("individual_executive_joint_sro", {"governance": "individual_executive", "governance.sro_appointment": "joint"}, 4),
    ("per_head_central_funding_cut", {"allocation": "per_head", "delegation": "central", "shocks": "funding_cut"}, 5),
    ("herefordshire_worcestershire", {"system": "herefordshire_worcestershire", "years": 3}, 0),
]

#: relative tolerance: same code and seed give bit-identical numbers on one machine; across
#: machines and library builds the last few bits of floating-point sums may differ
RTOL = 1e-9


def compute() -> dict[str, dict[str, float]]:
    """Summaries of every baseline case (numbers only; version and config hash left out so that a
    release or a documentation change of the config does not count as a change of behaviour)."""
    out: dict[str, dict[str, float]] = {}
    for name, overrides, seed in CASES:
        summary = run_config(load_config(overrides)[0], seed=seed, keep_model=False, timeseries=False).summary
        out[name] = {k: float(v) for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "seed"}
    return out


def differences(stored: dict, current: dict, rtol: float = RTOL) -> list[str]:
    """Human-readable lines for every case and metric that differs beyond ``rtol``."""
    lines = []
    for name in sorted(set(stored) | set(current)):
        a, b = stored.get(name), current.get(name)
        if a is None or b is None:
            lines.append(f"{name}: {'new case' if a is None else 'case removed'}")
            continue
        for key in sorted(set(a) | set(b)):
            x, y = a.get(key), b.get(key)
            if x is None or y is None:
                lines.append(f"{name}.{key}: {'new metric' if x is None else 'metric removed'}")
            elif not (math.isclose(x, y, rel_tol=rtol, abs_tol=1e-12) or (math.isnan(x) and math.isnan(y))):
                lines.append(f"{name}.{key}: baseline {x:.10g}, now {y:.10g}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of rewriting")
    args = parser.parse_args(argv)
    current = compute()
    if args.check:
        stored = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
        lines = differences(stored, current)
        print("\n".join(lines) if lines else "baseline is up to date")
        return 1 if lines else 0
    atomic_write_text(BASELINE, json.dumps(current, indent=1, sort_keys=True) + "\n")
    print(f"wrote {BASELINE} ({len(current)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
