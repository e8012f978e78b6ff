"""Meetings, beliefs and trust worked out for every place at once give exactly the numbers the
place-by-place definitions give (issue 13): trust relaxed as one array, beliefs read as views of the month's whole-population arrays, the
recorded pair trust and each member's mean trust in the others. Whole runs are held to the same
standard by ``scripts/fingerprint.py``; these tests name the piece that moved if one does."""

from __future__ import annotations

import numpy as np
import pytest
from reference_tables import judged_alone
from reference_tables import stepped as _stepped

from ics_sim.config.schema import TrustConfig
from ics_sim.model.governance.allocation import plan_distance
from ics_sim.model.governance.partnership import MEMBER_KEYS, MEMBER_PAIRS, review_all
from ics_sim.model.governance.trust import TrustNetwork, TrustTables


def _relaxed_alone(matrix: np.ndarray, cfg: TrustConfig) -> np.ndarray:
    """One network's monthly relaxation, the definition."""
    out = matrix.copy()
    out += cfg.reversion * (cfg.baseline - out)
    np.fill_diagonal(out, 1.0)
    return out


def test_trust_relaxed_as_one_array_equals_each_network_relaxed_alone_even_after_one_is_replaced():
    cfg = TrustConfig(initial=0.35, baseline=0.42, gain=0.2, loss_ratio=3.0, reversion=0.07, dialogue=0.1)
    rng = np.random.default_rng(1)
    nets = [TrustNetwork([f"m{k}" for k in range(n)], cfg) for n in (2, 9, 5, 1, 7)]
    for net in nets:
        net.matrix[...] = rng.random(net.matrix.shape)
        np.fill_diagonal(net.matrix, 1.0)
    tables = TrustTables(cfg)
    for month in range(4):
        expected = [_relaxed_alone(net.matrix, cfg) for net in nets]
        tables.relax(nets)
        for net, want in zip(nets, expected, strict=True):
            np.testing.assert_array_equal(net.matrix, want)
            assert net.matrix.flags.c_contiguous
        # updates between relaxations write into the shared array
        nets[1].success(np.array([0, 2]), np.array([3, 4]))
        nets[2].violation(1, 0, weight=0.5)
        if month == 1:  # a table changes form: a new network of another size takes its place
            nets[2] = TrustNetwork([f"n{k}" for k in range(4)], cfg)
            nets[2].matrix[0, 1] = 0.9
    assert np.all(np.diag(nets[1].matrix) == 1.0)


def test_a_member_s_mean_trust_is_its_entry_of_every_member_s_mean():
    cfg = TrustConfig()
    net = TrustNetwork([f"m{k}" for k in range(9)], cfg)
    net.matrix[...] = np.random.default_rng(3).random((9, 9))
    full = net.outgoing_mean()
    for i in range(9):
        assert net.outgoing_mean_of(i) == full[i]


def test_beliefs_are_views_of_the_month_s_whole_population_arrays_with_the_same_numbers():
    m = _stepped(["years=1", "interests.enabled=true"], 3)
    obs, pop = m.observation, m.population
    m.vcses[1].capacity[:] = 0.4  # a reach of the sector's own
    for part in m.partnerships:
        for key, org in part.orgs.items():
            b = org.belief(part.idx)
            reach = org.hidden_reach()
            r = obs.reach.get(org.observer, 0.0) if reach is None else reach
            seen = r * pop.hidden_need[part.idx] * np.exp(obs.errors[org.observer][part.idx])
            np.testing.assert_array_equal(b.visible, np.exp(np.log(np.maximum(pop.visible_need[part.idx], 1e-9)) + obs.errors[org.observer][part.idx]))
            np.testing.assert_array_equal(b.hidden, org.hidden_belief(seen), err_msg=key)
            assert not b.visible.flags.writeable and not b.hidden.flags.writeable
            assert b.log_visible() is b.log_visible()
            np.testing.assert_array_equal(b.log_visible(), np.log(b.visible))
    # a place's neighbourhoods are a contiguous run: its belief is a view, not a copy
    part = m.partnerships[0]
    assert np.shares_memory(part.orgs["council"].belief(part.idx).visible, obs.whole_visible_estimate("council"))
    # any other index still reads the same rows (copied)
    idx = np.array([5, 0, 9])
    b = part.orgs["council"].belief(idx)
    np.testing.assert_array_equal(b.visible, obs.visible_estimate("council", idx))
    np.testing.assert_array_equal(b.hidden, part.orgs["council"].hidden_belief(obs.hidden_seen("council", idx, part.orgs["council"].hidden_reach())))


