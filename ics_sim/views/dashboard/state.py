"""The dashboard's state without the page: one or two settings stepping month by month on the
same seed, the monitors read from them, and the session's runs for export.

Nothing here imports Solara, so the benchmark and the tests drive exactly what the page drives.
A setting is built the way :func:`ics_sim.run` builds one (:func:`ics_sim.config.load_config`
then :class:`~ics_sim.model.ICSModel`), so a bad combination comes back as the one-line
:class:`~ics_sim.config.ConfigError` the command line would print, and the page shows that line.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ics_sim.config import ConfigError, load_config, scenario_label
from ics_sim.model.ics_model import ICSModel
from ics_sim.model.record import METRICS


@dataclass(frozen=True)
class Monitor:
    """A NetLogo-style monitor card: a system-level measure shown with its unit and which way it
    moved over the last year (``scale`` converts the stored value to the unit shown)."""

    metric: str
    label: str
    unit: str
    scale: float = 1.0
    digits: int = 2


#: the monitors of the issue, in the order of the page, and the deadlocked meetings (scenarios 3 and 6)
MONITORS: tuple[Monitor, ...] = (
    Monitor("hle_gap_q1_q5", "HLE gap, least vs most deprived fifth", "years", 1.0, 2),
    Monitor("unmet_need_hidden", "Hidden need unmet", "% of hidden need", 100.0, 1),
    Monitor("duplicated_spend_gbp", "Duplicated spending", "GBP m a year", 1e-6, 2),
    Monitor("unfunded_need", "Unfunded need (gaps)", "GBP m a year", 1e-6, 1),
    Monitor("decision_delay_months", "Decision delay", "months from April", 1.0, 1),
    Monitor("trust_mean", "Trust between partners", "0-1", 1.0, 3),
    Monitor("vcse_survival", "VCSE bodies operating", "% of those at the start", 100.0, 0),
    Monitor("deadlocks", "Deadlocked meetings so far", "meetings", 1.0, 0),
)

#: the outcomes plotted over time (system level)
PLOTTED = ("hle_gap_q1_q5", "unmet_need", "unmet_need_hidden", "trust_mean", "decision_delay_months", "vcse_survival")


def direction_words(metric: str, now: float, before: float | None) -> str:
    """How a measure moved (``rising``, ``falling``, ``steady``), and whether that is better or
    worse by the data dictionary's direction, e.g. ``falling - better``."""
    if before is None or not np.isfinite(now) or not np.isfinite(before):
        return "no change yet"
    scale = max(abs(before), abs(now), 1e-9)
    change = (now - before) / scale
    if abs(change) < 0.005:
        return "steady"
    word = "rising" if change > 0 else "falling"
    better = METRICS[metric].direction
    if better == "higher":
        return f"{word} - {'better' if change > 0 else 'worse'}"
    if better == "lower":
        return f"{word} - {'better' if change < 0 else 'worse'}"
    if better == "zero":
        return f"{word} - {'better' if abs(now) < abs(before) else 'worse'}"
    return word


class Arm:
    """One setting of a session: its overrides, its model, stepped a month at a time.

    Args:
        overrides: the setting, as on the command line (``{"governance": "joint_committee"}``).
        seed: the random seed.
        years: the horizon.
        label: a short name for the page and the export.

    Raises:
        ConfigError: the setting is not valid (one line naming the field and what is allowed).
    """

    def __init__(self, overrides: dict[str, Any], seed: int, years: int, label: str = "A"):
        self.overrides = dict(overrides)
        self.seed = int(seed)
        self.years = int(years)
        self.label = label
        cfg, _ = load_config({**self.overrides, "seed": self.seed, "years": self.years})
        self.cfg = cfg
        self.setting = scenario_label(cfg)
        self.model = ICSModel(cfg)
        self.level = "national" if self.model.layout.n_systems > 1 else "system"
        self.step_seconds: list[float] = []

    @property
    def month(self) -> int:
        """Months simulated so far."""
        return self.model.month

    @property
    def done(self) -> bool:
        return not self.model.running

    def step(self, months: int = 1) -> None:
        """Step up to ``months`` months (never past the horizon)."""
        for _ in range(months):
            if self.done:
                return
            t = time.perf_counter()
            self.model.step()
            self.step_seconds.append(time.perf_counter() - t)

    def series(self, metric: str) -> np.ndarray:
        """A system-level measure's monthly values so far."""
        if self.month == 0:
            return np.array([])
        return self.model.recorder.series(metric, self.level)

    def value(self, metric: str, months_ago: int = 0) -> float | None:
        s = self.series(metric)
        if s.size <= months_ago:
            return None
        return float(s[-1 - months_ago])

    def monitors(self) -> list[dict[str, Any]]:
        """Each monitor's value in its unit and its direction words (over the last 12 months,
        or since the start when younger)."""
        out = []
        for m in MONITORS:
            now = self.value(m.metric)
            back = min(12, self.month - 1)
            before = self.value(m.metric, back) if now is not None and back > 0 else None
            out.append(
                {
                    "metric": m.metric,
                    "label": m.label,
                    "unit": m.unit,
                    "value": None if now is None else now * m.scale,
                    "text": "-" if now is None else f"{now * m.scale:,.{m.digits}f}",
                    "words": direction_words(m.metric, now, before) if now is not None else "press a step button",
                }
            )
        return out

    def frame(self, run: str) -> pd.DataFrame:
        """The run's system-level time series so far, tidy (the columns of ``timeseries.parquet``)."""
        ts = self.model.recorder.frame(run=run, scenario=self.setting, seed=self.seed)
        return ts[ts["level"] == self.level]


