"""Place tables worked out one at a time, by their definitions: the references the at-once code
is compared with (tests/test_conduct_at_once.py, tests/test_meetings_equivalence.py)."""

from __future__ import annotations

from ics_sim.config import load_config
from ics_sim.model.governance.allocation import plan_distance
from ics_sim.model.ics_model import ICSModel


def stepped(overrides: list[str], months: int, seed: int = 2) -> ICSModel:
    """A model of ``overrides`` stepped ``months`` months."""
    m = ICSModel(load_config(overrides)[0], seed=seed)
    for _ in range(months):
        m.step()
    return m


def judged_alone(part) -> None:
    """One table's judgment of conduct, the definition: each statutory body with money judged on
    its own money (summed on its own row) by every other member, by TrustNetwork.success and
    .violation, member by member."""
    trust = part.trust
    reference = part.reference_plan()
    if reference is None:
        return
    fin, binding, d = part.model.finance, part.structure.binding, part.model.cfg.decision
    pot_total, pot_nhs = fin.pot_envelope[part.place].sum(), fin.pot_nhs[part.place].sum()
    for key in ("icb", "council"):
        if not part.member(key):
            continue
        if key == "council":
            env, inside, plan = fin.council_own_envelope(part.place), float(pot_total - pot_nhs) if binding else 0.0, part.council_plan
        else:
            env, inside, plan = (None if binding else fin.pot_envelope[part.place]), (float(pot_nhs) if binding else 0.0), part.pot_plan
        outside = float(env.sum()) if env is not None else 0.0
        if outside + inside <= 0:
            continue
        drift = 0.0
        if outside > 0 and plan is not None:
            drift = plan_distance(plan, part.aligned_target(reference, plan, env)) * outside / (outside + inside)
        j = trust.index(key)
        for s in part.seats:
            if s.label == key:
                continue
            i = trust.index(s.label)
            if drift <= d.tolerance + d.tolerance_trust * trust.matrix[i, j]:
                trust.success(i, j)
            else:
                trust.violation(i, j)


def concluded_alone(part, month_of_year: int, business, out) -> None:
    """One table's meeting concluded after its decision ``out``, the definition (the table's
    ``_conclude`` before tables concluded together, without a workshop's seats): the record, each
    voter's trust with the setter by TrustNetwork.success and .violation (a failed meeting: each
    rejecter's violation of weight 0.3 in every other voter's trust, rejecter by rejecter), the
    small win pair by pair, the plan, then conduct judged member by member (:func:`judged_alone`)."""
    m, trust = part.model, part.trust
    seat_idx, setter = business.seat_idx, business.agenda.setter
    s_idx = seat_idx[setter]
    if out.decided:
        part.year.decided = True
        part.year.failed_last = False
        delay = min(month_of_year + part.signoff_months(), 12)
        part.year.delay = delay
        part.delays.append(delay)
        part.power_imbalance.append(out.power_imbalance)
        part.concession = 0.0
        for k, i in enumerate(seat_idx):
            if i == s_idx:
                continue
            if out.accepted[k]:
                trust.success(i, s_idx)
                trust.success(s_idx, i)
            else:
                trust.violation(i, s_idx)
        dialogue = m.cfg.trust.dialogue
        if len(part.seats) > 1 and dialogue > 0:
            for i in range(trust.n):
                for j in range(trust.n):
                    if i != j:
                        trust.success(i, j, weight=float(dialogue))
        if not part.structure.binding:
            part.shared_view = out.plan
        else:
            part.signing = (delay, out.plan)
            if month_of_year >= delay:
                part.pot_plan = out.plan
                part.signing = None
    else:
        part.year.deadlocks += 1
        part.year.failed_last = True
        part.deadlocks_total += 1
        part.concession += m.cfg.decision.concession * (1.0 - part.concession)
        for k, i in enumerate(seat_idx):
            if not out.accepted[k]:
                for j in seat_idx:
                    if j != i:
                        trust.violation(j, i, weight=0.3)
    judged_alone(part)
