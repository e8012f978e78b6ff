"""Where conclusions flip: uncertain parameters, Latin hypercube futures and scenario discovery
(issue 11, item 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ics_sim.analysis import robustness as rob
from ics_sim.config import load_config
from ics_sim.config.overrides import resolve_key, unused_keys
from ics_sim.config.schema import Config, uncertain_parameters


def test_uncertain_parameters_are_declared_once_in_the_schema_inside_their_allowed_ranges():
    params = uncertain_parameters()
    assert {"finance.pooled_council_share", "trust.initial", "observation.error_system"} <= set(params)
    default = Config()
    for key, p in params.items():
        section, _, name = key.rpartition(".")
        obj = default
        for part in section.split("."):
            obj = getattr(obj, part)
        assert p["low"] < p["high"] and p["label"]
        assert p["low"] <= getattr(obj, name) <= p["high"], key  # the default is one of the futures
        lo, hi = resolve_key(key).meta["range"]  # both ends are valid values of the field
        assert lo <= p["low"] and p["high"] <= hi, key


def test_each_scenario_of_a_future_takes_only_the_uncertain_parameters_its_options_read():
    drawn = {k: p["low"] for k, p in uncertain_parameters().items()}
    assert "finance.pooled_council_share" in unused_keys({**drawn, "governance": "committee"})
    assert "finance.pooled_council_share" not in unused_keys({**drawn, "governance": "joint_committee"})
    kept = {k: v for k, v in drawn.items() if k not in unused_keys({**drawn, "governance": "committee"})}
    load_config({**kept, "governance": "committee"})  # what the design gives a committee loads


def test_a_latin_hypercube_stratifies_every_parameter():
    n = 20
    fut = rob.sample_futures(n, seed=3)
    params = uncertain_parameters()
    for key, p in params.items():
        x = fut[key].to_numpy()
        assert x.min() >= p["low"] and x.max() <= p["high"]
        if p["integer"]:
            assert np.all(x == np.round(x))
            assert set(x) == set(range(int(p["low"]), int(p["high"]) + 1))
        else:  # one point in each of the n equal slices of the range
            slices = np.floor((x - p["low"]) / (p["high"] - p["low"]) * n)
            assert sorted(slices.astype(int)) == list(range(n))


def test_scenario_discovery_finds_a_planted_threshold_and_says_so_in_words():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"finance.pooled_council_share": rng.uniform(0.3, 1.0, 60), "trust.initial": rng.uniform(0.15, 0.6, 60)})
    reversed_ = X["finance.pooled_council_share"].to_numpy() < 0.5
    cond = rob.discover(X, reversed_)
    assert cond is not None and cond.density == 1.0 and cond.coverage == 1.0
    (param, side, thr), = cond.bounds
    assert param == "finance.pooled_council_share" and side == "<=" and thr == pytest.approx(0.5, abs=0.05)
    comp = rob.HEADLINE[0]
    text = rob.sentence(comp, "duplicated_spend_gbp", 1 - reversed_.mean(), cond, 60)
    assert text.startswith("The joint committee cuts duplicated spending compared with the committee in")
    assert "unless the share of council money pooled is below 0.5" in text


def test_no_condition_is_claimed_for_scattered_reversals():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"trust.initial": rng.uniform(0.15, 0.6, 60), "trust.dialogue": rng.uniform(0.1, 0.9, 60)})
    scattered = rng.random(60) < 0.15
    cond = rob.discover(X, scattered)
    assert cond is None
    assert "no condition found" in rob.sentence(rob.HEADLINE[1], "hle_sii", 1 - scattered.mean(), cond, 60)


def test_a_small_robustness_run_writes_its_table(tmp_path):
    comps = rob.HEADLINE[:1]
    r = rob.run_robustness(3, 1, tmp_path / "runs", comparisons=comps, workers=1, progress=False, base_overrides={"years": 1})
    assert len(r.runs) == 3 * 2
    assert set(r.table["outcome"]) == set(rob.OUTCOMES)
    assert r.table["share_a_beats_b"].between(0, 1).all()
    files = rob.write_outputs(r, tmp_path / "out")
    assert {"robustness.md", "robustness.png", "futures.csv"} <= set(files)
    assert "joint committee" in (tmp_path / "out" / "robustness.md").read_text()


def test_a_parameter_bounded_on_both_sides_reads_as_between():
    text = rob.describe([("observation.error_system", ">", 0.34), ("observation.error_system", "<=", 0.41),
                         ("decision.preparation_months", ">", 0.5)])
    assert text == ("the error of the ICB's system-level view of need is between 0.34 and 0.41 and "
                    "the time to prepare the year's plan (months) is at least 1")
