"""Futures: draws of the parameters nobody knows well, shared by every option compared.

A *future* is one draw of the uncertain parameters (declared once, with their ranges, in
:func:`ics_sim.config.schema.uncertain_parameters`) together with a seed. Options compared in the
same future differ only by the option, so their difference can be taken future by future. The
draws are a Latin hypercube (McKay, Beckman and Conover 1979;
:class:`scipy.stats.qmc.LatinHypercube`): every part of each range is sampled, even with few
futures. The robustness analysis (:mod:`ics_sim.analysis.robustness`) and the leaders' report
(:mod:`ics_sim.runs.compare`) both draw here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ics_sim.config.schema import uncertain_parameters


def sample_futures(n: int, seed: int = 0, params: Mapping[str, Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """``n`` futures: a Latin hypercube over the uncertain parameters' ranges (whole-number
    parameters take each whole value in their range equally often).

    Args:
        n: the number of futures.
        seed: the seed of the hypercube (the same seed draws the same futures).
        params: key -> ``{"low", "high", "integer"}`` (default: every declared uncertain
            parameter with its declared range).

    Returns:
        One row per future (index ``future``, 0-based), one column per parameter.
    """
    from scipy.stats import qmc

    params = dict(uncertain_parameters() if params is None else params)
    keys = list(params)
    if not keys:
        return pd.DataFrame(index=pd.RangeIndex(n, name="future"))
    u = qmc.LatinHypercube(d=len(keys), rng=np.random.default_rng(seed)).random(n)
    cols = {}
    for j, k in enumerate(keys):
        p = params[k]
        if p["integer"]:
            lo, hi = int(p["low"]), int(p["high"])
            cols[k] = np.minimum(lo + np.floor(u[:, j] * (hi - lo + 1)), hi).astype(int)
        else:
            cols[k] = p["low"] + u[:, j] * (p["high"] - p["low"])
    df = pd.DataFrame(cols)
    df.index.name = "future"
    return df
