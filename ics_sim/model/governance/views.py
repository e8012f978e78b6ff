"""The place tables' pooled views of need, computed once a month for every place at once.

A place table pools what its members know (:meth:`PlacePartnership.forum_belief
<ics_sim.model.governance.partnership.PlacePartnership.forum_belief>`): a precision-weighted mean
of the members' log estimates of visible need, and the best-reaching member's sight of hidden need.
Every place whose table seats the same kinds of organisation in the same order pools the same
observer fields, so the pooling is done once a month over the whole population for each such
seating, with each place's own reach into hidden need (a VCSE sector's reach shrinks as its
bodies fold) as a per-neighbourhood array, and each place reads its rows.

Element by element these are the operations the per-place pooling performed, in the same order on
the same numbers (a scalar reach and the same reach repeated over a place's rows multiply alike),
so every view is bit-for-bit what it was.

Commissioning needs, every month and for every place, the share of need the pot holder
recognises as hidden after listening to its table (:meth:`TableViews.holder_outreach`): the same
element-by-element arithmetic as the holder's working belief, on whole-population arrays with each
place's listening weight repeated over its rows.
"""

from __future__ import annotations

import numpy as np

from ics_sim.domains import N_DOMAINS
from ics_sim.model.governance.allocation import Belief
from ics_sim.model.organisations import Organisation


class TableViews:
    """This month's pooled views of every seating of the place tables, and what the pot holders
    make of them (:meth:`holder_outreach`, for every place at once).

    Valid while the month and the observation state are unchanged (need moves, errors drift or a
    needs assessment sharpens them: the observation's cache is replaced, and so is this one).
    Members' reach into hidden need is read when a seating's views are first asked for in a month;
    it changes only when organisations step, at the end of the month.
    """

    def __init__(self, model):
        self.model = model
        self._key: tuple | None = None
        self._pooled: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._logs: dict[tuple, np.ndarray] = {}
        self._holder_plan: tuple | None = None

    def forum(self, part) -> Belief:
        """The pooled view of ``part``'s table over its neighbourhoods (fresh arrays)."""
        visible, hidden = self._whole(part)
        rows = self.model.observation.rows(part.idx)  # a place's run of rows: views, not copies
        return Belief(visible[rows], hidden[rows])

    def _whole(self, part) -> tuple[np.ndarray, np.ndarray]:
        self._whole_state()
        seating = part.seating
        pooled = self._pooled.get(seating)
        if pooled is None:
            pooled = self._pool(seating)
            self._pooled[seating] = pooled
        return pooled

    def _log_visible(self, key: tuple, visible: np.ndarray) -> np.ndarray:
        """``np.log(visible)`` of a whole-population array, once a month (``key`` names it)."""
        self._whole_state()
        out = self._logs.get(key)
        if out is None:
            out = self._logs[key] = np.log(visible)
        return out

    def _whole_state(self) -> None:
        m = self.model
        state = m.observation.state()
        if self._key is None or self._key[0] != m.month or self._key[1] is not state:
            self._key, self._pooled, self._logs = (m.month, state), {}, {}

    def holder_outreach(self) -> np.ndarray:
        """Per neighbourhood, the outreach share (:attr:`Belief.outreach_share`) of the pot
        holder's working belief at its place's table: the first voter's
        :meth:`~ics_sim.model.governance.partnership.PlacePartnership.working_belief`, or the
        table's pooled view where nobody votes. For every place at once: a holder that reads its
        own observer field with its kind's reach (an ICB, a lead provider) is worked out on
        whole-population arrays, element by element the same operations on the same numbers as
        place by place; any other holder (a joint ICB-council post) place by place."""
        m = self.model
        obs, L = m.observation, m.layout
        shape = m.population.need.shape
        out = np.zeros(shape)
        fast, groups, slow = self._holders()
        for part in slow:
            voters = part._voters
            seat = voters[0] if voters else None
            forum = part.forum_belief()
            belief = part.working_belief(seat, forum) if seat is not None else forum
            out[obs.rows(part.idx)] = belief.outreach_share
        if not fast:
            return out
        weight = np.zeros(L.n_places)
        for part, label in fast:
            weight[part.place] = part.listening_weight(label)
        pieces = []
        for (observer, seating), (first, rows) in groups.items():
            whole_visible, whole_hidden = self._whole(first)
            pieces.append((rows, self._log_visible(("est", observer), obs.whole_visible_estimate(observer)),
                           obs.whole_seen(observer), self._log_visible(("forum", seating), whole_visible), whole_hidden))
        if len(pieces) == 1 and pieces[0][0].all():  # one kind of holder at one seating everywhere
            _, own_log, own_hidden, forum_log, forum_hidden = pieces[0]
        else:
            own_log, forum_log = np.empty(shape), np.empty(shape)
            own_hidden, forum_hidden = np.empty(shape), np.empty(shape)
            for rows, a, b, c, d in pieces:
                where = rows[:, None]
                np.copyto(own_log, a, where=where)
                np.copyto(own_hidden, b, where=where)
                np.copyto(forum_log, c, where=where)
                np.copyto(forum_hidden, d, where=where)
        w = weight[L.nb_place][:, None]
        visible = np.exp((1.0 - w) * own_log + w * forum_log)
        hidden = np.maximum(own_hidden, w * forum_hidden)
        share = Belief(visible, hidden).outreach_share
        if not slow:
            return share
        fast_rows = np.zeros(L.n_neighbourhoods, dtype=bool)
        for rows, *_ in pieces:
            fast_rows |= rows
        np.copyto(out, share, where=fast_rows[:, None])
        return out

    def _holders(self) -> tuple[list, dict, list]:
        """Which places' pot holders :meth:`holder_outreach` works out on whole-population arrays
        (with their seat labels), grouped by (observer field, seating) with each group's first
        place and rows, and the places worked out one by one. Kept while every table keeps its
        seats (a change of seats makes a new list of voters)."""
        parts = self.model.partnerships
        held = self._holder_plan
        if held is not None and len(held[0]) == len(parts) and all(a is p._voters for a, p in zip(held[0], parts, strict=True)):
            return held[1]
        L = self.model.layout
        fast, places, slow = [], {}, []
        for part in parts:
            voters = part._voters
            seat = voters[0] if voters else None
            if seat is not None and _reads_own_field(seat.org) and not (seat.label == "icb" and part.joint_sro):
                fast.append((part, seat.label))
                places.setdefault((seat.org.observer, part.seating), []).append(part)
            else:
                slow.append(part)
        groups = {key: (ps[0], np.isin(L.nb_place, [p.place for p in ps])) for key, ps in places.items()}
        self._holder_plan = ([p._voters for p in parts], (fast, groups, slow))
        return fast, groups, slow

    def _pool(self, seating: tuple) -> tuple[np.ndarray, np.ndarray]:
        m = self.model
        obs, L = m.observation, m.layout
        parts = [p for p in m.partnerships if p.seating == seating]
        places = [p.place for p in parts]
        shape = m.population.need.shape
        num = np.zeros(shape)
        den = 0.0
        hidden = np.zeros(shape)
        for j, (kind, observer) in enumerate(seating):
            w = obs.precision(observer)
            num += w * obs.whole_log_visible(observer)
            den += w
            # each place's member in this seat, with its own reach (the kind's default when None)
            reach = _reaches(obs, observer, kind, lambda j=j: [p.seats[j].org for p in parts], places, L.n_places)
            seen = obs.whole_hidden_seen(observer, reach[L.nb_place])
            hidden = np.maximum(hidden, parts[0].seats[j].org.hidden_belief(seen))
        assert num.shape[1] == N_DOMAINS
        return np.exp(num / den), hidden


