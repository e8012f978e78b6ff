"""ics_sim: an agent-based simulation of English integrated care systems.

Organisations (ICB, councils, NHS providers, PCNs, social care providers, VCSE bodies, Healthwatch)
act as Mesa agents under configurable governance forms and delegation (subsidiarity) rules; the
model shows how those choices affect coordination and health inequalities.

Quick start::

    import ics_sim
    result = ics_sim.run({"governance": "joint_committee"}, seed=1)
    result.summary["hle_sii"], result.timeseries.head()

    sc = ics_sim.Scenarios({"Committee": {"governance": "committee"},
                            "Joint committee": {"governance": "joint_committee"}}, seeds=30).run(workers=2)
    sc.summary(); sc.paired(); sc.plot("hle_sii")

``import ics_sim`` is cheap: the public names are loaded on first use (PEP 562), so a script or a
worker that only needs :mod:`ics_sim.metrics` or :mod:`ics_sim.config` does not pay for Mesa,
pandas, pyarrow or matplotlib.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ics_sim.version import __version__

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from ics_sim.runs.api import RunResult, run, run_config
    from ics_sim.runs.evaluate import evaluate

__all__ = ["RunResult", "Scenarios", "__version__", "evaluate", "run", "run_config", "write_run"]

#: Public name -> the module that defines it, imported when the name is first used.
_LAZY = {
    "RunResult": "ics_sim.runs.api",
    "run": "ics_sim.runs.api",
    "run_config": "ics_sim.runs.api",
    "evaluate": "ics_sim.runs.evaluate",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
    elif name == "Scenarios":
        value = _scenarios_class()
    else:
        raise AttributeError(f"module 'ics_sim' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _plot_scenarios(*args, **kwargs):
    """The views layer's scenarios figure, imported when first drawn."""
    from ics_sim.views.comparison_figure import plot_scenarios

    return plot_scenarios(*args, **kwargs)


def _scenarios_class() -> type:
    """:class:`ics_sim.runs.scenarios.Scenarios` with the views layer's figure as its plotter."""
    from ics_sim.runs.scenarios import Scenarios as _Scenarios

    class Scenarios(_Scenarios):
        __doc__ = _Scenarios.__doc__
        plotter = staticmethod(_plot_scenarios)

    Scenarios.__module__ = __name__
    Scenarios.__qualname__ = "Scenarios"
    return Scenarios


def write_run(result: RunResult, root: str | Path = "results/runs", folder: str | Path | None = None, plot: bool = True) -> Path:
    """Write a run's results folder (see :func:`ics_sim.runs.api.write_run`), with the one-page
    figure ``outcomes.png`` unless ``plot`` is False."""
    from ics_sim.runs.api import write_run as _write_run

    figure = None
    if plot:
        from ics_sim.views.run_figure import write_run_figure as figure
    return _write_run(result, root, folder, figure=figure)
