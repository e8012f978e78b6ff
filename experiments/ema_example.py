"""Drive ics_sim from EMA Workbench (or any optimiser) through ``ics_sim.evaluate``.

``ics_sim.evaluate(**params) -> dict[str, float]`` takes flat keyword parameters and returns the
run's scalar outcomes, which is exactly what EMA Workbench's ``Model(function=...)`` expects.

    pip install ema-workbench==2.5.3          # or: pip install -e '.[ema]'
    python experiments/ema_example.py --scenarios 8 --years 3

Uncertainties are two behavioural assumptions; the levers are the governance form and the share of
NHS budgets delegated to places; the outcomes are inequality (HLE slope index), unmet need and
decision delay. Without EMA Workbench the script falls back to a plain random search over the same
space with :func:`ics_sim.evaluate`. Results go to ``results/ema/``.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import pandas as pd

import ics_sim
from ics_sim.runs.io import atomic_write_csv

GOVERNANCE = ["committee", "joint_committee", "lead_provider"]
UNCERTAIN = {"trust_initial": (0.15, 0.6), "decision_tolerance": (0.02, 0.12)}
SHARE = (0.1, 0.8)
OUTCOMES = ["hle_sii", "unmet_need", "decision_delay_months"]


def ics_model(years: int, seeds: int):
    """The function EMA calls: flat keywords in, selected outcomes out (fixed delegation rule)."""

    def model(**kw: float | str) -> dict[str, float]:
        out = ics_sim.evaluate(delegation="fixed", years=years, replicates=seeds, **kw)
        return {k: out[k] for k in OUTCOMES}

    return model


def with_ema(args: argparse.Namespace) -> pd.DataFrame:
    from ema_workbench import (
        CategoricalParameter,
        Model,
        RealParameter,
        ScalarOutcome,
        SequentialEvaluator,
        perform_experiments,
    )

    model = Model("icssim", function=ics_model(args.years, args.seeds))
    model.uncertainties = [RealParameter(n, lo, hi) for n, (lo, hi) in UNCERTAIN.items()]
    model.levers = [CategoricalParameter("governance", GOVERNANCE), RealParameter("delegation_share", *SHARE)]
    model.outcomes = [ScalarOutcome(o) for o in OUTCOMES]
    with SequentialEvaluator(model) as evaluator:  # MultiprocessingEvaluator(model) for all cores
        experiments, outcomes = perform_experiments(
            model, scenarios=args.scenarios, policies=args.policies, evaluator=evaluator
        )
    table = experiments[[*UNCERTAIN, "governance", "delegation_share"]].copy()
    for o in OUTCOMES:
        table[o] = outcomes[o]
    return table


def random_search(args: argparse.Namespace) -> pd.DataFrame:
    rng = random.Random(args.seed)
    model = ics_model(args.years, args.seeds)
    rows = []
    for _ in range(args.scenarios * args.policies):
        params = {n: rng.uniform(lo, hi) for n, (lo, hi) in UNCERTAIN.items()}
        params |= {"governance": rng.choice(GOVERNANCE), "delegation_share": rng.uniform(*SHARE)}
        rows.append(params | model(**params))
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", type=int, default=8, help="samples of the uncertainties")
    ap.add_argument("--policies", type=int, default=3, help="samples of the levers")
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=1, help="replicates averaged per experiment")
    ap.add_argument("--seed", type=int, default=0, help="seed of the fallback random search")
    ap.add_argument("--no-ema", action="store_true", help="use the random-search fallback")
    ap.add_argument("--out", type=Path, default=Path("results/ema"))
    args = ap.parse_args(argv)

    try:
        if args.no_ema:
            raise ImportError
        table, how = with_ema(args), "EMA Workbench"
    except ImportError:
        table, how = random_search(args), "random search (EMA Workbench not installed)"
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"experiments-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    atomic_write_csv(table, path)
    print(f"{len(table)} experiments by {how} -> {path}")
    print(table.groupby("governance", observed=True)[OUTCOMES].median().round(3).to_string())
    best = table.sort_values("hle_sii").iloc[0]
    print(f"lowest inequality (HLE SII {best['hle_sii']:.2f} years): governance={best['governance']}, "
          f"delegation_share={best['delegation_share']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
