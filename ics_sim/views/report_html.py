"""The leaders' report as one self-contained HTML file.

Figures are inline PNG (``data:`` URIs) with alt text generated from the numbers; the style sheet
is in the page; nothing is fetched from anywhere (no fonts, scripts or images from the network), so
the file works offline, by e-mail and on a projector. The first screen answers the board's
questions: which option is better for what, by how much, how sure, and what would change it. Then
the six sections: the question and options (what each bundles), the headlines, a table per
outcome, fan charts and the trade-off chart, what would change the answer, and the assumptions,
parameter ranges and run record. A print style sheet lays it out on A4.
"""

from __future__ import annotations

import base64
import html

import numpy as np

from ics_sim.runs.compare import AIM
from ics_sim.views.report_content import DISCLAIMER, Content, system_name
from ics_sim.views.report_figures import TRADE_OFF, colours, fan_chart, trade_off
from ics_sim.views.report_text import (
    BETTER,
    NO_DIFFERENCE,
    TOO_CLOSE,
    WORSE,
    amount,
    chance,
    decimals_for,
    level,
    number,
    words,
)

CSS = """
:root { --ink: #1a1a1a; --muted: #555; --better: #0072B2; --worse: #D55E00; --close: #6b6b6b; --rule: #d0d0d0; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", Arial, Helvetica, sans-serif; color: var(--ink); margin: 0 auto; max-width: 70rem;
       padding: 1.2rem 1.6rem 3rem; font-size: 18px; line-height: 1.45; background: #fff; }
h1 { font-size: 1.7rem; margin: 0.2rem 0 0.3rem; line-height: 1.2; }
h2 { font-size: 1.3rem; margin: 2rem 0 0.6rem; border-bottom: 2px solid var(--ink); padding-bottom: 0.2rem; }
h3 { font-size: 1.08rem; margin: 1.2rem 0 0.4rem; }
p.meta { color: var(--muted); margin: 0 0 0.4rem; }
p.disclaimer { font-weight: 600; border-left: 6px solid var(--ink); padding: 0.2rem 0.7rem; margin: 0.6rem 0 1rem; }
.short { background: #f3f6f9; border: 1px solid var(--rule); padding: 0.6rem 0.9rem; margin: 0.4rem 0; }
table { border-collapse: collapse; width: 100%; margin: 0.4rem 0 1rem; font-size: 0.92rem; }
th, td { border-bottom: 1px solid var(--rule); padding: 0.35rem 0.45rem; text-align: left; vertical-align: top; }
th { background: #eef0f2; }
table td:first-child { min-width: 12rem; }
td.num, th.num { text-align: right; white-space: nowrap; }
.verdict { font-weight: 700; white-space: nowrap; padding: 0.05rem 0.4rem; border-radius: 0.25rem; color: #fff; }
.v-better { background: var(--better); } .v-worse { background: var(--worse); }
.v-close, .v-same { background: var(--close); }
figure { margin: 0.6rem 0 1.2rem; } figure img { max-width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { color: var(--muted); font-size: 0.88rem; }
ul.bundle { margin: 0.2rem 0 0.8rem; } .swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.35em;
 vertical-align: -0.1em; border: 1px solid #000; }
.small { font-size: 0.85rem; color: var(--muted); }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { font-size: 10.5pt; max-width: none; padding: 0; }
  h2 { break-after: avoid; } table, figure, .short { break-inside: avoid; }
  .verdict { color: #000; background: none !important; border: 1.5px solid #000; }
  a { color: inherit; text-decoration: none; }
}
"""

_VCLASS = {BETTER: "v-better", WORSE: "v-worse", TOO_CLOSE: "v-close", NO_DIFFERENCE: "v-same"}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _img(data: bytes | None, alt: str, caption: str) -> str:
    if data is None:
        return f"<p class='small'>{_e(caption)} (no monthly record was kept).</p>"
    src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return f"<figure><img src='{src}' alt='{_e(alt)}'><figcaption>{_e(caption)}</figcaption></figure>"


def _fan_alt(c: Content, metric: str) -> str:
    """The fan chart in words: each option's median in the last month and its 10-90% range."""
    ts = c.result.timeseries
    ts = ts[ts["metric"] == metric] if len(ts) else ts
    w = words(metric)
    if ts.empty:
        return ""
    last = ts[ts["month"] == ts["month"].max()]
    parts = []
    for oid in c.question.ids:
        v = last.loc[last["option"] == oid, "value"].to_numpy(dtype=float) * w.scale
        if len(v):
            q10, q50, q90 = np.quantile(v, (0.1, 0.5, 0.9))
            parts.append(f"{c.name(oid)}: median {amount(q50, w.unit, sig=3)}, 10-90% range {number(q10, sig=3)} to {number(q90, sig=3)}")
    return (f"Line chart of {w.label.lower()} over {c.question.years} years, one line per option with a shaded 10-90% band. "
            f"In the last month: " + "; ".join(parts) + ".")


