"""The health calibration (issue 4; ODD section 8): the calibrated default baseline reproduces the
ONS gradient of healthy life expectancy by deprivation decile, and the routine is reproducible."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
import yaml

import ics_sim
from ics_sim.analysis import calibration
from ics_sim.config import CONFIG_DIR, load_config
from ics_sim.model.population import reference_hle
from ics_sim.model.systems import build_layout

ONS_SII_MALE, ONS_SII_FEMALE = 18.6, 19.3  # ONS 2018-20


@pytest.fixture(scope="module")
def baseline() -> calibration.Evaluation:
    """The default run (calibrated config as shipped), 30 replicate seeds, 10 years, 2 workers."""
    settings = calibration.Settings()  # 30 seeds of base seed 0, 10 years, no overrides
    assert settings.seeds == 30 and settings.years == 10 and not settings.overrides
    with ProcessPoolExecutor(max_workers=2) as pool:
        return calibration.evaluate(None, settings, pool)


def test_targets_are_the_ons_figures():
    tg = calibration.targets()
    assert tg.deciles[0] == pytest.approx(51.7, abs=0.05) and tg.deciles[-1] == pytest.approx(70.4, abs=0.05)
    assert np.all(np.diff(tg.deciles) > 0)
    assert (tg.sii_male, tg.sii_female) == (ONS_SII_MALE, ONS_SII_FEMALE)
    assert abs(tg.sii - ONS_SII_MALE) < 1 and abs(tg.sii - ONS_SII_FEMALE) < 1


def test_default_system_spans_the_national_deciles():
    """The synthetic default is a 'typical' system: every national decile holds 5-15% of its people,
    so its SII is comparable with the national one."""
    cfg, _ = load_config()
    L = build_layout(cfg.system)
    share = np.bincount(L.nb_decile, weights=L.nb_population, minlength=11)[1:] / L.nb_population.sum()
    assert np.all((share >= 0.05) & (share <= 0.15)), share.round(3)
    assert 0.45 <= np.average(L.nb_rank, weights=L.nb_population) <= 0.55


def test_shipped_config_holds_the_fitted_parameters():
    data = yaml.safe_load((CONFIG_DIR / "health" / "calibrated.yaml").read_text())
    assert set(data) == {p.key.split(".", 1)[1] for p in calibration.FITTED}
    cfg, _ = load_config()
    for key, value in data.items():
        assert getattr(cfg.health, key) == pytest.approx(value)


def test_reference_curve_concavity_zero_is_the_straight_line():
    cfg, _ = load_config({"health.hle_concavity": 0.0, "health.hle_most_deprived": 51.7, "health.hle_least_deprived": 70.4})
    r = np.linspace(0.0, 1.0, 11)
    line = 51.7 + (70.4 - 51.7) / 0.9 * (r - 0.05)
    assert np.allclose(reference_hle(r, cfg.health), line)
    cfg.health.hle_concavity = 1e-6  # continuous at 0
    assert np.allclose(reference_hle(r, cfg.health), line, atol=1e-4)
    cfg.health.hle_concavity = 1.5  # concave: through both anchors, above the line between them
    mid = reference_hle(np.array([0.05, 0.5, 0.95]), cfg.health)
    assert mid[0] == pytest.approx(51.7) and mid[2] == pytest.approx(70.4) and mid[1] > line[5]


def test_calibrated_baseline_reproduces_the_ons_sii(baseline):
    sii = float(np.mean(baseline.sii))
    assert abs(sii - ONS_SII_MALE) <= 1.0, sii
    assert abs(sii - ONS_SII_FEMALE) <= 1.0, sii


def test_calibrated_baseline_reproduces_the_ons_decile_profile(baseline):
    tg = calibration.targets()
    model = baseline.mean_deciles()
    present = np.isfinite(model)
    assert present.all(), "every national decile should be present in the default system"
    err = model[present] - tg.deciles[present]
    assert np.all(np.abs(err) <= 1.5), np.round(err, 2)


def test_calibrated_baseline_does_not_drift(baseline):
    """Under the status quo the SII and mean HLE move at most 0.3 years over 10 years (median over
    the 30 seeds), and the yearly median SII path stays within 0.3 of month 0."""
    assert abs(np.median(baseline.hle_mean - baseline.hle_mean_start)) <= 0.3
    assert abs(np.median(baseline.sii - baseline.sii_start)) <= 0.3
    path = np.median(baseline.sii_by_year, axis=0)
    assert np.all(np.abs(path - path[0]) <= 0.3), np.round(path, 2)


@pytest.mark.parametrize("system", ["synthetic", "england"])
def test_month_zero_is_the_ons_gradient(system):
    """The curve fitted to month 0: the SII within 0.5 years of the ONS target and the decile
    profile within 1.5 years of ONS in every decile, on both layouts it is fitted to."""
    cfg, _ = load_config({"system": system})
    layout = build_layout(cfg.system)
    dec, sii = calibration.month0(cfg, layout)
    tg = calibration.targets()
    assert abs(sii - tg.sii) <= 0.5, sii
    present = np.isfinite(dec)
    assert present.all()
    assert np.all(np.abs(dec - tg.deciles) <= 1.5), np.round(dec - tg.deciles, 2)


def test_calibration_path_is_the_default_run(baseline):
    """The routine's per-seed SII is the run summary's: the same numbers as ``ics_sim.run()``."""
    assert ics_sim.run(seed=0).summary["hle_sii"] == pytest.approx(baseline.sii[0], abs=1e-9)


def test_calibration_is_deterministic(tmp_path):
    """Same settings, same fit, whether the seeds run in-process or on worker processes."""
    tiny = {"seeds": 2, "years": 1, "max_nfev": 2}
    a = calibration.calibrate(calibration.Settings(workers=1, **tiny))
    b = calibration.calibrate(calibration.Settings(workers=2, **tiny))
    assert a.values == b.values
    assert [tuple(x) for x, _ in a.history] == [tuple(x) for x, _ in b.history]
    assert np.array_equal(a.evaluation.deciles, b.evaluation.deciles)
    assert a.values != {p.key: p.start for p in calibration.FITTED}  # it moved
    path = calibration.write_config(a, tmp_path / "health" / "calibrated.yaml")
    text = path.read_text()
    assert "# month 0" in text and "RMSE" in text and "status quo" in text
    written = yaml.safe_load(text)
    assert written == {k.split(".", 1)[1]: v for k, v in a.values.items()}
