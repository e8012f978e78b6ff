"""Mechanisms that are not patterns of MODEL.md section 9 move outcomes the way the ODD says.

Paired comparisons on common seeds; each asserts the direction in every seed (a sign test that
could fail). The pattern comparisons (patterns 1-7) are declared once in
:data:`ics_sim.analysis.patterns.COMPARISONS` and tested in ``tests/test_patterns.py``; the full pattern
experiment with 30+ seeds and intervals is ``experiments/patterns.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from ics_sim.config import load_config
from ics_sim.runs.api import run_config

SEEDS = range(4)


def paired(a: dict, b: dict, key: str) -> np.ndarray:
    out = []
    for s in SEEDS:
        ra = run_config(load_config(a)[0], seed=s, keep_model=False, timeseries=False).summary
        rb = run_config(load_config(b)[0], seed=s, keep_model=False, timeseries=False).summary
        out.append(ra[key] - rb[key])
    return np.array(out)


#: partners who do not (yet) trust each other: co-ordination must come from structure. Once trust
#: is high the ICB and the council co-ordinate almost as well without a joint post, and the joint
#: post's lean towards the council's priorities (more overlap with the council's own spending)
#: can outweigh it (docs/ODD.md 7.13)
LOW_TRUST = {"trust.initial": 0.2, "trust.baseline": 0.2, "trust.dialogue": 0.0}

ADVICE_CASES = [
    ("a joint ICB-council SRO co-ordinates council money with the pot where trust is low",
     {"governance": "individual_executive", "governance.sro_appointment": "joint", **LOW_TRUST},
     {"governance": "individual_executive", **LOW_TRUST}, "duplicated_spend_gbp", -1),
    ("bodies that heed a consultative forum more duplicate less",
     {"governance": "consultative_forum", "governance.advice_weight": 0.9},
     {"governance": "consultative_forum", "governance.advice_weight": 0.1}, "duplicated_spend_gbp", -1),
]


@pytest.mark.parametrize("name, a, b, key, sign", ADVICE_CASES, ids=[c[0] for c in ADVICE_CASES])
def test_advice_and_joint_posts_change_coordination(name, a, b, key, sign):
    d = paired(a, b, key)
    assert np.all(np.sign(d) == sign), f"{name}: paired differences {d}"
