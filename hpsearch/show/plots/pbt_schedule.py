"""Figure 6, PBT schedules: each member's hyperparameters in force over the epochs, one panel per
hyperparameter that changes, a star where a segment started by copying another member.

The data step, :func:`schedule_steps`, turns :func:`hpsearch.read.frames.pbt_schedule` into step
lines (two points per segment); :func:`pbt_schedule_figure` draws them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from hpsearch.read.frames import frame_dimensions
from hpsearch.show.plots import common

__all__ = ["pbt_schedule_figure", "schedule_steps"]


def schedule_steps(schedule: pd.DataFrame) -> pd.DataFrame:
    """Each PBT member's hyperparameters over epochs, as step lines: two points per segment
    (its ``start_epoch`` and its ``end_epoch``), so a change shows as a vertical jump.

    ``schedule`` is :func:`hpsearch.read.frames.pbt_schedule`. Columns: ``member``,
    ``trial``, ``epoch``, the hyperparameters, ``kind`` (initial, continue, exploit,
    recover), ``parent_member``, ``parent_trial``, ``value`` and ``at_start``.
    """
    dims = frame_dimensions(schedule)
    columns = ["member", "trial", "epoch", *dims, "kind", "parent_member", "parent_trial", "value", "at_start"]
    rows = []
    ordered = schedule.sort_values(["member", "start_epoch"])
    for values in ordered.itertuples(index=False, name=None):  # plain tuples: a name may be a Python keyword
        seg = dict(zip(ordered.columns, values))
        base = {
            "member": seg["member"],
            "trial": seg["trial"],
            **{name: seg[name] for name in dims},
            "kind": seg["kind"],
            "parent_member": seg["parent_member"],
            "parent_trial": seg["parent_trial"],
            "value": seg["value"],
        }
        rows.append({**base, "epoch": seg["start_epoch"], "at_start": True})
        rows.append({**base, "epoch": seg["end_epoch"], "at_start": False})
    return common.with_dimensions(pd.DataFrame(rows, columns=columns), dims)


def _schedule_params(steps: pd.DataFrame) -> list[str]:
    """The hyperparameters that change over a PBT run (when none does: the learning rate, or the first)."""
    names = list(frame_dimensions(steps))
    varying = [name for name in names if steps[name].astype(str).nunique() > 1]
    return varying or (["learning_rate"] if "learning_rate" in names else names[:1])


def pbt_schedule_figure(schedule: pd.DataFrame, *, study: str = "") -> go.Figure:
    """Each member's hyperparameter schedule over epochs, one panel per hyperparameter that
    changes; a star marks a segment that started by copying another member (exploit).

    ``schedule`` is :func:`hpsearch.read.frames.pbt_schedule`.
    """
    title = f"PBT schedules of {study}: hyperparameters in force over epochs" if study else "PBT schedules"
    if schedule.empty:
        return common.empty_figure(f"{study or 'this study'} has no PBT segment yet.", title=title)
    steps = schedule_steps(schedule)
    params = _schedule_params(steps)
    if not params:
        return common.empty_figure(f"{study or 'this study'} has no hyperparameter to show.", title=title)
    dims = frame_dimensions(steps)
    members = sorted(int(m) for m in steps["member"].unique())
    palette = qualitative.D3
    fig = make_subplots(rows=len(params), cols=1, shared_xaxes=True, vertical_spacing=0.06)
    for row, name in enumerate(params, start=1):
        for member in members:
            part = steps[steps["member"] == member]
            color = palette[member % len(palette)]
            custom = np.column_stack(
                [
                    part["trial"].to_numpy(dtype=object),
                    part["kind"].to_numpy(dtype=object),
                    common.dashed(part["parent_member"]),
                    part["value"].to_numpy(dtype=object),
                    *(part[h].to_numpy(dtype=object) for h in dims),
                ]
            )
            hover = (
                f"member {member}, trial %{{customdata[0]}} (%{{customdata[1]}}, from member %{{customdata[2]}})"
                + common.hover_params(dims, 4)
                + "<br>epoch %{x}<extra></extra>"
            )
            fig.add_trace(
                go.Scatter(
                    x=part["epoch"],
                    y=part[name],
                    mode="lines",
                    line={"color": color, "width": 2},
                    name=f"member {member}",
                    legendgroup=f"member {member}",
                    showlegend=row == 1,
                    customdata=custom,
                    hovertemplate=hover,
                ),
                row=row,
                col=1,
            )
            jumps = part[(part["kind"] == "exploit") & part["at_start"]]
            if len(jumps):
                fig.add_trace(
                    go.Scatter(
                        x=jumps["epoch"],
                        y=jumps[name],
                        mode="markers",
                        marker={"symbol": "star", "size": 13, "color": color, "line": {"color": "black", "width": 1}},
                        name=f"member {member}: copied another member",
                        legendgroup=f"member {member}",
                        showlegend=False,
                        customdata=custom[(part["kind"] == "exploit").to_numpy() & part["at_start"].to_numpy()],
                        hovertemplate=hover.replace("(%{customdata[1]}", "(<b>exploit</b>"),
                    ),
                    row=row,
                    col=1,
                )
        fig.update_yaxes(title_text=common.esc(common.param_label(name)), **common.axis_scale(dims[name], steps[name]), row=row, col=1)
    fig.update_xaxes(title_text="epochs trained by the member (epochs)", row=len(params), col=1)
    fig.update_xaxes(dtick=1 if steps["epoch"].max() <= 15 else None)  # whole epochs, not 0.5
    fig.update_layout(
        template=common.TEMPLATE,
        title={"text": common.esc(title)},
        height=260 + 200 * len(params),
        legend={"title": {"text": "★ = exploit"}},
    )
    return fig
