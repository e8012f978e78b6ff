"""Shared test settings.

The command line draws its figure in a helper process when a core is idle
(:func:`ics_sim.views.figure_process.helper_pays`). Tests run on every core, so which path a
command-line test takes would depend on the machine's load at that moment: the suite fixes it to the
in-process figure (``ICS_SIM_FIGURE_HELPER=0``, inherited by the commands the tests start), and the
tests of the helper ask for it explicitly (``tests/test_figure_process.py``,
``tests/test_cli_fast.py``).

The command line saves its config compositions in ``results/.cache/compositions``
(``ICS_SIM_CACHE_DIR``, :func:`ics_sim.__main__._cache_folder`); the suite's commands save theirs in
a temporary folder instead.
"""

from __future__ import annotations

import os
import tempfile

from ics_sim.__main__ import CACHE_ENV
from ics_sim.views.figure_process import HELPER_ENV

os.environ.setdefault(HELPER_ENV, "0")
os.environ.setdefault(CACHE_ENV, tempfile.mkdtemp(prefix="ics_sim-test-compositions-"))
