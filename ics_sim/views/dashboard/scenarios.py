"""The workshop's teaching scenarios: ``configs/workshop/*.yml`` (packaged as ``ics_sim.configs``).

Each scenario file holds a title, setting A (``settings``: overrides exactly as on the command
line, including the system), what setting B changes for the side-by-side comparison
(``compare``), the horizon and seed, the Info text under NetLogo's headings, and its THINGS TO
NOTICE claim in a form a test can check over seeds (``claim``: a system-level measure, when to
read it, and which way B differs from A). ``tests/test_workshop_scenarios.py`` runs every claim
over paired seeds, so the teaching text cannot drift from what the model does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ics_sim.config import ConfigError
from ics_sim.config.paths import CONFIG_DIR
from ics_sim.model.record import METRICS

#: the Info panel's headings, in NetLogo's order (the YAML keys are these in snake case)
INFO_HEADINGS = ("WHAT IS IT?", "HOW IT WORKS", "HOW TO USE IT", "THINGS TO NOTICE", "THINGS TO TRY", "EXTENDING THE MODEL")
INFO_KEYS = tuple(h.rstrip("?").lower().replace(" ", "_") for h in INFO_HEADINGS)

#: how a claim reads its measure: the value at the month, or the mean of the 12 months before it
REDUCTIONS = ("last", "mean12")


def workshop_dir() -> Path:
    """The folder of the scenario pack."""
    return CONFIG_DIR / "workshop"


@dataclass(frozen=True)
class Claim:
    """A THINGS TO NOTICE claim: at ``month``, ``metric`` (system level) is ``direction``
    (``higher`` or ``lower``) under setting B than under setting A on the same seed, in at least
    ``holds_in`` of ``seeds`` paired seeds (seeds 0 to ``seeds`` - 1)."""

    metric: str
    direction: str
    month: int
    reduce: str = "last"
    seeds: int = 12
    holds_in: int = 10


@dataclass(frozen=True)
class Scenario:
    """One teaching scenario.

    Attributes:
        name: the file's stem, e.g. ``who_is_at_the_table``.
        title: a plain title.
        settings: setting A, as overrides (``{"system": "synthetic", "governance": "committee"}``).
        compare: what setting B changes on top of A.
        label_a, label_b: short names of the two settings for the page and the export.
        years: the horizon (a workshop runs a few years).
        seed: the seed the page starts on.
        info: the Info text by :data:`INFO_KEYS`.
        claim: the THINGS TO NOTICE claim a test checks.
    """

    name: str
    title: str
    settings: dict[str, Any]
    compare: dict[str, Any]
    label_a: str
    label_b: str
    years: int
    seed: int
    info: dict[str, str]
    claim: Claim
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def settings_b(self) -> dict[str, Any]:
        return {**self.settings, **self.compare}


def _read(path: Path) -> Scenario:
    data = yaml.safe_load(path.read_text())
    where = f"workshop scenario {path.name}"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of title, settings, compare, info, claim")
    missing = [k for k in ("title", "settings", "compare", "info", "claim") if k not in data]
    if missing:
        raise ConfigError(f"{where}: missing {', '.join(missing)}")
    info = data["info"]
    absent = [k for k in INFO_KEYS if not str(info.get(k, "")).strip()]
    if absent:
        raise ConfigError(f"{where}: info needs every NetLogo heading; missing {', '.join(absent)}")
    c = dict(data["claim"])
    if c.get("metric") not in METRICS:
        raise ConfigError(f"{where}: claim.metric = {c.get('metric')!r} is not a recorded measure (see docs/OUTPUTS.md)")
    if c.get("direction") not in ("higher", "lower"):
        raise ConfigError(f"{where}: claim.direction must be higher or lower (B against A)")
    if c.get("reduce", "last") not in REDUCTIONS:
        raise ConfigError(f"{where}: claim.reduce must be one of {', '.join(REDUCTIONS)}")
    years = int(data.get("years", 5))
    claim = Claim(**c)
    if not 1 <= claim.month <= years * 12:
        raise ConfigError(f"{where}: claim.month = {claim.month} must lie in 1 to {years * 12} (the horizon)")
    return Scenario(
        name=path.stem,
        title=str(data["title"]),
        settings=dict(data["settings"]),
        compare=dict(data["compare"]),
        label_a=str(data.get("label_a", "A")),
        label_b=str(data.get("label_b", "B")),
        years=years,
        seed=int(data.get("seed", 1)),
        info={k: str(info[k]).strip() for k in INFO_KEYS},
        claim=claim,
        notes=str(data.get("notes", "")),
    )


@functools.cache
def load_scenarios() -> dict[str, Scenario]:
    """Every scenario of the pack, by name, in the pack's order (file names sort as the running
    order: ``01_...``)."""
    return {s.name: s for s in (_read(p) for p in sorted(workshop_dir().glob("*.yml")))}
