"""The workshop dashboard's speed without a browser: what the page does each simulated month.

Plays each scenario of the workshop pack side by side for its whole horizon, month by month, and
per month times (a) the step of both settings and (b) the HTML the page's live parts build from
them every month (monitors and the difference table, and the largest view: the six SVG outcome
charts, the network and the places views, all three timed). Prints the months per second the page
can sustain and the longest a month's step and redraw hold the page; the PNG export (matplotlib,
drawn only when clicked) is timed once a year for reference. Solara's own diffing and the
websocket are not in these figures: the browser test measures the month counter's rate end to end.

Targets (issue 15): at least 5 simulated months a second; no step blocks the page for more than
0.5 s. Run: ``python benchmarks/dashboard_benchmark.py`` (about a minute on two cores).
"""

from __future__ import annotations

import time

import numpy as np

from ics_sim.views.dashboard import figures
from ics_sim.views.dashboard.components import charts_html, monitors_html, view_html
from ics_sim.views.dashboard.scenarios import load_scenarios
from ics_sim.views.dashboard.state import Session


def main() -> None:
    print(f"{'scenario':34s} {'months':>6s} {'step ms (mean/max)':>20s} {'draw ms (mean/max)':>20s} "
          f"{'PNG export ms':>18s} {'months/s':>9s}")
    worst_block, slowest_rate = 0.0, float("inf")
    for name, s in load_scenarios().items():
        session = Session(name, s.settings, s.settings_b, s.seed, s.years, (s.label_a, s.label_b))
        steps, draws, views = [], [], []
        while not session.done:
            steps.append(session.step(1))
            t = time.perf_counter()
            monitors_html(session)
            charts_html(session)
            view_html(session, "Network", 0, "hle", 0)
            view_html(session, "Places", 0, "unmet_need", 0)
            draws.append(time.perf_counter() - t)
            if session.month % 12 == 0:
                t = time.perf_counter()
                figures.png_bytes(figures.outcomes_figure(session.arms))
                views.append(time.perf_counter() - t)
        step, draw = np.array(steps), np.array(draws)
        per_month = step + draw
        rate = 1.0 / per_month.mean()
        block = float(per_month.max())
        worst_block, slowest_rate = max(worst_block, block), min(slowest_rate, rate)
        print(f"{name:34s} {len(steps):6d} {1e3 * step.mean():9.1f}/{1e3 * step.max():<10.1f} "
              f"{1e3 * draw.mean():9.1f}/{1e3 * draw.max():<10.1f} {1e3 * max(views):18.0f} {rate:9.0f}")
    print(f"slowest sustainable play: {slowest_rate:.0f} simulated months per second (target >= 5)")
    print(f"longest a month's step and redraw hold the page: {worst_block:.3f} s (target <= 0.5)")


if __name__ == "__main__":
    main()
