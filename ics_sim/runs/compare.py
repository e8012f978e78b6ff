"""A leaders' question: governance options for one system, run on the same futures.

A *question file* (``configs/questions/*.yaml``) says what a board wants compared::

    title: Should our place partnerships be joint committees with a pooled budget?
    system: herefordshire_worcestershire   # a named system, any ICB by name or code, or synthetic
    baseline: committee                    # the option the others are compared with
    years: 10                              # horizon
    futures: 100                           # futures (a seed and one draw of the uncertain parameters)
    seed: 0                                # seed of the draws (same seed, same futures, same numbers)
    uncertain: all                         # or a list of keys, or {key: [low, high]} inside the allowed range
    outcomes: default                      # or a list of summary measures (docs/OUTPUTS.md)
    common: {}                             # overrides for every option
    options:
      - id: committee
        name: Committees at each place (as now)
        description: A committee of the ICB at each place, with a delegated budget.
        overrides: {governance: committee}
      - id: joint_committee
        name: Joint committees with a pooled budget
        description: The ICB and the council decide together over a pooled (section 75) budget.
        overrides: {governance: joint_committee, governance.pooled: true}

An option's ``overrides`` are those of ``python -m ics_sim`` (per place too:
``place_settings.<Place>.governance.form: joint_committee``; see the README, "Settings for one place").

:func:`load_question` reads and checks a file (a bad entry is one
:class:`~ics_sim.config.ConfigError` line naming the field and what is allowed, and every option
is composed once so a bad override fails before anything runs); :func:`quick_question` builds one
from a system and option names. :func:`run_question` runs every option in every future on the
batch runner (:func:`ics_sim.runs.batch.run_batch`: worker processes, a progress bar, and
resumable: the same command again finishes an interrupted run), with the same seed and the same
draw for every option in a future (each option takes only the drawn parameters it reads, as in
:mod:`ics_sim.analysis.robustness`), and returns tidy tables.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ics_sim.config import ConfigError, config_hash, is_safe_label, load_config
from ics_sim.config.overrides import default_options, group_options, unused_keys
from ics_sim.config.paths import QUESTIONS_DIR
from ics_sim.config.schema import Config, uncertain_parameters
from ics_sim.model.record import METRICS, SUMMARY_KEYS
from ics_sim.runs.futures import sample_futures
from ics_sim.runs.seeds import replicate_seed

#: the outcomes headlined by default: the four ICS aims (population health; inequalities in
#: outcomes and access; productivity and value for money, read from the money wasted on duplicated
#: care and spent on running the partnership, since every option spends the same budget; social
#: and economic development, when switched on with ``sed.enabled``), coordination (duplication,
#: decision delay) and the running cost of partnership working. ``health_gain_per_million_gbp`` is
#: not a default: a health change near zero divided by a decade's spending is mostly noise, and
#: read as "life-years per £ million" it looked like a cost-effectiveness figure it is not.
DEFAULT_OUTCOMES: tuple[str, ...] = (
    "hle_mean",
    "hle_sii",
    "unmet_need",
    "duplicated_spend_gbp",
    "decision_delay_months",
    "transaction_cost_gbp",
)
#: the ICS aim each default outcome speaks to (for the report's grouping)
AIM: dict[str, str] = {
    "hle_mean": "Population health",
    "hle_sii": "Inequalities",
    "unmet_need": "Inequalities (access)",
    "health_gain_per_million_gbp": "Value for money",
    "external_funding_gbp": "Social and economic development",
    "duplicated_spend_gbp": "Coordination and value for money",
    "decision_delay_months": "Coordination",
    "transaction_cost_gbp": "Cost of partnership working",
}
#: top-level keys of a question file
KEYS: tuple[str, ...] = ("title", "system", "baseline", "years", "futures", "seed", "uncertain", "outcomes",
                         "common", "options", "name")
OPTION_KEYS: tuple[str, ...] = ("id", "name", "description", "overrides")
#: the levels of the monthly record kept for the fan charts
TS_LEVELS: tuple[str, ...] = ("system",)
#: the futures whose monthly record is kept for the fan charts (the first this many)
TS_FUTURES = 40


@dataclass(frozen=True)
class Option:
    """One option: an id (a safe label), a plain name, a one-line description, its overrides."""

    id: str
    name: str
    description: str
    overrides: Mapping[str, Any]


@dataclass
class Question:
    """A comparison of options for one system (see the module docstring for the file).

    Attributes:
        name: the report's folder name (``results/reports/<name>/``).
        title: the question in the board's words.
        system: the system as written (named system, ICB name or code, ``synthetic``).
        options: the options, the baseline among them.
        baseline: the id of the option the others are compared with.
        years: horizon in years.
        futures: the number of futures.
        seed: seed of the draws and of the futures' runs.
        uncertain: key -> ``{"low", "high", "label", "unit", "integer", "default"}``: the
            parameters varied and their ranges.
        outcomes: the summary measures headlined.
        common: overrides for every option.
        source: the file it was read from (None for a quick question).
    """

    name: str
    title: str
    system: str
    options: list[Option]
    baseline: str
    years: int = 10
    futures: int = 100
    seed: int = 0
    uncertain: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: list[str] = field(default_factory=lambda: list(DEFAULT_OUTCOMES))
    common: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    @property
    def ids(self) -> list[str]:
        """The options' ids, baseline first."""
        return [self.baseline, *[o.id for o in self.options if o.id != self.baseline]]

    def option(self, oid: str) -> Option:
        """The option of id ``oid``."""
        for o in self.options:
            if o.id == oid:
                return o
        raise KeyError(oid)

    def base_overrides(self) -> dict[str, Any]:
        """The overrides of every run: the system, the horizon and ``common``."""
        return {**system_overrides(self.system), "years": int(self.years), **self.common}

    def config(self, oid: str) -> Config:
        """The option's config at the parameters' defaults (validated)."""
        cfg, _ = load_config({**self.base_overrides(), **dict(self.option(oid).overrides)})
        return cfg

    def with_changes(self, futures: int | None = None, years: int | None = None, system: str | None = None) -> Question:
        """A copy with another number of futures, horizon or system (the command's flags)."""
        import copy

        q = copy.deepcopy(self)
        if futures is not None:
            q.futures = _whole(futures, "futures", 1, 100_000, q.name)
        if years is not None:
            q.years = _whole(years, "years", 1, 50, q.name)
        if system is not None and str(system) != q.system:
            q.system = str(system)
            q.name = _safe_name(f"{q.name}_{system_overrides(q.system).get('system.icb', q.system)}")
        q.check()
        return q

    def check(self) -> None:
        """Compose every option's config once: a bad override fails here, before any run."""
        for o in self.options:
            try:
                self.config(o.id)
            except ConfigError as exc:
                raise ConfigError(f"question {self.name}: option {o.id}: {exc}") from None

    def record(self) -> dict[str, Any]:
        """The question as plain data (for the run record and the design hash)."""
        return {
            "name": self.name, "title": self.title, "system": self.system, "baseline": self.baseline,
            "years": self.years, "futures": self.futures, "seed": self.seed,
            "uncertain": {k: [v["low"], v["high"]] for k, v in self.uncertain.items()},
            "outcomes": list(self.outcomes), "common": dict(self.common),
            "options": [{"id": o.id, "name": o.name, "description": o.description, "overrides": dict(o.overrides)}
                        for o in self.options],
        }

    def design_hash(self) -> str:
        """A short hash of everything that decides the runs (not the title or the words)."""
        rec = self.record()
        blob = {k: rec[k] for k in ("system", "years", "futures", "seed", "uncertain", "common")}
        blob["options"] = [{"id": o["id"], "overrides": o["overrides"]} for o in rec["options"]]
        return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:10]


