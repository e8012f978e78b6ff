#!/usr/bin/env python
"""Build the compact reference tables shipped in ``ics_sim/data/``.

The tables are derived from the public statistics in ``../shared/data`` (ONS, NHS England,
NHS Digital, OHID and MHCLG; Open Government Licence v3.0). The installed package only ever
reads the compact outputs written here, never the raw files.

Outputs (each written atomically: temporary file in the same folder, then ``os.replace``):

* ``icbs.csv``: one row per integrated care board (42).
* ``places.csv``: one row per place (upper-tier council, or the part of a split council
  that holds a substantial share of an ICB), with populations that sum exactly to the ICB's.
* ``hle_reference.csv``: ONS healthy life expectancy / life expectancy reference figures by
  IMD decile and the headline inequality gaps (tidy format).
* ``ATTRIBUTION.md``: OGL attribution, the sources used, derivations and caveats.

Place rule (see ATTRIBUTION.md): every LSOA's residents belong to exactly one place of
the ICB that contains the LSOA. An (ICB, council) part is a place when that ICB holds
most of the council's residents (the "majority" assignment of the source tables) or
when the part holds at least ``--min-part-share`` of the ICB's residents (default 5%;
use ``--min-part-share 1.01`` for majority-only places). Smaller parts ("slivers") are
folded into the place of the same ICB that holds most people of the sliver's dominant
sub-ICB location, or into the ICB's largest place when no place shares that sub-ICB.

Usage::

    python scripts/build_tables.py [--data DIR] [--out DIR] [--min-part-share 0.05]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ics_sim.runs.io import atomic_path, atomic_write_parquet, atomic_write_text  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "ics_sim" / "data"
DEFAULT_MIN_PART_SHARE = 0.05

DECILES = tuple(range(1, 11))
DEC_COLS = [f"pct_pop_dec{d}" for d in DECILES]

ENGLAND_POPULATION = 56_490_091  # Census 2021, England (checked against the LSOA file)

SOURCES = {
    "master": "icb_master_42.csv",
    "lsoa": "lsoa11_master_imd19_census21pop_icb22_la.csv",
    "counts": "icb_pcn_practice_trust_counts.csv",
    "need_icb": "nhse_icb_gp_registered_pop_and_need_indices_2023_25.csv",
    "need_council": "nhse_icb_utla_gp_registered_pop_need_2024_25.csv",
    "hle_decile": "ons_male_hle_by_imd_decile_england_2015_17.csv",
    "hle_headlines": "hle_le_inequality_headlines_ons.csv",
}

# NHS England need-index columns (2024/25) -> packaged names.
NEED_COLUMNS = {
    "need_index_Final": "need_index_overall",
    "need_index_GA": "need_index_general_acute",
    "need_index_CS": "need_index_community",
    "need_index_MH": "need_index_mental_health",
    "need_index_Mat": "need_index_maternity",
    "need_index_Health_Ineq": "need_index_health_inequalities",
    "need_index_Prescr": "need_index_prescribing",
    "need_index_Primary_Medical_Care": "need_index_primary_medical_care",
    "need_index_Final_PMC": "need_index_primary_medical_care_final",
}

SHARE_DECIMALS = 6
NEED_DECIMALS = 4


# --------------------------------------------------------------------------- helpers


def short_name(name: str) -> str:
    """Friendly lower_snake_case slug of an ICB name.

    Drops "NHS", "Integrated Care Board"/"ICB", the word "and" and punctuation.

    Args:
        name: Full ICB name, e.g. "NHS Shropshire, Telford and Wrekin Integrated Care Board".

    Returns:
        The slug, e.g. "shropshire_telford_wrekin".
    """
    text = re.sub(r"\bIntegrated Care Board\b|\bICB\b", " ", name, flags=re.IGNORECASE)
    text = re.sub(r"^\s*NHS\b", " ", text, flags=re.IGNORECASE)
    tokens = [t for t in re.findall(r"[a-z0-9]+", text.lower()) if t != "and"]
    return "_".join(tokens)


def apportion(weights: Sequence[float], total: int, minimum: int = 0) -> np.ndarray:
    """Integer apportionment by largest remainder, with a floor per item.

    Ties are broken by position (earlier items first), so callers should pass items in
    a deterministic order.

    Args:
        weights: Non-negative weights (not all zero).
        total: Integer total to distribute.
        minimum: Minimum integer per item.

    Returns:
        Integer array summing to ``total``.

    Raises:
        ValueError: If ``total`` cannot honour the minimum.
    """
    w = np.asarray(weights, dtype=float)
    n = len(w)
    if n == 0 or total < minimum * n or w.sum() <= 0:
        raise ValueError(f"cannot apportion {total} over {n} items with minimum {minimum}")
    quota = total * w / w.sum()
    alloc = np.maximum(np.floor(quota + 1e-9).astype(int), minimum)
    while alloc.sum() != total:
        rem = quota - alloc
        if alloc.sum() < total:
            i = int(np.argmax(rem))  # first maximum -> deterministic tie-break
            alloc[i] += 1
        else:
            rem = np.where(alloc > minimum, rem, np.inf)
            i = int(np.argmin(rem))
            alloc[i] -= 1
    return alloc


def to_csv_text(df: pd.DataFrame) -> str:
    """Deterministic CSV text for a data frame."""
    return df.to_csv(index=False, lineterminator="\n")


def decile_shares(lsoa: pd.DataFrame, key: str | list[str]) -> pd.DataFrame:
    """Population share in each national IMD 2019 decile, per group (fractions)."""
    tab = lsoa.pivot_table(
        index=key, columns="imd19_decile", values="pop_census2021", aggfunc="sum", fill_value=0.0
    ).reindex(columns=list(DECILES), fill_value=0.0)
    tab = tab.div(tab.sum(axis=1), axis=0).round(SHARE_DECIMALS)
    tab.columns = DEC_COLS
    return tab


def weighted_mean_rank(lsoa: pd.DataFrame, key: str | list[str]) -> pd.Series:
    """Population-weighted mean IMD 2019 rank per group (1 = most deprived of 32,844)."""
    wr = (lsoa["imd19_rank"] * lsoa["pop_census2021"]).groupby([lsoa[k] for k in _keys(key)])
    return (wr.sum() / lsoa.groupby(_keys(key))["pop_census2021"].sum()).round(1)


def _keys(key: str | list[str]) -> list[str]:
    return [key] if isinstance(key, str) else list(key)


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(f"source data check failed: {message}")


# --------------------------------------------------------------------------- loading


def load_sources(data: Path) -> dict[str, pd.DataFrame]:
    """Read the source CSV files.

    Args:
        data: Folder holding the shared reference data.

    Returns:
        Mapping of short source key to data frame.
    """
    missing = [f for f in SOURCES.values() if not (data / f).is_file()]
    if missing:
        raise FileNotFoundError(f"missing source files in {data}: {missing}")
    return {k: pd.read_csv(data / f) for k, f in SOURCES.items()}


# --------------------------------------------------------------------------- places


def assign_places(
    lsoa: pd.DataFrame, min_part_share: float
) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Assign every LSOA to a place of its own ICB.

    Args:
        lsoa: LSOA master table.
        min_part_share: Minimum share of the ICB's residents for a minority (ICB, council)
            part to be a place in its own right.

    Returns:
        ``(lsoa_with_place, parts, folds)``: the LSOA table with ``place_code``; the
        (ICB, council) parts with their status; and a list describing folded slivers.
    """
    lsoa = lsoa.copy()
    pop = "pop_census2021"
    parts = lsoa.groupby(["icb22_code", "utla23_code"], as_index=False)[pop].sum()
    council_total = lsoa.groupby("utla23_code")[pop].sum()
    icb_total = lsoa.groupby("icb22_code")[pop].sum()
    # ICB holding most of each council's residents (ties -> lowest ICB code).
    majority_icb = (
        parts.sort_values(["utla23_code", pop, "icb22_code"], ascending=[True, False, True])
        .drop_duplicates("utla23_code")
        .set_index("utla23_code")["icb22_code"]
    )
    parts["majority"] = (
        parts["icb22_code"].to_numpy() == majority_icb.reindex(parts["utla23_code"]).to_numpy()
    )
    parts["share_of_council"] = parts[pop] / council_total.reindex(parts["utla23_code"]).to_numpy()
    parts["share_of_icb"] = parts[pop] / icb_total.reindex(parts["icb22_code"]).to_numpy()
    parts["is_place"] = parts["majority"] | (parts["share_of_icb"] >= min_part_share)
    # Safety: every ICB needs at least one place (its largest part).
    for _icb, grp in parts.groupby("icb22_code"):
        if not grp["is_place"].any():
            parts.loc[grp[pop].idxmax(), "is_place"] = True

    place_of = {
        (r.icb22_code, r.utla23_code): r.utla23_code
        for r in parts.itertuples(index=False)
        if r.is_place
    }
    folds: list[dict] = []
    for r in parts[~parts["is_place"]].sort_values(["icb22_code", "utla23_code"]).itertuples():
        icb, utla = r.icb22_code, r.utla23_code
        in_icb = lsoa[lsoa["icb22_code"] == icb]
        sliver = in_icb[in_icb["utla23_code"] == utla]
        sub_icb = (
            sliver.groupby("sicbl22_code_h")[pop]
            .sum()
            .sort_index()
            .sort_values(ascending=False, kind="stable")
            .index[0]
        )
        candidates = sorted(u for (i, u) in place_of if i == icb)
        same_sub = (
            in_icb[(in_icb["sicbl22_code_h"] == sub_icb) & in_icb["utla23_code"].isin(candidates)]
            .groupby("utla23_code")[pop]
            .sum()
        )
        if same_sub.sum() > 0:
            target = same_sub.sort_index().sort_values(ascending=False, kind="stable").index[0]
            how = f"largest place in the same sub-ICB location ({sub_icb})"
        else:
            sizes = in_icb[in_icb["utla23_code"].isin(candidates)].groupby("utla23_code")[pop].sum()
            target = sizes.sort_index().sort_values(ascending=False, kind="stable").index[0]
            how = "largest place of the ICB (no place shares its sub-ICB location)"
        place_of[(icb, utla)] = target
        folds.append(
            {
                "icb22_code": icb,
                "utla23_code": utla,
                "population": float(r.pop_census2021),
                "share_of_icb": float(r.share_of_icb),
                "target": target,
                "how": how,
            }
        )
    lsoa["place_code"] = [
        place_of[(i, u)] for i, u in zip(lsoa["icb22_code"], lsoa["utla23_code"], strict=True)
    ]
    return lsoa, parts, folds


