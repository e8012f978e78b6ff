"""Calibration of the health state to the ONS gradient of healthy life expectancy (ODD section 8).

``python -m ics_sim.calibration`` fits four health parameters so that the default baseline
(synthetic system, default governance, ``years`` years, ``seeds`` replicates on common random
numbers) reproduces at its horizon

* the ONS male healthy life expectancy (HLE) by national deprivation decile, England 2015-17
  (51.7 years in the most deprived decile rising to 70.4 in the least deprived), and
* the ONS slope index of inequality (SII) in HLE, 2018-20: 18.6 years for men and 19.3 for
  women. The model has one sex, so the target is their mean, 18.95 years, within 0.4 years of
  both (and within 0.15 of the SII of the 2015-17 male decile values themselves, 19.1).

Fitted parameters (``FITTED``): the reference curve of health in deprivation rank
(``health.hle_most_deprived``, ``health.hle_least_deprived``, ``health.hle_concavity``; ODD 7.4) and
``health.coverage_reference``, the coverage at which that curve is the equilibrium, which sets
the baseline's drift. Residuals (years), for the 30-seed mean of each quantity:

* model HLE of each decile present minus the ONS value (10 residuals);
* ``SII_WEIGHT`` x (model SII minus the SII target);
* ``DRIFT_WEIGHT`` x (mean HLE at the horizon minus mean HLE in the first month): the baseline
  should not drift; this is the residual that identifies ``coverage_reference``.

:func:`scipy.optimize.least_squares` (trust-region reflective, bounded, two-point finite
differences) minimises their sum of squares. Every evaluation runs the same replicate seeds
(:func:`ics_sim.runs.seeds.replicate_seed` of ``base_seed``), so the objective is a deterministic
function of the parameters and the fit is reproducible; seeds run on worker processes. The
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
    "FITTED",
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
#: weight of the drift residual (mean HLE at the horizon minus in the first month)
DRIFT_WEIGHT = 1.0


@dataclass(frozen=True)
class Fitted:
    """A fitted parameter: config key, starting value, search bounds and rounding of the result."""

    key: str
    start: float
    lo: float
    hi: float
    digits: int


#: the fitted parameters; starting values are the schema defaults (the straight line through the
#: ONS decile-1 and decile-10 values, coverage of the first month), so a fit never depends on a
#: previous fit
FITTED: tuple[Fitted, ...] = (
    Fitted("health.hle_most_deprived", 51.7, 40.0, 65.0, 3),
    Fitted("health.hle_least_deprived", 70.4, 60.0, 80.0, 3),
    Fitted("health.hle_concavity", 0.0, -2.0, 6.0, 4),
    Fitted("health.coverage_reference", 0.83, 0.5, 1.0, 4),
)


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

    def mean_deciles(self) -> np.ndarray:
        """Mean over seeds of each decile's HLE (NaN for a decile with no neighbourhood)."""
        return _mean_present(self.deciles)

    def drift(self) -> float:
        return float(np.mean(self.hle_mean - self.hle_mean_start))

    def residuals(self, tg: Targets) -> np.ndarray:
        dec = self.mean_deciles()
        present = np.isfinite(dec)
        return np.concatenate(
            [
                dec[present] - tg.deciles[present],
                [SII_WEIGHT * (float(np.mean(self.sii)) - tg.sii)],
                [DRIFT_WEIGHT * self.drift()],
            ]
        )


def _mean_present(a: np.ndarray) -> np.ndarray:
    out = np.full(a.shape[1], np.nan)
    ok = np.isfinite(a).all(axis=0)
    out[ok] = a[:, ok].mean(axis=0)
    return out


# --------------------------------------------------------------------------------------------
# one seed (runs on a worker process)
# --------------------------------------------------------------------------------------------
def _by_decile(deciles: np.ndarray, values: np.ndarray, people: np.ndarray) -> np.ndarray:
    out = np.full(10, np.nan)
    vals, _ = metrics.decile_groups(deciles, values, people)
    out[np.unique(deciles) - 1] = vals
    return out


