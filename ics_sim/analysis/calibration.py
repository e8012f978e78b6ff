"""Calibration of the health state: the ONS gradient at the start, and no drift (ODD section 8).

``python -m ics_sim.calibration`` fits five health parameters in two stages.

**Stage 1: the start at the ONS gradient (no simulation).** Month 0's health is the reference
curve (ODD 7.4), so its three parameters (``health.hle_most_deprived``,
``health.hle_least_deprived``, ``health.hle_concavity``; :data:`CURVE`) are fitted directly to the
month-0 HLE of the default layout and of ``system=england`` (both layouts, one curve):

* HLE of each national decile present minus the ONS male HLE by IMD decile, England 2015-17
  (51.7 years in the most deprived decile rising to 70.4 in the least deprived);
* ``SII_WEIGHT`` x (SII minus the target 18.95 years, the mean of the ONS 2018-20 male 18.6 and
  female 19.3; within 0.15 of the 2015-17 male deciles' own SII, 19.1).

**Stage 2: no drift under the status quo (simulated).** The status-quo coverage profile at which
the reference curve is the equilibrium, ``health.coverage_reference`` and
``health.coverage_reference_slope`` (:data:`REFERENCE`), is fitted so that the default baseline
(``years`` years, ``seeds`` replicates on common random numbers) neither gains nor loses: the
residuals are the mean over seeds of mean HLE at the horizon minus month 0 and of the SII at the
horizon minus month 0 (years). Need grows faster than money in deprived areas
(``need.deprivation_drift``), so the profile absorbs the decade's average coverage, not month 0's.

:func:`scipy.optimize.least_squares` (trust-region reflective, bounded) solves stage 1. Every
stage-2 evaluation runs the same replicate seeds
(:func:`ics_sim.runs.seeds.replicate_seed` of ``base_seed``), so the objective is a deterministic
function of the parameters and the fit is reproducible; seeds run on worker processes. Stage 2
is solved by Newton's method (:func:`newton`: two residuals, two parameters, nearly linear). The
fitted values are rounded, evaluated once more, and written with the fit statistics (as YAML
comments) to ``configs/health/calibrated.yaml``, the ``health`` preset of the default run.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from ics_sim import metrics
from ics_sim.config import CONFIG_DIR, Config, load_config
from ics_sim.data.reference import hle_reference
from ics_sim.runs.io import atomic_write_text
from ics_sim.runs.seeds import replicate_seed
from ics_sim.version import __version__

__all__ = [
    "CURVE",
    "FITTED",
    "REFERENCE",
    "CalibrationResult",
    "Evaluation",
    "Fitted",
    "Settings",
    "Targets",
    "calibrate",
    "evaluate",
    "main",
    "render_config",
    "targets",
    "write_config",
]

#: where the default run reads the fitted values from (config group ``health``)
DEFAULT_OUT = CONFIG_DIR / "health" / "calibrated.yaml"
#: weight of the SII residual (the SII counts as much as four deciles)
SII_WEIGHT = 2.0
#: layouts the month-0 curve is fitted on (config overrides of ``system``)
CURVE_LAYOUTS: tuple[dict[str, Any], ...] = ({}, {"system": "england"})


@dataclass(frozen=True)
class Fitted:
    """A fitted parameter: config key, starting value, search bounds and rounding of the result."""

    key: str
    start: float
    lo: float
    hi: float
    digits: int


#: stage 1: the reference curve, fitted to month 0; starting values are the schema defaults (the
#: straight line through the ONS decile-1 and decile-10 values), so a fit never depends on a
#: previous fit
CURVE: tuple[Fitted, ...] = (
    Fitted("health.hle_most_deprived", 51.7, 40.0, 65.0, 3),
    Fitted("health.hle_least_deprived", 70.4, 60.0, 80.0, 3),
    Fitted("health.hle_concavity", 0.0, -2.0, 6.0, 4),
)
#: stage 2: the status-quo coverage profile, fitted to no drift (start: schema defaults)
REFERENCE: tuple[Fitted, ...] = (
    Fitted("health.coverage_reference", 0.83, 0.4, 1.0, 4),
    Fitted("health.coverage_reference_slope", 0.0, -0.6, 0.6, 4),
)
#: every fitted parameter, in the order written to the config
FITTED: tuple[Fitted, ...] = CURVE + REFERENCE


@dataclass(frozen=True)
class Targets:
    """ONS targets: male HLE by decile (1 = most deprived), 2015-17, and the SII target."""

    deciles: np.ndarray
    sii: float
    sii_male: float
    sii_female: float


def targets() -> Targets:
    """The calibration targets from the packaged ONS table (:func:`ics_sim.data.reference.hle_reference`)."""
    ref = hle_reference()
    hle = ref[(ref.measure == "healthy_life_expectancy_at_birth") & (ref.sex == "male") & (ref.period == "2015-2017")]
    hle = hle.sort_values("decile")
    assert list(hle.decile) == list(range(1, 11)), "hle_reference.csv must hold deciles 1-10"
    sii = ref[(ref.measure == "sii_healthy_life_expectancy_at_birth") & (ref.period == "2018-2020")].set_index("sex").value
    male, female = float(sii["male"]), float(sii["female"])
    return Targets(hle.value.to_numpy(dtype=float), (male + female) / 2.0, male, female)


@dataclass
class Settings:
    """What a calibration runs: replicates, horizon, base configuration and workers."""

    seeds: int = 30
    base_seed: int = 0
    years: int = 10
    overrides: dict[str, Any] = field(default_factory=dict)
    workers: int = 0  # 0: one per core
    max_nfev: int = 30

    def seed_list(self) -> list[int]:
        return [replicate_seed(self.base_seed, r) for r in range(self.seeds)]


# --------------------------------------------------------------------------------------------
# stage 1: the reference curve at month 0 (no simulation)
# --------------------------------------------------------------------------------------------
def curve_layouts(overrides: dict[str, Any] | None = None) -> list[tuple[str, Config, Any]]:
    """The layouts the curve is fitted on: (name, config, layout) for each of :data:`CURVE_LAYOUTS`."""
    from ics_sim.model.systems import build_layout

    out = []
    for extra in CURVE_LAYOUTS:
        cfg, _ = load_config({**(overrides or {}), **extra})
        out.append((extra.get("system", "default"), cfg, build_layout(cfg.system)))
    return out


def month0(cfg: Config, layout, x: Sequence[float] | None = None) -> tuple[np.ndarray, float]:
    """Month-0 HLE by national decile (10 values, NaN where absent) and its SII on ``layout``, with
    the curve's parameters set to ``x`` (None: as ``cfg`` has them)."""
    from ics_sim.model.population import reference_health

    h = copy.deepcopy(cfg.health)
    if x is not None:
        for p, v in zip(CURVE, x, strict=True):
            setattr(h, p.key.split(".", 1)[1], float(v))
    hle = h.hle_floor + h.hle_span * reference_health(layout.nb_rank, h)
    gv, gp = metrics.decile_groups(layout.nb_decile, hle, layout.nb_population)
    return _by_decile(layout.nb_decile, hle, layout.nb_population), float(metrics.sii(gv, gp)[0])


