"""Configuration: schema, validation, and composition of the Hydra config groups in ``configs/``.

``load_config({"governance": "joint_committee", "delegation.share": 0.2})`` composes exactly what
``python -m ics_sim governance=joint_committee delegation.share=0.2`` would, without the Hydra app,
and validates it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ics_sim.config.hydra_store import register_with_hydra
from ics_sim.config.labels import is_safe_label, safe_label
from ics_sim.config.paths import CONFIG_DIR
from ics_sim.config.schema import Config
from ics_sim.config.validate import ConfigError, validate

__all__ = [
    "CONFIG_DIR",
    "Config",
    "ConfigError",
    "config_hash",
    "from_omegaconf",
    "is_safe_label",
    "load_config",
    "register_with_hydra",
    "safe_label",
    "scenario_label",
    "to_dict",
    "to_overrides",
    "validate",
]


# configs/config.yaml names each sweep job's folder with ${safe_label:${hydra.job.override_dirname}}:
# the overrides as a safe folder name (no '/', '..', leading dot or control characters; cut to
# length), so no value can place a job's folder outside the sweep folder. Users cannot call
# resolvers (ics_sim.config.overrides refuses ${...} in values); the package's configs can.
OmegaConf.register_new_resolver("safe_label", safe_label, replace=True)


def to_overrides(overrides: dict[str, Any] | list[str] | None) -> list[str]:
    """Turn ``{"delegation.share": 0.2}`` into Hydra overrides ``["delegation.share=0.2"]``."""
    if overrides is None:
        return []
    if isinstance(overrides, (list, tuple)):
        return [str(o) for o in overrides]
    return [f"{k}={_hydra_value(v)}" for k, v in overrides.items()]


def _hydra_value(value: Any) -> str:
    """Render a Python value in Hydra's override grammar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_hydra_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def load_config(overrides: dict[str, Any] | list[str] | None = None) -> tuple[Config, DictConfig]:
    """Compose the default config with ``overrides`` and validate it.

    Args:
        overrides: a mapping of dotted keys (or config groups) to values, or Hydra override
            strings, e.g. ``{"governance": "joint_committee", "delegation.share": 0.4}``.

    Returns:
        The typed, validated :class:`Config` and the composed OmegaConf config.

    Raises:
        ConfigError: one line naming the field and what is allowed (see
            :mod:`ics_sim.config.overrides` for what is refused).
    """
    from ics_sim.config.overrides import load

    return load(overrides)


def from_omegaconf(cfg: DictConfig) -> Config:
    """Validate a composed OmegaConf config (e.g. the one ``@hydra.main`` receives)."""
    from ics_sim.config.overrides import from_omegaconf as validate_composed

    return validate_composed(cfg)


def scenario_label(cfg: Config) -> str:
    """The scenario's label: ``cfg.scenario``, or the options and every setting they do not set
    (see :mod:`ics_sim.config.scenario`); always a safe label."""
    from ics_sim.config.scenario import scenario_label as label

    return label(cfg)


def to_dict(cfg: Config) -> dict[str, Any]:
    """A plain, JSON-serialisable mapping of a validated config."""
    return asdict(cfg)


def config_hash(cfg: Config) -> str:
    """A short stable hash of the resolved config (seed excluded), to match runs of one setting."""
    data = to_dict(cfg)
    data.pop("seed", None)
    if not data.get("place_settings"):  # hashes of runs from before per-place settings still match
        data.pop("place_settings", None)
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
