"""Benchmarks: how long a run takes against the bare-Mesa floor, and its peak memory. Prints
figures; asserts nothing.

    python benchmarks/run_benchmark.py                  # default, large synthetic and England
    python benchmarks/run_benchmark.py --quick          # default only
    python benchmarks/run_benchmark.py --cli-only       # python -m ics_sim end to end, and the import
    python benchmarks/run_benchmark.py --repeats 3      # best of 3 for every case (default: 5, 1, 1)
    python benchmarks/run_benchmark.py --write-readme   # also regenerate the README table

Each case runs in a fresh process, on one core (BLAS threads pinned to 1), summary-only (as batch
workers run it) and with the monthly time series:

- the default synthetic system (1.2m people, 4 places, 30 neighbourhoods, 10 years);
- a synthetic system scaled to 40 places and about 1,250 neighbourhoods, 10 years;
- ``system=england``: all 42 ICSs, 10 years.

Times are for building and running the model (imports and config composition excluded); the time
to build the tidy table afterwards is shown separately. In the same process the benchmark times
the *floor*: a bare Mesa model with as many agents as the run's model, whose step only calls every
agent's no-op ``step`` (``model.agents.do("step")``), for the same number of months. The ratio of
the two says how much the model costs beyond Mesa's own scheduling, and is steadier than seconds
on a machine shared with other work (both are measured under the same load). CPU time
(``time.process_time``) is reported beside wall time for the same reason. Peak memory is the
process's maximum resident set after the model run (and after building the table).

End to end, the benchmark also times ``python -m ics_sim`` (the default run as a user starts it:
imports, config, the run, its folder with the table, summary and figure; written under a temporary
folder inside ``results/`` that is removed afterwards; wall time, with its CPU time beside it; once
with the figure drawn by its helper process on a second core, as when a core is idle, and once
drawn in-process, as on a busy machine; the first run, which composes the configs that later runs
read back, apart) and ``import ics_sim`` in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASE = r"""
import json, resource, sys, time
import mesa
from ics_sim.config import load_config
from ics_sim.model.ics_model import ICSModel
from ics_sim.runs.factors import factors


class _Idle(mesa.Agent):
    def step(self):
        pass


class _Bare(mesa.Model):
    '''The floor: as many agents as the model, a step that only schedules them.'''

    def __init__(self, n_agents):
        super().__init__(rng=0)
        for _ in range(n_agents):
            _Idle(self)

    def step(self):
        self.agents.do("step")


def bare(n_agents, months):
    t, c = time.perf_counter(), time.process_time()
    b = _Bare(n_agents)
    for _ in range(months):
        b.step()
    return time.perf_counter() - t, time.process_time() - c


overrides = json.loads(sys.argv[1])
repeats = int(sys.argv[2])
timeseries = sys.argv[3] == "timeseries"
cfg, _ = load_config(overrides)
months = int(cfg.years) * 12
times, cpu, frame, floor, floor_cpu = [], [], [], [], []
peak_model = None
for _ in range(repeats):
    t, c = time.perf_counter(), time.process_time()
    m = ICSModel(cfg, timeseries=timeseries).run()
    times.append(time.perf_counter() - t)
    cpu.append(time.process_time() - c)
    if peak_model is None:  # the first run's peak is the model's alone
        peak_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    if timeseries:  # the table as a run builds it, with its factor columns
        m.recorder.frame(factors=factors(cfg))
    frame.append(time.perf_counter() - t)
    n_agents, n = len(m.agents), m.layout.n_neighbourhoods
    m.release()
    del m
    for _ in range(3):  # the floor is short: best of three each time
        w, c = bare(n_agents, months)
        floor.append(w)
        floor_cpu.append(c)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": min(times), "cpu_seconds": min(cpu), "frame_seconds": min(frame),
                  "floor_seconds": min(floor), "floor_cpu_seconds": min(floor_cpu), "agents": n_agents,
                  "months": months, "neighbourhoods": n, "peak_mib": peak_model, "peak_with_table_mib": peak}))
