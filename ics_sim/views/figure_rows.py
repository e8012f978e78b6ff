"""The rows of a run's table that the one-page figure reads (:mod:`ics_sim.views.run_figure`).

Kept apart from the figure so that the command line can pick them out and hand them to its figure
helper (:mod:`ics_sim.views.figure_process`) without importing matplotlib: pandas only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

__all__ = ["REQUIRED_COLUMNS", "figure_rows", "read_figure_rows"]

#: the columns :func:`ics_sim.views.run_figure.plot_outcomes` needs (``run`` too when present)
REQUIRED_COLUMNS = ("scenario", "seed", "month", "level", "area", "metric", "value")


def figure_rows(timeseries: pd.DataFrame) -> pd.DataFrame:
    """The rows and columns of one run's table that the figure reads (as :func:`read_figure_rows`
    reads them from files): every month above the neighbourhoods and the neighbourhoods' last
    month. The figure drawn from these rows is the figure drawn from the whole table."""
    keep = (timeseries["level"] != "neighbourhood") | (timeseries["month"] == timeseries["month"].max())
    columns = [c for c in (*REQUIRED_COLUMNS, "run") if c in timeseries.columns]
    rows = timeseries.loc[keep.to_numpy(dtype=bool), columns].reset_index(drop=True)
    for c in ("run", "scenario", "level", "area", "metric"):  # the figure groups by them as categories:
        if c in rows.columns:  # a few names each, so the rows pickle small for the figure helper
            rows[c] = rows[c].astype("category")
    return rows


def read_figure_rows(paths: Sequence[str | Path]) -> pd.DataFrame:
    """The rows of runs' ``timeseries.parquet`` files that the figure reads: every month above the
    neighbourhoods, and the neighbourhoods' last month (the deprivation gradient), so that memory
    stays modest for many replicates. The figure drawn from these rows is the figure drawn from
    the whole tables."""
    import pyarrow.parquet as pq

    parts = []
    for path in paths:
        last = pq.read_table(path, columns=["month"]).column("month").to_numpy().max()
        parts.append(pq.read_table(path, filters=[[("level", "!=", "neighbourhood")], [("month", "==", int(last))]]).to_pandas())
    return pd.concat(parts, ignore_index=True)
