"""Tests for ics_sim.views.run_figure.plot_outcomes (fast; synthetic tidy frames only)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from ics_sim.views.run_figure import DPI, FIGSIZE, plot_outcomes, weighted_slope

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
N_MONTHS = 36
PLACES = {"North Shire": ["N1", "N2", "N3"], "South Vale": ["S1", "S2", "S3"]}
RANKS = {"N1": 0.05, "N2": 0.30, "N3": 0.55, "S1": 0.20, "S2": 0.70, "S3": 0.95}
POPS = {"N1": 12000.0, "N2": 8000.0, "N3": 15000.0, "S1": 5000.0, "S2": 20000.0, "S3": 9000.0}
PANELS = ("hle", "inequality", "unmet_need", "coordination", "partnership", "gradient")
SII_RE = re.compile(r"SII = (-?\d+\.\d) years")  # the recorded SII (by national decile), as the summary
LINE_RE = re.compile(r"; line (-?\d+\.\d)")  # the slope of the fitted line over neighbourhoods


def make_frame(seeds: Iterable[int] = (1,), scenarios: Iterable[str] = ("baseline",),
               *, gradient: float = 6.0, nb_noise: float = 0.0,
               drop: Iterable[str] = ()) -> pd.DataFrame:
    """Synthetic tidy time series: 2 places, 6 neighbourhoods, 36 months.

    Neighbourhood HLE is ``60 + gradient * rank + trend`` (perfectly linear in
    rank when ``nb_noise == 0``); system metrics get seed-dependent noise.
    """
    rows: list[tuple] = []
    for k, scen in enumerate(scenarios):
        for seed in seeds:
            rng = np.random.default_rng(1000 * k + seed)
            run = f"{scen}-s{seed}"

            def add(level: str, area: str, metric: str, m: int, v: float,
                    _run: str = run, _scen: str = scen, _seed: int = seed) -> None:
                rows.append((_run, _scen, _seed, m, level, area, metric, float(v)))

            for m in range(N_MONTHS):
                t = m / 12
                noise = rng.normal(0, 0.05)
                nb_hle = {}
                for place, nbs in PLACES.items():
                    for nb in nbs:
                        h = 60 + gradient * RANKS[nb] + (0.2 + 0.1 * k) * t
                        h += rng.normal(0, nb_noise) if nb_noise else 0.0
                        nb_hle[nb] = h
                        add("neighbourhood", nb, "hle", m, h)
                        add("neighbourhood", nb, "imd_rank", m, RANKS[nb])
                        add("neighbourhood", nb, "population", m, POPS[nb])
                    pop = sum(POPS[n] for n in nbs)
                    add("place", place, "hle_mean", m,
                        sum(nb_hle[n] * POPS[n] for n in nbs) / pop)
                    add("place", place, "unmet_need", m, 0.2 - 0.01 * t + noise / 10)
                    add("place", place, "population", m, pop)
                total = sum(POPS.values())
                add("system", "ICS", "hle_mean", m,
                    sum(nb_hle[n] * POPS[n] for n in nb_hle) / total + noise)
                add("system", "ICS", "hle_sii", m, gradient - 0.2 * k * t + noise)
                add("system", "ICS", "hle_gap_q1_q5", m, 0.8 * gradient - 0.1 * t + noise)
                add("system", "ICS", "unmet_need", m, 0.22 - 0.02 * t + noise / 10)
                add("system", "ICS", "unmet_need_hidden", m, 0.08 - 0.005 * t + noise / 20)
                add("system", "ICS", "duplicated_spend_gbp", m, 4.5e6 * (1 - 0.1 * t) + 1e5 * noise)
                add("system", "ICS", "unfunded_need", m, 3.0e6 * (1 + 0.05 * t) + 1e5 * noise)
                add("system", "ICS", "trust_mean", m, 0.5 + 0.05 * t + noise / 5)
                add("system", "ICS", "decision_delay_months", m, 4 - 0.5 * t + noise)
    df = pd.DataFrame(rows, columns=["run", "scenario", "seed", "month", "level", "area",
                                     "metric", "value"])
    return df.loc[~df["metric"].isin(list(drop))].reset_index(drop=True)


def panel(fig: Figure, name: str) -> object:
    matches = [ax for ax in fig.axes if ax.get_label() == name]
    assert len(matches) == 1, f"expected one axes labelled {name!r}"
    return matches[0]


def all_text(fig: Figure, name: str | None = None) -> str:
    """All text drawn in the figure (or in one panel, including its legend)."""
    artists = fig.findobj(lambda a: hasattr(a, "get_text")) if name is None else \
        panel(fig, name).findobj(lambda a: hasattr(a, "get_text"))
    return "\n".join(a.get_text() for a in artists)


def printed_siis(fig: Figure) -> list[float]:
    return [float(v) for v in SII_RE.findall(all_text(fig, "gradient"))]


def printed_slopes(fig: Figure) -> list[float]:
    return [float(v) for v in LINE_RE.findall(all_text(fig, "gradient"))]


def recorded_sii(df: pd.DataFrame) -> float:
    """The frame's own SII at its last month (median over seeds), rounded as printed."""
    sii = df.loc[(df["level"] == "system") & (df["metric"] == "hle_sii") & (df["month"] == df["month"].max())]
    return round(float(sii["value"].median()), 1)