def _pair_trust_reference(part) -> np.ndarray:
    """The recorded pair trust, the definition: every seated pair's mean of each one's trust in the other."""
    full = np.full((len(MEMBER_KEYS), len(MEMBER_KEYS)), np.nan)
    pos = [MEMBER_KEYS.index(k) for k in part.trust.members]
    t = part.trust.matrix
    full[np.ix_(pos, pos)] = 0.5 * (t + t.T)
    rows, cols = np.triu_indices(len(MEMBER_KEYS), k=1)
    return full[rows, cols]


@pytest.mark.parametrize("form", ["committee", "lead_provider", "joint_committee"])
def test_pair_trust_equals_the_full_matrix_construction(form):
    m = _stepped(["years=1", f"governance={form}"], 5)
    for part in m.partnerships:
        got = part.pair_trust()
        assert got.shape == (len(MEMBER_PAIRS),)
        np.testing.assert_array_equal(got, _pair_trust_reference(part))


@pytest.mark.parametrize(
    "overrides",
    [
        ["years=1", "interests.enabled=true"],  # a council voter discounts the hidden need it hears
        ["years=1", "allocation=need_weighted_hi", "governance=individual_executive", "governance.sro_appointment=joint"],
        ["years=1", "allocation=per_head", "governance=consultative_forum"],
        ["years=1", "observation.perfect=true", "governance=joint_committee"],
    ],
)
def test_voters_proposals_at_once_equal_each_voter_s_proposal(overrides):
    m = _stepped(overrides, 4)
    for part in m.partnerships:
        envelope = m.finance.pot_envelope[part.place] + m.finance.council_envelope[part.place]
        forum = part.forum_belief()
        voters = part.voters
        got = part.voter_proposals(voters, envelope, forum)
        for k, s in enumerate(voters):
            want = part.proposal(s, envelope, part.working_belief(s, forum), nhs=s.label == "icb")
            np.testing.assert_array_equal(got[k], want, err_msg=s.label)


@pytest.mark.parametrize(
    "overrides",
    [
        ["interests.enabled=true", "governance=committee"],  # councils discount hidden need heard
        ["allocation=need_weighted_hi", "governance=individual_executive", "governance.sro_appointment=joint"],
        ["allocation=per_head", "governance=consultative_forum"],
        ["observation.perfect=true", "governance=joint_committee"],
        ["governance=lead_provider", "interests.enabled=true"],
        ["governance=consultative_forum", "interests.enabled=true"],  # VCSE sectors vote, each with its reach
        # places of different sizes and seatings in one model, one with a joint SRO
        ["system=herefordshire_worcestershire", "place_settings.herefordshire.governance.form=individual_executive",
         "place_settings.herefordshire.governance.sro_appointment=joint", "place_settings.worcestershire.decision_rule=majority"],
    ],
)
def test_every_table_s_proposals_at_once_equal_each_table_s_voters_proposals(overrides):
    from ics_sim.model.governance.partnership import meeting_proposals

    m = _stepped(["years=1", *overrides], 4)
    rng = np.random.default_rng(5)
    for part in m.partnerships:  # trust away from its start: every member listens differently
        part.trust.matrix[...] = rng.random(part.trust.matrix.shape)
        part.trust._unit_diagonal()
    for v in m.vcses:  # VCSE sectors with their own reach into hidden need
        v.capacity[:] = rng.random(v.capacity.shape)
    for parts in (m.partnerships, m.partnerships[1::2], m.partnerships[:1]):
        got = meeting_proposals(parts)
        assert len(got) == len(parts)
        for part, plans in zip(parts, got, strict=True):
            want = part.voter_proposals(part.voters, part.meeting_envelope(), part.forum_belief())
            assert plans.flags.c_contiguous
            np.testing.assert_array_equal(plans, want, err_msg=str(part.place))


def test_plans_of_different_sizes_laid_end_to_end_equal_each_plan_made_alone():
    rng = np.random.default_rng(3)
    sizes = np.array([1, 7, 8, 9, 17, 64, 3, 36])
    weights = rng.random((int(sizes.sum()), 5)) * 10.0 ** rng.uniform(-3, 9, (int(sizes.sum()), 5))
    starts = np.cumsum(sizes) - sizes
    weights[starts[2] : starts[2] + sizes[2], 1] = 0.0  # a domain nobody is believed to need
    weights[starts[6] : starts[6] + sizes[6], :] = 0.0  # a plan that needs nothing
    _assert_ragged_plans_as_alone(rng.random((len(sizes), 5)) * 1e8, weights, sizes)


