"""The controls a workshop varies, generated from the configuration schema.

Each control is a key of :mod:`ics_sim.config.schema` (so its choices, range, unit and one-line
tip are the schema's, declared once), turned into the override the command line takes: a key a
config group sets (``governance.form``) becomes the group (``governance=joint_committee``), so
the option's whole preset applies exactly as on the command line.

Each place also has its own controls (:func:`place_controls`), which set
``place_settings.<place>.<key>`` and show that place's value.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from ics_sim.config import ConfigError, schema
from ics_sim.config.overrides import GROUP_KEYS, group_options, unused_keys
from ics_sim.config.places import find_place, merged, slug

#: the schema keys a workshop varies, in the order of the page
WORKSHOP_KEYS = (
    "governance.form",
    "membership.vcse",
    "membership.healthwatch",
    "membership.social_care",
    "decision_rule",
    "chair",
    "delegation.rule",
    "delegation.share",
    "allocation.rule",
)

#: the keys each place has its own control for (`place_settings.<place>.<key>`)
PLACE_KEYS = ("governance.form", "membership.vcse", "decision_rule", "chair", "delegation.share")


@dataclass(frozen=True)
class Control:
    """One control of the page.

    Attributes:
        key: the override it sets (``governance``, ``membership.vcse``, ``shocks``, ...).
        schema_key: the schema key it reads (``governance.form``).
        label: a plain label.
        kind: ``choice`` (a select), ``switch`` (true/false), ``slider`` (a number in a range) or
            ``multi`` (several options of a group: the shocks).
        choices: the allowed values of a choice or multi control.
        low, high: the declared range of a slider.
        unit: the unit of a slider.
        tip: the schema's one-line tip.
        place: for a per-place control, the place's name (it shows that place's value).
    """

    key: str
    schema_key: str
    label: str
    kind: str
    choices: tuple[str, ...] = ()
    low: float = 0.0
    high: float = 1.0
    unit: str = ""
    tip: str = ""
    integer: bool = False
    place: str | None = None


def _field(key: str, cls: type = schema.Config) -> tuple[dataclasses.Field, Any]:
    """The schema field of a dotted key and its type."""
    head, _, rest = key.partition(".")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if head not in fields:
        raise KeyError(key)
    tp = typing.get_type_hints(cls)[head]
    if rest:
        return _field(rest, tp)
    return fields[head], tp


def _label(key: str) -> str:
    words = key.replace("place_settings.", "").replace(".", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def control_for(key: str, override: str | None = None) -> Control:
    """The control of a schema key (its override key is the group when a group sets it)."""
    f, tp = _field(key)
    meta = f.metadata
    tip = meta.get("help", "")
    group = GROUP_KEYS.get(key)
    out = override or group or key
    if tp is bool:
        return Control(out, key, _label(key), "switch", tip=tip)
    if meta.get("choices"):
        choices = tuple(group_options()[group]) if group else tuple(meta["choices"])
        return Control(out, key, _label(key), "choice", choices=choices, tip=tip)
    lo, hi = meta.get("range", (None, None))
    return Control(out, key, _label(key), "slider", low=float(lo), high=float(hi), unit=meta.get("unit", ""), tip=tip,
                   integer=tp is int)


def shocks_control() -> Control:
    """The shocks: any of the shock options of the config group, combined on one timeline."""
    options = tuple(o for o in group_options()["shocks"] if o != "none")
    return Control("shocks", "shocks", "Shocks", "multi", choices=options,
                   tip="dated events: winter pressure each year, a funding cut, a loss of social care workforce")


def workshop_controls() -> list[Control]:
    """The system-wide controls of the page, from the schema."""
    return [control_for(k) for k in WORKSHOP_KEYS] + [shocks_control()]


def place_controls(place: str) -> list[Control]:
    """The controls of one place. Each reads the system-wide key's choices, range and tip, and
    overrides ``place_settings.<place slug>.<key>``."""
    out = []
    for key in PLACE_KEYS:
        # the place by its slug: a name such as "Herefordshire, County of" is no override key
        c = control_for(key, override=f"place_settings.{slug(place)}.{key}")
        if c.kind == "choice" and key in GROUP_KEYS:  # a place picks a form, not a group preset
            c = dataclasses.replace(c, choices=tuple(_field(key)[0].metadata["choices"]))
        out.append(dataclasses.replace(c, label=f"{place}: {c.label[:1].lower()}{c.label[1:]}", place=place))
    return out


def _place_config(cfg: schema.Config, place: str) -> schema.Config:
    """The settings ``place`` runs with: the run's, overlaid with its own ``place_settings``."""
    for key, given in (cfg.place_settings or {}).items():
        if find_place(key, [place], [""]) == 0:
            return merged(cfg, given)
    return cfg


def current_value(cfg: schema.Config, control: Control) -> Any:
    """The value a control shows for a validated config (the shocks: the options in force)."""
    if control.kind == "multi":
        return [s.kind for s in cfg.shocks if s.kind in control.choices] if cfg.shocks else []
    obj: Any = cfg if control.place is None else _place_config(cfg, control.place)
    for part in control.schema_key.split("."):
        obj = getattr(obj, part)
    return obj


def apply(settings: dict[str, Any], control: Control, value: Any) -> dict[str, Any]:
    """New overrides with ``control`` set to ``value`` (the shocks: the chosen options, or none).
    A new option of a group drops the group's keys it does not read (``delegation.share`` when
    the rule changes from ``fixed``), which the command line would refuse as a silent no-op;
    any other bad combination is left for the page to explain."""
    out = dict(settings)
    if control.kind == "multi":
        out[control.key] = list(value) if value else "none"
        return out
    if control.kind == "slider":
        value = int(round(value)) if control.integer else float(value)
    out[control.key] = value
    if control.key in GROUP_KEYS.values():  # a new option: the group's keys it does not read go
        try:
            unused = unused_keys(out)
        except ConfigError:
            return out  # the page shows the error when the setting is built
        for k in unused:
            if k.startswith(control.key + "."):
                out.pop(k)
    return out
