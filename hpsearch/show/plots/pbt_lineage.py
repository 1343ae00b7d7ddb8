"""Figure 7, PBT lineage: who copied whom. Every segment is a node (its member, at the epoch it
ended), an edge leads from the member it continued or copied; the path that trained the best
final model is drawn in gold.

The data steps: :func:`lineage_edges` (the tree of :func:`hpsearch.read.frames.pbt_schedule` as
line segments) and :func:`ancestry` (a trial and every trial its weights came from, through
``parent_trial``: the gold path here, the thick curves of :mod:`hpsearch.show.plots.learning_curves`,
and the curves a dashboard page always keeps).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hpsearch.read.frames import frame_dimensions
from hpsearch.show.plots import common

__all__ = ["ancestry", "lineage_edges", "pbt_lineage_figure"]


def ancestry(trials: pd.DataFrame, study: str, number: int) -> set[int]:
    """``number`` and every trial of ``study`` it descends from through ``parent_trial`` (the PBT
    segments its weights came from); ``trials`` is :func:`hpsearch.read.frames.trials_frame`."""
    parents = trials[trials["study"] == study].set_index("number")["parent_trial"]
    out: set[int] = set()
    current: Any = number
    while current is not None and not pd.isna(current) and int(current) not in out:
        out.add(int(current))
        current = parents.get(int(current))
    return out


def lineage_edges(schedule: pd.DataFrame) -> pd.DataFrame:
    """The lineage tree of a PBT study as line segments: one edge per segment with a parent,
    from the parent's node (``parent_member`` at the epoch the copy was made) to the
    segment's node (``member`` at its ``end_epoch``); plus, for initial segments, an edge
    from the member's start at epoch 0. ``kind`` tells copies (exploit) from continuations.
    """
    columns = ["trial", "parent_trial", "kind", "x0", "y0", "x1", "y1"]
    rows = []
    for seg in schedule.itertuples(index=False):
        has_parent = not pd.isna(seg.parent_trial)
        y0 = seg.parent_member if has_parent and not pd.isna(seg.parent_member) else seg.member
        rows.append(
            {
                "trial": seg.trial,
                "parent_trial": seg.parent_trial if has_parent else pd.NA,
                "kind": seg.kind,
                "x0": seg.start_epoch,
                "y0": int(y0),
                "x1": seg.end_epoch,
                "y1": int(seg.member),
            }
        )
    frame = pd.DataFrame(rows, columns=columns)
    frame["parent_trial"] = frame["parent_trial"].astype("Int64")
    return frame


#: How each kind of PBT decision is drawn in the lineage tree: (group label, colour, line width).
_EDGE_STYLES: dict[str, tuple[str, str, float]] = {
    "initial": ("kept its own weights", "rgba(120,120,120,0.55)", 1.2),
    "continue": ("kept its own weights", "rgba(120,120,120,0.55)", 1.2),
    "exploit": ("copied another member (exploit)", "#d62728", 2.5),
    "recover": ("copied after a failed segment (recover)", "#ff7f0e", 2.5),
}


def _polyline(edges: pd.DataFrame) -> tuple[list[Any], list[Any]]:
    """The edges as one line with gaps (None) between them."""
    xs: list[Any] = []
    ys: list[Any] = []
    for e in edges.itertuples(index=False):
        xs += [e.x0, e.x1, None]
        ys += [e.y0, e.y1, None]
    return xs, ys


def _ancestry_of(schedule: pd.DataFrame, trial: int | None) -> set[int]:
    """``trial`` and the segments its weights came from (empty for None)."""
    if trial is None:
        return set()
    return ancestry(schedule.assign(study="", number=schedule["trial"]), "", trial)


def pbt_lineage_figure(schedule: pd.DataFrame, *, study: str = "", best_trial: int | None = None) -> go.Figure:
    """Who copied whom: every segment is a node (its member, at the epoch it ended, coloured
    by its validation result); grey edges continue a member's own weights, red edges are
    copies of another member (exploit). The path that trained ``best_trial`` is drawn in gold.

    ``schedule`` is :func:`hpsearch.read.frames.pbt_schedule` (a superset of ``pbt_lineage``).
    """
    title = f"PBT lineage of {study}: who copied whom" if study else "PBT lineage"
    if schedule.empty:
        return common.empty_figure(f"{study or 'this study'} has no PBT segment yet.", title=title)
    edges = lineage_edges(schedule)
    fig = go.Figure()
    groups = edges["kind"].map(lambda k: _EDGE_STYLES.get(str(k), _EDGE_STYLES["continue"]))
    for style in dict.fromkeys(groups):
        label, color, width = style
        xs, ys = _polyline(edges[groups == style])
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": color, "width": width}, name=label, hoverinfo="skip"))
    best_path = _ancestry_of(schedule, best_trial)
    if best_path:
        xs, ys = _polyline(edges[edges["trial"].isin(best_path)])
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", line={"color": "gold", "width": 7}, opacity=0.6, name=f"best final model (trial {best_trial})"
            )
        )
    nodes = schedule.sort_values("trial")
    dims = frame_dimensions(nodes)
    custom = np.column_stack(
        [
            nodes["trial"].to_numpy(dtype=object),
            nodes["member"].to_numpy(dtype=object),
            nodes["kind"].to_numpy(dtype=object),
            common.dashed(nodes["parent_member"]),
            *(nodes[h].to_numpy(dtype=object) for h in dims),
        ]
    )
    fig.add_trace(
        go.Scatter(
            x=nodes["end_epoch"],
            y=nodes["member"],
            mode="markers",
            name="segment (colour: validation result)",
            marker={
                "size": 11,
                "color": nodes["value"],
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": "validation result"}, "x": 1.02},
                "line": {"color": "white", "width": 1},
            },
            customdata=custom,
            hovertemplate="trial %{customdata[0]}: member %{customdata[1]} up to epoch %{x}"
            "<br>%{customdata[2]} (from member %{customdata[3]})"
            + common.hover_params(dims, 4)
            + "<br>result %{marker.color:.4f}<extra></extra>",
        )
    )
    members = sorted(int(m) for m in schedule["member"].unique())
    fig.update_yaxes(title_text="member (population slot)", tickvals=members, ticktext=[str(m) for m in members], autorange="reversed")
    fig.update_xaxes(title_text="epochs trained (epochs)", rangemode="tozero", dtick=1)
    fig.update_layout(
        template=common.TEMPLATE,
        title={"text": common.esc(title)},
        height=max(380, 160 + 45 * len(members)),
        legend={"orientation": "h", "y": -0.2},
    )
    return fig