def council_need(
    need_council: pd.DataFrame, lsoa: pd.DataFrame, ods_to_icb: dict[str, str]
) -> tuple[pd.DataFrame, int]:
    """NHS England 2024/25 need index and GP-registered population per (ICB, place).

    The NHSE ICB x council file is at lower-tier (district/unitary) council level. Each row
    is mapped to the place that holds most of that ICB's residents in that council;
    rows for councils with no residents in the ICB (cross-boundary registrations) are
    dropped. The place need index is the weighted population over the registered
    population (England = 1).

    Returns:
        ``(table, n_dropped_rows)`` where the table has ``icb22_code, place_code,
        gp_registered_2024_25, need_index_overall``.
    """
    pop = "pop_census2021"
    ltla_place = (
        lsoa.groupby(["icb22_code", "ltla22_code", "place_code"], as_index=False)[pop]
        .sum()
        .sort_values(["icb22_code", "ltla22_code", pop], ascending=[True, True, False])
        .drop_duplicates(["icb22_code", "ltla22_code"])
        .drop(columns=pop)
    )
    nc = need_council.rename(
        columns={
            "utla21_code": "ltla22_code",
            "gp_registered_pop_2024_25": "gp",
            "Final WP": "wp",
        }
    )
    nc["icb22_code"] = nc["ICS22"].map(ods_to_icb)
    _check(nc["icb22_code"].notna().all(), "unknown ICB ODS code in the NHSE council file")
    merged = nc.merge(ltla_place, on=["icb22_code", "ltla22_code"], how="left")
    dropped = int(merged["place_code"].isna().sum())
    merged = merged.dropna(subset=["place_code"])
    out = merged.groupby(["icb22_code", "place_code"], as_index=False)[["gp", "wp"]].sum()
    out["need_index_overall"] = (out["wp"] / out["gp"]).round(NEED_DECIMALS)
    out["gp_registered_2024_25"] = out["gp"].round().astype(int)
    return out[["icb22_code", "place_code", "gp_registered_2024_25", "need_index_overall"]], dropped


