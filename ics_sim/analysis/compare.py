"""What a leaders' question's runs say: levels, paired differences, chance better, what flips it.

Every option ran in the same futures (:mod:`ics_sim.runs.compare`), so each option is compared
with the baseline future by future: the **paired difference** (option - baseline, in the
measure's own unit), whether the option is **better** in that future (by the measure's direction;
a tie is not better), and over the futures the median and 10-90% range of the difference and the
**chance the option is better** (the share of futures). Where the verdict is not unanimous,
**scenario discovery** (:func:`ics_sim.analysis.robustness.discover`, a shallow decision tree on
the drawn parameters; Bryant and Lempert 2010) looks for the conditions under which the minority
verdict holds: the conditions under which the ranking flips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ics_sim.analysis.robustness import Condition, describe, discover
from ics_sim.model.record import METRICS
from ics_sim.runs.compare import CompareRuns

QUANTILES = (0.1, 0.5, 0.9)


def sign_of_better(metric: str) -> int:
    """+1 if a higher value of ``metric`` is better, -1 if lower is."""
    how = METRICS[metric].direction
    if how not in ("higher", "lower"):
        raise ValueError(f"{metric} has no better direction ({how})")
    return 1 if how == "higher" else -1


def levels(result: CompareRuns) -> pd.DataFrame:
    """Per option and outcome: median, 10% and 90% over the futures, and the number of futures."""
    rows = []
    for oid in result.question.ids:
        r = result.runs[result.runs["option"] == oid]
        for m in result.question.outcomes:
            v = r[m].dropna().to_numpy(dtype=float)
            q10, q50, q90 = np.quantile(v, QUANTILES) if len(v) else (np.nan,) * 3
            rows.append({"option": oid, "metric": m, "n": len(v), "median": q50, "q10": q10, "q90": q90})
    return pd.DataFrame(rows)


def paired(result: CompareRuns) -> pd.DataFrame:
    """Per option other than the baseline, outcome and future: the option's value, the baseline's
    in the same future, the difference (option - baseline) and whether the option is better."""
    q = result.question
    runs = result.runs.set_index(["option", "future"])
    base = runs.loc[q.baseline]
    rows = []
    for oid in q.ids[1:]:
        opt = runs.loc[oid]
        common = opt.index.intersection(base.index)
        for m in q.outcomes:
            a = opt.loc[common, m].to_numpy(dtype=float)
            b = base.loc[common, m].to_numpy(dtype=float)
            d = a - b
            rows.append(pd.DataFrame({"option": oid, "baseline": q.baseline, "metric": m, "future": common.to_numpy(),
                                      "value": a, "baseline_value": b, "difference": d,
                                      "better": sign_of_better(m) * d > 0}))
    cols = ["option", "baseline", "metric", "future", "value", "baseline_value", "difference", "better"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


@dataclass
class Flip:
    """Where an option's verdict against the baseline on one outcome reverses.

    Attributes:
        option, metric: the comparison.
        majority_better: whether the option is better in most futures.
        condition: the box of futures where the minority verdict is concentrated, or None.
        words: the condition in plain words ("" when none was found).
    """

    option: str
    metric: str
    majority_better: bool
    condition: Condition | None
    words: str


def differences(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per option and outcome: the number of futures, the median and 10-90% range of the paired
    difference and the chance the option is better (share of futures)."""
    rows = []
    for (oid, m), g in pairs.groupby(["option", "metric"], sort=False):
        d = g["difference"].dropna().to_numpy(dtype=float)
        q10, q50, q90 = np.quantile(d, QUANTILES)
        rows.append({"option": oid, "baseline": g["baseline"].iloc[0], "metric": m, "n": len(d), "median": q50,
                     "q10": q10, "q90": q90, "mean": float(d.mean()), "chance_better": float(g["better"].mean())})
    return pd.DataFrame(rows)


def flips(result: CompareRuns, pairs: pd.DataFrame, max_depth: int = 2) -> dict[tuple[str, str], Flip]:
    """Per option and outcome: the conditions under which the verdict against the baseline flips,
    found by scenario discovery on the drawn parameters (None when unanimous or no box is found)."""
    q = result.question
    X = result.futures[list(q.uncertain)]
    out = {}
    for (oid, m), g in pairs.groupby(["option", "metric"], sort=False):
        g = g.set_index("future").sort_index()
        better = g["better"].to_numpy(dtype=bool)
        majority = bool(better.mean() >= 0.5)
        minority = ~better if majority else better
        cond = discover(X.loc[g.index], minority, max_depth=max_depth) if len(X.columns) else None
        out[(oid, m)] = Flip(oid, m, majority, cond, describe(cond.bounds, q.uncertain) if cond else "")
    return out