def _assert_ragged_plans_as_alone(envs: np.ndarray, weights: np.ndarray, sizes: np.ndarray) -> None:
    """``ragged_plans`` of the plans laid end to end equals each plan made alone, exactly."""
    from ics_sim.model.governance.allocation import make_plan, ragged_plans

    got = ragged_plans(envs, weights, sizes)
    starts = np.cumsum(sizes) - sizes
    for k, n in enumerate(sizes):
        rows = slice(starts[k], starts[k] + n)
        np.testing.assert_array_equal(got[rows], make_plan(envs[k], weights[rows]))


def test_plans_stacked_equal_each_plan_made_alone_with_empty_domains_and_odd_sizes():
    from ics_sim.model.governance.allocation import make_plan, stacked_plans

    rng = np.random.default_rng(7)
    for n in (1, 2, 7, 8, 9, 17, 64, 300):
        weights = rng.random((4, n, 5)) * 10.0 ** rng.uniform(-3, 9, (4, n, 5))
        weights[1, :, 2] = 0.0  # a domain nobody is believed to need
        envs = rng.random((4, 5)) * 1e8
        got = stacked_plans(envs, weights)
        for k in range(4):
            np.testing.assert_array_equal(got[k], make_plan(envs[k], weights[k]))


def test_envelopes_shifted_at_once_equal_each_shift_with_the_mental_health_floor():
    from ics_sim.model.governance.allocation import shift_domains, shift_stacked

    rng = np.random.default_rng(11)
    for _ in range(50):
        envelope = rng.random(5) * 1e8 * (rng.random(5) > 0.2)
        prefs = rng.normal(0.0, 0.8, (6, 5)) * (rng.random((6, 1)) > 0.3)  # some holders have none
        floors = [None if rng.random() < 0.4 else float(rng.random() * envelope.sum()) for _ in range(6)]
        got = shift_stacked(envelope, prefs, floors)
        for k in range(6):
            np.testing.assert_array_equal(got[k], shift_domains(envelope, prefs[k], floors[k]))
    np.testing.assert_array_equal(shift_stacked(np.zeros(5), prefs, floors), np.zeros((6, 5)))
    # one envelope per row (some empty), as every table meeting in a month shifts its own
    envelopes = rng.random((6, 5)) * 1e8 * (rng.random((6, 5)) > 0.2)
    envelopes[2] = 0.0
    got = shift_stacked(envelopes, prefs, floors)
    for k in range(6):
        np.testing.assert_array_equal(got[k], shift_domains(envelopes[k], prefs[k], floors[k]))


def test_the_kept_drift_is_worked_out_again_when_a_plan_changes_even_in_place():

    m = _stepped(["years=1"], 8)
    part = next(p for p in m.partnerships if p.council_plan is not None and p.reference_plan() is not None)
    reference, plan = part.reference_plan(), part.council_plan.copy()
    env = m.finance.council_own_envelope(part.place)

    def direct() -> float:
        return plan_distance(plan, part.aligned_target(reference, plan, env))

    assert part._drift("council", reference, plan, env) == direct()
    plan[0] *= 1.7  # written into the same array
    assert part._drift("council", reference, plan, env) == direct()
    env = env * 0.5
    assert part._drift("council", reference, plan, env) == direct()


@pytest.mark.parametrize("weight", [1.0, 0.5, 0.25, 2.0])
def test_every_pair_updated_at_once_equals_the_pairs_updated_by_index(weight):
    cfg = TrustConfig(initial=0.35, baseline=0.42, gain=0.2, loss_ratio=3.0, reversion=0.07, dialogue=0.1)
    rng = np.random.default_rng(5)
    start = rng.random((6, 6))
    np.fill_diagonal(start, 1.0)
    ii, jj = np.where(~np.eye(6, dtype=bool))
    for update in ("success", "violation"):
        by_index, at_once = TrustNetwork(list("abcdef"), cfg), TrustNetwork(list("abcdef"), cfg)
        by_index.matrix[...] = start
        at_once.matrix[...] = start
        getattr(by_index, update)(ii, jj, weight=weight)
        getattr(at_once, f"{update}_all")(weight=weight)
        np.testing.assert_array_equal(at_once.matrix, by_index.matrix)


def test_a_deep_copy_of_the_model_goes_on_exactly_as_the_original():
    """The workshop deep-copies the model before a month it may replay: copied trust matrices are
    no longer views of the copied array of all tables, and must still relax and update."""
    import copy

    from ics_sim.model.record import summarise

    original = _stepped(["years=2", "governance=consultative_forum", "governance.ladder=true",
                         "governance.ladder_up_trust=0.35", "governance.ladder_down_trust=0.2",
                         "governance.ladder_months=3"], 7, seed=1)
    twin = copy.deepcopy(original)
    for _ in range(17):
        original.step()
        twin.step()
    for a, b in zip(original.partnerships, twin.partnerships, strict=True):
        np.testing.assert_array_equal(a.trust.matrix, b.trust.matrix)
        assert np.all(np.diag(b.trust.matrix) == 1.0)
    assert summarise(original.recorder) == summarise(twin.recorder)