# --------------------------------------------------------------------------- tables


def build_icbs(src: dict[str, pd.DataFrame], lsoa: pd.DataFrame) -> pd.DataFrame:
    """ICB table (without ``n_places``, added once places are built)."""
    master = src["master"]
    pop = "pop_census2021"
    base = pd.DataFrame(
        {
            "icb_code": master["icb22_code"],
            "icb23_code": master["icb23_code"],
            "icb_ods": master["icb_ods"],
            "name": master["icb22_name"],
            "short_name": master["icb22_name"].map(short_name),
            "region": master["nhs_region"].str.replace(r"\s*\(.*\)\s*$", "", regex=True),
            "region_ods": master["nhs_region_ods"],
            "n_sub_icbs": master["n_sicbl22"],
        }
    )
    agg = lsoa.groupby("icb22_code").agg(
        population=(pop, "sum"), pop_65plus=("pop65plus_census2021", "sum"), n_lsoa=(pop, "size")
    )
    _check(bool((agg["population"] % 1 == 0).all()), "ICB populations are not whole numbers")
    agg = agg.astype({"population": int, "pop_65plus": int})
    base = base.join(agg, on="icb_code")
    check = master.set_index("icb22_code")
    _check(
        bool((base.set_index("icb_code")["population"] == check["pop_census2021"]).all()),
        "LSOA-based ICB populations differ from icb_master_42.csv",
    )

    need = src["need_icb"]
    need = need[need["allocation_year"] == "2024/25"].set_index("icb_ods")
    _check(len(need) == 42, "NHSE need file does not hold 42 ICBs for 2024/25")
    base["gp_registered_2024_25"] = base["icb_ods"].map(need["gp_registered_pop_projected"])
    base["n_practices_2024_25"] = base["icb_ods"].map(need["n_practices"])

    counts = src["counts"].set_index("icb_ods")  # keyed by ODS (its ONS codes are ICB23)
    base["n_pcns"] = base["icb_ods"].map(counts["n_pcn_jan2022_excl_unallocated"])
    base["n_practices"] = base["icb_ods"].map(counts["n_practices_jan2022_by_icb2022"])
    base["n_trusts"] = base["icb_ods"].map(counts["n_trusts_etr_2022"])
    base["n_acute_trusts"] = base["icb_ods"].map(counts["n_acute_trusts_ohid_primary_icb"])

    base["mean_imd_rank"] = base["icb_code"].map(weighted_mean_rank(lsoa, "icb22_code"))
    for src_col, col in NEED_COLUMNS.items():
        base[col] = base["icb_ods"].map(need[src_col]).round(NEED_DECIMALS)
    base = base.join(decile_shares(lsoa, "icb22_code"), on="icb_code")
    _check(not base.isna().any().any(), "missing values in the ICB table")
    return base.sort_values("icb_code").reset_index(drop=True)


