"""Command line: ``python -m ics_sim [overrides]`` (a Hydra app).

Examples::

    python -m ics_sim                                   # the default scenario
    python -m ics_sim governance=joint_committee delegation=fixed delegation.share=0.4
    python -m ics_sim system=herefordshire_worcestershire seed=3 replicates=5
    python -m ics_sim -m governance=joint_committee,lead_provider replicates=10   # a sweep

Each run writes a folder under ``results/runs/`` (in a sweep: under the job's folder in
``results/sweeps/``) with ``timeseries.parquet``, ``summary.json``, ``config.yaml`` and
``outcomes.png``, and prints a short summary table (money in GBP per year, as in the files).
Replicates share one folder with their combined figure and summary (:func:`run_job`); a sweep is
aggregated when it ends (tables, figures, a summary in setting order). A plain run (no flags) is
composed once (:func:`_run_direct`), and when a core is idle its figure is drawn by a helper process,
started before anything heavy is imported, that imports matplotlib while the model runs
(:mod:`ics_sim.views.figure_process`; the same PNG). Config compositions are saved for the next run
in ``results/.cache/compositions`` (:func:`_cache_folder`; ``ICS_SIM_CACHE_DIR`` moves it, empty
turns it off).

The command line is checked before Hydra starts (:func:`check_command_line`): a bad override
prints one line, ``ConfigError: <the field and what is allowed>``, to stderr and exits with
status 2; a sweep (``-m``) checks every combination first and refuses the whole sweep with one
line per bad value, before any job runs or any folder is made.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

# Hydra, OmegaConf and the config package (which registers its schema with Hydra) are imported
# when first used, not here: a plain run starts its figure helper before anything heavy is
# imported (main, _early_helper), so the helper's imports overlap with this process's.
if TYPE_CHECKING:
    from omegaconf import DictConfig

    from ics_sim.config import overrides as ov
    from ics_sim.views.figure_process import FigureProcess

SHOWN = [
    ("hle_mean", "Healthy life expectancy (years)", "{:.2f}"),
    ("hle_sii", "HLE slope index of inequality (years)", "{:.2f}"),
    ("hle_gap_q1_q5", "HLE gap, least vs most deprived fifth (years)", "{:.2f}"),
    ("unmet_need", "Unmet need (share of need)", "{:.1%}"),
    ("unmet_need_hidden", "Unmet hidden need, excluded groups (share)", "{:.1%}"),
    ("duplicated_spend_gbp", "Duplicated spend (GBP per year)", "{:,.0f}"),
    ("unfunded_need", "Unfunded need (GBP per year)", "{:,.0f}"),
    ("decision_delay_months", "Decision delay (months from April)", "{:.2f}"),
    ("deadlocks", "Deadlocked meetings (total)", "{:.0f}"),
    ("transaction_cost_gbp", "Transaction cost (GBP per year)", "{:,.0f}"),
    ("strategy_alignment", "Alignment with ICP strategy (1 = on it, 0 = as budgeted)", "{:.3f}"),
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
        vals = np.array([s[key] for s in summaries], dtype=float)  # as in summary.json: money in GBP
        text = fmt.format(np.median(vals))
        if len(vals) > 1:
            text += f"  ({fmt.format(np.quantile(vals, 0.1))} to {fmt.format(np.quantile(vals, 0.9))})"
        lines.append(f"  {label:<{width}}  {text}")
    return "\n".join(lines)


def write_replicate_set(folder: Path, folders: list[Path], summaries: list[dict], start_year: int,
                        plot: bool = True, figures: FigureProcess | None = None) -> list[Path]:
    """The outputs of a set of replicates of one setting, beside their folders: ``outcomes.png``
    (each outcome's median over the replicates with a 10-90% band; drawn by ``figures`` when
    given) and ``summary.csv`` (per summary measure: unit, direction, n, median, 10% and 90%
    quantiles, mean; money in GBP)."""
    import pandas as pd

    from ics_sim.runs.aggregate import summarise_runs
    from ics_sim.runs.io import atomic_write_text

    first = summaries[0]
    runs = pd.DataFrame(summaries).rename(columns={"scenario": "setting"})
    table = summarise_runs(runs).rename(columns={"setting": "scenario"})
    atomic_write_text(folder / "summary.csv", table.to_csv(index=False))
    if not plot:
        return [folder / "summary.csv"]
    title = f"ics_sim — {first['scenario']}, {len(summaries)} replicates (median and 10-90%)"
    frames = [f / "timeseries.parquet" for f in folders]
    if figures is not None:
        figures.outcomes(frames, folder / "outcomes.png", title=title, start_year=start_year)
    else:
        from ics_sim.views.run_figure import plot_outcomes, read_figure_rows

        plot_outcomes(read_figure_rows(frames), folder / "outcomes.png", title=title, start_year=start_year)
    return [folder / "outcomes.png", folder / "summary.csv"]


#: environment variable that carries ``--no-plot`` / ``plot=false`` to a sweep's worker processes
NO_PLOT_ENV = "ICS_SIM_NO_PLOT"


def _plot_wanted() -> bool:
    return os.environ.get(NO_PLOT_ENV, "") != "1"


def run_job(cfg_omega: DictConfig, out_root: Path | None = None, figures: FigureProcess | None = None) -> list[Path]:
    """Run every replicate of one composed config and write a folder for each.

    One run writes ``results/runs/<time>_<scenario>_s<seed>_<id>/``. Several replicates
    (``replicates=N``) go into one folder, ``results/runs/<time>_<scenario>_n<N>_<id>/`` (in a
    sweep: the job's folder), one ``rep<r>_s<seed>/`` folder each, with the set's figure and
    summary beside them (:func:`write_replicate_set`). In a sweep the job prints one line; the
    summary of all settings, in setting order, comes when the sweep ends
    (:class:`ics_sim.aggregate.AggregateSweep`).

    With ``figures`` (a helper process started before the run, :func:`_run_direct`) the figures
    are drawn there; without, in this process.
    """
    import time
    import uuid

    from ics_sim import write_run
    from ics_sim.config import from_omegaconf
    from ics_sim.runs.api import run_config, scenario_name
    from ics_sim.runs.api import write_run as write_run_with
    from ics_sim.runs.seeds import replicate_seed

    cfg = from_omegaconf(cfg_omega)
    plot = _plot_wanted()
    sweep = out_root is not None
    n = int(cfg.replicates)
    if out_root is None and n > 1:
        out_root = Path("results/runs") / f"{time.strftime('%Y%m%d-%H%M%S')}_{scenario_name(cfg)}_n{n}_{uuid.uuid4().hex[:6]}"
        out_root.mkdir(parents=True, exist_ok=False)
    folders, summaries = [], []
    for r in range(n):
        cfg_r = from_omegaconf(cfg_omega)
        result = run_config(cfg_r, seed=replicate_seed(cfg.seed, r), keep_model=False)
        result.summary["replicate"] = r
        if out_root is None and plot and figures is not None:
            figures.draw_run(result)  # drawn by the helper while the folder is written
            folders.append(write_run_with(result, "results/runs", figure=figures.run_figure))
        elif out_root is None:
            folders.append(write_run(result, "results/runs", plot=plot))
        else:
            folder = out_root / f"rep{r:03d}_s{result.summary['seed']}"
            folders.append(write_run(result, out_root, folder=folder, plot=plot and n == 1))
        summaries.append(result.summary)
    if n > 1:
        write_replicate_set(out_root, folders, summaries, cfg.start_year, plot=plot, figures=figures)
    if sweep:
        print(f"{summaries[0]['scenario']}: {n} replicate(s) in {out_root}")
        return folders
    print(summary_table(summaries))
    if n > 1:
        print(f"  results: {out_root} (outcomes.png and summary.csv for the {n} replicates; one folder each)")
        return folders
    for f in folders[:3]:
        print(f"  results: {f}")
    return folders


def _task(cfg: DictConfig) -> None:
    """The Hydra app's task: one job (a run, or a sweep's job); see :func:`_app`."""
    import logging

    from hydra.core.hydra_config import HydraConfig

    from ics_sim.config import ConfigError

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


def _app() -> None:
    """Run the Hydra app (``@hydra.main`` on :func:`_task`) on ``sys.argv``; Hydra is imported here,
    only for the command lines that need it (flags, Hydra settings, sweeps)."""
    import hydra

    from ics_sim.config import CONFIG_DIR, register_with_hydra

    register_with_hydra()
    hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")(_task)()


#: flags that would load configs from outside the package or replay a pickled run
_REFUSED_FLAGS = {
    "config_path": "--config-path",
    "config_name": "--config-name",
    "config_dir": "--config-dir",
    "experimental_rerun": "--experimental-rerun",
}


def _args_parser():
    from hydra._internal.utils import get_args_parser

    from ics_sim.config import ConfigError

    parser = get_args_parser()

    def error(message: str) -> None:
        raise ConfigError(f"command line: {message}; see python -m ics_sim --help")

    parser.error = error  # argparse would print its usage and exit; keep one line
    return parser


def _check_one(items: list[ov.Item]) -> ov.Plan:
    from ics_sim.config import from_omegaconf
    from ics_sim.config import overrides as ov

    p = ov.plan(items, allow_hydra=True)
    typed = from_omegaconf(ov.compose_plan(p))
    ov.check_uses(p, typed)
    return p


def help_text() -> str:
    """Our help screen (``configs/hydra/help/ics_sim.yaml``) with the config groups and their
    options filled in as Hydra would, from :func:`ics_sim.config.overrides.group_options`: so a
    folder of ``configs/`` that is not a group (the leaders' ``questions/``) is not offered."""
    import string

    import yaml

    from ics_sim.config import CONFIG_DIR
    from ics_sim.config import overrides as ov

    template = yaml.safe_load((CONFIG_DIR / "hydra" / "help" / "ics_sim.yaml").read_text(encoding="utf-8"))["template"]
    groups = "".join(f"{g}: {', '.join(options)}\n" for g, options in ov.group_options().items())
    return string.Template(template).safe_substitute(APP_CONFIG_GROUPS=groups) + "\n"


def check_command_line(argv: list[str]) -> list[str]:
    """Check a command line as Hydra would read it, before Hydra runs.

    Args:
        argv: the arguments after the program name.

    Returns:
        The arguments to hand to Hydra: the same flags and overrides, with ``+`` prefixes dropped
        and any group selected by a key added (``delegation.share=0.4`` adds
        ``delegation=fixed``).

    Raises:
        ConfigError: one line naming the field and what is allowed; for a sweep, one line per
            bad value (every combination is checked).
    """
    from ics_sim.config import ConfigError
    from ics_sim.config import overrides as ov

    if not argv:  # nothing to parse: Hydra's parser (and Hydra) are not needed for a plain default run
        args = argparse.Namespace(overrides=[], help=False, hydra_help=False, shell_completion=False, multirun=False)
    else:
        args = _args_parser().parse_args(argv)
    for attr, flag in _REFUSED_FLAGS.items():
        if getattr(args, attr, None):
            raise ConfigError(f"{flag}: configs load only from the package's configs/ folder; choose options of its groups (python -m ics_sim --help)")
    if args.help:
        return ["--help"]
    if args.hydra_help or args.shell_completion:
        return list(argv)
    items = ov.parse_strings(args.overrides)
    selected: dict[str, tuple[str, str]] = {}
    if args.multirun:
        errors: list[str] = []
        for combo in ov.expand(items):
            try:
                selected.update(_check_one(combo).selected)
            except ConfigError as exc:
                if str(exc) not in errors:
                    errors.append(str(exc))
        if errors:
            raise ConfigError("\n".join(errors))
    else:
        selected = _check_one(items).selected
    flags = list(argv)
    for text in args.overrides:
        flags.remove(text)
    overrides = [i.text[len(i.prefix):] for i in items]
    overrides += [f"{g}={option}" for g, (option, _) in selected.items()]
    return flags + overrides


def _plot_option(argv: list[str]) -> tuple[list[str], bool]:
    """Take ``--no-plot`` and ``plot=true|false`` off the command line (an output option, not a
    model setting: it never changes a result). Returns the other arguments and whether to draw."""
    from ics_sim.config import ConfigError

    rest, plot = [], True
    for arg in argv:
        key, sep, value = arg.partition("=")
        if arg == "--no-plot":
            plot = False
        elif sep and key.lstrip("+") == "plot":
            if value.lower() not in ("true", "false"):
                raise ConfigError(f"plot: {value!r} is not allowed; use plot=true or plot=false (or --no-plot)")
            plot = value.lower() == "true"
        else:
            rest.append(arg)
    return rest, plot


def _run_direct(checked: list[str], plot: bool, figures: FigureProcess | None = None) -> None:
    """One run without a second composition by Hydra: the checked overrides are composed once
    (:func:`ics_sim.config.overrides.compose_plan`, the same composition ``@hydra.main`` makes)
    and run. Used for a plain single run, the common case, to keep the command line fast.

    With ``plot``, and a core idle (:func:`ics_sim.views.figure_process.helper_pays`), a helper
    process (:class:`ics_sim.views.figure_process.FigureProcess`; ``figures``, when :func:`main`
    started it already) imports matplotlib on another core while this one imports Mesa and runs
    the model, then draws the run's figure while this one writes the run's folder; the figure goes
    into the folder before it is renamed into place. The helper is closed when the run ends."""
    import logging
    from contextlib import nullcontext

    from ics_sim.config import ConfigError
    from ics_sim.config import overrides as ov
    from ics_sim.views.figure_process import FigureProcess, helper_pays

    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    if figures is None and plot and helper_pays():
        figures = FigureProcess()
    try:
        with figures if figures is not None else nullcontext():
            plan = ov.plan(ov.parse_strings(checked), allow_hydra=True)
            run_job(ov.compose_plan(plan), figures=figures)
    except ConfigError as exc:
        print(f"ConfigError: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _early_helper(argv: list[str]) -> FigureProcess | None:
    """The figure helper of a plain run, started before this process imports anything heavy (so
    from about a twentieth of a second on, rather than after Hydra's import and the check of the
    command line), or None: when the command line has a flag, a Hydra setting or a plot option
    (then :func:`_run_direct` decides as before), or no core is idle. If the command line turns
    out not to be a plain run (an error, ``--help``), :func:`main` closes it unused."""
    if any(a.startswith("-") or a.lstrip("+").startswith(("hydra", "plot=")) for a in argv):
        return None
    from ics_sim.views.figure_process import FigureProcess, helper_pays

    return FigureProcess() if helper_pays() else None


def _exit_now() -> None:
    """End the process at once after a plain run from the command line: its files are written
    (atomically, synced), its figure helper stopped and its lines printed, so tearing down the
    1,500 modules a run loads (pandas, pyarrow, scipy, Mesa) one by one, a fifth of a second or
    more, would change nothing. Only for a plain run (no Hydra launcher or sweep workers to shut
    down) started as a program, never when :func:`main` is called with arguments from Python."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """Entry point for ``python -m ics_sim`` and the ``ics-sim`` script (``argv`` None: the
    process's own arguments; a plain run then ends the process, :func:`_exit_now`)."""
    argv_given = argv
    argv = sys.argv[1:] if argv is None else list(argv)
    figures = _early_helper(argv)
    try:
        from ics_sim.config import overrides as ov

        with ov.composition_cache(_cache_folder()):
            _main(argv, figures, argv_given is None)
    finally:
        if figures is not None:
            figures.close()  # idle or unused by now; closing twice is harmless


#: environment variable: the folder of the command line's saved compositions; empty: none saved
CACHE_ENV = "ICS_SIM_CACHE_DIR"


def _cache_folder() -> Path | None:
    """Where the command line saves its config compositions for the next run
    (:func:`ics_sim.config.overrides.composition_cache`): ``$ICS_SIM_CACHE_DIR`` when set (empty:
    nowhere), else ``results/.cache/compositions`` beside the runs it composed (nothing is
    written outside ``results/``): small files, one per combination of config options, the
    newest 256 kept; deleting the folder only costs the next run its composition."""
    if CACHE_ENV in os.environ:
        return Path(os.environ[CACHE_ENV]) if os.environ[CACHE_ENV] else None
    return Path("results") / ".cache" / "compositions"


def _main(argv: list[str], figures: FigureProcess | None, own_process: bool) -> None:
    from ics_sim.config import ConfigError

    try:
        argv, plot = _plot_option(argv)
        checked = check_command_line(argv)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            print(f"ConfigError: {line}", file=sys.stderr)
        raise SystemExit(2) from None
    if checked == ["--help"]:  # our screen, without the folders of configs/ that are not groups
        print(help_text(), end="")
        return
    if not plot:
        os.environ[NO_PLOT_ENV] = "1"  # inherited by a sweep's worker processes
    if not any(a.startswith("-") or a.startswith("hydra") for a in checked):
        _run_direct(checked, plot, figures)  # a plain run: no flags, no Hydra settings
        if own_process:
            _exit_now()
        return
    if figures is not None:
        figures.close()
    sys.argv = [sys.argv[0], *checked]
    _app()


if __name__ == "__main__":
    main()
