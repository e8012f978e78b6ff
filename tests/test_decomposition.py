"""The decomposition of a governance bundle's difference into its factors (issue 11, item 7)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ics_sim.analysis import decomposition as dec


def test_shapley_values_split_a_game_exactly_and_share_interactions_evenly():
    factors = ("a", "b", "c")

    def v(s):  # additive effects 1, 2, 0 and an a-b interaction worth 4
        return 1.0 * ("a" in s) + 2.0 * ("b" in s) + 4.0 * ("a" in s and "b" in s)

    values = {frozenset(s): v(s) for k in range(4) for s in itertools.combinations(factors, k)}
    phi = dec.shapley(values, factors)
    assert phi == pytest.approx({"a": 3.0, "b": 4.0, "c": 0.0})
    assert sum(phi.values()) == pytest.approx(values[frozenset(factors)] - values[frozenset()])


def test_the_old_joint_committee_preset_differs_from_the_committee_in_four_factors():
    a, b = dec.BUNDLES["joint_committee"], dec.BUNDLES["committee"]
    assert dec.differing_factors(a, b) == ("form", "membership", "decision_rule", "pooling")
    cells = dec.cells(a, b)
    assert len(cells) == 16
    full = next(o for s, o in cells if len(s) == 4)
    assert full["membership.vcse"] is False and full["governance.pooled"] is True and full["decision_rule"] == "consensus"


def test_a_small_decomposition_runs_and_its_parts_add_up(tmp_path):
    r = dec.run_decomposition(["lead_provider"], seeds=2, out_dir=tmp_path / "runs", workers=1, progress=False,
                              base_overrides={"years": 1})
    c = r.contributions
    for (_, _, _), g in c.groupby(["comparison", "outcome", "seed"]):
        total = g.loc[g["factor"] == "total", "value"].iloc[0]
        assert g.loc[g["factor"] != "total", "value"].sum() == pytest.approx(total, abs=1e-9)
    assert set(c["factor"]) == {"total", "form", "membership", "decision_rule", "cadence"}
    files = dec.write_outputs(r, tmp_path / "out", figure=True)
    assert {"decomposition.md", "decomposition.png", "cells.csv"} <= set(files)
    md = (tmp_path / "out" / "decomposition.md").read_text()
    assert "lead provider" in md and "same" in md  # pooling does not differ
    assert np.isfinite(r.table["mean"]).all()
