#!/usr/bin/env python
"""Generate the tables of ``docs/ODD.md`` from the code, so that they never drift from it.

The ODD carries marker pairs such as::

    <!-- params:need -->
    ... generated table ...
    <!-- /params:need -->

and this script rewrites what lies between them:

* ``params:<section>``: one row per parameter of a config section, read from the dataclasses
  of :mod:`ics_sim.config.schema` (key, meaning, unit, default, allowed range, source). A
  ``PerDomain`` field is one row that lists its five defaults in domain order. ``run`` is the
  top-level section; ``system.places`` and ``shocks`` are the items of the two list fields.
* ``presets:<group>``: the values each YAML file of a Hydra config group in ``configs/`` sets
  (``presets:defaults`` is the default run's choice of groups from ``configs/config.yaml``).
* ``seats``: who sits at the place table under each governance form, with a vote or a voice,
  computed by calling :func:`ics_sim.model.governance.partnership.seat_members`.
* ``constants``: module-level constants that the model uses but that are not configurable.
* ``summary``: the summary measures of a run with their unit and how the time series is
  reduced (:data:`ics_sim.model.record.SUMMARY_KEYS`, :data:`ics_sim.model.record.EXTRA_SUMMARY`).

Every ``params`` section of the schema must have exactly one marker pair in the ODD, so a new
config section cannot go undocumented.

Usage::

    python scripts/odd_tables.py            # rewrite docs/ODD.md in place
    python scripts/odd_tables.py --check    # exit 1 if docs/ODD.md is out of date
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import typing
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from ics_sim.runs.io import atomic_path, atomic_write_parquet, atomic_write_text  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ics_sim.config import schema  # noqa: E402
from ics_sim.domains import DOMAINS, GOVERNANCE_FORMS  # noqa: E402

ODD_PATH = REPO / "docs" / "ODD.md"
CONFIG_DIR = REPO / "configs"

MARKER = re.compile(
    r"<!-- (?P<name>[a-z_]+(?::[a-z_.]+)?) -->\n(?P<body>.*?)<!-- /(?P=name) -->", re.S
)

#: Meanings of fields declared without ``param`` metadata (plain strings and lists).
FALLBACK_HELP: dict[str, str] = {
    "scenario": "label of the run's scenario; empty: built from system, form, delegation and allocation",
    "system.name": "label of the system in outputs",
    "system.icb": "the ICB to simulate for kind icb or named: ONS code, ODS code, short name or unique part of its name",
    "system.places": "places of a synthetic system (one item per place; see the next table)",
    "system.places[].name": "name of the place (unique)",
    "system.places[].code": "optional code of the place (default: its name)",
    "shocks": "the dated shock timeline: the events of the chosen options (shocks=[a,b] combines them), each set as shocks.<option>.<key> (section 7.18)",
    "chair": "who chairs the ICP and the place partnerships: a jointly selected independent chair or the ICB chair",
    "place_settings": "settings for one place instead of the system-wide ones, place_settings.<place>.<key>: governance.* (not the ladder), membership.*, decision_rule, chair, delegation.* (not scale_elasticity, cross_place_flow); section 7.8",
    "decision_rule": "how the voters of a place partnership turn proposals into a decision (section 7.10)",
    "governance.lead_provider": "which provider holds the place pot under the lead_provider form",
    "delegation.rule": "delegation (subsidiarity) rule: what share of each NHS domain goes to places (section 7.7)",
    "allocation.rule": "how a budget holder divides money across neighbourhoods (section 7.6)",
    "sed.enabled": "switch social and economic development on (section 7.19)",
    "shocks[].kind": "what the event changes: need (winter pressure), budgets (funding cut) or capacity (workforce loss)",
    "shocks[].start": "first month of the event, YYYY-MM (month 0 of a run is April of start_year)",
    "shocks[].domain": "care domain the event acts on, or all",
    "shocks[].every_year": "whether the event recurs every year from its start",
}


# --------------------------------------------------------------------------------------------
# parameter tables
# --------------------------------------------------------------------------------------------
def _escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt_number(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.3g}"
        if abs(v) >= 10_000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)


def _fmt_default(value: Any) -> str:
    if isinstance(value, schema.PerDomain):
        return "; ".join(
            f"{d} {_fmt_number(v)}" for d, v in zip(DOMAINS, value.as_tuple(), strict=True)
        )
    if isinstance(value, str):
        return f"`{value}`" if value else "(empty)"
    if isinstance(value, list):
        return "[]" if not value else f"{len(value)} items"
    return _fmt_number(value)


def _fmt_range(meta: dict, tp: Any) -> str:
    choices = meta.get("choices")
    if choices:
        return " \\| ".join(f"`{c}`" for c in choices)
    if tp is bool:
        return "true \\| false"
    lo, hi = meta.get("range", (None, None))
    if lo is None and hi is None:
        return "text" if tp is str else "-"
    if lo is not None and hi is not None:
        return f"{_fmt_number(lo)} to {_fmt_number(hi)}"
    return f"at least {_fmt_number(lo)}" if lo is not None else f"at most {_fmt_number(hi)}"


#: run settings whose schema source is the default "assumption" but which are choices of the user
SETTINGS = frozenset({"seed", "years", "start_year", "replicates", "system.geography_seed"})


def _fmt_source(meta: dict, key: str, tp: Any) -> str:
    src = meta.get("source")
    if not meta:
        return "-"
    if src == schema.ASSUMPTION:
        if (
            key in SETTINGS
            or key.startswith("system.places[]")
            or meta.get("choices")
            or tp is bool
        ):
            return "scenario setting"
        return "assumption"
    return _escape(src or "-")


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return None


def _is_section(tp: Any) -> bool:
    """A nested dataclass that gets its own table (not PerDomain, which is one row)."""
    return dataclasses.is_dataclass(tp) and tp is not schema.PerDomain


def _list_item(tp: Any) -> Any:
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        return item
    return None


def sections() -> dict[str, type]:
    """Config sections with a parameter table: name -> dataclass (``run`` is the top level)."""
    out: dict[str, type] = {"run": schema.Config}
    hints = typing.get_type_hints(schema.Config)
    for f in dataclasses.fields(schema.Config):
        tp = hints[f.name]
        if _is_section(tp):
            out[f.name] = tp
            sub_hints = typing.get_type_hints(tp)
            for g in dataclasses.fields(tp):
                item = _list_item(sub_hints[g.name])
                if item is not None and _is_section(item):
                    out[f"{f.name}.{g.name}"] = item
        item = _list_item(tp)
        if item is not None and _is_section(item):
            out[f.name] = item
    return out


def _key_prefix(section: str) -> str:
    """Dotted prefix of a section's keys: list sections use ``[]`` for the item."""
    if section == "run":
        return ""
    hints = typing.get_type_hints(schema.Config)
    head, _, tail = section.partition(".")
    if tail:
        return f"{head}.{tail}[]."
    return f"{section}[]." if _list_item(hints.get(head)) is not None else f"{section}."


