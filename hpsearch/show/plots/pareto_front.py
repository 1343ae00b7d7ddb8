"""Figure 11, Pareto front: every final result of studies of several objectives in the space of their objectives,
each study's Pareto set (the trials no other beats in every objective) drawn out, the dominated trials faint.

Two objectives: a scatter, the front a step line through the Pareto trials in order along the first objective
(the staircase bounds what the study has reached: everything behind it is dominated). Three: a 3-D scatter with
the Pareto trials highlighted. More: the first three, the Pareto set still that of every objective.

Its data step is :func:`hpsearch.read.frames.pareto_frame` (the final results, the Pareto set marked by
:mod:`hpsearch.core.results`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from hpsearch.core.objectives import Objective
from hpsearch.read.frames import frame_dimensions, frame_objectives, objective_column, objective_groups
from hpsearch.show.plots import common

__all__ = ["drawn_groups", "notes_under", "objective_axis", "objective_label", "pareto_figure"]

#: The opacity of a dominated trial's marker (the Pareto trials are opaque).
DOMINATED_OPACITY = 0.3


def objective_label(objective: Objective) -> str:
    """The axis title of an objective: its metric with its unit, and the way it is better (``params (minimize)``,
    ``validation accuracy (%, maximize)``)."""
    label = common.metric_label(objective.metric)
    if label.endswith(")"):
        return f"{label[:-1]}, {objective.direction})"
    return f"{label} ({objective.direction})"


def objective_axis(objective: Objective) -> dict[str, Any]:
    """Layout of the axis of an objective: :func:`common.value_axis` (accuracy in percent), titled by :func:`objective_label`."""
    return {**common.value_axis(objective.metric), "title": {"text": common.esc(objective_label(objective))}}


def _hover(dims: dict[str, Any], objectives: Sequence[Objective], coordinates: str, where: str) -> str:
    """The hover of a trial: study, trial, hyperparameters, its value in each objective (drawn on ``coordinates``)."""
    lines = "".join(f"<br>{common.esc(o.metric)} %{{{axis}{common.value_format(o.metric)}}}" for o, axis in zip(objectives, coordinates))
    return common.hover_trial(dims) + lines + f"<br>{where}<extra></extra>"


def drawn_groups(frame: pd.DataFrame, names: Sequence[str]) -> list[tuple[tuple[Objective, ...], list[str]]]:
    """The studies among ``names`` of several objectives in ``frame``, grouped by their objectives (the first group is
    drawn; the others are named under the plot): :func:`hpsearch.read.frames.objective_groups`."""
    objectives = frame_objectives(frame)
    return objective_groups({name: objectives[name] for name in names if name in objectives})


def pareto_figure(frame: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """The final results of the studies of several objectives in ``frame`` (:func:`hpsearch.read.frames.pareto_frame`),
    one colour per study, each study's Pareto set drawn out: with two objectives a scatter whose front is a step line
    through the Pareto trials (in order along the first objective), with three or more a 3-D scatter of the first
    three. ``studies`` (default: those in ``frame``) fixes the order and colours.

    Only studies of the same objectives share the axes: those of the first study drawn; a study of other objectives
    (or of one) is named under the plot."""
    names = common.study_names(frame, studies)
    title = "Pareto front: results no other beats in every objective"
    groups = drawn_groups(frame, names)
    if not groups:
        return common.empty_figure("No study of several objectives among " + (", ".join(names) or "these studies") + ".", title=title)
    shown = frame[frame["study"].isin(groups[0][1])] if len(frame) else frame
    if shown.empty:
        return common.no_result_yet([n for n in names if n in groups[0][1]], title=title)
    group = groups[0][0]
    drawn = [n for n in names if n in groups[0][1] and n in set(shown["study"])]
    colors = common.study_colors(names)
    dims = frame_dimensions(shown)
    axes = group[:3]
    columns = [objective_column(o.metric) for o in axes]
    fig = go.Figure()
    for study in drawn:
        part = shown[shown["study"] == study]
        strategy = part["strategy"].iloc[0]
        front = part[part["pareto"]].sort_values([columns[0], "number"], ascending=[not group[0].maximize, True])
        for rows, on_front in ((part[~part["pareto"]], False), (front, True)):
            if rows.empty and not on_front:
                continue
            where = "on the Pareto front" if on_front else "dominated"
            trace: dict[str, Any] = {
                "name": common.esc(f"{study} ({strategy}): Pareto front" if on_front else f"{study}: dominated"),
                "legendgroup": study,
                "customdata": common.hover_data(rows, dims),
                "marker": {"color": colors[study], "size": 9 if on_front else 6, "opacity": 1.0 if on_front else DOMINATED_OPACITY},
                "hovertemplate": _hover(dims, axes, "xyz", where),
            }
            if len(axes) == 2:
                if on_front:
                    trace["line"] = {"shape": "hv", "color": colors[study], "width": 2}
                fig.add_trace(go.Scatter(x=rows[columns[0]], y=rows[columns[1]], mode="lines+markers" if on_front else "markers", **trace))
            else:
                if on_front:
                    trace["marker"]["symbol"] = "diamond"
                    trace["marker"]["line"] = {"color": "#222", "width": 1}
                fig.add_trace(go.Scatter3d(x=rows[columns[0]], y=rows[columns[1]], z=rows[columns[2]], mode="markers", **trace))
    if len(axes) == 2:
        fig.update_xaxes(**objective_axis(axes[0]))
        fig.update_yaxes(**objective_axis(axes[1]))
        height = 480
    else:
        scene: dict[str, Any] = {f"{a}axis": objective_axis(o) for a, o in zip("xyz", axes)}
        scene["camera"] = {"eye": {"x": 1.6, "y": 1.6, "z": 0.9}, "center": {"x": 0, "y": 0, "z": -0.15}}
        fig.update_layout(scene=scene, margin={"l": 10, "r": 10, "b": 10})
        height = 620
        if len(group) > 3:
            title += f" (the first 3 of {len(group)} objectives drawn)"
    fig.update_layout(template=common.TEMPLATE, title={"text": title}, height=height, legend={"title": {"text": "study (strategy)"}})
    notes = [
        ("not drawn, other objectives", [n for n in names if n not in groups[0][1]]),
        ("no completed trial yet", [n for n in names if n in groups[0][1] and n not in drawn]),
    ]
    notes_under(fig, [(what, which) for what, which in notes if which])
    return fig


def notes_under(fig: go.Figure, notes: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Lines under the plot naming the studies it does not draw, and why."""
    for i, (what, which) in enumerate(notes):
        fig.add_annotation(
            text=common.esc(f"{what}: {', '.join(which)}"),
            x=0,
            y=-0.16 - 0.07 * i,
            xref="paper",
            yref="paper",
            showarrow=False,
            xanchor="left",
            font={"size": 12, "color": "#777"},
        )
    if notes:
        fig.update_layout(margin={"b": 90 + 30 * len(notes)})
