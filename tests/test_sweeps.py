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
from ics_sim.aggregate import main as aggregate_main
from ics_sim.runs.aggregate import HEADLINE, aggregate, record_job
from ics_sim.runs.batch import read_results, run_batch
from ics_sim.runs.evaluate import parameter_names
from ics_sim.runs.seeds import replicate_seed

ROOT = Path(__file__).resolve().parents[1]


def multirun(sweep_dir: Path, *overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "ics_sim", "-m", *overrides, f"hydra.sweep.dir={sweep_dir}"]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)


PNG = b"\x89PNG\r\n\x1a\n"


def check_figures(out: Path) -> None:
    """One non-empty PNG per headline measure in ``<aggregate>/figures``."""
    for metric in HEADLINE:
        data = (out / "figures" / f"{metric}.png").read_bytes()
        assert data[:8] == PNG and len(data) > 20_000, metric


def check_two_by_two(sweep: Path, stdout: str) -> None:
    """Aggregate a governance=joint_committee,lead_provider replicates=2 sweep and check it."""
    # the multirun aggregated itself when it ended, and printed its summary in setting order
    check_figures(sweep / "aggregate")
    assert "Inequality in healthy life expectancy (SII) (years; lower is better)" in stdout
    block = stdout.split("Inequality in healthy life expectancy (SII)", 1)[1]
    assert block.index("governance=joint_committee") < block.index("governance=lead_provider")
    shutil.rmtree(sweep / "aggregate")
    assert aggregate_main([str(sweep), "--baseline", "governance=joint_committee"]) == 0
    out = sweep / "aggregate"
    for name in ("timeseries.parquet", "runs.parquet", "summary.csv", "paired.csv", "failed.csv"):
        assert (out / name).exists(), name
    check_figures(out)
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs["setting"].unique()) == ["governance=joint_committee", "governance=lead_provider"]
    assert runs["governance"].tolist() == ["joint_committee"] * 2 + ["lead_provider"] * 2  # a factor column, sorted
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
    assert p["setting"].tolist() == ["governance=lead_provider"] and p["governance"].tolist() == ["lead_provider"]
    assert p["baseline"].tolist() == ["governance=joint_committee"] and p["n_pairs"].tolist() == [2]
    assert p["measure_unit"].tolist() == ["years"] and p["direction"].tolist() == ["lower"]
    a = runs.set_index(["setting", "seed"])["hle_sii"]
    diffs = a["governance=lead_provider"] - a["governance=joint_committee"]
    assert p["median_diff"].iloc[0] == pytest.approx(diffs.median())
    assert p["share_better"].iloc[0] == pytest.approx((diffs < 0).mean())  # lower SII is better
    assert pd.read_csv(out / "failed.csv").empty
    jobs = [json.loads(p.read_text()) for p in sweep.glob("*/job.json")]
    assert sorted(j["status"] for j in jobs) == ["done", "done"]
