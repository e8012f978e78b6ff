"""Settings for one place: which keys a place may set, how a place is named, and a place's
merged settings.

A run's ``place_settings`` maps a place to the settings it takes instead of the system-wide
ones, e.g. ``{"Herefordshire": {"governance": {"form": "joint_committee", "pooled": True}}}``
(on the command line ``place_settings.Herefordshire.governance.form=joint_committee``).

- **Naming a place**: its name, case-insensitive, with spaces and punctuation written as ``_``
  (``telford_and_wrekin``); an ONS-style suffix may be left off (``Herefordshire`` for
  "Herefordshire, County of"); or its code where the system has codes (``E06000019``). A word
  that would name two places of the run (a council split between ICBs, in an England run) does
  not name either: use the part's full name, e.g. ``north_yorkshire_humber_and_north_yorkshire_part``.
- **What a place may set** (:data:`PER_PLACE`): ``governance.*`` except the ladder of formality,
  ``membership.*``, ``decision_rule``, ``chair`` and ``delegation.*`` except the properties of
  care that the subsidiarity test weighs against local knowledge (``scale_elasticity``,
  ``cross_place_flow``: economies of scale and patient flows belong to the system).
- **Merging** (:func:`merged`): the system-wide settings, then, where the place names a
  governance form other than the system's, that form's own settings (its file in
  ``configs/governance/``, as ``governance=<form>`` would set them: a joint committee pools,
  a lead provider meets monthly) except those the user set system-wide, then the place's own
  keys. Delegation keys that only one rule reads select that rule for the place when it names
  none (``place_settings.X.delegation.share=0.6`` alone: a fixed share at X).

Validation (types, ranges, choices, unknown places) is in :mod:`ics_sim.config.validate`; the
command-line and API checks (a key a place's settings would ignore; a delegation key that
selects its rule for that place) in :mod:`ics_sim.config.overrides`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

import yaml

from ics_sim.config.paths import CONFIG_DIR
from ics_sim.config.schema import Config, GovernanceConfig, SystemConfig

#: the top-level key
KEY = "place_settings"

#: what a place may set: a group name and the fields allowed under it (None: a single value)
PER_PLACE: dict[str, tuple[str, ...] | None] = {
    "governance": ("form", "cadence_months", "pooled", "lead_provider", "outcome_payment_share", "sro_appointment", "advice_weight"),
    "membership": ("vcse", "healthwatch", "social_care"),
    "decision_rule": None,
    "chair": None,
    "delegation": ("rule", "share", "max_share", "initial_share", "step", "assurance_tolerance", "delay_penalty", "knowledge_weight"),
}

#: keys a place may not set, with the reason given in the error
SYSTEM_ONLY: dict[str, str] = {
    "governance.ladder": "the ladder of formality is one rule for the system",
    "governance.ladder_up_trust": "the ladder of formality is one rule for the system",
    "governance.ladder_down_trust": "the ladder of formality is one rule for the system",
    "governance.ladder_months": "the ladder of formality is one rule for the system",
    "delegation.scale_elasticity": "economies of scale are a property of care in the system",
    "delegation.cross_place_flow": "patient flows across places are a property of the system",
}

#: the delegation keys that only one rule reads: given for a place without ``delegation.rule``,
#: they select that rule for the place (as ``delegation.share=0.4`` alone runs ``delegation=fixed``)
DELEGATION_SELECTS: dict[str, str] = {
    "share": "fixed",
    "initial_share": "earned_autonomy",
    "step": "earned_autonomy",
    "assurance_tolerance": "earned_autonomy",
    "delay_penalty": "earned_autonomy",
    "knowledge_weight": "subsidiarity",
}


def allowed_text() -> str:
    """The keys a place may set, for messages."""
    out = []
    for group, keys in PER_PLACE.items():
        out.append(group if keys is None else f"{group}.{{{','.join(keys)}}}")
    return ", ".join(out)


# ------------------------------------------------------------------------------ naming places
def slug(text: str) -> str:
    """``'Telford and Wrekin'`` -> ``'telford_and_wrekin'`` (lower case, runs of other characters
    as one ``_``)."""
    return "_".join(re.findall(r"[a-z0-9]+", str(text).lower()))


def _words(name: str, code: str) -> set[str]:
    """The words that name a place: its name's slug, the slug of the name before a comma or an
    opening bracket ("Herefordshire, County of"; "X (Y part)"), and its code's."""
    words = {slug(name), slug(re.split(r"[,(]", name, maxsplit=1)[0])}
    if code:
        words.add(slug(code))
    return {w for w in words if w}


def find_place(key: str, names: list[str], codes: list[str]) -> int | None:
    """The index of the one place ``key`` names (see the module docstring), or None."""
    word = slug(key)
    hits = [i for i, (n, c) in enumerate(zip(names, codes, strict=True)) if word in _words(n, c)]
    if len(hits) == 1:
        return hits[0]
    exact = [i for i in hits if slug(names[i]) == word]  # a full name beats a shortened one
    return exact[0] if len(exact) == 1 else None


