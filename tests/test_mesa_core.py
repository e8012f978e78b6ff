"""Mesa's core imported alone (issue 13): ``ics_sim.model.mesa_compat.import_core`` imports
``mesa.agent`` and ``mesa.model`` without Mesa's ``__init__.py``, and whoever imports ``mesa``
afterwards gets the whole package, as from a plain import, with the same classes."""

import subprocess
import sys
import textwrap

import pytest


def _python(code: str, cwd=None) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def test_the_model_imports_only_mesas_core():
    out = _python("""
        import sys
        import ics_sim.model
        print(sorted(m for m in sys.modules if m == "mesa" or m.startswith("mesa.")),
              [m for m in ("scipy", "networkx", "tqdm") if m in sys.modules])
    """)
    assert out == "['mesa.agent', 'mesa.mesa_logging', 'mesa.model'] []"


@pytest.mark.parametrize("first", ["mesa", "mesa.space", "mesa.datacollection", "from mesa import Agent"])
def test_mesa_imported_afterwards_is_the_whole_package_with_the_same_classes(first):
    statement = first if first.startswith("from") else f"import {first}"
    out = _python(f"""
        import inspect, sys
        from ics_sim.model import ICSModel
        from ics_sim.model.mesa_compat import Agent, Model
        stack, getmodule = inspect.stack, inspect.getmodule
        {statement}
        import mesa
        assert mesa.Model is Model and mesa.Agent is Agent and issubclass(ICSModel, mesa.Model)
        assert mesa.agent.Agent is Agent and mesa.model.Model is Model  # submodules as attributes
        assert mesa.__spec__.loader is mesa.__loader__ and type(mesa.__loader__).__name__ == "SourceFileLoader"
        assert mesa.DataCollector and mesa.space and mesa.experimental and mesa.batch_run
        assert not [f for f in sys.meta_path if type(f).__name__ == "_ResumePackage"]
        assert inspect.stack is stack and inspect.getmodule is getmodule  # left as they were
        print(mesa.__version__)
    """)
    assert out


def test_mesa_imported_before_is_used_as_it_is():
    out = _python("""
        import mesa
        from ics_sim.model import ICSModel
        print(issubclass(ICSModel, mesa.Model), mesa.Agent._ids.__class__.__name__)
    """)
    assert out == "True _WeakCounters" or out.startswith("True ")


def test_the_logger_and_its_messages_are_mesas_own():
    """Mesa names its loggers from the importing stack (inspect); read without sources here, they
    come out as after a plain ``import mesa``."""
    code = """
        import logging, sys
        {imports}
        records = []
        class Keep(logging.Handler):
            def emit(self, record):
                records.append((record.name, record.getMessage().split(" with ")[0]))
        logging.getLogger("MESA").addHandler(Keep())
        logging.getLogger("MESA").setLevel(logging.DEBUG)
        Model(seed=1)
        print(sorted(n for n in logging.root.manager.loggerDict if n.startswith("MESA")), records)
    """
    plain = _python(code.format(imports="import mesa; Model = mesa.Model"))
    core = _python(code.format(imports="from ics_sim.model.mesa_compat import Model"))
    assert core == plain
    assert "calling Model.__init__" in core


def _package(root, init: str, model: str) -> None:
    pkg = root / "fakemesa"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(init)
    (pkg / "agent.py").write_text("class Agent:\n    pass\n")
    (pkg / "model.py").write_text(model)
    (pkg / "extra.py").write_text("import sys\nsys.modules['fakemesa'].EXTRA_SEEN = True\n")


def test_a_package_whose_core_needs_its_init_is_imported_whole(tmp_path):
    """The fallback: a ``model`` module that reads its package's ``__init__`` (``from fakemesa
    import ...``) makes the whole package load, as a plain import would."""
    _package(tmp_path, "from fakemesa import extra\nfrom fakemesa.agent import Agent\nWHOLE = True\n",
             "from fakemesa import WHOLE\nfrom fakemesa.agent import Agent\nclass Model:\n    pass\n")
    out = _python("""
        import sys
        from ics_sim.model.mesa_compat import import_core
        import_core("fakemesa", ("fakemesa.agent", "fakemesa.model"))
        import fakemesa
        print(fakemesa.WHOLE, fakemesa.EXTRA_SEEN, fakemesa.model.Model.__module__, sys.modules["fakemesa"] is fakemesa)
    """, cwd=tmp_path)
    assert out == "True True fakemesa.model True"


def test_a_package_core_alone_then_whole(tmp_path):
    _package(tmp_path, "from fakemesa import extra\nfrom fakemesa.agent import Agent\nWHOLE = True\n",
             "from fakemesa.agent import Agent\nclass Model:\n    pass\n")
    out = _python("""
        import sys
        from ics_sim.model.mesa_compat import import_core
        import_core("fakemesa", ("fakemesa.agent", "fakemesa.model"))
        before = "fakemesa" in sys.modules, "fakemesa.extra" in sys.modules
        core = sys.modules["fakemesa.model"].Model
        import fakemesa
        print(before, fakemesa.WHOLE, fakemesa.model.Model is core, fakemesa.Agent is fakemesa.agent.Agent)
    """, cwd=tmp_path)
    assert out == "(False, False) True True True"