@pytest.mark.parametrize(
    "overrides",
    [
        ["governance=committee"],
        ["governance=consultative_forum"],  # every statutory body takes the table's view as advice
        ["governance=individual_executive", "governance.sro_appointment=joint"],  # the SRO alone
        ["governance=lead_provider"],
    ],
)
def test_listening_weights_at_once_equal_each_member_s_listening_weight(overrides):
    m = _stepped(["years=1", *overrides], 3)
    rng = np.random.default_rng(7)
    for part in m.partnerships:
        part.trust.matrix[...] = rng.random(part.trust.matrix.shape)  # trust away from its start
        part.trust._unit_diagonal()
        labels = [s.label for s in part.seats]
        got = part.listening_weights(labels, np.array([part.trust.index(k) for k in labels]))
        want = [part.listening_weight(k) for k in labels]
        assert got.tolist() == want


@pytest.mark.parametrize("form", ["consultative_forum", "committee", "joint_committee"])
def test_tables_reviewed_together_equal_each_table_judged_alone(form):
    import copy

    m = _stepped(["years=2", f"governance={form}", "interests.enabled=true"], 19)
    rng = np.random.default_rng(11)
    for part in m.partnerships:  # some members tolerant, some not: kept and broken both happen
        part.trust.matrix[...] = rng.random(part.trust.matrix.shape)
        part.trust._unit_diagonal()
    together, alone = copy.deepcopy(m), copy.deepcopy(m)
    review_all(together.partnerships)
    judged = 0
    for part in alone.partnerships:
        part._held_meeting()
        part._small_win()
        judged += part.reference_plan() is not None
        judged_alone(part)
    assert judged > 0
    for a, b in zip(together.partnerships, alone.partnerships, strict=True):
        np.testing.assert_array_equal(a.trust.matrix, b.trust.matrix)
        assert a.meetings_total == b.meetings_total
    # and a table judged on its own money alone gives the same as with every place's
    one = copy.deepcopy(m)
    for part, want in zip(one.partnerships, alone.partnerships, strict=True):
        part.review()
        np.testing.assert_array_equal(part.trust.matrix, want.trust.matrix)


def test_every_vcse_sector_s_reach_at_once_equals_each_sector_s_reach():
    from ics_sim.model.organisations import VCSE

    m = _stepped(["years=1"], 2)
    rng = np.random.default_rng(13)
    for v in m.vcses:  # capacities apart and some bodies folded
        v.capacity[:] = rng.random(v.capacity.shape)
        v.alive[:] = rng.random(v.alive.shape) > 0.3
    got = VCSE.hidden_reaches(m.vcses)
    assert got.tolist() == [v.hidden_reach() for v in m.vcses]
    assert len(set(got.tolist())) > 1
    assert VCSE.hidden_reaches(m.vcses[::-1]).tolist() == got[::-1].tolist()  # any order of sectors


def _decided_alone(proposals, votes, setter, rule, tolerance, moderation, supermajority, reference=None, start=0.0):
    """One table's decision as the meeting took it before tables decided together: the coalition
    grown one member at a time and the amendments tried one at a time (the definition)."""
    from ics_sim.model.governance.allocation import plan_distances
    from ics_sim.model.governance.decisions import STEPS, Outcome, passes

    def imbalance(plan):
        d = plan_distances(plan, ref)
        others = d[np.arange(len(d)) != setter]
        if others.size == 0:
            return 0.0
        num, den = others.mean() - d[setter], others.mean() + d[setter]
        return float(num / den) if den > 1e-12 else 0.0

    ref = proposals if reference is None else reference
    m = len(proposals)
    if rule == "lead_decides" or m == 1:
        plan = proposals[setter].copy()
        return Outcome(True, plan, np.ones(m, dtype=bool), 0.0, imbalance(plan))
    opening = (1.0 - moderation) * proposals[setter] + moderation * proposals.mean(axis=0)
    short = plan_distances(opening, proposals) - tolerance
    coalition = np.zeros(m, dtype=bool)
    for i in [setter, *(j for j in np.argsort(short, kind="stable") if j != setter)]:
        coalition[i] = True
        if passes(rule, coalition, votes, supermajority):
            break
    target = proposals[coalition].mean(axis=0)
    accepted = np.zeros(m, dtype=bool)
    for lam in STEPS[STEPS >= start - 1e-9]:
        cand = (1.0 - lam) * opening + lam * target
        accepted = np.array([plan_distances(cand, p[None])[0] for p in proposals]) <= tolerance
        accepted[setter] = True
        if passes(rule, accepted, votes, supermajority):
            return Outcome(True, cand, accepted, float(lam), imbalance(cand), coalition)
    return Outcome(False, None, accepted, 1.0, 0.0, coalition)


