"""Figure 12, hypervolume: how much of the objectives' space each study of several objectives has covered, after
every finished trial, against the training epochs spent (the equal-budget comparison of Pareto fronts).

The hypervolume of a front is the volume it dominates up to a reference point worse than every result; the
studies of the same objectives share one reference point, so their lines compare. It never falls: a line that
rises higher and earlier found a better front with less budget.

Its data step is :func:`hpsearch.read.frames.hypervolume_history`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from hpsearch.core.formatting import format_value
from hpsearch.read.frames import REFERENCE_ATTR, frame_objectives
from hpsearch.show.plots import common
from hpsearch.show.plots.pareto_front import drawn_groups, notes_under

__all__ = ["hypervolume_figure", "reference_text"]


def reference_text(history: pd.DataFrame, study: str) -> str:
    """The reference point of ``study``'s hypervolume in ``history``, as a line: ``val_accuracy 0.5449, params 109402``."""
    reference = history.attrs.get(REFERENCE_ATTR, {}).get(study)
    objectives = frame_objectives(history).get(study, ())
    if reference is None:
        return ""
    return ", ".join(f"{o.metric} {format_value(float(v))}" for o, v in zip(objectives, reference))


def hypervolume_figure(history: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """Hypervolume of each study's Pareto front so far against the cumulative training epochs spent, one line per
    study; large dots mark the trials that pushed the front out. ``history`` is
    :func:`hpsearch.read.frames.hypervolume_history`; ``studies`` (default: those in ``history``) fixes the order and
    colours. Only the studies of the objectives of the first one drawn share the plot (their reference point is one);
    the others are named under it."""
    names = common.study_names(history, studies)
    title = "Hypervolume of the Pareto front, at equal budget"
    groups = drawn_groups(history, names)
    if not groups:
        return common.empty_figure("No study of several objectives among " + (", ".join(names) or "these studies") + ".", title=title)
    members = groups[0][1]
    shown = history[history["study"].isin(members) & (history["front"] > 0)] if len(history) else history
    if shown.empty:
        return common.no_result_yet(members, title=title)
    colors = common.study_colors(names)
    fig = go.Figure()
    for study in [n for n in members if n in set(shown["study"])]:
        part = history[history["study"] == study]
        fig.add_trace(
            go.Scatter(
                x=part["cum_epochs"].astype(float),
                y=part["hypervolume"].astype(float),
                mode="lines+markers",
                line={"shape": "hv", "color": colors[study], "width": 2.5},
                marker={"size": [9 if up else 4 for up in part["improved"]], "color": colors[study]},
                name=common.esc(f"{study} ({part['strategy'].iloc[0]})"),
                customdata=list(zip(part["study"].map(common.esc), part["number"], part["front"])),
                hovertemplate="<b>%{customdata[0]}</b>, trial %{customdata[1]}<br>hypervolume %{y:.4g}"
                "<br>%{customdata[2]} trial(s) on the front<br>after %{x:.4g} epochs<extra></extra>",
            )
        )
    reference = reference_text(history, members[0])
    drawn = history[history["study"].isin(set(shown["study"]))]
    fig.update_xaxes(title_text="training epochs spent, cumulative (epochs)", **common.budget_axis(drawn["cum_epochs"]))
    fig.update_yaxes(title_text="hypervolume (volume dominated up to the reference point)", rangemode="tozero")
    fig.update_layout(template=common.TEMPLATE, title={"text": title}, height=440, legend={"title": {"text": "study (strategy)"}})
    if reference:
        fig.add_annotation(
            text=common.esc(f"reference point: {reference}"),
            x=0,
            y=1.0,
            xref="paper",
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            xanchor="left",
            font={"size": 12, "color": "#555"},
        )
    notes = [
        ("not drawn, other objectives", [n for n in names if n not in members]),
        ("no completed trial yet", [n for n in members if n not in set(shown["study"])]),
    ]
    notes_under(fig, [(what, which) for what, which in notes if which])
    return fig