"""

ONE_CORE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def large_synthetic(places: int = 40, per_place: int = 31) -> dict:
    ranks = [0.05 + 0.9 * i / (places - 1) for i in range(places)]
    spec = [
        {"name": f"Place{i:02d}", "population": 1_250_000, "mean_imd_rank": r, "share_65plus": 0.185, "neighbourhoods": per_place}
        for i, r in enumerate(ranks)
    ]
    return {"system.places": spec, "system.name": "large"}


def measure(label: str, overrides: dict, repeats: int, timeseries: bool) -> dict:
    """One case in a fresh process; prints a line and returns the figures."""
    args = [sys.executable, "-c", CASE, json.dumps(overrides), str(repeats), "timeseries" if timeseries else "summary"]
    out = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **ONE_CORE}, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["ratio"] = res["seconds"] / res["floor_seconds"]
    res["cpu_ratio"] = res["cpu_seconds"] / res["floor_cpu_seconds"]
    res["label"], res["timeseries"] = label, timeseries
    table = f"; table +{res['frame_seconds']:.2f} s" if timeseries else ""
    print(f"{label:<44} {res['seconds']:6.2f} s (CPU {res['cpu_seconds']:5.2f} s{table})  "
          f"floor {res['floor_seconds'] * 1e3:6.1f} ms = {res['floor_seconds'] / (res['agents'] * res['months']) * 1e6:.2f} us/agent-month  "
          f"x{res['ratio']:5.1f} (CPU x{res['cpu_ratio']:5.1f})  peak {res['peak_mib']:4.0f} MiB"
          + (f" ({res['peak_with_table_mib']:.0f} with the table)" if timeseries else ""), flush=True)
    return res


def cli_seconds(repeats: int) -> dict[str, tuple[float, float]]:
    """Wall time of ``python -m ics_sim`` (the default run, its folder written under a temporary
    folder inside ``results/``, removed afterwards), best of ``repeats``, and the CPU time (user +
    system, with the figure helper's) of that run; once with the figure helper
    (``ICS_SIM_FIGURE_HELPER=1``, what the command line does when a core is idle) and once drawing
    in its own process (``=0``, what it does on a busy machine), alternately, so that both meet the
    same load. Not pinned to one core: the helper's point is the second core.

    The command line saves its config compositions for the next run (``ICS_SIM_CACHE_DIR``, here a
    temporary folder): the first run, which composes them, is timed apart (``"first"``); the
    repeats are a user's every later run."""
    best = {"helper": (float("inf"), float("nan")), "in-process": (float("inf"), float("nan"))}
    (ROOT / "results").mkdir(exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix=".benchmark-cli-compositions-", dir=ROOT / "results"))

    def once(flag: str) -> tuple[float, float]:
        work = Path(tempfile.mkdtemp(prefix=".benchmark-cli-", dir=ROOT / "results"))
        try:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "ics_sim"], cwd=work,
                           env={**os.environ, **ONE_CORE, "MPLBACKEND": "Agg", "ICS_SIM_FIGURE_HELPER": flag,
                                "ICS_SIM_CACHE_DIR": str(cache)},
                           capture_output=True, text=True, check=True)
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    try:
        best["first"] = once("1")
        for _ in range(repeats):
            for name, flag in (("helper", "1"), ("in-process", "0")):
                wall, cpu = once(flag)
                if wall < best[name][0]:
                    best[name] = (wall, cpu)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return best


def import_seconds(repeats: int) -> float:
    """``import ics_sim`` in a fresh interpreter (the import alone), best of ``repeats``."""
    code = "import time; t = time.perf_counter(); import ics_sim; print(time.perf_counter() - t)"
    return min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
               for _ in range(repeats))