def run_seed(cfg: Config, seed: int) -> dict[str, Any]:
    """Run one replicate of ``cfg`` and return its HLE by decile, SII and mean HLE (horizon and
    first month). The SII and mean HLE are the run summary's own ``hle_sii`` and ``hle_mean``."""
    from ics_sim.model.ics_model import ICSModel
    from ics_sim.model.record import summarise

    cfg = copy.deepcopy(cfg)
    cfg.seed = int(seed)
    model = ICSModel(cfg).run()
    L = model.layout
    if L.n_systems != 1:
        raise ValueError("the calibration runs on one system (e.g. the synthetic default)")
    people, dec = L.nb_population, L.nb_decile
    summary = summarise(model.recorder)
    start_groups = metrics.decile_groups(dec, model.initial_hle, people)
    return {
        "deciles": _by_decile(dec, model.population.hle, people),
        "deciles_start": _by_decile(dec, model.initial_hle, people),
        "sii": float(summary["hle_sii"]),
        "sii_start": float(metrics.sii(*start_groups)[0]) if len(start_groups[0]) >= 2 else 0.0,
        "hle_mean": float(summary["hle_mean"]),
        "hle_mean_start": float(np.average(model.initial_hle, weights=people)),
        "coverage": float(np.average(model.coverage, weights=people)),
    }


# --------------------------------------------------------------------------------------------
# the objective
# --------------------------------------------------------------------------------------------
def config_at(x: Sequence[float] | None, settings: Settings) -> Config:
    """The validated config of the baseline with the fitted parameters set to ``x`` (None: as the
    configs set them, i.e. the default run's calibrated values)."""
    overrides = dict(settings.overrides)
    overrides["years"] = settings.years
    if x is not None:
        overrides.update({p.key: float(v) for p, v in zip(FITTED, x, strict=True)})
    cfg, _ = load_config(overrides)
    return cfg


def evaluate(x: Sequence[float] | None, settings: Settings, pool: ProcessPoolExecutor | None = None) -> Evaluation:
    """Run the baseline at ``x`` (None: the configured values) on every seed of ``settings``, on
    ``pool``'s worker processes if given (results in seed order either way)."""
    cfg = config_at(x, settings)
    if x is None:
        x = [float(getattr(cfg.health, p.key.split(".", 1)[1])) for p in FITTED]
    seeds = settings.seed_list()
    if pool is None:
        rows = [run_seed(cfg, s) for s in seeds]
    else:
        rows = list(pool.map(run_seed, repeat(cfg), seeds))
    col = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    return Evaluation(x=np.asarray(x, dtype=float), **col)


@dataclass
class CalibrationResult:
    """A finished fit: the fitted (rounded) values, the evaluation there and the optimiser's report."""

    values: dict[str, float]
    evaluation: Evaluation
    targets: Targets
    settings: Settings
    nfev: int
    status: int
    message: str
    cost: float
    runtime_s: float
    history: list[tuple[np.ndarray, float]]

    def statistics(self) -> dict[str, Any]:
        """Fit statistics: per decile (ONS, model mean, 10-90% over seeds, error), SII, RMSE, drift."""
        ev, tg = self.evaluation, self.targets
        dec = ev.mean_deciles()
        start = _mean_present(ev.deciles_start)
        present = np.isfinite(dec)
        err = dec - tg.deciles
        rows = []
        for d in range(10):
            col = ev.deciles[:, d]
            rows.append(
                {
                    "decile": d + 1,
                    "ons": float(tg.deciles[d]),
                    "model": float(dec[d]) if present[d] else None,
                    "model_start": float(start[d]) if present[d] else None,
                    "p10": float(np.quantile(col, 0.1)) if present[d] else None,
                    "p90": float(np.quantile(col, 0.9)) if present[d] else None,
                    "error": float(err[d]) if present[d] else None,
                }
            )
        return {
            "deciles": rows,
            "rmse_deciles": float(np.sqrt(np.mean(err[present] ** 2))),
            "max_abs_error": float(np.max(np.abs(err[present]))),
            "sii": float(np.mean(ev.sii)),
            "sii_p10": float(np.quantile(ev.sii, 0.1)),
            "sii_p90": float(np.quantile(ev.sii, 0.9)),
            "sii_start": float(np.mean(ev.sii_start)),
            "sii_target": tg.sii,
            "sii_male": tg.sii_male,
            "sii_female": tg.sii_female,
            "hle_mean": float(np.mean(ev.hle_mean)),
            "hle_mean_start": float(np.mean(ev.hle_mean_start)),
            "drift": ev.drift(),
            "coverage_end": float(np.mean(ev.coverage)),
        }


