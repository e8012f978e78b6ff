#!/usr/bin/env bash
# A Hydra sweep on a Ray cluster through hydra/launcher=ray_cluster, with Ray >= 2.52 token auth.
#
# Needs its own virtual environment: hydra-ray-launcher 1.2.2 requires cloudpickle<3, which holds
# joblib below 1.6, so it is not mixed into the main one (see pyproject.toml, extra ray-launcher):
#   python -m venv .venv-ray-launcher && .venv-ray-launcher/bin/pip install -e '.[ray-launcher]'
#   PYTHON=.venv-ray-launcher/bin/python scripts/cluster/ray_hydra_sweep.sh
# The Ray cluster must run from that same environment (its workers unpickle the launcher's jobs).
# With RAY_ADDRESS unset, a one-node cluster is started on this machine (loopback) and stopped at
# the end; with RAY_ADDRESS=head:6379 an existing cluster is used. Either way RAY_AUTH_MODE=token
# and the cluster's token (~/.ray/auth_token, or RAY_AUTH_TOKEN_PATH) must be visible to this
# shell: without them Ray 2.60 refuses the driver ("InvalidAuthToken: Authentication token is
# missing or incorrect") and the sweep hangs retrying. The sweep is written to
# results/sweeps/ray-demo (SWEEP_DIR=...). Exits 0 with "skipped" if the launcher is not installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
RAY=$(dirname "$(command -v "$PY")")/ray
if ! "$PY" -c "import hydra_plugins.hydra_ray_launcher, ray" 2>/dev/null; then
  echo "skipped: hydra-ray-launcher is not installed (pip install -e '.[ray-launcher]' in its own venv)"; exit 0
fi
SWEEP_DIR=${SWEEP_DIR:-results/sweeps/ray-demo}
export RAY_AUTH_MODE=token RAY_USAGE_STATS_ENABLED=0
if [[ -z "${RAY_ADDRESS:-}" ]]; then
  "$RAY" get-auth-token --generate >/dev/null  # creates ~/.ray/auth_token if there is none, else keeps it
  "$RAY" start --head --node-ip-address 127.0.0.1 --port "${RAY_PORT:-6381}" --num-cpus "${RAY_CPUS:-2}" \
      --include-dashboard false --disable-usage-stats >/dev/null
  trap '"$RAY" stop >/dev/null 2>&1 || true' EXIT
  export RAY_ADDRESS=127.0.0.1:${RAY_PORT:-6381}
fi
"$PY" -m ics_sim -m hydra/launcher=ray_cluster governance=joint_committee,lead_provider \
    "replicates=${REPLICATES:-2}" "years=${YEARS:-2}" "hydra.sweep.dir=$SWEEP_DIR"
