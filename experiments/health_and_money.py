"""Health and money against evidence (issue 10): the docking figures of docs/design/health_and_money.md.

One command measures, on common seeds:

1. the allocation rules (per head, need-weighted, need-weighted + HI) on the default system:
   mean HLE, QALYs, need-weighted unmet need, HLE SII and the fifths' HLE, paired by seed;
2. a 1% uplift of the NHS allocation in ``system=england``: the share of its QALY gain in each
   population fifth by national deprivation rank (Love-Koh et al. 2020: 26% most deprived, 14%
   least) and its marginal cost per QALY within the run (Claxton et al. 2015: GBP 12,936);
3. the effect size per pound against Barr et al. 2014: HLE gained per GBP 100 a head a year;
4. the status quo's trajectory (median SII and mean HLE by year) on the default system.

    python experiments/health_and_money.py                    # 12 seeds, England 2 seeds
    python experiments/health_and_money.py --seeds 30 --england-seeds 3 --out results/health

Prints a markdown summary and writes ``health_and_money.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np

from ics_sim import metrics
from ics_sim.config import load_config
from ics_sim.model.ics_model import ICSModel
from ics_sim.runs.api import run_config

RULES = ("per_head", "need_weighted", "need_weighted_hi")


def allocation_rules(seeds: int) -> dict:
    """Summaries of the default system under each allocation rule, paired by seed."""
    keys = ("health_mean", "hle_mean", "qalys", "unmet_need", "hle_sii", "hle_q1", "hle_q5", "spend_gbp_total")
    out: dict = {}
    for rule in RULES:
        cfg, _ = load_config({"allocation": rule})
        rows = [run_config(copy.deepcopy(cfg), seed=s, keep_model=False, timeseries=False).summary for s in range(seeds)]
        out[rule] = {k: [float(r[k]) for r in rows] for k in keys}
    return out


def uplift(seeds: int, system: str = "england", factor: float = 1.01) -> dict:
    """A ``factor`` uplift of the NHS allocation: QALY gain by population fifth, cost per QALY,
    HLE gain by fifth at the horizon and extra spending per head a year."""
    rows = []
    for seed in range(seeds):
        cfg, _ = load_config({"system": system})
        up = copy.deepcopy(cfg)
        up.system.nhs_gbp_per_head = cfg.system.nhs_gbp_per_head * factor
        a = run_config(cfg, seed=seed, timeseries=False)
        b = run_config(up, seed=seed, timeseries=False)
        L = a.model.layout
        people = L.nb_population
        fifths = metrics.population_quantile_weights(L.nb_rank, people, 5)
        per_person = fifths / people[:, None]
        dq = (b.model.population.qalys_nb - a.model.population.qalys_nb) @ per_person
        dhle = ((b.model.population.hle - a.model.population.hle) @ fifths) / fifths.sum(axis=0)
        dspend = b.summary["spend_gbp_total"] - a.summary["spend_gbp_total"]
        rows.append(
            {
                "seed": seed,
                "d_spend": dspend,
                "d_qalys": b.summary["qalys"] - a.summary["qalys"],
                "qaly_share_by_fifth": (dq / dq.sum()).tolist(),
                "d_hle_by_fifth": dhle.tolist(),
                "d_hle_mean": float(np.average(b.model.population.hle - a.model.population.hle, weights=people)),
                "gbp_per_head_year": dspend / cfg.years / people.sum(),
            }
        )
        a.model.release()
        b.model.release()
    d_spend = sum(r["d_spend"] for r in rows)
    d_qalys = sum(r["d_qalys"] for r in rows)
    return {
        "system": system,
        "factor": factor,
        "seeds": rows,
        "cost_per_qaly": d_spend / d_qalys,
        "qaly_share_by_fifth": np.mean([r["qaly_share_by_fifth"] for r in rows], axis=0).tolist(),
        "d_hle_by_fifth": np.mean([r["d_hle_by_fifth"] for r in rows], axis=0).tolist(),
        "d_hle_mean": float(np.mean([r["d_hle_mean"] for r in rows])),
        "gbp_per_head_year": float(np.mean([r["gbp_per_head_year"] for r in rows])),
    }


def status_quo(seeds: int, system: str = "synthetic") -> dict:
    """Median (and 10-90%) over seeds of the SII and mean HLE at month 0 and each year's end."""
    sii, hle = [], []
    for seed in range(seeds):
        cfg, _ = load_config({"system": system})
        m = ICSModel(cfg, seed=seed, timeseries=False)
        L = m.layout

        def now(model=m, layout=L):
            gv, gp = metrics.decile_groups(layout.nb_decile, model.population.hle, layout.nb_population)
            return metrics.sii(gv, gp)[0], float(np.average(model.population.hle, weights=layout.nb_population))

        s0, h0 = now()
        path_s, path_h = [s0], [h0]
        while m.running:
            m.step()
            if m.month % 12 == 0:
                s, h = now()
                path_s.append(s)
                path_h.append(h)
        sii.append(path_s)
        hle.append(path_h)
        m.release()
    sii, hle = np.array(sii), np.array(hle)
    return {
        "system": system,
        "sii_median": np.median(sii, axis=0).tolist(),
        "sii_p10": np.quantile(sii, 0.1, axis=0).tolist(),
        "sii_p90": np.quantile(sii, 0.9, axis=0).tolist(),
        "hle_median": np.median(hle, axis=0).tolist(),
        "sii_drift_median": float(np.median(sii[:, -1] - sii[:, 0])),
        "hle_drift_median": float(np.median(hle[:, -1] - hle[:, 0])),
    }


