#!/usr/bin/env bash
# Check that the package installs, imports and runs its smoke test on a newer Python with the
# newest Mesa pyproject.toml allows (pip picks Mesa 3.5.x on Python 3.12+; 3.3.1 is the last for
# 3.11). Mesa >= 3.4 imports networkx without declaring it, which is why pyproject.toml lists it.
#
#   scripts/check_newest_python.sh            # python3.12
#   scripts/check_newest_python.sh python3.13
#
# Last run: Python 3.12.1, Mesa 3.5.1, networkx 3.7 -- the 1-year default run gives the same mean
# HLE as on Python 3.11 with Mesa 3.3.1 (62.9728494950004).
set -euo pipefail
PY=${1:-python3.12}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=$(mktemp -d)/venv
trap 'rm -rf "$(dirname "$VENV")"' EXIT
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q "$ROOT"
cd "$(dirname "$VENV")"   # not the source tree: import the installed package
"$VENV/bin/python" - <<'PY'
import math
import sys

import mesa

import ics_sim

r = ics_sim.run({"years": 1}, seed=0)
finite = all(math.isfinite(v) for v in r.summary.values() if isinstance(v, float))
print(f"Python {sys.version.split()[0]}, Mesa {mesa.__version__}: hle_mean {r.summary['hle_mean']!r}, finite {finite}")
sys.exit(0 if finite else 1)
PY
