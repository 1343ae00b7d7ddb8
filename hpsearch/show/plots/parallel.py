"""Figure 3, parallel coordinates: every final result as a line across the study, its
hyperparameters and its result, coloured by the result.

The data step, :func:`parallel_axes`, turns the final results into one numeric axis per column
(a log range in log10, a choice of words as codes, accuracies in percent); two drawings share it:
:func:`parallel_figure` (plotly's WebGL ``parcoords``, with brushing) and
:func:`parallel_lines_figure` (SVG lines in :data:`PARALLEL_BANDS` colour bands, fast without a GPU).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from hpsearch.read.frames import final_results, frame_dimensions
from hpsearch.show.plots import common

__all__ = ["PARALLEL_BANDS", "ParallelAxis", "parallel_axes", "parallel_figure", "parallel_lines_figure"]


def _codes(values: pd.Series) -> tuple[list[float], list[int], list[str]]:
    """Categorical values as integer codes (NaN where missing), with the tick values and texts of a parcoords axis."""
    present = values.notna().to_numpy()
    categories = list(dict.fromkeys(str(v) for v, here in zip(values, present) if here))
    lookup = {c: i for i, c in enumerate(categories)}
    codes = [float(lookup[str(v)]) if here else math.nan for v, here in zip(values, present)]
    return codes, list(range(len(categories))), [common.esc(c) for c in categories]


def _log_ticks(logs: np.ndarray) -> tuple[list[float], list[str]]:
    """The ticks of a log axis drawn in log10 (:func:`common.log_ticks` of its values), at their log10."""
    values, texts = common.log_ticks(10.0 ** float(np.nanmin(logs)), 10.0 ** float(np.nanmax(logs)))
    return [math.log10(v) for v in values], texts


@dataclass(frozen=True)
class ParallelAxis:
    """One axis of the parallel coordinates: its label, one numeric value per final result,
    and for a categorical or log axis the tick positions and their texts."""

    label: str
    values: np.ndarray
    tickvals: list[float] | None = None
    ticktext: list[str] | None = None


#: The tick text of the place where a line crosses the axis of a hyperparameter its trial does not have (a conditional
#: dimension that does not exist for it).
ABSENT = "(absent)"


def _with_absent(axis: ParallelAxis) -> ParallelAxis:
    """``axis`` with its missing values (a conditional dimension a trial does not have) at a place of their own below
    the others, ticked :data:`ABSENT`, so that such a line is drawn and says so instead of vanishing."""
    missing = np.isnan(axis.values)
    if not missing.any() or missing.all():
        return axis
    low, high = float(np.nanmin(axis.values)), float(np.nanmax(axis.values))
    tickvals, ticktext = _axis_ticks(axis, low, high)  # a categorical or log axis: its own ticks
    low = min(low, *tickvals)
    place = low - max((max(high, *tickvals) - low) * 0.15, 1.0 if axis.tickvals is not None else 1e-12)
    return ParallelAxis(axis.label, np.where(missing, place, axis.values), [place, *tickvals], [ABSENT, *ticktext])


def parallel_axes(final: pd.DataFrame, names: Sequence[str]) -> list[ParallelAxis]:
    """The axes of the parallel coordinates of ``final`` (rows of :func:`final_results`):
    the study (when several), each hyperparameter with a value in ``final``, in order (a log
    range in log10, a choice of words as codes; a trial without the hyperparameter, which exists only under others'
    values, at :data:`ABSENT`) and the result (accuracies in percent)."""
    return [_with_absent(axis) for axis in _axes(final, names)]


def _axes(final: pd.DataFrame, names: Sequence[str]) -> list[ParallelAxis]:
    axes: list[ParallelAxis] = []
    if len(names) > 1:
        codes = np.array([names.index(str(s)) for s in final["study"]], dtype=float)
        axes.append(ParallelAxis("study", codes, [float(i) for i in range(len(names))], [common.esc(n) for n in names]))
    for name, dim in common.shown_dimensions(final).items():
        column = final[name]
        if common.is_categorical(dim):
            codes_of, tickvals, ticktext = _codes(column)
            axes.append(
                ParallelAxis(
                    common.esc(common.param_label(name)), np.asarray(codes_of, dtype=float), [float(v) for v in tickvals], ticktext
                )
            )
            continue
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        if common.is_log(dim) and np.nanmin(values) > 0:
            logs = np.log10(values)
            tickvals_log, ticktext_log = _log_ticks(logs)
            axes.append(ParallelAxis(common.esc(f"{common.param_name(name)} (log10)"), logs, tickvals_log, ticktext_log))
        else:
            axes.append(ParallelAxis(common.esc(common.param_label(name)), values))
    metric = common.metric_of(final)
    scale = 100.0 if metric.endswith("accuracy") else 1.0
    axes.append(ParallelAxis(common.metric_label(metric), final["value"].to_numpy(dtype=float) * scale))
    return axes


def _parallel_final(trials: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    final = final_results(trials)
    return final.assign(study=pd.Categorical(final["study"], categories=list(names))).sort_values("study", kind="stable")


_PARALLEL_TITLE = "Hyperparameters of every final result, coloured by validation result"


def _colorbar(metric: str, values: Any) -> dict[str, Any]:
    """The colour bar of the results ``values``: accuracy in percent, with the decimals its ticks need (:func:`common.percent_colorbar`)."""
    return {"title": {"text": common.metric_label(metric)}, **(common.percent_colorbar(values) if metric.endswith("accuracy") else {})}


def parallel_figure(trials: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """Parallel coordinates over the study and its hyperparameters, coloured by the result.

    One line per final result (:func:`hpsearch.read.frames.final_results`); the axis of a
    log range (the learning rate) is log10. Drag along an axis to keep only the lines crossing it there.
    Drawn by WebGL (plotly's ``parcoords``); :func:`parallel_lines_figure` is the same
    picture in SVG, without brushing, that draws in a fraction of the time.
    """
    names = common.study_names(trials, studies)
    final = _parallel_final(trials, names)
    if final.empty:
        return common.no_result_yet(names, title=_PARALLEL_TITLE)
    dims = [
        {"label": a.label, "values": a.values, **({"tickvals": a.tickvals, "ticktext": a.ticktext} if a.tickvals is not None else {})}
        for a in parallel_axes(final, names)
    ]
    metric = common.metric_of(final)
    fig = go.Figure(
        go.Parcoords(
            dimensions=dims,
            line={"color": final["value"], "colorscale": "Viridis", "showscale": True, "colorbar": _colorbar(metric, final["value"])},
        )
    )
    fig.update_layout(template=common.TEMPLATE, title={"text": _PARALLEL_TITLE}, height=460, margin={"l": 90, "r": 60})
    return fig


#: Colour bands of :func:`parallel_lines_figure` (one SVG path each).
PARALLEL_BANDS = 8


def _axis_ticks(axis: ParallelAxis, low: float, high: float) -> tuple[list[float], list[str]]:
    if axis.tickvals is not None and axis.ticktext is not None:
        return list(axis.tickvals), list(axis.ticktext)
    return common.linear_ticks(low, high, 5)


def parallel_lines_figure(trials: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """The parallel coordinates of :func:`parallel_figure` drawn as SVG lines.

    Each axis is scaled to its own range; the lines fall in :data:`PARALLEL_BANDS` colour
    bands of the result (better results drawn on top), the best result is drawn thick, and
    hovering the dot where a line meets the result axis shows that trial. No WebGL: a
    thousand lines draw in a tenth of the time parcoords needs without a GPU, which is
    what a live page redrawn on every change wants; there is no brushing.
    """
    names = common.study_names(trials, studies)
    final = _parallel_final(trials, names).reset_index(drop=True)
    if final.empty:
        return common.no_result_yet(names, title=_PARALLEL_TITLE)
    metric = common.metric_of(final)
    dims = frame_dimensions(final)
    axes = parallel_axes(final, names)
    k = len(axes)
    scaled = np.empty((len(final), k))
    fig = go.Figure()
    tick_x: list[float] = []
    tick_y: list[float] = []
    tick_text: list[str] = []
    for i, axis in enumerate(axes):
        values = axis.values
        low = float(np.nanmin(values)) if axis.tickvals is None else min(float(np.nanmin(values)), min(axis.tickvals))
        high = float(np.nanmax(values)) if axis.tickvals is None else max(float(np.nanmax(values)), max(axis.tickvals))
        span = high - low
        scaled[:, i] = (values - low) / span if span > 0 else 0.5
        for tick, text in zip(*_axis_ticks(axis, low, high)):
            tick_x.append(i)
            tick_y.append((tick - low) / span if span > 0 else 0.5)
            tick_text.append(text)
        fig.add_shape(type="line", x0=i, x1=i, y0=0, y1=1, line={"color": "#444", "width": 1}, layer="above")
    value = final["value"].to_numpy(dtype=float)
    maximize = final["direction"].iloc[0] == "maximize"
    low_v, high_v = float(np.nanmin(value)), float(np.nanmax(value))
    band = np.zeros(len(final), dtype=int)
    if high_v > low_v:
        band = np.minimum(((value - low_v) / (high_v - low_v) * PARALLEL_BANDS).astype(int), PARALLEL_BANDS - 1)
    colors = sample_colorscale("Viridis", [b / (PARALLEL_BANDS - 1) for b in range(PARALLEL_BANDS)])
    order = range(PARALLEL_BANDS) if maximize else reversed(range(PARALLEL_BANDS))  # better results on top
    # one path per band: each line's k points then a gap (a NaN value); small dtypes keep the page light
    xs = np.append(np.arange(k, dtype=np.int8), np.int8(0))
    for b in order:
        rows = scaled[band == b]
        if not len(rows):
            continue
        ys = np.hstack([rows, np.full((len(rows), 1), np.nan)]).ravel().astype(np.float32)
        fig.add_trace(
            go.Scatter(
                x=np.tile(xs, len(rows)),
                y=ys,
                mode="lines",
                line={"color": colors[b], "width": 1},
                opacity=0.55,
                hoverinfo="skip",
                showlegend=False,
            )
        )
    best = common.best_trial_numbers(final)
    best_rows = final.index[[best.get(str(s)) == n for s, n in zip(final["study"], final["number"])]]
    for row in best_rows:
        fig.add_trace(
            go.Scatter(
                x=np.arange(k),
                y=scaled[row],
                mode="lines",
                line={"color": "#d62728", "width": 3},
                name=common.esc(f"best of {final['study'].iloc[row]}: trial {final['number'].iloc[row]}"),
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=np.full(len(final), k - 1, dtype=float),
            y=scaled[:, k - 1],
            mode="markers",
            marker={"size": 6, "color": value, "colorscale": "Viridis", "showscale": True, "colorbar": _colorbar(metric, value)},
            customdata=np.column_stack([common.hover_data(final.assign(study=final["study"].astype(str)), dims), value.astype(object)]),
            hovertemplate=common.hover_trial(dims)
            + f"<br>result %{{customdata[{2 + len(dims)}]{common.value_format(metric)}}}<extra></extra>",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=tick_x,
            y=tick_y,
            mode="markers+text",
            marker={"symbol": "line-ew", "size": 8, "line": {"width": 1, "color": "#444"}},
            text=tick_text,
            textposition="middle left",
            textfont={"size": 11, "color": "#444"},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.update_xaxes(
        tickvals=list(range(k)),
        ticktext=[a.label.replace(" (", "<br>(") for a in axes],
        range=[-0.5, k - 0.6],
        showgrid=False,
        zeroline=False,
        side="bottom",
    )
    fig.update_yaxes(visible=False, range=[-0.04, 1.04])
    fig.update_layout(
        template=common.TEMPLATE,
        title={"text": _PARALLEL_TITLE},
        height=460,
        margin={"l": 60, "r": 60, "b": 70},
        legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"},
        hovermode="closest",
    )
    return fig
