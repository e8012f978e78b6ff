"""Everything the leaders' report says, computed once for the HTML, the workbook and the PDF.

:func:`content` turns a question's runs (:class:`ics_sim.runs.compare.CompareRuns`) into the
report's parts: what each option bundles, the levels and paired differences per outcome, the
verdict, headline and "what would change it" per option and outcome, the parameters varied and
the run record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ics_sim.analysis.compare import Flip, differences, flips, levels, paired
from ics_sim.config import to_dict
from ics_sim.runs.compare import AIM, CompareRuns
from ics_sim.version import __version__
from ics_sim.views.report_text import (
    by_how_much,
    chance,
    flip_sentence,
    headline,
    in_short,
    verdict,
    words,
)

DISCLAIMER = "A comparison of options under stated assumptions, not a forecast."

_FORMS = {
    "consultative_forum": "a consultative forum (advice only; the ICB decides)",
    "individual_executive": "an individual executive (one accountable officer decides)",
    "committee": "a committee of the ICB",
    "joint_committee": "a joint committee of the ICB and the council",
    "lead_provider": "a lead provider holding the budget under contract",
}
_RULES = {"consensus": "consensus", "majority": "simple majority", "supermajority": "two-thirds majority",
          "weighted": "votes weighted by money brought", "lead_decides": "the lead organisation decides"}
_DELEGATION = {"central": "budgets kept central", "fixed": "a fixed share delegated to places",
               "subsidiarity": "delegated by the subsidiarity test", "earned_autonomy": "autonomy earned by performance"}


def bundle(cfg: Any, overrides: dict[str, Any]) -> list[tuple[str, str]]:
    """What an option bundles, in words: form, pooling, members, decision rule, chair, cadence,
    delegation and allocation (from its resolved config), and any setting for one place."""
    c = to_dict(cfg)
    g, m = c["governance"], c["membership"]
    members = [n for n, on in (("VCSE bodies", m["vcse"]), ("Healthwatch", m["healthwatch"]),
                               ("social care providers", m["social_care"])) if on]
    deleg = _DELEGATION.get(c["delegation"]["rule"], c["delegation"]["rule"])
    if c["delegation"]["rule"] == "fixed":
        deleg += f" ({c['delegation']['share']:.0%} of each NHS budget)"
    out = [
        ("Form", _FORMS.get(g["form"], g["form"])),
        ("Budget", "pooled NHS and council money (section 75)" if g["pooled"] else "NHS money only; council money kept apart"),
        ("Members beyond the statutory bodies", ", ".join(members) if members else "none"),
        ("Decision rule", _RULES.get(c["decision_rule"], c["decision_rule"])),
        ("Chair", "independent" if c["chair"] == "independent" else "the ICB"),
        ("Meets", f"every {g['cadence_months']} months" if g["cadence_months"] > 1 else "every month"),
        ("Delegation", deleg),
        ("Allocation", c["allocation"]["rule"].replace("_", " ").replace(" hi", " with the health-inequalities adjustment")),
    ]
    places: dict[str, list[str]] = {}
    for k, v in overrides.items():
        if k.startswith("place_settings."):
            place, _, key = k[len("place_settings."):].partition(".")
            places.setdefault(place.replace("_", " "), []).append(f"{key} = {v}")
    for place, items in places.items():
        out.append((f"In {place} only", "; ".join(items)))
    return out


@dataclass
class Row:
    """One option against the baseline on one outcome."""

    option: str
    metric: str
    verdict: str
    headline: str
    chance_better: float
    flip: str
    by_how_much: str
    median: float
    q10: float
    q90: float
    n: int


@dataclass
class Content:
    """The report's parts (see the module docstring)."""

    result: CompareRuns
    levels: pd.DataFrame
    pairs: pd.DataFrame
    differences: pd.DataFrame
    flips: dict[tuple[str, str], Flip]
    rows: list[Row]
    bundles: dict[str, list[tuple[str, str]]]
    summary: dict[str, str]
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def question(self):
        return self.result.question

    def name(self, oid: str) -> str:
        return self.question.option(oid).name

    def row(self, oid: str, metric: str) -> Row:
        return next(r for r in self.rows if r.option == oid and r.metric == metric)


