#!/usr/bin/env bash
# The batch runner on a Ray cluster with Ray >= 2.52 token authentication (pip install -e '.[ray]').
#
#   scripts/cluster/ray_batch.sh                # a one-node Ray cluster on this machine, then `ray stop`
#   RAY_ADDRESS=head:6379 scripts/cluster/ray_batch.sh   # an existing cluster (token already set up)
#
# Ray 2.59+ turns token authentication on for clusters started with `ray start --head`, and every
# process that talks to the cluster (the driver, `ray start` on other nodes, the workers) must
# present the same token, or Ray refuses it ("InvalidAuthToken"). The recipe for a real cluster:
#   1. on the head node, once: export RAY_AUTH_MODE=token; ray get-auth-token --generate
#      (writes ~/.ray/auth_token; on a cluster with a shared home every node then sees it;
#      otherwise copy it, or point RAY_AUTH_TOKEN_PATH at a copy readable only by you)
#   2. export RAY_AUTH_MODE=token on every node and in the shell that runs the batch
#   3. head: ray start --head --port 6379; other nodes: ray start --address head:6379
#   4. python -m ics_sim.batch design.csv --replicates 100 --out results/batches/x --backend ray \
#          --address auto --workers -1
# This script does 1-4 on this machine (loopback only). Writes results/batches/ray-demo (OUT=...).
# Exits 0 with "skipped" if Ray is not installed, so CI may call it.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
RAY=${RAY:-$(dirname "$(command -v "$PY")")/ray}
if ! "$PY" -c "import ray" 2>/dev/null; then
  echo "skipped: Ray is not installed (pip install -e '.[ray]')"; exit 0
fi
OUT=${OUT:-results/batches/ray-demo}
REPLICATES=${REPLICATES:-20}
YEARS=${YEARS:-2}
export RAY_AUTH_MODE=token RAY_USAGE_STATS_ENABLED=0
if [[ -z "${RAY_ADDRESS:-}" ]]; then
  "$RAY" get-auth-token --generate >/dev/null  # creates ~/.ray/auth_token if there is none, else keeps it
  "$RAY" start --head --node-ip-address 127.0.0.1 --port "${RAY_PORT:-6380}" --num-cpus "${RAY_CPUS:-2}" \
      --include-dashboard false --disable-usage-stats >/dev/null
  trap '"$RAY" stop >/dev/null 2>&1 || true' EXIT
  export RAY_ADDRESS=127.0.0.1:${RAY_PORT:-6380}
fi
"$PY" -m ics_sim.batch default --replicates "$REPLICATES" --out "$OUT" --backend ray --address "$RAY_ADDRESS" \
    --workers -1 --set "years=$YEARS" --no-progress
"$PY" scripts/cluster/summarise_batch.py "$OUT"
