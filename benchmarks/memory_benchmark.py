"""Memory of many in-process runs: ``ics_sim.run()`` called again and again in one process.

Mesa 3.3 kept every model alive (``mesa.Agent._ids``), so 500 default runs grew a process from
about 142 to 880 MiB; the model now holds its agent counter weakly
(``ics_sim.model.ics_model._hold_models_weakly``) and a dropped result is freed.

    python benchmarks/memory_benchmark.py                 # 500 default (10-year) runs
    python benchmarks/memory_benchmark.py --runs 100 --years 1

Prints the resident memory after a warm-up run and at the end, and exits 1 if it grew by the
``--limit`` (50 MB) or more. Each result is dropped before the next run, as a loop over settings
that keeps only summaries would.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time


def rss_mb() -> float:
    """Resident memory of this process in MB (10^6 bytes), from /proc or psutil."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        import psutil

        return psutil.Process().memory_info().rss / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--limit", type=float, default=50.0, help="largest allowed growth, MB")
    args = ap.parse_args(argv)

    import mesa

    import ics_sim

    logging.getLogger("MESA").setLevel(logging.WARNING)
    ics_sim.run({"years": args.years}, seed=0)  # warm-up: imports, caches, first composition
    gc.collect()
    start, t0 = rss_mb(), time.time()
    for i in range(args.runs):
        result = ics_sim.run({"years": args.years}, seed=i)
        summary = result.summary  # what a sweep keeps
        del result
        if (i + 1) % max(1, args.runs // 10) == 0:
            print(f"  {i + 1:>5} runs: RSS {rss_mb():8.1f} MB (+{rss_mb() - start:.1f})", flush=True)
    gc.collect()
    end = rss_mb()
    models = len(getattr(mesa.Agent, "_ids", {}))
    print(f"{args.runs} runs of {args.years} years in {time.time() - t0:.0f} s: RSS {start:.1f} -> {end:.1f} MB "
          f"(+{end - start:.1f} MB; limit {args.limit:g}); models still held by Mesa: {models}; last hle_mean {summary['hle_mean']:.3f}")
    return 0 if end - start < args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
