"""Overrides: one path from what a user typed (or passed to the API) to a validated config.

:func:`plan` reads overrides (Hydra override strings, or a mapping of dotted keys to values),
checks every key and value against the schema and the config groups *before* anything is
composed, and :func:`compose_plan` composes the result. The command line and
:func:`ics_sim.config.load_config` both go through here, so a bad value gives the same single
line (a :class:`ConfigError` naming the field and what is allowed) whichever way it came in.

What is refused, besides wrong types and out-of-range values (see
:mod:`ics_sim.config.validate`):

- unknown keys (with a did-you-mean and the keys allowed at that level) and unknown options of a
  config group (with the options);
- a list, a mapping, ``null`` or an empty value for a group, except a list of ``shocks``, which
  combines several shocks on one timeline;
- config files from outside the package (``shocks=../x``), ``~`` deletions, ``@`` packages;
- interpolations (``${...}``, including resolvers such as ``${oc.env:VAR}``) and the missing
  marker ``???`` in values;
- a sweep (``a=1,2``) outside a multirun;
- a ``place_settings.<place>.<key>`` a place may not set, or with a bad value (checked as the
  system-wide key is; the place itself once the system is known, :mod:`ics_sim.config.places`);
  such keys need no ``+``;
- a key the chosen options ignore (see :data:`USES`): it is an error naming the option that
  would use it (a system-wide key counts as read when any place's settings read it; a place's
  key only when that place's do), except where the intent is unambiguous: a key that only one option of the
  ``delegation`` (or ``allocation``, or ``system``) group reads selects that option when the
  group is not given, e.g. ``delegation.share=0.4`` alone runs ``delegation=fixed``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import hashlib
import itertools
import json
import os
import tempfile
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from ics_sim.config import places, schema
from ics_sim.config.labels import is_safe_label
from ics_sim.config.paths import CONFIG_DIR, NOT_GROUPS
from ics_sim.config.validate import (
    ConfigError,
    check_one_place,
    coerce,
    did_you_mean,
    fields_of,
    type_hints,
    unknown_key,
    validate,
)

#: keys a config group sets; a user chooses the option instead
GROUP_KEYS = {"governance.form": "governance", "delegation.rule": "delegation", "allocation.rule": "allocation", "system.kind": "system"}

#: the settings under ``hydra`` a command line may change (everything else could move where files
#: are written, or load configs from outside the package)
HYDRA_ALLOWED = "hydra/launcher=<launcher>, hydra.launcher.<key>, hydra.sweep.dir=<folder>, hydra.verbose"

#: forms on the optional ladder of formality (ics_sim.model.governance.partnership.LADDER)
LADDER_FORMS = ("consultative_forum", "committee", "joint_committee")


# ------------------------------------------------------------------------------ config groups
def config_dir() -> Path:
    return CONFIG_DIR


@functools.cache
def group_options() -> dict[str, tuple[str, ...]]:
    """Every config group of the package and its options (the YAML files in its folder)."""
    root = config_dir()
    out = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in NOT_GROUPS):
        out[folder.name] = tuple(sorted(f.stem for f in folder.glob("*.yaml")))
    return out


@functools.cache
def default_options() -> dict[str, str]:
    """The option each group takes when the user does not choose one (config.yaml's defaults)."""
    text = (config_dir() / "config.yaml").read_text(encoding="utf-8")
    out = {}
    # libyaml's parser when installed (the same safe loading, a tenth of the time at start-up)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for entry in yaml.load(text, Loader=loader).get("defaults", []):
        if isinstance(entry, dict):
            for key, value in entry.items():
                if key in group_options():
                    out[key] = value
    return out


def _options_text(group: str) -> str:
    return ", ".join(group_options()[group])


# ------------------------------------------------------------------------------ parsed items
@dataclass
class Item:
    """One override: ``key`` (dotted, or a group), its value, how it was written."""

    key: str
    value: Any = None
    text: str = ""
    sweep: list[str] | None = None  # the values of a sweep (``a=1,2``), as Hydra prints them
    prefix: str = ""  # "", "+" or "++"

    @property
    def is_group(self) -> bool:
        return self.key in group_options()


def _one_line(exc: BaseException) -> str:
    """Hydra's and OmegaConf's messages, folded into one line without links and noise."""
    parts: list[str] = []
    while exc is not None and len(parts) < 4:
        for line in str(exc).splitlines():
            line = line.strip()
            if line and line != "None" and not line.startswith(("See https", "object_type", "full_key", "Set the environment")) and line not in parts:
                parts.append(line)
        exc = exc.__cause__ or exc.__context__
    return "; ".join(parts)[:300]


def parse_strings(lines: Iterable[str]) -> list[Item]:
    """Parse Hydra override strings (``key=value``) into items; grammar errors name the override."""
    lines = list(lines)
    if not lines:  # no override: nothing to parse, so no Hydra to import (a plain default run)
        return []
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    items = []
    for line in lines:
        line = str(line)
        try:
            (o,) = parser.parse_overrides([line])
        except HydraException as exc:
            key = line.split("=", 1)[0].lstrip("+~") if "=" in line else line
            reason = _one_line(exc).replace(f"Error parsing override '{line}'; ", "")
            raise ConfigError(f"{key}: cannot read the override {line!r} ({reason}); write key=value") from None
        prefix = "++" if o.is_force_add() else "+" if o.is_add() else ""
        if o.is_delete():
            raise ConfigError(f"{o.key_or_group}: removing keys (~) is not supported; set a value instead")
        if o.package is not None:
            raise ConfigError(f"{o.key_or_group}@{o.package}: packages (@) are not supported; write {o.key_or_group}=<option>")
        if o.is_sweep_override():
            items.append(Item(o.key_or_group, None, line, [str(v) for v in o.sweep_string_iterator()], prefix))
        else:
            items.append(Item(o.key_or_group, o.value(), line, None, prefix))
    return items


def parse_mapping(overrides: dict[str, Any]) -> list[Item]:
    """Items from an API mapping ``{"delegation.share": 0.4}`` (values are taken as they are)."""
    items = []
    for key, value in overrides.items():
        key = str(key)
        if key.startswith("~"):
            raise ConfigError(f"{key[1:]}: removing keys (~) is not supported; set a value instead")
        prefix = "++" if key.startswith("++") else "+" if key.startswith("+") else ""
        items.append(Item(key[len(prefix):], value, f"{key}={value!r}", None, prefix))
    return items


def parse(overrides: dict[str, Any] | list[str] | tuple[str, ...] | None) -> list[Item]:
    """Items of a mapping or a list of override strings (``None``: no overrides)."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return parse_mapping(overrides)
    if isinstance(overrides, (list, tuple)):
        return parse_strings(overrides)
    raise ConfigError(f"overrides must be a mapping of keys to values or a list of key=value strings, got {type(overrides).__name__}")


# ------------------------------------------------------------------------------ value checks
def _refuse_special(key: str, value: Any) -> None:
    """Interpolations (``${...}``, resolvers included) and ``???`` are not values."""
    if isinstance(value, str):
        if "${" in value:
            raise ConfigError(f"{key} = {value[:60]!r}: interpolations (${{...}}, resolvers such as oc.env) are not allowed in values; give the value itself")
        if value.strip() == "???":
            raise ConfigError(f"{key} = '???' is the marker of a missing value; give the value itself")
    elif isinstance(value, dict):
        for k, v in value.items():
            _refuse_special(f"{key}.{k}", k)
            _refuse_special(f"{key}.{k}", v)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _refuse_special(f"{key}[{i}]", v)


@dataclass
class Target:
    """What a dotted key points at in the schema."""

    tp: Any
    meta: dict
    shock: str | None = None  # shocks.<option>...: the shock option it belongs to


def resolve_key(key: str) -> Target:
    """The declared type and metadata of a dotted key, or an unknown-key error naming it."""
    parts = key.split(".")
    if any(not part for part in parts):
        raise ConfigError(f"{key}: not a key (an empty name between dots)")
    tp: Any = schema.Config
    meta: dict = {}
    shock = None
    for i, part in enumerate(parts):
        here, parent = ".".join(parts[: i + 1]), ".".join(parts[:i])
        if i == 1 and parts[0] == "shocks":
            # shocks.<option>.<field>: each chosen shock sits under its option's name
            opts = [o for o in group_options()["shocks"] if o != "none"]
            if part not in opts:
                raise ConfigError(f"unknown key {here}{did_you_mean(part, opts)}: the shocks are {', '.join(opts)}")
            shock, tp = part, schema.ShockConfig
            continue
        if typing.get_origin(tp) is list:
            if not part.isdigit():
                raise ConfigError(f"unknown key {here}: {parent} is a list; give an item number (0, 1, ...)")
            tp = typing.get_args(tp)[0]
            continue
        if not dataclasses.is_dataclass(tp):
            raise ConfigError(f"unknown key {here}: {parent} takes a value, not keys")
        fields = fields_of(tp)
        if part not in fields:
            raise unknown_key(here, list(fields))
        meta = dict(fields[part].metadata) or meta
        tp = type_hints(tp)[part]
    return Target(tp, meta, shock)


def _check_group_value(item: Item) -> str | list[str]:
    """The option(s) a group override chooses."""
    g, v, opts = item.key, item.value, group_options()[item.key]
    if isinstance(v, str) and v in opts:
        return v
    if g == "shocks" and isinstance(v, (list, tuple)) and v:
        chosen = []
        for o in v:
            if not isinstance(o, str) or o not in opts:
                raise ConfigError(f"shocks: {o!r} is not a shock: choose from {_options_text('shocks')}{did_you_mean(str(o), opts)}")
            if o in chosen:
                raise ConfigError(f"shocks: {o} is listed twice; list each shock once")
            chosen.append(o)
        return chosen
    if isinstance(v, (list, tuple)) and not v:
        raise ConfigError(f"{g}=[] chooses nothing: choose one of {_options_text(g)}" + (" (shocks=none for no shocks)" if g == "shocks" else ""))
    if isinstance(v, dict):
        if not v:
            raise ConfigError(f"{g}={{}} chooses nothing: choose one of {_options_text(g)}")
        raise ConfigError(f"{g} takes an option name, not a mapping: choose one of {_options_text(g)}; set its keys as {g}.<key>=value")
    if isinstance(v, (list, tuple)):
        extra = " (a list is allowed only for shocks, e.g. shocks=[funding_cut,winter_pressure])"
        raise ConfigError(f"{g} takes one option, not a list: choose one of {_options_text(g)}{extra}")
    if v is None:
        raise ConfigError(f"{g}=null: choose one of {_options_text(g)}" + (" (shocks=none for no shocks)" if g == "shocks" else ""))
    if isinstance(v, str) and v == "":
        raise ConfigError(f"{g} is empty: choose one of {_options_text(g)}")
    text = str(v)
    where = " (config files load only from the package's configs/ folder)" if ("/" in text or "\\" in text or text.startswith(".")) else ""
    raise ConfigError(f"{g}={text[:60]} is not an option{where}: choose one of {_options_text(g)}{did_you_mean(text, opts)}")


def _check_hydra(item: Item) -> None:
    key = item.key
    if key.startswith("hydra/"):
        if key != "hydra/launcher":
            raise ConfigError(f"{key} cannot be changed here: allowed are {HYDRA_ALLOWED}")
        if not isinstance(item.value, str) or not item.value or not is_safe_label(item.value):
            raise ConfigError(f"hydra/launcher={item.value!r} is not a launcher name")
        return
    if key.startswith("hydra.launcher.") or key == "hydra.verbose":
        return
    if key == "hydra.sweep.dir":
        # the sweep's root folder: the user's choice, but spelled plainly (no '..', no odd names)
        path = PurePosixPath(str(item.value))
        parts = [p for p in path.parts if p != "/"]
        if not (isinstance(item.value, str) and parts and all(is_safe_label(p) for p in parts)):
            raise ConfigError(f"hydra.sweep.dir = {str(item.value)[:60]!r}: give a folder path whose names use letters, digits and . _ - + = , (no '..')")
        return
    raise ConfigError(f"{key} cannot be changed here: allowed are {HYDRA_ALLOWED}")


# ------------------------------------------------------------------------------ silent no-ops
@dataclass(frozen=True)
class Use:
    """Keys that only some settings read: ``used(cfg)`` says whether this run reads them."""

    keys: tuple[str, ...]
    used: Callable[[schema.Config], bool]
    by: str  # which setting would use them
    now: Callable[[schema.Config], str]  # the setting that ignores them, for the message
    select: tuple[str, str] | None = None  # (group, option) chosen when the group is not given


def _ladder(c: schema.Config) -> bool:
    return c.governance.ladder and c.governance.form in LADDER_FORMS


def _gov(c: schema.Config) -> str:
    return f"governance={c.governance.form}" + (", governance.ladder=true" if c.governance.ladder else "")


def _pooled_now(c: schema.Config) -> str:
    return f"governance={c.governance.form}, governance.pooled=false, governance.ladder=false"


#: which keys only some settings read (checked in the model code; ODD section 7)
USES: tuple[Use, ...] = (
    Use(("delegation.share",), lambda c: c.delegation.rule == "fixed", "delegation=fixed",
        lambda c: f"delegation={c.delegation.rule}", ("delegation", "fixed")),
    Use(("delegation.initial_share", "delegation.step", "delegation.assurance_tolerance", "delegation.delay_penalty"),
        lambda c: c.delegation.rule == "earned_autonomy", "delegation=earned_autonomy",
        lambda c: f"delegation={c.delegation.rule}", ("delegation", "earned_autonomy")),
    Use(("delegation.max_share",), lambda c: c.delegation.rule in ("subsidiarity", "earned_autonomy"),
        "delegation=subsidiarity or delegation=earned_autonomy", lambda c: f"delegation={c.delegation.rule}"),
    Use(("delegation.knowledge_weight", "delegation.cross_place_flow"), lambda c: c.delegation.rule == "subsidiarity",
        "delegation=subsidiarity", lambda c: f"delegation={c.delegation.rule}", ("delegation", "subsidiarity")),
    Use(("allocation.hi_adjustment",), lambda c: c.allocation.rule == "need_weighted_hi", "allocation=need_weighted_hi",
        lambda c: f"allocation={c.allocation.rule}", ("allocation", "need_weighted_hi")),
    Use(("system.icb",), lambda c: c.system.kind == "icb", "system=icb", lambda c: f"system={c.system.name}", ("system", "icb")),
    Use(("system.places", "system.deprivation_spread", "system.need_index"), lambda c: c.system.kind == "synthetic",
        "system=synthetic (real systems take them from the data)", lambda c: f"system={c.system.name}"),
    Use(("governance.lead_provider", "governance.outcome_payment_share", "costs.contract_management"),
        lambda c: c.governance.form == "lead_provider", "governance=lead_provider", _gov),
    Use(("governance.sro_appointment",), lambda c: c.governance.form == "individual_executive",
        "governance=individual_executive", _gov),
    Use(("governance.advice_weight",),
        lambda c: c.governance.form in ("consultative_forum", "individual_executive") or _ladder(c),
        "governance=consultative_forum or governance=individual_executive (or governance.ladder=true)", _gov),
    Use(("governance.ladder",), lambda c: not c.governance.ladder or c.governance.form in LADDER_FORMS,
        "governance=consultative_forum, committee or joint_committee (the forms on the ladder)", _gov),
    Use(("governance.ladder_up_trust", "governance.ladder_down_trust", "governance.ladder_months"), _ladder,
        "governance.ladder=true (forms consultative_forum, committee, joint_committee)", _gov),
    Use(("finance.pooled_council_share", "costs.pooled_admin_gbp"), lambda c: c.governance.pooled or _ladder(c),
        "governance.pooled=true (as governance=joint_committee sets) or governance.ladder=true", _pooled_now),
    Use(("costs.integration_bonus",),
        lambda c: c.governance.pooled or c.governance.form == "lead_provider" or _ladder(c),
        "governance.pooled=true, governance=lead_provider or governance.ladder=true", _pooled_now),
    Use(("decision.independent_chair_moderation", "costs.independent_chair_gbp"), lambda c: c.chair == "independent",
        "chair=independent", lambda c: f"chair={c.chair}"),
    Use(("decision.supermajority",), lambda c: c.decision_rule == "supermajority", "decision_rule=supermajority",
        lambda c: f"decision_rule={c.decision_rule}"),
    Use(("sed.external_gbp_per_head", "sed.ramp_years", "sed.anchor_local_share", "sed.effect"), lambda c: c.sed.enabled,
        "sed.enabled=true", lambda c: "sed.enabled=false"),
)


def _use_of(key: str) -> Use | None:
    for use in USES:
        for k in use.keys:
            if key == k or key.startswith(k + ".") or key.startswith(k + "["):
                return use
    return None


def _given_keys(key: str, value: Any) -> list[str]:
    """Dotted keys an override sets: a mapping value sets each of its keys."""
    if isinstance(value, dict) and value:
        out = []
        for k, v in value.items():
            out.extend(_given_keys(f"{key}.{k}", v))
        return out
    return [key]


# ------------------------------------------------------------------------------ the plan
@dataclass
class Plan:
    """Checked overrides of one run, ready to compose.

    Attributes:
        groups: the option(s) chosen per group, by the user or selected by a key (``selected``).
        values: dotted keys and their values, in the order given.
        hydra: Hydra override strings (command line only).
        given: every dotted key the user set (for the no-op check).
        selected: groups chosen because a key only their option reads was given:
            ``{"delegation": ("fixed", "delegation.share")}``.
    """

    groups: dict[str, str | list[str]] = field(default_factory=dict)
    values: list[tuple[str, Any]] = field(default_factory=list)
    hydra: list[str] = field(default_factory=list)
    given: list[str] = field(default_factory=list)
    selected: dict[str, tuple[str, str]] = field(default_factory=dict)

    def group_overrides(self) -> list[str]:
        out = []
        for g, v in self.groups.items():
            out.append(f"{g}=[{','.join(v)}]" if isinstance(v, list) else f"{g}={v}")
        return out

    def command_line(self, items: list[Item]) -> list[str]:
        """Override strings for Hydra that compose to this plan (groups selected by a key added)."""
        out = [f"{i.text[len(i.prefix):]}" for i in items]
        out += [f"{g}={o}" for g, (o, _) in self.selected.items()]
        return out


def plan(items: list[Item], allow_hydra: bool = False) -> Plan:
    """Check every override before composing; return what to compose.

    Raises:
        ConfigError: the first bad override, in one line naming its field.
    """
    p = Plan()
    seen: set[str] = set()
    top = list(fields_of(schema.Config))
    for item in items:
        key = item.key
        if key in seen:
            raise ConfigError(f"{key} is given twice: give each key once")
        seen.add(key)
        if item.sweep is not None:
            raise ConfigError(f"{key}: {item.text!r} is a sweep of several values; give one value, or sweep with python -m ics_sim -m ...")
        if key == "hydra" or key.startswith(("hydra.", "hydra/")):
            if not allow_hydra:
                raise ConfigError(f"{key}: hydra settings apply to the command line only")
            _refuse_special(key, item.value)
            _check_hydra(item)
            p.hydra.append(item.text[len(item.prefix):])
            continue
        _refuse_special(key, item.value)
        if "/" in key:
            raise ConfigError(f"unknown key {key}: config groups here are {', '.join(group_options())}")
        if item.is_group:
            p.groups[key] = _check_group_value(item)
            continue
        if key in GROUP_KEYS:
            g = GROUP_KEYS[key]
            raise ConfigError(f"{key} is set by the {g} group: write {g}=<option>, one of {_options_text(g)}")
        if key.split(".")[0] not in top:
            raise unknown_key(key.split(".")[0], top)
        if key.split(".")[0] == places.KEY:
            _check_place_item(key, item.value)
            p.values.append((key, item.value))
            p.given.extend(_given_keys(key, item.value))
            continue
        target = resolve_key(key)
        value = item.value
        if hasattr(target.tp, "__dataclass_fields__") and isinstance(value, dict) and not value:
            raise ConfigError(f"{key}={{}} sets nothing: set its keys as {key}.<key>=value, allowed keys here are {', '.join(fields_of(target.tp))}")
        coerce(key, value, target.tp, target.meta)  # type, finiteness, range, choices
        p.values.append((key, value))
        p.given.extend(_given_keys(key, value))
    _select_groups(p)
    _check_shock_keys(p)
    return p


def _check_place_item(key: str, value: Any) -> None:
    """A ``place_settings`` override: its keys and values are checked as the system-wide ones are
    (the place itself is checked once the system is known, :func:`~ics_sim.config.validate.validate`)."""
    parts = key.split(".")
    if any(not part for part in parts):
        raise ConfigError(f"{key}: not a key (an empty name between dots)")
    if len(parts) == 1:
        if value == {}:
            raise ConfigError(f"{key}={{}} sets nothing: give a place's settings, e.g. {key}.<place>.governance.form=joint_committee")
        if not isinstance(value, dict):
            raise ConfigError(f"{key} takes places and their settings, e.g. {key}.<place>.governance.form=joint_committee; got {value!r}"[:300])
        for place, given in value.items():
            _check_place_item(f"{key}.{place}", given)
        return
    if len(parts) == 2 and not isinstance(value, dict):
        raise ConfigError(f"{key} takes settings, e.g. {key}.chair=icb: a place may set {places.allowed_text()}")
    nested: Any = value
    for part in reversed(parts[2:]):
        nested = {part: nested}
    if not isinstance(nested, dict) or not nested:
        raise ConfigError(f"{key}={{}} sets nothing: a place may set {places.allowed_text()}")
    check_one_place(".".join(parts[:2]), nested)


def place_configs(cfg: schema.Config) -> list[schema.Config]:
    """The merged settings of every place of ``cfg``'s system (:mod:`ics_sim.config.places`)."""
    if not cfg.place_settings:
        return [cfg]
    names, codes = places.system_places(cfg.system)
    return places.place_configs(cfg, names, codes)


def _select_groups(p: Plan) -> None:
    """A key only one option of a group reads selects that option when the group is not given."""
    for key in p.given:
        use = _use_of(key)
        if use is None or use.select is None:
            continue
        group, option = use.select
        if group in p.groups and group not in p.selected:
            continue  # the user chose; a mismatch is reported after composition
        if group in p.selected and p.selected[group][0] != option:
            other_opt, other_key = p.selected[group]
            raise ConfigError(
                f"{key} (read by {group}={option}) and {other_key} (read by {group}={other_opt}) need "
                f"different {group} options: choose one with {group}=<option>"
            )
        if default_options().get(group) == option:
            continue
        p.groups[group] = option
        p.selected[group] = (option, key)


def _check_shock_keys(p: Plan) -> None:
    chosen = p.groups.get("shocks", default_options().get("shocks", "none"))
    chosen = chosen if isinstance(chosen, list) else [chosen]
    for key in p.given:
        parts = key.split(".")
        if parts[0] == "shocks" and len(parts) > 1 and parts[1] not in chosen:
            raise ConfigError(f"{key} has no effect with shocks={','.join(chosen)}: it is used only when shocks={parts[1]} is chosen (or a list with it)")


def _unused(key: str, cfg: schema.Config, configs: list[schema.Config]) -> str | None:
    """Why the run would ignore ``key`` (the message), or None when some place reads it. A
    system-wide key is read when any place's settings read it; a place's key when its own do."""
    if key.split(".")[0] == places.KEY:
        parts = key.split(".")
        use = _use_of(".".join(parts[2:]))
        if use is None:
            return None
        names, codes = places.system_places(cfg.system)
        here = places.merged(cfg, cfg.place_settings.get(parts[1]))
        if use.used(here):
            return None
        return f"{key} has no effect with {use.now(here)} at {names[places.find_place(parts[1], names, codes)]}: it is used only with {use.by}"
    use = _use_of(key)
    if use is None or any(use.used(c) for c in configs):
        return None
    return f"{key} has no effect with {use.now(cfg)}: it is used only with {use.by}"


def check_uses(p: Plan, cfg: schema.Config) -> None:
    """No silent no-ops: every key the user set must be read by the chosen options (for some
    place; a place's own key by that place's settings)."""
    configs = place_configs(cfg)
    for key in p.given:
        why = _unused(key, cfg, configs)
        if why is not None:
            raise ConfigError(why)


def unused_keys(overrides: dict[str, Any]) -> list[str]:
    """The keys of ``overrides`` that the options they choose do not read (what :func:`load` would
    refuse as a silent no-op). For designs that apply one draw of many parameters to every option
    (robustness futures): each option keeps only the keys it reads."""
    p = plan(parse(overrides))
    typed = from_omegaconf(compose_plan(p))
    configs = place_configs(typed)
    return [k for k in p.given if _unused(k, typed, configs) is not None]


# ------------------------------------------------------------------------------ composition
#: the folder of the saved compositions, while :func:`composition_cache` is in force (else None)
_CACHE_FOLDER: Path | None = None


@contextlib.contextmanager
def composition_cache(folder: Path | None) -> Iterator[None]:
    """Within the block, Hydra's compositions of the package's configs (without Hydra's own node)
    are saved in ``folder`` and read back by later processes instead of composing again (issue
    13: composing costs a tenth of a second or more, twice per run of the command line: once for
    the run, once for its scenario label's defaults). ``folder`` None: nothing is saved or read.

    A saved composition is found by a key over everything it depends on (:func:`_cache_key`):
    the overrides, every file of ``configs/`` by path and content, the schema's defaults, and the
    versions of Python, Hydra and OmegaConf. A change to any YAML file or to the schema gives a new
    key, so an old composition is never read again. An unreadable or corrupt file is ignored
    (composed afresh and saved again); a folder that cannot be written only means no saving.
    Only the command line uses it (:mod:`ics_sim.__main__`); :func:`load` as called from Python
    composes as before."""
    global _CACHE_FOLDER
    before, _CACHE_FOLDER = _CACHE_FOLDER, folder
    try:
        yield
    finally:
        _CACHE_FOLDER = before


@functools.cache
def _configs_digest(root: Path) -> str:
    """A digest of every file of the ``configs/`` folder ``root`` (path and content) and of the
    schema's defaults: what a composition reads besides its overrides."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(json.dumps(dataclasses.asdict(schema.Config()), sort_keys=True, default=repr).encode())
    return digest.hexdigest()


def _cache_key(overrides: tuple[str, ...]) -> str:
    import sys
    from importlib.metadata import version

    import omegaconf

    # Hydra's version from its metadata: importing Hydra is what a saved composition spares
    parts = ["ics_sim composition 2", sys.version, version("hydra-core"), omegaconf.__version__,
             _configs_digest(config_dir()), *overrides]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _flags(node, path: tuple = ()) -> list:
    """The OmegaConf flags set on ``node`` and on each mapping below it (struct, readonly), with
    their paths: what a plain copy of the values does not carry."""
    out = [[list(path), dict(node._metadata.flags)]] if node._metadata.flags else []
    for key in node.keys():
        child = node._get_node(key)
        if isinstance(child, DictConfig):
            out += _flags(child, (*path, key))
    return out


def _read_saved(path: Path) -> DictConfig | None:
    """A saved composition: plain JSON of its values (interpolations as written) and its flags.
    Never a pickle: the folder sits in the working directory's ``results/``, and a file there
    must not be able to run code."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        cfg = OmegaConf.create(saved["config"])
        for keys, flags in saved["flags"]:
            node = cfg
            for key in keys:
                node = node._get_node(key)
            for flag, value in flags.items():
                node._set_flag(flag, value)
    except Exception:  # noqa: BLE001  (missing, partly written by an older version, corrupt)
        return None
    return cfg if isinstance(cfg, DictConfig) else None


#: saved compositions kept in the cache folder; the oldest beyond these are removed on saving
KEEP_SAVED = 256


def _save(path: Path, cfg: DictConfig) -> None:
    """Write atomically (a temporary file renamed into place), so a reader never sees half a file;
    keep the newest :data:`KEEP_SAVED` files of the folder (keys of edited configs go stale)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"config": OmegaConf.to_container(cfg, resolve=False), "flags": _flags(cfg)}, f)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        saved = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in saved[KEEP_SAVED:]:
            old.unlink(missing_ok=True)
    except OSError:  # a read-only or full cache folder (or another process pruning): no saving
        pass


@functools.lru_cache(maxsize=32)
def _compose_groups(overrides: tuple[str, ...], with_hydra: bool) -> DictConfig:
    """Hydra's composition of the package's configs with group (and hydra) overrides (cached in
    the process, and across processes under :func:`composition_cache`, without Hydra's node)."""
    folder = _CACHE_FOLDER
    if folder is None or with_hydra or any(o.lstrip("+~").startswith("hydra") for o in overrides):
        return _compose_with_hydra(overrides, with_hydra)
    path = Path(folder) / f"{_cache_key(overrides)}.json"
    cfg = _read_saved(path)
    if cfg is None:
        cfg = _compose_with_hydra(overrides, with_hydra)
        _save(path, cfg)
    return cfg


def _compose_with_hydra(overrides: tuple[str, ...], with_hydra: bool) -> DictConfig:
    """Hydra's composition of the package's configs with group (and hydra) overrides."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import MissingConfigException

    from ics_sim.config.hydra_store import register_with_hydra

    register_with_hydra()

    # inside a running Hydra app (a scenario label composed during a job) keep the app's state
    running = GlobalHydra.instance().hydra if GlobalHydra.instance().is_initialized() else None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=with_hydra)
    except MissingConfigException as exc:
        opts = getattr(exc, "options", None)
        missing = getattr(exc, "missing_cfg_file", "") or ""
        group = str(missing).rsplit("/", 1)[0] if "/" in str(missing) else "a config group"
        raise ConfigError(f"{group}={str(missing).rsplit('/', 1)[-1]} is not an option" + (f": choose one of {', '.join(opts)}" if opts else f" ({_one_line(exc)})")) from None
    except Exception as exc:  # Hydra and OmegaConf raise many types; keep one readable line
        raise ConfigError(_hydra_message(exc, overrides)) from None
    finally:
        GlobalHydra.instance().clear()
        if running is not None:
            GlobalHydra.instance().initialize(running)
    return cfg


def _hydra_message(exc: BaseException, overrides: tuple[str, ...]) -> str:
    """Hydra's composition error as one line; an unknown hydra key gets the keys allowed there."""
    text = _one_line(exc)
    if text.startswith("Could not override '"):
        key = text.split("'")[1]
        parent = key.rsplit(".", 1)[0]
        groups = tuple(o for o in overrides if "/" in o.split("=", 1)[0] or "." not in o.split("=", 1)[0])
        try:
            node = OmegaConf.select(_compose_groups(groups, True), parent)
        except ConfigError:
            node = None
        if isinstance(node, DictConfig):
            return str(unknown_key(key, [str(k) for k in node.keys()]))
        return f"unknown key {key}"
    return text


def compose_plan(p: Plan, with_hydra: bool = False) -> DictConfig:
    """Compose a checked plan: the group options through Hydra, then the values, as Hydra does."""
    cfg = copy.deepcopy(_compose_groups(tuple(p.group_overrides() + p.hydra), with_hydra))
    for key, value in p.values:
        try:
            OmegaConf.update(cfg, key, value, merge=True)
        except Exception as exc:
            raise ConfigError(f"{key}: cannot set it here ({_one_line(exc)})") from None
    return cfg


# ------------------------------------------------------------------------------ sweeps
def expand(items: list[Item]) -> list[list[Item]]:
    """The combinations of a multirun, as Hydra's basic sweeper builds them (last key fastest)."""
    choices = []
    for item in items:
        if item.sweep is None:
            choices.append([item])
        else:
            choices.append(parse_strings([f"{item.prefix}{item.key}={v}" for v in item.sweep]))
    return [list(combo) for combo in itertools.product(*choices)]


# ------------------------------------------------------------------------------ the whole path
def from_omegaconf(cfg: DictConfig) -> schema.Config:
    """Validate a composed OmegaConf config (e.g. the one ``@hydra.main`` receives)."""
    try:
        data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    except Exception as exc:  # an interpolation or missing value in a config file
        raise ConfigError(_one_line(exc)) from None
    assert isinstance(data, dict)
    return validate(data)


def load(overrides: dict[str, Any] | list[str] | None = None) -> tuple[schema.Config, DictConfig]:
    """Check, compose and validate ``overrides`` (see :func:`ics_sim.config.load_config`)."""
    p = plan(parse(overrides))
    cfg = compose_plan(p)
    typed = from_omegaconf(cfg)
    check_uses(p, typed)
    return typed, cfg