def _trade_alt(c: Content) -> str:
    """The trade-off chart in words: each option's median change on the three measures."""
    q = c.question
    runs = c.result.runs.set_index(["option", "future"])
    parts = []
    for oid in q.ids[1:]:
        med = {m: float((runs.loc[oid, m] - runs.loc[q.baseline, m]).median()) * words(m).scale for m in TRADE_OFF}
        parts.append(f"{c.name(oid)}: median change in the HLE gap {amount(med['hle_sii'], 'years')}, "
                     f"in duplicated spending {amount(med['duplicated_spend_gbp'], '£ million a year')}, "
                     f"in running costs {amount(med['transaction_cost_gbp'], '£ million a year')}")
    return "Two scatter charts, one dot per future, of each option's change from the baseline. " + "; ".join(parts) + "."


def _first_screen(c: Content) -> str:
    q = c.question
    out = ["<section id='answer' aria-label='The answer in short'><h2>The answer in short</h2>"]
    for oid in q.ids[1:]:
        out.append(f"<div class='short'><strong>{_e(c.name(oid))}</strong>, compared with "
                   f"<strong>{_e(c.name(q.baseline).lower())}</strong>: {_e(c.summary[oid].split('. ', 1)[1])}</div>")
    for oid in q.ids[1:]:
        out.append(f"<table class='headlines'><caption class='small' style='text-align:left'>{_e(c.name(oid))} against "
                   f"{_e(c.name(q.baseline).lower())}, paired over {q.futures} futures</caption>"
                   "<thead><tr><th>Outcome</th><th>Verdict</th><th>By how much</th><th>How sure</th>"
                   "<th>What would change it</th></tr></thead><tbody>")
        for r in (r for r in c.rows if r.option == oid):
            w = words(r.metric)
            aim = AIM.get(r.metric)
            out.append(f"<tr><td><strong>{_e(w.label)}</strong>{'<br><span class=small>' + _e(aim) + '</span>' if aim else ''}</td>"
                       f"<td><span class='verdict {_VCLASS[r.verdict]}'>{_e(r.verdict)}</span></td>"
                       f"<td>{_e(r.by_how_much)}</td><td class='num'>better in {_e(chance(r.chance_better))}<br>"
                       f"<span class=small>of {r.n} futures</span></td><td>{_e(r.flip)}</td></tr>")
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


def _options(c: Content) -> str:
    q = c.question
    col = colours(q.ids)
    out = ["<section id='options'><h2>1. The question and the options</h2>", f"<p>{_e(q.title)}</p>"]
    for oid in q.ids:
        o = q.option(oid)
        tag = " (the baseline: the others are compared with it)" if oid == q.baseline else ""
        out.append(f"<h3><span class='swatch' style='background:{col[oid]}'></span>{_e(o.name)}{_e(tag)}</h3>"
                   f"<p>{_e(o.description)}</p><ul class='bundle'>")
        out += [f"<li><strong>{_e(k)}:</strong> {_e(v)}</li>" for k, v in c.bundles[oid]]
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def _headlines(c: Content) -> str:
    out = ["<section id='headlines'><h2>2. Headlines</h2><ul>"]
    out += [f"<li>{_e(r.headline)}</li>" for r in c.rows]
    out.append("</ul><p class='small'>Each option is compared with the baseline future by future (same seed, same "
               "draw of the uncertain parameters). \"Too close to call\" means the middle 80% of the paired differences "
               "(10% to 90%) includes no difference at all.</p></section>")
    return "\n".join(out)


