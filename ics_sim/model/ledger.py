"""The ledger: every budget holder's money for the year, what it spent, and what was left
(MODEL.md section 6.5; ODD 7.5).

Holders: ``icb`` (the whole NHS allocation of a system), split into ``icb_retained`` and
``icb_delegated``; ``pot`` (a place partnership's pot); ``council`` (a council's whole budget,
own spending plus its pooled share of the pot); ``vcse`` (a VCSE body's external income). Each
April the year's budgets open; money leaves them each month as care spending (a twelfth of the
annual plan, less running costs) and as running costs (:mod:`~ics_sim.model.running_costs`); the
year closes into one row per holder (year, holder, unit, budget, spent on care, running costs,
unspent), with ``budget = spent + running + unspent``.
"""

from __future__ import annotations

import numpy as np

from ics_sim.model.running_costs import cell_groups


class Ledger:
    """Budgets and spending by holder, closed into :attr:`rows` once a year.

    What each holder has spent is kept as arrays, one per kind of holder (``icb``,
    ``icb_retained``, ``icb_delegated`` per system; ``pot``, ``council``, ``vcse`` per place), so a
    month's spending is booked for every holder at once; :attr:`year_spent` and
    :attr:`year_running` read them by key.

    Attributes:
        year_budget: this year's budget per key ``"holder:unit"``, GBP.
        year_spent: spent on care so far this year per key, GBP (read-only).
        year_running: running costs paid so far this year per key, GBP (read-only).
        rows: one dict per holder and closed year.
    """

    def __init__(self):
        self.year_budget: dict[str, float] = {}
        self._spent: dict[str, np.ndarray] = {}
        self._running: dict[str, np.ndarray] = {}
        self.rows: list[dict] = []
        self._grown = 0  # how many times an array was grown (a new holder's unit)
        self._sized: tuple | None = None  # (layout id, _grown) when the arrays were last sized

    def _slot(self, store: dict[str, np.ndarray], key: str) -> tuple[np.ndarray, int]:
        """The array of ``key``'s kind of holder (grown to hold its unit) and the unit."""
        kind, _, unit = key.partition(":")
        u = int(unit)
        arr = store.get(kind)
        if arr is None or len(arr) <= u:
            grown = np.zeros(u + 1)
            if arr is not None:
                grown[: len(arr)] = arr
            arr = store[kind] = grown
            self._grown += 1
        return arr, u

    def _read(self, store: dict[str, np.ndarray]) -> dict[str, float]:
        out = {}
        for key in self.year_budget:
            kind, _, unit = key.partition(":")
            arr = store.get(kind)
            out[key] = arr[int(unit)] if arr is not None and int(unit) < len(arr) else 0.0
        return out

    @property
    def year_spent(self) -> dict[str, float]:
        return self._read(self._spent)

    @property
    def year_running(self) -> dict[str, float]:
        return self._read(self._running)

    def open(self, key: str, budget: float, spent: float | None = None) -> None:
        """Set this year's budget of ``key`` (and, when given, reset what it has spent)."""
        self.year_budget[key] = budget
        if spent is not None:
            arr, u = self._slot(self._spent, key)
            arr[u] = spent
            arr, u = self._slot(self._running, key)
            arr[u] = 0.0

    def start_year(self) -> None:
        """Nothing spent yet by any holder."""
        for key in self.year_budget:
            self._slot(self._spent, key)
            self._slot(self._running, key)
        for store in (self._spent, self._running):
            for arr in store.values():
                arr[:] = 0.0

    def close_year(self, year: int) -> None:
        """One row per holder: the year's budget, what was spent on care, the running costs paid
        and what was left."""
        spent_by_key, running_by_key = self.year_spent, self.year_running
        for key, budget in self.year_budget.items():
            spent = spent_by_key[key]
            running = running_by_key[key]
            kind, _, unit = key.partition(":")
            self.rows.append(
                {"year": year, "holder": kind, "unit": int(unit), "budget": budget, "spent": spent, "running": running, "unspent": budget - spent - running}
            )

    def book(self, model, spending) -> None:
        """Money leaves budgets as it is spent (a twelfth of the annual plan each month), for every
        holder at once; each holder's total takes the month's amounts in the order one place (and
        system) after another would book them.

        Args:
            model: the :class:`~ics_sim.model.ICSModel` (its finance and layout).
            spending: this month's :class:`~ics_sim.model.commissioning.Spending`.
        """
        L, fin = model.layout, model.finance
        central, paid = spending.central, spending.running
        columns = central.shape[1]
        places = cell_groups(L, L.place_index, columns, "places")
        systems = cell_groups(L, L.system_index, columns, "systems")
        spent, run = self._arrays(L)
        central_month = systems.sum(central.ravel()) / 12.0
        spent["icb_retained"] += central_month
        run["icb_retained"] += paid.icb
        run["icb"] += paid.icb
        pot, own, vcse = spending.place_totals(places) / 12.0  # each place's pot, council and VCSE spending
        spent["pot"] += pot
        run["pot"] += paid.pot
        env = np.add.reduce(fin.pot_envelope, axis=1)  # each row's .sum(), without the Python layer
        council_in_pot = np.add.reduce(fin.council_budget - fin.council_own_envelopes(), axis=1)
        nhs_pot_share = np.divide(env - council_in_pot, env, out=np.ones(env.shape), where=env > 0)
        spent["council"] += own + pot * (1 - nhs_pot_share)
        run["council"] += paid.council + paid.pot * (1 - nhs_pot_share)
        # the ICB's totals take their places' shares one place after another (np.add.at adds in
        # index order)
        system, nhs_spent, nhs_running = L.place_system, pot * nhs_pot_share, paid.pot * nhs_pot_share
        np.add.at(spent["icb"], system, nhs_spent)
        np.add.at(spent["icb_delegated"], system, nhs_spent)
        np.add.at(run["icb"], system, nhs_running)
        np.add.at(run["icb_delegated"], system, nhs_running)
        spent["vcse"] += vcse
        run["vcse"] += paid.vcse
        spent["icb"] += central_month

    def _arrays(self, layout) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Every holder kind's arrays of spending and running costs, sized for ``layout``."""
        if self._sized == (id(layout), self._grown):
            return self._spent, self._running
        for store in (self._spent, self._running):
            for kinds, n in ((("icb", "icb_retained", "icb_delegated"), layout.n_systems), (("pot", "council", "vcse"), layout.n_places)):
                for kind in kinds:
                    self._slot(store, f"{kind}:{n - 1}")
        self._sized = (id(layout), self._grown)
        return self._spent, self._running
