"""The debrief's figure: the room beside the same seed with all-agent seats (no Solara here)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def figure(session, width: float = 11.0) -> Figure:
    """Left: trust between partners by month, the room and all agents. Right: unmet need by place
    at the latest month, the room minus all agents (percentage points; below zero the room left
    less need unmet)."""
    d = session.debrief()
    fig = Figure(figsize=(width, 3.8), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    trust = d["trust"]
    ax.plot(trust["month"], trust["all_agents"], color="#888", label="all seats played by agents")
    ax.plot(trust["month"], trust["room"], color="#c0392b", label="the room")
    ax.set(xlabel="month", ylabel="mean trust between partners (0-1)", title="Trust at the place tables")
    ax.legend(loc="best", fontsize=8)
    places = d["places"]
    if len(places):
        diff = 100 * (places["unmet_need_room"] - places["unmet_need_all_agents"]).to_numpy()
        x = np.arange(len(diff))
        bx.bar(x, diff, color=["#27ae60" if v < 0 else "#c0392b" for v in diff])
        bx.axhline(0, color="black", lw=0.8)
        bx.set_xticks(x, [f"place {p}" for p in places["place"]])
    bx.set(ylabel="unmet need, room minus agents (percentage points)",
           title=f"Unmet need by place, month {session.model.month} (same seed)")
    return fig
