"""Each mechanism moves outcomes in the direction MODEL.md section 9 gives, over several seeds.

Paired comparisons on common seeds; each asserts the direction in every seed (a sign test that
could fail). The full pattern experiments with 30+ seeds and intervals are in experiments/.
"""

from __future__ import annotations

import numpy as np
import pytest

from ics_sim.api import run_config
from ics_sim.config import load_config

SEEDS = range(4)
SAME_TABLE = {"membership.vcse": True, "membership.healthwatch": True, "membership.social_care": True}


def paired(a: dict, b: dict, key: str) -> np.ndarray:
    out = []
    for s in SEEDS:
        ra = run_config(load_config(a)[0], seed=s, keep_model=False).summary
        rb = run_config(load_config(b)[0], seed=s, keep_model=False).summary
        out.append(ra[key] - rb[key])
    return np.array(out)


CASES = [
    # (pattern, scenario A, scenario B, metric, expected sign of A - B)
    ("1 inverse care law: per-head allocation under-funds deprived areas",
     {"allocation": "per_head", "delegation": "central"}, {"delegation": "central"}, "inverse_care_sii", +1),
    ("1 inverse care law: absolute inequality widens",
     {"allocation": "per_head", "delegation": "central"}, {"delegation": "central"}, "hle_sii", +1),
    ("2 targeted resource narrows the gap",
     {"allocation": "need_weighted_hi"}, {"allocation": "per_head"}, "hle_sii", -1),
    ("2 gains concentrated in deprived areas",
     {"allocation": "need_weighted_hi"}, {"allocation": "per_head"}, "hle_q1", +1),
    ("3 delegation improves the match of spending to need inside places",
     {"delegation": "fixed", "delegation.share": 0.6}, {"delegation": "central"}, "need_mismatch_within_places", -1),
    ("3 without pooling, delegation raises duplication",
     {"delegation": "fixed", "delegation.share": 0.6}, {"delegation": "central"}, "duplicated_spend_gbp", +1),
    ("3 per-head place budgets raise variation between places",
     {"delegation": "fixed", "delegation.share": 0.6, "allocation": "per_head"},
     {"delegation": "central", "allocation": "per_head"}, "coverage_theil_between_places", +1),
    ("4 VCSE and Healthwatch at the table lower hidden unmet need",
     {}, {"membership.vcse": False, "membership.healthwatch": False}, "unmet_need_hidden", -1),
    ("5 a pooled joint committee cuts duplication",
     {"governance": "joint_committee", **SAME_TABLE}, {"governance": "committee", **SAME_TABLE}, "duplicated_spend_gbp", -1),
    ("5 a pooled joint committee cuts gaps",
     {"governance": "joint_committee", **SAME_TABLE}, {"governance": "committee", **SAME_TABLE}, "unfunded_need", -1),
    ("6 a lead provider decides fast",
     {"governance": "lead_provider", **SAME_TABLE}, {"governance": "committee", **SAME_TABLE}, "decision_delay_months", -1),
    ("6 a lead provider bends spending to its own services",
     {"governance": "lead_provider"}, {"governance": "committee"}, "own_service_bias", +1),
    ("6 unless the contract rewards outcomes",
     {"governance": "lead_provider", "governance.outcome_payment_share": 0.8}, {"governance": "lead_provider"}, "own_service_bias", -1),
]


@pytest.mark.parametrize("name, a, b, key, sign", CASES, ids=[c[0] for c in CASES])
def test_mechanism_direction(name, a, b, key, sign):
    d = paired(a, b, key)
    assert np.all(np.sign(d) == sign), f"{name}: paired differences {d}"


def test_joint_committee_decides_slowly_at_first_and_faster_as_trust_builds():
    early, late = [], []
    for s in SEEDS:
        m = run_config(load_config({"governance": "joint_committee", **SAME_TABLE})[0], seed=s).model
        early.append(np.mean([d for p in m.partnerships for d in p.delays[:2]]))
        late.append(np.mean([d for p in m.partnerships for d in p.delays[-3:]]))
        m.release()
    assert np.mean(early) > np.mean(late)
    assert sum(first > last for first, last in zip(early, late, strict=True)) >= 3


ADVICE_CASES = [
    ("a joint ICB-council SRO co-ordinates council money with the pot",
     {"governance": "individual_executive", "governance.sro_appointment": "joint"},
     {"governance": "individual_executive"}, "duplicated_spend_gbp", -1),
    ("bodies that heed a consultative forum more duplicate less",
     {"governance": "consultative_forum", "governance.advice_weight": 0.9},
     {"governance": "consultative_forum", "governance.advice_weight": 0.1}, "duplicated_spend_gbp", -1),
]


@pytest.mark.parametrize("name, a, b, key, sign", ADVICE_CASES, ids=[c[0] for c in ADVICE_CASES])
def test_advice_and_joint_posts_change_coordination(name, a, b, key, sign):
    d = paired(a, b, key)
    assert np.all(np.sign(d) == sign), f"{name}: paired differences {d}"
