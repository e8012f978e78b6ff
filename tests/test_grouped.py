"""Grouped sums equal the per-group loop bit for bit (ics_sim.grouped)."""

import numpy as np
import pytest

from ics_sim.grouped import Groups


def _random_groups(rng, n_items, n_groups, contiguous):
    if contiguous:
        cuts = np.sort(rng.choice(np.arange(1, n_items), size=n_groups - 1, replace=False))
        return np.split(np.arange(n_items), cuts)
    labels = rng.integers(0, n_groups, n_items)
    return [np.flatnonzero(labels == g) for g in range(n_groups)]


@pytest.mark.parametrize("contiguous", [True, False])
def test_sums_equal_the_loop_bit_for_bit(contiguous):
    rng = np.random.default_rng(7)
    for _ in range(200):
        n_items = int(rng.integers(2, 400))
        n_groups = int(rng.integers(1, min(n_items, 40)))
        members = _random_groups(rng, n_items, n_groups, contiguous)
        x = rng.lognormal(3.0, 2.0, n_items) * rng.choice([-1.0, 1.0], n_items)
        X = rng.lognormal(3.0, 2.0, (n_items, int(rng.integers(1, 7))))
        g = Groups(members, n_items)
        assert np.array_equal(g.sum(x), [x[m].sum() for m in members])
        assert np.array_equal(g.sum_rows(X), np.array([X[m].sum(axis=0) for m in members]))
        means = np.array([x[m].mean() if len(m) else np.nan for m in members])
        assert np.array_equal(g.mean(x), means, equal_nan=True)


def test_reduceat_would_not_be_bit_for_bit():
    """Why the module exists: a reordered sum changes the last bits (so this test could fail if
    numpy changed its summation order, and the module would then be unnecessary, not wrong)."""
    rng = np.random.default_rng(3)
    x = rng.random(1000)
    starts = np.arange(0, 1000, 37)
    ends = np.r_[starts[1:], 1000]
    loop = np.array([x[s:e].sum() for s, e in zip(starts, ends, strict=True)])
    assert not np.array_equal(np.add.reduceat(x, starts), loop)
    g = Groups([np.arange(s, e) for s, e in zip(starts, ends, strict=True)])
    assert np.array_equal(g.sum(x), loop)


def test_membership_and_empty_groups():
    g = Groups([np.array([2, 0]), np.array([], dtype=int), np.array([1])], n_items=4)
    assert g.of.tolist() == [0, 2, 0, -1]
    assert g.size.tolist() == [2, 0, 1]
    assert g.sum(np.array([1.0, 2.0, 4.0, 8.0])).tolist() == [5.0, 0.0, 2.0]
    assert g.sum_rows(np.ones((4, 2))).tolist() == [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]]
