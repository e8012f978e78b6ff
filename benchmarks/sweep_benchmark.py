"""Sweep benchmark: batch throughput on 1 and 2 workers, memory over a long batch, and resume.

    python benchmarks/sweep_benchmark.py               # 200 default runs per case (a few minutes)
    python benchmarks/sweep_benchmark.py --runs 1000   # the full check of issue 5
    python benchmarks/sweep_benchmark.py --runs 100 --years 2 --skip-resume

Prints, for N default runs (replicates of the default scenario, 10 years unless ``--years``):

1. runs per second with 1 worker (in this process) and with 2 worker processes, and the speed-up,
   with the share of CPU time the hypervisor stole meanwhile (on a shared 2-core machine any other
   load slows the 2-worker case, which has no spare core, more than the 1-worker case); and, as a
   check that does not depend on other load, the CPU time per run in the workers and in this
   (parent) process, and the speed-up those imply if each worker has a core to itself; and where
   the 2-worker case's core-seconds went (the runs, the workers' start-up and task overhead, the
   parent, and idle time or other load);
2. resident memory (RSS): this process at the start, its peak (sampled every 0.5 s) and end, and
   each worker's RSS after its first and its last run, so growth over a long batch shows;
3. interrupt-and-resume: a batch of N runs in a subprocess is killed (SIGKILL, like a crash or
   a wall-time limit) about halfway, restarted, and the distinct runs and duplicate rows counted
   (expect exactly N and 0).

Needs psutil (``pip install -e '.[sweep]'``). Asserts nothing; exit status 1 only if the resume
check does not end with exactly N distinct runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

from ics_sim.runs.batch import CHUNK_RE, run_batch


class PeakRSS:
    """Sample this process's RSS in a background thread; ``peak`` is the largest seen (MB)."""

    def __init__(self, interval: float = 0.5) -> None:
        self.proc = psutil.Process()
        self.interval = interval
        self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> float:
        return self.proc.memory_info().rss / 1e6

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_times() -> tuple[float, float]:
    """Total and stolen CPU jiffies of the machine (Linux /proc/stat; zeros elsewhere)."""
    try:
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
        return sum(fields[:8]), fields[7]
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0


