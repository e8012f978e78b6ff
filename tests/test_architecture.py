"""The house rules (docs/ARCHITECTURE.md): imports run downward through the layers, and no module
of the package takes part in an import cycle. Read from the source with ``ast``; nothing imported.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ics_sim"

#: each layer, bottom first; a module may import from its own layer and the layers below it
LAYERS = [
    ("bottom", ("ics_sim.version", "ics_sim.domains", "ics_sim.metrics", "ics_sim.grouped", "ics_sim.config", "ics_sim.data")),
    ("model", ("ics_sim.model",)),
    ("runs", ("ics_sim.runs",)),
    ("analysis", ("ics_sim.analysis",)),
    ("views", ("ics_sim.views",)),
    ("entry", ("ics_sim.__main__", "ics_sim.__init__", "ics_sim.batch", "ics_sim.aggregate", "ics_sim.calibration",
               "ics_sim.compare", "ics_sim.dashboard", "ics_sim.workshop")),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts)


def layer_of(module: str) -> int:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS and docs/ARCHITECTURE.md")


def package_imports(path: Path) -> set[str]:
    """Every ``ics_sim`` module a file imports, at module level or inside a function."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "ics_sim"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "ics_sim":
                continue
            for a in node.names:  # `from ics_sim import metrics` imports the module ics_sim.metrics
                sub = f"{node.module}.{a.name}"
                found.add(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists()
                          or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else node.module)
    return found


@functools.cache
def all_modules() -> dict[str, set[str]]:
    """Every module of the package and what it imports (parsed once per test session)."""
    mods = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        if name.endswith(".__init__") and name != "ics_sim.__init__":
            name = name[: -len(".__init__")]
        mods[name] = package_imports(path)
    return mods


def test_every_module_belongs_to_a_layer():
    for name in all_modules():
        layer_of(name)


def test_imports_run_downward():
    upward = []
    for name, imports in all_modules().items():
        for target in imports:
            if target == "ics_sim":  # the package facade is the top entry point
                target = "ics_sim.__init__"
            if layer_of(target) > layer_of(name):
                upward.append(f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})")
    assert not upward, "imports must run downward:\n" + "\n".join(upward)


def test_no_import_cycle():
    modules = all_modules()
    graph = {name: {t if t in modules else t.rsplit(".", 1)[0] for t in imports} for name, imports in modules.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_rules_catch_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from ics_sim.runs.api import run\nimport ics_sim.views.run_figure\nfrom ics_sim import metrics\n")
    assert package_imports(bad) == {"ics_sim.runs.api", "ics_sim.views.run_figure", "ics_sim.metrics"}
    assert layer_of("ics_sim.runs.api") > layer_of("ics_sim.model.ics_model")
    assert layer_of("ics_sim.metrics") < layer_of("ics_sim.model.record")
