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


class Ledger:
    """Budgets and spending by holder, closed into :attr:`rows` once a year.

    Attributes:
        year_budget: this year's budget per key ``"holder:unit"``, GBP.
        year_spent: spent on care so far this year per key, GBP.
        year_running: running costs paid so far this year per key, GBP.
        rows: one dict per holder and closed year.
    """

    def __init__(self):
        self.year_budget: dict[str, float] = {}
        self.year_spent: dict[str, float] = {}
        self.year_running: dict[str, float] = {}
        self.rows: list[dict] = []

    def open(self, key: str, budget: float, spent: float | None = None) -> None:
        """Set this year's budget of ``key`` (and, when given, reset what it has spent)."""
        self.year_budget[key] = budget
        if spent is not None:
            self.year_spent[key] = spent
            self.year_running[key] = 0.0

    def start_year(self) -> None:
        """Nothing spent yet by any holder."""
        self.year_spent = {k: 0.0 for k in self.year_budget}
        self.year_running = {k: 0.0 for k in self.year_budget}

    def close_year(self, year: int) -> None:
        """One row per holder: the year's budget, what was spent on care, the running costs paid
        and what was left."""
        for key, budget in self.year_budget.items():
            spent = self.year_spent.get(key, 0.0)
            running = self.year_running.get(key, 0.0)
            kind, _, unit = key.partition(":")
            self.rows.append(
                {"year": year, "holder": kind, "unit": int(unit), "budget": budget, "spent": spent, "running": running, "unspent": budget - spent - running}
            )

    def book(self, model, spending) -> None:
        """Money leaves budgets as it is spent (a twelfth of the annual plan each month).

        Args:
            model: the :class:`~ics_sim.model.ICSModel` (its finance and layout).
            spending: this month's :class:`~ics_sim.model.commissioning.Spending`.
        """
        L, fin, spent, run = model.layout, model.finance, self.year_spent, self.year_running
        central, pot, council, paid = spending.central, spending.pot, spending.council, spending.running
        sys_keys, place_keys = self._keys(L)
        for s, m in enumerate(L.system_index):
            retained, icb, _ = sys_keys[s]
            spent[retained] += central[m].sum() / 12.0
            run[retained] += paid.icb[s]
            run[icb] += paid.icb[s]
        for p, i in enumerate(L.place_index):
            pot_key, council_key, vcse_key, s = place_keys[p]
            _, icb, delegated = sys_keys[s]
            pot_p = pot[i].sum() / 12.0
            spent[pot_key] += pot_p
            run[pot_key] += paid.pot[p]
            env = fin.pot_envelope[p].sum()
            council_in_pot = (fin.council_budget[p] - fin.council_own_envelope(p)).sum()
            nhs_pot_share = (env - council_in_pot) / env if env > 0 else 1.0
            own = council[i].sum() / 12.0
            spent[council_key] += own + pot_p * (1 - nhs_pot_share)
            run[council_key] += paid.council[p] + paid.pot[p] * (1 - nhs_pot_share)
            spent[icb] += pot_p * nhs_pot_share
            spent[delegated] += pot_p * nhs_pot_share
            run[icb] += paid.pot[p] * nhs_pot_share
            run[delegated] += paid.pot[p] * nhs_pot_share
            spent[vcse_key] += spending.vcse_external[i].sum() / 12.0
            run[vcse_key] += paid.vcse[p]
        for s, m in enumerate(L.system_index):
            spent[sys_keys[s][1]] += central[m].sum() / 12.0

    def _keys(self, layout) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str, int]]]:
        """The holders' keys per system (retained, whole ICB, delegated) and per place (pot,
        council, VCSE, and the place's system), made once for a layout."""
        cached = getattr(self, "_key_cache", None)
        if cached is None or cached[0] is not layout:
            systems = [(f"icb_retained:{s}", f"icb:{s}", f"icb_delegated:{s}") for s in range(layout.n_systems)]
            places = [(f"pot:{p}", f"council:{p}", f"vcse:{p}", int(layout.place_system[p])) for p in range(layout.n_places)]
            cached = self._key_cache = (layout, systems, places)
        return cached[1], cached[2]
