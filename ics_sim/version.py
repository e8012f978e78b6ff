"""The package version, at the bottom of the layers so that every layer can stamp its outputs."""

__version__ = "0.1.0"