def test_tables_deciding_together_decide_as_each_table_alone():
    """Every rule, whole and budget-weighted votes, a moderating chair, a tabled compromise not
    withdrawn, a table of one, tables of different sizes: decide_all, and decide, give each
    table's outcome exactly."""
    from ics_sim.model.governance.decisions import Agenda, decide, decide_all

    rng = np.random.default_rng(17)
    agendas = []
    for _ in range(400):
        m = int(rng.choice([1, 2, 3, 7, 7, 9]))
        n = int(rng.choice([3, 8, 8, 11]))
        base = rng.uniform(1e5, 1e7, (1, n, 5))
        proposals = base * (1.0 + rng.uniform(0.0, 0.6) * rng.uniform(-1.0, 1.0, (m, n, 5)))
        rule = str(rng.choice(["majority", "supermajority", "consensus", "weighted", "lead_decides"]))
        votes = rng.uniform(1e6, 1e8, m) if rule == "weighted" else rng.choice([1.0, 2.0], m)
        reference = proposals * rng.uniform(0.9, 1.1, proposals.shape) if rng.random() < 0.5 else None
        agendas.append(Agenda(proposals, votes, 0, rule, rng.uniform(0.0, 0.3, m), float(rng.choice([0.0, 0.3])),
                              0.75, reference, float(rng.choice([0.0, 1.0]))))
    together = decide_all(agendas)
    fields = ("decided", "plan", "accepted", "compromise", "power_imbalance", "coalition")
    outcomes = {"decided": 0, "deadlocked": 0}
    for a, got in zip(agendas, together, strict=True):
        want = _decided_alone(a.proposals, a.votes, a.setter, a.rule, a.tolerance, a.moderation, a.supermajority, a.reference, a.start)
        alone = decide(a.proposals, a.votes, a.setter, a.rule, a.tolerance, a.moderation, a.supermajority, a.reference, a.start)
        for out in (got, alone):
            for f in fields:
                x, y = getattr(out, f), getattr(want, f)
                if isinstance(y, np.ndarray):
                    assert x.dtype == y.dtype
                    np.testing.assert_array_equal(x, y, err_msg=f)
                else:
                    assert x == y and type(x) is type(y), (f, x, y)
        outcomes["decided" if want.decided else "deadlocked"] += 1
    assert min(outcomes.values()) > 20  # both ways out of a meeting are checked


def _pulled(m, rng) -> None:
    """Every system's strategy and spending mix away from each other's, and local priorities
    drawn afresh: every organisation's preferences differ."""
    for icp in m.icps:
        icp.strategy = rng.dirichlet(np.ones(5))
    m.finance.system_spend_share[...] = rng.dirichlet(np.ones(5), size=m.finance.system_spend_share.shape[0])
    m.local_priorities[...] = rng.normal(0.0, 0.4, m.local_priorities.shape)


@pytest.mark.parametrize(
    "overrides",
    [
        ["governance=committee"],
        ["interests.enabled=true"],
        # trusts' interest follows their activity share, each its own
        ["interests.enabled=true", "governance=lead_provider", "governance.outcome_payment_share=0.6"],
        ["system=herefordshire_worcestershire", "interests.enabled=true", "governance=consultative_forum"],
    ],
)
def test_every_organisation_s_preferences_at_once_equal_each_organisation_asked_alone(overrides):
    from ics_sim.model.organisations import proposal_preferences_all

    m = _stepped(["years=1", *overrides], 5)
    rng = np.random.default_rng(19)
    orgs = list({id(o): o for part in m.partnerships for o in part.orgs.values()}.values())
    for trial in range(6):
        if trial:
            _pulled(m, rng)
            m.place_spend_by_domain[...] = rng.random(m.place_spend_by_domain.shape) * 1e7
            m.pot_spend_by_domain[...] = m.place_spend_by_domain * rng.random(m.place_spend_by_domain.shape)
        if trial == 3:  # one PCN with services of its own beside the others'
            next(o for o in orgs if o.kind == "pcn").own_domains = (0, 3)
        picked = [orgs[k] for k in rng.permutation(len(orgs))[: int(rng.integers(1, len(orgs) + 1))]]
        got = proposal_preferences_all(picked)
        assert got.shape == (len(picked), 5)
        for org, row in zip(picked, got, strict=True):
            np.testing.assert_array_equal(row, org.proposal_preferences(), err_msg=org.name)
    if "governance.outcome_payment_share=0.6" in overrides:  # the trusts' own shares were read
        shares = {org.activity_share() for org in orgs if org.kind == "community_trust"}
        assert len(shares) > 1


