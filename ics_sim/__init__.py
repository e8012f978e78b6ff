"""ics_sim: an agent-based simulation of English integrated care systems.

Organisations (ICB, councils, NHS providers, PCNs, social care providers, VCSE bodies, Healthwatch)
act as Mesa agents under configurable governance forms and delegation (subsidiarity) rules; the
model shows how those choices affect coordination and health inequalities.

Quick start::

    import ics_sim
    result = ics_sim.run({"governance": "joint_committee"}, seed=1)
    result.summary["hle_sii"], result.timeseries.head()
"""

__version__ = "0.1.0"

from ics_sim.api import RunResult, run, run_config, write_run  # noqa: E402
from ics_sim.evaluate import evaluate  # noqa: E402

__all__ = ["RunResult", "__version__", "evaluate", "run", "run_config", "write_run"]