class Session:
    """What a workshop table is looking at: setting A, and with side by side setting B on the
    same seed, stepping together; every run started in the session is kept for the export.

    Args:
        name: the scenario's name (for the export).
        settings_a: setting A's overrides.
        settings_b: setting B's overrides, or None for one setting.
        seed: the seed both settings share.
        years: the horizon.
        labels: short names of A and B.

    Raises:
        ConfigError: a setting is not valid; nothing is changed.
    """

    def __init__(self, name: str, settings_a: dict[str, Any], settings_b: dict[str, Any] | None, seed: int, years: int,
                 labels: tuple[str, str] = ("A", "B")):
        self.name = name
        self.years = int(years)
        self.seed = int(seed)
        self.labels = labels
        self.archive: list[tuple[str, Arm]] = []
        self.arms: list[Arm] = []
        self._runs = 0
        self.settings = [dict(settings_a), None if settings_b is None else dict(settings_b)]
        self.reset()

    # ------------------------------------------------------------------ changing what runs
    def _build(self, settings: list[dict[str, Any] | None], seed: int) -> list[Arm]:
        return [Arm(s, seed, self.years, self.labels[i]) for i, s in enumerate(settings) if s is not None]

    def reset(self, seed: int | None = None) -> None:
        """Start again from month 0 (on ``seed`` when given); the runs so far stay in the export."""
        seed = self.seed if seed is None else int(seed)
        arms = self._build(self.settings, seed)  # raises before anything changes
        self.seed = seed
        self.arms = arms
        self._runs += 1
        for arm in arms:
            self.archive.append((f"{self.name}-run{self._runs}-{arm.label}", arm))

    def change(self, which: int, settings: dict[str, Any] | None) -> None:
        """Give setting ``which`` (0 = A, 1 = B) new overrides (None switches B off) and start
        both again on the same seed, so they stay comparable.

        Raises:
            ConfigError: the new setting is not valid; the session keeps its old settings.
        """
        new = list(self.settings)
        new[which] = None if settings is None else dict(settings)
        if new[0] is None:
            raise ConfigError("setting A cannot be switched off")
        old = self.settings
        self.settings = new
        try:
            self.reset()
        except ConfigError:
            self.settings = old
            raise

    # ------------------------------------------------------------------ stepping
    @property
    def month(self) -> int:
        return self.arms[0].month

    @property
    def done(self) -> bool:
        return all(a.done for a in self.arms)

    @property
    def side_by_side(self) -> bool:
        return len(self.arms) > 1

    def step(self, months: int = 1) -> float:
        """Step every setting ``months`` months; returns the seconds it took."""
        t = time.perf_counter()
        for _ in range(months):
            for arm in self.arms:
                arm.step(1)
        return time.perf_counter() - t

    def differences(self) -> list[dict[str, Any]]:
        """B minus A for each monitor, with whether B is better (by the data dictionary)."""
        if not self.side_by_side:
            return []
        out = []
        for ma, mb in zip(self.arms[0].monitors(), self.arms[1].monitors(), strict=True):
            if ma["value"] is None or mb["value"] is None:
                continue
            d = mb["value"] - ma["value"]
            better = METRICS[ma["metric"]].direction
            if abs(d) <= 1e-9 * max(1.0, abs(ma["value"])):
                verdict = "the same"
            elif better in ("higher", "lower"):
                verdict = f"{self.labels[1]} better" if (d > 0) == (better == "higher") else f"{self.labels[1]} worse"
            else:
                verdict = "different"
            out.append({"metric": ma["metric"], "label": ma["label"], "unit": ma["unit"], "difference": d, "verdict": verdict})
        return out

    # ------------------------------------------------------------------ export
    def export_csv(self) -> str:
        """Every run of the session (each setting of each reset), system-level measures by
        month, as one tidy CSV (columns: session_run, setting_label, then the columns of the
        time series)."""
        frames = []
        for run, arm in self.archive:
            if arm.month == 0:
                continue
            f = arm.frame(run)
            f.insert(0, "setting_label", arm.label)
            f.insert(0, "session_run", run)
            frames.append(f)
        if not frames:
            return "session_run,setting_label,run,scenario,seed,month,date,level,area,metric,measure_unit,value\n"
        buf = io.StringIO()
        pd.concat(frames, ignore_index=True).to_csv(buf, index=False)
        return buf.getvalue()
