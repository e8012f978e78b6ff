"""The workshop scenario pack: every scenario loads, both its settings are valid, its Info has
NetLogo's headings and facilitator notes exist; and each THINGS TO NOTICE claim holds over paired
seeds (setting B against setting A on the same seed; slow: about ten seconds a scenario)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ics_sim.config import load_config
from ics_sim.model.ics_model import ICSModel
from ics_sim.views.dashboard.scenarios import INFO_KEYS, Scenario, load_scenarios

DOCS = Path(__file__).resolve().parents[1] / "docs" / "workshop"
SCENARIOS = load_scenarios()


def test_the_pack_has_at_least_six_scenarios_with_notes():
    assert len(SCENARIOS) >= 6
    index = (DOCS / "README.md").read_text()
    for name, s in SCENARIOS.items():
        notes = (DOCS / f"{name}.md").read_text()
        for heading in ("Learning goal", "Running order", "Questions to ask", "What should appear", "If it does not appear"):
            assert f"## {heading}" in notes, f"{name}.md lacks '## {heading}'"
        assert f"{name}.md" in index, f"docs/workshop/README.md does not list {name}"
        assert all(s.info[k] for k in INFO_KEYS)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_both_settings_are_valid(name):
    s = SCENARIOS[name]
    for settings in (s.settings, s.settings_b):
        cfg, _ = load_config({**settings, "years": s.years, "seed": s.seed})
        assert cfg.years == s.years
    assert s.compare and s.settings != s.settings_b


def claim_values(s: Scenario, seed: int) -> tuple[float, float]:
    """The claim's measure under A and B on one seed."""
    out = []
    for settings in (s.settings, s.settings_b):
        cfg, _ = load_config({**settings, "years": s.years, "seed": seed})
        model = ICSModel(cfg)
        for _ in range(s.claim.month):
            model.step()
        series = model.recorder.series(s.claim.metric, "national" if model.layout.n_systems > 1 else "system")
        out.append(float(series[-1]) if s.claim.reduce == "last" else float(np.nanmean(series[-12:])))
    return out[0], out[1]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_things_to_notice_holds_over_paired_seeds(name):
    s = SCENARIOS[name]
    c = s.claim
    diffs = np.array([b - a for a, b in (claim_values(s, seed) for seed in range(c.seeds))])
    sign = 1 if c.direction == "higher" else -1
    holds = int((sign * diffs > 0).sum())
    assert sign * diffs.mean() > 0, f"{name}: {c.metric} is not {c.direction} under B on average ({diffs.mean():+.4g})"
    assert holds >= c.holds_in, f"{name}: {c.metric} {c.direction} under B on {holds} of {c.seeds} seeds (claimed {c.holds_in})"
