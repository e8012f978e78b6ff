"""Sums over groups (the neighbourhoods of each place, the places of each system) in one pass,
equal bit for bit to summing each group on its own.

Adding the same numbers in a different order can change the last bit of a float sum. numpy sums a
1-D array pairwise (in blocks of 8, then halves), and a stack of rows (``X[idx].sum(axis=0)``) one
row after another; ``np.add.reduceat`` and ``np.bincount`` add in yet other orders. A model that
replaces a loop over places by one of those changes its results by about 1e-16, and with them the
regression baseline, for no reason a reader could see. :class:`Groups` keeps numpy's order:

- the groups are laid end to end, shortest first, so that the groups of one size are one slice,
  viewed as a groups x size matrix;
- :meth:`Groups.sum` sums along the rows of each such matrix (numpy sums each row of a C-ordered
  matrix exactly as it sums that row alone: pairwise, same blocks); :meth:`Groups.sum_each` does
  so for every row of a stack of 1-D arrays;
- :meth:`Groups.sum_rows` adds each group's rows one after another, as ``X[idx].sum(axis=0)``
  does: the groups' rows are laid position by position in one widest-group x (groups x columns)
  matrix, shorter groups padded with -0.0 (``x + -0.0`` is ``x`` for every ``x``), summed down
  its rows in one pass; where the padding would outweigh the rows (one group much wider than the
  rest), each size's groups are summed as a groups x size x columns array. A single column is
  summed as 1-D, pairwise, as numpy sums it.

With eight groups or fewer, or no two groups of one size, each group is summed on its own, which
is quicker there; a group whose items are a range of indices is then read as a slice (no copy:
the pairwise sum of a 1-D slice adds the same numbers in the same order as that of its copy, and
so do the row sums of a slice of a C-ordered matrix, used for a single group).
``ics_sim.model.system_metrics`` lays runs out the same way for stacked arrays and dot products.

``tests/test_grouped.py`` checks both against the per-group loop on random groups and values.
"""

from __future__ import annotations

import numpy as np


