"""Commissioning: who pays for what this month (MODEL.md section 6.5; ODD 7.5).

Each month four kinds of funder spend a twelfth of their annual plans, less the month's running
costs each of them pays (:mod:`~ics_sim.model.running_costs`): the ICB's retained money
(``central``), each place partnership's pot (this year's decision, or last year's allocation
while the table is deadlocked), each council's own money, and the VCSE bodies (their external
income plus the prevention grants every funder passes through them). This module assembles them,
with each funder's outreach (the share of need it recognises as hidden), efficiency (scale, and
integration where one pot pools the money or one provider holds it under contract) and the co-ordination between each pair, then hands
them to :func:`~ics_sim.model.delivery.deliver`, which turns money into care. Providers' capacity
follows funded activity with a lag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ics_sim.domains import ACUTE, MENTAL, N_DOMAINS, PREVENTION, PRIMARY, SOCIAL
from ics_sim.model import running_costs
from ics_sim.model.delivery import Delivery, Funder, deliver, scale_efficiency
from ics_sim.model.finance import icb_system_belief
from ics_sim.model.governance.views import whole_belief


@dataclass
class Spending:
    """This month's care spending by funder (annual rates, GBP per year per neighbourhood and
    domain), after the running costs each payer met this month (``running``, GBP this month)."""

    central: np.ndarray
    pot: np.ndarray
    council: np.ndarray
    grants: np.ndarray  # per neighbourhood: prevention money passed to the VCSE body
    vcse_external: np.ndarray
    running: running_costs.RunningCosts


def pot_spend(model, part) -> np.ndarray:
    """The pot's spending: this year's decision, or last year's allocation capped by this year's
    envelope while the table has not decided."""
    if part.pot_plan is not None:
        return part.pot_plan
    last = part.last_pot_plan
    if last is None:
        return np.zeros((len(part.idx), N_DOMAINS))
    env = model.finance.pot_envelope[part.place]
    col = last.sum(axis=0)
    scale = np.divide(np.minimum(col, env), col, out=np.zeros_like(col), where=col > 0)
    return last * scale[None, :]


def council_spend(model, part) -> np.ndarray:
    """The council's own spending: its plan (or last year's), capped by its own envelope."""
    plan = part.council_plan if part.council_plan is not None else part.last_council_plan
    env = model.finance.council_own_envelope(part.place)
    col = plan.sum(axis=0)
    scale = np.divide(np.minimum(col, env), col, out=np.zeros_like(col), where=col > 0)
    return plan * scale[None, :]


def integration(model, part) -> float:
    """How far the pot's care is organised as one (0..1), from what integrates it: one pooled
    budget (the share of the council's money that is in the pot) and one commissioner (a provider
    holding the pot under contract, which commissions and delivers the place's services through
    one contract). Either integrates: ``1 - (1 - pooled share) (1 - one commissioner)``. Shared
    information and working relationships scale the gain through trust (:func:`commission`)."""
    fin = model.finance
    council = fin.council_budget[part.place].sum()
    pooled = (fin.pot_envelope[part.place].sum() - fin.pot_nhs[part.place].sum()) / council if council > 0 else 0.0
    one_commissioner = 1.0 if part.contracted else 0.0
    return 1.0 - (1.0 - min(max(pooled, 0.0), 1.0)) * (1.0 - one_commissioner)


def commission(model) -> tuple[Delivery, Spending]:
    """Assemble this month's funders and deliver care; returns what was delivered and the plans."""
    L, c, pop, fin = model.layout, model.cfg, model.population, model.finance
    shape = pop.need.shape
    elasticity = np.array(c.delegation.scale_elasticity.as_tuple())
    pot = np.zeros(shape)
    council = np.zeros(shape)
    vcse_ext = np.zeros(shape)
    vcse_out = np.zeros(shape)
    place_eff = scale_efficiency(fin.place_pop, elasticity)  # places x domains
    sys_eff = scale_efficiency(L.system_population(), elasticity)
    # per place: the integration bonus and the co-ordination between each pair of funders, then
    # broadcast to the place's neighbourhoods; the council's and the ICB's system views are read
    # for the whole population at once (row by row the same numbers as place by place)
    n_places = L.n_places
    bonus = np.zeros(n_places)
    coord_central_pot = np.zeros(n_places)
    coord_central_council = np.zeros(n_places)
    coord_pot_council = np.zeros(n_places)
    coord_vcse = np.zeros(n_places)
    grant_share = np.zeros(n_places)  # share of prevention money granted to the VCSE body
    council_out = whole_belief(model, [part.orgs["council"] for part in model.partnerships]).outreach_share
    central_out = np.zeros(shape)
    for s_, rows in enumerate(L.system_index):
        central_out[rows] = icb_system_belief(model, s_, rows).outreach_share
    pot_out = model.table_views.holder_outreach()  # every place's pot holder at once
    for part in model.partnerships:
        i, p = part.idx, part.place
        pot_p = pot_spend(model, part)
        pot[i] = pot_p
        council[i] = council_spend(model, part)
        voters = part.voters
        pot_holder = voters[0] if voters else None
        t = part.mean_trust()
        model.pot_spend_by_domain[p] = pot_p.sum(axis=0)
        bonus[p] = c.costs.integration_bonus * t * integration(model, part)
        # co-ordination is structural where a funder's controller votes on the pot's plan (it
        # knows the plan), and otherwise only as good as the trust between the two bodies
        holder_key = pot_holder.label if pot_holder else "icb"
        coord_central_pot[p] = 0.5 + (0.5 * t if part.controls("icb") else 0.0)
        coord_central_council[p] = part.trust_between("icb", "council")
        if part.controls("council"):
            coord_pot_council[p] = 0.5 + 0.5 * t
        else:
            coord_pot_council[p] = part.trust_between(holder_key, "council")
        vcse = model.vcses[p]
        if vcse.operating:
            coord_vcse[p] = part.trust_between("vcse", holder_key)
            vb = vcse.belief(i)
            w = vb.total[:, [PRIMARY, PREVENTION]]
            w = w / np.maximum(w.sum(), 1e-12)
            x = fin.vcse_external[p] * vcse.external_capacity() * w  # folded bodies raise nothing
            vcse_ext[i, PRIMARY] = x[:, 0]  # written in place column by column (vcse_ext[i][:, cols] = ...
            vcse_ext[i, PREVENTION] = x[:, 1]  # would write into a copy; np.ix_ is slower)
            vcse_out[i] = vb.outreach_share
            # VCSE grants: part of every funder's prevention money goes through the place's VCSE
            # bodies, more where they are trusted, less while funders cut against plan, and only
            # to bodies that still operate; it is cheaper and reaches hidden need
            t_vcse = part.trust_between("vcse", "icb") if part.member("vcse") else 0.0
            grant_share[p] = c.providers.vcse_grant_share * min(1.0, 0.5 + t_vcse) * fin.grant_climate[p] * vcse.grant_capacity()
    nb = L.nb_place
    pot_eff = (place_eff * (1.0 + bonus)[:, None])[nb]
    coord_central_pot, coord_central_council, coord_pot_council, coord_vcse, grant_share = (
        coord_central_pot[nb], coord_central_council[nb], coord_pot_council[nb], coord_vcse[nb], grant_share[nb])
    central = fin.central_plan.copy()
    # running costs come out of the payers' care spending before anything is delivered
    paid = running_costs.charge(model.running_costs, L, central, pot, council, vcse_ext)
    funders = [
        Funder("central", central, central_out, sys_eff[L.nb_system]),
        Funder("pot", pot, pot_out, pot_eff),
        Funder("council", council, council_out, place_eff[L.nb_place]),
    ]
    grants = np.zeros(L.n_neighbourhoods)
    for f in funders:
        moved = f.spend[:, PREVENTION] * grant_share
        grants += moved
        f.spend = f.spend.copy()
        f.spend[:, PREVENTION] -= moved
    vcse_spend = vcse_ext.copy()
    vcse_spend[:, PREVENTION] += grants
    vcse_eff = np.full(shape, 1.0 / c.providers.vcse_cost_factor)
    funders.append(Funder("vcse", vcse_spend, vcse_out, vcse_eff))
    coordination = {
        (0, 1): coord_central_pot,
        (0, 2): coord_central_council,
        (1, 2): coord_pot_council,
        (0, 3): coord_vcse,
        (1, 3): coord_vcse,
        (2, 3): coord_vcse,
    }
    if model.capacity is None:
        model.capacity = np.zeros((L.n_places, N_DOMAINS))
        eff_total = sum(f.spend * f.efficiency for f in funders)
        np.add.at(model.capacity, L.nb_place, eff_total)
        model.capacity *= 1.0 + c.providers.capacity_slack
    mutual = np.zeros(N_DOMAINS, dtype=bool)
    if c.providers.collaborative:
        mutual[[ACUTE, MENTAL, PRIMARY]] = True
    cap = model.capacity * model.shocks.capacity_factor(model.month)[None, :]
    d = deliver(funders, coordination, pop.visible_need, pop.hidden_need, cap, L.nb_place, L.place_system, c.costs.duplication_rate, mutual)
    return d, Spending(central, pot, council, grants, vcse_ext, paid)


