"""ics_sim: an agent-based simulation of English integrated care systems."""

__version__ = "0.1.0"
