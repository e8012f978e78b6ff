"""The population: need, hidden need and health state per neighbourhood (MODEL.md sections 3, 6.2, 6.6).

Neighbourhoods are arrays, not objects. Need is kept per neighbourhood and care domain, in pounds
per year at reference unit cost (so that money and need are comparable), split into the part
formal services see (visible) and the part they do not (hidden: excluded and under-served groups).
Health is a state in [0, 1] that maps linearly onto healthy life expectancy (HLE).
"""

from __future__ import annotations

import numpy as np

from ics_sim.config.schema import Config, HealthConfig
from ics_sim.domains import ACUTE, MENTAL, N_DOMAINS, PRIMARY, SOCIAL
from ics_sim.model.geography import Layout

ENGLAND_SHARE_65 = 0.185  # Census 2021
#: mean male HLE and LE at birth over the ten IMD deciles, England 2015-17 (ONS, Health state life
#: expectancies by national deprivation deciles): the anchor of the LE-HLE line used for QALYs
ONS_HLE_MEAN = 63.096
ONS_LE_MEAN = 79.472
#: smallest coverage the production function is evaluated at (its log-like form is unbounded at 0)
MIN_COVERAGE = 0.05


def production(coverage: np.ndarray, eta: float) -> np.ndarray:
    """Health production ``G(c) = (c^(1 - eta) - 1) / (1 - eta)`` (``ln c`` at ``eta = 1``).

    ``G`` is increasing and concave for ``eta > 0``: the marginal gain ``G'(c) = c^(-eta)`` falls as
    coverage (care relative to need) rises, with elasticity ``-eta``; ``eta = 0`` is the straight
    line ``c - 1``. ``G(1) = 0``.
    """
    c = np.maximum(np.asarray(coverage, dtype=float), MIN_COVERAGE)
    if abs(eta - 1.0) < 1e-9:
        return np.log(c)
    return (c ** (1.0 - eta) - 1.0) / (1.0 - eta)


def reference_coverage(rank: np.ndarray, h: HealthConfig) -> np.ndarray:
    """Status-quo coverage at deprivation rank ``rank``: ``coverage_reference + slope (rank - 0.5)``,
    clipped to [0.05, 1] (the coverage at which the reference curve is the equilibrium)."""
    c = h.coverage_reference + h.coverage_reference_slope * (np.asarray(rank, dtype=float) - 0.5)
    return np.clip(c, MIN_COVERAGE, 1.0)


def reference_hle(rank: np.ndarray, h: HealthConfig) -> np.ndarray:
    """HLE (years) of the reference curve at national deprivation rank ``rank`` (0 = most deprived):
    ``m + (l - m) (1 - exp(-c u)) / (1 - exp(-c))`` with ``u = (rank - 0.05) / 0.9`` and ``m``, ``l``,
    ``c`` = ``hle_most_deprived``, ``hle_least_deprived``, ``hle_concavity``; it passes through
    ``m`` at rank 0.05 and ``l`` at 0.95 (the midpoints of the extreme deciles) and is the straight
    line ``m + (l - m) u`` at ``c = 0``."""
    u = (np.asarray(rank, dtype=float) - 0.05) / 0.9
    c = h.hle_concavity
    shape = u if abs(c) < 1e-9 else -np.expm1(-c * u) / -np.expm1(-c)
    return h.hle_most_deprived + (h.hle_least_deprived - h.hle_most_deprived) * shape


def reference_health(rank: np.ndarray, h: HealthConfig) -> np.ndarray:
    """Health state in [0, 1] of the reference curve (see :func:`reference_hle`)."""
    return np.clip((reference_hle(rank, h) - h.hle_floor) / h.hle_span, 0.0, 1.0)


