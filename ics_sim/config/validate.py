"""Validate a composed configuration against the schema and build typed objects.

Every problem stops the run with one line that names the field and what is allowed, e.g.::

    ConfigError: delegation.share = 1.5 is out of range: allowed 0 to 1 (share of domain budget)
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import re
import types
import typing
from typing import Any

from ics_sim.config import schema
from ics_sim.config.labels import MAX_LABEL, SAFE_CHARACTERS, is_safe_label


class ConfigError(ValueError):
    """A configuration value is unknown, of the wrong type or out of range.

    The message is one line that starts with the field and says what is allowed.
    """


def did_you_mean(word: str, options: list[str] | tuple[str, ...]) -> str:
    """' (did you mean X?)' for the closest of ``options``, or '' when none is close."""
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_key(path: str, allowed: list[str] | tuple[str, ...]) -> ConfigError:
    """The error for a key the schema does not have at ``path``'s level."""
    name = path.rsplit(".", 1)[-1]
    prefix = path[: len(path) - len(name)]
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
    return ConfigError(f"unknown key {path}{hint}: allowed keys here are {', '.join(sorted(allowed))}")


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints`` of a schema dataclass (cached: it is slow and called often)."""
    return typing.get_type_hints(cls)


@functools.cache
def fields_of(cls: type) -> dict[str, dataclasses.Field]:
    """The dataclass fields of a schema class by name."""
    return {f.name: f for f in dataclasses.fields(cls)}


def _num(x: float) -> str:
    """A bound for a message: 0.5, 1,000, 2,147,483,647 (no exponents)."""
    if float(x).is_integer() and abs(x) >= 1000:
        return f"{int(x):,}"
    return f"{x:g}"


def _fmt_range(meta: dict) -> str:
    lo, hi = meta.get("range", (None, None))
    unit = meta.get("unit") or ""
    unit_txt = f" ({unit})" if unit and unit != "-" else ""
    if lo is not None and hi is not None:
        return f"allowed {_num(lo)} to {_num(hi)}{unit_txt}"
    if lo is not None:
        return f"allowed at least {_num(lo)}{unit_txt}"
    if hi is not None:
        return f"allowed at most {_num(hi)}{unit_txt}"
    return f"allowed any value{unit_txt}"


def _origin(tp: Any) -> tuple[Any, tuple]:
    return typing.get_origin(tp), typing.get_args(tp)


def _short(value: Any) -> str:
    """A value for a message: its repr, cut so that a message stays one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def coerce(path: str, value: Any, tp: Any, meta: dict) -> Any:
    """Coerce one value to the declared type, checking choices and range.

    Args:
        path: the dotted field name, for messages.
        value: the value given.
        tp: the declared type (from the schema's annotations).
        meta: the field's metadata (unit, range, choices); a per-domain block's fields inherit
            the block's.

    Raises:
        ConfigError: the value has the wrong type, is not finite, is out of range or not one of
            the choices.
    """
    origin, args = _origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(path, value, inner[0], meta)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, path, meta)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path} must be a list, got {_short(value)}")
        (item_tp,) = args
        return [coerce(f"{path}[{i}]", v, item_tp, meta) for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{path} must be true or false, got {_short(value)}")
    if tp is int:
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{path} must be a finite whole number, {_fmt_range(meta)}; got {_short(value)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ConfigError(f"{path} must be a whole number, {_fmt_range(meta)}; got {_short(value)}")
        value = int(value)
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path} must be a number, {_fmt_range(meta)}; got {_short(value)}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{path} must be a finite number, {_fmt_range(meta)}; got {_short(value)}")
    elif tp is str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # the command line reads `scenario=2024` as a number
        if not isinstance(value, str):
            raise ConfigError(f"{path} must be text, got {_short(value)}")
        choices = meta.get("choices")
        if choices and value not in choices:
            raise ConfigError(
                f"{path} = {_short(value)} is not allowed: choose one of {', '.join(choices)}"
                + did_you_mean(value, choices)
            )
        if not value.isprintable() or len(value) > 200:
            raise ConfigError(f"{path} must be printable text of at most 200 characters, got {_short(value)}")
        return value
    lo, hi = meta.get("range", (None, None))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{path} = {value:g} is out of range: {_fmt_range(meta)}")
    return value


def build(cls: type, data: Any, path: str = "", inherited: dict | None = None) -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and bad values.

    Fields without metadata of their own (the five fields of a per-domain block) take
    ``inherited``, the metadata of the field holding the block, so each is range-checked.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'} must be a mapping of keys to values, got {_short(data)}")
    hints = type_hints(cls)
    fields = fields_of(cls)
    for name in data:
        if name not in fields:
            raise unknown_key(f"{path}.{name}" if path else str(name), list(fields))
    kwargs = {}
    for name, value in data.items():
        f = fields[name]
        sub = f"{path}.{name}" if path else name
        meta = dict(f.metadata) or dict(inherited or {})
        kwargs[name] = coerce(sub, value, hints[name], meta)
    return cls(**kwargs)


def _check_consistency(cfg: schema.Config) -> None:
    """Cross-field checks the per-field ranges cannot express."""
    shares = cfg.finance.nhs_domain_shares.as_tuple()
    if abs(sum(shares) - 1.0) > 1e-6:
        raise ConfigError(
            f"finance.nhs_domain_shares must sum to 1 (they sum to {sum(shares):.4f}): "
            "allowed shares 0 to 1 that add up to 1"
        )
    for name, text in (("scenario", cfg.scenario), ("system.name", cfg.system.name)):
        if text and not is_safe_label(text):
            raise ConfigError(
                f"{name} = {_short(text)} is not a safe label: use {SAFE_CHARACTERS} "
                f"(at most {MAX_LABEL} characters, no leading dot, no '..')"
            )
    if cfg.system.kind in ("icb", "named"):
        _check_icb(cfg.system.icb)
    h = cfg.health
    if h.hle_least_deprived < h.hle_most_deprived:
        raise ConfigError("health.hle_least_deprived must be at least health.hle_most_deprived")
    for hle_name in ("hle_most_deprived", "hle_least_deprived"):
        v = getattr(h, hle_name)
        if not h.hle_floor <= v <= h.hle_floor + h.hle_span:
            raise ConfigError(
                f"health.{hle_name} = {v:g} is out of range: allowed health.hle_floor to "
                f"health.hle_floor + health.hle_span ({h.hle_floor:g} to {h.hle_floor + h.hle_span:g} years)"
            )
    g = cfg.governance
    if g.ladder_down_trust >= g.ladder_up_trust:
        raise ConfigError(
            f"governance.ladder_down_trust ({g.ladder_down_trust:g}) must be below "
            f"governance.ladder_up_trust ({g.ladder_up_trust:g})"
        )
    if cfg.system.kind == "synthetic" and not cfg.system.places:
        raise ConfigError("system.places must list at least one place for a synthetic system")
    names = [p.name for p in cfg.system.places]
    if len(set(names)) != len(names):
        raise ConfigError(f"system.places: place names must be unique, got {names}")
    for i, shock in enumerate(cfg.shocks):
        _check_shock(f"shocks[{i}]", shock)


def _check_shock(path: str, shock: schema.ShockConfig) -> None:
    _parse_month(f"{path}.start", shock.start)
    if shock.domain not in schema.PerDomain.__dataclass_fields__ and shock.domain != "all":
        raise ConfigError(
            f"{path}.domain = {_short(shock.domain)} is not allowed: choose one of "
            f"{', '.join(schema.PerDomain.__dataclass_fields__)}, all"
        )


def _parse_month(path: str, text: str) -> tuple[int, int]:
    try:
        year_s, month_s = str(text).split("-")
        year, month = int(year_s), int(month_s)
        if not 1 <= month <= 12:
            raise ValueError
    except ValueError:
        raise ConfigError(f"{path} = {text!r} must be a date YYYY-MM (month 01 to 12)") from None
    return year, month


def _check_icb(key: str) -> None:
    """``system.icb`` must name exactly one of the 42 ICBs (the words of
    :func:`ics_sim.model.systems.resolve_icb`, which builds the layout from it)."""
    from ics_sim.data.reference import find_icb

    examples = "e.g. E54000019, QGH or herefordshire_worcestershire"
    text = str(key or "").strip()
    if not text:
        raise ConfigError(f"system.icb must name one of the 42 ICBs (ONS code, ODS code or name), {examples}; it is empty")
    try:
        find_icb(text)
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise ConfigError(
            f"system.icb = {text!r} does not name one ICB: {reason}. "
            f"Use an ONS code, ODS code or name of one of the 42 ICBs, {examples}"
        ) from None


def _flatten_shocks(value: Any) -> Any:
    """The shocks of a composed config as one timeline.

    The ``shocks`` group writes each chosen option under its own name (``shocks.funding_cut``),
    so that ``shocks=[funding_cut,winter_pressure]`` keeps both; the typed config holds them as
    one list in the order chosen. A list (e.g. a results folder's ``config.yaml``) is kept.
    """
    if not isinstance(value, dict):
        return value
    events = []
    for name, shock in value.items():
        if isinstance(shock, schema.ShockConfig):
            shock = dataclasses.asdict(shock)
        _check_shock(f"shocks.{name}", build(schema.ShockConfig, shock, f"shocks.{name}"))
        events.append(shock)
    return events


def validate(data: dict) -> schema.Config:
    """Validate a plain mapping (e.g. ``OmegaConf.to_container(cfg)``) and return a typed Config."""
    if not isinstance(data, dict):
        raise ConfigError(f"config must be a mapping of keys to values, got {_short(data)}")
    data = {k: v for k, v in data.items() if k != "hydra"}
    if "shocks" in data:
        data["shocks"] = _flatten_shocks(data["shocks"])
    place_settings = data.pop("place_settings", {})
    cfg = build(schema.Config, data)
    _check_consistency(cfg)
    cfg.place_settings = check_place_settings(cfg, place_settings)
    return cfg


def _short_names(names: list[str], codes: list[str]) -> list[str]:
    """The shortest word that names each place (``herefordshire`` for "Herefordshire, County of")."""
    from ics_sim.config.places import find_place, slug

    return [min((w for w in (slug(n), slug(re.split(r"[,(]", n, maxsplit=1)[0])) if find_place(w, names, codes) == i), key=len)
            for i, n in enumerate(names)]


def check_place_settings(cfg: schema.Config, value: Any) -> dict[str, Any]:
    """Validate ``place_settings`` against the run's places and the schema; return it with every
    value coerced to its declared type (keys as the user wrote them).

    Raises:
        ConfigError: a place the system does not have (the allowed places listed), a key a place
            may not set (with the reason, or the keys allowed), or a bad value, each naming the
            full field, e.g. ``place_settings.Herefordshire.governance.form``.
    """
    from ics_sim.config import places as pl

    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{pl.KEY} must be a mapping of places to settings, e.g. {pl.KEY}.<place>.chair=icb; got {_short(value)}")
    names, codes = pl.system_places(cfg.system)
    seen: dict[int, str] = {}
    out: dict[str, Any] = {}
    for key, given in value.items():
        where = f"{pl.KEY}.{key}"
        i = pl.find_place(str(key), names, codes)
        if i is None:
            short = _short_names(names, codes)
            real = [c for c, n in zip(codes, names, strict=True) if c and c != n]
            listed = ", ".join(short) + (f" (or their codes: {', '.join(real)})" if real else "")
            raise ConfigError(f"{where}: {cfg.system.name} has no place called {str(key)!r}{did_you_mean(pl.slug(key), short)}; its places are {listed}")
        if i in seen:
            raise ConfigError(f"{where} and {pl.KEY}.{seen[i]} both name {names[i]}: give each place once")
        seen[i] = str(key)
        if not isinstance(given, dict) or not given:
            raise ConfigError(f"{where} must set at least one key: allowed are {pl.allowed_text()}; got {_short(given)}")
        out[str(key)] = check_one_place(where, given)
        try:
            pl.selected_rule(out[str(key)].get("delegation", {}), cfg.delegation.rule)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}: choose one with {where}.delegation.rule=<rule>") from None
    return out


