"""The data dictionary and the tidy tables (issue 17): docs/OUTPUTS.md is generated from
``record.METRICS`` and current; every recorded measure has a unit, a direction and its levels;
the time series carries typed factor columns, ``measure_unit`` and a calendar ``date``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ics_sim
from ics_sim.config import load_config
from ics_sim.model.record import DIRECTIONS, EXTRA_SUMMARY, METRICS, SUMMARY_KEYS, UNITS
from ics_sim.runs.aggregate import better
from ics_sim.runs.factors import STANDARD, column_name, factors

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = REPO / "docs" / "OUTPUTS.md"
SCRIPT = REPO / "scripts" / "outputs_doc.py"
sys.path.insert(0, str(REPO / "scripts"))
import outputs_doc  # noqa: E402


def test_outputs_doc_is_up_to_date():
    assert outputs_doc.check(OUTPUTS), "docs/OUTPUTS.md is out of date: run python scripts/outputs_doc.py"
    text = OUTPUTS.read_text(encoding="utf-8")
    for name, m in METRICS.items():
        assert f"| `{name}` | {m.unit.replace('|', chr(92) + '|')} |" in text, name


def test_check_command_fails_on_a_stale_table(tmp_path):
    stale = OUTPUTS.read_text(encoding="utf-8").replace("<!-- /metrics -->", "| stale row |\n<!-- /metrics -->", 1)
    path = tmp_path / "OUTPUTS.md"
    path.write_text(stale, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check", "--path", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "out of date" in proc.stderr
    ok = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr


@pytest.fixture(scope="module")
def sed_run():
    return ics_sim.run({"years": 1, "sed.enabled": True, "start_year": 2030}, seed=0)


def test_every_recorded_measure_is_in_the_dictionary_at_its_levels(sed_run):
    recorded: dict[str, set[str]] = {}
    for level, metric in sed_run.model.recorder.data:
        recorded.setdefault(metric, set()).add(level)
    missing = sorted(set(recorded) - set(METRICS))
    assert not missing, f"recorded measures without an entry in record.METRICS (unit, direction, levels): {missing}"
    stale = sorted(set(METRICS) - set(recorded))
    assert not stale, f"record.METRICS lists measures the model does not record: {stale}"
    wrong = {m: (sorted(recorded[m]), sorted(METRICS[m].levels)) for m in recorded if recorded[m] != set(METRICS[m].levels)}
    assert not wrong, f"levels recorded vs listed: {wrong}"
    for name, m in METRICS.items():
        assert m.direction in DIRECTIONS and m.unit and m.label and m.description, name


def test_every_summary_measure_has_a_unit():
    for key in {**SUMMARY_KEYS, **EXTRA_SUMMARY}:
        assert key in METRICS and UNITS[key] == METRICS[key].unit, key
    money = [k for k in METRICS if k.endswith("_gbp") and k != "health_gain_per_million_gbp"] + ["unfunded_need"]
    assert {METRICS[k].unit for k in money} <= {"GBP per year", "GBP per person per year"}  # one money unit


def test_timeseries_has_units_dates_and_typed_factors(sed_run):
    ts = sed_run.timeseries
    units = ts.drop_duplicates("metric").set_index("metric")["measure_unit"]
    assert units.to_dict() == {m: METRICS[m].unit for m in units.index}
    months = ts.drop_duplicates("month").set_index("month")["date"]
    assert months[0] == pd.Timestamp("2030-04-01") and months[9] == pd.Timestamp("2031-01-01")
    assert list(ts.columns[2:2 + len(STANDARD)]) == list(STANDARD)
    assert ts["delegation_share"].dtype == np.float64 and ts["governance"].iloc[0] == "committee"
    assert "unit" not in ts.columns and set(ts["level"]) == {"neighbourhood", "place", "system", "pair"}


def test_factors_come_typed_from_the_resolved_config():
    cfg, _ = load_config({"delegation": "fixed", "delegation.share": 0.2, "membership.vcse": False,
                          "trust.initial": 0.5, "shocks": "funding_cut", "system": "herefordshire_worcestershire"})
    f = factors(cfg, ["membership.vcse", "trust.initial", "delegation.share", "governance"])
    assert f == {"system": "herefordshire_worcestershire", "governance": "committee", "delegation": "fixed",
                 "delegation_share": 0.2, "allocation": "need_weighted", "shocks": "funding_cut",
                 "membership_vcse": False, "trust_initial": 0.5}
    assert type(f["membership_vcse"]) is bool and type(f["delegation_share"]) is float
    assert column_name("+decision.tolerance") == "decision_tolerance"
    # a group the resolved config does not name falls back to the override's value
    assert factors(cfg, ["health"], {"health": "calibrated"})["health"] == "calibrated"


def test_better_follows_each_direction():
    a, b = np.array([1.0, -0.5, 2.0]), np.array([2.0, 1.0, 2.0])
    assert better(a, b, "higher").tolist() == [False, False, False]
    assert better(a, b, "lower").tolist() == [True, True, False]  # a tie is not better
    assert better(a, b, "zero").tolist() == [True, True, False]
    assert better(a, b, "none") is None


def test_console_shows_money_as_the_files_do(sed_run):
    from ics_sim.__main__ import summary_table

    text = summary_table([sed_run.summary])
    for key in ("duplicated_spend_gbp", "unfunded_need", "transaction_cost_gbp"):
        assert f"{sed_run.summary[key]:,.0f}" in text, key  # pounds per year, as in summary.json
    assert "GBP per year" in text and "GBP m" not in text


def test_replicates_share_a_folder_with_their_figure_and_summary(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ics_sim", "years=1", "replicates=2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (folder,) = (tmp_path / "results" / "runs").iterdir()
    assert "_n2_" in folder.name
    reps = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert len(reps) == 2 and reps[0] == "rep000_s0"
    assert (folder / "outcomes.png").read_bytes()[:4] == b"\x89PNG" and (folder / "outcomes.png").stat().st_size > 50_000
    assert not (folder / reps[0] / "outcomes.png").exists()  # one figure for the set, not one per replicate
    summary = pd.read_csv(folder / "summary.csv")
    row = summary[summary["metric"] == "hle_sii"].iloc[0]
    values = [pd.read_json(folder / r / "summary.json", typ="series")["hle_sii"] for r in reps]
    assert row["n"] == 2 and row["median"] == pytest.approx(np.median(values)) and row["measure_unit"] == "years"
    assert str(folder.relative_to(tmp_path)) in proc.stdout