def check_png(path: Path) -> None:
    assert path.exists()
    assert path.read_bytes()[:8] == PNG_MAGIC
    img = mpimg.imread(path)
    assert img.shape[:2] == (round(FIGSIZE[1] * DPI), round(FIGSIZE[0] * DPI))
    assert [p.name for p in path.parent.iterdir()] == [path.name], "temporary file left behind"


@pytest.mark.parametrize(("seeds", "scenarios"), [
    ((1,), ("baseline",)),
    ((1, 2, 3), ("baseline",)),
    ((1, 2, 3), ("baseline", "delegated")),
])
def test_png_written_atomically_with_labels(tmp_path: Path, seeds, scenarios) -> None:
    out = tmp_path / "outcomes.png"
    fig = plot_outcomes(make_frame(seeds, scenarios), out, title="Test ICS")
    assert isinstance(fig, Figure)
    check_png(out)
    assert fig.get_suptitle() == "Test ICS"
    for name in PANELS:
        ax = panel(fig, name)
        assert ax.get_xlabel().strip(), name
        assert ax.get_ylabel().strip(), name
        assert ax.get_title(loc="left").strip(), name
    assert panel(fig, "partnership_delay").get_ylabel().strip()
    assert "Year (April start)" in panel(fig, "hle").get_xlabel()
    assert "0 = most deprived" in panel(fig, "gradient").get_xlabel()


def test_single_seed_plain_lines_and_place_legend() -> None:
    fig = plot_outcomes(make_frame((7,)))
    assert fig.get_suptitle() == "ics_sim — main outcomes"
    for name in PANELS[:5]:
        assert not [c for c in panel(fig, name).collections if isinstance(c, PolyCollection)]
    legend_text = all_text(fig, "hle")
    assert "North Shire" in legend_text and "South Vale" in legend_text
    assert "seed 7" in all_text(fig)


