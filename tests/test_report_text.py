"""The leaders' report's words (issue 14): direction words follow the sign and the measure's
direction, hedges when the 10-90% range spans zero, units in words, sensible rounding."""

from __future__ import annotations

import pytest

from ics_sim.analysis.compare import Flip
from ics_sim.analysis.robustness import Condition
from ics_sim.model.record import METRICS
from ics_sim.runs.compare import DEFAULT_OUTCOMES
from ics_sim.views import report_text as rt


def test_direction_words_flip_with_the_sign_for_a_lower_is_better_gap():
    narrower = rt.headline("hle_sii", "joint committees", "committees", -0.21, -0.40, -0.05, 0.93, 100)
    wider = rt.headline("hle_sii", "joint committees", "committees", 0.21, 0.05, 0.40, 0.07, 100)
    assert narrower.startswith("Narrower gap") and "0.21 years narrower" in narrower and "wider" not in narrower
    assert wider.startswith("Wider gap") and "0.21 years wider" in wider and "narrower" not in wider
    assert "better in 93% of futures" in narrower and "better in 7% of futures" in wider
    assert rt.verdict("hle_sii", -0.21, -0.40, -0.05) == rt.BETTER
    assert rt.verdict("hle_sii", 0.21, 0.05, 0.40) == rt.WORSE


def test_direction_words_flip_with_the_sign_for_a_higher_is_better_measure():
    longer = rt.headline("hle_mean", "A", "B", 0.05, 0.02, 0.09, 0.95, 100)
    shorter = rt.headline("hle_mean", "A", "B", -0.05, -0.09, -0.02, 0.05, 100)
    assert longer.startswith("Longer healthy lives") and "0.050 years longer" in longer
    assert shorter.startswith("Shorter healthy lives") and "0.050 years shorter" in shorter
    assert rt.verdict("hle_mean", 0.05, 0.02, 0.09) == rt.BETTER and rt.verdict("hle_mean", -0.05, -0.09, -0.02) == rt.WORSE


@pytest.mark.parametrize("metric, good, bad", [
    ("decision_delay_months", "faster decisions", "slower decisions"),
    ("duplicated_spend_gbp", "less duplicated spending", "more duplicated spending"),
    ("transaction_cost_gbp", "lower running costs", "higher running costs"),
    ("unmet_need", "less unmet need", "more unmet need"),
])
def test_every_lower_is_better_headline_says_better_for_a_fall_and_worse_for_a_rise(metric, good, bad):
    assert METRICS[metric].direction == "lower"
    w = rt.words(metric)
    fall = rt.headline(metric, "A", "B", -10 / w.scale, -20 / w.scale, -5 / w.scale, 1.0, 100)
    rise = rt.headline(metric, "A", "B", 10 / w.scale, 5 / w.scale, 20 / w.scale, 0.0, 100)
    assert fall.lower().startswith(good) and bad not in fall.lower()
    assert rise.lower().startswith(bad) and good not in rise.lower()


def test_a_range_spanning_zero_is_too_close_to_call_whatever_the_median():
    for median in (-0.05, 0.0, 0.08):
        text = rt.headline("hle_sii", "A", "B", median, -0.10, 0.20, 0.45, 100)
        assert text.startswith("Too close to call"), text
        assert "0.10 years narrower" in text and "0.20 years wider" in text  # both ends, each in words
        assert rt.verdict("hle_sii", median, -0.10, 0.20) == rt.TOO_CLOSE
    assert rt.verdict("hle_sii", 0.01, 0.0, 0.2) == rt.TOO_CLOSE  # a range touching zero is no verdict either


def test_a_difference_below_the_practical_threshold_is_no_practical_difference():
    assert rt.verdict("decision_delay_months", 0.001, -0.01, 0.02) == rt.NO_DIFFERENCE
    assert rt.verdict("decision_delay_months", 0.0, 0.0, 0.0) == rt.NO_DIFFERENCE
    assert rt.headline("decision_delay_months", "A", "B", 0.001, -0.01, 0.02, 0.3, 100).startswith("No practical difference")


def test_money_is_in_pounds_million_a_year_rounded_to_two_significant_figures():
    text = rt.headline("duplicated_spend_gbp", "A", "B", -812_345.0, -1_234_567.0, -312_345.0, 0.97, 100)
    assert "£0.8 million a year less" in text and "(£0.3 to £1.2 million a year less" in text
    assert rt.amount(8_368_950.6 * 1e-6, "£ million a year", sig=3) == "£8.37 million a year"
    assert rt.number(0.2134) == "0.21" and rt.number(8_368_950.6) == "8,400,000" and rt.number(-0.0) == "0"
    assert rt.level("hle_mean", 63.8094, 63.51, 64.2) == "63.8 years of healthy life (63.5 to 64.2)"


def test_chances_never_round_to_a_certainty_that_did_not_happen():
    assert rt.chance(0.995) == "over 99%" and rt.chance(0.004) == "under 1%"
    assert rt.chance(1.0) == "100%" and rt.chance(0.0) == "0%" and rt.chance(0.5) == "50%"


def test_few_futures_are_hedged_as_a_rough_guide():
    assert "rough guide" in rt.headline("hle_sii", "A", "B", -0.2, -0.4, -0.1, 1.0, 10)
    assert "rough guide" not in rt.headline("hle_sii", "A", "B", -0.2, -0.4, -0.1, 1.0, 100)


def test_what_would_change_it_names_the_condition_or_says_none_was_found():
    cond = Condition([("finance.pooled_council_share", "<=", 0.12)], n=9, hits=7, total_hits=8)
    flip = Flip("joint_committee", "hle_sii", True, cond, "the share of council money pooled is below 0.12")
    text = rt.flip_sentence(flip, "joint committees", "committees", 0.85, 100, rt.BETTER)
    assert text == "Reverses when the share of council money pooled is below 0.12: there it does worse in 7 of 9 futures."
    close = Flip("joint_committee", "hle_sii", False, cond, "the share of council money pooled is below 0.12")
    assert rt.flip_sentence(close, "A", "B", 0.4, 100, rt.TOO_CLOSE) == (
        "Better when the share of council money pooled is below 0.12 (7 of 9 such futures).")
    none = Flip("joint_committee", "hle_sii", True, None, "")
    assert "no condition found in the ranges tried" in rt.flip_sentence(none, "A", "B", 0.85, 100, rt.BETTER).lower()
    assert rt.flip_sentence(none, "A", "B", 1.0, 100, rt.BETTER).startswith("Holds in all 100 futures")
    assert "decides it" in rt.flip_sentence(none, "A", "B", 0.5, 100, rt.TOO_CLOSE)


def test_in_short_sorts_outcomes_into_better_worse_and_too_close_with_amounts():
    text = rt.in_short({"hle_sii": rt.BETTER, "transaction_cost_gbp": rt.WORSE, "hle_mean": rt.TOO_CLOSE},
                       "joint committees", {"hle_sii": "0.2 years narrower", "transaction_cost_gbp": "£0.16 million a year higher"})
    assert text.startswith("Joint committees. Better for: gap in healthy life expectancy")
    assert "(0.2 years narrower)" in text and "Worse for: running costs of partnership working (£0.16 million a year higher)" in text
    assert "Too close to call: healthy life expectancy" in text


def test_every_default_outcome_has_its_own_words_with_a_direction():
    for m in DEFAULT_OUTCOMES:
        assert m in rt.WORDS, m
        assert METRICS[m].direction in ("higher", "lower"), m
        w = rt.WORDS[m]
        assert w.better != w.worse and w.more_better != w.more_worse and w.negligible > 0
