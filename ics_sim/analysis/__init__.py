"""What is learnt from many runs: pattern-oriented validation (``patterns``) and calibration
(``calibration``); later robustness and decomposition.

Imports :mod:`ics_sim.runs`, :mod:`ics_sim.model` and the bottom layer; never views.
"""
