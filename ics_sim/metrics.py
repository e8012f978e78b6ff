"""Inequality measures for health and health-care data.

Plain, dependency-light functions (numpy only) that work on any data: lists or 1-D arrays of
group- or unit-level values, optionally with population weights. Every function validates its
input and raises :class:`ValueError` naming the offending argument.

Conventions used throughout
---------------------------
* Weights / populations are normalised to shares ``s_i = w_i / sum(w)``; every measure is the
  *population* (not sample) version, so a unit with weight ``k`` is exactly equivalent to ``k``
  duplicated units of weight 1.
* Deprivation order: for :func:`sii` groups are passed **most deprived first**; for
  :func:`concentration_index` units are ranked by ``rank_by`` **ascending**, so pass a
  socioeconomic position where low = most deprived (e.g. IMD rank, where rank 1 is the most
  deprived LSOA). To use an IMD *score* (high = more deprived), pass ``-score``.
* Degenerate inputs are exact: identical values give 0 for SII, the relative SII, Gini,
  concentration index and all Theil components. Rounding noise in Gini and Theil that falls in
  ``(-1e-12, 0)`` is clamped to 0.

References
----------
* Low A, Low A (2004). Measuring the gap: quantifying and comparing local health inequalities.
  Journal of Public Health 26(4):388-395.
* Public Health England / UKHSA, ``PHEindicatormethods::phe_sii`` (R package implementing the
  Fingertips SII method, citing Low & Low 2004) and the Fingertips Public Health Technical
  Guidance, "Slope index of inequality (SII) and relative index of inequality (RII)".
* Mackenbach JP, Kunst AE (1997). Measuring the magnitude of socio-economic inequalities in
  health: an overview of available measures illustrated with two examples from Europe.
  Social Science & Medicine 44(6):757-771.
* Kakwani N, Wagstaff A, van Doorslaer E (1997). Socioeconomic inequalities in health:
  measurement, computation, and statistical inference. Journal of Econometrics 77(1):87-103.
* O'Donnell O, van Doorslaer E, Wagstaff A, Lindelow M (2008). Analyzing Health Equity Using
  Household Survey Data. World Bank. (Chapters 8, 10 and 15.)
* Wagstaff A, van Doorslaer E (2000). Measuring and testing for inequity in the delivery of
  health care. Journal of Human Resources 35(4):716-733.
* Theil H (1967). Economics and Information Theory. North-Holland; Shorrocks AF (1980). The
  class of additively decomposable inequality measures. Econometrica 48(3):613-625.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "TheilResult",
    "concentration_index",
    "decile_groups",
    "gini",
    "horizontal_inequity",
    "population_quantile_weights",
    "quintile_gap",
    "relative_sii",
    "sii",
    "theil",
]

_CLAMP_TOL = 1e-12


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _as_values(x: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return ``x`` as a non-empty, finite, 1-D float array or raise ``ValueError``."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be a 1-D sequence of numbers") from exc
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must contain only finite numbers (no NaN or inf)")
    return arr


def _as_weights(w: ArrayLike | None, name: str, n: int, ref: str) -> NDArray[np.float64]:
    """Return strictly positive finite weights of length ``n`` (all ones when ``w`` is None)."""
    if w is None:
        return np.ones(n)
    arr = _as_values(w, name)
    if arr.size != n:
        raise ValueError(f"`{name}` has length {arr.size} but `{ref}` has length {n}")
    if np.any(arr <= 0):
        raise ValueError(f"`{name}` must be strictly positive (zero or negative entries found)")
    return arr


def _same_length(a: NDArray, a_name: str, b: NDArray, b_name: str) -> None:
    if a.size != b.size:
        raise ValueError(f"`{b_name}` has length {b.size} but `{a_name}` has length {a.size}")


def _clamp(x: float) -> float:
    """Map rounding noise in (-1e-12, 0) to exactly 0.0."""
    return 0.0 if -_CLAMP_TOL < x < 0.0 else float(x)


def _all_equal(y: NDArray) -> bool:
    return bool(np.all(y == y[0]))


def _fractional_rank(rank_by: NDArray, shares: NDArray) -> NDArray[np.float64]:
    """Weighted fractional rank with ties averaged.

    Units are sorted by ``rank_by`` ascending; unit ``i`` gets
    ``R_i = sum_{j before i} s_j + s_i / 2`` (midpoint of its cumulative weight share). Units
    tied on ``rank_by`` all receive the midpoint of the tied block, ``C_before + S_block / 2``,
    which is the share-weighted mean of their individual midpoints, so the result does not
    depend on the order of ties and a unit of weight ``k`` equals ``k`` duplicated units.
    """
    order = np.argsort(rank_by, kind="stable")
    r_sorted = rank_by[order]
    s_sorted = shares[order]
    # block boundaries of tied values (np.concatenate, not np.r_: this runs every month)
    new = np.concatenate(([True], r_sorted[1:] != r_sorted[:-1]))
    starts = np.flatnonzero(new)
    block_share = np.add.reduceat(s_sorted, starts)
    block_before = np.concatenate(([0.0], np.cumsum(block_share)[:-1]))
    block_mid = block_before + block_share / 2.0
    block_id = np.cumsum(new) - 1
    ranks = np.empty_like(shares)
    ranks[order] = block_mid[block_id]
    return ranks


# --------------------------------------------------------------------------------------------
# slope and relative index of inequality
# --------------------------------------------------------------------------------------------
def _low_and_low(values: ArrayLike, populations: ArrayLike) -> tuple[float, float, float] | None:
    """Validated Low and Low regression: ``(intercept, slope, weighted mean)`` of the
    population-weighted fit of the values on the cumulative-rank midpoints, or None when every
    value is the same."""
    y = _as_values(values, "values")
    n = _as_values(populations, "populations")
    _same_length(y, "values", n, "populations")
    if np.any(n <= 0):
        raise ValueError("`populations` must be strictly positive (zero or negative found)")
    if y.size < 2:
        raise ValueError("`values` must have at least two groups to fit a slope")
    return _fit_sii(_sii_design(n), y)


def _sii_design(populations: NDArray) -> tuple[NDArray, float, NDArray, np.float64]:
    """The part of the Low and Low fit that depends only on the populations (unvalidated):
    shares ``p``, mean rank ``x_bar``, centred ranks ``dx`` and ``sum p dx^2``. Callers that fit
    many sets of values over the same groups compute it once (:func:`_fit_sii`)."""
    p = populations / populations.sum()
    x = np.cumsum(p) - p / 2.0
    x_bar = float(np.dot(p, x))
    dx = x - x_bar
    return p, x_bar, dx, np.dot(p, dx * dx)


def _fit_sii(design: tuple[NDArray, float, NDArray, np.float64], y: NDArray) -> tuple[float, float, float] | None:
    """Low and Low fit of ``y`` on a precomputed design (:func:`_sii_design`), unvalidated:
    ``(intercept, slope, weighted mean)``, or None when every value is the same."""
    if _all_equal(y):
        return None
    p, x_bar, dx, sxx = design
    y_bar = float(np.dot(p, y))
    slope = float(np.dot(p, dx * (y - y_bar)) / sxx)
    return y_bar - slope * x_bar, slope, y_bar


def _sii_of_fit(fit: tuple[float, float, float] | None) -> tuple[float, float]:
    """``(sii, rii)`` of a Low and Low fit (see :func:`sii`)."""
    if fit is None:
        return 0.0, 1.0
    intercept, slope, _ = fit
    if intercept == 0.0:
        raise ValueError("RII undefined: the fitted value at the most deprived end is 0")
    return slope, (intercept + slope) / intercept


def _relative_sii_of_fit(fit: tuple[float, float, float] | None) -> float:
    """The relative SII of a Low and Low fit (see :func:`relative_sii`)."""
    if fit is None:
        return 0.0
    _, slope, mean = fit
    if mean == 0.0:
        raise ValueError("relative SII undefined: the population-weighted mean of `values` is 0")
    return slope / mean


def sii(values: ArrayLike, populations: ArrayLike) -> tuple[float, float]:
    """Slope index of inequality (SII) and relative index of inequality (RII), as PHE/OHID publish them.

    Method of Low and Low (2004) as used in English public health statistics (PHE/OHID
    Fingertips; ONS health state life expectancies by deprivation decile; implemented by UKHSA's
    ``PHEindicatormethods::phe_sii``):

    1. Groups (e.g. IMD deciles) are given **ordered most deprived first**. With population
       shares ``p_i = n_i / sum(n)``, each group's relative rank is the midpoint of its range in
       the cumulative population distribution, ``x_i = sum_{j<i} p_j + p_i / 2`` (0..1).
    2. Fit ``y_i = a + b * x_i`` by weighted least squares with weights ``p_i``. (``phe_sii``
       regresses ``y*sqrt(n)`` on ``sqrt(n)`` and ``x*sqrt(n)`` without an intercept, which is the
       same estimator.)
    3. ``SII = b``: because x spans 0..1, the fitted value at the least deprived end (x = 1)
       minus the fitted value at the most deprived end (x = 0). For healthy life expectancy a
       positive SII is the modelled gap in years.
    4. ``RII = (a + b) / a``: the fitted value at the least deprived end divided by the fitted
       value at the most deprived end ("The RII is the ratio of the fitted value at x=1, Y1 and
       the fitted value at x=0, Y0 ... RII = (Y0 + SII)/Y0", ``phe_sii`` documentation, with
       ``rii = TRUE`` and no transformation). No inequality gives ``RII = 1``.

    The SII divided by the population-weighted mean (Mackenbach and Kunst 1997; the ScotPHO
    "relative index") is a different ratio; it is :func:`relative_sii`. For example, the
    ``PHEindicatormethods`` test data (``tests/testthat/testdata_SII.xlsx``, area 1, life
    expectancy by decile) give SII 6.934616 and RII 1.088818, whose SII / mean is 0.085.

    Args:
        values: Indicator value for each group, most deprived group first.
        populations: Population (denominator) of each group; strictly positive.

    Returns:
        ``(sii, rii)`` as floats. Identical values give exactly ``(0.0, 1.0)``.

    Raises:
        ValueError: on empty or mismatched input, fewer than two groups, non-finite values,
            non-positive populations, or a fitted value of 0 at the most deprived end.
    """
    return _sii_of_fit(_low_and_low(values, populations))


def relative_sii(values: ArrayLike, populations: ArrayLike) -> float:
    """The SII divided by the population-weighted mean of the values (not the PHE RII).

    ``SII / ybar`` with ``ybar = sum_i p_i y_i``; since the weighted mean of the rank midpoints is
    exactly 1/2, ``ybar`` is the fitted value at x = 1/2 (Mackenbach and Kunst 1997; the gradient
    "relative to the mean" of ScotPHO / Scottish Government "Long-term monitoring of health
    inequalities"). The dceasimR vignette's worked example (values 52.1, 56.3, 59.8, 63.2, 66.8,
    equal shares) gives SII 18.15 and 0.304326 on this scale, which that package calls an RII.

    Args:
        values: Indicator value for each group, most deprived group first.
        populations: Population of each group; strictly positive.

    Returns:
        The relative SII; identical values give exactly 0.0.

    Raises:
        ValueError: as for :func:`sii`, or when the weighted mean of the values is 0.
    """
    return _relative_sii_of_fit(_low_and_low(values, populations))


# --------------------------------------------------------------------------------------------
# Gini and concentration index
# --------------------------------------------------------------------------------------------
def _concentration(y: NDArray, rank_by: NDArray, w: NDArray) -> float:
    """Core of the concentration index: ``2 * cov_w(y, R) / mean_w(y)`` (inputs validated)."""
    if _all_equal(y):
        return 0.0
    s = w / w.sum()
    return _concentration_ranked(y, s, _centred_rank(rank_by, s))


def _centred_rank(rank_by: NDArray, s: NDArray) -> NDArray:
    """Weighted fractional rank minus its weighted mean, ``R - sum s R`` (unvalidated)."""
    r = _fractional_rank(rank_by, s)
    return r - np.dot(s, r)


def _concentration_ranked(y: NDArray, s: NDArray, r_centred: NDArray) -> float:
    """The concentration index of ``y`` for shares ``s`` and centred ranks ``r_centred``
    (:func:`_centred_rank`), unvalidated; callers ranking by a fixed order compute the ranks once."""
    if _all_equal(y):
        return 0.0
    mu = float(np.dot(s, y))
    if mu == 0.0:
        raise ValueError("index undefined: the weighted mean of `values` is 0")
    cov = float(np.dot(s, (y - mu) * r_centred))
    return 2.0 * cov / mu


def gini(values: ArrayLike, weights: ArrayLike | None = None) -> float:
    """Population-weighted Gini coefficient (population, not sample, definition).

    With shares ``s_i = w_i / sum(w)`` and weighted mean ``mu = sum_i s_i y_i``::

        G = sum_i sum_j s_i s_j |y_i - y_j| / (2 * mu)

    i.e. half the relative mean absolute difference (Gini 1912; O'Donnell et al. 2008, ch. 8).
    It is computed exactly as ``G = 2 * cov_w(y, F) / mu`` where ``F`` is the weighted
    fractional rank of ``y`` (midpoint of cumulative weight share, ties averaged), so
    ``gini(y, w) == concentration_index(y, rank_by=y, weights=w)``.

    This is the population definition: ``gini([0, 0, 0, 1]) == 0.75`` (the small-sample
    version multiplies by ``n/(n-1)`` and would give 1.0), and integer weights are exactly
    equivalent to duplicating units. For non-negative values ``0 <= G <= 1 - min share``.

    Args:
        values: Non-negative values (e.g. spending per head), one per unit.
        weights: Optional strictly positive weights (e.g. populations); default equal.

    Returns:
        The Gini coefficient. Identical values (including all zeros) give exactly 0.0.

    Raises:
        ValueError: on empty or mismatched input, non-finite or negative values,
            non-positive weights.
    """
    y = _as_values(values, "values")
    w = _as_weights(weights, "weights", y.size, "values")
    if np.any(y < 0):
        raise ValueError("`values` must be non-negative for the Gini coefficient")
    return _clamp(_concentration(y, y, w))


def concentration_index(
    values: ArrayLike, rank_by: ArrayLike, weights: ArrayLike | None = None
) -> float:
    """Concentration index of ``values`` over units ranked by ``rank_by`` ascending.

    Kakwani, Wagstaff & van Doorslaer (1997); O'Donnell et al. (2008), "Analyzing Health
    Equity Using Household Survey Data", ch. 8 ("convenient covariance" formula)::

        C = 2 * cov_w(y, R) / mu,   mu = sum_i s_i y_i,
        cov_w(y, R) = sum_i s_i (y_i - mu)(R_i - Rbar)

    with shares ``s_i = w_i / sum(w)`` and weighted fractional rank
    ``R_i = (cumulative share of units ranked below i) + s_i / 2`` (so ``Rbar = 1/2``).
    Units tied on ``rank_by`` share the midpoint of their tied block.

    Sign convention: pass a socioeconomic position where **low = most deprived** (e.g. IMD
    rank, 1 = most deprived). Then ``C < 0`` means ``values`` are concentrated among the more
    deprived, ``C > 0`` among the less deprived (better-off), ``C = 0`` no socioeconomic
    gradient. For non-negative values ``-1 <= C <= 1``. ``C`` is invariant to multiplying
    ``values`` by a positive constant, and equals :func:`gini` when ``rank_by`` is ``values``.

    Args:
        values: Variable of interest (e.g. spending or need per head). Any finite numbers with
            non-zero weighted mean; bounds of ``[-1, 1]`` only hold for non-negative values.
        rank_by: Socioeconomic position used for ranking, low = most deprived.
        weights: Optional strictly positive weights (e.g. populations); default equal.

    Returns:
        The concentration index. Identical values give exactly 0.0.

    Raises:
        ValueError: on empty or mismatched input, non-finite entries, non-positive weights,
            or a zero weighted mean of ``values``.
    """
    y = _as_values(values, "values")
    rk = _as_values(rank_by, "rank_by")
    _same_length(y, "values", rk, "rank_by")
    w = _as_weights(weights, "weights", y.size, "values")
    return _concentration(y, rk, w)


def horizontal_inequity(
    use: ArrayLike, need: ArrayLike, rank_by: ArrayLike, weights: ArrayLike | None = None
) -> float:
    """Horizontal inequity index ``HI = CI(use) - CI(need)``.

    Simplified form of the indirect-standardisation approach of Wagstaff & van Doorslaer
    (2000) and O'Donnell et al. (2008, ch. 15): ``need`` is the need-expected use (e.g. a
    capitation need index times population), both concentration indices use the same ranking
    ``rank_by`` (low = most deprived) and ``weights``. Here the difference of indices is used
    directly; with need-predicted use from a regression, ``CI(use) - CI(need)`` equals the
    concentration index of need-standardised use when the two means coincide.

    ``HI > 0``: use is more concentrated among the better-off than need is (pro-rich inequity);
    ``HI < 0``: pro-poor; ``HI = 0``: use is distributed in line with need.

    Args:
        use: Actual use or spending per unit.
        need: Need (need-expected use) per unit, same length as ``use``.
        rank_by: Socioeconomic position, low = most deprived.
        weights: Optional strictly positive weights (e.g. populations).

    Returns:
        The horizontal inequity index.

    Raises:
        ValueError: as for :func:`concentration_index`, naming ``use`` or ``need``.
    """
    u = _as_values(use, "use")
    nd = _as_values(need, "need")
    rk = _as_values(rank_by, "rank_by")
    _same_length(u, "use", nd, "need")
    _same_length(u, "use", rk, "rank_by")
    w = _as_weights(weights, "weights", u.size, "use")
    try:
        ci_use = _concentration(u, rk, w)
    except ValueError as exc:
        raise ValueError(f"`use`: {exc}") from exc
    try:
        ci_need = _concentration(nd, rk, w)
    except ValueError as exc:
        raise ValueError(f"`need`: {exc}") from exc
    return ci_use - ci_need


# --------------------------------------------------------------------------------------------
# Theil index
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TheilResult:
    """Theil T index and its between/within-group decomposition.

    Attributes:
        total: Theil T of all units.
        between: Between-group component (0 when no groups were given).
        within: Within-group component (equal to ``total`` when no groups were given).
    """

    total: float
    between: float
    within: float


def _theil_t(y: NDArray, s: NDArray) -> float:
    """Theil T for values ``y`` > 0 and shares ``s`` summing to 1."""
    if _all_equal(y):
        return 0.0
    mu = float(np.dot(s, y))
    ratio = y / mu
    return float(np.dot(s, ratio * np.log(ratio)))


def theil(
    values: ArrayLike, weights: ArrayLike | None = None, groups: ArrayLike | None = None
) -> TheilResult:
    """Population-weighted Theil T index with optional exact group decomposition.

    With shares ``s_i = w_i / sum(w)`` and ``mu = sum_i s_i y_i`` (Theil 1967)::

        T = sum_i s_i (y_i / mu) ln(y_i / mu)

    ``T = 0`` for equal values and ``T <= ln(1 / min share)``. With ``groups``, the additive
    decomposition (Shorrocks 1980) uses group shares ``s_g = sum_{i in g} s_i``, group means
    ``mu_g`` and within-group indices ``T_g`` (computed with within-group shares)::

        between = sum_g s_g (mu_g / mu) ln(mu_g / mu)
        within  = sum_g s_g (mu_g / mu) T_g
        total   = between + within        (exact, up to floating-point rounding)

    ``total`` is computed directly from the units, independently of the two components.

    Args:
        values: Strictly positive values, one per unit.
        weights: Optional strictly positive weights (e.g. populations); default equal.
        groups: Optional group label per unit (any hashable/sortable labels).

    Returns:
        :class:`TheilResult`. Without ``groups``: ``between = 0`` and ``within = total``.
        Identical values give exactly zero for all three; a group of identical values
        contributes exactly zero to ``within``. Rounding noise in (-1e-12, 0) is clamped to 0.

    Raises:
        ValueError: on empty or mismatched input, non-finite or non-positive values,
            non-positive weights, or ``groups`` of the wrong length.
    """
    y = _as_values(values, "values")
    if np.any(y <= 0):
        raise ValueError("`values` must be strictly positive for the Theil index")
    w = _as_weights(weights, "weights", y.size, "values")
    s = w / w.sum()
    total = _clamp(_theil_t(y, s))
    if groups is None:
        return TheilResult(total=total, between=0.0, within=total)

    g = np.asarray(groups)
    if g.ndim != 1:
        raise ValueError(f"`groups` must be one-dimensional, got shape {g.shape}")
    if g.size != y.size:
        raise ValueError(f"`groups` has length {g.size} but `values` has length {y.size}")
    between, within = _theil_decomposition(_theil_groups(s, g), y)
    return TheilResult(total=total, between=between, within=within)


def _theil_groups(s: NDArray, groups: NDArray) -> tuple[NDArray, list[tuple[NDArray, float, NDArray, NDArray]]]:
    """The part of the Theil decomposition that depends only on the shares and groups
    (unvalidated): per group (labels ascending), its units, share ``s_g``, the units' shares and
    their shares within the group. Callers decomposing many sets of values over the same groups
    compute it once (:func:`_theil_decomposition`)."""
    labels, inv = np.unique(groups, return_inverse=True)
    parts = []
    for k in range(labels.size):
        rows = np.flatnonzero(inv == k)
        s_m = s[rows]
        s_g = float(s_m.sum())
        parts.append((rows, s_g, s_m, s_m / s_g))
    return s, parts


def _theil_decomposition(design: tuple[NDArray, list], y: NDArray) -> tuple[float, float]:
    """``(between, within)`` Theil components of ``y`` > 0 over precomputed groups
    (:func:`_theil_groups`), unvalidated."""
    if _all_equal(y):
        return 0.0, 0.0
    s, parts = design
    mu = float(np.dot(s, y))
    between = 0.0
    within = 0.0
    for rows, s_g, s_m, s_within in parts:
        y_g = y.take(rows)
        mu_g = float(np.dot(s_m, y_g)) / s_g
        rel = mu_g / mu
        between += s_g * rel * np.log(rel)
        within += s_g * rel * _theil_t(y_g, s_within)
    return _clamp(between), _clamp(within)


# --------------------------------------------------------------------------------------------
# deprivation-decile helpers
# --------------------------------------------------------------------------------------------
def _decile_inputs(
    deciles: ArrayLike, values: ArrayLike, populations: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    d = _as_values(deciles, "deciles")
    y = _as_values(values, "values")
    n = _as_values(populations, "populations")
    _same_length(d, "deciles", y, "values")
    _same_length(d, "deciles", n, "populations")
    if np.any(d != np.round(d)) or np.any(d < 1) or np.any(d > 10):
        raise ValueError("`deciles` must be integers from 1 (most deprived) to 10")
    if np.any(n <= 0):
        raise ValueError("`populations` must be strictly positive (zero or negative found)")
    return d.astype(np.int64), y, n


def decile_groups(
    deciles: ArrayLike, values: ArrayLike, populations: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Aggregate unit-level values to population-weighted means per deprivation decile.

    For each decile ``d`` present: ``value_d = sum_{i in d} n_i y_i / sum_{i in d} n_i`` and
    ``population_d = sum_{i in d} n_i``.

    Args:
        deciles: Deprivation decile of each unit, 1 = most deprived .. 10 = least deprived.
        values: Unit-level values (e.g. per-head rates of each LSOA).
        populations: Unit populations; strictly positive.

    Returns:
        ``(values, populations)`` for the deciles present, ordered most deprived first, ready
        to pass to :func:`sii`.

    Raises:
        ValueError: on empty or mismatched input, non-finite entries, deciles outside 1..10,
            non-positive populations.
    """
    d, y, n = _decile_inputs(deciles, values, populations)
    return _decile_means(_decile_design(d, n), y)


