"""Regression baseline: fixed-seed summaries must match the stored ones.

A failure here means the model's behaviour changed. If the change is intended, regenerate the
baseline with ``python scripts/update_baseline.py``, review the diff of
``tests/baseline/summaries.json`` and explain it in the commit (mechanism changes also go in
``docs/ODD.md`` section 10).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("update_baseline", ROOT / "scripts" / "update_baseline.py")
baseline = importlib.util.module_from_spec(spec)
spec.loader.exec_module(baseline)


def test_summaries_match_the_stored_baseline():
    stored = json.loads(baseline.BASELINE.read_text())
    assert set(stored) == {name for name, _, _ in baseline.CASES}
    lines = baseline.differences(stored, baseline.compute())
    assert not lines, (
        "behaviour changed against tests/baseline/summaries.json; if intended, run "
        "`python scripts/update_baseline.py` and review the diff:\n" + "\n".join(lines)
    )


def test_the_comparison_catches_a_change():
    stored = {"a": {"hle_sii": 19.0, "unmet_need": 0.2}}
    assert baseline.differences(stored, {"a": {"hle_sii": 19.0, "unmet_need": 0.2}}) == []
    moved = baseline.differences(stored, {"a": {"hle_sii": 19.0 * (1 + 1e-6), "unmet_need": 0.2}})
    assert moved == [f"a.hle_sii: baseline 19, now {19.0 * (1 + 1e-6):.10g}"]
    assert baseline.differences(stored, {}) == ["a: case removed"]


@pytest.mark.parametrize("name", [c[0] for c in baseline.CASES])
def test_baseline_cases_are_valid_configs(name):
    from ics_sim.config import load_config

    overrides = next(o for n, o, _ in baseline.CASES if n == name)
    load_config(overrides)