class Groups:
    """Fixed groups of item indices, e.g. each place's neighbourhoods.

    Args:
        members: per group, the indices of its items (any order; a group may be empty).
        n_items: how many items there are (default: one more than the largest index).

    Attributes:
        n: the number of groups.
        size: items per group.
        of: per item, its group (-1 for an item in no group); an item in two groups keeps the last.
    """

    def __init__(self, members: list[np.ndarray], n_items: int | None = None):
        members = [np.asarray(m, dtype=np.intp) for m in members]
        self.n = len(members)
        self.size = np.array([len(m) for m in members], dtype=np.intp)
        top = max((int(m.max()) + 1 for m in members if len(m)), default=0)
        self.n_items = top if n_items is None else int(n_items)
        self.of = np.full(self.n_items, -1, dtype=np.intp)
        for g, m in enumerate(members):
            self.of[m] = g
        # the groups laid end to end, shortest first: the groups of one size are one slice of the
        # layout, viewed as a groups x size matrix (or groups x size x columns)
        self._slots = np.argsort(self.size, kind="stable")  # the group at each slot of the layout
        sizes = self.size[self._slots]
        self._items = np.concatenate([members[g] for g in self._slots]) if self.n else np.zeros(0, np.intp)
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        # a few groups, or no two of a size: one group at a time is quicker than the layout; a
        # group of consecutive items is then read as a slice
        self._members = members
        self._by_group = self.n <= 8 or len(np.unique(sizes)) == self.n
        self._pieces = [_as_slice(m) for m in members] if self._by_group else members
        #: the slice of a single group of consecutive items (a system of its own), else None
        self._one_slice = self._pieces[0] if self.n == 1 and type(self._pieces[0]) is slice else None
        self._inverse = np.argsort(self._slots)  # each group's slot
        #: per size present: (first item of the layout, groups, size, the first of their slots)
        self._blocks = [
            (int(starts[first]), int((sizes == k).sum()), int(k), int(first))
            for k, first in zip(*np.unique(sizes, return_index=True), strict=True)
            if k > 0
        ]
        # for sums of rows: every group's items in one groups x widest matrix, padded with -0.0
        # (x + -0.0 is x for every x, -0.0 included), unless the padding would outweigh the items
        width = int(self.size.max()) if self.n else 0
        self._padded = None
        if self.n and width * self.n <= 8 * max(int(self.size.sum()), 1):
            pad_index = np.full((self.n, width), self.n_items, dtype=np.intp)  # the -0.0 row
            for g, m in enumerate(members):
                pad_index[g, : len(m)] = m
            # laid out position by position (the groups' first rows, then their second rows, ...),
            # so that one sum down the positions adds each group's rows one after another
            self._padded = (pad_index.T.ravel(), width, self.size == 0 if (self.size == 0).any() else None)
        self._padding: dict[tuple, np.ndarray] = {}  # per shape of a row: the items' rows and a -0.0 row

    def _per_group(self, x: np.ndarray) -> np.ndarray:
        """Per group, its items of ``x`` summed along the group (as ``x[members].sum(axis=0)``),
        each size's groups as one groups x size (x columns) array, written into the layout's
        slots (empty groups first: zeros) and put back in group order."""
        laid = x[self._items]
        tail = x.shape[1:]
        out = np.zeros((self.n,) + tail)
        for a, k, n, slot in self._blocks:
            np.add.reduce(laid[a : a + k * n].reshape((k, n) + tail), axis=1, out=out[slot : slot + k])
        return out[self._inverse]

    def sum(self, x: np.ndarray) -> np.ndarray:
        """Per group, ``x[members].sum()`` (``x`` 1-D over items), bit for bit."""
        if self._by_group:  # np.add.reduce of a 1-D array is its .sum(), without the Python layer
            return np.array([np.add.reduce(x[m]) for m in self._pieces], dtype=float)
        return self._per_group(x)

    def sum_each(self, X: np.ndarray) -> np.ndarray:
        """Per row of ``X`` (rows x items) and group, ``X[r][members].sum()`` bit for bit: an
        array of rows x groups. A few groups: each group's block of every row at once, summed
        along its rows (numpy sums each row of a block whose rows are contiguous, a slice of a
        C-ordered ``X`` or a C-ordered copy, as it sums that row alone; a fancy-indexed block
        ``X[:, members]`` is laid out column by column and is copied to C order first)."""
        X = np.ascontiguousarray(X)  # each row's items one after another (no copy when they are)
        if self._by_group:
            sums = [np.add.reduce(X[:, m] if type(m) is slice else np.ascontiguousarray(X[:, m]), axis=1) for m in self._pieces]
            return np.array(sums, dtype=float).reshape(self.n, len(X)).T
        return np.array([self._per_group(row) for row in X], dtype=float).reshape(len(X), self.n)

    def mean(self, x: np.ndarray) -> np.ndarray:
        """Per group, ``x[members].mean()`` bit for bit (NaN for an empty group, as numpy's)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sum(x) / self.size

    def sum_rows(self, X: np.ndarray) -> np.ndarray:
        """Per group, ``X[members].sum(axis=0)`` (``X`` 2-D, items x columns), bit for bit: an
        array of groups x columns."""
        if X.shape[1] == 1:  # numpy sums a single column as a 1-D array: pairwise
            return self.sum(X[:, 0])[:, None]
        if self._one_slice is not None and X.flags.c_contiguous:  # one group of consecutive rows: a view, summed as its copy is
            return np.add.reduce(X[self._one_slice], axis=0)[None]
        if self._padded is not None:  # one reduction: each group's rows, then -0.0 rows, in turn
            index, width, empty = self._padded
            padded = self._padding.get(X.shape[1:])
            if padded is None:
                padded = self._padding[X.shape[1:]] = np.full((self.n_items + 1,) + X.shape[1:], -0.0)
            padded[:-1] = X  # the -0.0 row stays last
            laid = padded.take(index, axis=0)
            out = np.add.reduce(laid.reshape(width, self.n * X.shape[1]), axis=0).reshape(self.n, X.shape[1])
            if empty is not None:
                out[empty] = 0.0  # numpy's sum of no rows
            return out
        if self._by_group:
            return np.array([X[m].sum(axis=0) for m in self._members], dtype=float).reshape(self.n, X.shape[1])
        return self._per_group(X)


def _as_slice(members: np.ndarray) -> slice | np.ndarray:
    """``members`` as a slice when they are consecutive items in order (a non-empty range), else
    as they are."""
    if len(members) and members[-1] - members[0] == len(members) - 1 and np.array_equal(members, np.arange(members[0], members[-1] + 1)):
        return slice(int(members[0]), int(members[-1]) + 1)
    return members
