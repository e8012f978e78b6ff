"""The dashboard without a browser: the session state the page drives, the controls generated
from the schema, the entry point's options."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("solara", reason="the dashboard extra is not installed: pip install -e '.[test]'")

from ics_sim.config import ConfigError  # noqa: E402
from ics_sim.config.overrides import group_options  # noqa: E402
from ics_sim.views.dashboard import controls as ctl  # noqa: E402
from ics_sim.views.dashboard.state import MONITORS, Arm, Session, direction_words  # noqa: E402


def test_a_session_steps_two_settings_on_one_seed_and_matches_a_whole_run():
    s = Session("t", {"membership.vcse": False}, {}, seed=3, years=2)
    s.step(12)
    s.step(12)
    assert s.month == 24 and s.done
    whole = Arm({"membership.vcse": False}, 3, 2)
    whole.model.run()
    np.testing.assert_array_equal(s.arms[0].series("hle_sii"), whole.series("hle_sii"))
    assert s.arms[0].value("unmet_need_hidden") > s.arms[1].value("unmet_need_hidden")
    diff = {d["metric"]: d for d in s.differences()}
    assert diff["unmet_need_hidden"]["verdict"] == "B better"
    assert [m["metric"] for m in s.arms[0].monitors()] == [m.metric for m in MONITORS]


def test_a_bad_setting_is_one_line_and_changes_nothing():
    s = Session("t", {"delegation": "central"}, None, seed=1, years=1)
    s.step(3)
    with pytest.raises(ConfigError, match="delegation.share has no effect with delegation=central"):
        s.change(0, {"delegation": "central", "delegation.share": 0.3})
    assert s.settings[0] == {"delegation": "central"} and s.month == 3


def test_export_holds_every_run_of_the_session():
    s = Session("t", {}, {"governance": "joint_committee"}, seed=1, years=1)
    s.step(2)
    s.reset(seed=2)
    s.step(1)
    table = pd.read_csv(io.StringIO(s.export_csv()))
    runs = table.groupby("session_run")["month"].max().to_dict()
    assert runs == {"t-run1-A": 1, "t-run1-B": 1, "t-run2-A": 0, "t-run2-B": 0}
    assert set(table["seed"]) == {1, 2} and set(table["level"]) == {"system"}


def test_direction_words_follow_the_data_dictionary():
    assert direction_words("trust_mean", 0.5, 0.4) == "rising - better"
    assert direction_words("hle_gap_q1_q5", 15.0, 16.0) == "falling - better"
    assert direction_words("unfunded_need", 2.0, 1.0) == "rising - worse"
    assert direction_words("trust_mean", 0.4, 0.4) == "steady"


def test_controls_come_from_the_schema():
    by_key = {c.key: c for c in ctl.workshop_controls()}
    assert by_key["governance"].choices == group_options()["governance"]
    assert by_key["delegation.share"].kind == "slider" and (by_key["delegation.share"].low, by_key["delegation.share"].high) == (0, 1)
    assert by_key["delegation.share"].unit == "share of domain budget"
    assert by_key["membership.vcse"].kind == "switch"
    assert all(c.tip for c in by_key.values()), [c.key for c in by_key.values() if not c.tip]
    assert set(by_key["shocks"].choices) == {"winter_pressure", "funding_cut", "workforce_loss"}
    # a new delegation rule drops the share it would not read, so the command line's no-op check passes
    assert ctl.apply({"delegation": "fixed", "delegation.share": 0.4}, by_key["delegation"], "central") == {"delegation": "central"}
    assert ctl.apply({}, by_key["shocks"], []) == {"shocks": "none"}


def test_per_place_controls_follow_the_schema():
    keys = [c.key for c in ctl.place_controls("Northbridge")]
    assert "place_settings.northbridge.governance.form" in keys


def test_entry_point_binds_loopback_and_warns_when_shared(monkeypatch, capsys):
    from ics_sim import dashboard

    calls = []
    monkeypatch.setattr("solara.__main__.cli", lambda args, prog_name: calls.append(args))
    dashboard.main([])
    assert calls[-1][calls[-1].index("--host") + 1] == "127.0.0.1"
    assert calls[-1][calls[-1].index("--port") + 1] == "8765"
    assert "WARNING" not in capsys.readouterr().err
    dashboard.main(["--host", "0.0.0.0", "--port", "9000"])
    assert "WARNING: serving on 0.0.0.0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        dashboard.main(["--port", "70000"])


def test_a_place_control_sets_that_place_only_and_shows_its_own_value():
    form = next(c for c in ctl.place_controls("Herefordshire, County of") if c.schema_key == "governance.form")
    settings = ctl.apply({"system": "herefordshire_worcestershire"}, form, "joint_committee")
    s = Session("t", settings, None, seed=1, years=1)
    arm = s.arms[0]
    forms = {arm.model.layout.place_names[p.place]: p.form for p in arm.model.partnerships}
    assert forms == {"Herefordshire, County of": "joint_committee", "Worcestershire": "committee"}
    assert ctl.current_value(arm.cfg, form) == "joint_committee"
    other = next(c for c in ctl.place_controls("Worcestershire") if c.schema_key == "governance.form")
    assert ctl.current_value(arm.cfg, other) == "committee"
