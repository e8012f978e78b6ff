"""ics_sim: an agent-based simulation of English integrated care systems.

Organisations (ICB, councils, NHS providers, PCNs, social care providers, VCSE bodies, Healthwatch)
act as Mesa agents under configurable governance forms and delegation (subsidiarity) rules; the
model shows how those choices affect coordination and health inequalities.

Quick start::

    import ics_sim
    result = ics_sim.run({"governance": "joint_committee"}, seed=1)
    result.summary["hle_sii"], result.timeseries.head()
"""

from pathlib import Path  # noqa: E402

from ics_sim.runs.api import RunResult, run, run_config  # noqa: E402
from ics_sim.runs.evaluate import evaluate  # noqa: E402
from ics_sim.version import __version__

__all__ = ["RunResult", "__version__", "evaluate", "run", "run_config", "write_run"]


def write_run(result: RunResult, root: str | Path = "results/runs", folder: str | Path | None = None, plot: bool = True) -> Path:
    """Write a run's results folder (see :func:`ics_sim.runs.api.write_run`), with the one-page
    figure ``outcomes.png`` unless ``plot`` is False."""
    from ics_sim.runs.api import write_run as _write_run

    figure = None
    if plot:
        from ics_sim.views.run_figure import write_run_figure as figure
    return _write_run(result, root, folder, figure=figure)