def curve_residuals(x: Sequence[float], layouts: list[tuple[str, Config, Any]], tg: Targets) -> np.ndarray:
    """Stage-1 residuals (years): per layout, decile HLE minus ONS and ``SII_WEIGHT`` x SII error."""
    out = []
    for _, cfg, layout in layouts:
        dec, sii = month0(cfg, layout, x)
        present = np.isfinite(dec)
        out.append(dec[present] - tg.deciles[present])
        out.append([SII_WEIGHT * (sii - tg.sii)])
    return np.concatenate(out)


def fit_curve(layouts: list[tuple[str, Config, Any]], tg: Targets) -> np.ndarray:
    """Least-squares fit of :data:`CURVE` to month 0 on ``layouts``; rounded as written."""
    from scipy.optimize import least_squares

    fit = least_squares(
        curve_residuals,
        np.array([p.start for p in CURVE]),
        bounds=(np.array([p.lo for p in CURVE]), np.array([p.hi for p in CURVE])),
        method="trf",
        args=(layouts, tg),
        xtol=1e-8,
        ftol=1e-10,
    )
    return np.array([round(float(v), p.digits) for p, v in zip(CURVE, fit.x, strict=True)])


# --------------------------------------------------------------------------------------------
# stage 2: the status-quo run (simulated)
# --------------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """The baseline at one parameter vector, per seed (rows) and decile (columns, NaN if absent)."""

    x: np.ndarray
    deciles: np.ndarray  # HLE per seed and decile at the horizon
    deciles_start: np.ndarray  # ... in the first month
    sii: np.ndarray  # summary hle_sii per seed (horizon)
    sii_start: np.ndarray
    hle_mean: np.ndarray
    hle_mean_start: np.ndarray
    coverage: np.ndarray  # population-weighted mean coverage in the last month
    sii_by_year: np.ndarray  # per seed, the SII at month 0 and at the end of each year
    hle_by_year: np.ndarray  # per seed, mean HLE at month 0 and at the end of each year

    def mean_deciles(self) -> np.ndarray:
        """Mean over seeds of each decile's HLE at the horizon (NaN for an absent decile)."""
        return _mean_present(self.deciles)

    def drift(self) -> float:
        """Mean over seeds of the change of mean HLE from month 0 to the horizon (years)."""
        return float(np.mean(self.hle_mean - self.hle_mean_start))

    def sii_drift(self) -> float:
        """Mean over seeds of the change of the SII from month 0 to the horizon (years)."""
        return float(np.mean(self.sii - self.sii_start))

    def residuals(self) -> np.ndarray:
        """Stage-2 residuals (years): the drift of mean HLE and of the SII."""
        return np.array([self.drift(), self.sii_drift()])