@pytest.mark.parametrize(
    "overrides",
    [
        ["interests.enabled=true", "governance=individual_executive", "governance.sro_appointment=joint"],
        ["system=herefordshire_worcestershire", "interests.enabled=true",
         "place_settings.herefordshire.governance.form=individual_executive",
         "place_settings.herefordshire.governance.sro_appointment=joint"],
        ["interests.enabled=true", "governance=committee"],
    ],
)
def test_every_seat_s_preferences_at_once_equal_each_seat_s_preferences(overrides):
    """Seats of many tables in any order, organisations seated at several tables, and joint
    ICB-council posts weighing both bodies' preferences."""
    from ics_sim.model.governance.partnership import _preferences_at_once

    m = _stepped(["years=1", *overrides], 3)
    rng = np.random.default_rng(23)
    _pulled(m, rng)
    pairs = [(t, s) for t, part in enumerate(m.partnerships) for s in part.seats]
    joint = 0
    for _ in range(8):
        picked = [pairs[k] for k in rng.choice(len(pairs), size=int(rng.integers(1, 3 * len(pairs))))]
        table = np.array([t for t, _ in picked], dtype=np.intp)
        got = _preferences_at_once(m.partnerships, table, [s for _, s in picked])
        for (t, s), row in zip(picked, got, strict=True):
            np.testing.assert_array_equal(row, m.partnerships[t]._preferences(s), err_msg=s.label)
            joint += s.label == "icb" and m.partnerships[t].joint_sro
    assert joint > 0 or "governance=committee" in overrides


@pytest.mark.parametrize(
    "overrides",
    [
        # a lead provider's table (the council plans beside it unheard) next to a committee's
        ["system=herefordshire_worcestershire", "interests.enabled=true", "place_settings.herefordshire.governance.form=lead_provider"],
        # an advisory table (the ICB plans the pot too) next to a pooling one
        ["system=herefordshire_worcestershire", "allocation=need_weighted_hi",
         "place_settings.herefordshire.governance.form=consultative_forum", "place_settings.worcestershire.governance.form=joint_committee"],
        ["system=england", "interests.enabled=true", "allocation=per_head"],
    ],
)
def test_own_budgets_at_once_equal_each_table_planning_alone_with_plans_missing(overrides):
    """Every body's own plan at once (plan_own_budgets_all) against each table's
    plan_own_budgets, over random sets of tables, trust and preferences, some tables with no plan
    of their own to lean towards."""
    import copy

    from ics_sim.model.governance.partnership import plan_own_budgets_all

    m = _stepped(["years=1", *overrides], 2)
    rng = np.random.default_rng(29)
    for _ in range(4):
        _pulled(m, rng)
        for part in m.partnerships:
            part.trust.matrix[...] = rng.random(part.trust.matrix.shape)
            part.trust._unit_diagonal()
            if rng.random() < 0.3:  # no plan in force to lean towards
                part.pot_plan = part.last_pot_plan = part.shared_view = part.last_shared_view = None
        picked = sorted(rng.choice(len(m.partnerships), size=int(rng.integers(1, len(m.partnerships) + 1)), replace=False))
        together, alone = copy.deepcopy(m), copy.deepcopy(m)
        plan_own_budgets_all([together.partnerships[p] for p in picked])
        for p in picked:
            alone.partnerships[p].plan_own_budgets()
        for a, b in zip(together.partnerships, alone.partnerships, strict=True):
            for plan in ("council_plan", "pot_plan"):
                x, y = getattr(a, plan), getattr(b, plan)
                assert (x is None) == (y is None)
                if x is not None:
                    np.testing.assert_array_equal(x, y, err_msg=f"{a.place} {plan}")