def markdown(res: dict) -> str:
    r = res["rules"]
    n = len(r["per_head"]["hle_mean"])

    def med(rule, key):
        return float(np.median(r[rule][key]))

    def share(a, b, key, sign):
        d = np.array(r[a][key]) - np.array(r[b][key])
        return int(np.sum(np.sign(d) == sign))

    lines = [
        f"Allocation rules, default system, {n} common seeds, 10 years (median):",
        "",
        "| measure | per head | need-weighted | need-weighted + HI | seeds NW better than PH | seeds NW+HI better than PH |",
        "|---|---|---|---|---|---|",
    ]
    for key, label, sign in (
        ("hle_mean", "mean HLE (years)", +1),
        ("qalys", "QALYs over the run (million)", +1),
        ("unmet_need", "unmet need (share of need)", -1),
        ("hle_sii", "HLE SII (years)", -1),
        ("hle_q1", "HLE, most deprived fifth", +1),
        ("hle_q5", "HLE, least deprived fifth", +1),
    ):
        scale = 1e-6 if key == "qalys" else 1.0
        lines.append(
            f"| {label} | {med('per_head', key) * scale:.3f} | {med('need_weighted', key) * scale:.3f} | "
            f"{med('need_weighted_hi', key) * scale:.3f} | {share('need_weighted', 'per_head', key, sign)}/{n} | "
            f"{share('need_weighted_hi', 'per_head', key, sign)}/{n} |"
        )
    gain = np.array(r["need_weighted_hi"]["hle_q1"]) - np.array(r["per_head"]["hle_q1"])
    loss = np.array(r["per_head"]["hle_q5"]) - np.array(r["need_weighted_hi"]["hle_q5"])
    lines += [
        "",
        f"Need-weighted + HI against per head: the most deprived fifth gains {np.median(gain):.2f} years of HLE, the least "
        f"deprived fifth loses {np.median(loss):.2f} (ratio {np.median(loss) / np.median(gain):.2f}).",
    ]
    u = res["uplift"]
    sh = u["qaly_share_by_fifth"]
    lines += [
        "",
        f"1% uplift of the NHS allocation, `system={u['system']}`, {len(u['seeds'])} paired seeds, 10 years: "
        f"GBP {u['gbp_per_head_year']:.2f} a head a year more; QALY gain by population fifth (most deprived first) "
        + ", ".join(f"{100 * v:.1f}%" for v in sh)
        + f" (Love-Koh et al. 2020: 26% and 14% at the ends); marginal cost per QALY within the run GBP {u['cost_per_qaly']:,.0f} "
        f"(Claxton et al. 2015: GBP 12,936; range GBP 5,000-15,000); HLE at year 10 +{u['d_hle_mean']:.3f} years on average, "
        f"+{u['d_hle_by_fifth'][0]:.3f} in the most deprived fifth and +{u['d_hle_by_fifth'][-1]:.3f} in the least, "
        f"i.e. {100 * u['d_hle_mean'] / u['gbp_per_head_year']:.2f} years per GBP 100 a head a year "
        f"({100 * u['d_hle_by_fifth'][0] / u['gbp_per_head_year']:.2f} in the most deprived fifth).",
    ]
    sq = res["status_quo"]
    lines += [
        "",
        f"Status quo, `system={sq['system']}` (median over seeds; month 0 then each year): SII "
        + " ".join(f"{v:.2f}" for v in sq["sii_median"])
        + "; mean HLE "
        + " ".join(f"{v:.2f}" for v in sq["hle_median"])
        + f" (drift over the run: SII {sq['sii_drift_median']:+.2f}, mean HLE {sq['hle_drift_median']:+.2f} years).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=12)
    ap.add_argument("--england-seeds", type=int, default=2)
    ap.add_argument("--out", default="results/health_and_money")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = {
        "rules": allocation_rules(args.seeds),
        "uplift": uplift(args.england_seeds),
        "status_quo": status_quo(args.seeds),
    }
    res["runtime_s"] = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "health_and_money.json").write_text(json.dumps(res, indent=1))
    print(markdown(res))
    print(f"\n({res['runtime_s']:.0f} s; {out / 'health_and_money.json'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
