"""Fingerprints of whole runs, to check that a speed-up changes no number, not even the last bit.

The regression baseline (``tests/test_regression.py``) compares run summaries within a relative
1e-9, so that it holds across machines. A refactor that is meant to change nothing is held to more
than that: this script hashes, for a set of runs that cover every mechanism's branches, the whole
monthly record (every metric, every month, every system), the ledger's closed years and the run
summary, byte for byte. Save the fingerprints before the change and check them after it, on the
same machine:

    python scripts/fingerprint.py --save results/fingerprints.json     # before
    python scripts/fingerprint.py --check results/fingerprints.json    # after: exit 1 if any moved
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from ics_sim.config import load_config
from ics_sim.model.ics_model import ICSModel
from ics_sim.model.record import summarise

#: name, overrides, seed: the baseline's cases, with the time series, plus the branches they miss
CASES: list[tuple[str, list[str], int]] = [
    ("default", [], 0),
    ("default_seed7", [], 7),
    ("joint_committee_fixed", ["governance=joint_committee", "delegation=fixed", "delegation.share=0.5"], 1),
    ("lead_provider_outcomes", ["governance=lead_provider", "governance.outcome_payment_share=0.5"], 2),
    ("consultative_forum_earned", ["governance=consultative_forum", "delegation=earned_autonomy"], 3),
    ("individual_executive_joint_sro", ["governance=individual_executive", "governance.sro_appointment=joint"], 4),
    ("per_head_central_funding_cut", ["allocation=per_head", "delegation=central", "shocks=funding_cut"], 5),
    ("subsidiarity_winter_sed", ["delegation=subsidiarity", "shocks=winter_pressure", "sed.enabled=true"], 6),
    ("need_hi_workforce", ["allocation=need_weighted_hi", "shocks=workforce_loss", "delegation=fixed", "delegation.share=0.8"], 8),
    ("herefordshire_worcestershire_by_place", ["system=herefordshire_worcestershire", "years=4", "place_settings.herefordshire.governance.form=joint_committee", "place_settings.worcestershire.decision_rule=majority"], 0),
    ("england_2y", ["system=england", "years=2"], 0),
]


def fingerprint(overrides: list[str], seed: int) -> dict[str, str]:
    cfg, _ = load_config(overrides)
    model = ICSModel(cfg, seed=seed, timeseries=True)
    model.run()
    frame = model.recorder.frame()
    parts = {
        "record": hashlib.sha256(frame.to_csv(index=False, float_format="%.17g").encode()).hexdigest(),
        "ledger": hashlib.sha256(json.dumps(model.ledger.rows, sort_keys=True, default=repr).encode()).hexdigest(),
        "summary": hashlib.sha256(json.dumps(summarise(model.recorder), sort_keys=True, default=repr).encode()).hexdigest(),
        "health": hashlib.sha256(np.ascontiguousarray(model.population.hle).tobytes()).hexdigest(),
    }
    model.release()
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write the fingerprints to this JSON file")
    group.add_argument("--check", type=Path, help="compare with fingerprints saved earlier")
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if not args.only or c[0] in args.only]
    current = {name: fingerprint(ov, seed) for name, ov, seed in cases}
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(current, indent=1) + "\n")
        print(f"saved {len(current)} fingerprints to {args.save}")
        return 0
    saved = json.loads(args.check.read_text())
    moved = [f"{name}.{part}" for name in current for part in current[name] if saved.get(name, {}).get(part) != current[name][part]]
    for line in moved:
        print(f"changed: {line}")
    print(f"{len(current) - len({m.split('.')[0] for m in moved})} of {len(current)} runs identical")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