def _tables(c: Content) -> str:
    q = c.question
    out = ["<section id='tables'><h2>3. Outcome by outcome</h2>"]
    for m in q.outcomes:
        w = words(m)
        out.append(f"<h3>{_e(w.label)}</h3><table><thead><tr><th>Option</th>"
                   f"<th class='num'>Median (10-90% range), {_e(w.unit)}</th>"
                   f"<th class='num'>Difference from baseline, median (10-90%), {_e(w.diff_unit)}</th>"
                   f"<th class='num'>Chance better than baseline</th></tr></thead><tbody>")
        for oid in q.ids:
            lv = c.levels[(c.levels["option"] == oid) & (c.levels["metric"] == m)].iloc[0]
            if oid == q.baseline:
                diff, ch = "baseline", "-"
            else:
                r = c.row(oid, m)
                d = max(abs(r.median), abs(r.q10), abs(r.q90)) * w.scale
                k = decimals_for(d, 2)
                diff = (f"{number(r.median * w.scale, decimals=k)} ({number(r.q10 * w.scale, decimals=k)} to "
                        f"{number(r.q90 * w.scale, decimals=k)})")
                ch = chance(r.chance_better)
            out.append(f"<tr><td>{_e(c.name(oid))}</td><td class='num'>{_e(level(m, lv['median'], lv['q10'], lv['q90']))}</td>"
                       f"<td class='num'>{_e(diff)}</td><td class='num'>{_e(ch)}</td></tr>")
        better = "higher" if w.more_better in ("more", "higher", "longer", "closer") else "lower"
        out.append(f"</tbody></table><p class='small'>A {better} value is better. The difference is the option minus "
                   f"the baseline in the same future.</p>")
    out.append("</section>")
    return "\n".join(out)


def _across(c: Content) -> str:
    k, n = c.result.timeseries_futures, c.question.futures
    return f"all {n} futures" if k >= n else f"the first {k} of the {n} futures (the tables use all {n})"


def _figures(c: Content) -> str:
    q = c.question
    out = ["<section id='figures'><h2>4. Over time, and the trade-offs</h2>"]
    for m in q.outcomes:
        w = words(m)
        out.append(_img(fan_chart(c.result, m), _fan_alt(c, m),
                        f"{w.label} ({w.unit}), month by month: the line is the median, the band the 10-90% range, "
                        f"across {_across(c)}."))
    out.append(_img(trade_off(c.result), _trade_alt(c),
                    "Trade-offs across futures: each dot is one future's difference from the baseline."))
    out.append("</section>")
    return "\n".join(out)


def _flips(c: Content) -> str:
    out = ["<section id='flips'><h2>5. What would change the answer</h2>",
           "<p>For each headline, scenario discovery (a shallow decision tree on the uncertain parameters) looks for "
           "the conditions under which the verdict reverses: the futures where it does, described by a few "
           "parameter bounds. \"No condition found\" means no such region stood out in the ranges tried.</p><ul>"]
    for r in c.rows:
        out.append(f"<li><strong>{_e(c.name(r.option))}, {_e(words(r.metric).label.lower())}</strong> "
                   f"({_e(r.verdict)}): {_e(r.flip)}</li>")
    out.append("</ul></section>")
    return "\n".join(out)


def _assumptions(c: Content) -> str:
    q = c.question
    out = ["<section id='assumptions'><h2>6. Assumptions, caveats and run record</h2>",
           f"<p><strong>{_e(DISCLAIMER)}</strong> The model represents the organisations of an integrated care system, "
           "how they decide and fund care, and how care changes health; it leaves out much that matters (workforce, "
           "estates, national policy changes, local leadership). Differences between options are more trustworthy "
           "than the levels. Each future is one seed and one draw of the parameters below, the same for every "
           "option; an option takes only the parameters it uses.</p>",
           "<h3>Parameters varied, and their ranges</h3><table><thead><tr><th>Parameter</th><th>Key</th>"
           "<th class='num'>Low</th><th class='num'>High</th><th class='num'>Default</th><th>Unit</th></tr></thead><tbody>"]
    for k, p in q.uncertain.items():
        out.append(f"<tr><td>{_e(p['label'])}</td><td><code>{_e(k)}</code></td><td class='num'>{p['low']:.3g}</td>"
                   f"<td class='num'>{p['high']:.3g}</td><td class='num'>{float(p['default']):.3g}</td>"
                   f"<td>{_e(p['unit'])}</td></tr>")
    out.append("</tbody></table><h3>Run record</h3><table><tbody>")
    out += [f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in c.record.items()]
    out.append("</tbody></table></section>")
    return "\n".join(out)


def render(c: Content) -> str:
    """The report as one HTML page."""
    q = c.question
    head = (f"<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(q.title)}</title><style>{CSS}</style></head><body>")
    top = (f"<header><p class='meta'>ics_sim decision report: {_e(system_name(q.system))}, "
           f"{len(q.ids)} options over {q.years} years in {q.futures} futures</p><h1>{_e(q.title)}</h1>"
           f"<p class='disclaimer'>{_e(DISCLAIMER)}</p></header>")
    body = [top, _first_screen(c), _options(c), _headlines(c), _tables(c), _figures(c), _flips(c), _assumptions(c)]
    return head + "\n".join(body) + "</body></html>\n"
