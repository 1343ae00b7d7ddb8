"""Figure 2, distribution: the final results of each study, a box with every result as a point.

Its data step is :func:`hpsearch.read.frames.final_results` (one result per trial, per PBT member).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from hpsearch.read.frames import final_results, frame_dimensions
from hpsearch.show.plots import common

__all__ = ["distribution_figure"]


def distribution_figure(trials: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """The final results of each study (a box with every trial as a point) and how many there are.

    ``trials`` is :func:`hpsearch.read.frames.trials_frame`; a PBT study contributes one
    result per member (its last segment).
    """
    names = common.study_names(trials, studies)
    title = "Final validation result of every trial, per study"
    final = final_results(trials)
    if final.empty:
        return common.no_result_yet(names, title=title)
    metric = common.metric_of(final)
    colors = common.study_colors(names)
    dims = frame_dimensions(final)
    fig = go.Figure()
    for study in names:
        part = final[final["study"] == study]
        label = common.esc(f"{study} (n={len(part)})")
        fig.add_trace(
            go.Box(
                x=[label] * len(part),
                y=part["value"],
                name=label,
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker={"color": colors[study], "size": 7, "opacity": 0.8},
                line={"color": colors[study]},
                customdata=common.hover_data(part, dims),
                hovertemplate=common.hover_trial(dims) + f"<br>result %{{y{common.value_format(metric)}}}<extra></extra>",
            )
        )
    fig.update_yaxes(**common.value_axis(metric))
    fig.update_xaxes(title_text="study (n = number of final results)")
    fig.update_layout(template=common.TEMPLATE, title={"text": title}, height=440, showlegend=False)
    common.missing_note(fig, [n for n in names if not (final["study"] == n).any()], "no completed trial yet")
    return fig
