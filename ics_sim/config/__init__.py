"""Configuration: schema, validation, and composition of the Hydra config groups in ``configs/``.

``load_config({"governance": "joint_committee", "delegation.share": 0.2})`` composes exactly what
``python -m ics_sim governance=joint_committee delegation.share=0.2`` would, without the Hydra app,
and validates it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from ics_sim.config.schema import Config
from ics_sim.config.validate import ConfigError, validate

__all__ = [
    "CONFIG_DIR",
    "Config",
    "ConfigError",
    "config_hash",
    "load_config",
    "to_dict",
    "to_overrides",
    "validate",
]


def _config_dir() -> Path:
    """The folder holding config.yaml (packaged as ``ics_sim.configs``, source folder ``configs/``)."""
    try:
        path = Path(str(resources.files("ics_sim.configs")))
        if (path / "config.yaml").exists():
            return path
    except ModuleNotFoundError:  # running from a source tree that is not installed
        pass
    return Path(__file__).resolve().parents[2] / "configs"


CONFIG_DIR = _config_dir()

ConfigStore.instance().store(name="base_config", node=Config)


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


def to_overrides(overrides: dict[str, Any] | list[str] | None) -> list[str]:
    """Turn ``{"delegation.share": 0.2}`` into Hydra overrides ``["delegation.share=0.2"]``."""
    if overrides is None:
        return []
    if isinstance(overrides, (list, tuple)):
        return [str(o) for o in overrides]
    return [f"{k}={_hydra_value(v)}" for k, v in overrides.items()]


def _first_line(exc: BaseException) -> str:
    """Fold a Hydra/OmegaConf error (often several lines, or a chained cause) into one line."""
    parts: list[str] = []
    while exc is not None and len(parts) < 6:
        for line in str(exc).splitlines():
            line = line.strip()
            if line and not line.startswith(("object_type", "Set the environment")) and line not in parts:
                parts.append(line)
        exc = exc.__cause__ or exc.__context__
    return "; ".join(parts)[:400] or "invalid configuration"


def load_config(overrides: dict[str, Any] | list[str] | None = None) -> tuple[Config, DictConfig]:
    """Compose the default config with ``overrides`` and validate it.

    Args:
        overrides: a mapping of dotted keys (or config groups) to values, or Hydra override strings.

    Returns:
        The typed, validated :class:`Config` and the composed OmegaConf config.

    Raises:
        ConfigError: one line naming the field and what is allowed.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    ovr = to_overrides(overrides)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=ovr)
    except Exception as exc:  # Hydra and OmegaConf raise many types; keep one readable line
        raise ConfigError(_first_line(exc)) from None
    finally:
        GlobalHydra.instance().clear()
    return from_omegaconf(cfg), cfg


def from_omegaconf(cfg: DictConfig) -> Config:
    """Validate a composed OmegaConf config (e.g. the one ``@hydra.main`` receives)."""
    data = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    assert isinstance(data, dict)
    return validate(data)


def to_dict(cfg: Config) -> dict[str, Any]:
    """A plain, JSON-serialisable mapping of a validated config."""
    return asdict(cfg)


def config_hash(cfg: Config) -> str:
    """A short stable hash of the resolved config (seed excluded), to match runs of one setting."""
    data = to_dict(cfg)
    data.pop("seed", None)
    blob = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
