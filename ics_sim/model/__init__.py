"""The simulation of MODEL.md and nothing else.

:class:`ICSModel` (``ics_model.py``) is the Mesa model: the monthly schedule and the state it owns.
The mechanisms it schedules each live in their own module: geography and real systems
(``geography``, ``systems``), population and health (``population``), observation
(``observation``), organisations as agents (``organisations``), governance (``governance/``),
money (``finance``, ``ledger``, ``running_costs``), commissioning and delivery
(``commissioning``, ``delivery``), shocks (``shocks``), social and economic development
(``development``) and the monthly record (``record``, ``system_metrics``).

Nothing here imports from :mod:`ics_sim.runs`, :mod:`ics_sim.analysis` or :mod:`ics_sim.views`.
"""

from ics_sim.model.ics_model import ICSModel

__all__ = ["ICSModel"]
