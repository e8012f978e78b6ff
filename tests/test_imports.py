"""Import cost: ``import ics_sim`` loads none of the heavy libraries (issue 13)."""

import subprocess
import sys

import pytest

HEAVY = ("matplotlib", "pyarrow", "pandas", "mesa", "mesa.model", "hydra", "scipy", "sklearn", "SALib")


def _loaded_after(statement: str) -> set[str]:
    code = (f"import sys; {statement}; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_ics_sim_loads_no_heavy_library():
    assert _loaded_after("import ics_sim") == set()


@pytest.mark.parametrize("name", ["run", "run_config", "evaluate", "RunResult", "Scenarios"])
def test_public_names_load_on_first_use(name):
    import ics_sim

    assert name in dir(ics_sim)
    assert getattr(ics_sim, name) is getattr(ics_sim, name)


def test_unknown_attribute_is_an_attribute_error():
    import ics_sim

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ics_sim.nope  # noqa: B018


def test_run_does_not_import_matplotlib():
    """A run without a figure never draws: matplotlib stays out of batch workers."""
    loaded = _loaded_after("import ics_sim; ics_sim.run({'years': 1}, seed=0)")
    assert "matplotlib" not in loaded and "mesa.model" in loaded  # Mesa's core only (mesa_compat.import_core)
