"""Packaged reference tables (CSV) derived from public data; see ATTRIBUTION.md."""
