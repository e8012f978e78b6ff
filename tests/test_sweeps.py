"""Sweeps (issue 5): multirun with the joblib and submitit_local launchers, aggregation (also after
a partial failure), the resumable batch runner, ``ics_sim.evaluate`` and a Morris smoke test.

Kept small (1-year runs, 2 settings x 2 replicates) so the file runs in about a minute.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import ics_sim
from ics_sim.runs.aggregate import aggregate
from ics_sim.runs.aggregate import main as aggregate_main
from ics_sim.runs.batch import read_results, run_batch
from ics_sim.runs.evaluate import parameter_names
from ics_sim.runs.seeds import replicate_seed

ROOT = Path(__file__).resolve().parents[1]


def multirun(sweep_dir: Path, *overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "ics_sim", "-m", *overrides, f"hydra.sweep.dir={sweep_dir}"]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


def check_two_by_two(sweep: Path) -> None:
    """Aggregate a governance=joint_committee,lead_provider replicates=2 sweep and check it."""
    assert aggregate_main([str(sweep), "--baseline", "governance=joint_committee"]) == 0
    out = sweep / "aggregate"
    for name in ("timeseries.parquet", "runs.parquet", "summary.csv", "paired.csv", "failed.csv"):
        assert (out / name).exists(), name
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs["setting"].unique()) == ["governance=joint_committee", "governance=lead_provider"]
    assert len(runs) == 4 and runs.groupby("setting").size().tolist() == [2, 2]
    seeds = runs.groupby("setting")["seed"].apply(sorted).tolist()
    assert seeds[0] == seeds[1] == sorted([0, replicate_seed(0, 1)])  # common random numbers
    ts = pd.read_parquet(out / "timeseries.parquet", columns=["setting", "replicate"])
    assert set(ts["setting"]) == set(runs["setting"]) and set(ts["replicate"]) == {0, 1}
    summary = pd.read_csv(out / "summary.csv")
    row = summary[(summary["setting"] == "governance=lead_provider") & (summary["metric"] == "hle_sii")].iloc[0]
    assert row["n"] == 2 and row["q10"] <= row["median"] <= row["q90"]
    paired = pd.read_csv(out / "paired.csv")
    p = paired[paired["metric"] == "hle_sii"]
    assert p["setting"].tolist() == ["governance=lead_provider"]
    assert p["baseline"].tolist() == ["governance=joint_committee"] and p["n_pairs"].tolist() == [2]
    a = runs.set_index(["setting", "seed"])["hle_sii"]
    diffs = a["governance=lead_provider"] - a["governance=joint_committee"]
    assert p["median_diff"].iloc[0] == pytest.approx(diffs.median())
    assert pd.read_csv(out / "failed.csv").empty
    jobs = [json.loads(p.read_text()) for p in sweep.glob("*/job.json")]
    assert sorted(j["status"] for j in jobs) == ["done", "done"]


def test_multirun_joblib_then_aggregate(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    res = multirun(sweep, "governance=joint_committee,lead_provider", "replicates=2", "years=1",
                   "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Joblib" in res.stdout + res.stderr  # the default multirun launcher
    check_two_by_two(sweep)


@pytest.mark.skipif(importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is None,
                    reason="hydra-submitit-launcher not installed (pip install -e '.[test]')")
def test_multirun_submitit_local_then_aggregate(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    res = multirun(sweep, "hydra/launcher=submitit_local", "governance=joint_committee,lead_provider",
                   "replicates=2", "years=1", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (sweep / ".submitit").is_dir()
    check_two_by_two(sweep)


def test_aggregate_after_partial_failure(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    res = multirun(sweep, "delegation=fixed", "delegation.share=0.5,1.5", "years=1", "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert res.returncode != 0  # Hydra reports the failed job, after running the others
    result = aggregate(sweep, quiet=True)
    assert result.runs["setting"].tolist() == ["delegation.share=0.5"]
    failed = pd.read_csv(sweep / "aggregate" / "failed.csv")
    assert failed["setting"].tolist() == ["delegation.share=1.5"]
    assert failed["status"].tolist() == ["failed"]
    assert "out of range" in failed["error"].iloc[0] and "delegation.share" in failed["error"].iloc[0]
    assert (sweep / "aggregate" / "summary.csv").exists() and (sweep / "aggregate" / "paired.csv").exists()
    # a job that never started (its folder gone) is listed as missing, from multirun.yaml
    shutil.rmtree(next(sweep.glob("1_*")))
    failed = aggregate(sweep, quiet=True, timeseries=False).failed
    assert failed["status"].tolist() == ["missing"] and failed["job"].tolist() == [1]
    # a job killed part-way: its finished replicates count, and it is listed as incomplete
    job0 = next(sweep.glob("0_*")) / "job.json"
    rec = json.loads(job0.read_text())
    job0.write_text(json.dumps({**rec, "status": "running", "overrides": [*rec["overrides"], "replicates=3"]}))
    res2 = aggregate(sweep, quiet=True, timeseries=False)
    assert len(res2.runs) == 1
    assert sorted(res2.failed["status"]) == ["incomplete", "missing"]
    with pytest.raises(ValueError, match="no job has"):
        aggregate(sweep, baseline=["delegation.share=0.9"], quiet=True, timeseries=False)


DESIGN = pd.DataFrame({"governance": ["committee", "joint_committee", "lead_provider"]})


def test_run_batch_deterministic_and_resumable(tmp_path: Path) -> None:
    full = run_batch(DESIGN, 4, tmp_path / "full", workers=1, base_overrides={"years": 1}, progress=False)
    assert len(full) == 12 and (full["status"] == "ok").all()
    assert full.groupby("setting_id")["seed"].apply(list).map(tuple).nunique() == 1  # common random numbers
    for col in ("setting_id", "replicate", "seed", "scenario", "config_hash", "hle_sii", "unmet_need"):
        assert col in full

    out = tmp_path / "resumed"
    part = run_batch(DESIGN, 4, out, workers=1, base_overrides={"years": 1}, chunk_size=2, max_runs=5, progress=False)
    assert len(part) == 5  # "interrupted" after 5 runs
    done = run_batch(DESIGN, 4, out, workers=2, base_overrides={"years": 1}, chunk_size=3, progress=False)
    raw = pd.concat([pd.read_parquet(p) for p in out.glob("chunk-*.parquet")])
    assert len(raw) == 12 and not raw.duplicated(["setting_id", "replicate"]).any()
    assert len(done) == 12 and len(read_results(out)) == 12
    a = full.set_index(["setting_id", "replicate"]).sort_index()
    b = done.set_index(["setting_id", "replicate"]).sort_index()
    pd.testing.assert_series_equal(a["hle_sii"], b["hle_sii"])  # same results, whatever the workers
    pd.testing.assert_series_equal(a["seed"], b["seed"])
    again = run_batch(DESIGN, 4, out, workers=1, base_overrides={"years": 1}, progress=False)
    assert len(again) == 12 and len(list(out.glob("chunk-*.parquet"))) == len(list(out.glob("chunk-*.parquet")))
    with pytest.raises(ValueError, match="different settings"):
        run_batch(DESIGN.iloc[:2], 4, out, base_overrides={"years": 1}, progress=False)


def test_batch_cli(tmp_path: Path) -> None:
    design = tmp_path / "design.csv"
    pd.DataFrame({"setting_id": ["jc", "lp"], "governance": ["joint_committee", "lead_provider"]}).to_csv(design, index=False)
    cmd = [sys.executable, "-m", "ics_sim.batch", str(design), "--replicates", "3", "--out", str(tmp_path / "b"),
           "--workers", "2", "--chunk-size", "2", "--set", "years=1", "--no-progress"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    df = read_results(tmp_path / "b")
    assert sorted(df["setting_id"].unique()) == ["jc", "lp"] and len(df) == 6 and (df["status"] == "ok").all()
    assert len(list((tmp_path / "b").glob("chunk-*.parquet"))) == 3


def test_run_batch_records_failed_runs(tmp_path: Path) -> None:
    df = run_batch([{"delegation": "fixed", "delegation.share": 2.0}], 1, tmp_path, base_overrides={"years": 1}, progress=False)
    assert df["status"].tolist() == ["failed"] and "out of range" in df["error"].iloc[0]


def test_evaluate_flat_names() -> None:
    names = parameter_names()
    assert names["delegation_share"] == "delegation.share"
    assert names["delegation__share"] == "delegation.share"
    assert names["trust_initial"] == "trust.initial"
    assert names["loss_ratio"] == "trust.loss_ratio"  # unique field name
    assert names["governance"] == "governance"  # a config group
    out = ics_sim.evaluate(governance="joint_committee", delegation="fixed", delegation_share=0.4, years=1, seed=1)
    assert isinstance(out, dict) and out and all(isinstance(v, float) for v in out.values())
    for key in ("hle_sii", "unmet_need", "duplicated_spend_gbp", "decision_delay_months", "trust_mean"):
        assert key in out
    ref = ics_sim.run({"governance": "joint_committee", "delegation": "fixed", "delegation.share": 0.4, "years": 1}, seed=1)
    assert out["hle_sii"] == pytest.approx(ref.summary["hle_sii"])
    with pytest.raises(ValueError, match="delegaton_share"):
        ics_sim.evaluate(delegaton_share=0.3)


def test_morris_smoke(tmp_path: Path) -> None:
    pytest.importorskip("SALib")
    spec = importlib.util.spec_from_file_location("sensitivity", ROOT / "experiments" / "sensitivity.py")
    sens = importlib.util.module_from_spec(spec)
    sys.modules["sensitivity"] = sens  # dataclasses look their module up
    try:
        spec.loader.exec_module(sens)
    finally:
        sys.modules.pop("sensitivity", None)
    assert len(sens.PARAMETER_SPACE) >= 8
    sens.check_space(sens.PARAMETER_SPACE)
    rc = sens.main(["--method", "morris", "--trajectories", "2", "--seeds", "1", "--years", "1", "--workers", "1",
                    "--outcomes", "hle_sii", "unmet_need", "trust_mean", "--run-dir", str(tmp_path / "m"), "--no-progress"])
    assert rc == 0
    table = pd.read_csv(tmp_path / "m" / "morris.csv")
    assert table["parameter"].nunique() >= 8
    assert {"mu_star", "mu_star_conf", "sigma", "unit"} <= set(table.columns)
    assert (tmp_path / "m" / "morris.png").stat().st_size > 10_000
    assert (tmp_path / "m" / "parameters.csv").exists()
