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
"""

from __future__ import annotations

import operator
from operator import attrgetter

import numpy as np

from ics_sim.domains import N_DOMAINS
from ics_sim.model.governance.allocation import Belief
from ics_sim.model.organisations import Organisation


class TableViews:
    """This month's pooled views of every seating of the place tables.

    Valid while the month and the observation state are unchanged (need moves, errors drift or a
    needs assessment sharpens them: the observation's cache is replaced, and so is this one).
    Members' reach into hidden need is read when a seating's views are first asked for in a month;
    it changes only when organisations step, at the end of the month.
    """

    def __init__(self, model):
        self.model = model
        self._key: tuple | None = None
        self._pooled: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        #: the list of tables last read (the model's own), their seats and :meth:`_seatings`
        self._grouped: tuple | None = None

    def forum(self, part) -> Belief:
        """The pooled view of ``part``'s table over its neighbourhoods (views of this month's pooled
        arrays when its neighbourhoods are a contiguous run)."""
        visible, hidden = self._whole(part)
        rows = self.model.observation.rows(part.idx)  # a place's run of rows: views, not copies
        return Belief(visible[rows], hidden[rows])

    def whole_forums(self, parts: list) -> Belief:
        """Every place's pooled view at once, over the whole population (``parts[p]`` is place
        ``p``'s table): each neighbourhood's row is its place's :meth:`forum` row, read from its
        seating's pooled arrays (views of them when every table has one seating). Read-only."""
        seatings = self._seatings(parts)
        if len(seatings) == 1:
            return Belief(*self._whole(parts[0]))
        shape = self.model.population.need.shape
        visible, hidden = np.zeros(shape), np.zeros(shape)
        for members, rows, _ in seatings.values():
            pooled_visible, pooled_hidden = self._whole(members[0])
            visible[rows] = pooled_visible[rows]
            hidden[rows] = pooled_hidden[rows]
        visible.flags.writeable = hidden.flags.writeable = False
        return Belief(visible, hidden)

    def _seatings(self, parts: list) -> dict[tuple, tuple[list, np.ndarray, list]]:
        """The tables ``parts`` by seating: per seating, its tables (in the order given), their
        neighbourhoods and, per seat, the organisation each table seats there; kept while every
        table keeps its seats (a table seated afresh has a new list of seats)."""
        seats = list(map(_SEATS, parts))
        held = self._grouped
        if held is None or held[0] is not parts or len(held[1]) != len(seats) or not all(map(operator.is_, held[1], seats)):
            groups: dict[tuple, list] = {}
            for part in parts:
                groups.setdefault(part.seating, []).append(part)
            rows = {key: (members, np.concatenate([part.idx for part in members]),
                          [[part.seats[j].org for part in members] for j in range(len(key))])
                    for key, members in groups.items()}
            held = self._grouped = (parts, seats, rows)
        return held[2]

    def _whole(self, part) -> tuple[np.ndarray, np.ndarray]:
        self._whole_state()
        seating = part.seating
        pooled = self._pooled.get(seating)
        if pooled is None:
            pooled = self._pool(seating)
            self._pooled[seating] = pooled
        return pooled

    def _whole_state(self) -> None:
        m = self.model
        state = m.observation.state()
        if self._key is None or self._key[0] != m.month or self._key[1] is not state:
            self._key, self._pooled = (m.month, state), {}

    def _pool(self, seating: tuple) -> tuple[np.ndarray, np.ndarray]:
        """The pooled (visible, hidden) views of the tables of ``seating`` over the whole
        population. Visible: ``exp(sum_j w_j log_est_j / sum_j w_j)`` with ``w_j`` seat ``j``'s
        precision, the weighted estimates of every seat in one product and added seat after seat
        (a sum over the first axis adds in that order, as the seat-by-seat loop did). Hidden: the
        most any seat's organisation believes it sees; a seat that sees nothing (a class with the
        default reach and hidden belief, for an observer kind with no reach) is passed over, as
        the maximum with its zeros leaves the others' non-negative views as they are."""
        m = self.model
        obs, L = m.observation, m.layout
        parts, _, seated = self._seatings(m.partnerships)[seating]
        places = [p.place for p in parts]
        observers = [observer for _, observer in seating]
        weights = [obs.precision(observer) for observer in observers]
        den = 0.0
        for w in weights:
            den += w
        num = np.add.reduce(np.array(weights)[:, None, None] * obs.whole_log_visibles(observers), axis=0)
        hidden = np.zeros(m.population.need.shape)
        blind = not obs.cfg.observation.perfect
        for j, (kind, observer) in enumerate(seating):
            if blind and _sees_nothing(obs, observer, kind):
                continue
            # each place's member in this seat, with its own reach (the kind's default when None)
            seen = _seen(obs, observer, kind, lambda j=j: seated[j], places, L)
            hidden = np.maximum(hidden, parts[0].seats[j].org.hidden_belief(seen))
        assert num.shape[1] == N_DOMAINS
        return np.exp(num / den), hidden