def _decile_design(deciles: NDArray, populations: NDArray) -> tuple[list[NDArray], list[NDArray], NDArray]:
    """The part of :func:`decile_groups` that depends only on deciles and populations
    (unvalidated): per decile present (most deprived first) its units and their populations, and
    the deciles' populations. Callers grouping many sets of values compute it once."""
    present = np.unique(deciles)
    rows = [np.flatnonzero(deciles == k) for k in present]
    pops_of = [populations[r] for r in rows]
    return rows, pops_of, np.array([n.sum() for n in pops_of])


def _decile_means(design: tuple[list[NDArray], list[NDArray], NDArray], y: NDArray) -> tuple[NDArray, NDArray]:
    """Population-weighted means of ``y`` per decile over a precomputed design
    (:func:`_decile_design`), unvalidated: ``(values, populations)``."""
    rows, pops_of, pops = design
    return np.array([np.dot(n, y.take(r)) for r, n in zip(rows, pops_of, strict=True)]) / pops, pops


def quintile_gap(deciles: ArrayLike, values: ArrayLike, populations: ArrayLike) -> float:
    """Gap between the least and most deprived quintiles.

    ``gap = ybar(Q5) - ybar(Q1)``, where Q5 = deciles 9-10 (least deprived), Q1 = deciles
    1-2 (most deprived) and ``ybar`` is the population-weighted mean. Same orientation as
    :func:`sii` (positive when values are higher in less deprived areas).

    Args:
        deciles: Deprivation decile of each unit, 1 = most deprived .. 10.
        values: Unit-level values.
        populations: Unit populations; strictly positive.

    Returns:
        The quintile gap.

    Raises:
        ValueError: as for :func:`decile_groups`, or if quintile 1 or 5 has no units.
    """
    d, y, n = _decile_inputs(deciles, values, populations)
    q1 = d <= 2
    q5 = d >= 9
    if not q1.any() or not q5.any():
        raise ValueError("`deciles` must include quintile 1 (deciles 1-2) and 5 (deciles 9-10)")
    return float(np.dot(n[q5], y[q5]) / n[q5].sum() - np.dot(n[q1], y[q1]) / n[q1].sum())