def calibrate(
    settings: Settings | None = None,
    log: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Fit the health parameters (:data:`FITTED`) to the ONS HLE gradient.

    Args:
        settings: seeds, horizon, base overrides, workers and evaluation budget.
        log: called with one line per evaluation (e.g. ``print``); None for silence.

    Returns:
        The fitted values (rounded as written to the config), the evaluation there and the fit
        statistics; the same settings always give the same result.
    """
    from scipy.optimize import least_squares

    settings = settings or Settings()
    tg = targets()
    t0 = time.perf_counter()
    x0 = np.array([p.start for p in FITTED])
    lo = np.array([p.lo for p in FITTED])
    hi = np.array([p.hi for p in FITTED])
    history: list[tuple[np.ndarray, float]] = []
    cache: dict[tuple[float, ...], np.ndarray] = {}
    workers = settings.workers or os.cpu_count() or 1

    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:

        def fun(x: np.ndarray) -> np.ndarray:
            key = tuple(float(v) for v in x)
            if key not in cache:
                res = evaluate(x, settings, pool).residuals(tg)
                cache[key] = res
                cost = 0.5 * float(res @ res)
                history.append((np.array(x, dtype=float), cost))
                if log:
                    vals = ", ".join(f"{p.key.split('.')[-1]}={v:.4f}" for p, v in zip(FITTED, x, strict=True))
                    log(f"[{len(history):3d}] {vals}  cost={cost:.4f}  ({time.perf_counter() - t0:.0f} s)")
            return cache[key]

        fit = least_squares(
            fun,
            x0,
            bounds=(lo, hi),
            method="trf",
            jac="2-point",
            diff_step=1e-3,
            x_scale=np.array([1.0, 1.0, 0.5, 0.01]),
            xtol=1e-4,
            ftol=1e-4,
            gtol=1e-6,
            max_nfev=settings.max_nfev,
        )
        rounded = np.array([round(float(v), p.digits) for p, v in zip(FITTED, fit.x, strict=True)])
        final = evaluate(rounded, settings, pool)
    finally:
        if pool is not None:
            pool.shutdown()
    values = {p.key: float(v) for p, v in zip(FITTED, rounded, strict=True)}
    res = final.residuals(tg)
    return CalibrationResult(
        values=values,
        evaluation=final,
        targets=tg,
        settings=settings,
        nfev=len(history),
        status=int(fit.status),
        message=str(fit.message),
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
    lines = [
        "# Health parameters fitted to the ONS gradient of healthy life expectancy (HLE) by national",
        "# deprivation decile (ODD sections 7.4 and 8). Written by the calibration routine; do not edit",
        "# by hand: re-run it after changing anything that moves the baseline's health.",
        "#",
        f"# command:  {command}",
        f"# date:     {date}   ics_sim {__version__}",
        f"# baseline: default config{(' + ' + ', '.join(f'{k}={v}' for k, v in s.overrides.items())) if s.overrides else ''},"
        f" {s.years} years, {s.seeds} seeds (replicate_seed({s.base_seed}, 0..{s.seeds - 1}), common random numbers)",
        "# method:   scipy.optimize.least_squares (trf, bounded, 2-point differences); residuals (years):",
        f"#           {s.seeds}-seed mean horizon HLE per decile - ONS; "
        f"{SII_WEIGHT:g} x (SII - target); {DRIFT_WEIGHT:g} x (mean HLE horizon - month 0)",
        f"# optimiser: {result.nfev} evaluations, status {result.status} ({result.message.rstrip('.')})",
        "#",
        "# targets:  ONS male HLE by IMD decile, England 2015-17; SII target "
        f"{st['sii_target']:.2f} = mean of ONS 2018-20 male {st['sii_male']:.1f} and female {st['sii_female']:.1f}",
        "#",
        "# decile   ONS   model  (10-90% over seeds)  error   month 0",
    ]
    for r in st["deciles"]:
        lines.append(
            f"#   {r['decile']:>2}   {r['ons']:5.2f}  {_f(r['model']):>5}  ({_f(r['p10'])}-{_f(r['p90'])})"
            f"{'':>8}{_f(r['error'], '+.2f'):>5}   {_f(r['model_start'])}"
        )
    lines += [
        f"# RMSE over deciles {st['rmse_deciles']:.2f} years; largest error {st['max_abs_error']:.2f} years",
        f"# SII (horizon): {st['sii']:.2f} years (10-90% over seeds {st['sii_p10']:.2f}-{st['sii_p90']:.2f}); "
        f"target {st['sii_target']:.2f}; month 0: {st['sii_start']:.2f}",
        f"# mean HLE: {st['hle_mean_start']:.2f} years in month 0, {st['hle_mean']:.2f} at the horizon "
        f"(drift {st['drift']:+.2f}); coverage in the last month {st['coverage_end']:.3f}",
        f"# objective (half sum of squared residuals) {result.cost:.4f}; runtime {result.runtime_s:.0f} s",
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