def test_tables_of_every_size_deciding_as_one_stack_decide_as_each_table_alone():
    """Tables of one number of members but of many numbers of neighbourhoods (one stack, each
    plan's cells one run), in any order, some with a compromise already tabled: decide_all gives
    each table's outcome exactly, the plans of their own."""
    from ics_sim.model.governance.decisions import Agenda, decide_all

    rng = np.random.default_rng(31)
    for rule in ("majority", "supermajority", "consensus", "weighted"):
        agendas = []
        for _ in range(120):
            m, n = 7, int(rng.integers(1, 45))
            base = rng.uniform(1e5, 1e7, (1, n, 5))
            proposals = base * (1.0 + rng.uniform(0.0, 0.6) * rng.uniform(-1.0, 1.0, (m, n, 5)))
            votes = rng.uniform(1e6, 1e8, m) if rule == "weighted" else rng.choice([1.0, 2.0], m)
            reference = proposals * rng.uniform(0.9, 1.1, proposals.shape) if rng.random() < 0.5 else None
            agendas.append(Agenda(proposals, votes, 0, rule, rng.uniform(0.0, 0.3, m), float(rng.choice([0.0, 0.3])),
                                  0.75, reference, float(rng.choice([0.0, 0.0, 1.0]))))
        outcomes = {True: 0, False: 0}
        for a, got in zip(agendas, decide_all(agendas), strict=True):
            want = _decided_alone(a.proposals, a.votes, a.setter, a.rule, a.tolerance, a.moderation, a.supermajority, a.reference, a.start)
            for f in ("decided", "plan", "accepted", "compromise", "power_imbalance", "coalition"):
                x, y = getattr(got, f), getattr(want, f)
                if isinstance(y, np.ndarray):
                    assert x.dtype == y.dtype and x.shape == y.shape
                    np.testing.assert_array_equal(x, y, err_msg=f)
                else:
                    assert x == y and type(x) is type(y), (f, x, y)
            if got.plan is not None:
                assert got.plan.flags.owndata and got.plan.flags.c_contiguous
            outcomes[want.decided] += 1
        assert min(outcomes.values()) > 5, outcomes  # both ways out of a meeting


@pytest.mark.parametrize(
    "overrides",
    [
        ["governance=committee"],
        ["governance=consultative_forum", "trust.initial=0.05"],  # every statutory body takes advice (some past 1)
        ["system=herefordshire_worcestershire", "place_settings.herefordshire.governance.form=individual_executive",
         "place_settings.herefordshire.governance.sro_appointment=joint", "place_settings.herefordshire.governance.advice_weight=0.9",
         "place_settings.worcestershire.governance.form=consultative_forum"],
        ["system=england", "membership.social_care=false"],  # many tables
    ],
)
def test_every_seat_s_listening_weight_at_once_equals_its_listening_weight(overrides):
    """Seats of tables of different sizes and forms in any order, repeated, trust away from its
    start: _listening_at_once gives each seat's listening_weight."""
    from ics_sim.model.governance.partnership import _listening_at_once

    m = _stepped(["years=1", *overrides], 2)
    rng = np.random.default_rng(37)
    parts = m.partnerships
    for part in parts:
        part.trust.matrix[...] = rng.random(part.trust.matrix.shape)
        part.trust._unit_diagonal()
    pairs = [(t, s) for t, part in enumerate(parts) for s in part.seats]
    capped = 0
    for _ in range(5):
        picked = [pairs[k] for k in rng.choice(len(pairs), size=int(rng.integers(1, 2 * len(pairs))))]
        table = np.array([t for t, _ in picked], dtype=np.intp)
        rows = np.array([parts[t].trust.index(s.label) for t, s in picked], dtype=np.intp)
        got = _listening_at_once(parts, table, [s for _, s in picked], rows)
        assert got.tolist() == [parts[t].listening_weight(s.label) for t, s in picked]
        capped += int((got == 1.0).sum())
    if "place_settings.worcestershire.governance.form=consultative_forum" in overrides:  # tables of two sizes
        assert len({p.trust.n for p in parts}) > 1
    if "trust.initial=0.05" in overrides:  # advice taken in full where trust is high
        assert capped > 0
    # a member alone at its table listens fully (no one else to trust), beside tables of others
    from ics_sim.model.governance.trust import TrustNetwork

    alone = parts[0]
    alone.trust = TrustNetwork([alone.holder_key], m.cfg.trust)
    holder = next(s for s in alone.seats if s.label == alone.holder_key)
    others = [(t, s) for t, s in pairs if t > 0][:5]
    table = np.array([0] + [t for t, _ in others], dtype=np.intp)
    rows = np.array([0] + [parts[t].trust.index(s.label) for t, s in others], dtype=np.intp)
    got = _listening_at_once(parts, table, [holder] + [s for _, s in others], rows)
    assert got.tolist() == [alone.listening_weight(holder.label)] + [parts[t].listening_weight(s.label) for t, s in others]


def test_many_plans_of_random_sizes_laid_end_to_end_equal_each_plan_made_alone():
    """ragged_plans over many random sets of plans (one row to wider than eight, weights over
    twelve orders of magnitude, domains and plans nobody is believed to need)."""

    rng = np.random.default_rng(41)
    for _ in range(30):
        sizes = rng.integers(1, 70, int(rng.integers(1, 40)))
        n = int(sizes.sum())
        weights = rng.random((n, 5)) * 10.0 ** rng.uniform(-3, 9, (n, 5))
        weights[rng.random(n) < 0.1] = 0.0
        starts = np.cumsum(sizes) - sizes
        for k in np.flatnonzero(rng.random(len(sizes)) < 0.2):
            weights[starts[k] : starts[k] + sizes[k], int(rng.integers(5))] = 0.0
        _assert_ragged_plans_as_alone(rng.random((len(sizes), 5)) * 1e8, weights, sizes)


