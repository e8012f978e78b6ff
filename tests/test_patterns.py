"""Fast variant of the pattern experiments (MODEL.md section 9, patterns 1-7).

The comparisons are those of ``experiments/patterns.py`` (declared once in
:data:`ics_sim.analysis.patterns.COMPARISONS`), run on fewer common seeds. Each comparison's direction is
asserted with a one-sided exact sign test on the paired differences (a test that fails when too
many seeds go the other way), and the median difference must lie on the expected side. The full
experiment (30+ seeds, intervals of the median, figures) is ``python experiments/patterns.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from ics_sim.analysis import patterns
from ics_sim.analysis.patterns import COMPARISONS, PATTERNS

FAST_SEEDS = 12
ALPHA = 0.05


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> patterns.PatternResult:
    return patterns.run_patterns(FAST_SEEDS, tmp_path_factory.mktemp("patterns"), workers=2, progress=False)


def test_every_pattern_one_to_seven_has_comparisons():
    assert {c.pattern for c in COMPARISONS} == set(PATTERNS) == set(range(1, 8))
    assert len({c.id for c in COMPARISONS}) == len(COMPARISONS)
    for c in COMPARISONS:
        assert c.sign in (-1, 1)
        assert (c.metric_b is not None) == (dict(c.a) == dict(c.b)), f"{c.id}: a within-run comparison needs two measures"


#: comparisons that no longer hold, with the reason (docs/ODD.md sections 1.3 and 10; README table);
#: expected failures, strict: if one holds again the suite says so
NOT_HOLDING: dict[str, str] = {
    "3e": "with the Better Care Fund share of council money pooled (15%, not all of it) the pot becomes a second "
    "funder of social care and prevention beside the council's own money, so pooling adds overlap (issue 10)",
    "5a": "the same: a joint committee's partial pool overlaps the council's own spending (issue 10)",
    "5c": "with 15% of council money in the pot the council has little of its own money at stake in the vote, so a "
    "joint committee is no longer slower in its first year (stake aversion, 7.10; issue 10)",
}
#: comparisons whose effect is too small for the fast sign test (10 of 12 seeds needed), with the
#: measured reason; the full experiment's verdict for them is in the README table
MARGINAL = {
    "3c": "holds at 30 seeds (median -0.00092, interval -0.00123 to -0.00038, 80% of seeds; 2026-12-02) "
          "but only 9 of the 12 fast seeds go the expected way; on main before issue 11 it was 10 of 12",
}


def _marked(c):
    if c.id in NOT_HOLDING:
        return pytest.param(c, marks=pytest.mark.xfail(reason=NOT_HOLDING[c.id], strict=True), id=f"{c.id} {c.claim}")
    if c.id in MARGINAL:
        return pytest.param(c, marks=pytest.mark.xfail(reason=MARGINAL[c.id], strict=False), id=f"{c.id} {c.claim}")
    return pytest.param(c, id=f"{c.id} {c.claim}")


@pytest.mark.slow  # the fixture runs every comparison on 12 seeds (about a minute on 2 cores)
@pytest.mark.parametrize("comp", [_marked(c) for c in COMPARISONS])
def test_pattern_direction(result, comp):
    d = result.diffs.loc[result.diffs["id"] == comp.id, "diff"].to_numpy(dtype=float)
    assert d.size == FAST_SEEDS and np.isfinite(d).all(), f"{comp.id}: {d}"
    p = patterns.sign_test(d, comp.sign)
    assert np.sign(np.median(d)) == comp.sign and p < ALPHA, (
        f"{comp.id} {comp.claim}: expected A - B {'>' if comp.sign > 0 else '<'} 0; "
        f"median {np.median(d):.4g}, sign test p = {p:.3g}, paired differences {np.round(d, 4)}"
    )


@pytest.mark.slow
def test_outputs_are_written(result, tmp_path):
    files = patterns.write_outputs(result, tmp_path, figures=True)
    assert {f"pattern{p}.png" for p in range(1, 8)} <= set(files)
    table = (tmp_path / "patterns.md").read_text()
    assert all(f"| {c.id} |" in table for c in COMPARISONS)
    manifest = (tmp_path / "manifest.json").read_text()
    assert "ics_sim_version" in manifest and str(result.seeds[-1]) in manifest
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_median_interval_is_distribution_free_and_can_fail():
    lo, hi, cov = patterns.median_interval(np.arange(1, 31, dtype=float))
    assert (lo, hi) == (11.0, 20.0) and cov >= 0.9  # n = 30: the 11th and 20th order statistics
    rng = np.random.default_rng(1)
    centred = rng.normal(0.0, 1.0, 30)
    lo, hi, _ = patterns.median_interval(centred)
    assert patterns.verdict(lo, hi, +1) == "not shown" and patterns.verdict(lo, hi, -1) == "not shown"
    assert patterns.verdict(*patterns.median_interval(centred + 3.0)[:2], +1) == "holds"
    assert patterns.verdict(*patterns.median_interval(centred + 3.0)[:2], -1) == "reversed"
    assert np.isnan(patterns.median_interval([1.0, 2.0, 3.0])[0])  # too few values for 90%
    assert patterns.sign_test([1, 1, 1, 1, 1, 0], +1) == pytest.approx(1 / 32)
    assert patterns.sign_test([1, 1, 1, 1, 1], -1) == 1.0


def test_the_rule_decides_whose_views_the_amendment_moves_towards():
    """Unit check of the pattern-7 mechanism (ODD 7.10): the setter courts the cheapest winning
    coalition, so a supermajority's decision sits further from the setter than a majority's."""
    from ics_sim.model.governance.decisions import decide, winning_coalition

    rng = np.random.default_rng(7)
    base = rng.uniform(1.0, 2.0, (1, 4, 5))
    spread = np.array([0.0, 0.1, 0.2, 0.35, 0.5, 0.7])  # the setter (0) and members ever further away
    proposals = base * (1.0 + spread[:, None, None] * rng.uniform(-1.0, 1.0, (6, 4, 5)))
    votes = np.ones(6)
    tol = np.full(6, 0.2)  # wide enough that the coalition's mean is accepted by its members
    size = {rule: int(winning_coalition(proposals[0], proposals, votes, 0, rule, np.zeros(6), 0.8).sum())
            for rule in ("majority", "supermajority", "consensus")}
    assert size == {"majority": 4, "supermajority": 5, "consensus": 6}  # > 1/2, >= 0.8 and all of 6 votes
    maj = decide(proposals, votes, 0, "majority", tol, 0.0, 0.8, start=1.0)
    sup = decide(proposals, votes, 0, "supermajority", tol, 0.0, 0.8, start=1.0)
    assert maj.decided and sup.decided
    assert maj.coalition.sum() < sup.coalition.sum()
    np.testing.assert_allclose(sup.plan, proposals[sup.coalition].mean(axis=0))  # a tabled compromise is not withdrawn
    assert sup.power_imbalance < maj.power_imbalance
    cons = decide(proposals, votes, 0, "consensus", np.full(6, 1.0), 0.0, 0.8, start=1.0)
    np.testing.assert_allclose(cons.plan, proposals.mean(axis=0))  # consensus: the whole table's mean
