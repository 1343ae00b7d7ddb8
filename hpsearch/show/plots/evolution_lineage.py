"""Figure 8, evolution lineage: every trial of an evolution study at its generation and result,
with an edge from each of its two parents; the ancestry of the best trial drawn in gold.

Its data step is :func:`hpsearch.read.frames.evolution_lineage` (the generation and parents of each trial).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hpsearch.read.frames import frame_dimensions
from hpsearch.show.plots import common

__all__ = ["evolution_lineage_figure"]


def evolution_lineage_figure(lineage: pd.DataFrame, *, study: str = "", best_trial: int | None = None) -> go.Figure:
    """Generations and parents: every trial is a dot (its generation, its validation result),
    with an edge from each of its two parents (solid: the first, dotted: the second); the
    ancestry of ``best_trial`` is drawn in gold. ``lineage`` is :func:`hpsearch.read.frames.evolution_lineage`."""
    title = f"Evolution of {study}: generations and parents" if study else "Evolution: generations and parents"
    done = lineage[lineage["value"].notna()] if not lineage.empty else lineage
    if done.empty:
        return common.empty_figure(f"{study or 'this study'} has no finished trial yet.", title=title)
    position = {int(r.trial): (int(r.generation), float(r.value)) for r in done.itertuples()}
    fig = go.Figure()
    for column, label, dash in (("first_parent", "first parent", "solid"), ("second_parent", "second parent", "dot")):
        xs: list[Any] = []
        ys: list[Any] = []
        for r in done.itertuples():
            parent = getattr(r, column)
            if pd.notna(parent) and int(parent) in position:
                px, py = position[int(parent)]
                xs += [px, int(r.generation), None]
                ys += [py, float(r.value), None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#999", "width": 1, "dash": dash}, name=label, hoverinfo="skip"))
    ancestry: set[int] = set()
    parents_of = {int(r.trial): (r.first_parent, r.second_parent) for r in lineage.itertuples()}
    stack = [best_trial] if best_trial is not None else []
    while stack:
        trial = stack.pop()
        if trial in ancestry:
            continue
        ancestry.add(trial)
        stack += [int(p) for p in parents_of.get(trial, ()) if pd.notna(p)]
    if ancestry:
        xs, ys = [], []
        for trial in ancestry:
            for parent in parents_of.get(trial, ()):
                if pd.notna(parent) and int(parent) in position and trial in position:
                    xs += [position[int(parent)][0], position[trial][0], None]
                    ys += [position[int(parent)][1], position[trial][1], None]
        fig.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines", line={"color": "gold", "width": 6}, opacity=0.6, name=f"ancestry of trial {best_trial}")
        )
    params = list(frame_dimensions(done))
    custom = np.column_stack(
        [
            done["trial"].to_numpy(dtype=object),
            common.dashed(done["first_parent"]),
            common.dashed(done["second_parent"]),
            *(done[h].astype(str).to_numpy(dtype=object) for h in params),
        ]
    )
    described = "".join(f"<br>{common.esc(h)} %{{customdata[{3 + i}]}}" for i, h in enumerate(params))
    fig.add_trace(
        go.Scatter(
            x=done["generation"],
            y=done["value"],
            mode="markers",
            name="trial (colour: validation result)",
            marker={"size": 10, "color": done["value"], "colorscale": "Viridis", "showscale": True, "line": {"color": "white", "width": 1}},
            customdata=custom,
            hovertemplate="trial %{customdata[0]}, generation %{x}<br>parents %{customdata[1]} and %{customdata[2]}"
            + described
            + "<br>result %{y:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="generation", dtick=1)
    fig.update_yaxes(title_text="validation result")
    fig.update_layout(template=common.TEMPLATE, title={"text": common.esc(title)}, height=460, legend={"orientation": "h", "y": -0.2})
    return fig