def readme_table(rows: list[dict], cli: float | None, imp: float | None) -> str:
    """The README's benchmark table (markdown)."""
    lines = ["| run | summary only | floor ratio | with the time series | floor ratio | peak memory (model / with the table) |",
             "|---|---|---|---|---|---|"]
    by = {}
    for r in rows:
        by.setdefault(r["label"], {})[r["timeseries"]] = r
    for label, pair in by.items():
        s, t = pair.get(False), pair.get(True)
        cells = [f"{s['seconds']:.2f} s (CPU {s['cpu_seconds']:.2f} s)" if s else "-", f"{s['ratio']:.0f}x (CPU {s['cpu_ratio']:.0f}x)" if s else "-",
                 f"{t['seconds']:.2f} s (CPU {t['cpu_seconds']:.2f} s)" if t else "-", f"{t['ratio']:.0f}x (CPU {t['cpu_ratio']:.0f}x)" if t else "-",
                 f"{t['peak_mib']:.0f} / {t['peak_with_table_mib']:.0f} MiB" if t else f"{s['peak_mib']:.0f} MiB"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    load = os.getloadavg()[0]
    busy = load > 1.0  # the benchmark itself keeps one core busy
    extra = [f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, load average {load:.1f} at the end "
             + ("(other work was running: wall times and ratios are inflated)" if busy else "(a quiet machine)")]
    if cli is not None:
        extra.append(f"`python -m ics_sim` end to end (default run, its folder and figure, the figure drawn by the helper "
                     f"process on an idle core): **{cli:.1f} s** wall")
    if imp is not None:
        extra.append(f"`import ics_sim`: **{imp * 1000:.0f} ms**")
    return "\n".join(lines) + "\n\n" + ("; ".join(extra) + ".\n" if extra else "")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="only the default run")
    ap.add_argument("--repeats", type=int, default=None, help="runs per case, best kept (default: 5 for the default run, 1 otherwise)")
    ap.add_argument("--write-readme", action="store_true", help="regenerate the README benchmark table from these figures")
    ap.add_argument("--cli-only", action="store_true", help="only the command line end to end and the import (no model cases)")
    args = ap.parse_args(argv)
    print("ics_sim benchmark (one core; best of the repeats; 10-year runs; ratio = run / bare-Mesa floor in the same process)")
    cases = [("default synthetic system", {}, args.repeats or 5)]
    if not args.quick:
        cases += [("synthetic, 40 places x 1,240 neighbourhoods", large_synthetic(), args.repeats or 1),
                  ("`system=england` (42 ICSs, 1,254 neighbourhoods)", {"system": "england"}, args.repeats or 1)]
    if args.cli_only:
        if args.write_readme:
            ap.error("--write-readme needs the model cases; leave out --cli-only")
        cases = []
    rows = [measure(label, ov, n, ts) for label, ov, n in cases for ts in (False, True)]
    load_before = os.getloadavg()[0]
    clis = cli_seconds(args.repeats or 3)
    imp = import_seconds(args.repeats or 5)
    (cli, cli_cpu), (own, own_cpu), (first, first_cpu) = clis["helper"], clis["in-process"], clis["first"]
    print(f"python -m ics_sim (default run, end to end): {cli:.2f} s wall (CPU {cli_cpu:.2f} s) with the figure helper, "
          f"{own:.2f} s wall (CPU {own_cpu:.2f} s) drawing in-process, first run (composing) {first:.2f} s wall "
          f"(CPU {first_cpu:.2f} s);  import ics_sim: {imp * 1000:.0f} ms;  "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores", flush=True)
    if args.write_readme:
        sys.path.insert(0, str(ROOT))
        from ics_sim.runs.io import replace_marked_block

        ok = replace_marked_block(ROOT / "README.md", "benchmark:table", readme_table(rows, cli, imp))
        print("README benchmark table regenerated" if ok else "README has no <!-- benchmark:table --> markers: nothing written")


if __name__ == "__main__":
    main()
