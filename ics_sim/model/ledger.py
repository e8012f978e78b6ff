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
        for s, m in enumerate(L.system_index):
            spent[f"icb_retained:{s}"] += central[m].sum() / 12.0
            run[f"icb_retained:{s}"] += paid.icb[s]
            run[f"icb:{s}"] += paid.icb[s]
        for p, i in enumerate(L.place_index):
            pot_p = pot[i].sum() / 12.0
            spent[f"pot:{p}"] += pot_p
            run[f"pot:{p}"] += paid.pot[p]
            env = fin.pot_envelope[p].sum()
            council_in_pot = (fin.council_budget[p] - fin.council_own_envelope(p)).sum()
            nhs_pot_share = (env - council_in_pot) / env if env > 0 else 1.0
            own = council[i].sum() / 12.0
            spent[f"council:{p}"] += own + pot_p * (1 - nhs_pot_share)
            run[f"council:{p}"] += paid.council[p] + paid.pot[p] * (1 - nhs_pot_share)
            s = int(L.place_system[p])
            spent[f"icb:{s}"] += pot_p * nhs_pot_share
            spent[f"icb_delegated:{s}"] += pot_p * nhs_pot_share
            run[f"icb:{s}"] += paid.pot[p] * nhs_pot_share
            run[f"icb_delegated:{s}"] += paid.pot[p] * nhs_pot_share
            spent[f"vcse:{p}"] += spending.vcse_external[i].sum() / 12.0
            run[f"vcse:{p}"] += paid.vcse[p]
        for s, m in enumerate(L.system_index):
            spent[f"icb:{s}"] += central[m].sum() / 12.0
