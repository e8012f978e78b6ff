"""Fuzzing the configuration: a seeded generator of invalid overrides over every schema field.

Each example is one invalid override (wrong type, NaN or infinity, out of range, unknown key,
unknown option, a group key, an interpolation, ``???``, nested garbage), sometimes beside valid
ones. Every example must raise :class:`ConfigError` (no other exception: no traceback; no silent
accept) with one line that names the invalid override's field. The default suite runs 300
examples; ``-m slow`` adds the 1,000 of issue 12; a seeded sweep tries every field with every
fault that applies to it (2,000 overrides); random command-line text never gives a traceback.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ics_sim.config import ConfigError, load_config, schema
from ics_sim.config import overrides as ov
from ics_sim.config.validate import fields_of, type_hints

#: keys a config group sets (any value is an error: choose the option instead)
GROUP_KEYS = set(ov.GROUP_KEYS)


@dataclass(frozen=True)
class Leaf:
    """One scalar field of the schema, addressed as an override key."""

    key: str
    tp: Any
    meta: dict
    context: tuple[tuple[str, Any], ...] = ()  # overrides that make the key reachable


def _leaves(cls: type, prefix: str = "", inherited: dict | None = None, context: tuple = ()) -> list[Leaf]:
    out: list[Leaf] = []
    for name, f in fields_of(cls).items():
        tp = type_hints(cls)[name]
        meta = dict(f.metadata) or dict(inherited or {})
        key = f"{prefix}{name}"
        if dataclasses.is_dataclass(tp):
            out += _leaves(tp, key + ".", meta, context)
        elif typing.get_origin(tp) is list:
            (item,) = typing.get_args(tp)
            if item is schema.PlaceSpec:
                out += _leaves(item, f"{key}.0.", {}, context)
            elif item is schema.ShockConfig:
                for option in ov.group_options()["shocks"]:
                    if option != "none":
                        out += _leaves(item, f"shocks.{option}.", {}, (("shocks", option),))
        else:
            out.append(Leaf(key, tp, meta, context))
    return out


LEAVES = _leaves(schema.Config)
#: the few text and switch fields, drawn as often as all numeric ones together
OTHER_LEAVES = [leaf for leaf in LEAVES if leaf.tp not in (int, float)]
#: dotted prefixes that hold keys (for unknown-key examples): the top level, sections, blocks
PREFIXES = sorted({leaf.key.rsplit(".", 1)[0] + "." if "." in leaf.key else "" for leaf in LEAVES})
GROUPS = ov.group_options()

identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,14}", fullmatch=True)
garbage_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True), garbage_text)
nested_garbage = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(identifiers, inner, max_size=3)), max_leaves=6
).filter(lambda v: isinstance(v, (list, dict)) and bool(v))


def _not_a_number_text() -> st.SearchStrategy[str]:
    return garbage_text.filter(lambda s: not _is_number(s))


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _text_special(leaf: Leaf) -> st.SearchStrategy[str]:
    """Text that is wrong for this text field in particular."""
    choices = leaf.meta.get("choices")
    if choices:
        return garbage_text.filter(lambda s, c=choices: s not in c)
    if leaf.key in ("scenario", "system.name"):
        return st.one_of(
            st.builds(lambda a, b: f"{a}/{b}", identifiers, identifiers),
            st.builds(lambda a: f"../../{a}", identifiers),
            st.builds(lambda a: f".{a}", identifiers),
            st.builds(lambda a, b: f"{a} {b}", identifiers, identifiers),
        )
    if leaf.key.endswith(".start"):
        return st.sampled_from(["2028-13", "2028-00", "April 2028", "2028/04", ""])
    if leaf.key.endswith(".domain"):
        return identifiers.filter(lambda s: s not in (*schema.PerDomain.__dataclass_fields__, "all"))
    if leaf.key == "system.icb":
        return st.one_of(st.just(""), st.builds(lambda n: f"zz{n}qq", st.integers(0, 10**6)))
    return st.builds(lambda a: f"{a}\x00", identifiers)  # free text (place names, codes): control characters


@st.composite
def bad_value(draw, leaf: Leaf) -> Any:
    """A value that is invalid for ``leaf`` whatever the rest of the configuration.

    The kind of fault is drawn first (uniformly from the list, so repeated kinds weigh more), then
    the value: out of range (just outside a bound to far out), not finite, not whole, the wrong
    type, nested garbage, an interpolation or ``???``.
    """
    tp, meta = leaf.tp, leaf.meta
    kinds = []  # first the faults particular to the field (Hypothesis favours early entries)
    if tp in (int, float):
        lo, hi = meta.get("range", (None, None))
        kinds += (["below"] * 3 if lo is not None else []) + (["above"] * 3 if hi is not None else [])
        kinds += ["nonfinite"] * 2 + (["fraction"] if tp is int else [])
    elif tp is str:
        kinds += ["text"] * 3
    kinds += ["type", "none", "garbage", "interpolation", "missing"]
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return None
    if kind == "garbage":
        return draw(nested_garbage)
    if kind == "interpolation":
        return draw(st.one_of(st.builds(lambda s: "${" + s + "}", identifiers), st.just("${oc.env:HOME}"), st.builds(lambda s: "x${oc.env:" + s + "}", identifiers)))
    if kind == "missing":
        return "???"
    if kind == "nonfinite":
        return draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    if kind == "below":
        return meta["range"][0] - draw(st.floats(min_value=1e-6, max_value=1e9))
    if kind == "above":
        return meta["range"][1] + draw(st.floats(min_value=1e-6, max_value=1e9))
    if kind == "fraction":
        return draw(st.floats(min_value=-1e6, max_value=1e6).filter(lambda x: not float(x).is_integer()))
    if kind == "text":
        return draw(_text_special(leaf))
    # the wrong type
    if tp is bool:
        return draw(st.one_of(st.integers(), st.floats(), _not_a_number_text()))
    if tp in (int, float):
        return draw(st.one_of(st.booleans(), _not_a_number_text()))
    return draw(st.one_of(st.booleans(), st.floats()))


@st.composite
def invalid_override(draw) -> tuple[dict[str, Any], str]:
    """One invalid override (and the field its error must name), as an API mapping."""
    kind = draw(st.sampled_from(["value"] * 6 + ["unknown_key", "unknown_key", "unknown_option", "group_value", "group_key"]))
    if kind == "value":
        leaf = draw(st.sampled_from(LEAVES) | st.sampled_from(OTHER_LEAVES))
        over = dict(leaf.context)
        over[leaf.key] = draw(bad_value(leaf))
        return over, leaf.key
    if kind == "unknown_key":
        prefix = draw(st.sampled_from(PREFIXES))
        taken = {leaf.key for leaf in LEAVES} | set(GROUPS) | {p.rstrip(".") for p in PREFIXES}
        name = draw(identifiers.filter(lambda s, p=prefix, t=taken: f"{p}{s}" not in t and not any(k.startswith(f"{p}{s}.") for k in t)))
        context = next((dict(leaf.context) for leaf in LEAVES if leaf.key.startswith(prefix) and leaf.context), {})
        return {**context, f"{prefix}{name}": draw(scalars)}, f"{prefix}{name}"
    if kind == "unknown_option":
        group = draw(st.sampled_from(sorted(GROUPS)))
        option = draw(identifiers.filter(lambda s, g=group: s not in GROUPS[g]))
        value = draw(st.sampled_from([option, [option]])) if group == "shocks" else option
        return {group: value}, group
    if kind == "group_value":  # a list, mapping, null or empty value for a group
        group = draw(st.sampled_from(sorted(GROUPS)))
        value = draw(st.one_of(st.just([]), st.just({}), st.none(), nested_garbage.filter(lambda v, g=group: not (g == "shocks" and isinstance(v, list) and v and all(isinstance(o, str) for o in v)))))
        return {group: value}, group
    key = draw(st.sampled_from(sorted(GROUP_KEYS)))
    return {key: draw(scalars)}, key


#: valid overrides mixed into some examples (none of them can make an invalid override valid)
VALID_EXTRAS = [{}, {"years": 3}, {"seed": 11}, {"trust.initial": 0.5}, {"governance": "joint_committee"}, {"need.growth": 0.01}]


def _check(over: dict[str, Any], field: str, extra: dict[str, Any]) -> None:
    merged = {**extra, **over} if not set(extra) & set(over) else over
    try:
        load_config(merged)
    except ConfigError as exc:
        msg = str(exc)
        assert "\n" not in msg, msg
        assert field in msg, f"{merged}: message does not name {field}: {msg}"
        return
    raise AssertionError(f"silently accepted: {merged}")


def fuzz(examples: int) -> settings:
    """Seeded (derandomized), no example database, no per-example deadline."""
    return settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@fuzz(300)
@given(case=invalid_override(), extra=st.sampled_from(VALID_EXTRAS))
def test_invalid_overrides_are_config_errors_naming_the_field(case, extra):
    _check(*case, extra)


@pytest.mark.slow
@fuzz(1000)
@given(case=invalid_override(), extra=st.sampled_from(VALID_EXTRAS))
def test_a_thousand_invalid_overrides_are_config_errors_naming_the_field(case, extra):
    _check(*case, extra)


override_text = st.text(st.sampled_from("abcdegnorstuvy_.=,[]{}:$'\"\\/~+@?!* 0123456789-"), min_size=1, max_size=30)


@fuzz(200)
@given(lines=st.lists(override_text, min_size=1, max_size=3))
def test_any_command_line_text_is_either_accepted_or_one_config_error(lines):
    """Random override text through the command line's checks: never a traceback."""
    from ics_sim.__main__ import check_command_line

    try:
        check_command_line(lines)
    except ConfigError as exc:
        assert str(exc).strip()