def test_a_needs_assessment_sharpens_every_place_kind_as_kind_by_kind():
    """Observation.sharpen on the kinds' stacked errors against the definition, each place-level
    kind's errors in the place multiplied in turn; also on a deep copy (errors no longer views of
    the stack) and with an errors array assigned."""
    import copy

    from ics_sim.model.observation import OBSERVERS

    m = _stepped(["years=1", "system=herefordshire_worcestershire"], 2)
    rng = np.random.default_rng(43)
    for obs in (m.observation, copy.deepcopy(m.observation)):
        obs.errors["council"] = rng.normal(size=obs.errors["council"].shape)  # assigned: not a view of the stack
        for p in (0, 1, 0):
            mask = m.layout.nb_place == p
            want = {kind: e.copy() for kind, e in obs.errors.items()}
            f = 1.0 - obs.cfg.observation.jsna_sharpening
            for kind, level in OBSERVERS.items():
                if level == "place":
                    want[kind][mask] *= f
            before = obs.state()
            obs.sharpen(mask)
            for kind in OBSERVERS:
                np.testing.assert_array_equal(obs.errors[kind], want[kind], err_msg=kind)
            assert obs.state() is not before  # what observers see has changed


@pytest.mark.parametrize(
    "overrides",
    [
        # an advisory table beside a pooling one (council money in the pot), councils' interests on
        ["system=herefordshire_worcestershire", "interests.enabled=true", "allocation=need_weighted_hi",
         "place_settings.herefordshire.governance.form=consultative_forum", "place_settings.worcestershire.governance.form=joint_committee"],
        # a joint SRO beside a lead provider (the council plans beside it unheard)
        ["system=herefordshire_worcestershire", "place_settings.herefordshire.governance.form=individual_executive",
         "place_settings.herefordshire.governance.sro_appointment=joint", "place_settings.worcestershire.governance.form=lead_provider"],
        # tables moving up and down the ladder of formality (new seats, trust and pooling)
        ["interests.enabled=true", "governance=consultative_forum", "governance.ladder=true", "governance.ladder_up_trust=0.35",
         "governance.ladder_down_trust=0.2", "governance.ladder_months=3"],
    ],
)
def test_proposals_and_own_plans_at_once_equal_each_table_alone_month_after_month(overrides):
    """Month after month of a run (trust, beliefs, preferences and plans moving), every table's
    proposals at once against each table's voter_proposals, and every body's own plan at once
    against each table's plan_own_budgets, over random sets of tables."""
    import copy

    from ics_sim.model.governance.partnership import meeting_proposals, plan_own_budgets_all

    m = _stepped(["years=2", *overrides], 0)
    rng = np.random.default_rng(47)
    forms = set()
    for month in range(20):
        m.step()
        parts = [p for p in m.partnerships if rng.random() < 0.8] or m.partnerships[:1]
        for part, got in zip(parts, meeting_proposals(parts), strict=True):
            want = part.voter_proposals(part.voters, part.meeting_envelope(), part.forum_belief())
            np.testing.assert_array_equal(got, want, err_msg=f"month {month} place {part.place}")
        together, alone = copy.deepcopy(m), copy.deepcopy(m)
        plan_own_budgets_all([together.partnerships[p.place] for p in parts])
        for p in parts:
            alone.partnerships[p.place].plan_own_budgets()
        for a, b in zip(together.partnerships, alone.partnerships, strict=True):
            for plan in ("council_plan", "pot_plan"):
                x, y = getattr(a, plan), getattr(b, plan)
                assert (x is None) == (y is None)
                if x is not None:
                    np.testing.assert_array_equal(x, y, err_msg=f"month {month} place {a.place} {plan}")
        forms |= {p.form for p in m.partnerships}
    if "governance.ladder=true" in overrides:  # the forms moved
        assert len(forms) > 1, forms


def test_keys_grouped_in_the_order_first_seen():
    from ics_sim.model.organisations import first_seen

    rng = np.random.default_rng(53)
    for _ in range(20):
        keys = [("k", int(x)) for x in rng.integers(0, 6, int(rng.integers(1, 30)))]
        distinct, at = first_seen(keys)
        want = []
        for key in keys:
            if key not in want:
                want.append(key)
        assert distinct == want
        assert [distinct[g] for g in at.tolist()] == keys
