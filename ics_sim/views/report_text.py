"""The leaders' report in words: headlines generated from the numbers.

Each outcome has its words (:data:`WORDS`): a plain label, the unit in words (``£ million a
year``, ``years of healthy life``), the scale from the stored unit (GBP a year -> £ million a
year), the words for better and worse ("narrower gap" / "wider gap", "faster decisions" / "slower
decisions") and the smallest difference that matters in practice. :func:`verdict` reads a paired
difference (option - baseline over the futures: median and 10-90% range, chance better) as one
of four verdicts, and :func:`headline` writes it:

- **better** or **worse**: the 10-90% range lies on one side of zero; the direction words follow
  the sign and the measure's direction;
- **too close to call**: the 10-90% range spans zero;
- **no practical difference**: the whole 10-90% range is smaller than the outcome's threshold.

Numbers are rounded to two significant figures (three for levels); a chance is a whole
percentage, never a rounded 0% or 100% that did not happen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ics_sim.analysis.compare import Flip
from ics_sim.model.record import METRICS


@dataclass(frozen=True)
class Words:
    """How to speak of an outcome.

    Attributes:
        label: what it is, in a few plain words.
        unit: its unit in words, after scaling.
        scale: multiply the stored value by this to get ``unit``.
        better: a short phrase for a better value ("narrower gap").
        worse: a short phrase for a worse value ("wider gap").
        more_better: the comparative of a better difference ("narrower", "less", "faster").
        more_worse: the comparative of a worse difference.
        negligible: differences smaller than this (in ``unit``) make no practical difference.
        cmp_unit: the unit of a difference, if not ``unit``.
    """

    label: str
    unit: str
    scale: float
    better: str
    worse: str
    more_better: str
    more_worse: str
    negligible: float
    cmp_unit: str | None = None

    @property
    def diff_unit(self) -> str:
        """The unit of a difference ("years" where the level reads "years of healthy life")."""
        return self.cmp_unit or self.unit


WORDS: dict[str, Words] = {
    "hle_mean": Words("Healthy life expectancy (average)", "years of healthy life", 1.0,
                      "longer healthy lives", "shorter healthy lives", "longer", "shorter", 0.01, "years"),
    "hle_sii": Words("Gap in healthy life expectancy between the most and least deprived areas", "years", 1.0,
                     "narrower gap", "wider gap", "narrower", "wider", 0.01),
    "unmet_need": Words("Unmet need for care", "percentage points of need", 100.0,
                        "less unmet need", "more unmet need", "lower", "higher", 0.05),
    "unmet_need_hidden": Words("Unmet need among excluded groups", "percentage points of their need", 100.0,
                               "less unmet need among excluded groups", "more unmet need among excluded groups",
                               "lower", "higher", 0.05),
    "health_gain_per_million_gbp": Words("Healthy life gained (or lost) since the start per £ million spent", "healthy life-years per £ million", 1.0,
                                         "more health for the money", "less health for the money", "more", "fewer", 0.1),
    "duplicated_spend_gbp": Words("Duplicated spending", "£ million a year", 1e-6,
                                  "less duplicated spending", "more duplicated spending", "less", "more", 0.01),
    "unfunded_need": Words("Gaps in care (need no one funds)", "£ million a year", 1e-6,
                           "fewer gaps in care", "more gaps in care", "less", "more", 0.01),
    "decision_delay_months": Words("Time to agree the year's place budget", "months", 1.0,
                                   "faster decisions", "slower decisions", "sooner", "later", 0.05),
    "transaction_cost_gbp": Words("Running costs of partnership working", "£ million a year", 1e-6,
                                  "lower running costs", "higher running costs", "lower", "higher", 0.005),
    "external_funding_gbp": Words("Outside funding drawn in for social and economic development", "£ million a year", 1e-6,
                                  "more outside funding", "less outside funding", "more", "less", 0.01),
    "deadlocks": Words("Meetings that ended without a decision", "meetings", 1.0,
                       "fewer deadlocked meetings", "more deadlocked meetings", "fewer", "more", 0.5),
    "trust_mean": Words("Trust between partners", "points on a 0-1 scale", 1.0,
                        "more trust between partners", "less trust between partners", "higher", "lower", 0.005),
    "vcse_survival": Words("Voluntary and community bodies still operating", "percentage points", 100.0,
                           "more voluntary bodies survive", "fewer voluntary bodies survive", "higher", "lower", 0.5),
    "strategy_alignment": Words("Spending in line with the partnership's strategy", "points on a 0-1 scale", 1.0,
                                "spending closer to the strategy", "spending further from the strategy", "closer", "further", 0.005),
}


def words(metric: str) -> Words:
    """The words of ``metric`` (generic ones, from docs/OUTPUTS.md, for a measure not in :data:`WORDS`)."""
    if metric in WORDS:
        return WORDS[metric]
    m = METRICS[metric]
    money = m.unit.startswith("GBP")
    unit = ("£ million" + m.unit[3:].replace("per year", "a year")) if money else m.unit
    hi, lo = ("higher", "lower") if m.direction == "higher" else ("lower", "higher")
    return Words(m.label, unit, 1e-6 if money else 1.0, f"{hi} {m.label.lower()}", f"{lo} {m.label.lower()}", hi, lo, 0.0)


# ------------------------------------------------------------------------------ numbers
def number(x: float, sig: int = 2, decimals: int | None = None) -> str:
    """``x`` rounded to ``sig`` significant figures (or ``decimals`` places), with thousands
    separators and no trailing noise: 0.2134 -> "0.21", 8368950.6 -> "8,400,000", 12.0 -> "12"."""
    if x is None or math.isnan(x):
        return "-"
    if decimals is None:
        decimals = decimals_for(abs(x), sig)
        if abs(x) >= 10**sig:  # round whole numbers too: 8,368,951 -> 8,400,000
            x = round(x, sig - 1 - math.floor(math.log10(abs(x))))
    text = f"{round(x, decimals):,.{decimals}f}"
    return "0" if text in ("-0", "0") or float(text.replace(",", "")) == 0 else text


def decimals_for(magnitude: float, sig: int = 2) -> int:
    """Decimal places that show ``magnitude`` to ``sig`` significant figures (0 to 4)."""
    if magnitude == 0 or math.isnan(magnitude):
        return 0
    return int(min(4, max(0, sig - 1 - math.floor(math.log10(magnitude)))))


def amount(x: float, unit: str, decimals: int | None = None, sig: int = 2) -> str:
    """A number with its unit in words: "£0.84 million a year", "0.21 years"."""
    n = number(x, sig=sig, decimals=decimals)
    if unit.startswith("£ million"):
        sign = "-" if n.startswith("-") else ""
        return f"{sign}£{n.lstrip('-')} million{unit[len('£ million'):]}"
    return f"{n} {unit}"


def chance(share: float) -> str:
    """A share as a whole percentage, never a spurious 0% or 100% from rounding."""
    if share is None or math.isnan(share):
        return "-"
    pct = 100 * share
    if 0 < pct < 1:
        return "under 1%"
    if 99 < pct < 100:
        return "over 99%"
    return f"{pct:.0f}%"


def level(metric: str, median: float, q10: float, q90: float) -> str:
    """A level over the futures: "63.8 years of healthy life (63.6 to 64.0)"."""
    w = words(metric)
    m, lo, hi = (v * w.scale for v in (median, q10, q90))
    d = decimals_for(max(abs(m), abs(lo), abs(hi)), 3)
    return f"{amount(m, w.unit, d)} ({number(lo, decimals=d)} to {number(hi, decimals=d)})"


# ------------------------------------------------------------------------------ verdicts
BETTER, WORSE, TOO_CLOSE, NO_DIFFERENCE = "better", "worse", "too close to call", "no practical difference"


def verdict(metric: str, median: float, q10: float, q90: float) -> str:
    """The verdict on a paired difference (option - baseline, stored unit): :data:`BETTER`,
    :data:`WORSE`, :data:`TOO_CLOSE` (the 10-90% range spans zero) or :data:`NO_DIFFERENCE`
    (the whole range is below the outcome's practical threshold)."""
    w = words(metric)
    if max(abs(q10), abs(q90)) * w.scale < w.negligible or (q10 == 0 and q90 == 0):
        return NO_DIFFERENCE
    if q10 <= 0 <= q90:
        return TOO_CLOSE
    good = (median > 0) == (METRICS[metric].direction == "higher")
    return BETTER if good else WORSE


def _cmp(metric: str, diff: float, decimals: int) -> str:
    """A signed difference in words: "0.21 years narrower", "£0.3 million a year more"."""
    w = words(metric)
    good = (diff > 0) == (METRICS[metric].direction == "higher")
    return f"{amount(abs(diff) * w.scale, w.diff_unit, decimals)} {w.more_better if good else w.more_worse}"


def headline(metric: str, option: str, baseline: str, median: float, q10: float, q90: float, share_better: float,
             n: int) -> str:
    """One sentence: what ``option`` does to ``metric`` against ``baseline``, by how much and how
    sure (the paired difference option - baseline over ``n`` futures, in the stored unit)."""
    w = words(metric)
    v = verdict(metric, median, q10, q90)
    d = decimals_for(max(abs(median), abs(q10), abs(q90)) * w.scale, 2)
    rough = f" Only {n} futures: a rough guide." if n < 20 else ""
    if v == NO_DIFFERENCE:
        return (f"No practical difference in {w.label[0].lower() + w.label[1:]} between {option} and {baseline}: "
                f"under {amount(w.negligible, w.diff_unit, sig=1)} either way in 8 of 10 futures.{rough}")
    if v == TOO_CLOSE:
        return (f"Too close to call on {w.label[0].lower() + w.label[1:]}: with {option} it ranges from "
                f"{_cmp(metric, q10, d)} to {_cmp(metric, q90, d)} than with {baseline} (8 of 10 futures); "
                f"better in {chance(share_better)} of futures.{rough}")
    phrase = w.better if v == BETTER else w.worse
    lo, hi = sorted((abs(q10), abs(q90)))
    return (f"{phrase[0].upper() + phrase[1:]} with {option}: {_cmp(metric, median, d)} than with {baseline} "
            f"({'£' if w.diff_unit.startswith('£') else ''}{number(lo * w.scale, decimals=d)} to {_cmp(metric, math.copysign(hi, median), d)} in 8 of 10 futures); "
            f"better in {chance(share_better)} of futures.{rough}")


def by_how_much(metric: str, median: float, q10: float, q90: float) -> str:
    """The difference in a few words for a table cell: "0.21 years narrower (0.05 to 0.40)",
    "from 0.06 years shorter to 0.02 years longer", "under 0.01 years either way"."""
    w = words(metric)
    v = verdict(metric, median, q10, q90)
    d = decimals_for(max(abs(median), abs(q10), abs(q90)) * w.scale, 2)
    if v == NO_DIFFERENCE:
        return f"under {amount(w.negligible, w.diff_unit, sig=1)} either way"
    if v == TOO_CLOSE:
        return f"from {_cmp(metric, q10, d)} to {_cmp(metric, q90, d)}"
    lo, hi = sorted((abs(q10), abs(q90)))
    return f"{_cmp(metric, median, d)} ({number(lo * w.scale, decimals=d)} to {number(hi * w.scale, decimals=d)})"


def flip_sentence(flip: Flip | None, option: str, baseline: str, share_better: float, n: int, kind: str) -> str:
    """What would change the answer, in plain words."""
    if kind == NO_DIFFERENCE:
        return "Nothing to change: the options do about the same."
    if flip is None or flip.condition is None:
        if kind == TOO_CLOSE:
            return "No condition found in the ranges tried that decides it."
        if share_better in (0.0, 1.0):
            return f"Holds in all {n} futures tried; no condition found in the ranges tried under which it reverses."
        return "No condition found in the ranges tried under which this reverses."
    c = flip.condition
    turned = "worse" if flip.majority_better else "better"
    if kind == TOO_CLOSE:
        return f"{turned.capitalize()} when {flip.words} ({c.hits} of {c.n} such futures)."
    return f"Reverses when {flip.words}: there it does {turned} in {c.hits} of {c.n} futures."


def in_short(verdicts: dict[str, str], option: str, amounts: dict[str, str] | None = None) -> str:
    """What an option is better and worse for, in one paragraph: "Better for: the HLE gap (0.2
    years narrower); worse for: ..." (``amounts``: metric -> the difference in words)."""
    amounts = amounts or {}

    def item(m: str) -> str:
        label = words(m).label[0].lower() + words(m).label[1:]
        return f"{label} ({amounts[m]})" if m in amounts and verdicts[m] in (BETTER, WORSE) else label

    parts = []
    for k, head in ((BETTER, "Better for"), (WORSE, "Worse for"), (TOO_CLOSE, "Too close to call"),
                    (NO_DIFFERENCE, "No practical difference")):
        group = [item(m) for m, v in verdicts.items() if v == k]
        if group:
            parts.append(f"{head}: {'; '.join(group)}.")
    return f"{option[0].upper() + option[1:]}. " + " ".join(parts)