def test_the_generator_covers_every_field():
    keys = {leaf.key for leaf in LEAVES}
    assert {"seed", "need.gbp_per_head.acute", "finance.nhs_domain_shares.prevention", "system.places.0.population",
            "shocks.funding_cut.magnitude", "delegation.cross_place_flow.social_care", "sed.effect"} <= keys
    # every numeric field has a range to leave
    assert all(leaf.meta.get("range", (None, None)) != (None, None) for leaf in LEAVES if leaf.tp in (int, float))


def _faults(leaf: Leaf, rng) -> list[tuple[str, Any]]:
    """Every fault kind that applies to ``leaf``, one seeded value each."""
    tp, meta = leaf.tp, leaf.meta
    out: list[tuple[str, Any]] = [("none", None), ("garbage", {"x": [1, {"y": None}]}), ("list", [1, "two", None]),
                                  ("interpolation", "${oc.env:HOME}"), ("missing", "???")]
    if tp in (int, float):
        lo, hi = meta["range"]
        if lo is not None:
            out.append(("below", lo - 10 ** rng.uniform(-6, 9)))
        if hi is not None:
            out.append(("above", hi + 10 ** rng.uniform(-6, 9)))
        out += [("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf), ("text", "abc"), ("bool", True)]
        if tp is int:
            out.append(("fraction", rng.uniform(-100, 100) + 0.5))
    elif tp is bool:
        out += [("int", 1), ("text", "yes"), ("float", 0.0)]
    else:
        out += [("bool", False), ("float", 1.5)]
        if meta.get("choices") or leaf.key in ("scenario", "system.name") or leaf.key.endswith((".start", ".domain")) or leaf.key == "system.icb":
            special = {"scenario": "../x", "system.name": "a/b", "system.icb": "zz123qq"}
            out.append(("text", special.get(leaf.key, "2028-13" if leaf.key.endswith(".start") else "not_a_choice")))
    return out


def test_every_field_with_every_fault():
    """A seeded sweep of every schema field with every fault that applies to it (2,000
    overrides): all ConfigError, one line, naming the field."""
    import random

    rng = random.Random(12)
    failures, n = [], 0
    for leaf in LEAVES:
        for fault, value in _faults(leaf, rng):
            n += 1
            over = {**dict(leaf.context), leaf.key: value}
            try:
                load_config(over)
                failures.append(f"{fault}: accepted {over}")
            except ConfigError as exc:
                if "\n" in str(exc) or leaf.key not in str(exc):
                    failures.append(f"{fault}: {over} -> {exc}")
            except Exception as exc:  # a traceback for a user
                failures.append(f"{fault}: {over} -> {type(exc).__name__}: {exc}")
    assert n > 1000
    assert not failures, "\n".join(failures[:20])
