"""Observation: how organisations estimate need (MODEL.md section 6.3).

Each kind of observer carries a persistent estimation error per neighbourhood and domain (an AR(1)
process on the log scale) whose size depends on how close it sits to the neighbourhood: system
bodies see least precisely, place bodies better, PCNs best. Hidden need is seen only by observers
with reach (VCSE, Healthwatch, partly PCNs), in proportion to that reach.

Observers are kept as one (neighbourhood x domain) error array per observer kind: every place has
one council, one VCSE body and so on, so a kind's array tiles the neighbourhoods. Agents read
their own place's rows. The kinds' arrays are views of one kinds x neighbourhoods x domains array,
so the monthly drift is one update for every kind, and so is every kind's log estimate of
visible need (each kind reading its slab).
"""

from __future__ import annotations

from itertools import repeat
from operator import attrgetter, is_

import numpy as np

from ics_sim.config.schema import Config
from ics_sim.model.population import Population

#: observer kind -> level whose error size applies
OBSERVERS: dict[str, str] = {
    "icb_system": "system",
    "icb_place": "place",
    "acute_trust": "system",
    "mental_health_trust": "system",
    "community_trust": "place",
    "council": "place",
    "social_care": "place",
    "vcse": "place",
    "healthwatch": "place",
    "pcn": "neighbourhood",
    # the national need formula (weighted capitation) need-weighted allocation divides money by;
    # listed last so that adding it left every other observer's random draws unchanged
    "formula": "formula",
}

#: each observer kind's row in the stacked errors (:data:`OBSERVERS` order)
_KIND_ROW = {kind: k for k, kind in enumerate(OBSERVERS)}

_BASE = attrgetter("base")
#: the cache keys of every kind's log estimate, in :data:`OBSERVERS` order
_LOG_EST_KEYS = [("log_est", kind, 0.0) for kind in OBSERVERS]

#: the rows of the place-level observer kinds in the stacked errors (:data:`OBSERVERS` order)
_PLACE_KINDS = np.array([k for k, level in enumerate(OBSERVERS.values()) if level == "place"], dtype=np.intp)


