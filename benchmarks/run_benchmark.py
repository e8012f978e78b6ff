"""Benchmarks: how long a run takes, and its peak memory. Prints figures; asserts nothing.

    python benchmarks/run_benchmark.py                # default, large synthetic and England
    python benchmarks/run_benchmark.py --quick        # default only
    python benchmarks/run_benchmark.py --repeats 3    # best of 3 for every case (default: 3, 1, 1)

Each case runs in a fresh process (so peak memory is that run's), on one core:
- the default synthetic system (1.2m people, 4 places, 30 neighbourhoods, 10 years);
- a synthetic system scaled to 40 places and about 1,250 neighbourhoods, 10 years;
- ``system=england``: all 42 ICSs, 10 years.
Times are for building and running the model (config composition and imports excluded), with the
monthly record the time series is built from; the time to build the time-series table afterwards
is shown separately. Wall time is what the targets are about; CPU time (``time.process_time``) is
shown too because, on a machine shared with other work, it is the steadier of the two. The default
run is also timed summary-only (``timeseries=False``, as batch workers run it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CASE = r"""
import json, resource, time, sys
from ics_sim.config import load_config
from ics_sim.model.ics_model import ICSModel
from ics_sim.runs.factors import factors
overrides = json.loads(sys.argv[1])
timeseries = sys.argv[3] == "timeseries"
cfg, _ = load_config(overrides)
times, cpu, frame, peak_model = [], [], [], []
for _ in range(int(sys.argv[2])):
    t, c = time.perf_counter(), time.process_time()
    m = ICSModel(cfg, timeseries=timeseries).run()
    times.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
    peak_model.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # the first is the model's alone
    t = time.perf_counter()
    if timeseries:  # the table as a run builds it, with its factor columns
        m.recorder.frame(factors=factors(cfg))
    frame.append(time.perf_counter() - t)
    n = m.layout.n_neighbourhoods
    m.release()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": min(times), "cpu_seconds": min(cpu), "frame_seconds": min(frame), "neighbourhoods": n,
                  "peak_mib": peak_model[0], "peak_with_table_mib": peak}))
"""


def large_synthetic(places: int = 40, per_place: int = 31) -> dict:
    ranks = [0.05 + 0.9 * i / (places - 1) for i in range(places)]
    spec = [
        {"name": f"Place{i:02d}", "population": 1_250_000, "mean_imd_rank": r, "share_65plus": 0.185, "neighbourhoods": per_place}
        for i, r in enumerate(ranks)
    ]
    return {"system.places": spec, "system.name": "large"}


def measure(label: str, overrides: dict, repeats: int, timeseries: bool = True) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    args = [sys.executable, "-c", CASE, json.dumps(overrides), str(repeats), "timeseries" if timeseries else "summary"]
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{label:<58} {res['seconds']:7.2f} s (CPU {res['cpu_seconds']:6.2f} s; table +{res['frame_seconds']:.2f} s)   "
          f"{res['neighbourhoods']:5d} neighbourhoods   peak {res['peak_mib']:4.0f} MiB ({res['peak_with_table_mib']:.0f} with the table)",
          flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="only the default run")
    ap.add_argument("--repeats", type=int, default=None, help="runs per case, best kept (default: 3 for the default run, 1 otherwise)")
    args = ap.parse_args()
    print("ics_sim benchmark (one core; best of the repeats; 10-year runs)")
    measure("default synthetic system (aim < 1 s)", {}, args.repeats or 3)
    measure("default synthetic system, summary only (batch runs)", {}, args.repeats or 3, timeseries=False)
    if args.quick:
        return
    measure("synthetic, 40 places x ~1,250 neighbourhoods (aim < 10 s)", large_synthetic(), args.repeats or 1)
    measure("system=england, 42 ICSs (aim < 30 s)", {"system": "england"}, args.repeats or 1)


if __name__ == "__main__":
    main()