def population_quantile_weights(rank_by: ArrayLike, populations: ArrayLike, groups: int = 5) -> NDArray[np.float64]:
    """Each unit's people in each population quantile (e.g. fifths) by ``rank_by`` ascending.

    Units are ordered by ``rank_by`` (low = most deprived; ties keep their input order) and their
    people cumulated; quantile ``q`` holds the people between cumulative shares ``q / groups`` and
    ``(q + 1) / groups``. A unit that straddles a boundary is split in proportion, so every
    quantile holds exactly ``1 / groups`` of the people — as in "the fifth of the population living
    in the most deprived areas" (Love-Koh et al. 2020).

    Args:
        rank_by: Socioeconomic position of each unit, low = most deprived.
        populations: People per unit; strictly positive.
        groups: Number of quantiles (5: fifths).

    Returns:
        An array (units x groups) of people; column ``q`` sums to ``sum(populations) / groups``
        and each row sums to that unit's people.

    Raises:
        ValueError: on empty or mismatched input, non-finite entries, non-positive populations
            or fewer than one group.
    """
    r = _as_values(rank_by, "rank_by")
    n = _as_weights(populations, "populations", r.size, "rank_by")
    if int(groups) < 1:
        raise ValueError("`groups` must be at least 1")
    order = np.argsort(r, kind="stable")
    total = n.sum()
    hi = np.cumsum(n[order]) / total
    lo = hi - n[order] / total
    out = np.zeros((r.size, int(groups)))
    for q in range(int(groups)):
        a, b = q / groups, (q + 1) / groups
        out[order, q] = np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) * total
    return out