def _lower(text: str) -> str:
    return text[0].lower() + text[1:] if text[:2] != text[:2].upper() else text


def content(result: CompareRuns, command: str = "", when: dt.datetime | None = None) -> Content:
    """The report's parts from a question's runs.

    Args:
        result: the runs.
        command: the command that made the report (for the run record).
        when: the report's date (default: now, UTC).
    """
    q = result.question
    lv, pairs = levels(result), paired(result)
    diffs = differences(pairs)
    fl = flips(result, pairs)
    base_name = _lower(q.option(q.baseline).name)
    rows, summary = [], {}
    for oid in q.ids[1:]:
        name = _lower(q.option(oid).name)
        verdicts, amounts = {}, {}
        for m in q.outcomes:
            d = diffs[(diffs["option"] == oid) & (diffs["metric"] == m)].iloc[0]
            v = verdict(m, d["median"], d["q10"], d["q90"])
            verdicts[m] = v
            amounts[m] = by_how_much(m, d["median"], d["q10"], d["q90"]).split(" (")[0]
            rows.append(Row(oid, m, v, headline(m, name, base_name, d["median"], d["q10"], d["q90"], d["chance_better"], int(d["n"])),
                            float(d["chance_better"]), flip_sentence(fl.get((oid, m)), name, base_name, d["chance_better"], int(d["n"]), v),
                            by_how_much(m, d["median"], d["q10"], d["q90"]),
                            float(d["median"]), float(d["q10"]), float(d["q90"]), int(d["n"])))
        summary[oid] = in_short(verdicts, q.option(oid).name, amounts)
    bundles = {o.id: bundle(q.config(o.id), dict(o.overrides)) for o in q.options}
    when = when or dt.datetime.now(dt.UTC)
    seeds = result.futures["seed"].tolist()
    record = {
        "ics_sim version": __version__,
        "question": q.source or "(built on the command line)",
        "command": command or "(called from Python)",
        "system": q.system,
        "options (config hash at default parameters)": ", ".join(f"{o} {h}" for o, h in result.configs.items()),
        "futures": (f"{q.futures}, drawn by a Latin hypercube with seed {q.seed}; each future has its own run seed, "
                    f"the same for every option (the first: {', '.join(str(s) for s in seeds[:3])})"),
        "horizon": f"{q.years} years from April {to_dict(q.config(q.baseline))['start_year']}",
        "runs": f"{len(result.runs)} ({len(q.ids)} options x {q.futures} futures)",
        "design hash": q.design_hash(),
        "date": when.strftime("%Y-%m-%d %H:%M UTC"),
    }
    return Content(result, lv, pairs, diffs, fl, rows, bundles, summary, record)


def system_name(system: str) -> str:
    """The system as a board would name it: "Herefordshire and Worcestershire" (from the ICB's
    name), else the name given."""
    from ics_sim.config.overrides import group_options
    from ics_sim.data.reference import find_icb

    if system in ("synthetic", "england"):
        return {"synthetic": "a synthetic system", "england": "England"}[system]
    try:
        key = system
        if system in group_options()["system"]:
            from ics_sim.config import load_config

            key = load_config({"system": system})[0].system.icb
        name = str(find_icb(key)["name"])
    except Exception:  # a name the data does not hold: say it as given
        return system.replace("_", " ")
    return name.removeprefix("NHS ").removesuffix(" Integrated Care Board")


def first_screen(c: Content) -> list[dict[str, str]]:
    """The first screen's table: per option and outcome, the aim, the outcome, the verdict, the
    headline, how sure and what would change it."""
    out = []
    for r in c.rows:
        out.append({"option": c.name(r.option), "aim": AIM.get(r.metric, ""), "outcome": words(r.metric).label,
                    "verdict": r.verdict, "by how much": r.by_how_much, "headline": r.headline, "how sure": f"better in {chance(r.chance_better)} of futures",
                    "what would change it": r.flip})
    return out