def _mean_present(a: np.ndarray) -> np.ndarray:
    out = np.full(a.shape[1], np.nan)
    ok = np.isfinite(a).all(axis=0)
    out[ok] = a[:, ok].mean(axis=0)
    return out


def _by_decile(deciles: np.ndarray, values: np.ndarray, people: np.ndarray) -> np.ndarray:
    out = np.full(10, np.nan)
    vals, _ = metrics.decile_groups(deciles, values, people)
    out[np.unique(deciles) - 1] = vals
    return out


def run_seed(cfg: Config, seed: int) -> dict[str, Any]:
    """Run one replicate of ``cfg`` and return its HLE by decile, SII and mean HLE (horizon and
    first month) and the SII and mean HLE at the end of each year. The horizon SII and mean HLE
    are the run summary's own ``hle_sii`` and ``hle_mean``."""
    from ics_sim.model.ics_model import ICSModel
    from ics_sim.model.record import summarise

    cfg = copy.deepcopy(cfg)
    cfg.seed = int(seed)
    model = ICSModel(cfg, timeseries=False)
    L = model.layout
    if L.n_systems != 1:
        raise ValueError("the drift stage runs on one system (e.g. the synthetic default)")
    people, dec = L.nb_population, L.nb_decile

    def sii_now() -> float:
        gv, gp = metrics.decile_groups(dec, model.population.hle, people)
        return float(metrics.sii(gv, gp)[0]) if len(gv) >= 2 else 0.0

    sii_path, hle_path = [sii_now()], [float(np.average(model.population.hle, weights=people))]
    while model.running:
        model.step()
        if model.month % 12 == 0:
            sii_path.append(sii_now())
            hle_path.append(float(np.average(model.population.hle, weights=people)))
    model.ledger.close_year(model.month // 12 - 1)
    summary = summarise(model.recorder)
    return {
        "deciles": _by_decile(dec, model.population.hle, people),
        "deciles_start": _by_decile(dec, model.initial_hle, people),
        "sii": float(summary["hle_sii"]),
        "sii_start": sii_path[0],
        "hle_mean": float(summary["hle_mean"]),
        "hle_mean_start": hle_path[0],
        "coverage": float(np.average(model.coverage, weights=people)),
        "sii_by_year": np.array(sii_path),
        "hle_by_year": np.array(hle_path),
    }


def config_at(x: Sequence[float] | None, settings: Settings, curve: Sequence[float] | None = None) -> Config:
    """The validated config of the baseline with the reference profile set to ``x`` and the curve
    to ``curve`` (None: as the configs set them, i.e. the default run's calibrated values)."""
    overrides = dict(settings.overrides)
    overrides["years"] = settings.years
    if curve is not None:
        overrides.update({p.key: float(v) for p, v in zip(CURVE, curve, strict=True)})
    if x is not None:
        overrides.update({p.key: float(v) for p, v in zip(REFERENCE, x, strict=True)})
    cfg, _ = load_config(overrides)
    return cfg


def evaluate(
    x: Sequence[float] | None,
    settings: Settings,
    pool: ProcessPoolExecutor | None = None,
    curve: Sequence[float] | None = None,
) -> Evaluation:
    """Run the baseline with the reference profile ``x`` and curve ``curve`` (None: the configured
    values) on every seed of ``settings``, on ``pool``'s worker processes if given (results in
    seed order either way)."""
    cfg = config_at(x, settings, curve)
    if x is None:
        x = [float(getattr(cfg.health, p.key.split(".", 1)[1])) for p in REFERENCE]
    seeds = settings.seed_list()
    if pool is None:
        rows = [run_seed(cfg, s) for s in seeds]
    else:
        rows = list(pool.map(run_seed, repeat(cfg), seeds))
    col = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    return Evaluation(x=np.asarray(x, dtype=float), **col)


@dataclass
class CalibrationResult:
    """A finished fit: the fitted (rounded) values, month 0 on each layout, the status-quo
    evaluation and the optimiser's report."""

    values: dict[str, float]
    evaluation: Evaluation
    start: dict[str, tuple[np.ndarray, float]]  # layout name -> month-0 decile HLE and SII
    targets: Targets
    settings: Settings
    nfev: int
    status: int
    message: str
    cost: float
    runtime_s: float
    history: list[tuple[np.ndarray, float]]

    def statistics(self) -> dict[str, Any]:
        """Fit statistics: month 0 per layout against ONS; the status quo's drift (mean and median
        over seeds), the horizon profile and the yearly trajectory."""
        ev, tg = self.evaluation, self.targets
        start = {}
        for name, (dec, sii) in self.start.items():
            present = np.isfinite(dec)
            err = dec - tg.deciles
            start[name] = {
                "deciles": [None if not present[d] else float(dec[d]) for d in range(10)],
                "errors": [None if not present[d] else float(err[d]) for d in range(10)],
                "rmse": float(np.sqrt(np.mean(err[present] ** 2))),
                "sii": sii,
            }
        horizon = ev.mean_deciles()
        return {
            "start": start,
            "sii_target": tg.sii,
            "sii_male": tg.sii_male,
            "sii_female": tg.sii_female,
            "ons_deciles": [float(v) for v in tg.deciles],
            "horizon_deciles": [None if not np.isfinite(v) else float(v) for v in horizon],
            "sii_start": float(np.mean(ev.sii_start)),
            "sii": float(np.mean(ev.sii)),
            "sii_drift": ev.sii_drift(),
            "sii_drift_median": float(np.median(ev.sii - ev.sii_start)),
            "sii_drift_p10": float(np.quantile(ev.sii - ev.sii_start, 0.1)),
            "sii_drift_p90": float(np.quantile(ev.sii - ev.sii_start, 0.9)),
            "hle_mean_start": float(np.mean(ev.hle_mean_start)),
            "hle_mean": float(np.mean(ev.hle_mean)),
            "drift": ev.drift(),
            "drift_median": float(np.median(ev.hle_mean - ev.hle_mean_start)),
            "coverage_end": float(np.mean(ev.coverage)),
            "sii_by_year_median": [float(v) for v in np.median(ev.sii_by_year, axis=0)],
            "hle_by_year_median": [float(v) for v in np.median(ev.hle_by_year, axis=0)],
        }


def newton(
    fun: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    max_nfev: int,
    step: float = 0.01,
    tol: float = 0.01,
) -> tuple[np.ndarray, int, str]:
    """Solve ``fun(x) = 0`` for as many residuals as parameters by Newton's method with a
    forward-difference Jacobian (step ``step`` in each parameter), halving a step that does not
    reduce the residuals and clipping to the bounds.

    Stage 2 has two residuals (the drift of mean HLE and of the SII), nearly linear in the two
    parameters, so two or three Newton steps reach drifts of a few hundredths of a year.

    Returns:
        ``(x, status, message)``: status 1 converged (every residual below ``tol`` years), 0 the
        evaluation budget ran out.
    """
    x = np.clip(np.asarray(x0, dtype=float), lo, hi)
    r = fun(x)
    nfev = 1
    while nfev + len(x) + 1 <= max_nfev:
        if np.all(np.abs(r) < tol):
            return x, 1, f"every residual below {tol} years"
        jac = np.empty((len(r), len(x)))
        for j in range(len(x)):
            e = np.zeros_like(x)
            e[j] = step
            jac[:, j] = (fun(x + e) - r) / step
            nfev += 1
        dx = np.linalg.lstsq(jac, -r, rcond=None)[0]
        t = 1.0
        while True:
            x_new = np.clip(x + t * dx, lo, hi)
            r_new = fun(x_new)
            nfev += 1
            if np.linalg.norm(r_new) < np.linalg.norm(r) or t < 0.1 or nfev >= max_nfev:
                break
            t *= 0.5
        x, r = x_new, r_new
    if np.all(np.abs(r) < tol):
        return x, 1, f"every residual below {tol} years"
    return x, 0, "evaluation budget used up"


def calibrate(
    settings: Settings | None = None,
    log: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Fit the health parameters: the curve to the ONS gradient at month 0 (:data:`CURVE`), then
    the status-quo coverage profile to no drift (:data:`REFERENCE`).

    Args:
        settings: seeds, horizon, base overrides, workers and evaluation budget (stage 2).
        log: called with one line per evaluation (e.g. ``print``); None for silence.

    Returns:
        The fitted values (rounded as written to the config), month 0 on each layout, the
        status-quo evaluation and the fit statistics; the same settings always give the same
        result.
    """
    settings = settings or Settings()
    tg = targets()
    t0 = time.perf_counter()
    layouts = curve_layouts(settings.overrides)
    curve = fit_curve(layouts, tg)
    if log:
        log("stage 1: " + ", ".join(f"{p.key.split('.')[-1]}={v}" for p, v in zip(CURVE, curve, strict=True)))
    x0 = np.array([p.start for p in REFERENCE])
    lo = np.array([p.lo for p in REFERENCE])
    hi = np.array([p.hi for p in REFERENCE])
    history: list[tuple[np.ndarray, float]] = []
    cache: dict[tuple[float, ...], np.ndarray] = {}
    workers = settings.workers or os.cpu_count() or 1

    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:

        def fun(x: np.ndarray) -> np.ndarray:
            key = tuple(float(v) for v in x)
            if key not in cache:
                res = evaluate(x, settings, pool, curve).residuals()
                cache[key] = res
                cost = 0.5 * float(res @ res)
                history.append((np.array(x, dtype=float), cost))
                if log:
                    vals = ", ".join(f"{p.key.split('.')[-1]}={v:.4f}" for p, v in zip(REFERENCE, x, strict=True))
                    log(f"[{len(history):3d}] {vals}  drift HLE {res[0]:+.3f} SII {res[1]:+.3f}  ({time.perf_counter() - t0:.0f} s)")
            return cache[key]

        x, status, message = newton(fun, x0, lo, hi, settings.max_nfev)
        rounded = np.array([round(float(v), p.digits) for p, v in zip(REFERENCE, x, strict=True)])
        final = evaluate(rounded, settings, pool, curve)
    finally:
        if pool is not None:
            pool.shutdown()
    values = {p.key: float(v) for p, v in zip(CURVE, curve, strict=True)}
    values.update({p.key: float(v) for p, v in zip(REFERENCE, rounded, strict=True)})
    res = final.residuals()
    return CalibrationResult(
        values=values,
        evaluation=final,
        start={name: month0(cfg, layout, curve) for name, cfg, layout in layouts},
        targets=tg,
        settings=settings,
        nfev=len(history),
        status=status,
        message=message,
        cost=0.5 * float(res @ res),
        runtime_s=time.perf_counter() - t0,
        history=history,
    )


# --------------------------------------------------------------------------------------------
# the config file
# --------------------------------------------------------------------------------------------
def _f(v: float | None, fmt: str = ".2f") -> str:
    return "-" if v is None else format(v, fmt)


def render_config(result: CalibrationResult, command: str = "python -m ics_sim.calibration", date: str | None = None) -> str:
    """The text of ``configs/health/calibrated.yaml``: fitted values with the fit statistics as comments."""
    st = result.statistics()
    s = result.settings
    date = date or _dt.date.today().isoformat()
    names = list(st["start"])
    lines = [
        "# Health parameters: the reference curve fitted to the ONS gradient of healthy life expectancy",
        "# (HLE) by national deprivation decile at month 0, and the status-quo coverage profile fitted so",
        "# that the baseline does not drift (ODD sections 7.4 and 8). Written by the calibration routine;",
        "# do not edit by hand: re-run it after changing anything that moves the baseline's health.",
        "#",
        f"# command:  {command}",
        f"# date:     {date}   ics_sim {__version__}",
        "# stage 1:  month 0 of the layouts " + " and ".join(names) + " (no simulation); residuals (years): decile HLE - ONS,",
        f"#           {SII_WEIGHT:g} x (SII - target); scipy.optimize.least_squares (trf, bounded)",
        f"# stage 2:  default config{(' + ' + ', '.join(f'{k}={v}' for k, v in s.overrides.items())) if s.overrides else ''},"
        f" {s.years} years, {s.seeds} seeds (replicate_seed({s.base_seed}, 0..{s.seeds - 1}), common random numbers);",
        "#           residuals (years): mean over seeds of mean HLE and of SII, horizon minus month 0;",
        "#           Newton's method with a forward-difference Jacobian",
        f"# optimiser: {result.nfev} evaluations, status {result.status} ({result.message.rstrip('.')})",
        "#",
        "# targets:  ONS male HLE by IMD decile, England 2015-17; SII target "
        f"{st['sii_target']:.2f} = mean of ONS 2018-20 male {st['sii_male']:.1f} and female {st['sii_female']:.1f}",
        "#",
        "# month 0   decile: " + " ".join(f"{d:>6}" for d in range(1, 11)) + "     SII",
        "#   ONS             " + " ".join(f"{v:6.2f}" for v in st["ons_deciles"]) + f"  {st['sii_target']:6.2f}",
    ]
    for name, row in st["start"].items():
        lines.append(f"#   {name:<15} " + " ".join(f"{_f(v):>6}" for v in row["deciles"]) + f"  {row['sii']:6.2f}   (RMSE {row['rmse']:.2f})")
    lines += [
        "#   horizon (default, mean over seeds) " + " ".join(f"{_f(v):>6}" for v in st["horizon_deciles"]),
        "#",
        f"# status quo, {s.years} years: SII {st['sii_start']:.2f} -> {st['sii']:.2f} (drift mean {st['sii_drift']:+.2f}, "
        f"median {st['sii_drift_median']:+.2f}, 10-90% {st['sii_drift_p10']:+.2f} to {st['sii_drift_p90']:+.2f});",
        f"#   mean HLE {st['hle_mean_start']:.2f} -> {st['hle_mean']:.2f} (drift mean {st['drift']:+.2f}, median {st['drift_median']:+.2f});"
        f" coverage in the last month {st['coverage_end']:.3f}",
        "#   median SII by year: " + " ".join(f"{v:.2f}" for v in st["sii_by_year_median"]),
        "#   median mean HLE by year: " + " ".join(f"{v:.2f}" for v in st["hle_by_year_median"]),
        f"# objective (half sum of squared residuals) {result.cost:.5f}; runtime {result.runtime_s:.0f} s",
    ]
    for p in FITTED:
        lines.append(f"{p.key.split('.', 1)[1]}: {result.values[p.key]:.{p.digits}f}")
    return "\n".join(lines) + "\n"


def write_config(result: CalibrationResult, path: str | Path = DEFAULT_OUT, command: str | None = None) -> Path:
    """Write the fitted values and fit statistics to ``path`` atomically."""
    path = Path(path)
    atomic_write_text(path, render_config(result, command=command or "python -m ics_sim.calibration"))
    return path


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------
def _parse_set(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects key=value, got {item!r}")
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ics_sim.calibration",
        description="Fit the health parameters to the ONS HLE gradient by deprivation decile and write "
        "configs/health/calibrated.yaml (ODD section 8).",
    )
    ap.add_argument("--seeds", type=int, default=30, help="replicates per evaluation (common random numbers)")
    ap.add_argument("--base-seed", type=int, default=0, help="base seed of the replicates")
    ap.add_argument("--years", type=int, default=10, help="horizon of each run")
    ap.add_argument("--workers", type=int, default=0, help="worker processes (0: one per core)")
    ap.add_argument("--max-nfev", type=int, default=30, help="evaluation budget of the optimiser")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides of the baseline")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="config file to write")
    ap.add_argument("--dry-run", action="store_true", help="print the result, write nothing")
    args = ap.parse_args(argv)
    settings = Settings(
        seeds=args.seeds,
        base_seed=args.base_seed,
        years=args.years,
        overrides=_parse_set(args.set),
        workers=args.workers,
        max_nfev=args.max_nfev,
    )
    result = calibrate(settings, log=lambda line: print(line, flush=True))
    command = "python -m ics_sim.calibration" + ("" if argv is None and len(sys.argv) <= 1 else " " + " ".join(argv if argv is not None else sys.argv[1:]))
    text = render_config(result, command=command)
    print(text, end="")
    if not args.dry_run:
        print(f"wrote {write_config(result, args.out, command=command)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