def throughput(n: int, workers: int, years: int | None, root: Path) -> dict[str, float]:
    """Run ``n`` default runs on ``workers`` workers; return rate and memory figures."""
    out = root / f"w{workers}"
    base = {"years": years} if years else {}
    with PeakRSS() as mem:
        start_rss = mem.now()
        cpu0 = cpu_times()
        t0, p0 = time.perf_counter(), time.process_time()
        df = run_batch([{}], n, out, workers=workers, base_overrides=base, chunk_size=100)
        elapsed, parent_cpu = time.perf_counter() - t0, time.process_time() - p0
        cpu1 = cpu_times()
        end_rss = mem.now()
    steal = 100 * (cpu1[1] - cpu0[1]) / max(cpu1[0] - cpu0[0], 1.0)
    ok = int((df["status"] == "ok").sum())
    # whole CPU time of each worker process (imports, start-up, unpickling, IPC and the runs);
    # loky keeps its workers alive for a while after the batch, so they can still be asked
    worker_total = 0.0
    if workers > 1:
        for pid in df["worker_pid"].unique():
            try:
                t = psutil.Process(int(pid)).cpu_times()
                worker_total += t.user + t.system
            except psutil.Error:
                worker_total = float("nan")
    per_worker = df.sort_values("replicate").groupby("worker_pid")["worker_rss_mb"].agg(["first", "last", "count"])
    # RSS of the busiest worker along the batch: warm-up (imports, first chunk) then flat
    busiest = df[df["worker_pid"] == per_worker["count"].idxmax()].sort_values("replicate")["worker_rss_mb"].to_numpy()
    marks = sorted({0, min(len(busiest) - 1, 100), len(busiest) // 2, len(busiest) - 1})
    return {
        "worker_trace": ", ".join(f"run {i + 1}: {busiest[i]:.0f}" for i in marks),
        "worker_growth_after_100": float(busiest[-1] - busiest[min(len(busiest) - 1, 100)]),
        "steal_pct": steal, "load": os.getloadavg()[0],
        "workers": workers, "runs": ok, "seconds": elapsed, "runs_per_s": ok / elapsed,
        # CPU seconds per run: in the workers (median), and in this process beyond the runs it made
        "cpu_per_run": float(df["cpu_s"].median()),
        "parent_cpu_per_run": max(parent_cpu - (df["cpu_s"].sum() if workers == 1 else 0.0), 0.0) / max(ok, 1),
        "rss_start": start_rss, "rss_peak": mem.peak, "rss_end": end_rss,
        "worker_first": float(per_worker["first"].max()), "worker_last": float(per_worker["last"].max()),
        "worker_growth": float((per_worker["last"] - per_worker["first"]).max()),
        "n_worker_procs": len(per_worker),
        "run_cpu": float(df["cpu_s"].sum()), "worker_total_cpu": worker_total, "parent_cpu": parent_cpu,
    }


def count_rows(folder: Path) -> int:
    files = [p for p in folder.glob("chunk-*.parquet") if CHUNK_RE.match(p.name)]
    return sum(len(pd.read_parquet(p, columns=["replicate"])) for p in files)


def resume_check(n: int, years: int | None, root: Path) -> dict[str, int]:
    """Start a batch in a subprocess, kill it about halfway, restart it, count the runs."""
    out = root / "resume"
    cmd = [sys.executable, "-m", "ics_sim.batch", "default", "--replicates", str(n), "--out", str(out),
           "--workers", "2", "--chunk-size", str(max(5, n // 40)), "--no-progress"]
    if years:
        cmd += ["--set", f"years={years}"]
    log = open(root / "resume.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    killed_at = 0
    while proc.poll() is None:
        time.sleep(0.5)
        killed_at = count_rows(out) if out.exists() else 0
        if killed_at >= n // 2:
            os.killpg(proc.pid, signal.SIGKILL)  # the batch and its worker processes, all at once
            proc.wait()
            break
    time.sleep(1.0)
    rows_after_kill = count_rows(out)
    rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    log.close()
    chunks = [pd.read_parquet(p, columns=["setting_id", "replicate", "status"]) for p in out.glob("chunk-*.parquet")]
    allrows = pd.concat(chunks, ignore_index=True)
    distinct = allrows.drop_duplicates(["setting_id", "replicate"])
    return {"rows_at_kill": rows_after_kill, "restart_rc": rc, "rows": len(allrows), "distinct": len(distinct),
            "duplicates": len(allrows) - len(distinct), "ok": int((distinct["status"] == "ok").sum())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--years", type=int, default=None, help="horizon (default: the config's, 10 years)")
    ap.add_argument("--skip-resume", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the batch folders (printed)")
    args = ap.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="ics_sim_sweep_bench_"))
    print(f"ics_sim sweep benchmark: {args.runs} default runs, {args.years or 'config default'} years, "
          f"{psutil.cpu_count()} CPUs; folders in {root}")
    res = {}
    for w in (1, 2):
        r = throughput(args.runs, w, args.years, root)
        res[w] = r
        print(f"  {w} worker{'s' if w > 1 else ' '}: {r['runs']} runs in {r['seconds']:.1f} s = {r['runs_per_s']:.2f} runs/s | "
              f"RSS this process start {r['rss_start']:.0f} MB, peak {r['rss_peak']:.0f}, end {r['rss_end']:.0f} "
              f"(+{r['rss_peak'] - r['rss_start']:.0f} MB) | worker RSS first run {r['worker_first']:.0f} MB, "
              f"last {r['worker_last']:.0f} MB (growth {r['worker_growth']:+.0f} MB; "
              f"{r['worker_growth_after_100']:+.0f} MB after its 100th run)")
        print(f"             RSS of one worker along the batch (MB): {r['worker_trace']} | "
              f"CPU stolen by the host {r['steal_pct']:.1f}%, load average {r['load']:.2f}")
    speedup = res[2]["runs_per_s"] / res[1]["runs_per_s"]
    print(f"  speed-up 2 vs 1 worker: {speedup:.2f}x")
    one, two = res[1], res[2]
    # with a core per worker, 2 workers finish a run every (worker CPU per run) / 2 seconds, plus
    # whatever the parent spends per run on the same cores; 1 worker every (its CPU per run)
    cpu_speedup = (one["cpu_per_run"] + one["parent_cpu_per_run"]) / (two["cpu_per_run"] / 2 + two["parent_cpu_per_run"])
    print(f"  CPU per run: 1 worker {one['cpu_per_run']:.3f} s (+{one['parent_cpu_per_run']:.4f} s batch bookkeeping); "
          f"2 workers {two['cpu_per_run']:.3f} s in each worker (+{two['parent_cpu_per_run']:.4f} s in the parent) "
          f"-> speed-up with a free core per worker about {cpu_speedup:.2f}x")
    # where the 2-worker wall time went: 2 cores x wall seconds, split into the runs themselves,
    # the workers' own overhead (start-up imports, unpickling, IPC), the parent (dispatch, config
    # composition, results, chunks, progress bar) and the rest (idle, or other load)
    cap = 2 * two["seconds"]
    over = two["worker_total_cpu"] - two["run_cpu"]
    rest = cap - two["worker_total_cpu"] - two["parent_cpu"]
    print(f"  2-worker core-seconds: {cap:.1f} = runs {two['run_cpu']:.1f} ({100 * two['run_cpu'] / cap:.1f}%) "
          f"+ worker overhead {over:.1f} ({100 * over / cap:.1f}%) + parent {two['parent_cpu']:.1f} "
          f"({100 * two['parent_cpu'] / cap:.1f}%) + idle or other load {rest:.1f} ({100 * rest / cap:.1f}%); "
          f"runs took {two['cpu_per_run'] / one['cpu_per_run']:.3f}x the CPU per run of the 1-worker case")
    # the batch's own efficiency, free of other load and of CPU-per-run drift between the two
    # phases: the same runs on 1 core (the runs + 1-worker bookkeeping) against 2 cores (the runs
    # + the workers' overhead + the parent, shared by two cores)
    own = (two["run_cpu"] + one["parent_cpu_per_run"] * two["runs"]) / ((two["run_cpu"] + over + two["parent_cpu"]) / 2)
    print(f"  speed-up from the batch's own overheads alone (same CPU per run, a free core per worker): {own:.2f}x")
    status = 0
    if not args.skip_resume:
        rc = resume_check(args.runs, args.years, root)
        good = rc["distinct"] == args.runs and rc["duplicates"] == 0 and rc["ok"] == args.runs
        print(f"  resume: killed with {rc['rows_at_kill']} runs written; after restart {rc['rows']} rows, "
              f"{rc['distinct']} distinct runs, {rc['duplicates']} duplicates, {rc['ok']} ok -> "
              f"{'OK' if good else 'FAILED'}")
        status = 0 if good else 1
    if args.keep:
        print(f"  kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
