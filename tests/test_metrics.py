"""Tests for ics_sim.metrics: hand-worked cases, published examples and invariances."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from ics_sim.metrics import (
    TheilResult,
    concentration_index,
    decile_groups,
    gini,
    horizontal_inequity,
    quintile_gap,
    relative_sii,
    sii,
    theil,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


# ============================================================================================
# SII / RII
# ============================================================================================
def test_sii_three_equal_groups_hand_worked():
    # Shares 1/3 each -> x = 1/6, 1/2, 5/6 (mean 1/2); y = 1, 2, 3 (mean 2).
    # cov = (1/3)[(-1/3)(-1) + 0 + (1/3)(1)] = 2/9 ; var = (1/3)(1/9 + 0 + 1/9) = 2/27
    # slope = (2/9)/(2/27) = 3 -> SII = 3; relative SII = 3/2 = 1.5
    # intercept a = 2 - 3*(1/2) = 0.5 -> RII = (0.5 + 3)/0.5 = 7
    s, r = sii([1, 2, 3], [100, 100, 100])
    assert s == pytest.approx(3.0, abs=1e-12)
    assert r == pytest.approx(7.0, abs=1e-12)
    assert relative_sii([1, 2, 3], [100, 100, 100]) == pytest.approx(1.5, abs=1e-12)


def test_sii_unequal_populations_hand_worked():
    # Populations 1, 2, 1 -> shares .25, .5, .25 -> x = .125, .5, .875 (weighted mean .5)
    # y = 1, 2, 4 -> weighted mean = .25 + 1 + 1 = 2.25
    # cov = .25(-.375)(-1.25) + .5(0)(-.25) + .25(.375)(1.75) = .28125
    # var = .25(.140625) + 0 + .25(.140625) = .0703125 -> slope = 4
    # relative SII = 4/2.25 = 16/9; intercept = 2.25 - 4(.5) = .25 -> RII = 4.25/.25 = 17
    s, r = sii([1, 2, 4], [1, 2, 1])
    assert s == pytest.approx(4.0, abs=1e-12)
    assert r == pytest.approx(17.0, abs=1e-12)
    assert relative_sii([1, 2, 4], [1, 2, 1]) == pytest.approx(16 / 9, abs=1e-12)
    # Asymmetric populations 1, 1, 2 -> shares .25, .25, .5 -> x = .125, .375, .75 (mean .5)
    # y = 1, 2, 4 -> weighted mean 2.75; dx = -.375, -.125, .25; dy = -1.75, -.75, 1.25
    # cov = .25(.65625) + .25(.09375) + .5(.3125) = .34375 ; var = .0703125
    # slope = .34375 / .0703125 = 44/9 ; relative SII = (44/9) / 2.75 = 16/9
    # intercept = 99/36 - (44/9)(1/2) = 11/36 -> RII = (11/36 + 176/36) / (11/36) = 17
    s, r = sii([1, 2, 4], [1, 1, 2])
    assert s == pytest.approx(44 / 9, abs=1e-12)
    assert r == pytest.approx(17.0, abs=1e-12)
    assert relative_sii([1, 2, 4], [1, 1, 2]) == pytest.approx(16 / 9, abs=1e-12)
    # unweighted OLS on the same x gives 4.842, so the population weights really matter
    ols = np.polyfit([0.125, 0.375, 0.75], [1, 2, 4], 1)[0]
    assert abs(ols - 44 / 9) > 0.03


def test_sii_population_scale_invariant_and_lists_accepted():
    a = sii([1.0, 2.0, 4.0], [1, 2, 1])
    b = sii(np.array([1.0, 2.0, 4.0]), np.array([1000.0, 2000.0, 1000.0]))
    assert a == pytest.approx(b, abs=1e-12)


def test_sii_recovers_linear_slope_exactly_unequal_populations():
    rng = np.random.default_rng(42)
    pops = rng.uniform(500, 5000, size=10)
    p = pops / pops.sum()
    x = np.cumsum(p) - p / 2
    y = 50.0 + 18.5 * x  # exactly linear in the cumulative-rank midpoint
    s, r = sii(y, pops)
    assert s == pytest.approx(18.5, abs=1e-10)
    # the fitted ends are exactly 50 (most deprived) and 68.5 (least deprived)
    assert r == pytest.approx(68.5 / 50.0, abs=1e-12)
    assert relative_sii(y, pops) == pytest.approx(18.5 / np.dot(p, y), abs=1e-12)


def test_sii_matches_independent_weighted_least_squares():
    rng = np.random.default_rng(7)
    pops = rng.uniform(1, 10, size=7)
    y = rng.normal(60, 5, size=7)
    p = pops / pops.sum()
    x = np.cumsum(p) - p / 2
    # np.polyfit minimises sum (w_i * resid_i)^2, so w = sqrt(pop) gives WLS with weights pop
    slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(pops))
    s, r = sii(y, pops)
    assert s == pytest.approx(slope, rel=1e-10)
    assert r == pytest.approx((intercept + slope) / intercept, rel=1e-10)
    assert relative_sii(y, pops) == pytest.approx(slope / np.dot(p, y), rel=1e-10)
    # the weighted mean equals the fitted value at x = 1/2
    assert np.dot(p, y) == pytest.approx(intercept + slope / 2, rel=1e-10)


def test_sii_orientation_most_deprived_first():
    # values rising towards the least deprived end give a positive SII and an RII above 1;
    # reversing the order of the groups flips the SII's sign and inverts the RII.
    s_up, r_up = sii([50, 55, 60, 65], [1, 1, 1, 1])
    s_down, r_down = sii([65, 60, 55, 50], [1, 1, 1, 1])
    assert s_up > 0 and r_up > 1
    assert s_down == pytest.approx(-s_up)
    assert r_down == pytest.approx(1 / r_up)


#: UKHSA PHEindicatormethods, tests/testthat/testdata_SII.xlsx (the package's own test data for
#: phe_sii), rows 1-20, "default (e.g. life expectancy) - default parameters": life expectancy
#: by deprivation decile (decile 1 = most deprived) with populations, and the published
#: phe_sii results with rii = TRUE. Values transcribed from the spreadsheet.
PHE_SII_WORKED = {
    "area1": {
        "values": [75.933459, 78.344238, 83.836063, 83.637540, 80.465503, 81.115676, 81.693084, 84.190006, 80.595564, 86.289435],
        "populations": [7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534],
        "sii": 6.934616,
        "rii": 1.088818,
    },
    "area2": {
        "values": [70.548532, 71.571557, 72.486987, 73.519855, 73.146054, 76.158987, 78.654449, 80.564770, 80.854866, 79.971125],
        "populations": [21675, 20065, 19750, 24713, 20112, 19618, 22408, 19752, 18939, 19312],
        "sii": 12.547847,
        "rii": 1.180886,
    },
}


@pytest.mark.parametrize("area", sorted(PHE_SII_WORKED))
def test_sii_and_rii_match_phe_sii_published_worked_example(area):
    case = PHE_SII_WORKED[area]
    s, r = sii(case["values"], case["populations"])
    assert s == pytest.approx(case["sii"], abs=1e-6)
    assert r == pytest.approx(case["rii"], abs=1e-6)


def test_relative_sii_is_not_the_phe_rii_on_the_worked_example():
    # the old hle_rii (SII / mean) gives 0.085 on PHE's area 1, where phe_sii's RII is 1.0888
    case = PHE_SII_WORKED["area1"]
    assert relative_sii(case["values"], case["populations"]) == pytest.approx(0.0850415, abs=1e-6)


def test_relative_sii_published_worked_example_dceasimr():
    # dceasimR vignette "Inequality Measurement in DCEA" (CRAN, v04_inequality_measures):
    # mean_hale = 52.1, 56.3, 59.8, 63.2, 66.8 with pop_share 0.2 each ->
    # calc_sii: sii = 18.15 (lm intercept 50.57); calc_rii: 0.304326 (= SII / mean).
    s, r = sii([52.1, 56.3, 59.8, 63.2, 66.8], [0.2] * 5)
    assert s == pytest.approx(18.15, abs=1e-9)
    assert relative_sii([52.1, 56.3, 59.8, 63.2, 66.8], [0.2] * 5) == pytest.approx(0.304326, abs=1e-6)
    # the PHE RII of the same data: mean 59.64, so the fitted ends are 50.565 and 68.715
    assert r == pytest.approx(68.715 / 50.565, abs=1e-9)
    # Same package, calc_rii reference example: 60, 63, 66, 69, 72 -> sii 15, 0.2272727
    s, _ = sii([60, 63, 66, 69, 72], [0.2] * 5)
    assert s == pytest.approx(15.0, abs=1e-9)
    assert relative_sii([60, 63, 66, 69, 72], [0.2] * 5) == pytest.approx(0.2272727, abs=1e-7)


def test_sii_identical_values_exact():
    s, r = sii([70.3] * 10, np.linspace(1000, 3000, 10))
    assert s == 0.0 and r == 1.0
    assert relative_sii([70.3] * 10, np.linspace(1000, 3000, 10)) == 0.0


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_sii_ons_male_hle_2015_17_matches_published_gap():
    hle_file = SHARED_DATA / "ons_male_hle_by_imd_decile_england_2015_17.csv"
    headline_file = SHARED_DATA / "hle_le_inequality_headlines_ons.csv"
    if not hle_file.exists():
        pytest.skip(f"shared reference data not available: {hle_file}")
    rows = sorted(_read_csv(hle_file), key=lambda r: int(r["imd15_decile"]))
    assert [int(r["imd15_decile"]) for r in rows] == list(range(1, 11))
    hle = [float(r["male_hle_at_birth_2015_17"]) for r in rows]
    # England IMD deciles hold ~10% of the population each -> equal populations.
    s, r = sii(hle, [1.0] * 10)
    assert 18.0 <= s <= 21.0  # computed 19.08 years
    assert 1.3 < r < 1.45  # fitted ends about 52.6 and 71.6 years
    assert 0.25 < relative_sii(hle, [1.0] * 10) < 0.35  # 19.08 / mean HLE 62.1
    # ONS "Health state life expectancies by national deprivation deciles, England and Wales:
    # 2015 to 2017" headline: male HLE gap (SII) at birth in England = 19.1 years.
    if headline_file.exists():
        published = [
            row
            for row in _read_csv(headline_file)
            if row["period"] == "2015-2017"
            and row["measure"] == "healthy life expectancy at birth"
            and row["sex"] == "male"
        ]
        if published:
            gap = float(published[0]["gap_years_most_vs_least_deprived"])
            assert gap == pytest.approx(19.1)
            assert abs(s - gap) < 1.0
            assert abs(s - gap) < 0.1  # in fact 19.078 vs 19.1


# ============================================================================================
# Gini
# ============================================================================================
def test_gini_closed_forms():
    # [0,0,0,1]: ordered pairs with |diff| = 1: 2*3 = 6, each with weight (1/4)^2 -> 6/16;
    # mu = 1/4 -> G = (6/16) / (2 * 1/4) = 0.75 (population definition; sample gives 1.0)
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75, abs=1e-12)
    # [1,2,3]: sum over ordered pairs |diff| = 2*(1+2+1) = 8 -> 8/9 ; / (2*2) = 2/9
    assert gini([1, 2, 3]) == pytest.approx(2 / 9, abs=1e-12)
    # one unit holds everything among n: G = 1 - 1/n
    assert gini([0] * 9 + [5]) == pytest.approx(0.9, abs=1e-12)
    # order does not matter
    assert gini([3, 1, 2]) == pytest.approx(2 / 9, abs=1e-12)


def test_gini_weights_equal_duplication():
    values = [3.0, 1.0, 7.0, 2.0]
    weights = [2, 1, 3, 4]
    duplicated = np.repeat(values, weights)
    assert gini(values, weights) == pytest.approx(gini(duplicated), abs=1e-12)


def test_gini_matches_double_sum_definition_random():
    rng = np.random.default_rng(1)
    y = rng.gamma(2.0, 3.0, size=40)
    w = rng.uniform(0.5, 3.0, size=40)
    s = w / w.sum()
    mu = np.dot(s, y)
    direct = np.sum(s[:, None] * s[None, :] * np.abs(y[:, None] - y[None, :])) / (2 * mu)
    assert gini(y, w) == pytest.approx(direct, abs=1e-12)
    # scale invariance
    assert gini(10 * y, w) == pytest.approx(gini(y, w), abs=1e-12)


def test_gini_identical_values_exact_zero():
    assert gini([4.2] * 7) == 0.0
    assert gini([4.2] * 7, [1, 2, 3, 4, 5, 6, 7]) == 0.0
    assert gini([0.0, 0.0]) == 0.0


# ============================================================================================
# Concentration index and horizontal inequity
# ============================================================================================
def test_concentration_index_hand_worked():
    # Ranks R = 1/6, 1/2, 5/6; y = 1,2,3 (mean 2): cov = (1/3)[(-1)(-1/3) + 0 + (1)(1/3)] = 2/9
    # C = 2 * (2/9) / 2 = 2/9
    assert concentration_index([1, 2, 3], rank_by=[10, 20, 30]) == pytest.approx(2 / 9)
    # concentrated among the most deprived (low rank) -> negative
    assert concentration_index([3, 2, 1], rank_by=[10, 20, 30]) == pytest.approx(-2 / 9)


def test_concentration_index_weighted_hand_worked():
    # weights 1,2,1 -> shares .25,.5,.25 -> R = .125, .5, .875; y = 1,2,4, mu = 2.25
    # cov = .28125 (as in the SII case) -> C = 2 * .28125 / 2.25 = 0.25
    assert concentration_index([1, 2, 4], [1, 2, 3], [1, 2, 1]) == pytest.approx(0.25)


def test_concentration_index_equals_gini_when_ranked_by_itself():
    rng = np.random.default_rng(3)
    y = rng.lognormal(0, 0.7, size=50)
    w = rng.uniform(1, 4, size=50)
    assert concentration_index(y, y, w) == pytest.approx(gini(y, w), abs=1e-12)


def test_concentration_index_sign_scaling_and_bounds():
    rng = np.random.default_rng(11)
    imd_rank = rng.permutation(200) + 1  # 1 = most deprived
    pops = rng.uniform(1000, 3000, size=200)
    pro_deprived = 3000 - 5 * imd_rank + rng.uniform(0, 10, 200)  # higher where deprived
    pro_rich = 1000 + 5 * imd_rank
    c_dep = concentration_index(pro_deprived, imd_rank, pops)
    c_rich = concentration_index(pro_rich, imd_rank, pops)
    assert c_dep < 0 < c_rich
    assert -1 <= c_dep <= 1 and -1 <= c_rich <= 1
    # invariant to multiplying values by a positive constant
    assert concentration_index(7.5 * pro_rich, imd_rank, pops) == pytest.approx(c_rich, abs=1e-12)
    # reversing the socioeconomic ranking flips the sign (no ties)
    assert concentration_index(pro_rich, -imd_rank, pops) == pytest.approx(-c_rich, abs=1e-12)


def test_concentration_index_ties_and_duplication():
    # ties in rank_by get the block midpoint, so order of tied units does not matter and
    # integer weights are equivalent to duplicated units
    y = [5.0, 1.0, 3.0, 2.0]
    rank = [1, 1, 2, 3]
    w = [3, 1, 2, 2]
    c = concentration_index(y, rank, w)
    assert concentration_index([1.0, 5.0, 3.0, 2.0], [1, 1, 2, 3], [1, 3, 2, 2]) == pytest.approx(c)
    assert concentration_index(np.repeat(y, w), np.repeat(rank, w)) == pytest.approx(c, abs=1e-12)


def test_concentration_index_identical_values_exact_zero():
    assert concentration_index([2.5] * 5, [5, 4, 3, 2, 1], [1, 2, 3, 4, 5]) == 0.0


def test_horizontal_inequity():
    rank = np.arange(1, 11)  # 1 = most deprived
    pops = np.full(10, 1000.0)
    need = np.linspace(1.4, 0.7, 10)  # need higher in deprived areas -> CI(need) < 0
    # use exactly proportional to need -> no inequity
    assert horizontal_inequity(2 * need, need, rank, pops) == pytest.approx(0.0, abs=1e-12)
    # flat use while need is pro-deprived -> use is pro-rich relative to need
    flat = np.full(10, 1.0)
    hi = horizontal_inequity(flat, need, rank, pops)
    assert hi == pytest.approx(-concentration_index(need, rank, pops))
    assert hi > 0
    # use more concentrated among the deprived than need -> pro-poor (negative)
    assert horizontal_inequity(need**2, need, rank, pops) < 0


# ============================================================================================
# Theil
# ============================================================================================
def test_theil_known_two_group_case():
    # values 1,3 | 2,6 (equal weights); mu = 3; group means 2 and 4, shares .5 each.
    # T([1,3]) = T([2,6]) = .25 ln .5 + .75 ln 1.5 (scale invariance)
    # between = .5 (2/3) ln(2/3) + .5 (4/3) ln(4/3)
    # within  = .5 (2/3) T_A + .5 (4/3) T_B = T([1,3])
    t13 = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    between = 0.5 * (2 / 3) * math.log(2 / 3) + 0.5 * (4 / 3) * math.log(4 / 3)
    res = theil([1, 3, 2, 6], groups=["a", "a", "b", "b"])
    assert isinstance(res, TheilResult)
    assert res.within == pytest.approx(t13, abs=1e-12)
    assert res.between == pytest.approx(between, abs=1e-12)
    assert res.total == pytest.approx(t13 + between, abs=1e-12)
    # total directly: sum (1/4)(y/3) ln(y/3)
    direct = sum(0.25 * (v / 3) * math.log(v / 3) for v in (1, 3, 2, 6))
    assert res.total == pytest.approx(direct, abs=1e-12)


def test_theil_decomposition_random_exact():
    rng = np.random.default_rng(5)
    y = rng.lognormal(7, 0.5, size=300)
    w = rng.uniform(100, 2000, size=300)
    g = rng.integers(0, 7, size=300)
    res = theil(y, w, g)
    assert res.between + res.within == pytest.approx(res.total, abs=1e-12)
    assert res.between >= 0 and res.within >= 0
    no_groups = theil(y, w)
    assert no_groups.total == pytest.approx(res.total, abs=1e-15)
    assert no_groups.between == 0.0 and no_groups.within == no_groups.total


def test_theil_identical_within_groups_and_all_identical():
    res = theil([2, 2, 2, 8, 8], weights=[1, 2, 3, 1, 1], groups=[0, 0, 0, 1, 1])
    assert res.within == 0.0
    assert res.between == pytest.approx(res.total, abs=1e-12)
    zero = theil([3.3] * 6, weights=[1, 2, 3, 4, 5, 6], groups=[0, 0, 1, 1, 2, 2])
    assert zero == TheilResult(0.0, 0.0, 0.0)
    # groups with equal means -> between is zero (not -1e-17 noise)
    eq = theil([1.0, 3.0, 0.5, 3.5], groups=[0, 0, 1, 1])
    assert eq.between >= 0.0 and eq.between == pytest.approx(0.0, abs=1e-12)


def test_theil_weights_equal_duplication():
    y = [1.0, 4.0, 2.5]
    w = [3, 1, 2]
    assert theil(y, w).total == pytest.approx(theil(np.repeat(y, w)).total, abs=1e-12)


# ============================================================================================
# decile helpers
# ============================================================================================
def test_decile_groups_and_quintile_gap():
    deciles = [10, 1, 1, 2, 9, 5, 10]
    values = [80.0, 60.0, 64.0, 66.0, 78.0, 70.0, 82.0]
    pops = [100, 100, 300, 200, 200, 50, 300]
    vals, p = decile_groups(deciles, values, pops)
    # deciles present, most deprived first: 1, 2, 5, 9, 10
    # decile 1: (60*100 + 64*300)/400 = 63 ; decile 10: (80*100 + 82*300)/400 = 81.5
    np.testing.assert_allclose(vals, [63.0, 66.0, 70.0, 78.0, 81.5])
    np.testing.assert_allclose(p, [400, 200, 50, 200, 400])
    # Q1 = deciles 1-2: (63*400 + 66*200)/600 = 64 ; Q5 = deciles 9-10: (78*200+81.5*400)/600
    q5 = (78 * 200 + 81.5 * 400) / 600
    assert quintile_gap(deciles, values, pops) == pytest.approx(q5 - 64.0)
    # output feeds sii directly
    s, _ = sii(vals, p)
    assert s > 0


def test_quintile_gap_requires_both_quintiles():
    with pytest.raises(ValueError, match="deciles"):
        quintile_gap([1, 2, 5], [1.0, 2.0, 3.0], [1, 1, 1])


# ============================================================================================
# validation
# ============================================================================================
@pytest.mark.parametrize(
    ("call", "argname"),
    [
        (lambda: sii([1, 2, 3], [1, 1]), "populations"),
        (lambda: sii([], []), "values"),
        (lambda: sii([1, 2, 3], [1, 0, 1]), "populations"),
        (lambda: sii([1, 2, 3], [1, -1, 1]), "populations"),
        (lambda: sii([1, np.nan, 3], [1, 1, 1]), "values"),
        (lambda: relative_sii([1, 2, 3], [1, 0, 1]), "populations"),
        (lambda: sii([1.0], [1]), "values"),
        (lambda: gini([1, 2, np.inf]), "values"),
        (lambda: gini([1, -2, 3]), "values"),
        (lambda: gini([1, 2, 3], [1, 1]), "weights"),
        (lambda: gini([1, 2, 3], [1, 0, 1]), "weights"),
        (lambda: concentration_index([1, 2, 3], [1, 2]), "rank_by"),
        (lambda: concentration_index([1, 2, 3], [1, 2, np.nan]), "rank_by"),
        (lambda: concentration_index([1, 2, 3], [1, 2, 3], [1, 1, -1]), "weights"),
        (lambda: horizontal_inequity([1, 2], [1, 2, 3], [1, 2]), "need"),
        (lambda: horizontal_inequity([1, 2], [1, np.nan], [1, 2]), "need"),
        (lambda: theil([1, 0, 2]), "values"),
        (lambda: theil([1, -1, 2]), "values"),
        (lambda: theil([1, 2, 3], groups=[0, 1]), "groups"),
        (lambda: theil([1, 2, 3], weights=[1, 1, 0]), "weights"),
        (lambda: decile_groups([0, 1], [1.0, 2.0], [1, 1]), "deciles"),
        (lambda: decile_groups([1, 11], [1.0, 2.0], [1, 1]), "deciles"),
        (lambda: decile_groups([1, 2], [1.0, 2.0], [1, 0]), "populations"),
        (lambda: decile_groups([1, 2], [1.0], [1, 1]), "values"),
    ],
)
def test_invalid_input_raises_value_error_naming_argument(call, argname):
    with pytest.raises(ValueError, match=f"`{argname}`"):
        call()


def test_zero_mean_concentration_index_raises():
    with pytest.raises(ValueError, match="mean"):
        concentration_index([-1.0, 1.0], [1, 2])
