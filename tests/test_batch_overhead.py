"""The batch runner's per-run overhead: each setting's config is composed once, in the parent.

Composing a config through Hydra costs about 0.2 s of CPU, half a 10-year run. Workers used to
compose it themselves from a per-process cache of 64 settings, which in replicate-major order
missed on every run of a design of more than 64 settings (a Morris design has hundreds).
"""

from __future__ import annotations

import pickle

import pandas as pd

import ics_sim.runs.batch as batch


def test_each_setting_is_composed_once_whatever_the_replicates(tmp_path, monkeypatch):
    calls = []
    real = batch.load_config

    def counting(overrides, *args, **kwargs):
        calls.append(dict(overrides))
        return real(overrides, *args, **kwargs)

    monkeypatch.setattr(batch, "load_config", counting)
    batch._CONFIG_CACHE.clear()
    design = [{"governance": g} for g in ("committee", "lead_provider", "joint_committee")]
    df = batch.run_batch(design, 3, tmp_path, workers=1, base_overrides={"years": 1}, progress=False)
    assert len(df) == 9 and (df["status"] == "ok").all()
    assert sorted(c["governance"] for c in calls) == ["committee", "joint_committee", "lead_provider"]


def test_an_invalid_setting_fails_its_runs_with_the_config_error(tmp_path):
    design = [{"setting_id": "good"}, {"setting_id": "bad", "governance": "no_such_form"}]
    df = batch.run_batch(design, 2, tmp_path, workers=1, base_overrides={"years": 1}, progress=False)
    status = df.set_index(["setting_id", "replicate"])["status"].to_dict()
    assert status == {("bad", 0): "failed", ("bad", 1): "failed", ("good", 0): "ok", ("good", 1): "ok"}
    assert df.loc[df["setting_id"] == "bad", "error"].str.contains("no_such_form").all()


def test_a_task_carries_its_config_and_runs_it_as_composed_by_a_worker():
    cfg_blob, err = batch._compose_pickled({"years": 1, "governance": "lead_provider"})
    assert err == "" and pickle.loads(cfg_blob).years == 1
    shipped = batch.RunTask("s", 0, 7, (("years", 1), ("governance", "lead_provider")), config=cfg_blob)
    composed_here = batch.RunTask("s", 0, 7, (("years", 1), ("governance", "lead_provider")))
    a, _ = batch.run_task(shipped)
    b, _ = batch.run_task(composed_here)
    skip = ["elapsed_s", "cpu_s", "worker_pid", "worker_rss_mb"]
    assert a["status"] == "ok"
    pd.testing.assert_series_equal(pd.Series(a).drop(skip), pd.Series(b).drop(skip))