def build_places(
    lsoa: pd.DataFrame,
    parts: pd.DataFrame,
    icbs: pd.DataFrame,
    need: pd.DataFrame,
) -> pd.DataFrame:
    """Place table: populations sum exactly to each ICB's population."""
    pop = "pop_census2021"
    key = ["icb22_code", "place_code"]
    agg = lsoa.groupby(key).agg(
        pop_f=(pop, "sum"), p65_f=("pop65plus_census2021", "sum"), n_lsoa=(pop, "size")
    )
    agg = agg.join(weighted_mean_rank(lsoa, key).rename("mean_imd_rank"))
    agg = agg.join(decile_shares(lsoa, key)).reset_index()
    agg = agg.sort_values(key).reset_index(drop=True)

    own = parts.set_index(["icb22_code", "utla23_code"])
    agg["majority"] = [
        bool(own.loc[(i, p), "majority"])
        for i, p in zip(agg.icb22_code, agg.place_code, strict=True)
    ]
    agg["share_of_council"] = [
        round(float(own.loc[(i, p), "share_of_council"]), 4)
        for i, p in zip(agg.icb22_code, agg.place_code, strict=True)
    ]

    icb_idx = icbs.set_index("icb_code")
    population = np.zeros(len(agg), dtype=int)
    pop65 = np.zeros(len(agg), dtype=int)
    pcns = np.zeros(len(agg), dtype=int)
    for icb, rows in agg.groupby("icb22_code").groups.items():
        rows = list(rows)
        population[rows] = apportion(agg.loc[rows, "pop_f"], int(icb_idx.at[icb, "population"]))
        pop65[rows] = apportion(agg.loc[rows, "p65_f"], int(icb_idx.at[icb, "pop_65plus"]))
        pcns[rows] = apportion(population[rows], int(icb_idx.at[icb, "n_pcns"]), minimum=1)
    agg["population"] = population
    agg["pop_65plus"] = pop65
    agg["n_pcns"] = pcns

    agg = agg.merge(need, on=key, how="left")
    has = agg["need_index_overall"].notna()
    agg["need_index_source"] = np.where(has, "nhse_icb_council", "icb")
    agg.loc[~has, "need_index_overall"] = agg.loc[~has, "icb22_code"].map(
        icb_idx["need_index_overall"]
    )
    agg["gp_registered_2024_25"] = agg["gp_registered_2024_25"].astype("Int64")
    agg = agg.rename(columns={"icb22_code": "icb_code"})
    return agg


