"""Figure 9, rungs: where the trials of a study with early stopping stopped, the number of
trials that ran each number of epochs, pruned and completed apart, one bar per bracket.

Its data step is :func:`hpsearch.read.frames.pruning_rungs`.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from hpsearch.show.plots import common

__all__ = ["rungs_figure"]


def rungs_figure(rungs: pd.DataFrame, *, study: str = "") -> go.Figure:
    """Where each trial stopped: the number of trials that ran each number of epochs, one bar per
    bracket (successive halving and the median rule have one), pruned and completed apart; the
    hover names the bracket's rungs. ``rungs`` is :func:`hpsearch.read.frames.pruning_rungs`."""
    title = f"Where the trials of {study} stopped" if study else "Where the trials stopped"
    done = rungs[rungs["state"].isin(["COMPLETE", "PRUNED"])] if not rungs.empty else rungs
    if done.empty:
        return common.empty_figure(f"{study or 'this study'} has no finished trial yet.", title=title)
    fig = go.Figure()
    brackets = sorted(int(b) for b in done["bracket"].unique())
    for bracket in brackets:
        part = done[done["bracket"] == bracket]
        judged = ", ".join(map(str, part["rungs"].iloc[0])) or "never"
        for state, pattern in (("PRUNED", ""), ("COMPLETE", "/")):
            counts = part[part["state"] == state].groupby("epochs_done").size()
            if counts.empty:
                continue
            label = f"bracket {bracket}, {state.lower()}" if len(brackets) > 1 else state.lower()
            fig.add_trace(
                go.Bar(
                    x=counts.index,
                    y=counts.to_numpy(),
                    name=label,
                    marker={"pattern": {"shape": pattern}},
                    hovertemplate=f"{label}: %{{y}} trials ran %{{x}} epochs<br>judged at epochs {judged}<extra></extra>",
                )
            )
    fig.update_xaxes(title_text="epochs the trial ran", dtick=1)
    most = max((max(trace.y) for trace in fig.data), default=0)
    fig.update_yaxes(title_text="trials", rangemode="tozero", dtick=1 if most <= 10 else None)  # whole trials, not 0.5
    fig.update_layout(
        template=common.TEMPLATE, title={"text": common.esc(title)}, barmode="group", height=420, legend={"orientation": "h", "y": -0.2}
    )
    return fig
