"""Factor columns: the settings that name a scenario or vary in a sweep, one typed column each.

Every table the runs write (a run's time series, a batch's rows, a sweep's aggregate, a
:class:`~ics_sim.runs.scenarios.Scenarios` table) carries the *standard factors*
(:data:`STANDARD`: system, governance form, delegation rule and share, allocation rule, shocks)
and one column for every other setting that varies, named after its override key with dots as
underscores (``trust.initial`` -> ``trust_initial``). The values are read from the *resolved*
config, so they have the config's types (``delegation_share`` is a float, ``membership_vcse`` a
bool) and a plot needs no string parsing::

    summary[summary.metric == "hle_sii"].plot(x="delegation_share", y="median")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ics_sim.config import Config, to_dict

#: config groups whose choice is named by a field of the resolved config
GROUP_FIELDS: dict[str, str] = {
    "system": "system.name",
    "governance": "governance.form",
    "delegation": "delegation.rule",
    "allocation": "allocation.rule",
}
#: the factors every table carries, in column order
STANDARD: tuple[str, ...] = ("system", "governance", "delegation", "delegation_share", "allocation", "shocks")


def column_name(key: str) -> str:
    """The column of an override key: ``delegation.share`` -> ``delegation_share``."""
    return key.strip().lstrip("+~").replace(".", "_").replace("/", "_")


def shocks_label(resolved: Mapping[str, Any]) -> str:
    """The kinds of shock on the run's timeline, e.g. ``funding_cut`` (``none`` without shocks)."""
    kinds = [str(s.get("kind", "")) for s in resolved.get("shocks") or []]
    return "+".join(dict.fromkeys(k for k in kinds if k)) or "none"


def _system_label(resolved: Mapping[str, Any]) -> str:
    system = resolved.get("system") or {}
    if system.get("kind") == "icb" and system.get("icb"):
        return str(system["icb"])  # the ICB's code or name rather than the kind "icb"
    return str(system.get("name", ""))


def factor_value(resolved: Mapping[str, Any], key: str, fallback: Any = None) -> Any:
    """The value of override ``key`` in a resolved config.

    Args:
        resolved: the resolved config as a mapping (:func:`ics_sim.config.to_dict`, or a run's
            ``config.yaml``).
        key: an override key: a dotted field (``delegation.share``) or a config group
            (``governance``, read from the field naming the choice, :data:`GROUP_FIELDS`).
        fallback: returned when the key names no scalar field (e.g. the ``health`` group, whose
            choice the resolved config does not record).

    Returns:
        The value, of the config's type.
    """
    key = key.strip().lstrip("+~")
    if key == "shocks":
        return shocks_label(resolved)
    if key == "system":
        return _system_label(resolved)
    node: Any = resolved
    for part in GROUP_FIELDS.get(key, key).split("."):
        if not isinstance(node, Mapping) or part not in node:
            return fallback
        node = node[part]
    if isinstance(node, (Mapping, list, tuple)):
        return fallback
    return node


def factors(cfg: Config | Mapping[str, Any], keys: Iterable[str] = (), fallbacks: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The factor columns of a run: the standard factors, then one per key in ``keys``.

    Args:
        cfg: the validated config, or the resolved config as a mapping.
        keys: further override keys to carry (those that vary in a sweep or name a scenario).
        fallbacks: values for keys the resolved config does not hold (see :func:`factor_value`).

    Returns:
        Column name -> value, in column order.
    """
    resolved = to_dict(cfg) if isinstance(cfg, Config) else cfg
    fallbacks = fallbacks or {}
    out: dict[str, Any] = {
        "system": _system_label(resolved),
        "governance": factor_value(resolved, "governance"),
        "delegation": factor_value(resolved, "delegation"),
        "delegation_share": factor_value(resolved, "delegation.share"),
        "allocation": factor_value(resolved, "allocation"),
        "shocks": shocks_label(resolved),
    }
    for key in keys:
        col = column_name(key)
        if col not in out:
            out[col] = factor_value(resolved, key, fallbacks.get(key))
    return out
