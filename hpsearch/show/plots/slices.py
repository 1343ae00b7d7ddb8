"""Figure 4, slices: each final result against the value of each hyperparameter, one panel per
hyperparameter, one colour per study.

Its data step is :func:`hpsearch.read.frames.final_results`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hpsearch.read.frames import final_results, frame_dimensions
from hpsearch.show.plots import common

__all__ = ["slice_figure"]


def slice_figure(trials: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """One slice plot per hyperparameter: each final result against that hyperparameter's value,
    one colour per study; a log range (the learning rate) on a log axis, a choice of words on a
    category axis."""
    names = common.study_names(trials, studies)
    title = "Validation result against each hyperparameter"
    final = final_results(trials)
    if final.empty:
        return common.no_result_yet(names, title=title)
    metric = common.metric_of(final)
    colors = common.study_colors(names)
    dims = frame_dimensions(final)
    shown = common.shown_dimensions(final)
    if not shown:
        return common.empty_figure("These studies have no hyperparameter to plot against.", title=title)
    spacing = min(0.03, 0.5 / max(len(shown) - 1, 1))
    fig = make_subplots(rows=1, cols=len(shown), shared_yaxes=True, horizontal_spacing=spacing)
    in_legend: set[str] = set()
    for col, (name, dim) in enumerate(shown.items(), start=1):
        for study in names:
            part = final[(final["study"] == study) & final[name].notna()]
            if part.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=part[name],
                    y=part["value"],
                    mode="markers",
                    marker={"color": colors[study], "size": 8, "opacity": 0.8},
                    name=common.esc(study),
                    legendgroup=study,
                    showlegend=study not in in_legend,
                    customdata=common.hover_data(part, dims),
                    hovertemplate=common.hover_trial(dims) + f"<br>result %{{y{common.value_format(metric)}}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
            in_legend.add(study)
        fig.update_xaxes(title_text=common.esc(common.param_label(name)), **common.axis_scale(dim, final[name]), row=1, col=col)
    fig.update_yaxes(**common.value_axis(metric), row=1, col=1)
    fig.update_layout(template=common.TEMPLATE, title={"text": title}, height=420, legend={"title": {"text": "study"}})
    return fig