def _reads_own_field(org) -> bool:
    """Whether ``org``'s belief is its observer field with the kind's default reach, unchanged
    (its class has no reach of its own and no discount of the hidden need it sees), so it can be
    read for the whole population."""
    cls = type(org)
    return cls.hidden_reach is Organisation.hidden_reach and cls.hidden_belief is Organisation.hidden_belief


def _reaches(obs, observer: str, kind: type, orgs, places: list[int], n_places: int) -> np.ndarray:
    """Per place in ``places``, the reach into hidden need of its organisation (``orgs()`` lists
    them, all of class ``kind``; the observer kind's default when the organisation has none of its
    own); 0 for places not listed. Organisations of a class that keeps the default reach are not
    asked one by one."""
    reach = np.zeros(n_places)
    default = obs.reach.get(observer, 0.0)
    if kind.hidden_reach is Organisation.hidden_reach:
        reach[places] = default
        return reach
    for org, p in zip(orgs(), places, strict=True):
        r = org.hidden_reach()
        reach[p] = default if r is None else r
    return reach


def whole_belief(model, orgs: list) -> Belief:
    """The beliefs of one kind of organisation with one per place (``orgs[p]`` is place ``p``'s,
    e.g. every council), over the whole population: each neighbourhood's row is its own place's
    organisation's :meth:`~ics_sim.model.organisations.Organisation.belief` (the same numbers),
    each with its own reach into hidden need. Read-only visible estimates."""
    obs, L = model.observation, model.layout
    first = orgs[0]
    if any(type(o) is not type(first) or o.observer != first.observer for o in orgs):
        raise ValueError("whole_belief: organisations of one kind and observer field, one per place")
    reach = _reaches(obs, first.observer, type(first), lambda: orgs, list(range(len(orgs))), L.n_places)
    hidden = first.hidden_belief(obs.whole_hidden_seen(first.observer, reach[L.nb_place]))
    return Belief(obs.whole_visible_estimate(first.observer), hidden)
