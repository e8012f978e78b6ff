"""Allocation rules and spending plans (MODEL.md section 5).

A *plan* is a budget holder's annual spending per neighbourhood and domain (GBP/yr) over the
neighbourhoods it covers. It is built in two steps: domain envelopes are shifted by the holder's
preferences (strategy, interests, local priorities: log weights), then each domain's money is
divided across neighbourhoods by the allocation rule, using the holder's *beliefs* about need.
With no preferences and perfect information, dividing first between places and then within them
gives exactly the same plan as dividing centrally (proportional allocation is consistent), which is
what makes "zero delegation reproduces central allocation" and the equal-preference degenerate case
hold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ics_sim.domains import MENTAL, N_DOMAINS


@dataclass
class Belief:
    """What a holder believes about need in its neighbourhoods (GBP/yr per cell)."""

    visible: np.ndarray
    hidden: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.visible + self.hidden

    @property
    def outreach_share(self) -> np.ndarray:
        """Share of a cell's money aimed at hidden need: the hidden share the holder recognises."""
        tot = self.total
        return np.divide(self.hidden, tot, out=np.zeros(tot.shape), where=tot > 0)

    def log_visible(self) -> np.ndarray:
        """``np.log(visible)``; kept with a shared belief (one whose visible estimate is read-only,
        as every organisation's and table's belief of the month is), so it is taken once."""
        cached = self.__dict__.get("_log_visible")
        if cached is not None and cached[0] is self.visible:
            return cached[1]
        out = np.log(self.visible)
        if not self.visible.flags.writeable:
            out.flags.writeable = False
            self._log_visible = (self.visible, out)
        return out


def area_weights(rule: str, belief: Belief | None, population: np.ndarray | None, rank: np.ndarray | None, hi: float) -> np.ndarray:
    """Weights for dividing each domain's money across neighbourhoods.

    per_head: population only (need-blind: ``belief`` is not read), the same in every domain;
    need_weighted: believed need; need_weighted_hi: believed need with a health-inequalities
    adjustment rising linearly to ``1 + hi`` at the most deprived end (``population`` is not read
    by either). ``belief`` and ``rank`` may be stacks of several holders' (the last two axes of the
    belief and the last of the rank are neighbourhoods and domains, and neighbourhoods).
    """
    if rule == "per_head":
        return np.repeat(population[:, None], N_DOMAINS, axis=1).astype(float)
    w = belief.total
    if rule == "need_weighted_hi":
        w = w * (1.0 + hi * (1.0 - rank))[..., None]
    return w


def shift_domains(envelope: np.ndarray, log_pref: np.ndarray, mh_floor: float | None = None) -> np.ndarray:
    """Move money between domains by preference log-weights, keeping the total.

    Domains with no money stay at zero (a council cannot fund acute care from its own budget). With
    ``mh_floor`` (GBP: the mental health investment standard applied to the NHS money in the
    envelope), mental health keeps at least that amount.
    """
    total = envelope.sum()
    if total <= 0:
        return envelope.copy()
    if not np.any(log_pref):
        env = envelope.copy()
    else:
        env = envelope * np.exp(log_pref)
        env *= total / env.sum()
    _floor_mental(env, envelope, mh_floor, total)
    return env


def _floor_mental(env: np.ndarray, envelope: np.ndarray, mh_floor: float | None, total: float) -> None:
    """Raise a shifted envelope's mental-health domain to its floor (the mental health investment
    standard), in place, taking the difference from the other domains in proportion."""
    if mh_floor is not None and env[MENTAL] < mh_floor - 1e-9 and envelope[MENTAL] > 0:
        floor = min(mh_floor, total)
        need = floor - env[MENTAL]
        others = env.copy()
        others[MENTAL] = 0.0
        env -= others * (need / others.sum())
        env[MENTAL] = floor