def check_one_place(where: str, given: dict) -> dict[str, Any]:
    """Check one place's settings (``where`` is ``place_settings.<place>``): the keys a place may
    set and each value as the system-wide one is checked; returns them coerced."""
    from ics_sim.config import places as pl

    hints, fields = type_hints(schema.Config), fields_of(schema.Config)
    out: dict[str, Any] = {}
    for group, value in given.items():
        path = f"{where}.{group}"
        if group not in pl.PER_PLACE:
            reason = "it is one setting for the whole run" if group in fields else "it is not a setting"
            raise ConfigError(f"{path} cannot be set for one place ({reason}): a place may set {pl.allowed_text()}")
        allowed = pl.PER_PLACE[group]
        if allowed is None:
            out[group] = coerce(path, value, hints[group], dict(fields[group].metadata))
            continue
        cls = hints[group]
        if not isinstance(value, dict) or not value:
            raise ConfigError(f"{path} takes keys, e.g. {path}.{allowed[0]}=...: allowed are {', '.join(allowed)}; got {_short(value)}")
        sub: dict[str, Any] = {}
        for name, v in value.items():
            full = f"{path}.{name}"
            if name not in allowed:
                reason = pl.SYSTEM_ONLY.get(f"{group}.{name}")
                if reason is not None:
                    raise ConfigError(f"{full} cannot be set for one place ({reason}): set {group}.{name} for the whole run")
                raise unknown_key(full, list(allowed))
            sub[name] = coerce(full, v, type_hints(cls)[name], dict(fields_of(cls)[name].metadata))
        out[group] = sub
    return out
