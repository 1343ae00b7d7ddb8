"""Figure 1, best so far: the best value each study has found after every finished trial, against
the training epochs and the training time spent (the equal-budget comparison).

Its data step is :func:`hpsearch.read.frames.best_so_far` (the running best of a trials frame).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hpsearch.read.frames import frame_dimensions
from hpsearch.show.plots import common

__all__ = ["best_so_far_figure"]


def best_so_far_figure(curve: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """Best-so-far value against cumulative training epochs (left) and training time (right),
    one line per study on a shared value axis: the equal-budget comparison.

    ``curve`` is :func:`hpsearch.read.frames.best_so_far`; ``studies`` (default: those in
    ``curve``) fixes the order and colours, and names the studies without a result yet.
    """
    names = common.study_names(curve, studies)
    title = "Best validation result so far, at equal budget"
    shown = curve[curve["best"].notna()] if len(curve) else curve
    if shown.empty:
        return common.no_result_yet(names, title=title, then=": nothing to compare.")
    metric = common.metric_of(shown)
    colors = common.study_colors(names)
    dims = frame_dimensions(shown)
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("against training epochs spent", "against training time spent"),
    )
    fmt = common.value_format(metric)
    template = common.hover_trial(dims) + f"<br>this trial %{{customdata[{2 + len(dims)}]{fmt}}}<br>best so far %{{y{fmt}}}"
    for study in names:
        part = shown[shown["study"] == study]
        if part.empty:
            continue
        custom = np.column_stack([common.hover_data(part, dims), part["value"].to_numpy(dtype=object)])
        sizes = np.where(part["improved"], 9, 4)
        for col, x, unit in ((1, "cum_epochs", "epochs"), (2, "cum_seconds", "s")):
            fig.add_trace(
                go.Scatter(
                    x=part[x].astype(float),
                    y=part["best"],
                    mode="lines+markers",
                    line={"shape": "hv", "color": colors[study], "width": 2.5},
                    marker={"size": sizes, "color": colors[study]},
                    name=common.esc(f"{study} ({part['strategy'].iloc[0]})"),
                    legendgroup=study,
                    showlegend=col == 1,
                    customdata=custom,
                    hovertemplate=template + f"<br>after %{{x:.4g}} {unit}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    # each budget axis ends just past the study that spent the most (not at a round number beyond it)
    fig.update_xaxes(title_text="training epochs spent, cumulative (epochs)", **common.budget_axis(shown["cum_epochs"]), row=1, col=1)
    fig.update_xaxes(title_text="training time spent, cumulative (s)", **common.budget_axis(shown["cum_seconds"]), row=1, col=2)
    fig.update_yaxes(**common.value_axis(metric), row=1, col=1)
    fig.update_layout(template=common.TEMPLATE, title={"text": title}, height=460, legend={"title": {"text": "study (strategy)"}})
    common.missing_note(fig, [n for n in names if n not in set(shown["study"])], "no completed trial yet")
    return fig