def shift_stacked(envelope: np.ndarray, log_prefs: np.ndarray, mh_floors: list[float | None]) -> np.ndarray:
    """:func:`shift_domains` of envelopes by several holders' preferences at once: row ``k`` is
    ``shift_domains(envelope, log_prefs[k], mh_floors[k])`` for one ``envelope`` (domains) shared
    by every row, or ``shift_domains(envelope[k], log_prefs[k], mh_floors[k])`` for one envelope per
    row (rows x domains): the same numbers (each row's sums are added as numpy adds that row alone)."""
    envs = np.broadcast_to(envelope, log_prefs.shape)
    total = envs.sum(axis=1)
    empty = total <= 0
    floor = np.array(mh_floors, dtype=float)  # None: no floor (NaN)
    with np.errstate(invalid="ignore", divide="ignore"):
        env = envelope * np.exp(log_prefs)
        env *= (total / env.sum(axis=1))[:, None]
        plain = ~log_prefs.any(axis=1) | empty  # no preference, or no money: the envelope as it is
        if plain.any():
            env[plain] = envs[plain]
        # the rows whose mental health domain falls below its floor, as _floor_mental finds them
        below = ~empty & (env[:, MENTAL] < floor - 1e-9) & (envs[:, MENTAL] > 0)
    for k in np.flatnonzero(below).tolist():
        _floor_mental(env[k], envs[k], mh_floors[k], total[k])
    return env


def make_plan(envelope: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Divide each domain's envelope across neighbourhoods in proportion to ``weights``."""
    col = weights.sum(axis=0)
    share = np.divide(weights, col, out=np.zeros(weights.shape), where=col > 0)
    # a domain nobody is believed to need is spread per neighbourhood evenly rather than lost
    empty = col <= 0
    if np.any(empty):
        share[:, empty] = 1.0 / weights.shape[0]
    return share * envelope[None, :]


def stacked_plans(envelopes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """:func:`make_plan` for a stack of plans at once: ``envelopes`` (plans, domains), ``weights``
    (plans, neighbourhoods, domains). Each plan is the same number :func:`make_plan` gives for its
    envelope and weights (numpy adds the rows of each plan in order either way)."""
    col = weights.sum(axis=1)
    share = np.divide(weights, col[:, None, :], out=np.zeros(weights.shape), where=(col > 0)[:, None, :])
    empty = col <= 0
    if np.any(empty):
        for k in np.flatnonzero(empty.any(axis=1)):
            share[k][:, empty[k]] = 1.0 / weights.shape[1]
    return share * envelopes[:, None, :]


def ragged_plans(envelopes: np.ndarray, weights: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """:func:`make_plan` for plans of different sizes laid end to end: ``weights`` (rows, domains)
    holds plan 0's ``sizes[0]`` neighbourhoods, then plan 1's, and so on; ``envelopes`` (plans,
    domains). Returns the plans laid out the same way, row by row the numbers :func:`make_plan`
    gives for each plan's rows: each plan's domain sums add its own rows in order, as numpy adds
    them for the plan alone (laid position by position over the widest plan, every plan's first
    row, then every plan's second row, ..., -0.0 after a plan's own rows: ``x + -0.0`` is ``x``;
    one sum down the positions adds each plan's rows one after another)."""
    plan = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    laid = np.full((int(sizes.max()), len(sizes), weights.shape[1]), -0.0)
    laid[np.arange(len(weights)) - starts[plan], plan] = weights
    col = laid.sum(axis=0)
    share = np.divide(weights, col[plan], out=np.zeros(weights.shape), where=(col > 0)[plan])
    empty = col <= 0
    if np.any(empty):
        for k in np.flatnonzero(empty.any(axis=1)):
            share[starts[k] : starts[k] + sizes[k], empty[k]] = 1.0 / sizes[k]
    return share * envelopes[plan]


def plan_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the budget that would have to move to turn plan ``b`` into plan ``a`` (0..1)."""
    total = max(a.sum(), b.sum(), 1e-12)
    return 0.5 * float(np.abs(a - b).sum()) / total


def plan_distances(a: np.ndarray, b: np.ndarray, runs=None) -> np.ndarray:
    """:func:`plan_distance` for stacks of plans at once: ``a`` and ``b`` are (..., neighbourhoods,
    domains) and broadcast over the leading axes (e.g. every candidate against every member's
    proposal). Each entry is the same number :func:`plan_distance` gives for that pair.

    ``runs``: plans of different sizes laid end to end along the last axis instead, each plan's
    cells (neighbourhood by neighbourhood, domain by domain) one run of a
    :class:`~ics_sim.grouped.Runs`, which sums each run as numpy sums that plan alone
    (numpy sums a plan's neighbourhoods and domains as the one run of its cells): ``a`` and ``b``
    are (..., cells) and the distances (..., plans)."""
    total_of = (lambda x: x.sum(axis=(-2, -1))) if runs is None else runs.sum
    diff = total_of(np.abs(a - b))
    total = np.maximum(np.maximum(total_of(a), total_of(b)), 1e-12)
    return 0.5 * diff / total
