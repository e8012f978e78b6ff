"""Exploratory-modelling API: ``evaluate(**params) -> dict[str, float]``.

Keyword parameters with flat names go in, the run's scalar outcomes come out, so tools that
call a plain Python function — EMA Workbench (``Model("ics", function=ics_sim.evaluate)``),
scipy optimisers, Optuna, SALib — can drive the model::

    >>> import ics_sim
    >>> out = ics_sim.evaluate(governance="joint_committee", delegation_share=0.4, years=2, seed=1)
    >>> out["hle_sii"]  # doctest: +SKIP

Names (see :func:`parameter_names`):

* config groups: ``governance``, ``delegation``, ``allocation``, ``system``, ``shocks`` select a
  preset, as ``governance=joint_committee`` does on the command line;
* top-level fields: ``seed``, ``years``, ``chair``, ``decision_rule``, ...;
* a section's field as ``section_field`` (``delegation_share`` for ``delegation.share``,
  ``trust_initial`` for ``trust.initial``) or ``section__field`` (always unambiguous; deeper
  fields as ``delegation__scale_elasticity__acute``);
* a field's own name (``loss_ratio``) when only one section has a field of that name.

``replicates=N`` runs N replicates on common random numbers (seeds from
:func:`ics_sim.runs.seeds.replicate_seed` of ``seed``) and returns the mean of each outcome.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

from ics_sim.config import CONFIG_DIR
from ics_sim.config.paths import NOT_GROUPS
from ics_sim.config.schema import Config

#: summary fields that describe the run rather than measure an outcome
_NOT_OUTCOMES = frozenset({"seed", "years", "replicate"})


def config_groups() -> list[str]:
    """The config groups a preset can be chosen for (folders of ``configs/``, except those in
    :data:`ics_sim.config.paths.NOT_GROUPS`: Hydra's settings, question files, workshop scenarios)."""
    return sorted(p.name for p in CONFIG_DIR.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")) and p.name not in NOT_GROUPS)


def _leaf_paths(cls: type, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Dotted paths of every scalar field of a config dataclass (lists are left out)."""
    out: list[tuple[str, ...]] = []
    hints = {f.name: f for f in dataclasses.fields(cls)}
    for name, f in hints.items():
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            out.extend(_leaf_paths(type(default), (*prefix, name)))
        elif isinstance(default, (list, dict)):
            continue
        else:
            out.append((*prefix, name))
    return out


@functools.cache
def parameter_names() -> dict[str, str]:
    """Every accepted flat name and the config key (or group) it sets.

    Returns:
        A mapping such as ``{"delegation_share": "delegation.share", "governance": "governance", ...}``.
    """
    paths = _leaf_paths(Config)
    names: dict[str, str] = {}
    candidates: dict[str, set[str]] = {}
    for path in paths:
        dotted = ".".join(path)
        names["__".join(path)] = dotted  # always unique
        if len(path) > 1:
            candidates.setdefault("_".join(path), set()).add(dotted)
            candidates.setdefault(path[-1], set()).add(dotted)
    for group in config_groups():
        names[group] = group
    for flat, keys in candidates.items():
        if len(keys) == 1 and flat not in names:
            names[flat] = next(iter(keys))
    return dict(sorted(names.items()))


def to_overrides(params: dict[str, Any]) -> dict[str, Any]:
    """Map flat keyword parameters to config overrides.

    Args:
        params: flat names (see :func:`parameter_names`) and values.

    Returns:
        Overrides for :func:`ics_sim.config.load_config`, e.g. ``{"delegation.share": 0.4}``.

    Raises:
        ValueError: a name is unknown or ambiguous; the message lists the valid names.
    """
    names = parameter_names()
    out: dict[str, Any] = {}
    unknown = [k for k in params if k not in names]
    if unknown:
        close = []
        import difflib

        for k in unknown:
            close += difflib.get_close_matches(k, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))}.{hint} Valid names: {', '.join(names)}"
        )
    for k, v in params.items():
        if hasattr(v, "item") and not isinstance(v, (str, list, dict)):
            v = v.item()  # numpy scalars, as EMA Workbench and optimisers pass them
        out[names[k]] = v
    return out


def evaluate(**params: Any) -> dict[str, float]:
    """Run the model with flat keyword parameters and return its scalar outcomes.

    Args:
        **params: flat parameter names and values, e.g. ``governance="lead_provider"``,
            ``delegation_share=0.4``, ``trust_initial=0.5``, ``years=5``, ``seed=3``; plus
            ``replicates=N`` to average N replicates on common random numbers.

    Returns:
        Every numeric summary outcome (``hle_sii``, ``unmet_need``, ``duplicated_spend_gbp``,
        ``decision_delay_months``, ``trust_mean``, ...) as a float.

    Raises:
        ValueError: an unknown parameter name (the message lists the valid ones).
        ics_sim.config.ConfigError: a value is out of range or of the wrong type.
    """
    from ics_sim.runs.api import run_config
    from ics_sim.runs.batch import config_for
    from ics_sim.runs.seeds import replicate_seed

    params = dict(params)
    replicates = int(params.pop("replicates", 1))
    if replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {replicates}")
    overrides = to_overrides(params)
    seed = int(overrides.pop("seed", 0))
    totals: dict[str, float] = {}
    for r in range(replicates):
        result = run_config(config_for(overrides), seed=replicate_seed(seed, r), keep_model=False, timeseries=False)
        for k, v in result.summary.items():
            if k in _NOT_OUTCOMES or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            totals[k] = totals.get(k, 0.0) + float(v)
    return {k: (v / replicates if math.isfinite(v) else v) for k, v in totals.items()}
