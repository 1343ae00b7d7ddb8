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
from hpsearch.show.plots.common import (
    TEMPLATE,
    axis_scale,
    empty_figure,
    esc,
    hover_data,
    hover_trial,
    metric_of,
    param_label,
    shown_dimensions,
    study_colors,
    value_axis,
    value_format,
)

__all__ = ["slice_figure"]


def slice_figure(trials: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """One slice plot per hyperparameter: each final result against that hyperparameter's value,
    one colour per study; a log range (the learning rate) on a log axis, a choice of words on a
    category axis."""
    names = list(studies) if studies is not None else list(dict.fromkeys(trials["study"]))
    title = "Validation result against each hyperparameter"
    final = final_results(trials)
    if final.empty:
        return empty_figure("No completed trial yet in " + (", ".join(names) or "these studies") + ".", title=title)
    metric = metric_of(final)
    colors = study_colors(names)
    dims = frame_dimensions(final)
    shown = shown_dimensions(final)
    if not shown:
        return empty_figure("These studies have no hyperparameter to plot against.", title=title)
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
                    name=esc(study),
                    legendgroup=study,
                    showlegend=study not in in_legend,
                    customdata=hover_data(part, dims),
                    hovertemplate=hover_trial(dims) + f"<br>result %{{y{value_format(metric)}}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
            in_legend.add(study)
        fig.update_xaxes(title_text=esc(param_label(name)), **axis_scale(dim), row=1, col=col)
    fig.update_yaxes(**value_axis(metric), row=1, col=1)
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=420, legend={"title": {"text": "study"}})
    return fig