def _sees_nothing(obs, observer: str, kind: type) -> bool:
    """Whether organisations of class ``kind`` reading ``observer``'s field see no hidden need
    (their seen field is +0.0 everywhere, :meth:`~ics_sim.model.observation.Observation.whole_hidden_seen`
    with no reach, and believed as seen), with observation not perfect."""
    return (kind.hidden_reach is Organisation.hidden_reach and kind.hidden_belief is Organisation.hidden_belief
            and obs.reach.get(observer, 0.0) == 0.0)


def _seen(obs, observer: str, kind: type, orgs, places: list[int], layout) -> np.ndarray:
    """The hidden need seen by each place's organisation in ``places`` (``orgs()`` lists them, as
    :func:`_reaches`), over the whole population: the rows of the places listed are
    :meth:`~ics_sim.model.observation.Observation.whole_hidden_seen` with each place's reach (other
    rows are not to be read). Where every place listed has one reach (a class that keeps the
    default, or councils), it is the observation's field for that reach, worked out once a month
    for every reader (a reach repeated over rows and a single reach multiply alike); else the
    observation's field for those places' reaches (0 at places not listed), worked out once a
    month for each set of reaches (:meth:`~ics_sim.model.observation.Observation.place_hidden_seen`)."""
    if kind.hidden_reach is Organisation.hidden_reach:
        return obs.whole_hidden_seen(observer, obs.reach.get(observer, 0.0))
    listed = _reaches(obs, observer, kind, orgs)
    if len(listed) and (listed == listed[0]).all():
        return obs.whole_hidden_seen(observer, float(listed[0]))
    reach = np.zeros(layout.n_places)
    reach[places] = listed
    return obs.place_hidden_seen(observer, reach, layout.nb_place)


def _reaches(obs, observer: str, kind: type, orgs) -> np.ndarray:
    """The reach into hidden need of each organisation ``orgs()`` lists (all of class ``kind``,
    which does not keep the default reach; the observer kind's default for an organisation that
    has none of its own), in order. Read at once where the class can
    (:meth:`~ics_sim.model.organisations.Organisation.hidden_reaches`), else one by one."""
    members = orgs()
    at_once = kind.hidden_reaches(members)  # the class reads them all at once, where it can
    if at_once is not None:
        return np.asarray(at_once, dtype=float)
    default = obs.reach.get(observer, 0.0)
    return np.array([default if r is None else r for r in (org.hidden_reach() for org in members)], dtype=float)


_OBSERVER, _SEATS = attrgetter("observer"), attrgetter("seats")


def whole_belief(model, orgs: list) -> Belief:
    """The beliefs of one kind of organisation with one per place (``orgs[p]`` is place ``p``'s,
    e.g. every council), over the whole population: each neighbourhood's row is its own place's
    organisation's :meth:`~ics_sim.model.organisations.Organisation.belief` (the same numbers),
    each with its own reach into hidden need. Read-only (shared: the month's cached fields where they
    can be)."""
    obs, L = model.observation, model.layout
    first = orgs[0]
    if len(set(map(type, orgs))) != 1 or len(set(map(_OBSERVER, orgs))) != 1:  # C-speed over every place
        raise ValueError("whole_belief: organisations of one kind and observer field, one per place")
    hidden = first.hidden_belief(_seen(obs, first.observer, type(first), lambda: orgs, list(range(len(orgs))), L))
    return Belief(obs.whole_visible_estimate(first.observer), hidden)


def place_beliefs(model, orgs: list, places: list[int]) -> Belief:
    """The beliefs of one kind of organisation at some places (``orgs[i]`` is place
    ``places[i]``'s, all of one class and observer field), over the whole population: the rows of
    each of those places are its organisation's
    :meth:`~ics_sim.model.organisations.Organisation.belief` (the same numbers, each with its own
    reach into hidden need: :func:`_seen`, the month's cached field where all have one); the rows
    of other places are not theirs. Read-only visible estimates."""
    obs, L = model.observation, model.layout
    first = orgs[0]
    hidden = first.hidden_belief(_seen(obs, first.observer, type(first), lambda: orgs, places, L))
    return Belief(obs.whole_visible_estimate(first.observer), hidden)
