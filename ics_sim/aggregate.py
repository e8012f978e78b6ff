"""Entry point: ``python -m ics_sim.aggregate`` runs :func:`ics_sim.runs.aggregate.main` with the
sweep figures (:func:`ics_sim.views.comparison_figure.write_sweep_figures`); and the Hydra
callback that aggregates a multirun when it ends (:class:`AggregateSweep`, registered in
``configs/config.yaml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback


def main(argv: list[str] | None = None) -> int:
    """``python -m ics_sim.aggregate SWEEP_DIR [--baseline KEY=VALUE ...]``, with figures."""
    from ics_sim.runs.aggregate import main as _main
    from ics_sim.views.comparison_figure import write_sweep_figures

    return _main(argv, figures=write_sweep_figures)


class AggregateSweep(Callback):
    """At the end of a multirun, aggregate the sweep folder (tables, figures, a console summary
    in setting order). Hydra skips this when a job failed; then run ``python -m ics_sim.aggregate``."""

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        from ics_sim.runs.aggregate import aggregate
        from ics_sim.views.comparison_figure import write_sweep_figures

        sweep_dir = Path(str(config.hydra.sweep.dir))
        if sweep_dir.is_dir():
            aggregate(sweep_dir, figures=write_sweep_figures)


if __name__ == "__main__":
    raise SystemExit(main())
