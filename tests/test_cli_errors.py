"""The command line: each bad example of issue 12 prints one line and exits 2, with the same text
as the API; a sweep is checked whole before any job runs; --help is our own, under 60 lines."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ics_sim.__main__ import check_command_line, main
from ics_sim.config import CONFIG_DIR, ConfigError, load_config
from ics_sim.config import overrides as ov

#: the command-line examples of issue 12 (each gave Hydra's multi-line text, a traceback or ran)
ISSUE_EXAMPLES = [
    ["governnce=joint_committee"],
    ["governance=joint"],
    ["system=herefordshire"],
    ["shocks=funding_cuts"],
    ["seed=abc"],
    ["years=2.5"],
    ["system=icb", "system.icb=E99999999"],
    ["system=icb"],
    ["governance=[1,two,null]"],
    ["governance={form: committee}"],
    ["years=???"],
    ["delegation.share=${nope}"],
    ["need.gbp_per_head.acute=-1000", "years=1"],
    ["delegation.share=0.4", "delegation=subsidiarity"],
    ["health=[]"],
    ["governance={}"],
    ["trust={}"],
    ["delegation=[]"],
    ["shocks=../../elsewhere/file"],
    ["scenario=${oc.env:HOME}"],
    ["scenario=a/b", "years=1"],
]


def _run_main(argv: list[str], capsys) -> tuple[int, list[str], str]:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    out = capsys.readouterr()
    return exit_.value.code, out.err.splitlines(), out.out


@pytest.mark.parametrize("argv", ISSUE_EXAMPLES, ids=[" ".join(a)[:40] for a in ISSUE_EXAMPLES])
def test_each_issue_example_gives_one_line_and_exit_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err, out = _run_main(argv, capsys)
    assert code == 2
    assert len(err) == 1 and out == ""
    with pytest.raises(ConfigError) as api:
        load_config(argv)
    assert err[0] == f"ConfigError: {api.value}"  # the same words from the API and the CLI
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "argv, start",
    [
        (["--config-dir", "/tmp"], "ConfigError: --config-dir: configs load only from the package"),
        (["-cp", "elsewhere"], "ConfigError: --config-path: configs load only from the package"),
        (["--experimental-rerun", "x.pickle"], "ConfigError: --experimental-rerun: configs load only"),
        (["--frobnicate"], "ConfigError: command line: unrecognized arguments: --frobnicate"),
        (["hydra.run.dir=/tmp/out"], "ConfigError: hydra.run.dir cannot be changed here"),
        (["hydra.searchpath=[file:///tmp]"], "ConfigError: hydra.searchpath cannot be changed here"),
        (["hydra/job_logging=default"], "ConfigError: hydra/job_logging cannot be changed here"),
        (["hydra.sweep.dir=results/../../x"], "ConfigError: hydra.sweep.dir = 'results/../../x': give a folder path whose names use letters"),
        (["hydra.sweep.dir=/tmp/a b"], "ConfigError: hydra.sweep.dir = '/tmp/a b': give a folder path"),
        (["hydra/launcher=nope"], "ConfigError: hydra/launcher=nope is not an option: choose one of basic, joblib"),
        (["hydra.launcher.n_jobz=2"], "ConfigError: unknown key hydra.launcher.n_jobz (did you mean hydra.launcher.n_jobs?)"),
        (["governance=a,b"], "ConfigError: governance: 'governance=a,b' is a sweep of several values"),
    ],
)
def test_command_line_only_errors_are_one_line_too(argv, start, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err, _ = _run_main(argv, capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith(start), err[0]


def test_hydra_gets_the_checked_overrides():
    assert check_command_line(["delegation.share=0.4", "+seed=3"]) == ["delegation.share=0.4", "seed=3", "delegation=fixed"]
    assert check_command_line(["-m", "governance=committee,lead_provider", "years=1"]) == ["-m", "governance=committee,lead_provider", "years=1"]
    assert check_command_line(["--cfg", "job", "hydra.launcher.n_jobs=2"]) == ["--cfg", "job", "hydra.launcher.n_jobs=2"]
    assert check_command_line(["--help", "years=1"]) == ["--help"]


def test_a_sweep_is_checked_whole_with_one_line_per_bad_value(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["-m", "years=1,2", "delegation.share=0.4,1.5", "scenario=ok,a/b", "governance=committee,joint", "hydra/launcher=basic"]
    code, err, _ = _run_main(argv, capsys)
    assert code == 2
    assert err == [
        "ConfigError: governance=joint is not an option: choose one of committee, consultative_forum, individual_executive, joint_committee, lead_provider",
        "ConfigError: scenario = 'a/b' is not a safe label: use A-Z a-z 0-9 . _ - + = , (at most 120 characters, no leading dot, no '..')",
        "ConfigError: delegation.share = 1.5 is out of range: allowed 0 to 1 (share of domain budget)",
    ]
    assert not (tmp_path / "results").exists()


def test_a_sweep_cannot_name_a_folder_outside_the_results_root(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err, _ = _run_main(["-m", "scenario=../../../../../escaped", "years=1", "hydra/launcher=basic"], capsys)
    assert code == 2 and err[0].startswith("ConfigError: scenario = '../../../../../escaped' is not a safe label")
    assert list(tmp_path.iterdir()) == []


def test_sweep_job_folders_are_safe_labels():
    data = yaml.safe_load((CONFIG_DIR / "config.yaml").read_text())
    assert data["hydra"]["sweep"]["subdir"] == "${hydra.job.num}_${safe_label:${hydra.job.override_dirname}}"


# ---------------------------------------------------------------------------------- subprocesses
def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ics_sim", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_real_command_line_prints_one_line_and_exits_2(tmp_path):
    proc = _cli(["governnce=joint_committee"], tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "ConfigError: unknown key governnce (did you mean governance?): allowed keys here are allocation, chair, costs, "
        "decision, decision_rule, delegation, finance, governance, health, icp, interests, membership, need, "
        "observation, place_settings, providers, replicates, scenario, sed, seed, shocks, start_year, system, trust, years"
    ]


def test_the_real_command_line_refuses_a_bad_sweep_before_any_job(tmp_path):
    proc = _cli(["-m", "scenario=../../../../../escaped,ok", "delegation.share=2,0.5", "years=1", "hydra/launcher=basic"], tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 2
    assert list(tmp_path.iterdir()) == []


def test_help_is_our_own_and_short(tmp_path):
    proc = _cli(["--help"], tmp_path)
    assert proc.returncode == 0
    lines = proc.stdout.rstrip("\n").splitlines()
    assert len(lines) < 60
    assert lines[0].startswith("ics_sim: agent-based simulation")
    for group, options in ov.group_options().items():
        assert f"{group}: {', '.join(options)}" in lines
    assert "Powered by Hydra" not in proc.stdout and "== Config ==" not in proc.stdout


# ---------------------------------------------------------------------------------- help template
KEY_LINE = re.compile(r"^  (?P<key>[a-z_.]+)=(?P<default>\S+)\s+(?P<text>.+)$")


def _help_key_lines() -> list[re.Match]:
    template = yaml.safe_load((CONFIG_DIR / "hydra" / "help" / "ics_sim.yaml").read_text())["template"]
    return [m for line in template.splitlines() if (m := KEY_LINE.match(line))]


def test_help_keys_match_the_schema():
    """Each key line of the help says the key's true default, unit and range (or choices)."""
    from ics_sim.config.validate import _fmt_range

    lines = _help_key_lines()
    assert len(lines) >= 15
    cfg, _ = load_config({})
    for m in lines:
        key, default, text = m["key"], m["default"], m["text"]
        target = ov.resolve_key(key)
        meta = target.meta
        if not default.startswith("<"):
            value = cfg
            for part in key.split("."):
                value = getattr(value, part)
            shown = yaml.safe_load(default)
            assert shown == value, f"{key}: help says {default}, default is {value!r}"
        if meta.get("choices"):
            assert text.startswith(" | ".join(meta["choices"])), key
        elif meta.get("range") and meta["range"][0] is not None and target.tp is not bool:
            unit = meta["unit"]
            expected = _fmt_range(meta).removeprefix("allowed ").replace(f" ({unit})", "")
            assert text.startswith(f"{unit}, {expected}"), f"{key}: {text!r} should start with {unit}, {expected}"
