"""Figure 10, importance: each study's hyperparameter importance (Optuna's fANOVA) as grouped bars.

Its data step is :func:`hpsearch.read.frames.param_importance`; the order of the bars is decided here.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from hpsearch.core.builtin_model import BUILTIN_DIMENSIONS
from hpsearch.read.frames import ParamImportance
from hpsearch.show.plots import common

__all__ = ["importance_figure"]


def _importance_order(importances: Sequence[ParamImportance]) -> list[str]:
    """The order of the bars: the studies' declared hyperparameters (first appearance), then any
    other name measured (the built-in model's in its order, then as they come)."""
    builtin = list(BUILTIN_DIMENSIONS)
    measured = dict.fromkeys(n for imp in importances for n in imp.importances)
    rest = sorted(measured, key=lambda n: builtin.index(n) if n in builtin else len(builtin))
    return list(dict.fromkeys([*(n for imp in importances for n in imp.dimensions), *rest]))


def importance_figure(importances: Sequence[ParamImportance]) -> go.Figure:
    """Hyperparameter importance (Optuna's fANOVA) of each study, as grouped bars; studies
    without importances are named under the plot with the reason."""
    title = "Hyperparameter importance (fANOVA share of the variance of the result)"
    usable = [imp for imp in importances if imp.importances]
    notes = [f"{imp.study}: {imp.note}" for imp in importances if not imp.importances]
    if not usable:
        return common.empty_figure("No importance to show. " + "; ".join(notes or ["no study given"]), title=title)
    colors = common.study_colors([imp.study for imp in importances])
    order = _importance_order(usable)
    fig = go.Figure()
    for imp in usable:
        names = [n for n in order if n in imp.importances]
        fig.add_trace(
            go.Bar(
                x=names,
                y=[imp.importances[n] for n in names],
                name=common.esc(f"{imp.study} ({imp.trials} trials)"),
                marker={"color": colors[imp.study]},
                hovertemplate=f"{common.esc(imp.study)}<br>%{{x}}: %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text="importance (% of explained variance)", **common.percent_ticks(), rangemode="tozero")
    fig.update_xaxes(title_text="hyperparameter")
    fig.update_layout(template=common.TEMPLATE, title={"text": title}, barmode="group", height=420)
    common.missing_note(fig, notes, "no importance")
    return fig
