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


def test_row_sums_keep_negative_zero_and_empty_groups():
    """Row sums laid out in one padded matrix (padding -0.0) give numpy's per-group sums, the sign
    of a zero sum and the sum of an empty group included."""
    members = [np.array([0, 1]), np.array([], dtype=int), np.array([2]), np.array([3, 4, 5])]
    X = np.array([[-0.0, 1.0], [-0.0, -2.0], [-0.0, 3.0], [5.0, -0.0], [1e300, -0.0], [-1e300, -0.0]])
    g = Groups(members, 6)
    assert g._padded is not None  # the padded layout is the one under test
    got = g.sum_rows(X)
    ref = np.array([X[m].sum(axis=0) for m in members])
    assert np.array_equal(got, ref)
    assert np.array_equal(np.signbit(got), np.signbit(ref))


def test_one_wide_group_among_narrow_ones_is_not_padded():
    members = [np.arange(100)] + [np.array([100 + i]) for i in range(10)]
    g = Groups(members, 110)
    assert g._padded is None
    X = np.random.default_rng(1).random((110, 3))
    assert np.array_equal(g.sum_rows(X), np.array([X[m].sum(axis=0) for m in members]))


def test_groups_of_consecutive_items_are_summed_as_slices_bit_for_bit():
    """A few groups, some of them ranges of items (read as slices of ``x``, strided or not) and
    some not, and empty ones: each group's sum is ``x[members].sum()``."""
    rng = np.random.default_rng(11)
    for _ in range(300):
        n_items = int(rng.integers(2, 300))
        n_groups = int(rng.integers(1, min(n_items, 7) + 1))  # eight groups at most, an empty one included
        members = _random_groups(rng, n_items, n_groups, contiguous=bool(rng.integers(0, 2)))
        if rng.integers(0, 2):
            members.append(np.array([], dtype=np.intp))
        g = Groups(members, n_items)
        assert any(isinstance(piece, slice) for piece in g._pieces) == any(
            len(m) and np.array_equal(m, np.arange(m[0], m[0] + len(m))) for m in members)
        step = int(rng.integers(1, 4))
        x = (rng.lognormal(3.0, 2.0, n_items * step) * rng.choice([-1.0, 1.0], n_items * step))[::step]
        assert np.array_equal(g.sum(x), [x[m].sum() for m in members])


@pytest.mark.parametrize("contiguous", [True, False])
def test_sums_of_each_row_equal_the_loop_bit_for_bit(contiguous):
    """Several 1-D arrays stacked (rows x items), summed group by group at once: each row's sums
    are that row's ``Groups.sum``, i.e. ``x[members].sum()`` (few groups and many)."""
    rng = np.random.default_rng(13)
    for _ in range(200):
        n_items = int(rng.integers(2, 2000))
        n_groups = int(rng.integers(1, min(n_items, 20)))
        members = _random_groups(rng, n_items, n_groups, contiguous)
        rows = int(rng.integers(1, 6))
        X = rng.lognormal(3.0, 2.0, (rows, n_items)) * rng.choice([-1.0, 1.0], (rows, n_items))
        g = Groups(members, n_items)
        ref = np.array([[X[r][m].sum() for m in members] for r in range(rows)])
        assert np.array_equal(g.sum_each(X), ref)
        assert np.array_equal(g.sum_each(np.asfortranarray(X)), ref)  # any memory order


def test_row_sums_called_again_read_only_the_new_rows():
    """The padded layout's buffer is kept between calls (per number of columns): each call's sums
    are its own array's, whatever was summed before."""
    rng = np.random.default_rng(17)
    members = [np.array([0, 3, 5]), np.array([1]), np.array([], dtype=int), np.array([2, 4])]
    g = Groups(members, 6)
    assert g._padded is not None
    for _ in range(20):
        X = rng.lognormal(3.0, 2.0, (6, int(rng.integers(2, 5)))) * rng.choice([-1.0, 1.0, -0.0], (6, 1))
        got = g.sum_rows(X)
        ref = np.array([X[m].sum(axis=0) for m in members])
        assert np.array_equal(got, ref) and np.array_equal(np.signbit(got), np.signbit(ref))


def test_one_group_of_consecutive_rows_is_summed_as_a_slice_bit_for_bit():
    rng = np.random.default_rng(19)
    for _ in range(100):
        n_items = int(rng.integers(2, 300))
        a = int(rng.integers(0, n_items - 1))
        b = int(rng.integers(a + 1, n_items + 1))
        g = Groups([np.arange(a, b)], n_items)
        assert g._one_slice == slice(a, b)
        X = rng.lognormal(3.0, 2.0, (n_items, int(rng.integers(2, 7)))) * rng.choice([-1.0, 1.0], (n_items, 1))
        for Y in (X, np.asfortranarray(X)):  # C order read as a slice, any other as before
            assert np.array_equal(g.sum_rows(Y), X[a:b].copy().sum(axis=0)[None])
