"""docs/ODD.md stays true to the code: generated tables current, every parameter documented,
every cited module and function real, every ODD 2020 element present."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ODD = REPO / "docs" / "ODD.md"
SCRIPT = REPO / "scripts" / "odd_tables.py"

sys.path.insert(0, str(REPO / "scripts"))
import odd_tables  # noqa: E402

#: ODD 2020 elements (Grimm et al. 2020) that must be headings
ELEMENTS = (
    "Purpose and patterns",
    "Entities, state variables and scales",
    "Process overview and scheduling",
    "Design concepts",
    "Initialisation",
    "Input data",
    "Submodels",
)
DESIGN_CONCEPTS = (
    "Basic principles",
    "Emergence",
    "Adaptation",
    "Objectives",
    "Learning",
    "Prediction",
    "Sensing",
    "Interaction",
    "Stochasticity",
    "Collectives",
    "Observation",
)

#: ``path.py`` or ``path.py::Name`` or ``path.py::Class.method`` under the project's folders
REFERENCE = re.compile(r"\b((?:ics_sim|tests|scripts)/[\w/]+\.py)(?:::([\w.]+))?")


@cache
def text() -> str:
    return ODD.read_text(encoding="utf-8")


def headings() -> list[str]:
    return [line.lstrip("#").strip() for line in text().splitlines() if line.startswith("#")]


# --------------------------------------------------------------------------------------------
# 1. generated tables are current
# --------------------------------------------------------------------------------------------
def test_generated_tables_are_up_to_date():
    assert odd_tables.check(ODD), "docs/ODD.md is out of date: run python scripts/odd_tables.py"


def test_check_command_exits_zero():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr


def test_check_command_fails_on_a_stale_table(tmp_path):
    stale = text().replace("<!-- /params:need -->", "| stale row |\n<!-- /params:need -->", 1)
    path = tmp_path / "ODD.md"
    path.write_text(stale, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--odd", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert not odd_tables.check(path)


def test_every_schema_section_has_one_parameter_block():
    for section in odd_tables.sections():
        assert text().count(f"<!-- params:{section} -->") == 1, section


# --------------------------------------------------------------------------------------------
# 2. every config field is documented
# --------------------------------------------------------------------------------------------
def test_every_config_key_appears_in_the_odd():
    keys = odd_tables.config_keys()
    assert len(keys) > 100  # the walk found the whole schema
    missing = [k for k in keys if f"`{k}`" not in text()]
    assert not missing, f"config keys missing from docs/ODD.md: {missing}"


def test_every_summary_measure_is_defined():
    from ics_sim.model.record import EXTRA_SUMMARY, SUMMARY_KEYS

    missing = [k for k in {**SUMMARY_KEYS, **EXTRA_SUMMARY} if f"`{k}`" not in text()]
    assert not missing, missing


def test_every_recorded_metric_is_defined():
    import ics_sim
    from ics_sim.domains import DOMAINS

    model = ics_sim.run({"years": 1, "sed.enabled": True}, seed=0).model
    metrics = {metric for _, metric in model.recorder.data}
    domain_metrics = {f"unmet_need_{d}" for d in DOMAINS}
    assert domain_metrics <= metrics
    assert "`unmet_need_<domain>`" in text()
    missing = sorted(m for m in metrics - domain_metrics if f"`{m}`" not in text())
    assert not missing, f"recorded metrics not defined in docs/ODD.md section 7.20: {missing}"


# --------------------------------------------------------------------------------------------
# 3. cited modules and functions exist
# --------------------------------------------------------------------------------------------
def _defined_names(body: list[ast.stmt]) -> dict[str, ast.AST]:
    names: dict[str, ast.AST] = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
    return names


def _resolves(path: Path, dotted: str) -> bool:
    """Whether ``dotted`` (``name`` or ``Class.member``) is defined in the module at ``path``."""
    scope = _defined_names(ast.parse(path.read_text(encoding="utf-8")).body)
    parts = dotted.split(".")
    node: ast.AST | None = None
    for i, part in enumerate(parts):
        node = scope.get(part)
        if node is None:
            break
        if i < len(parts) - 1:
            if not isinstance(node, ast.ClassDef):
                node = None
                break
            scope = _defined_names(node.body)
    if node is not None:
        return True
    # inherited members and the like: ask the imported module
    if path.relative_to(REPO).parts[0] != "ics_sim":
        return False
    module = importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))
    obj = module
    for part in parts:
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def references() -> list[tuple[str, str | None]]:
    return sorted(set(REFERENCE.findall(text())), key=lambda r: (r[0], r[1] or ""))


def test_the_odd_cites_the_code():
    refs = references()
    assert len(refs) > 50
    assert ("ics_sim/model/governance/decisions.py", "decide") in refs


@pytest.mark.parametrize("path, name", references(), ids=lambda v: v or "")
def test_cited_module_and_name_exist(path, name):
    file = REPO / path
    assert file.is_file(), f"docs/ODD.md cites {path}, which does not exist"
    if name:
        assert _resolves(file, name), (
            f"docs/ODD.md cites {path}::{name}, which is not defined there"
        )


# --------------------------------------------------------------------------------------------
# 4. ODD 2020 structure
# --------------------------------------------------------------------------------------------
def test_odd_2020_elements_are_headings_in_order():
    hs = headings()
    positions = []
    for element in ELEMENTS:
        found = [i for i, h in enumerate(hs) if element.lower() in h.lower()]
        assert found, f"missing ODD element heading: {element}"
        positions.append(found[0])
    assert positions == sorted(positions), "ODD elements are out of order"


def test_all_eleven_design_concepts_are_headings():
    hs = [h.lower() for h in headings()]
    for concept in DESIGN_CONCEPTS:
        assert any(concept.lower() in h for h in hs), f"missing design concept heading: {concept}"


def test_required_extra_sections_exist():
    hs = [h.lower() for h in headings()]
    assert any("calibration and validation status" in h for h in hs)
    assert any("changes to mechanisms" in h for h in hs)
    log = text().split("Changes to mechanisms", 1)[1]
    assert "| date | mechanism | change | why |" in log


def test_the_odd_says_no_published_model_exists():
    assert "No published agent-based model of English ICS governance exists" in text()
