"""One line on a finished batch folder, for the cluster recipes: runs, how many ok, on how many
worker processes, and the median HLE SII (``python scripts/cluster/summarise_batch.py OUT``)."""

import sys

from ics_sim.runs.batch import read_results

df = read_results(sys.argv[1])
print(f"{len(df)} runs, {(df.status == 'ok').sum()} ok, on {df.worker_pid.nunique()} worker processes; "
      f"median hle_sii {df.hle_sii.median():.3f} years")
