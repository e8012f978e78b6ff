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
"""

from pathlib import Path  # noqa: E402

from ics_sim.runs.api import RunResult, run, run_config  # noqa: E402
from ics_sim.runs.evaluate import evaluate  # noqa: E402
from ics_sim.runs.scenarios import Scenarios as _Scenarios
from ics_sim.version import __version__

__all__ = ["RunResult", "Scenarios", "__version__", "evaluate", "run", "run_config", "write_run"]


def _plot_scenarios(*args, **kwargs):
    """The views layer's scenarios figure, imported when first drawn."""
    from ics_sim.views.comparison_figure import plot_scenarios

    return plot_scenarios(*args, **kwargs)


class Scenarios(_Scenarios):
    __doc__ = _Scenarios.__doc__
    plotter = staticmethod(_plot_scenarios)


def write_run(result: RunResult, root: str | Path = "results/runs", folder: str | Path | None = None, plot: bool = True) -> Path:
    """Write a run's results folder (see :func:`ics_sim.runs.api.write_run`), with the one-page
    figure ``outcomes.png`` unless ``plot`` is False."""
    from ics_sim.runs.api import write_run as _write_run

    figure = None
    if plot:
        from ics_sim.views.run_figure import write_run_figure as figure
    return _write_run(result, root, folder, figure=figure)
