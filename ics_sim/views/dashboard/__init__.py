"""The workshop dashboard: a Solara page over the model, for a facilitator and a room of NHS and
council managers.

Modules: ``scenarios`` (the teaching scenario pack, ``configs/workshop/*.yml``), ``controls``
(the workshop's controls, generated from the schema), ``state`` (one or two settings stepping on
one seed, monitors, export; no Solara), ``figures`` (charts and views), ``components`` and ``app``
(the Solara page). Started by ``python -m ics_sim.dashboard`` (:mod:`ics_sim.dashboard`).
"""
