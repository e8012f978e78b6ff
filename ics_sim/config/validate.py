"""Validate a composed configuration against the schema and build typed objects.

Every problem stops the run with one line that names the field and what is allowed, e.g.::

    ConfigError: delegation.share = 1.5 is out of range: allowed 0 to 1 (share of domain budget)
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from ics_sim.config import schema


class ConfigError(ValueError):
    """A configuration value is unknown, of the wrong type or out of range."""


def _fmt_range(meta: dict) -> str:
    lo, hi = meta.get("range", (None, None))
    unit = meta.get("unit") or ""
    unit_txt = f" ({unit})" if unit and unit != "-" else ""
    if lo is not None and hi is not None:
        return f"allowed {lo:g} to {hi:g}{unit_txt}"
    if lo is not None:
        return f"allowed at least {lo:g}{unit_txt}"
    if hi is not None:
        return f"allowed at most {hi:g}{unit_txt}"
    return f"allowed any value{unit_txt}"


def _origin(tp: Any) -> tuple[Any, tuple]:
    return typing.get_origin(tp), typing.get_args(tp)


def _coerce(path: str, value: Any, tp: Any, meta: dict) -> Any:
    """Coerce one value to the declared type, checking choices and range."""
    origin, args = _origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(path, value, inner[0], meta)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, path)
    if origin is list:
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path} must be a list, got {value!r}")
        (item_tp,) = args
        return [_coerce(f"{path}[{i}]", v, item_tp, meta) for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{path} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ConfigError(f"{path} must be a whole number, {_fmt_range(meta)}; got {value!r}")
        value = int(value)
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path} must be a number, {_fmt_range(meta)}; got {value!r}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{path} must be a finite number, {_fmt_range(meta)}; got {value!r}")
    elif tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path} must be text, got {value!r}")
        choices = meta.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"{path} = {value!r} is not allowed: choose one of {', '.join(choices)}")
        return value
    lo, hi = meta.get("range", (None, None))
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{path} = {value:g} is out of range: {_fmt_range(meta)}")
    return value


def build(cls: type, data: Any, path: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping, rejecting unknown keys and bad values."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'} must be a mapping of keys to values, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(
            f"unknown key {where}{unknown[0]}: allowed keys here are {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, value in data.items():
        f = fields[name]
        sub = f"{path}.{name}" if path else name
        kwargs[name] = _coerce(sub, value, hints[name], dict(f.metadata))
    return cls(**kwargs)


def _check_consistency(cfg: schema.Config) -> None:
    """Cross-field checks the per-field ranges cannot express."""
    shares = cfg.finance.nhs_domain_shares.as_tuple()
    if abs(sum(shares) - 1.0) > 1e-6:
        raise ConfigError(
            f"finance.nhs_domain_shares must sum to 1 (they sum to {sum(shares):.4f}): "
            "allowed shares 0 to 1 that add up to 1"
        )
    h = cfg.health
    if h.hle_least_deprived < h.hle_most_deprived:
        raise ConfigError("health.hle_least_deprived must be at least health.hle_most_deprived")
    for hle_name in ("hle_most_deprived", "hle_least_deprived"):
        v = getattr(h, hle_name)
        if not h.hle_floor <= v <= h.hle_floor + h.hle_span:
            raise ConfigError(
                f"health.{hle_name} = {v:g} is out of range: allowed health.hle_floor to "
                f"hle_floor + hle_span ({h.hle_floor:g} to {h.hle_floor + h.hle_span:g} years)"
            )
    if cfg.governance.ladder_down_trust >= cfg.governance.ladder_up_trust:
        raise ConfigError("governance.ladder_down_trust must be below governance.ladder_up_trust")
    if cfg.system.kind == "synthetic" and not cfg.system.places:
        raise ConfigError("system.places must list at least one place for a synthetic system")
    names = [p.name for p in cfg.system.places]
    if len(set(names)) != len(names):
        raise ConfigError(f"system.places: place names must be unique, got {names}")
    for i, shock in enumerate(cfg.shocks):
        _parse_month(f"shocks[{i}].start", shock.start)
        if shock.domain not in schema.PerDomain.__dataclass_fields__ and shock.domain != "all":
            raise ConfigError(
                f"shocks[{i}].domain = {shock.domain!r} is not allowed: choose one of "
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


def validate(data: dict) -> schema.Config:
    """Validate a plain mapping (e.g. ``OmegaConf.to_container(cfg)``) and return a typed Config."""
    data = {k: v for k, v in data.items() if k != "hydra"}
    cfg = build(schema.Config, data)
    _check_consistency(cfg)
    return cfg
