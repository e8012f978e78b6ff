"""Participatory workshop mode (issue 16): the session engine and its pages."""