@pytest.mark.slow  # a Hydra multirun end to end (tens of seconds)
def test_multirun_joblib_then_aggregate(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    res = multirun(sweep, "governance=joint_committee,lead_provider", "replicates=2", "years=1",
                   "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Joblib" in res.stdout + res.stderr  # the default multirun launcher
    check_two_by_two(sweep, res.stdout)
@pytest.mark.slow  # a Hydra multirun end to end (tens of seconds)
def test_readme_sweep_plots_in_one_pandas_line(tmp_path: Path) -> None:
    """The README's sweep, aggregated: a measure is plotted by a factor column in one line of
    pandas, with no string parsing, and the numbers plotted are the summary's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = tmp_path / "sweep"
    res = multirun(sweep, "governance=joint_committee,lead_provider", "delegation=fixed", "delegation.share=0.6,0.2",
                   "replicates=2", "years=1", "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert aggregate_main([str(sweep), "--baseline", "governance=joint_committee"]) == 0
    summary = pd.read_csv(sweep / "aggregate" / "summary.csv")

    ax = summary[summary.metric == "hle_sii"].pivot(index="delegation_share", columns="governance", values="median").plot()

    assert [line.get_label() for line in ax.get_lines()] == ["joint_committee", "lead_provider"]
    x = ax.get_lines()[0].get_xdata()
    assert list(x) == [0.2, 0.6]  # numbers, sorted numerically, straight from the column
    expected = summary.query("metric == 'hle_sii' and governance == 'lead_provider'").sort_values("delegation_share")
    assert list(ax.get_lines()[1].get_ydata()) == expected["median"].tolist()
    plt.close("all")
    # settings are sorted by their factors (0.2 before 0.6, though the command line gave 0.6 first)
    assert summary.drop_duplicates("setting")["delegation_share"].tolist() == [0.2, 0.6, 0.2, 0.6]
    assert summary["measure_unit"].notna().all() and (summary.loc[summary.metric == "duplicated_spend_gbp", "measure_unit"]
                                                      == "GBP per year").all()
    ts = pd.read_parquet(sweep / "aggregate" / "timeseries.parquet",
                         columns=["setting", "governance", "delegation_share", "date", "level", "area", "measure_unit"])
    assert ts["delegation_share"].dtype == float and set(ts["delegation_share"]) == {0.2, 0.6}
    assert ts["date"].min() == pd.Timestamp("2025-04-01")
    paired = pd.read_csv(sweep / "aggregate" / "paired.csv")
    # in a two-factor sweep the baseline holds the other factor: lead_provider at 0.2 vs joint_committee at 0.2
    row = paired[(paired.metric == "hle_sii") & (paired.governance == "lead_provider") & (paired.delegation_share == 0.2)]
    assert row["baseline"].tolist() == ["governance=joint_committee,delegation.share=0.2"]


@pytest.mark.slow  # a Hydra multirun end to end (tens of seconds)
@pytest.mark.skipif(importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is None,
                    reason="hydra-submitit-launcher not installed (pip install -e '.[test]')")
def test_multirun_submitit_local_then_aggregate(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    res = multirun(sweep, "hydra/launcher=submitit_local", "governance=joint_committee,lead_provider",
                   "replicates=2", "years=1", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (sweep / ".submitit").is_dir()
    check_two_by_two(sweep, res.stdout)
@pytest.mark.slow  # a Hydra multirun end to end (tens of seconds)
def test_aggregate_after_partial_failure(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    # a bad value refuses the whole sweep before any job runs (issue 12): one line, exit 2, no folder
    res = multirun(sweep, "delegation=fixed", "delegation.share=0.5,1.5", "years=1", "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.splitlines() == ["ConfigError: delegation.share = 1.5 is out of range: allowed 0 to 1 (share of domain budget)"]
    assert not sweep.exists()
    res = multirun(sweep, "delegation=fixed", "delegation.share=0.5,0.9", "years=1", "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    # a job that failed while running (a config error no longer gets that far): its replicates
    # gone and its job.json marked failed, as the app records it
    job1 = next(sweep.glob("1_*"))
    for rep in job1.glob("rep*"):
        shutil.rmtree(rep)
    overrides = json.loads((job1 / "job.json").read_text())["overrides"]
    record_job(job1, overrides, 1, "failed", RuntimeError("the model stopped in month 3"))
    result = aggregate(sweep, quiet=True)
    assert result.runs["setting"].tolist() == ["delegation.share=0.5"]
    failed = pd.read_csv(sweep / "aggregate" / "failed.csv")
    assert failed["setting"].tolist() == ["delegation.share=0.9"]
    assert failed["status"].tolist() == ["failed"]
    assert "the model stopped in month 3" in failed["error"].iloc[0]
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
        aggregate(sweep, baseline=["delegation.share=0.7"], quiet=True, timeseries=False)


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
