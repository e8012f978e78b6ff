"""Scenario labels that name every setting that differs from the chosen options' defaults.

``synthetic-committee-fixed-need_weighted,delegation.share=0.4,chair=icb`` reads: the options of
the config groups (system, governance, delegation, allocation, then any shocks), then each key
whose value differs from what those options set, in schema order. Each place's own settings
(``place_settings``) come straight after the options, shortly, as
``Herefordshire.form=joint_committee`` (:func:`place_items`). Two runs with different
settings (seed and replicates aside) never share a label; a label is always a safe label
(:func:`ics_sim.config.safe_label`), so it can name a folder.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from typing import Any

from ics_sim.config.labels import MAX_LABEL, safe_label
from ics_sim.config.places import given_leaves
from ics_sim.config.schema import Config

#: settings that are not part of a scenario (each run has its own seed; replicates count runs)
NOT_SCENARIO = ("seed", "replicates", "scenario")


def group_choices(cfg: Config) -> dict[str, Any]:
    """The option of each config group a validated config corresponds to."""
    from ics_sim.config.overrides import group_options

    options = group_options()
    system = cfg.system.kind  # synthetic, icb, england: the option of the same name
    if cfg.system.kind == "named":
        system = cfg.system.name if cfg.system.name in options["system"] else _named_option(cfg.system.icb)
    shocks = [s.kind for s in cfg.shocks if s.kind in options["shocks"]]
    out: dict[str, Any] = {"system": system}
    if system == "icb":
        out["system.icb"] = cfg.system.icb
    return out | {
        "governance": cfg.governance.form,
        "delegation": cfg.delegation.rule,
        "allocation": cfg.allocation.rule,
        "shocks": shocks or "none",
    }


def _named_option(icb: str) -> str:
    """The named-system option whose ICB is ``icb`` (or ``icb`` when none is)."""
    import yaml

    from ics_sim.config.overrides import config_dir

    for path in sorted((config_dir() / "system").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if data.get("kind") == "named" and str(data.get("icb")) == str(icb):
            return path.stem
    return "icb"


@functools.lru_cache(maxsize=64)
def _defaults(choices: tuple[tuple[str, Any], ...]) -> Config:
    from ics_sim.config.overrides import load

    return load({k: list(v) if isinstance(v, tuple) else v for k, v in choices})[0]


def _leaves(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys and values of a config; lists of dataclasses are kept whole."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            out.update(_leaves(value, key + "."))
        elif f.name == "place_settings":  # named first, by place (see place_items)
            continue
        else:
            out[key] = value
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def place_items(cfg: Config) -> list[str]:
    """Each place's own settings, shortly: ``Herefordshire.form=joint_committee``,
    ``Worcestershire.vcse=false``, ``Herefordshire.delegation.share=0.6`` (the place as the user
    wrote it; governance and membership keys without their group)."""
    out = []
    for key, value in given_leaves(cfg.place_settings, "") if cfg.place_settings else []:
        place, *rest = key.lstrip(".").split(".")
        if rest[0] in ("governance", "membership"):
            rest = rest[1:]
        out.append(f"{place}.{'.'.join(rest)}={_fmt(value)}")
    return out


def differences(cfg: Config) -> list[str]:
    """``key=value`` for each place's own settings (:func:`place_items`), then each setting that
    differs from what the chosen options set."""
    choices = group_choices(cfg)
    base = _defaults(tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in choices.items()))
    mine, theirs = _leaves(cfg), _leaves(base)
    out = place_items(cfg)
    for key, value in mine.items():
        if key in NOT_SCENARIO or value == theirs.get(key):
            continue
        if key == "shocks":  # same kinds as the options chose: name the changed fields of each
            if [s.kind for s in value] == [s.kind for s in theirs[key]]:
                for s, t in zip(value, theirs[key], strict=True):
                    for name, v in _leaves(s).items():
                        if v != _leaves(t)[name]:
                            out.append(f"shocks.{s.kind}.{name}={_fmt(v)}")
                continue
            out.append(f"shocks={len(value)}_events")
        elif isinstance(value, list):
            out.append(f"{key}={len(value)}_items")
        else:
            out.append(f"{key}={_fmt(value)}")
    return out


def scenario_label(cfg: Config) -> str:
    """The scenario's label: ``cfg.scenario`` if given, else the options and every other setting.

    Longer labels are cut to :data:`MAX_LABEL` characters and end with ``+h`` and eight hex
    digits of a hash of the whole label, so different settings keep different labels.
    """
    if cfg.scenario:
        return cfg.scenario
    choices = group_choices(cfg)
    system = f"icb={cfg.system.icb}" if choices["system"] == "icb" else choices["system"]
    head = "-".join([system, *(str(choices[g]) for g in ("governance", "delegation", "allocation"))])
    if choices["shocks"] != "none":
        head += "-" + "+".join(choices["shocks"])
    full = ",".join([head, *differences(cfg)])
    label = safe_label(full)
    if len(full) > MAX_LABEL or label != full:
        digest = hashlib.sha256(full.encode()).hexdigest()[:8]
        label = safe_label(full[: MAX_LABEL - 11]).rstrip(",.=+-_") + f"+h{digest}"
    return label
