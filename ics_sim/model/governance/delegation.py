"""Delegation (subsidiarity) rules: what share of each NHS domain budget goes to each place
(MODEL.md section 5).

- ``central``: nothing delegated.
- ``fixed``: ``delegation.share`` of every domain to every place.
- ``subsidiarity``: a domain is delegated (at ``max_share``) where the gain from local knowledge
  exceeds the gain from scale and cross-place co-ordination — the Sussex design questions
  ("critical mass beyond the local level?", "greater effectiveness together?"). Local knowledge is
  worth more where need varies more within places and where place bodies see it better than the
  system does (Oates 1972; Dessein 2002).
- ``earned_autonomy``: delegation starts at ``initial_share`` and moves by ``step`` at each annual
  assurance review with the place's performance; the ICB keeps accountability throughout.

Each place follows its own delegation settings (``place_settings.<place>.delegation``; the
run's where it has none): :func:`place_initial_shares` and :func:`place_review` apply the rules
above place by place.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ics_sim.config.schema import Config
from ics_sim.model.geography import Layout


def subsidiarity_test(cfg: Config, layout: Layout, need: np.ndarray) -> np.ndarray:
    """Per domain: True where the local-knowledge gain beats the scale and co-ordination gains.

    gain_local = knowledge_weight x (system error - place error)
                 x (1 + within-place coefficient of variation of need per head)

    The first factor is what local bodies know that the system does not (the error each would make
    in dividing money across neighbourhoods); the second says it is worth more where neighbourhoods
    differ more.
    gain_scale = scale_elasticity x ln(system population / mean place population)
    gain_coord = cross_place_flow
    """
    d, o = cfg.delegation, cfg.observation
    per_head = need / layout.nb_population[:, None]
    cv = np.zeros(need.shape[1])
    pops = layout.nb_population
    for p in range(layout.n_places):
        m = layout.nb_place == p
        if m.sum() < 2:
            continue
        w = pops[m] / pops[m].sum()
        mean = (per_head[m] * w[:, None]).sum(axis=0)
        sd = np.sqrt((((per_head[m] - mean) ** 2) * w[:, None]).sum(axis=0))
        # a domain nobody needs has no variation to know about (and no division by zero)
        cv += np.divide(sd, mean, out=np.zeros_like(sd), where=mean > 0) * (pops[m].sum() / pops.sum())
    info_gain = max(o.error_system - o.error_place, 0.0)
    gain_local = d.knowledge_weight * info_gain * (1.0 + cv)
    ratio = layout.system_population().mean() / layout.place_population().mean()
    gain_scale = np.array(d.scale_elasticity.as_tuple()) * np.log(max(ratio, 1.0))
    gain_coord = np.array(d.cross_place_flow.as_tuple())
    return gain_local > gain_scale + gain_coord


def initial_shares(cfg: Config, layout: Layout, need: np.ndarray) -> np.ndarray:
    """Delegated share per place and domain at the start of the first year."""
    d = cfg.delegation
    k = need.shape[1]
    if d.rule == "central":
        return np.zeros((layout.n_places, k))
    if d.rule == "fixed":
        return np.full((layout.n_places, k), d.share)
    if d.rule == "subsidiarity":
        return np.tile(np.where(subsidiarity_test(cfg, layout, need), d.max_share, 0.0), (layout.n_places, 1))
    if d.rule == "earned_autonomy":
        return np.full((layout.n_places, k), d.initial_share)
    raise ValueError(f"delegation.rule = {d.rule!r} is not allowed")


def _same_delegation(configs: Sequence[Config]) -> bool:
    return all(c.delegation == configs[0].delegation for c in configs[1:])


def place_initial_shares(configs: Sequence[Config], layout: Layout, need: np.ndarray) -> np.ndarray:
    """Delegated share per place and domain at the start, each place by its own delegation
    settings (``configs[p]``, the place's merged settings). Places sharing settings share the
    computation, so one set of settings gives exactly :func:`initial_shares`."""
    if _same_delegation(configs):
        return initial_shares(configs[0], layout, need)
    out = np.zeros((layout.n_places, need.shape[1]))
    done: list[tuple[Config, np.ndarray]] = []
    for p, c in enumerate(configs):
        whole = next((arr for seen, arr in done if seen.delegation == c.delegation), None)
        if whole is None:
            whole = initial_shares(c, layout, need)
            done.append((c, whole))
        out[p] = whole[p]
    return out


def place_review(configs: Sequence[Config], shares: np.ndarray, performance: np.ndarray) -> np.ndarray:
    """:func:`review` place by place, each with its own delegation settings."""
    if _same_delegation(configs):
        return review(configs[0], shares, performance)
    out = shares.copy()
    for p, c in enumerate(configs):
        out[p] = review(c, shares[p : p + 1], performance[p : p + 1])[0]
    return out


def review(cfg: Config, shares: np.ndarray, performance: np.ndarray) -> np.ndarray:
    """Annual assurance review: under earned autonomy, widen delegation where a place performed
    (performance >= 0) and narrow it where it did not. Other rules leave shares unchanged."""
    d = cfg.delegation
    if d.rule != "earned_autonomy":
        return shares
    change = np.where(performance >= 0.0, d.step, -d.step)
    return np.clip(shares + change[:, None], 0.0, d.max_share)


def assurance_score(cfg: Config, change_vs_peers: float, delay_months: int) -> float:
    """A place's score at the annual assurance review: its change in unmet need against its
    system's population-weighted change (peer benchmarking: need outgrowing money raises unmet need
    everywhere, which is no place's fault), the tolerance the ICB allows, and a penalty for each
    month of decision delay beyond two. Non-negative scores widen delegation under earned autonomy."""
    d = cfg.delegation
    return -change_vs_peers + d.assurance_tolerance - d.delay_penalty * max(0, delay_months - 2)