# ------------------------------------------------------------------------------ systems
def system_overrides(system: str) -> dict[str, Any]:
    """The overrides that choose ``system``: a system option (``herefordshire_worcestershire``,
    ``synthetic``, ``england``, ...) by name, or any ICB by its name or code (``system=icb``)."""
    text = str(system).strip()
    options = [o for o in group_options()["system"] if o != "icb"]
    if text.lower() in options:
        return {"system": text.lower()}
    return {"system": "icb", "system.icb": text}


def _safe_name(text: str) -> str:
    """A folder name from free text: letters, digits, ``.``, ``_`` and ``-`` (at most 80)."""
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)[:80]


# ------------------------------------------------------------------------------ reading
def _fail(name: str, text: str) -> ConfigError:
    return ConfigError(f"question {name}: {text}")


def _whole(value: Any, key: str, lo: int, hi: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(name, f"{key} = {value!r} is not allowed: a whole number from {lo} to {hi}")
    return int(value)


def _uncertain(spec: Any, name: str) -> dict[str, dict[str, Any]]:
    declared = uncertain_parameters()
    allowed = ", ".join(declared)
    if spec is None or spec == "all":
        return declared
    if isinstance(spec, list):
        spec = {k: None for k in spec}
    if not isinstance(spec, Mapping):
        raise _fail(name, f"uncertain = {spec!r} is not allowed: 'all', a list of keys or a mapping key: [low, high]")
    out = {}
    for key, rng in spec.items():
        if key not in declared:
            raise _fail(name, f"uncertain.{key} is not a declared uncertain parameter: allowed keys are {allowed}")
        meta = dict(declared[key])
        if rng is not None:
            lo_d, hi_d = _allowed_range(key)
            ok = (isinstance(rng, list) and len(rng) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                                 for v in rng))
            if not ok or not (lo_d <= rng[0] < rng[1] <= hi_d):
                raise _fail(name, f"uncertain.{key} = {rng!r} is not allowed: [low, high] with {lo_d} <= low < high <= {hi_d}")
            meta["low"], meta["high"] = (int(rng[0]), int(rng[1])) if meta["integer"] else (float(rng[0]), float(rng[1]))
        out[key] = meta
    return out


