"""Command line: ``python -m ics_sim [overrides]`` (a Hydra app).

Examples::

    python -m ics_sim                                   # the default scenario
    python -m ics_sim governance=joint_committee delegation=fixed delegation.share=0.4
    python -m ics_sim system=herefordshire_worcestershire seed=3 replicates=5
    python -m ics_sim -m governance=joint_committee,lead_provider replicates=10   # a sweep

Each run writes a folder under ``results/runs/`` (in a sweep: under the job's folder in
``results/sweeps/``) with ``timeseries.parquet``, ``summary.json``, ``config.yaml`` and
``outcomes.png``, and prints a short summary table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ics_sim.config import CONFIG_DIR, ConfigError, from_omegaconf

SHOWN = [
    ("hle_mean", "Healthy life expectancy (years)", "{:.2f}"),
    ("hle_sii", "HLE slope index of inequality (years)", "{:.2f}"),
    ("hle_gap_q1_q5", "HLE gap, least vs most deprived fifth (years)", "{:.2f}"),
    ("unmet_need", "Unmet need (share of need)", "{:.1%}"),
    ("unmet_need_hidden", "Unmet hidden need, excluded groups (share)", "{:.1%}"),
    ("duplicated_spend_gbp", "Duplicated spend (GBP m a year)", "{:,.1f}"),
    ("unfunded_need", "Unfunded need (GBP m a year)", "{:,.1f}"),
    ("decision_delay_months", "Decision delay (months from April)", "{:.2f}"),
    ("deadlocks", "Deadlocked meetings (total)", "{:.0f}"),
    ("transaction_cost_gbp", "Transaction cost (GBP m a year)", "{:,.2f}"),
    ("strategy_alignment", "Alignment with ICP strategy (0-1)", "{:.3f}"),
    ("trust_mean", "Mean trust between partners (0-1)", "{:.3f}"),
    ("vcse_survival", "VCSE bodies still operating (share)", "{:.0%}"),
]


def summary_table(summaries: list[dict]) -> str:
    """A short, readable table of horizon values (median over replicates when several)."""
    import numpy as np

    first = summaries[0]
    lines = [f"ics_sim {first['ics_sim_version']} — {first['scenario']} — {first['years']} years — "
             + (f"seed {first['seed']}" if len(summaries) == 1 else f"{len(summaries)} replicates (median, 10-90%)")]
    width = max(len(label) for _, label, _ in SHOWN)
    for key, label, fmt in SHOWN:
        vals = np.array([s[key] for s in summaries], dtype=float)
        scale = 1e6 if key.endswith("_gbp") or key == "unfunded_need" else 1.0
        vals = vals / scale
        text = fmt.format(np.median(vals))
        if len(vals) > 1:
            text += f"  ({fmt.format(np.quantile(vals, 0.1))} to {fmt.format(np.quantile(vals, 0.9))})"
        lines.append(f"  {label:<{width}}  {text}")
    return "\n".join(lines)


def run_job(cfg_omega: DictConfig, out_root: Path | None = None) -> list[Path]:
    """Run every replicate of one composed config and write a folder for each."""
    from ics_sim import write_run
    from ics_sim.runs.api import run_config
    from ics_sim.runs.seeds import replicate_seed

    cfg = from_omegaconf(cfg_omega)
    folders, summaries = [], []
    for r in range(cfg.replicates):
        cfg_r = from_omegaconf(cfg_omega)
        result = run_config(cfg_r, seed=replicate_seed(cfg.seed, r), keep_model=False)
        result.summary["replicate"] = r
        if out_root is None:
            folders.append(write_run(result, "results/runs"))
        else:
            folders.append(write_run(result, out_root, folder=out_root / f"rep{r:03d}_s{result.summary['seed']}"))
        summaries.append(result.summary)
    print(summary_table(summaries))
    for f in folders[:3]:
        print(f"  results: {f}")
    if len(folders) > 3:
        print(f"  ... and {len(folders) - 3} more")
    return folders


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def _app(cfg: DictConfig) -> None:
    import logging

    from hydra.core.hydra_config import HydraConfig

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    hc = HydraConfig.get()
    multirun = hc.mode is not None and hc.mode.name == "MULTIRUN"
    out = Path(hc.runtime.output_dir) if multirun else None
    if out is not None:  # job.json: this job's overrides and status, for python -m ics_sim.aggregate
        from ics_sim.runs.aggregate import record_job

        record_job(out, list(hc.overrides.task), hc.job.num, "running")
    try:
        run_job(cfg, out)
    except Exception as exc:
        if out is None:
            if isinstance(exc, ConfigError):
                print(f"ConfigError: {exc}", file=sys.stderr)
                raise SystemExit(2) from None
            raise
        # in a sweep, record the failure and let the launcher carry on with the other jobs
        record_job(out, list(hc.overrides.task), hc.job.num, "failed", exc)
        raise
    if out is not None:
        record_job(out, list(hc.overrides.task), hc.job.num, "done")


def main() -> None:
    """Entry point for ``python -m ics_sim`` and the ``ics-sim`` script."""
    _app()


if __name__ == "__main__":
    main()
