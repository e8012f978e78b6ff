"""The schema's defaults as Hydra's root of composition (``base_config`` in Hydra's ConfigStore),
stored only when Hydra is about to compose: a plain command-line run whose composition was saved
never imports Hydra (issue 13)."""

from __future__ import annotations

import functools
from dataclasses import asdict

from omegaconf import DictConfig, OmegaConf

from ics_sim.config.schema import Config


def _base_node() -> DictConfig:
    """The schema's defaults as the root of composition.

    Plain (untyped) values: every value is checked by :mod:`ics_sim.config.validate`, which names
    the field and what is allowed, instead of OmegaConf's type errors. ``shocks`` is a mapping
    from each chosen shock option to its event, so that several shocks combine on one timeline.
    """
    # the defaults as plain values: dataclasses.asdict gives what
    # OmegaConf.to_container(OmegaConf.structured(Config)) gives (tests/test_valid_configs.py checks
    # it) in a sixth of the time, at every start of the command line
    node = asdict(Config())
    node["shocks"] = {}
    base = OmegaConf.create(node)
    # a place's settings are added by name (place_settings.Herefordshire.chair=icb) without the
    # `+` Hydra asks for new keys; ics_sim.config.overrides checks every such key first
    OmegaConf.set_struct(base.place_settings, False)
    return base


@functools.cache
def register_with_hydra() -> None:
    """Store the schema's defaults in Hydra's ConfigStore as ``base_config`` (the root that
    ``configs/config.yaml`` composes on). Called before every Hydra composition and by the Hydra
    app (:func:`ics_sim.config.overrides.compose_plan`, ``ics_sim.__main__``), not at import: a plain
    command-line run whose composition was saved (:func:`ics_sim.config.overrides.composition_cache`)
    never imports Hydra, a fifth of a second (issue 13). Composing with Hydra yourself: call this first."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="base_config", node=_base_node())
