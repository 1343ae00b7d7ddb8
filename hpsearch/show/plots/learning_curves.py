"""Figure 5, learning curves: the study metric after every epoch of every trial, one panel per
study, the best trial (for PBT: the segments that trained the best final model) drawn thick.

The data step, :func:`learning_curves_data`, joins :func:`hpsearch.read.frames.epochs_frame` to the
trials frame (the study's metric, the trial's hyperparameters, whether it is on the best trial's
lineage) and starts each PBT segment at its parent's last value; :func:`learning_curves_figure` draws it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hpsearch.read.frames import frame_dimensions
from hpsearch.show.plots import common
from hpsearch.show.plots.pbt_lineage import ancestry

__all__ = ["learning_curves_data", "learning_curves_figure"]


def learning_curves_data(trials: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """The study metric after every epoch of every trial, ready to draw.

    One row per point: ``study``, ``number``, ``member``, ``model_epoch`` (the epochs
    the model has trained), ``value``, the trial's hyperparameters, and ``best`` (the
    point belongs to the study's best trial, or for PBT to the segments its weights
    came from). A PBT segment starts with a ``carried`` point, its parent's last value,
    so that a copy shows as a line leaving the parent's curve.
    """
    dims = frame_dimensions(trials)
    columns = ["study", "number", "member", "model_epoch", "value", "metric", *dims, "best", "carried"]
    if epochs.empty or trials.empty:
        return common.with_dimensions(pd.DataFrame(columns=columns), dims)
    best = common.best_trial_numbers(trials)
    info = trials[["study", "number", "metric", "parent_trial", "start_epoch", *dims]]
    merged = epochs.merge(info, on=["study", "number"], how="inner")
    merged["value"] = np.nan
    for metric in merged["metric"].unique():
        rows = merged["metric"] == metric
        merged.loc[rows, "value"] = merged.loc[rows, metric]
    lineage = {study: ancestry(trials, study, number) for study, number in best.items()}
    merged["best"] = [int(n) in lineage.get(str(s), set()) for s, n in zip(merged["study"], merged["number"])]
    merged["carried"] = False
    # a PBT segment continues its parent's curve: start it at the parent's last point
    last = merged.sort_values("epoch").groupby(["study", "number"]).tail(1).set_index(["study", "number"])["value"]
    starts = []
    for (study, _number), group in merged.groupby(["study", "number"], sort=False):
        parent = group["parent_trial"].iloc[0]
        if pd.isna(parent) or (study, int(parent)) not in last.index:
            continue
        first = group.iloc[0].copy()
        first["model_epoch"] = int(first["start_epoch"])
        first["value"] = last[(study, int(parent))]
        first["carried"] = True
        starts.append(first)
    if starts:
        merged = pd.concat([merged, pd.DataFrame(starts)], ignore_index=True)
    merged = merged.sort_values(["study", "number", "model_epoch"], key=_study_key(trials), kind="stable")
    return common.with_dimensions(merged[columns].reset_index(drop=True), dims)


def _study_key(trials: pd.DataFrame) -> Any:
    order = {s: i for i, s in enumerate(dict.fromkeys(trials["study"]))}

    def key(column: pd.Series) -> pd.Series:
        return column.map(order) if column.name == "study" else column

    return key


def _gapped(part: pd.DataFrame) -> pd.DataFrame:
    """The rows of several trials as one line with a gap (a row of NaN) after each trial,
    trials in order of first appearance (one sort, no loop: ten thousand curves take milliseconds)."""
    if part.empty:
        return part
    group = pd.factorize(part["number"])[0]
    gaps = part.iloc[:0].reindex(range(group.max() + 1))
    lines = pd.concat([part.assign(_group=group, _gap=0), gaps.assign(_group=gaps.index, _gap=1)], ignore_index=True)
    return lines.sort_values(["_group", "_gap"], kind="stable").drop(columns=["_group", "_gap"]).reset_index(drop=True)


def learning_curves_figure(curves: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """Validation result per epoch of every trial, one panel per study, the best trial
    (for PBT: the segments that trained the best final model) drawn thick in colour.

    ``curves`` is :func:`learning_curves_data`.
    """
    names = common.study_names(curves, studies)
    title = "Learning curves: validation result after every epoch"
    if curves.empty:
        return common.empty_figure("No epoch has been recorded yet in " + (", ".join(names) or "these studies") + ".", title=title)
    colors = common.study_colors(names)
    metric = common.metric_of(curves)
    dims = frame_dimensions(curves)
    cols = 1 if len(names) == 1 else 2
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_yaxes=True,
        subplot_titles=[common.esc(n) for n in names],
        vertical_spacing=0.12,
        horizontal_spacing=0.05,
    )
    template = common.hover_trial(dims) + f"<br>epoch %{{x}}: %{{y{common.value_format(metric)}}}<extra></extra>"
    for i, study in enumerate(names):
        row, col = i // cols + 1, i % cols + 1
        part = curves[curves["study"] == study]
        if part.empty:
            fig.add_annotation(text="no epoch yet", row=row, col=col, showarrow=False, x=0.5, y=0.5, xref="x domain", yref="y domain")
            continue
        for is_best in (False, True):
            lines = _gapped(part[part["best"] == is_best])
            if lines.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=lines["model_epoch"],
                    y=lines["value"],
                    mode="lines+markers",
                    line={"color": colors[study] if is_best else "rgba(120,120,120,0.35)", "width": 3 if is_best else 1},
                    marker={"size": 5 if is_best else 3},
                    name=common.esc(f"{study}: best trial" if is_best else f"{study}: other trials"),
                    legendgroup=study,
                    customdata=common.hover_data(lines.assign(study=lines["study"].fillna(study)), dims),
                    hovertemplate=template,
                    connectgaps=False,
                ),
                row=row,
                col=col,
            )
        fig.update_xaxes(title_text="epochs trained (epochs)", row=row, col=col, dtick=1 if part["model_epoch"].max() <= 15 else None)
        fig.update_yaxes(**common.value_axis(metric), row=row, col=1)
    fig.update_layout(template=common.TEMPLATE, title={"text": title}, height=max(380, 330 * rows), showlegend=True)
    return fig