@functools.lru_cache(maxsize=8)
def _real_places(kind: str, icb: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from ics_sim.data.reference import find_icb, layout_places

    codes = None if kind == "england" else [str(find_icb(icb)["icb_code"])]
    rows = layout_places(codes)
    return tuple(n for n, _ in rows), tuple(c for _, c in rows)


def system_places(system: SystemConfig) -> tuple[list[str], list[str]]:
    """The names and codes of a system config's places, in layout order (as
    :func:`ics_sim.model.systems.build_layout` names them)."""
    if system.kind == "synthetic":
        return [p.name for p in system.places], [p.code or p.name for p in system.places]
    names, codes = _real_places(system.kind, "" if system.kind == "england" else system.icb)
    return list(names), list(codes)


# ------------------------------------------------------------------------------ merging
@functools.cache
def form_settings(form: str) -> dict[str, Any]:
    """The governance settings a form's own config file sets (``configs/governance/<form>.yaml``)."""
    data = yaml.safe_load((CONFIG_DIR / "governance" / f"{form}.yaml").read_text(encoding="utf-8")) or {}
    return dict(data.get("governance", {}))


def _form_change(system: GovernanceConfig, form: str) -> dict[str, Any]:
    """What a place's own form changes in the system-wide governance settings: each setting its
    form file sets, unless the system-wide value was set by the user (it differs from what the
    system's own form sets), which is kept."""
    system_form = {**dataclasses.asdict(GovernanceConfig()), **form_settings(system.form)}
    return {k: v for k, v in form_settings(form).items() if getattr(system, k) == system_form.get(k)}


def selected_rule(given: dict[str, Any], system_rule: str) -> str | None:
    """The delegation rule a place's delegation keys select when it names none: None when the
    system's rule reads them (or they select nothing); raises ValueError naming two keys that
    need different rules."""
    if "rule" in given:
        return None
    chosen: dict[str, str] = {}
    for k in given:
        rule = DELEGATION_SELECTS.get(k)
        if rule is not None:
            chosen.setdefault(rule, k)
    if len(chosen) > 1:
        (r1, k1), (r2, k2) = list(chosen.items())[:2]
        raise ValueError(f"delegation.{k1} (read by delegation={r1}) and delegation.{k2} (read by delegation={r2}) need different rules")
    if not chosen:
        return None
    rule = next(iter(chosen))  # max_share selects nothing: two rules read it (as system-wide)
    return None if rule == system_rule else rule


def _overlay(obj: Any, values: dict[str, Any]) -> Any:
    """A copy of dataclass ``obj`` with ``values`` set (nested mappings set nested fields)."""
    changes = {}
    for k, v in values.items():
        current = getattr(obj, k)
        changes[k] = _overlay(current, v) if dataclasses.is_dataclass(current) and isinstance(v, dict) else v
    return dataclasses.replace(obj, **changes)


def merged(cfg: Config, given: dict[str, Any] | None) -> Config:
    """A place's settings: ``cfg`` with the place's ``given`` settings laid over it (see the module
    docstring). Without settings of its own a place shares ``cfg`` itself."""
    if not given:
        return cfg
    changes: dict[str, Any] = {}
    gov = dict(given.get("governance") or {})
    if gov:
        base = cfg.governance
        form = gov.get("form")
        if form is not None and form != base.form:
            base = dataclasses.replace(base, **_form_change(base, form))
        changes["governance"] = _overlay(base, gov)
    if given.get("membership"):
        changes["membership"] = _overlay(cfg.membership, given["membership"])
    deleg = dict(given.get("delegation") or {})
    if deleg:
        rule = selected_rule(deleg, cfg.delegation.rule)
        if rule is not None:
            deleg["rule"] = rule
        changes["delegation"] = _overlay(cfg.delegation, deleg)
    for key in ("decision_rule", "chair"):
        if key in given:
            changes[key] = given[key]
    return dataclasses.replace(cfg, **changes)


def place_configs(cfg: Config, names: list[str], codes: list[str]) -> list[Config]:
    """Each place's merged settings, in layout order (places without settings share ``cfg``)."""
    out = [cfg] * len(names)
    for key, given in (cfg.place_settings or {}).items():
        i = find_place(key, names, codes)
        if i is None:  # validation refuses this; a layout built by hand may differ
            raise ValueError(f"{KEY}.{key} names no single place of this run: places are {', '.join(names)}")
        out[i] = merged(cfg, given)
    return out


def given_leaves(value: Any, prefix: str) -> list[tuple[str, Any]]:
    """Dotted keys and values of a nested mapping, e.g. ``[("place_settings.A.chair", "icb")]``."""
    if isinstance(value, dict) and value:
        out = []
        for k, v in value.items():
            out.extend(given_leaves(v, f"{prefix}.{k}"))
        return out
    return [(prefix, value)]
