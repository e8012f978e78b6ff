"""Sums over groups (the neighbourhoods of each place, the places of each system) in one pass,
equal bit for bit to summing each group on its own.

Adding the same numbers in a different order can change the last bit of a float sum. numpy sums a
1-D array pairwise (in blocks of 8, then halves), and a stack of rows (``X[idx].sum(axis=0)``) one
row after another; ``np.add.reduceat`` and ``np.bincount`` add in yet other orders. A model that
replaces a loop over places by one of those changes its results by about 1e-16, and with them the
regression baseline, for no reason a reader could see. :class:`Groups` keeps numpy's order:

- :meth:`Groups.sum` sums each group's values with the groups of equal size stacked as the rows of
  a matrix and summed along the rows (numpy sums each row of a C-ordered matrix exactly as it
  sums that row alone: pairwise, same blocks);
- :meth:`Groups.sum_rows` sums each group's rows with the groups padded with zero rows to one
  length and summed down the padding axis (one row after another, as ``X[idx].sum(axis=0)``
  does; adding 0.0 changes nothing), except that a single column is summed as 1-D, pairwise, as
  numpy sums it.

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
        # groups of equal size, stacked: (which groups, their members as a matrix)
        by_size: dict[int, list[int]] = {}
        for g, m in enumerate(members):
            if len(m):
                by_size.setdefault(len(m), []).append(g)
        self._blocks = [(np.array(gs, dtype=np.intp), np.stack([members[g] for g in gs])) for gs in by_size.values()]
        # every group padded to the longest with an index past the end (a zero row)
        width = int(self.size.max()) if self.n else 0
        self._padded = np.full((self.n, width), self.n_items, dtype=np.intp)
        for g, m in enumerate(members):
            self._padded[g, : len(m)] = m

    def sum(self, x: np.ndarray) -> np.ndarray:
        """Per group, ``x[members].sum()`` (``x`` 1-D over items), bit for bit."""
        out = np.zeros(self.n)
        for groups, idx in self._blocks:
            out[groups] = x[idx].sum(axis=1)
        return out

    def mean(self, x: np.ndarray) -> np.ndarray:
        """Per group, ``x[members].mean()`` bit for bit (NaN for an empty group, as numpy's)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sum(x) / self.size

    def sum_rows(self, X: np.ndarray) -> np.ndarray:
        """Per group, ``X[members].sum(axis=0)`` (``X`` 2-D, items x columns), bit for bit: an
        array of groups x columns."""
        if X.shape[1] == 1:  # numpy sums a single column as a 1-D array: pairwise
            return self.sum(X[:, 0])[:, None]
        padded = np.concatenate([X, np.zeros((1,) + X.shape[1:], dtype=X.dtype)])
        return padded[self._padded].sum(axis=1)
