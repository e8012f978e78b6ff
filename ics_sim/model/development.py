"""Social and economic development (MODEL.md section 3, optional; seed 003): an ICP lead draws
external funding for the wider determinants of health; it grows with partnership working and pays
off slowly, most in deprived areas.
"""

from __future__ import annotations

import numpy as np


def draw_external_funding(model) -> None:
    """April: each system's external funding this year and the health effect it aims at."""
    L, sed = model.layout, model.cfg.sed
    years = model.month / 12.0
    for s in range(L.n_systems):
        trust = np.mean([p.mean_trust() for p in model.partnerships if L.place_system[p.place] == s])
        engagement = min(1.0, years / sed.ramp_years) * (0.5 + 0.5 * trust)
        model.external_funding[s] = sed.external_gbp_per_head * L.system_population()[s] * engagement
    per_head = model.external_funding[L.nb_system] / L.system_population()[L.nb_system]
    model.external_effect_target = sed.effect * (per_head / max(sed.external_gbp_per_head, 1e-9)) * (1.0 - L.nb_rank)


def pay_off(model) -> None:
    """Each month the wider-determinants effect moves a 36th of the way to its target (about
    three years)."""
    pop = model.population
    pop.external += (model.external_effect_target - pop.external) / 36.0
