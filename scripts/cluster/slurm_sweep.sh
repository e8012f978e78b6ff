#!/usr/bin/env bash
# A Hydra sweep as a Slurm job array through hydra-submitit-launcher (pip install -e '.[slurm]').
#
#   scripts/cluster/slurm_sweep.sh --local          # the same sweep via submitit_local, to try it here
#   PARTITION=compute ACCOUNT=myproject scripts/cluster/slurm_sweep.sh   # on a Slurm login node
#
# Run it from a login node with this repository and its virtual environment on the shared file
# system. Each setting becomes one array task of one CPU running REPLICATES runs one after the other
# (configs/hydra/launcher/slurm.yaml: 2 GB, 240 min, at most 200 tasks at once); the sweep
# aggregates itself when the last task ends (or run python -m ics_sim.aggregate SWEEP_DIR).
# Submitit's logs per task are in SWEEP_DIR/.submitit/. Writes results/sweeps/slurm-demo
# (SWEEP_DIR=...). Exits 0 with "skipped" if the launcher is not installed.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
if ! "$PY" -c "import hydra_plugins.hydra_submitit_launcher" 2>/dev/null; then
  echo "skipped: hydra-submitit-launcher is not installed (pip install -e '.[slurm]')"; exit 0
fi
SWEEP_DIR=${SWEEP_DIR:-results/sweeps/slurm-demo}
SETTINGS=(governance=joint_committee,lead_provider "replicates=${REPLICATES:-2}" "years=${YEARS:-2}"
          "hydra.sweep.dir=$SWEEP_DIR")
if [[ "${1:-}" == "--local" ]]; then
  exec "$PY" -m ics_sim -m hydra/launcher=submitit_local hydra.launcher.timeout_min=30 "${SETTINGS[@]}"
fi
if ! command -v sbatch >/dev/null; then
  echo "error: sbatch not found: run this on a Slurm login node, or with --local to try it here" >&2; exit 2
fi
LAUNCHER=(hydra/launcher=slurm "hydra.launcher.timeout_min=${TIMEOUT_MIN:-60}"
          "hydra.launcher.setup=[\"source $(dirname "$(command -v "$PY")")/activate\"]")
[[ -n "${PARTITION:-}" ]] && LAUNCHER+=("hydra.launcher.partition=$PARTITION")
[[ -n "${ACCOUNT:-}" ]] && LAUNCHER+=("hydra.launcher.account=$ACCOUNT")
exec "$PY" -m ics_sim -m "${LAUNCHER[@]}" "${SETTINGS[@]}"