def section_rows(section: str) -> list[dict[str, str]]:
    """Rows of one section's table (nested sections and list fields are pointers to theirs)."""
    cls = sections()[section]
    prefix = _key_prefix(section)
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if _is_section(tp):
            continue  # its own table
        key = prefix + f.name
        meta = dict(f.metadata)
        item = _list_item(tp)
        help_text = meta.get("help") or FALLBACK_HELP.get(key, "")
        if item is not None and _is_section(item):
            help_text = FALLBACK_HELP.get(key, "list")
        rows.append(
            {
                "key": f"`{key}`",
                "meaning": _escape(help_text or "-"),
                "unit": _escape(meta.get("unit", "-") or "-"),
                "default": _escape(_fmt_default(_default_of(f))),
                "range": _fmt_range(meta, tp),
                "source": _fmt_source(meta, key, tp),
            }
        )
    return rows


def config_keys() -> list[str]:
    """Every dotted key of the schema (list items as ``[]``), in table order."""
    keys = []
    for name in sections():
        prefix = _key_prefix(name)
        cls = sections()[name]
        hints = typing.get_type_hints(cls)
        keys.extend(
            prefix + f.name for f in dataclasses.fields(cls) if not _is_section(hints[f.name])
        )
    return keys


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def render_params(section: str) -> str:
    rows = section_rows(section)
    return _table(
        ["key", "meaning", "unit", "default", "range", "source"],
        [[r["key"], r["meaning"], r["unit"], r["default"], r["range"], r["source"]] for r in rows],
    )