def build_hle(src: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Tidy ONS HLE/LE reference figures (by decile, and headline gaps)."""
    rows: list[dict] = []
    dec = src["hle_decile"]
    dec_source = (
        "ONS, Health state life expectancies by national deprivation deciles, England and "
        "Wales: 2015 to 2017 (IMD 2015 deciles; LE = HLE + years in poorer health)"
    )
    measures = {
        "healthy_life_expectancy_at_birth": "male_hle_at_birth_2015_17",
        "life_expectancy_at_birth": "male_le_at_birth_2015_17_derived",
        "years_in_poorer_health": "male_years_in_poorer_health_2015_17",
    }
    for measure, col in measures.items():
        for r in dec.sort_values("imd15_decile").itertuples(index=False):
            rows.append(
                {
                    "measure": measure,
                    "sex": "male",
                    "period": "2015-2017",
                    "decile": int(r.imd15_decile),
                    "value": round(float(getattr(r, col)), 4),
                    "unit": "years",
                    "source": dec_source,
                }
            )

    head = src["hle_headlines"].copy()
    for col in ("source_title", "source_url"):
        head[col] = head[col].where(head[col] != "same").ffill()
    bases = {
        "life expectancy at birth": "life_expectancy_at_birth",
        "healthy life expectancy at birth": "healthy_life_expectancy_at_birth",
        "disability-free life expectancy at birth": "disability_free_life_expectancy_at_birth",
    }
    for r in head.itertuples(index=False):
        period = _norm_period(r.period)
        source = re.sub(r"\s*\(ONS\)\s*$", "", str(r.source_title))
        if "ONS" not in str(r.source_title) or "press" in str(r.source_title).lower():
            continue  # secondary (press) quotes are not used as reference figures
        if r.measure in bases:
            method = str(r.gap_method).lower()
            prefix = "sii_" if ("slope" in method or "sii" in method) else "gap_"
            rows.append(
                {
                    "measure": prefix + bases[r.measure],
                    "sex": r.sex,
                    "period": period,
                    "decile": pd.NA,
                    "value": float(r.gap_years_most_vs_least_deprived),
                    "unit": "years",
                    "source": "ONS, " + source,
                }
            )
        elif r.measure.startswith("share of life in good health"):
            pcts = [
                float(x) for x in re.findall(r"([\d.]+)%", str(r.gap_years_most_vs_least_deprived))
            ]
            _check(len(pcts) == 2, f"cannot parse {r.gap_years_most_vs_least_deprived!r}")
            for decile, pct in zip((1, 10), pcts, strict=True):
                rows.append(
                    {
                        "measure": "share_of_life_in_good_health",
                        "sex": r.sex,
                        "period": period,
                        "decile": decile,
                        "value": round(pct / 100.0, 4),
                        "unit": "fraction",
                        "source": "ONS, " + source,
                    }
                )
    out = pd.DataFrame(
        rows, columns=["measure", "sex", "period", "decile", "value", "unit", "source"]
    )
    out["decile"] = out["decile"].astype("Int64")
    return out


def _norm_period(period: str) -> str:
    """'2015-17' or '2015-2017' -> '2015-2017'."""
    a, b = str(period).split("-")
    return f"{a}-{a[:2] + b if len(b) == 2 else b}"


# --------------------------------------------------------------------------- attribution


def attribution_text(
    icbs: pd.DataFrame,
    places: pd.DataFrame,
    parts: pd.DataFrame,
    folds: list[dict],
    dropped_need_rows: int,
    min_part_share: float,
    council_names: dict[str, str],
) -> str:
    """Markdown attribution, derivations and caveats (deterministic)."""
    name_of = icbs.set_index("icb_code")["name"].to_dict()
    minority_places = places[~places["majority"]]
    fallback = places[places["need_index_source"] == "icb"]
    split = sorted(
        {council_names[u] for u in parts.loc[parts["share_of_council"] < 1, "utla23_code"]}
    )
    split_list = ", ".join(split)
    n_places = icbs["n_places"]
    lines = [
        "# Reference data: attribution and derivation",
        "",
        "Contains public sector information licensed under the Open Government Licence v3.0",
        "(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/).",
        "",
        "Sources: Office for National Statistics (ONS: Census 2021, LSOA to sub-ICB to ICB",
        "lookup July 2022, health state life expectancy bulletins), NHS England (ICB practice",
        "weighted populations and need indices 2024/25), NHS Digital (GP practice to PCN",
        "mapping, January 2022; organisation data), Office for Health Improvement and",
        "Disparities (OHID: acute trust to ICB attribution) and the Ministry of Housing,",
        "Communities and Local Government (MHCLG: English Indices of Deprivation 2019).",
        "",
        "These tables are generated by `scripts/build_tables.py` from the project's shared",
        "reference data; do not edit them by hand. Figures are derived, rounded and may differ",
        "slightly from the published originals.",
        "",
        "## Files",
        "",
        f"- `icbs.csv` ({len(icbs)} rows): one row per ICB (2022 boundaries).",
        f"- `places.csv` ({len(places)} rows): places (upper-tier councils) per ICB.",
        "- `hle_reference.csv`: ONS healthy life expectancy reference figures.",
        "",
        "## Source files used and what was derived",
        "",
        f"- `{SOURCES['master']}`: ICB22/ICB23 ONS codes, ODS codes, names, NHS region,",
        "  number of sub-ICB locations (used as-is; Census populations cross-checked).",
        f"- `{SOURCES['lsoa']}` (ONS lookup, Census 2021 TS007A, MHCLG IMD 2019): ICB and",
        "  place populations and 65+ (sums of LSOAs), population shares by national IMD 2019",
        "  decile (`pct_pop_dec1` = most deprived ... `pct_pop_dec10`, fractions), the",
        "  population-weighted mean IMD 2019 rank (1 = most deprived of 32,844), and the",
        "  assignment of LSOAs to places.",
        f"- `{SOURCES['counts']}` (NHS Digital, Jan 2022; OHID): `n_pcns` (PCNs excluding the",
        "  'Unallocated' pseudo-PCN), `n_practices` (Jan 2022), `n_trusts`, `n_acute_trusts`.",
        f"- `{SOURCES['need_icb']}` (NHS England): 2024/25 projected GP-registered",
        "  population, number of practices 2024/25 and the need indices (England = 1):",
        "  " + ", ".join(f"`{v}` (`{k}`)" for k, v in NEED_COLUMNS.items()) + ".",
        f"- `{SOURCES['need_council']}` (NHS England): place `need_index_overall` and",
        "  `gp_registered_2024_25` = sum of weighted population / sum of registered population",
        "  over the ICB x council rows mapped to the place (the file is at district/unitary",
        "  level; each district is mapped to the place holding most of that ICB's residents",
        "  in it). "
        + f"{dropped_need_rows} rows for councils with no residents in the ICB (cross-boundary",
        "  registrations) are not used, so place registered populations do not sum exactly to",
        "  the ICB figure. Where no row maps to a place, the ICB value is used",
        "  (`need_index_source = icb`).",
        f"- `{SOURCES['hle_decile']}` and `{SOURCES['hle_headlines']}` (ONS bulletins): male",
        "  HLE, LE and years in poorer health by IMD decile 2015-17 (IMD 2015 deciles) and",
        "  the headline gaps (slope index of inequality, `sii_*`; the 2016-18 bulletin figures",
        "  are labelled `gap_*` as in the source). Press quotes in the headline file are not used.",
        "",
        "## Places: how populations add up",
        "",
        "Every LSOA's residents are counted in exactly one place of the ICB containing the",
        "LSOA, so the places of each ICB sum exactly to the ICB's Census 2021 population",
        "(place totals are rounded to whole people with largest-remainder rounding within each",
        "ICB; a few LSOAs carry half-people in the source).",
        "",
        "- A council is a place of the ICB holding most of its residents (`majority = True`;",
        "  `share_of_council` is the fraction of the council's residents in that ICB).",
        "- The part of a split council in another ICB is a place of that ICB too when it holds",
        f"  at least {min_part_share:.0%} of that ICB's residents (`majority = False`).",
        "- Smaller parts are folded into a place of the same ICB: the place holding most",
        "  people in the part's sub-ICB location, else the ICB's largest place.",
        "",
        "Minority parts kept as places:",
        "",
    ]
    for r in minority_places.itertuples(index=False):
        lines.append(
            f"- {name_of[r.icb_code]}: {r.place_name} ({r.population:,} residents, "
            f"{r.share_of_council:.1%} of the council)"
        )
    if minority_places.empty:
        lines.append("- none")
    lines += ["", "Slivers folded into another place of the same ICB:", ""]
    for f in folds:
        lines.append(
            f"- {name_of[f['icb22_code']]}: {council_names[f['utla23_code']]} "
            f"(about {f['population']:,.0f} residents, {f['share_of_icb']:.1%} of the ICB) "
            f"-> {council_names[f['target']]}; {f['how']}"
        )
    if not folds:
        lines.append("- none")
    lines += [
        "",
        f"Places per ICB: {n_places.min()} to {n_places.max()}, median {n_places.median():g}.",
        "",
        "`n_pcns` per place apportions the ICB's PCN count over its places in proportion to",
        "population (largest remainder, at least one per place); it is not an observed count.",
        "",
        "Places whose need index falls back to the ICB value:",
        "",
    ]
    for r in fallback.itertuples(index=False):
        lines.append(f"- {name_of[r.icb_code]}: {r.place_name}")
    if fallback.empty:
        lines.append("- none")
    lines += [
        "",
        "## Caveats",
        "",
        "- PCN, practice and trust counts are January 2022 snapshots; boundaries and",
        "  organisations changed afterwards (Surrey Heartlands and Sussex ICB codes changed in",
        "  2023: `icb23_code`).",
        "- GP-registered populations run 5-20% above resident counts (list inflation); use",
        "  `population` (Census 2021 residents) for per-head rates.",
        "- Upper-tier councils split between ICBs (source README: 12 district councils are",
        "  split): " + split_list + "; see the place rule above.",
        "- IMD 2019 deciles are national (England) LSOA deciles on 2011 LSOAs; HLE by decile",
        "  2015-17 uses IMD 2015 deciles.",
        "- Need indices are NHS England's 2024/25 allocation indices (England = 1), computed on",
        "  GP-registered populations, not resident populations.",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def build(data: Path, out: Path, min_part_share: float = DEFAULT_MIN_PART_SHARE) -> dict[str, Path]:
    """Build all tables from ``data`` into ``out``.

    Args:
        data: Folder with the shared source CSV files.
        out: Output folder (created if missing).
        min_part_share: Threshold for minority council parts to be places.

    Returns:
        Mapping of output file name to path.
    """
    src = load_sources(data)
    lsoa = src["lsoa"]
    _check(len(lsoa) == 32_844 and lsoa["lsoa11_code"].is_unique, "LSOA file is not 32,844 LSOAs")
    _check(
        round(float(lsoa["pop_census2021"].sum())) == ENGLAND_POPULATION,
        "England population differs from 56,490,091",
    )
    lsoa, parts, folds = assign_places(lsoa, min_part_share)

    icbs = build_icbs(src, lsoa)
    _check(len(icbs) == 42 and icbs["icb_code"].is_unique, "expected 42 ICBs")
    _check(icbs["short_name"].is_unique, "short names are not unique")
    ods_to_icb = dict(zip(icbs["icb_ods"], icbs["icb_code"], strict=True))
    need, dropped = council_need(src["need_council"], lsoa, ods_to_icb)

    places_src = pd.read_csv(data / "icb22_utla23_places_census2021_imd19.csv")
    council_names = (
        places_src.drop_duplicates("utla23_code").set_index("utla23_code")["utla23_name"].to_dict()
    )
    places = build_places(lsoa, parts, icbs, need)
    places["place_name"] = places["place_code"].map(council_names)
    _check(places["place_name"].notna().all(), "council name missing")

    n_places = places.groupby("icb_code").size()
    icbs.insert(icbs.columns.get_loc("n_sub_icbs") + 1, "n_places", icbs["icb_code"].map(n_places))
    for col in ("population", "pop_65plus", "n_pcns"):
        _check(
            bool((places.groupby("icb_code")[col].sum() == icbs.set_index("icb_code")[col]).all()),
            f"place {col} do not sum to the ICB totals",
        )

    icb_cols = [
        "icb_code", "icb23_code", "icb_ods", "name", "short_name", "region", "region_ods",
        "population", "pop_65plus", "gp_registered_2024_25", "n_sub_icbs", "n_places",
        "n_pcns", "n_practices", "n_practices_2024_25", "n_trusts", "n_acute_trusts",
        "n_lsoa", "mean_imd_rank", *NEED_COLUMNS.values(), *DEC_COLS,
    ]  # fmt: skip
    place_cols = [
        "icb_code", "place_code", "place_name", "majority", "share_of_council",
        "population", "pop_65plus", "n_lsoa", *DEC_COLS, "mean_imd_rank", "n_pcns",
        "need_index_overall", "need_index_source", "gp_registered_2024_25",
    ]  # fmt: skip
    icbs = icbs[icb_cols]
    places = places[place_cols].sort_values(["icb_code", "place_code"]).reset_index(drop=True)
    hle = build_hle(src)

    texts = {
        "icbs.csv": to_csv_text(icbs),
        "places.csv": to_csv_text(places),
        "hle_reference.csv": to_csv_text(hle),
        "ATTRIBUTION.md": attribution_text(
            icbs, places, parts, folds, dropped, min_part_share, council_names
        ),
    }
    written = {}
    for name, text in texts.items():
        atomic_write_text(out / name, text)
        written[name] = out / name
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--min-part-share",
        type=float,
        default=DEFAULT_MIN_PART_SHARE,
        help="minimum share of an ICB's residents for a minority council part to be a place",
    )
    args = parser.parse_args(argv)
    written = build(args.data.resolve(), args.out.resolve(), args.min_part_share)
    for path in written.values():
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
