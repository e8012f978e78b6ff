"""The command line's saved compositions (issue 13): a composition read back from the cache is the
one Hydra composes, and a change to any config file or to the schema is never answered from it."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from ics_sim.config import CONFIG_DIR, load_config
from ics_sim.config import overrides as ov

CASES = [
    [],
    ["governance=joint_committee", "delegation=fixed", "delegation.share=0.4"],
    ["system=herefordshire_worcestershire", "shocks=[funding_cut,winter_pressure]", "years=3"],
    ["place_settings.Herefordshire.chair=icb", "system=herefordshire_worcestershire"],
    ["allocation=need_weighted_hi", "trust={initial: 0.5, gain: 0.1}", "scenario=my-run_1"],
]


@pytest.fixture
def fresh():
    """No compositions remembered in this process, before and after."""
    ov._compose_groups.cache_clear()
    yield
    ov._compose_groups.cache_clear()


@pytest.mark.parametrize("overrides", CASES, ids=[" ".join(c)[:40] or "default" for c in CASES])
def test_a_saved_composition_is_the_one_hydra_composes(overrides, tmp_path, fresh):
    direct, direct_omega = load_config(overrides)
    for _ in range(2):  # composed and saved, then read back in a "new process"
        ov._compose_groups.cache_clear()
        with ov.composition_cache(tmp_path):
            cached, cached_omega = load_config(overrides)
        assert cached == direct and cached_omega == direct_omega
        # the same value types and flags (struct at the root, open place_settings) as composed
        assert repr(OmegaConf.to_container(cached_omega)) == repr(OmegaConf.to_container(direct_omega))
        assert ov._flags(cached_omega) == ov._flags(direct_omega) != []
    assert list(tmp_path.glob("*.json"))


def test_a_saved_composition_is_plain_json_and_a_pickle_is_never_loaded(tmp_path, fresh):
    """The cache folder sits in the working directory: a file there must not be able to run code."""
    import json
    import pickle

    with ov.composition_cache(tmp_path):
        load_config([])
    (saved,) = tmp_path.glob("*.json")
    assert set(json.loads(saved.read_text())) == {"config", "flags"}
    saved.write_bytes(pickle.dumps(OmegaConf.create({"years": 1})))
    ov._compose_groups.cache_clear()
    with ov.composition_cache(tmp_path):
        assert load_config([])[0].years == 10  # the pickle ignored, composed afresh


def test_a_saved_composition_is_read_instead_of_composing(tmp_path, fresh, monkeypatch):
    with ov.composition_cache(tmp_path):
        load_config(["governance=lead_provider"])
    ov._compose_groups.cache_clear()

    def refuse(*args):
        raise AssertionError("composed again")

    monkeypatch.setattr(ov, "_compose_with_hydra", refuse)
    with ov.composition_cache(tmp_path):
        assert load_config(["governance=lead_provider"])[0].governance.form == "lead_provider"


def test_outside_the_block_nothing_is_saved_or_read(tmp_path, fresh):
    with ov.composition_cache(tmp_path):
        pass
    load_config([])
    assert not list(tmp_path.iterdir())


def test_a_changed_config_file_or_schema_gets_a_new_key(tmp_path, fresh, monkeypatch):
    configs = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, configs)
    monkeypatch.setattr(ov, "config_dir", lambda: configs)
    key = ov._cache_key(("governance=committee",))
    assert ov._cache_key(("governance=committee",)) == key
    assert ov._cache_key(("governance=joint_committee",)) != key
    path = configs / "governance" / "committee.yaml"
    path.write_text(path.read_text() + "\n# a comment is a change too\n")
    ov._configs_digest.cache_clear()  # (a process reads the folder once)
    edited = ov._cache_key(("governance=committee",))
    assert edited != key

    @dataclasses.dataclass
    class Longer(ov.schema.Config):  # the schema with another default
        years: int = 11

    monkeypatch.setattr(ov.schema, "Config", Longer)
    ov._configs_digest.cache_clear()
    assert ov._cache_key(("governance=committee",)) not in (key, edited)
    ov._configs_digest.cache_clear()


def test_a_corrupt_or_unwritable_cache_is_ignored(tmp_path, fresh):
    direct, _ = load_config([])
    ov._compose_groups.cache_clear()
    with ov.composition_cache(tmp_path):
        load_config([])
    (saved,) = tmp_path.glob("*.json")
    saved.write_bytes(b"not json")
    ov._compose_groups.cache_clear()
    with ov.composition_cache(tmp_path):
        assert load_config([])[0] == direct
    assert saved.read_bytes() != b"not json"  # saved again
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("")
    ov._compose_groups.cache_clear()
    with ov.composition_cache(blocked):
        assert load_config([])[0] == direct


def test_the_command_line_saves_where_told_and_nowhere_when_told_so(tmp_path):
    cache = tmp_path / "cache"
    for env, expect in ((str(cache), True), ("", False)):
        proc = subprocess.run([sys.executable, "-m", "ics_sim", "years=1", "--no-plot"], cwd=tmp_path, capture_output=True,
                              text=True, env={**__import__("os").environ, "ICS_SIM_CACHE_DIR": env})
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert (cache.exists() and len(list(cache.glob("*.json"))) == 2) is expect
        shutil.rmtree(cache, ignore_errors=True)


def test_the_cache_keeps_only_the_newest_files(tmp_path, fresh, monkeypatch):
    monkeypatch.setattr(ov, "KEEP_SAVED", 2)
    for overrides in CASES[:3]:  # three compositions saved, one after the other
        ov._compose_groups.cache_clear()
        with ov.composition_cache(tmp_path):
            load_config(overrides)
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_the_command_line_saves_its_compositions_inside_results(monkeypatch):
    """Nothing is written outside the results folder: by default the saved compositions live in
    ``results/.cache/compositions``; ``ICS_SIM_CACHE_DIR`` moves them, empty turns them off."""
    from pathlib import Path

    from ics_sim.__main__ import CACHE_ENV, _cache_folder

    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert _cache_folder() == Path("results") / ".cache" / "compositions"
    monkeypatch.setenv(CACHE_ENV, "")
    assert _cache_folder() is None
    monkeypatch.setenv(CACHE_ENV, "/somewhere/else")
    assert _cache_folder() == Path("/somewhere/else")


CHECK_PLAIN = r"""
import sys
from pathlib import Path
from ics_sim.__main__ import check_command_line
from ics_sim.config import load_config
from ics_sim.config import overrides as ov
with ov.composition_cache(Path(sys.argv[1])):
    checked = check_command_line([])
    load_config(checked)
print("hydra imported" if "hydra" in sys.modules else "no hydra")
"""


def test_a_plain_default_run_with_its_composition_saved_never_imports_hydra(tmp_path):
    """Issue 13: the first plain run composes with Hydra and saves the composition; the next one
    reads it back and checks its (empty) command line without importing Hydra at all."""
    said = [subprocess.run([sys.executable, "-c", CHECK_PLAIN, str(tmp_path)], capture_output=True, text=True, check=True).stdout.strip()
            for _ in range(2)]
    assert said == ["hydra imported", "no hydra"]