# --------------------------------------------------------------------------------------------
# config-group presets
# --------------------------------------------------------------------------------------------
def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.extend(_flatten(v, f"{prefix}{k}."))
    else:
        out.append((prefix.rstrip("."), data))
    return out


def _fmt_preset_value(value: Any) -> str:
    if isinstance(value, list):
        if not value:
            return "[]"
        items = []
        for item in value:
            if isinstance(item, dict):
                items.append(
                    "{" + ", ".join(f"{k}: {_fmt_preset_value(v)}" for k, v in item.items()) + "}"
                )
            else:
                items.append(_fmt_preset_value(item))
        return "; ".join(items)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _fmt_number(value)
    return str(value)


def render_presets(group: str) -> str:
    if group == "defaults":
        data = yaml.safe_load((CONFIG_DIR / "config.yaml").read_text())
        rows = []
        for item in data.get("defaults", []):
            if isinstance(item, dict):
                for k, v in item.items():
                    if not str(k).startswith(("override", "hydra")):
                        rows.append([f"`{k}`", f"`{v}`", f"`configs/{k}/{v}.yaml`"])
        top = [(k, v) for k, v in data.items() if k not in ("defaults", "hydra")]
        rows += [[f"`{k}`", f"`{_fmt_preset_value(v)}`", "`configs/config.yaml`"] for k, v in top]
        return _table(["group or key", "default", "file"], rows)
    rows = []
    for path in sorted((CONFIG_DIR / group).glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        # a group file without "# @package _global_" sets keys inside the group
        is_global = "@package _global_" in path.read_text()
        flat = _flatten(data, "" if is_global else f"{group}.")
        settings = (
            "; ".join(f"`{k}` = {_escape(_fmt_preset_value(v))}" for k, v in flat) or "(nothing)"
        )
        rows.append([f"`{group}={path.stem}`", settings])
    return _table(["preset", "what it sets"], rows)


# --------------------------------------------------------------------------------------------
# seat table, constants, summary measures
# --------------------------------------------------------------------------------------------
SEAT_KEYS = (
    "icb",
    "council",
    "acute_trust",
    "community_trust",
    "mental_health_trust",
    "pcn",
    "social_care",
    "vcse",
    "healthwatch",
)


def render_seats() -> str:
    """Seats per form, from ``seat_members`` (optional seats depend on ``membership.*``)."""
    from ics_sim.model.governance.partnership import seat_members

    orgs = {k: SimpleNamespace(kind=k) for k in SEAT_KEYS}
    on = SimpleNamespace(vcse=True, healthwatch=True, social_care=True)
    off = SimpleNamespace(vcse=False, healthwatch=False, social_care=False)
    default_lead = schema.GovernanceConfig().lead_provider
    cols = {}
    for form in GOVERNANCE_FORMS:
        full = {s.label: s for s in seat_members(form, orgs, on, "icb", default_lead)}
        fixed = {s.label for s in seat_members(form, orgs, off, "icb", default_lead)}
        cell = {}
        for key in SEAT_KEYS:
            s = full.get(key)
            if s is None:
                cell[key] = "-"
                continue
            text = s.role + (f" ({s.votes:g} votes)" if s.role == "vote" and s.votes != 1 else "")
            cell[key] = text if key in fixed else text + " *"
        cols[form] = cell
    rows = [[f"`{k}`"] + [cols[f][k] for f in GOVERNANCE_FORMS] for k in SEAT_KEYS]
    return _table(["member"] + [f"`{f}`" for f in GOVERNANCE_FORMS], rows)


#: module-level constants the mechanisms use: (module, name, what it is)
CONSTANTS: tuple[tuple[str, str, str], ...] = (
    (
        "ics_sim.model.population",
        "ONS_HLE_MEAN",
        "mean male HLE over the IMD deciles, England 2015-17 (ONS): anchor of the reference LE curve for QALYs",
    ),
    (
        "ics_sim.model.population",
        "ONS_LE_MEAN",
        "mean male LE over the IMD deciles, England 2015-17 (ONS): anchor of the reference LE curve for QALYs",
    ),
    (
        "ics_sim.model.population",
        "MIN_COVERAGE",
        "smallest coverage the health production function is evaluated at (it is unbounded at 0)",
    ),
    (
        "ics_sim.model.population",
        "ENGLAND_SHARE_65",
        "England's share of people aged 65+ (Census 2021), the reference of the age gradient of need",
    ),
    (
        "ics_sim.model.governance.decisions",
        "STEPS",
        "the candidate steps lambda from the opening towards the winning coalition's mean (the members' mean under consensus) in one meeting",
    ),
    ("ics_sim.model.governance.partnership", "LADDER", "order of formality of the optional ladder"),
    (
        "ics_sim.model.systems",
        "SIZE_CONCENTRATION",
        "Dirichlet concentration of neighbourhood sizes in real places",
    ),
    (
        "ics_sim.model.systems",
        "AGE_TILT",
        "relative change of the 65+ share per unit of deprivation rank (real places)",
    ),
)


def render_constants() -> str:
    import importlib

    rows = []
    for mod, name, what in CONSTANTS:
        if not hasattr(importlib.import_module(mod), name):
            continue  # moved into the schema or removed: the regenerated table drops it
        value = getattr(importlib.import_module(mod), name)
        if hasattr(value, "tolist"):
            value = value.tolist()
        if isinstance(value, (list, tuple)):
            shown = ", ".join(_fmt_number(v) if not isinstance(v, str) else v for v in value)
        else:
            shown = _fmt_number(value)
        path = mod.replace(".", "/") + ".py"
        rows.append([f"`{path}::{name}`", _escape(shown), _escape(what)])
    return _table(["constant", "value", "meaning"], rows)


def render_summary() -> str:
    from ics_sim.model.record import EXTRA_SUMMARY, SUMMARY_KEYS, UNITS

    how_text = {
        "last": "value at the horizon",
        "mean12": "mean of the last 12 months",
        "run_mean": "mean over the run (see the definition in section 7.20)",
    }
    rows = []
    for key, how in {**SUMMARY_KEYS, **EXTRA_SUMMARY}.items():
        rows.append(
            [
                f"`{key}`",
                _escape(UNITS.get(key, "see section 7.20")),
                how_text.get(how, how),
                "core" if key in SUMMARY_KEYS else "extra",
            ]
        )
    return _table(["summary key", "unit", "reduction", "set"], rows)


# --------------------------------------------------------------------------------------------
# rewriting the ODD
# --------------------------------------------------------------------------------------------
def render(name: str) -> str:
    kind, _, arg = name.partition(":")
    if kind == "params":
        if arg not in sections():
            raise KeyError(
                f"docs/ODD.md has a marker params:{arg}, but the schema has no section {arg!r}"
            )
        return render_params(arg)
    if kind == "presets":
        return render_presets(arg)
    if kind == "seats":
        return render_seats()
    if kind == "constants":
        return render_constants()
    if kind == "summary":
        return render_summary()
    raise KeyError(f"docs/ODD.md has an unknown marker {name!r}")


def update(text: str) -> str:
    """The ODD text with every marker region regenerated.

    Raises:
        KeyError: a marker names nothing this script can generate.
        ValueError: a schema section has no marker, or has more than one.
    """
    found = [m.group("name") for m in MARKER.finditer(text)]
    for sec in sections():
        n = found.count(f"params:{sec}")
        if n != 1:
            raise ValueError(
                f"docs/ODD.md must hold exactly one <!-- params:{sec} --> block (found {n})"
            )
    return MARKER.sub(
        lambda m: (
            f"<!-- {m.group('name')} -->\n{render(m.group('name'))}<!-- /{m.group('name')} -->"
        ),
        text,
    )


def check(path: Path = ODD_PATH) -> bool:
    """Whether ``path`` is up to date with the code."""
    text = path.read_text(encoding="utf-8")
    return update(text) == text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/ODD.md is out of date")
    parser.add_argument(
        "--odd", type=Path, default=ODD_PATH, help="path of the ODD (default docs/ODD.md)"
    )
    args = parser.parse_args(argv)
    text = args.odd.read_text(encoding="utf-8")
    try:
        new = update(text)
    except (KeyError, ValueError) as exc:
        print(f"odd_tables: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(
                f"odd_tables: {args.odd} is out of date; run python scripts/odd_tables.py",
                file=sys.stderr,
            )
            return 1
        print(f"odd_tables: {args.odd} is up to date")
        return 0
    if new != text:
        atomic_write_text(args.odd, new)
        print(f"odd_tables: rewrote the generated tables of {args.odd}")
    else:
        print(f"odd_tables: {args.odd} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