class Observation:
    """Estimation errors of every observer kind, and beliefs built from them."""

    def __init__(self, cfg: Config, population: Population, rng: np.random.Generator):
        self.cfg = cfg
        self.pop = population
        self.rng = rng
        oc = cfg.observation
        self.sd = {
            "system": oc.error_system,
            "place": oc.error_place,
            "neighbourhood": oc.error_neighbourhood,
            "formula": oc.error_formula,
        }
        shape = population.need.shape
        self.errors = {
            kind: self.rng.standard_normal(shape) * self.sd[level] for kind, level in OBSERVERS.items()
        }
        self._stack = np.zeros(0)
        self._stacked()
        o = cfg.observation
        self.reach = {
            "vcse": o.reach_vcse,
            "healthwatch": o.reach_healthwatch,
            "pcn": o.reach_pcn,
        }
        self._precision = {kind: 1.0 / max(self.sd[level], 1e-3) ** 2 for kind, level in OBSERVERS.items()}
        #: each kind's error s.d. (its level's), in :data:`OBSERVERS` order: scales the drift
        self._kind_sd = np.array([self.sd[level] for level in OBSERVERS.values()])
        self._clear_cache()

    # ------------------------------------------------------------------ cache
    # Beliefs are read many times a month (every seat at every place table, delivery, the ICP),
    # always from the same need and errors. Computing log(visible need) or hidden need for the
    # whole population on every call made a month cost O(neighbourhoods x places). Instead each
    # quantity is computed once for the whole population and indexed; element by element these are
    # the same operations on the same numbers, so every belief is bit-for-bit what it was.
    #
    # The cache is valid while the errors are unchanged (step() and sharpen() clear it) and the
    # population holds the same need arrays: Population replaces ``need`` (move_need assigns a new
    # array) rather than writing into it, so identity tells when need has moved. The cache keeps a
    # reference to the arrays it was built from, so a new array can never reuse the old identity.
    def _clear_cache(self) -> None:
        self._cache: dict[tuple, np.ndarray] = {}
        if not hasattr(self, "_row_index"):
            self._row_index: dict[int, tuple[np.ndarray, slice | np.ndarray]] = {}
        self._need_ref: np.ndarray | None = None
        self._share_ref: np.ndarray | None = None

    def _fields(self) -> dict[tuple, np.ndarray]:
        """The cache of the current observation state: emptied (a new dict) when need has moved."""
        pop = self.pop
        if pop.need is not self._need_ref or pop.hidden_share is not self._share_ref:
            self._cache = {}
            self._need_ref, self._share_ref = pop.need, pop.hidden_share
        return self._cache

    def _whole(self, what: str, kind: str = "", reach: float = 0.0) -> np.ndarray:
        """A whole-population (neighbourhood x domain) array, computed once per observation state
        and read-only (it is shared by every reader).

        what: ``log_vis`` (log of visible need), ``hidden`` (hidden need), ``seen`` (the hidden
        need observer ``kind`` sees with reach ``reach``), ``unseen`` (zeros: what no reach
        sees), ``log_ests`` (every kind's log estimate of visible need, kinds x neighbourhoods x
        domains in :data:`OBSERVERS` order: one addition for every kind, as the table views read
        nearly every kind), ``log_est`` (observer ``kind``'s slab of it; the first kind asked for
        files every kind's), ``est`` (its estimate), ``exp_error`` (its errors' exponential). The
        exponentials are worked out kind by kind, for the kinds read (about half of them a month):
        over a large population the arithmetic outweighs a call.
        """
        cache = self._fields()
        arr = cache.get((what, kind, reach))
        return self._build(cache, what, kind, reach) if arr is None else arr

    def _build(self, cache: dict, what: str, kind: str, reach: float) -> np.ndarray:
        """:meth:`_whole`'s array ``what``, worked out and filed in ``cache``."""
        if what == "log_est":  # every kind's slab filed at once (read-only views)
            cache.update(zip(_LOG_EST_KEYS, self._whole("log_ests"), strict=True))
            return cache[(what, kind, reach)]
        pop, perfect = self.pop, self.cfg.observation.perfect
        if what == "log_vis":
            arr = np.log(np.maximum(pop.visible_need, 1e-9))
        elif what == "hidden":
            arr = pop.hidden_need
        elif what == "log_ests":
            log_vis = self._whole("log_vis")
            stack = self._stacked()
            arr = np.broadcast_to(log_vis, stack.shape) if perfect else log_vis + stack
        elif what == "est":
            arr = np.exp(self._whole("log_ests")[_KIND_ROW[kind]])
        elif what == "exp_error":
            arr = np.exp(self.errors[kind])
        elif what == "unseen":
            arr = np.zeros(pop.need.shape)
        elif what == "seen":
            if perfect:
                arr = self._whole("hidden")
            elif reach == 0.0:  # no reach sees nothing: 0 x hidden need (>= 0) x exp(error) is +0.0
                arr = self._whole("unseen")
            else:
                arr = reach * self._whole("hidden") * self._whole("exp_error", kind)
        else:
            raise KeyError(what)
        if arr.flags.writeable:  # (a broadcast view, or a field filed already, is read-only)
            arr.flags.writeable = False
        cache[(what, kind, reach)] = arr
        return arr

    def _stacked(self) -> np.ndarray:
        """Every observer kind's errors as one kinds x neighbourhoods x domains array (in
        :data:`OBSERVERS` order), each kind's array a view of its slab; stacked again (the values
        copied in) when a kind's array is not a view of it (a deep copy of the model, as the
        workshop takes, copies views as separate arrays; or an array assigned)."""
        stack = self._stack
        errors = self.errors
        if len(stack) != len(errors) or not all(map(is_, map(_BASE, errors.values()), repeat(stack))):  # C speed
            stack = self._stack = np.stack([errors[kind] for kind in OBSERVERS])
            for k, kind in enumerate(OBSERVERS):
                errors[kind] = stack[k]
        return stack

    def step(self) -> None:
        """Errors drift (AR(1) on the log scale, stationary s.d. equal to the level's). Every kind
        at once: one draw of all kinds' innovations in :data:`OBSERVERS` order (the generator
        fills it as it fills one kind's after another), element by element the per-kind update."""
        rho = self.cfg.observation.error_persistence
        innov = np.sqrt(1.0 - rho**2)
        stack = self._stacked()
        draws = self.rng.standard_normal(stack.shape)
        stack *= rho
        stack += (innov * self._kind_sd)[:, None, None] * draws
        self._clear_cache()

    def sharpen(self, nb_mask: np.ndarray) -> None:
        """A needs-assessment (JSNA) refresh shrinks place-level errors in one place: every
        place-level kind's errors there in one operation on the kinds' stacked errors (each
        element multiplied once, as kind by kind)."""
        f = 1.0 - self.cfg.observation.jsna_sharpening
        self._stacked()[np.ix_(_PLACE_KINDS, np.flatnonzero(nb_mask))] *= f
        self._clear_cache()

    def precision(self, kind: str) -> float:
        """Weight of an observer kind's view when views are pooled: 1 / error s.d. squared."""
        return self._precision[kind]

    def state(self) -> dict:
        """An object that is replaced whenever what observers see changes (need moves, errors
        drift, a needs assessment): a reader caching something built from observations keeps it
        while this is the same object."""
        return self._fields()  # notices moved need

    # Whole-population arrays, read-only and shared: for readers that work on every neighbourhood.
    def whole_log_visible(self, kind: str) -> np.ndarray:
        """:meth:`log_visible` for every neighbourhood (read-only)."""
        return self._whole("log_est", kind)

    def whole_log_visibles(self, kinds: list[str]) -> np.ndarray:
        """:meth:`whole_log_visible` of each of ``kinds`` (repeats allowed) as one kinds x
        neighbourhoods x domains array (a fresh copy of each kind's slab of the stacked field)."""
        return self._whole("log_ests")[[_KIND_ROW[kind] for kind in kinds]]

    def whole_visible_estimate(self, kind: str) -> np.ndarray:
        """:meth:`visible_estimate` for every neighbourhood (read-only)."""
        return self._whole("est", kind)

    def whole_hidden_seen(self, kind: str, reach: np.ndarray | float) -> np.ndarray:
        """:meth:`hidden_seen` for every neighbourhood, each with its own ``reach`` (per
        neighbourhood): row by row the same numbers as ``hidden_seen(kind, idx, reach[idx])``.
        With one ``reach`` (a float) for every neighbourhood, the month's cached field for that
        reach (read-only, shared)."""
        if self.cfg.observation.perfect:
            return self._whole("hidden")
        if isinstance(reach, float):
            return self._whole("seen", kind, reach)
        return reach[:, None] * self._whole("hidden") * self._whole("exp_error", kind)

    def place_hidden_seen(self, kind: str, place_reach: np.ndarray, nb_place: np.ndarray) -> np.ndarray:
        """:meth:`whole_hidden_seen` with each neighbourhood the reach of its place
        (``place_reach[nb_place]``; ``nb_place`` the layout's, one for the model's life), worked out
        once for each kind and set of reaches (by value) while the observation is unchanged.
        Read-only (shared)."""
        key = ("seen_places", kind, place_reach.tobytes())
        cache = self.state()
        arr = cache.get(key)
        if arr is None:
            arr = self.whole_hidden_seen(kind, place_reach[nb_place])
            arr.flags.writeable = False
            cache[key] = arr
        return arr

    def belief_rows(self, kind: str, idx: np.ndarray, reach: float | None) -> tuple[np.ndarray, np.ndarray]:
        """``visible_estimate(kind, idx)`` and ``hidden_seen(kind, idx, reach)`` (the same numbers)
        as read-only arrays, for a reader that keeps them unchanged (an organisation's belief of the
        month). A contiguous run of neighbourhoods (a place's, as the layouts number them) is
        read as a view of the whole-population array, without copying; the hidden need seen with a
        reach of the reader's own (a VCSE sector's, which shrinks as its bodies fold) is worked out
        on the rows alone: element by element the same product as the whole-population one."""
        rows = self.rows(idx)
        visible = self._whole("est", kind)[rows]
        if reach is None or self.cfg.observation.perfect:
            seen = self._whole("seen", kind, self.reach.get(kind, 0.0))[rows]
        else:
            seen = reach * self._whole("hidden")[rows] * self._whole("exp_error", kind)[rows]
            seen.flags.writeable = False
        visible.flags.writeable = False  # a view of the read-only cache, or copied rows
        return visible, seen

    def rows(self, idx: np.ndarray) -> slice | np.ndarray:
        """``idx`` as a slice when it is a contiguous increasing run of integers (indexing with it
        then gives a view), else ``idx`` itself. Remembered for each index array."""
        known = self._row_index.get(id(idx))
        if known is not None and known[0] is idx:
            return known[1]
        rows = idx
        if isinstance(idx, np.ndarray) and idx.dtype.kind in "iu" and idx.ndim == 1 and len(idx) > 0:
            start = int(idx[0])
            if np.array_equal(idx, np.arange(start, start + len(idx))):
                rows = slice(start, start + len(idx))
        self._row_index[id(idx)] = (idx, rows)  # idx is held, so its id is not reused
        return rows

    # Every reader gets a fresh array (a copy of the cached rows) that it may modify.
    def log_visible(self, kind: str, idx: np.ndarray) -> np.ndarray:
        """Log of an observer's estimate of visible need for neighbourhoods ``idx``."""
        return _rows(self._whole("log_est", kind), idx)

    def visible_estimate(self, kind: str, idx: np.ndarray) -> np.ndarray:
        """An observer's estimate of visible need, ``exp(log_visible(kind, idx))``."""
        return _rows(self._whole("est", kind), idx)

    def hidden_seen(self, kind: str, idx: np.ndarray, reach: float | None = None) -> np.ndarray:
        """The part of hidden need an observer sees (its reach times hidden need, with its error)."""
        r = self.reach.get(kind, 0.0) if reach is None else reach
        return _rows(self._whole("seen", kind, r), idx)


def _rows(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``arr[idx]``: the rows ``idx`` of ``arr``, copied.

    For an integer index array ``arr.take(idx, axis=0)`` makes the same copy about three times
    faster than fancy indexing (beliefs are read tens of thousands of times a run); anything else
    (a boolean mask, a slice) is indexed as usual.
    """
    if isinstance(idx, np.ndarray) and idx.dtype.kind in "iu":
        return arr.take(idx, axis=0)
    return np.array(arr[idx])  # a slice gives a view of the read-only cache: copy it
