"""Running the model once and many times: the Python API's run functions (``api``), the batch
runner (``batch``), sweep aggregation (``aggregate``), named options on common seeds
(``scenarios``), the factor columns of every table (``factors``), ``evaluate()`` for exploratory
modelling, replicate seeds (``seeds``) and atomic file writing (``io``).

Imports :mod:`ics_sim.model` and the bottom layer (config, metrics); never analysis or views.
"""