class Population:
    """State of all neighbourhoods.

    Attributes:
        base_need: need per neighbourhood and domain before prevention, spill-overs and shocks (GBP/yr).
        need: current need (GBP/yr), visible plus hidden.
        hidden_share: share of each cell's need that formal services do not see.
        health: health state in [0, 1].
        prevention_coverage: lagged (exponentially smoothed) share of prevention need met.
    """

    def __init__(self, layout: Layout, cfg: Config):
        self.layout = layout
        self.cfg = cfg
        n = layout.n_neighbourhoods
        nc, h = cfg.need, cfg.health
        dep = 1.0 - 2.0 * layout.nb_rank  # +1 most deprived, -1 least deprived
        per_head = np.array(nc.gbp_per_head.as_tuple())
        g_dep = np.array(nc.deprivation_gradient.as_tuple())
        g_age = np.array(nc.age_gradient.as_tuple())
        age_rel = (layout.nb_share_65 - ENGLAND_SHARE_65) / ENGLAND_SHARE_65
        index = layout.need_index[layout.nb_system]
        mult = (1.0 + np.outer(dep, g_dep)) * np.clip(1.0 + np.outer(age_rel, g_age), 0.2, None)
        self.base_need = layout.nb_population[:, None] * per_head[None, :] * mult
        if layout.place_need_index is not None:
            # real places: need per head across a system's places follows their NHS England need
            # indices (age, morbidity and unmet need, not deprivation alone); the deprivation and age
            # gradients still shape neighbourhoods within each place
            place_pop = layout.place_population()
            place_need = np.bincount(layout.nb_place, weights=self.base_need.sum(axis=1), minlength=layout.n_places)
            target = layout.place_need_index * place_pop * per_head.sum()
            self.base_need *= (target / np.maximum(place_need, 1e-12))[layout.nb_place, None]
        # scale each system so its mean need per head tracks the system's need index
        for s in range(layout.n_systems):
            m = layout.nb_system == s
            self.base_need[m] *= index[m][0] * (layout.nb_population[m].sum() * per_head.sum()) / self.base_need[m].sum()
        hidden = nc.hidden_share_base + nc.hidden_share_deprivation * (1.0 - layout.nb_rank)
        self.hidden_share = np.clip(np.outer(hidden, nc.hidden_domain_factor.as_tuple()), 0.0, 0.95)
        self.need = self.base_need.copy()
        self.growth = (nc.growth + nc.deprivation_drift * (1.0 - layout.nb_rank)) / 12.0
        # the reference state depends only on ranks and parameters: computed once, read every month
        self._reference = reference_health(layout.nb_rank, h)
        self._reference.flags.writeable = False
        self.health = self._reference.copy()
        self.coverage_ref = reference_coverage(layout.nb_rank, h)
        self.prevention_coverage = self.coverage_ref.copy()
        self.prevention_reference = self.coverage_ref
        # health at stake per unit of need rises with deprivation (ODD 7.4)
        self.productivity = 1.0 + h.deprivation_productivity * dep
        self._g_ref = production(self.coverage_ref, h.productivity_curvature)
        #: each domain's weight in health (``health.domain_weights``; read-only)
        self.domain_weights = np.array(h.domain_weights.as_tuple())
        self.domain_weights.flags.writeable = False
        #: domain-weighted need per head of England-average deprivation and age (GBP/yr)
        self.reference_need_per_head = float(per_head @ self.domain_weights)
        # life expectancy and HRQoL of the reference curve (QALYs, ODD 7.4), and the QALYs a
        # person-year counts at the reference state (:meth:`qaly_rate`): fixed for the run
        hle_ref = self._hle_ref = self.reference_hle_years
        self.le_reference = ONS_LE_MEAN + h.le_per_hle * (hle_ref - ONS_HLE_MEAN)
        self._qaly_level = (h.hrqol_good_health * hle_ref + h.hrqol_poor_health * (self.le_reference - hle_ref)) / self.le_reference
        #: QALYs lived so far in the run, per neighbourhood
        self.qalys_nb = np.zeros(n)
        self.spill = np.zeros(n)
        self.external = np.zeros(n)  # wider-determinants funding effect (social and economic development)
        assert self.need.shape == (n, N_DOMAINS)

    # --- health and HLE --------------------------------------------------------------------
    def reference_health(self) -> np.ndarray:
        """Health state of the reference curve (ODD 7.4): HLE concave in deprivation rank through
        (0.05, hle_most_deprived) and (0.95, hle_least_deprived), the midpoints of the most and least
        deprived deciles; ``hle_concavity`` 0 is the straight line (see :func:`reference_hle`)."""
        return self._reference

    @property
    def qalys(self) -> float:
        """QALYs lived by the whole population so far in the run."""
        return float(self.qalys_nb.sum())

    @property
    def reference_hle_years(self) -> np.ndarray:
        """HLE (years) of the reference state."""
        return self.cfg.health.hle_floor + self.cfg.health.hle_span * self._reference

    def qaly_rate(self) -> np.ndarray:
        """QALYs lived per person per year in each neighbourhood (ODD 7.4).

        At the reference state a person-year counts its health-related quality of life,
        ``(u_good HLE + u_poor (LE - HLE)) / LE`` on the reference HLE and LE curves (the
        cross-sectional level and gradient). Health away from the reference adds
        ``qalys_per_hle_year`` lifetime QALYs per year of HLE; with a fixed number of people
        (births per year = people / reference LE) a stationary population lives births times its
        quality-adjusted life expectancy each year, so a person-year counts a ``1 / LE`` share of it.
        """
        h = self.cfg.health
        # the reference state's level, (u_good HLE + u_poor (LE - HLE)) / LE, worked out at set-up
        return self._qaly_level + h.qalys_per_hle_year * (self.hle - self._hle_ref) / self.le_reference

    @property
    def hle(self) -> np.ndarray:
        """Healthy life expectancy proxy per neighbourhood (years)."""
        return self.cfg.health.hle_floor + self.cfg.health.hle_span * self.health

    @property
    def visible_need(self) -> np.ndarray:
        return self.need * (1.0 - self.hidden_share)

    @property
    def hidden_need(self) -> np.ndarray:
        return self.need * self.hidden_share

    # --- monthly dynamics -------------------------------------------------------------------
    def move_need(self, shock_need: np.ndarray, last_unmet: np.ndarray) -> None:
        """Need drifts with ageing and deprivation, falls with lagged prevention, rises with
        spill-overs from unmet social and primary care into acute demand, and with shocks."""
        nc = self.cfg.need
        self.base_need *= (1.0 + self.growth)[:, None]
        prevention = 1.0 - nc.prevention_payoff * (self.prevention_coverage - self.prevention_reference)
        need = self.base_need.copy()
        need[:, [ACUTE, PRIMARY, MENTAL, SOCIAL]] *= np.minimum(np.maximum(prevention, 0.3), 1.7)[:, None]  # clipped to [0.3, 1.7]
        # delayed discharge and avoidable admissions: unmet social and primary care become acute demand
        self.spill = nc.spill_over * (last_unmet[:, SOCIAL] + last_unmet[:, PRIMARY])
        need[:, ACUTE] += self.spill
        self.need = need * shock_need

    def update_health(self, coverage: np.ndarray, prevention_met_share: np.ndarray) -> None:
        """Health moves towards an equilibrium produced by care (MODEL.md section 6.6; ODD 7.4).

        ``coverage`` is the domain-weighted share of need met. The equilibrium health state is the
        reference curve plus what care produces relative to the status quo,

            H*_n = H_ref(r_n) + (A / span) nu_n (1 + delta d_n) [G(c_n) - G(c_ref(r_n))] + prevention + external,

        with ``A`` = ``health_at_stake`` (years), ``nu_n`` the neighbourhood's domain-weighted need per
        head relative to England's average, ``d_n = 1 - 2 rank`` and ``G`` the concave
        :func:`production`. Health moves a ``1 / adjustment_months`` part of the way each month, and
        the month's QALYs are added to :attr:`qalys_nb`.
        """
        h, nc = self.cfg.health, self.cfg.need
        alpha = 1.0 / nc.prevention_lag_months
        self.prevention_coverage += alpha * (prevention_met_share - self.prevention_coverage)
        need_per_head = (self.need @ self.domain_weights) / self.layout.nb_population
        stake = (h.health_at_stake / h.hle_span) * (need_per_head / self.reference_need_per_head) * self.productivity
        produced = stake * (production(coverage, h.productivity_curvature) - self._g_ref)
        target = (
            self.reference_health()
            + produced
            + h.prevention_effect * (self.prevention_coverage - self.prevention_reference)
            + self.external
        )
        # target clipped to [0, 1] (minimum and maximum: np.clip without its Python layers; a -0.0
        # target may keep its sign, and health + (-0.0 - health) / m is health + (0.0 - health) / m
        # for every health)
        self.health += (np.minimum(np.maximum(target, 0.0), 1.0) - self.health) / h.adjustment_months
        self.qalys_nb += self.layout.nb_population * self.qaly_rate() / 12.0
