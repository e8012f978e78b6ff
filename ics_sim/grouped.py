"""Sums over groups (the neighbourhoods of each place, the places of each system) in one pass,
equal bit for bit to summing each group on its own: :class:`Groups` (groups of rows) and
:class:`Runs` (runs along the last axis).

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

:class:`Runs` lays runs out the same way along the last axis of stacked arrays (any leading
axes: months, measures), with dot products, sorts and cumulative sums per run; the system
measures (``ics_sim.model.system_metrics``) and the decisions' plan distances use it.

``tests/test_grouped.py`` checks :class:`Groups` against the per-group loop on random groups and
values; ``tests/test_performance_equivalence.py`` and ``tests/test_record_blocks.py`` check :class:`Runs`.
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
        self._pieces = [as_slice(m) for m in members] if self._by_group else members
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


def as_slice(members: np.ndarray) -> slice | np.ndarray:
    """``members`` as a slice when they are consecutive items in order (a non-empty range), else
    as they are."""
    if len(members) and members[-1] - members[0] == len(members) - 1 and np.array_equal(members, np.arange(members[0], members[-1] + 1)):
        return slice(int(members[0]), int(members[-1]) + 1)
    return members


class Runs:
    """Runs of items (e.g. each system's neighbourhoods, or each place's), laid end to end, with
    per-run sums and dot products equal bit for bit to computing each run on its own.

    The runs are laid out shortest first, so that the runs of one length are one slice of the
    layout, viewed as a runs x length matrix: numpy sums each row of such a matrix exactly as it
    sums that row alone (pairwise), and ``np.vecdot`` takes each row's dot product with the same
    BLAS call as ``np.dot`` of that row alone (both checked in
    ``tests/test_performance_equivalence.py``); ``np.add.reduceat``, ``np.bincount``, zero padding
    or a fancy-indexed stack (``x[..., idx]``, whose rows numpy does not store in order) would add
    in another order. This is :class:`Groups` over stacked arrays, with dot products.

    Arrays "in the layout" have the items of every run along their last axis, as :meth:`gather`
    and :meth:`lay` make them; per-run results come back in the runs' own order.

    Args:
        members: per run, the indices of its items in some array (the run's order is kept).
    """

    def __init__(self, members: list[np.ndarray]):
        members = [np.asarray(m, dtype=np.intp) for m in members]
        self.n = len(members)
        self.lengths = np.array([len(m) for m in members], dtype=np.intp)
        self._slots = np.argsort(self.lengths, kind="stable")  # the run at each slot of the layout
        self._inverse = np.argsort(self._slots)
        self._slot_lengths = lengths = self.lengths[self._slots]
        slot_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.intp)
        #: per run, where its items start in the layout
        self.starts = slot_starts[self._inverse]
        #: per item of the layout, its index in the members' array and its run
        self.items = np.concatenate([members[r] for r in self._slots]) if self.n else np.zeros(0, dtype=np.intp)
        self.of = np.repeat(self._slots, lengths)
        #: per item of the layout, its slot (ascending)
        self.slot = np.repeat(np.arange(self.n), lengths)
        self._empty = int((lengths == 0).sum())
        self._nonempty_starts = slot_starts[self._empty :]
        #: per item of the layout, whether it is the first of its run
        self.first = np.zeros(len(self.items), dtype=bool)
        self.first[self._nonempty_starts] = True
        # per length present: (first item, runs, length, the slot of its first run), one slice of
        # the layout (lengths ascending: the first run of a length is at the slot np.unique finds)
        self._blocks = [(int(slot_starts[first]), int((lengths == k).sum()), int(k), int(first))
                        for k, first in zip(*np.unique(lengths, return_index=True), strict=True) if k > 0]
        #: per run, the slice of the members' array it is, where every run is one ascending,
        #: contiguous range of it and the runs are few (else None): see :meth:`sum_of`
        self._ranges = None
        if 0 < self.n <= 64:
            ranges = [as_slice(m) for m in members]
            if all(type(r) is slice for r in ranges):
                self._ranges = ranges

    def gather(self, x: np.ndarray) -> np.ndarray:
        """``x[..., items]`` in the layout (C-ordered)."""
        return np.take(x, self.items, axis=-1)

    def lay(self, per_run: list[np.ndarray]) -> np.ndarray:
        """Per-run arrays (in run order) laid end to end in the layout."""
        return np.concatenate([np.asarray(per_run[r], dtype=float) for r in self._slots]) if self.n else np.zeros(0)

    def sum(self, x: np.ndarray) -> np.ndarray:
        """Per run, its items' sum (``x`` in the layout, any leading axes), as numpy sums the run
        alone: an array ``(..., runs)``; 0 for an empty run. Each length's sums are written
        straight into their slots."""
        lead = x.shape[:-1]
        out = np.zeros(lead + (self.n,))
        for a, k, n, slot in self._blocks:
            np.add.reduce(x[..., a : a + k * n].reshape(lead + (k, n)), axis=-1, out=out[..., slot : slot + k])
        return out[..., self._inverse]

    def sum_of(self, x: np.ndarray) -> np.ndarray:
        """:meth:`sum` of :meth:`gather` of ``x`` (the members' array, any leading axes). Where
        every run is a range of ``x`` (each system's neighbourhoods, England's), each run is summed
        as a slice of ``x`` itself, with no gather: a slice along the last axis is summed as the
        same numbers laid out are, pairwise."""
        if self._ranges is None:
            return self.sum(self.gather(x))
        out = np.empty(x.shape[:-1] + (self.n,))
        for r, span in enumerate(self._ranges):
            np.add.reduce(x[..., span], axis=-1, out=out[..., r])
        return out

    def dot(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per run, ``np.dot`` of its items of ``a`` and ``b`` (both in the layout; leading axes
        broadcast): an array ``(..., runs)``."""
        lead = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
        out = np.zeros(lead + (self.n,))
        for i, k, n, slot in self._blocks:
            np.vecdot(a[..., i : i + k * n].reshape(a.shape[:-1] + (k, n)),
                      b[..., i : i + k * n].reshape(b.shape[:-1] + (k, n)), out=out[..., slot : slot + k])
        return out[..., self._inverse]

    def argsort(self, x: np.ndarray, stable: bool = True) -> np.ndarray:
        """Per run, ``np.argsort(kind="stable")`` of its items of ``x`` (in the layout, any leading
        axes), as positions in the layout: each run's items in ascending order, ties in layout
        order. Each length's runs are sorted as one runs x length matrix (a stable sort's order
        is unique, so sorting the rows together gives each row's own order). ``stable=False``
        sorts with numpy's quicker default sort: the same order for a run whose values are all
        distinct (and not NaN), ties in any order."""
        order = np.empty(x.shape, dtype=np.intp)
        lead = x.shape[:-1]
        for a, k, n, _ in self._blocks:
            span = slice(a, a + k * n)
            within = np.argsort(x[..., span].reshape(lead + (k, n)), axis=-1, kind="stable" if stable else None)
            order[..., span] = (within + np.arange(a, a + k * n, n)[:, None]).reshape(lead + (k * n,))
        return order

    def cumsum(self, x: np.ndarray) -> np.ndarray:
        """Per run, ``np.cumsum`` of its items (``x`` in the layout, any leading axes), in the
        layout: each length's runs are summed along the rows of one runs x length matrix (a
        cumulative sum adds one item after another, row by row)."""
        out = np.zeros(x.shape)
        lead = x.shape[:-1]
        for a, k, n, _ in self._blocks:
            span = slice(a, a + k * n)
            out[..., span] = np.cumsum(x[..., span].reshape(lead + (k, n)), axis=-1).reshape(lead + (k * n,))
        return out

    def all_equal(self, x: np.ndarray) -> np.ndarray:
        """Per run (none empty), whether its items' values are all equal (``metrics._all_equal``)."""
        same = x == x[..., self.starts[self.of]]
        return np.logical_and.reduceat(same, self._nonempty_starts, axis=-1)[..., self._inverse]

    def spread(self, v: np.ndarray) -> np.ndarray:
        """Per-run values ``(..., runs)`` repeated for each item of the run, in the layout."""
        return np.repeat(v[..., self._slots], self._slot_lengths, axis=-1)