def _allowed_range(key: str) -> tuple[float, float]:
    import dataclasses
    import typing

    cls: Any = Config
    parts = key.split(".")
    for part in parts[:-1]:
        cls = typing.get_type_hints(cls)[part]
    f = {f.name: f for f in dataclasses.fields(cls)}[parts[-1]]
    return f.metadata["range"]


def _outcomes(spec: Any, name: str, sed: bool) -> list[str]:
    known = [k for k in SUMMARY_KEYS if k in METRICS] + [k for k in ("external_funding_gbp",) if k in METRICS]
    if spec is None or spec == "default":
        return [*DEFAULT_OUTCOMES, *(["external_funding_gbp"] if sed else [])]
    if not isinstance(spec, list) or not spec:
        raise _fail(name, f"outcomes = {spec!r} is not allowed: 'default' or a list of measures")
    for k in spec:
        if k not in known:
            raise _fail(name, f"outcomes: {k!r} is not a summary measure: allowed are {', '.join(known)}")
        if METRICS[k].direction not in ("higher", "lower"):
            raise _fail(name, f"outcomes: {k!r} has no better direction, so no option can be better on it")
    return list(dict.fromkeys(spec))


def _options(spec: Any, name: str) -> list[Option]:
    if not isinstance(spec, list) or len(spec) < 2:
        raise _fail(name, "options must be a list of at least two options, each with id, name, description and overrides")
    out = []
    for i, o in enumerate(spec):
        if not isinstance(o, Mapping):
            raise _fail(name, f"options[{i}] must be a mapping with {', '.join(OPTION_KEYS)}")
        extra = sorted(set(o) - set(OPTION_KEYS))
        if extra:
            raise _fail(name, f"options[{i}].{extra[0]} is not a key of an option: allowed are {', '.join(OPTION_KEYS)}")
        oid = o.get("id")
        if not isinstance(oid, str) or not is_safe_label(oid):
            raise _fail(name, f"options[{i}].id = {oid!r} is not allowed: a short label of letters, digits and . _ - + = ,")
        for k in ("name", "description"):
            if not isinstance(o.get(k), str) or not o[k].strip():
                raise _fail(name, f"options[{i}].{k} must be a non-empty line of text")
        ovr = o.get("overrides") or {}
        if not isinstance(ovr, Mapping):
            raise _fail(name, f"options[{i}].overrides must be a mapping of override keys to values")
        out.append(Option(oid, o["name"].strip(), " ".join(o["description"].split()), {str(k): v for k, v in ovr.items()}))
    ids = [o.id for o in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise _fail(name, f"options: the id {dup[0]!r} is used twice")
    return out


def question_from_dict(data: Mapping[str, Any], name: str, source: str | None = None) -> Question:
    """A checked :class:`Question` from the mapping of a question file."""
    if not isinstance(data, Mapping):
        raise _fail(name, "the file must be a mapping with title, system, options, ...")
    extra = sorted(set(data) - set(KEYS))
    if extra:
        raise _fail(name, f"{extra[0]} is not a key of a question: allowed are {', '.join(KEYS)}")
    name = str(data.get("name") or name)
    if not is_safe_label(name):
        raise _fail(name, "name must be a short label of letters, digits and . _ - + = ,")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise _fail(name, "title must be the question in a line of text")
    system = data.get("system")
    if not isinstance(system, str) or not system.strip():
        raise _fail(name, "system must be a named system (e.g. herefordshire_worcestershire), an ICB name or code, or synthetic")
    options = _options(data.get("options"), name)
    ids = [o.id for o in options]
    baseline = data.get("baseline", ids[0])
    if baseline not in ids:
        raise _fail(name, f"baseline = {baseline!r} is not one of the options: {', '.join(ids)}")
    common = data.get("common") or {}
    if not isinstance(common, Mapping):
        raise _fail(name, "common must be a mapping of override keys to values")
    sed = bool(common.get("sed.enabled", False))
    q = Question(
        name=name, title=" ".join(title.split()), system=system.strip(), options=options, baseline=baseline,
        years=_whole(data.get("years", 10), "years", 1, 50, name),
        futures=_whole(data.get("futures", 100), "futures", 1, 100_000, name),
        seed=_whole(data.get("seed", 0), "seed", 0, 2**31 - 1, name),
        uncertain=_uncertain(data.get("uncertain", "all"), name),
        outcomes=_outcomes(data.get("outcomes", "default"), name, sed),
        common={str(k): v for k, v in common.items()}, source=source,
    )
    q.check()
    return q


def question_path(spec: str | Path) -> Path:
    """The file of a question: a path, or the name of a packaged question
    (``herefordshire_worcestershire`` -> ``configs/questions/herefordshire_worcestershire.yaml``)."""
    path = Path(spec)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ConfigError(f"question file {spec} does not exist")
        return path
    packaged = QUESTIONS_DIR / f"{spec}.yaml"
    if packaged.is_file():
        return packaged
    names = ", ".join(packaged_questions())
    raise ConfigError(f"question {spec!r} is neither a .yaml file nor a packaged question: choose one of {names}")


def packaged_questions() -> list[str]:
    """The names of the ready-made questions (``configs/questions/*.yaml``)."""
    return sorted(p.stem for p in QUESTIONS_DIR.glob("*.yaml")) if QUESTIONS_DIR.is_dir() else []


def load_question(spec: str | Path) -> Question:
    """Read and check a question file (a path or a packaged question's name).

    Raises:
        ConfigError: one line naming the field and what is allowed.
    """
    path = question_path(spec)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"question {path.name}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return question_from_dict(data or {}, path.stem, source=str(path))


def _group_of(option: str) -> str:
    """The config group whose option is called ``option`` (the quick form's option names)."""
    groups = [g for g in ("governance", "delegation", "allocation") if option in group_options()[g]]
    if not groups:
        allowed = "; ".join(f"{g}: {', '.join(group_options()[g])}" for g in ("governance", "delegation", "allocation"))
        raise ConfigError(f"--options: {option!r} is not an option of governance, delegation or allocation: allowed are {allowed}")
    return groups[0]


def quick_question(system: str, options: Sequence[str], baseline: str | None = None, futures: int = 20,
                   years: int = 10, seed: int = 0) -> Question:
    """A question without a file: ``--system ... --options committee,joint_committee``.

    Each option is a governance form, delegation rule or allocation rule by name; the first (or
    ``baseline``) is the baseline; joint committees pool their budget, as the preset does.
    """
    opts = [o.strip() for o in options if o.strip()]
    if len(opts) < 2:
        raise ConfigError("--options needs at least two options, e.g. --options committee,joint_committee")
    made = []
    for o in opts:
        group = _group_of(o)
        words = o.replace("_", " ")
        default = default_options().get(group)
        made.append({"id": o, "name": words[0].upper() + words[1:],
                     "description": f"{group.capitalize()}: {words}" + (" (the default)" if o == default else "") + ".",
                     "overrides": {group: o}})
    name = _safe_name(f"{system_overrides(system).get('system.icb', system)}_{'_vs_'.join(opts)}")
    return question_from_dict({"title": f"Which works better here: {', '.join(m['name'].lower() for m in made)}?",
                               "system": system, "options": made, "baseline": baseline or opts[0], "futures": futures,
                               "years": years, "seed": seed}, name)


# ------------------------------------------------------------------------------ running
@dataclass
class CompareRuns:
    """The runs of a question.

    Attributes:
        question: the question run.
        futures: one row per future: its seed and the drawn parameters.
        runs: one row per option and future: option, future, seed, every summary measure (wide).
        timeseries: the headline outcomes per option, future and month at system level (tidy),
            for the first ``timeseries_futures`` futures.
        configs: option id -> config hash (at the parameters' defaults).
        elapsed_s: wall time of this call's runs.
        n_new: runs done by this call (0 when everything was already in the folder).
        timeseries_futures: the futures (the first this many) whose monthly record was kept.
    """

    question: Question
    futures: pd.DataFrame
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    configs: dict[str, str]
    elapsed_s: float
    n_new: int
    timeseries_futures: int = 0

    def tidy(self) -> pd.DataFrame:
        """Every run's summary measures, long: option, option_name, future, seed, the drawn
        parameters, metric, measure_unit, headline (whether the question headlines it), value."""
        q = self.question
        params = list(self.futures.columns.drop("seed"))
        wide = self.runs.merge(self.futures[params].reset_index(), on="future", how="left")
        ids = ["option", "option_name", "future", "seed", *params]
        wide = wide.assign(option_name=wide["option"].map({o.id: o.name for o in q.options}))
        measures = [c for c in self.runs.columns if c not in ("option", "future", "seed")]
        long = wide.melt(id_vars=ids, value_vars=measures, var_name="metric", value_name="value")
        long.insert(len(ids) + 1, "measure_unit", long["metric"].map(lambda m: METRICS[m].unit if m in METRICS else ""))
        long.insert(len(ids) + 2, "headline", long["metric"].isin(q.outcomes))
        return long


def futures_of(q: Question) -> pd.DataFrame:
    """The question's futures: the Latin-hypercube draws of its uncertain parameters and a seed
    per future (the same for every option)."""
    fut = sample_futures(q.futures, seed=q.seed, params=q.uncertain)
    fut.insert(0, "seed", [replicate_seed(q.seed, int(f)) for f in fut.index])
    return fut


def design(q: Question, futures: pd.DataFrame) -> list[dict[str, Any]]:
    """One batch setting per option and future: ``setting_id`` ``<option>|f<future>``, the
    future's seed, the drawn parameters the option reads, and the option's overrides."""
    base = q.base_overrides()
    ignored = {o.id: set(unused_keys({**base, **{k: q.uncertain[k]["low"] for k in q.uncertain}, **dict(o.overrides)}))
               for o in q.options}
    rows = []
    for f, row in futures.iterrows():
        params = {k: (int(round(v)) if q.uncertain[k]["integer"] else float(v)) for k, v in row.items() if k != "seed"}
        for oid in q.ids:
            used = {k: v for k, v in params.items() if k not in ignored[oid]}
            rows.append({"setting_id": f"{oid}|f{int(f):04d}", "seed": int(row["seed"]), **used,
                         **dict(q.option(oid).overrides)})
    return rows


def run_question(q: Question, out_dir: str | Path, workers: int = 2, progress: bool = True,
                 timeseries_futures: int = TS_FUTURES) -> CompareRuns:
    """Run every option in every future (resumable) and return the tidy results.

    Args:
        q: the question.
        out_dir: the report folder; the runs go to ``<out_dir>/runs/<design hash>/`` (the same
            question again resumes there; a changed one gets a new folder).
        workers: worker processes.
        progress: show a progress bar.
        timeseries_futures: keep the monthly record (for the fan charts) of the first this many
            futures only; recording it makes a run about half as long again, and a 10-90% band
            needs far fewer futures than the paired comparison (which uses every future).

    Raises:
        RuntimeError: a run failed (the first error is shown).
    """
    from ics_sim.runs.batch import read_results, run_batch

    fut = futures_of(q)
    folder = Path(out_dir) / "runs" / q.design_hash()
    settings = design(q, fut)
    k = max(0, min(int(timeseries_futures), q.futures))
    parts = (("timeseries", [s for s in settings if int(s["setting_id"].rsplit("|f", 1)[1]) < k], list(TS_LEVELS)),
             ("summary", [s for s in settings if int(s["setting_id"].rsplit("|f", 1)[1]) >= k], False))
    t0 = time.perf_counter()
    before = sum(len(read_results(folder / name)) for name, _, _ in parts if (folder / name).exists())
    frames, series = [], []
    for name, rows, keep in parts:
        if not rows:
            continue
        frames.append(run_batch(rows, replicates=1, out_dir=folder / name, workers=workers, base_seed=q.seed,
                                base_overrides=q.base_overrides(), keep_timeseries=keep, progress=progress))
        if keep:
            series.append(read_results(folder / name, timeseries=True))
    runs = pd.concat(frames, ignore_index=True)
    elapsed = time.perf_counter() - t0
    failed = runs[runs["status"] != "ok"]
    if len(failed):
        raise RuntimeError(f"{len(failed)} runs failed, e.g. {failed['setting_id'].iloc[0]}: {failed['error'].iloc[0]}")
    sid = runs["setting_id"].astype(str)
    runs = runs.assign(option=sid.str.rsplit("|", n=1).str[0], future=sid.str.rsplit("|f", n=1).str[1].astype(int))
    order = {oid: i for i, oid in enumerate(q.ids)}
    runs = runs.sort_values(["option", "future"], key=lambda c: c.map(order) if c.name == "option" else c)
    keep = ["option", "future", "seed", *[m for m in SUMMARY_KEYS if m in runs.columns],
            *[m for m in q.outcomes if m in runs.columns and m not in SUMMARY_KEYS]]
    runs = runs[list(dict.fromkeys(keep))].reset_index(drop=True)
    ts = pd.concat(series, ignore_index=True) if series else pd.DataFrame()
    if len(ts):
        ts = ts[ts["metric"].isin(q.outcomes) & ts["level"].isin(TS_LEVELS)]
        sid = ts["setting_id"].astype(str)
        ts = pd.DataFrame({"option": sid.str.rsplit("|", n=1).str[0].to_numpy(),
                           "future": sid.str.rsplit("|f", n=1).str[1].astype(int).to_numpy(),
                           "month": ts["month"].to_numpy(), "date": ts["date"].to_numpy(),
                           "metric": ts["metric"].astype(str).to_numpy(), "value": ts["value"].to_numpy()})
        ts = ts.drop_duplicates(["option", "future", "month", "metric"], keep="last").reset_index(drop=True)
    configs = {o.id: config_hash(q.config(o.id)) for o in q.options}
    return CompareRuns(q, fut, runs, ts, configs, elapsed, len(runs) - before, k)

