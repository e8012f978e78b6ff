#!/usr/bin/env bash
# The batch runner on a Dask cluster (pip install -e '.[dask]').
#
#   scripts/cluster/dask_batch.sh                          # a scheduler and 2 workers on this machine
#   DASK_SCHEDULER=tcp://head:8786 scripts/cluster/dask_batch.sh   # an existing cluster
#
# On a real cluster start `dask scheduler` on one node and `dask worker tcp://head:8786
# --nthreads 1 --nworkers <cores>` on each worker node, from the same virtual environment (the
# workers import ics_sim). One thread per worker process: the model is single-threaded Python.
# Writes results/batches/dask-demo (override with OUT=...); running it again resumes the batch.
# REPLICATES (default 20) and YEARS (default 2) set the size. Exits 0 with "skipped" if Dask is
# not installed, so CI may call it.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
if ! "$PY" -c "import distributed" 2>/dev/null; then
  echo "skipped: dask.distributed is not installed (pip install -e '.[dask]')"; exit 0
fi
OUT=${OUT:-results/batches/dask-demo}
REPLICATES=${REPLICATES:-20}
YEARS=${YEARS:-2}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
ADDRESS=${DASK_SCHEDULER:-}
if [[ -z "$ADDRESS" ]]; then
  ADDRESS=tcp://127.0.0.1:8786
  "$PY" -m distributed.cli.dask_scheduler --host 127.0.0.1 --port 8786 --dashboard-address :0 \
      >"${TMPDIR:-/tmp}/ics_sim-dask-scheduler.log" 2>&1 &
  pids+=($!)
  "$PY" -m distributed.cli.dask_worker "$ADDRESS" --nworkers 2 --nthreads 1 --host 127.0.0.1 \
      --dashboard-address :0 >"${TMPDIR:-/tmp}/ics_sim-dask-workers.log" 2>&1 &
  pids+=($!)
fi
"$PY" -m ics_sim.batch default --replicates "$REPLICATES" --out "$OUT" --backend dask --address "$ADDRESS" \
    --workers -1 --set "years=$YEARS" --no-progress
"$PY" scripts/cluster/summarise_batch.py "$OUT"
