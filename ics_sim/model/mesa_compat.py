"""What ics_sim changes about Mesa, in one place: Mesa 3.3 keeps every model alive."""

from __future__ import annotations

import collections
import itertools
import weakref

import mesa


class _WeakCounters(weakref.WeakKeyDictionary):
    """Agent numbering per model, holding each model weakly (see :func:`hold_models_weakly`)."""

    def __getitem__(self, model):
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


def hold_models_weakly() -> None:
    """Mesa 3.3 numbers each model's agents from a class-level ``defaultdict`` keyed by the model
    (``mesa.Agent._ids``), which keeps every model ever built alive: 500 calls of
    :func:`ics_sim.run` grew a process by about 740 MB. Keyed weakly, a model's counter lives as
    long as the model does and no longer, so a result dropped by the caller is freed. Agents are
    numbered exactly as before (from 1 per model). Mesa 3.4+ numbers agents on the model itself
    and has no ``Agent._ids``; then nothing is changed."""
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, collections.defaultdict):
        weak = _WeakCounters()
        weak.update(ids)
        mesa.Agent._ids = weak
