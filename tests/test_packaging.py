"""Packaging: every package is installed, every extra the README asks for exists, every console
script points at a real entry point (a missing line here breaks a user's first command)."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_of_the_source_tree_is_installed():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "ics_sim").rglob("__init__.py")}
    assert found <= listed, f"not in [tool.setuptools] packages: {sorted(found - listed)}"


def test_every_extra_the_readme_installs_exists():
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    asked = set()
    for text in re.findall(r"pip install -e '\.\[([a-z,\-]+)\]'", (ROOT / "README.md").read_text()):
        asked |= set(text.split(","))
    assert asked and asked <= extras, f"extras the README installs but pyproject lacks: {sorted(asked - extras)}"


def test_every_console_script_points_at_a_main():
    scripts = PYPROJECT["project"]["scripts"]
    assert {"ics-sim", "ics-sim-compare", "ics-sim-dashboard", "ics-sim-workshop"} <= set(scripts)
    for name, target in scripts.items():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), name