def pay_vcse(model, spending: Spending) -> None:
    """Each place's VCSE bodies are paid this month's grants and external income (the whole of it:
    the part their people's time at the table took from care, ``spending.running.vcse``, is still
    their income)."""
    for p, i in enumerate(model.layout.place_index):
        model.vcses[p].receive(spending.grants[i].sum() / 12.0, spending.vcse_external[i].sum() / 12.0 + spending.running.vcse[p])


def note_spending(model, d: Delivery) -> None:
    """What partners see of the month's spending: by place and domain, each system's domain mix
    (which the ICP strategy pulls on) and the cumulative total."""
    L, fin = model.layout, model.finance
    for p, i in enumerate(L.place_index):
        model.place_spend_by_domain[p] = d.spend[i].sum(axis=0)
    for s, m in enumerate(L.system_index):
        tot = d.spend[m].sum(axis=0)
        fin.system_spend_share[s] = tot / max(tot.sum(), 1e-12)
    model.cumulative_spend_nb += d.spend.sum(axis=1) / 12.0
    model.cumulative_spend += d.spend.sum() / 12.0


def adjust_capacity(model, d: Delivery) -> None:
    """Capacity follows funded activity with a lag; social care can grow only as fast as its
    workforce."""
    c = model.cfg.providers
    target = d.demand_by_place * (1.0 + c.capacity_slack)
    change = (target - model.capacity) / c.capacity_adjustment_months
    cap_growth = model.capacity[:, SOCIAL] * c.social_care_workforce_growth / 12.0
    change[:, SOCIAL] = np.minimum(change[:, SOCIAL], cap_growth)
    model.capacity += change
