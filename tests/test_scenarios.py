"""The scenarios object (issue 17): named options on common seeds, paired differences that match
a hand computation exactly, tidy tables, Excel export, figures, and resuming from an out folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ics_sim
from ics_sim.runs.batch import read_results, run_batch
from ics_sim.runs.scenarios import LEVELS
from ics_sim.runs.scenarios import Scenarios as PlainScenarios
from ics_sim.runs.seeds import replicate_seed

OPTIONS = {"Committee": {"governance": "committee"}, "Joint committee": {"governance": "joint_committee", "trust.initial": 0.5}}
SEEDS = 3
YEARS = 1


def first_month(ts: pd.DataFrame, cfg) -> float:
    s = ts[ts["metric"] == "hle_sii"].sort_values("month")
    return float(s["value"].iloc[0])


@pytest.fixture(scope="module")
def sc() -> ics_sim.Scenarios:
    return ics_sim.Scenarios(OPTIONS, baseline="Committee", seeds=SEEDS, years=YEARS,
                             measures={"hle_sii_start": first_month}).run(workers=2)


def test_paired_difference_matches_a_hand_computation_exactly(sc):
    by_hand = {}
    for r in range(SEEDS):
        seed = replicate_seed(0, r)
        a = ics_sim.run({"governance": "joint_committee", "trust.initial": 0.5, "years": YEARS}, seed=seed).summary
        b = ics_sim.run({"governance": "committee", "years": YEARS}, seed=seed).summary
        by_hand[seed] = {m: a[m] - b[m] for m in ("hle_sii", "duplicated_spend_gbp", "trust_mean", "unmet_need")}
    per_seed = sc.paired(by_seed=True)
    for m in ("hle_sii", "duplicated_spend_gbp", "trust_mean", "unmet_need"):
        rows = per_seed[per_seed["metric"] == m].set_index("seed")
        assert sorted(rows.index) == sorted(by_hand)
        for seed, diffs in by_hand.items():
            assert rows.at[seed, "diff"] == diffs[m]  # exactly: the same runs on the same seeds
        summary = sc.paired([m]).iloc[0]
        d = np.array([by_hand[s][m] for s in by_hand])
        assert summary["median_diff"] == np.median(d) and summary["n_pairs"] == SEEDS
    # share of seeds in which the joint committee is better, by each measure's direction
    p = sc.paired(["hle_sii", "trust_mean", "spend_gbp"]).set_index("metric")
    d_sii = np.array([by_hand[s]["hle_sii"] for s in by_hand])
    d_trust = np.array([by_hand[s]["trust_mean"] for s in by_hand])
    assert p.at["hle_sii", "share_better"] == np.mean(d_sii < 0)  # lower is better
    assert p.at["trust_mean", "share_better"] == np.mean(d_trust > 0)  # higher is better
    assert np.isnan(p.at["spend_gbp", "share_better"])  # no better direction
    assert per_seed.loc[per_seed["metric"] == "hle_sii", "better"].tolist() == [bool(x < 0) for x in
                                                                               per_seed.loc[per_seed["metric"] == "hle_sii", "diff"]]


def test_summary_and_tables_are_tidy(sc):
    runs = sc.runs
    assert runs["scenario"].tolist() == ["Committee"] * SEEDS + ["Joint committee"] * SEEDS
    assert runs["seed"].tolist()[:SEEDS] == sc.seeds == runs["seed"].tolist()[SEEDS:]
    assert runs["trust_initial"].tolist() == [0.35] * SEEDS + [0.5] * SEEDS  # typed factor from the resolved config
    s = sc.summary(["hle_sii", "duplicated_spend_gbp"])
    assert s["scenario"].tolist() == ["Committee", "Committee", "Joint committee", "Joint committee"]
    jc = runs.loc[runs["scenario"] == "Joint committee", "hle_sii"]
    row = s[(s["scenario"] == "Joint committee") & (s["metric"] == "hle_sii")].iloc[0]
    assert row["median"] == jc.median() and row["q10"] == jc.quantile(0.1) and row["q90"] == jc.quantile(0.9)
    assert row["measure_unit"] == "years" and row["direction"] == "lower" and row["governance"] == "joint_committee"
    assert s.loc[s["metric"] == "duplicated_spend_gbp", "measure_unit"].eq("GBP per year").all()
    # a derived measure from each run's monthly record
    ts = sc.timeseries
    first = ts[(ts["metric"] == "hle_sii") & (ts["month"] == 0)].set_index(["scenario", "seed"])["value"]
    assert runs.set_index(["scenario", "seed"])["hle_sii_start"].to_dict() == first.to_dict()
    assert set(ts["level"]) == {"system"} and ts["date"].min() == pd.Timestamp("2025-04-01")
    long = sc.to_frame()
    assert len(long) == len(runs) * len(sc.metrics()) and {"measure_unit", "direction", "governance"} <= set(long.columns)
    b = sc.bands(["hle_sii"])
    assert len(b) == 2 * 12 and b["n"].eq(SEEDS).all()


def test_excel_and_figure(sc, tmp_path):
    pytest.importorskip("openpyxl")
    path = sc.to_excel(tmp_path / "scenarios.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    assert set(sheets) == {"summary", "paired", "paired_by_seed", "runs", "bands"}
    assert len(sheets["runs"]) == 2 * SEEDS and sheets["paired"]["baseline"].eq("Committee").all()
    assert not list(tmp_path.glob(".*.tmp"))
    fig = sc.plot("hle_sii", path=tmp_path / "hle_sii.png")
    assert (tmp_path / "hle_sii.png").read_bytes()[:4] == b"\x89PNG"
    left, right = fig.axes[:2]
    assert "lower is better" in fig._suptitle.get_text()
    assert [line.get_label() for line in left.get_lines()] == ["Committee", "Joint committee"]
    assert "(years)" in left.get_ylabel()
    assert right.get_lines()[0].get_label().startswith("Joint committee")
    with pytest.raises(RuntimeError, match="no plotter"):
        PlainScenarios(OPTIONS).plot("hle_sii")  # the runs layer does not draw


def test_run_resumes_from_its_out_folder(tmp_path):
    out = tmp_path / "sc"
    options = {"A": {"governance": "committee"}, "B": {"governance": "lead_provider"}}
    # an interrupted run: 3 of the 4 runs of the kept-record batch done
    run_batch([{"setting_id": n, **o} for n, o in options.items()], 2, out / "timeseries", base_overrides={"years": YEARS},
              keep_timeseries=list(LEVELS), max_runs=3, progress=False)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "timeseries").glob("chunk-*.parquet")}
    sc = ics_sim.Scenarios(options, seeds=2, years=YEARS).run(out_dir=out)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "timeseries").glob("chunk-*.parquet")}
    assert all(after[name] == t for name, t in before.items()) and len(after) == len(before) + 1  # only the missing run
    assert len(read_results(out / "timeseries")) == 4 and len(sc.runs) == 4
    again = ics_sim.Scenarios(options, seeds=2, years=YEARS).run(out_dir=out)
    pd.testing.assert_frame_equal(again.paired(), sc.paired())


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="baseline 'X'"):
        ics_sim.Scenarios(OPTIONS, baseline="X")
    with pytest.raises(ValueError, match="timeseries names"):
        ics_sim.Scenarios(OPTIONS, timeseries=["Nope"])
    with pytest.raises(RuntimeError, match="call .run"):
        ics_sim.Scenarios(OPTIONS).summary()
