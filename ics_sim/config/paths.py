"""Where the package's Hydra configs live."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _config_dir() -> Path:
    """The folder holding config.yaml (packaged as ``ics_sim.configs``, source folder ``configs/``)."""
    try:
        path = Path(str(resources.files("ics_sim.configs")))
        if (path / "config.yaml").exists():
            return path
    except ModuleNotFoundError:  # running from a source tree that is not installed
        pass
    return Path(__file__).resolve().parents[2] / "configs"


#: the package's configs (config groups load only from here)
CONFIG_DIR = _config_dir()
#: folders of ``configs/`` that are not config groups: Hydra's own settings, the leaders' question
#: files (``configs/questions/*.yaml``, read by :mod:`ics_sim.runs.compare`) and the workshop
#: dashboard's teaching scenarios (``configs/workshop/*.yml``: ``.yml`` so that Hydra, which reads
#: ``.yaml``, does not offer them as a group either; read by
#: :mod:`ics_sim.views.dashboard.scenarios`; a scenario is a set of overrides, not a group option)
NOT_GROUPS = frozenset({"hydra", "questions", "workshop", "__pycache__"})
#: the packaged question files of ``python -m ics_sim.compare``
QUESTIONS_DIR = CONFIG_DIR / "questions"