def test_several_seeds_give_bands_and_subtitle() -> None:
    fig = plot_outcomes(make_frame((1, 2, 3)))
    assert "median and 10–90% range over 3 seeds" in all_text(fig)
    bands = [c for c in panel(fig, "inequality").collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # SII and quintile gap


def test_two_scenarios_coloured_without_place_lines() -> None:
    fig = plot_outcomes(make_frame((1, 2), ("baseline", "delegated")))
    text = all_text(fig)
    assert "baseline" in text and "delegated" in text
    hle_ax = panel(fig, "hle")
    assert len(hle_ax.get_lines()) == 2  # one system line per scenario, no place lines
    assert "North Shire" not in all_text(fig, "hle")
    colours = {tuple(line.get_color()) if not isinstance(line.get_color(), str)
               else line.get_color() for line in hle_ax.get_lines()}
    assert len(colours) == 2
    assert len(printed_siis(fig)) == 2 and len(printed_slopes(fig)) == 2


def test_missing_metrics_do_not_raise(tmp_path: Path) -> None:
    df = make_frame((1, 2), drop=["unmet_need_hidden", "trust_mean", "hle_sii",
                                  "hle_gap_q1_q5", "population"])
    out = tmp_path / "nested" / "fig.png"
    fig = plot_outcomes(df, out)
    check_png(out)
    assert "not recorded" in all_text(fig, "unmet_need")
    assert "not recorded" in all_text(fig, "partnership_delay")
    assert "not recorded" in all_text(fig, "inequality")
    assert printed_slopes(fig)  # unweighted fit still printed without population
    assert "SII not recorded" in all_text(fig, "gradient") and not printed_siis(fig)


def test_no_neighbourhood_data_and_empty_frame() -> None:
    df = make_frame()
    fig = plot_outcomes(df.loc[df["level"] != "neighbourhood"])
    assert "not recorded" in all_text(fig, "gradient")
    plot_outcomes(df.iloc[0:0])  # entirely empty frame still draws


def test_missing_column_raises() -> None:
    with pytest.raises(ValueError, match="metric"):
        plot_outcomes(make_frame().drop(columns="metric"))


@pytest.mark.parametrize("gradient", [6.0, 2.35, -3.0])
def test_printed_sii_matches_independent_slope(gradient: float) -> None:
    fig = plot_outcomes(make_frame(gradient=gradient))
    # Perfectly linear gradient: the population-weighted slope is the gradient itself.
    x = np.array([RANKS[n] for n in RANKS])
    y = 60 + gradient * x
    slope = np.polyfit(x, y, 1, w=np.sqrt([POPS[n] for n in RANKS]))[0]
    assert slope == pytest.approx(gradient)
    assert printed_slopes(fig) == [pytest.approx(round(slope, 1), abs=1e-9)]
    assert printed_siis(fig) == [recorded_sii(make_frame(gradient=gradient))]


def test_printed_sii_is_population_weighted_with_noise() -> None:
    df = make_frame((1, 2, 3), gradient=5.0, nb_noise=0.8)
    fig = plot_outcomes(df)
    nb = df.loc[(df["level"] == "neighbourhood") & (df["month"] == N_MONTHS - 1)]
    wide = nb.pivot_table(index=["seed", "area"], columns="metric", values="value")
    med = wide.groupby(level="area").median()
    w = med["population"].to_numpy()
    slope = np.polyfit(med["imd_rank"], med["hle"], 1, w=np.sqrt(w))[0]
    assert printed_slopes(fig) == [pytest.approx(round(slope, 1), abs=0.051)]
    assert printed_siis(fig) == [recorded_sii(df)]
    assert weighted_slope(med["imd_rank"], med["hle"], w)[0] == pytest.approx(slope)


def test_no_pyplot_figures_leaked() -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_outcomes(make_frame())
    assert plt.get_fignums() == before


def test_overwrites_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "fig.png"
    out.write_bytes(b"old")
    plot_outcomes(make_frame(), str(out))
    check_png(out)


def test_every_panel_of_a_real_run_is_recorded():
    """The figure reads the metric names the model actually records (a renamed metric would
    otherwise show as 'not recorded')."""
    import ics_sim

    fig = plot_outcomes(ics_sim.run({"years": 2}, seed=0).timeseries)
    assert "not recorded" not in all_text(fig)
    for name in ("coordination_gaps", "partnership_delay"):
        assert panel(fig, name).get_lines(), f"{name}: nothing drawn"


def test_the_printed_sii_is_the_summary_s():
    """One SII everywhere: the gradient panel prints the SII the summary and the console give,
    and names the fitted line's slope as a different estimate."""
    import ics_sim

    r = ics_sim.run({"years": 2}, seed=0)
    fig = plot_outcomes(r.timeseries)
    assert printed_siis(fig) == [round(r.summary["hle_sii"], 1)]
    assert "SII by national decile, as in the summary" in all_text(fig, "gradient")


def national_frame(n_systems: int = 3) -> pd.DataFrame:
    """make_frame's single system copied into ``n_systems`` systems of different size, with the
    whole-country ("national") level a run of several systems records: money summed, rates
    averaged."""
    df = make_frame()
    system = df.loc[df["level"] == "system"]
    frames = [df.loc[df["level"] != "system"]]
    for i in range(n_systems):
        frames.append(system.assign(area=f"S{i}", value=system["value"] * (1 + 0.1 * i)))
    national = system.copy()
    money = national["metric"].isin(["duplicated_spend_gbp", "unfunded_need"])
    national.loc[money, "value"] = national.loc[money, "value"] * sum(1 + 0.1 * i for i in range(n_systems))
    frames.append(national.assign(level="national", area="england"))
    return pd.concat(frames, ignore_index=True)


def test_a_run_of_several_systems_shows_systems_and_says_totals():
    df = national_frame(3)
    fig = plot_outcomes(df)
    legend = all_text(fig, "hle")
    assert "All 3 systems (population-weighted)" in legend and "Each system (3)" in legend
    assert "North Shire" not in legend  # places are not drawn (England has 158)
    assert len(panel(fig, "hle").get_lines()) == 1 + 3
    # the coordination panel shows the total over all systems, as the summary does, and says so
    coord = panel(fig, "coordination")
    assert coord.get_ylabel() == "Duplicated spend (total of 3 systems, £ million per year)"
    last = df.loc[(df["level"] == "national") & (df["metric"] == "duplicated_spend_gbp"), "value"].iloc[-1]
    (line,) = [ln for ln in coord.get_lines() if len(ln.get_ydata()) == N_MONTHS]
    assert line.get_ydata()[-1] == pytest.approx(last / 1e6)
    assert "3 systems: lines are all systems together" in all_text(fig)
