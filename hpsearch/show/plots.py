"""Plotly figures that compare studies, drawn only from the frames of :mod:`hpsearch.read.frames`.

Every figure has a data function (a DataFrame in, a DataFrame out, testable on
its own) and a drawing function (frames in, a ``plotly.graph_objects.Figure``
out). Axes carry units, hovering a point shows the study, the trial number and
its hyperparameters, and a study with nothing to show yet gives a figure that
says so (:func:`empty_figure`) instead of raising.

    from hpsearch.read import frames
    from hpsearch.show import plots
    trials = frames.trials_frame("hpsearch.db", ["grid", "tpe", "pbt"])
    plots.best_so_far_figure(frames.best_so_far(trials)).show()
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative, sample_colorscale
from plotly.subplots import make_subplots

from hpsearch.core.formatting import round_significant
from hpsearch.core.space import BUILTIN_DIMENSIONS
from hpsearch.read.frames import SPACE_ATTR, Description, ParamImportance, final_results, frame_dimensions

__all__ = [
    "PARAM_LABELS",
    "TEMPLATE",
    "best_so_far_figure",
    "best_trial_numbers",
    "distribution_figure",
    "empty_figure",
    "importance_figure",
    "is_empty",
    "learning_curves_data",
    "learning_curves_figure",
    "lineage_edges",
    "metric_label",
    "param_label",
    "param_name",
    "PARALLEL_BANDS",
    "ParallelAxis",
    "parallel_axes",
    "parallel_figure",
    "parallel_lines_figure",
    "pbt_lineage_figure",
    "pbt_schedule_figure",
    "schedule_steps",
    "slice_figure",
    "study_colors",
]


def _template() -> str:
    """Register and name the template of every figure: plotly's ``plotly_white`` layout, with the
    trace defaults of the trace types drawn here only. A figure carries its template: the full one
    is 7 KB per figure and a fifth of the time to build one, on every redraw of a dashboard page."""
    import plotly.io as pio

    name = "hpsearch"
    if name not in pio.templates:
        full = pio.templates["plotly_white"]
        data = {k: v for k, v in full.data.to_plotly_json().items() if k in {"scatter", "scattergl", "parcoords", "bar", "box"}}
        pio.templates[name] = go.layout.Template(layout=full.layout, data=data)
    return name


#: The plotly template of every figure (plotly_white's look).
TEMPLATE = _template()

#: Axis titles of the seed model's hyperparameters, with their units (any other hyperparameter: :func:`param_label`).
PARAM_LABELS: dict[str, str] = {
    "width": "width (hidden units)",
    "dropout": "dropout (fraction of units dropped)",
    "optimizer": "optimizer",
    "learning_rate": "learning rate (step size, log scale)",
}
_LABELS: dict[str, str] = {
    **PARAM_LABELS,
    "batch_size": "batch size (examples per step)",
    "layers": "layers (hidden layers)",
    "activation": "activation",
    "weight_decay": "weight decay",
}
#: How hovers and tables name the built-in hyperparameters (any other: its own name).
_NAMES: dict[str, str] = {"learning_rate": "learning rate", "batch_size": "batch size", "weight_decay": "weight decay"}
_HOVER_FORMATS: dict[str, str] = {"dropout": ":.3f", "learning_rate": ":.2e"}
_EMPTY_MARK = "hpsearch-empty"


def param_label(name: str) -> str:
    """The axis title of hyperparameter ``name``: the built-in model's with units, else the name itself."""
    return _LABELS.get(name, name)


def param_name(name: str) -> str:
    """How a hover or a table names hyperparameter ``name`` (``learning rate``; a name of a study's own, as written)."""
    return _NAMES.get(name, name)


def _is_log(dim: Description) -> bool:
    """Whether the dimension is searched on a log scale (its axis is a log axis)."""
    return dim.get("kind") in ("IntRange", "FloatRange") and bool(dim.get("log"))


def _is_categorical(dim: Description) -> bool:
    """Whether the dimension is a choice of values that are not all numbers (its axis lists them)."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in dim.get("values", []))
    return dim.get("kind") == "Choice" and not numbers


def _axis_scale(dim: Description) -> dict[str, Any]:
    """Plotly axis settings for a dimension: a log axis for a log range, a category axis for a choice of words."""
    if _is_log(dim):
        return {"type": "log", "exponentformat": "power"}
    if _is_categorical(dim):
        return {"type": "category"}
    return {}


def _hover_params(dims: Mapping[str, Description], first: int) -> str:
    """The hover lines of the hyperparameters, which sit in ``customdata[first:]``."""
    lines = []
    for i, (name, dim) in enumerate(dims.items()):
        fmt = _HOVER_FORMATS.get(name, ":.2e" if _is_log(dim) and dim.get("kind") == "FloatRange" else "")
        lines.append(f"<br>{_esc(param_name(name))} %{{customdata[{first + i}]{fmt}}}")
    return "".join(lines)


def _hover_trial(dims: Mapping[str, Description]) -> str:
    """The hover of a trial: its study, its number and its hyperparameters (see :func:`_customdata`)."""
    return "<b>%{customdata[0]}</b>, trial %{customdata[1]}" + _hover_params(dims, 2)


# ---------------------------------------------------------------------------- helpers


def metric_label(metric: str) -> str:
    """The axis title of a study metric, with its unit."""
    return {"val_accuracy": "validation accuracy (%)", "val_loss": "validation loss (cross-entropy, nats)"}.get(metric, metric)


def _metric_of(frame: pd.DataFrame) -> str:
    """The metric of the studies in ``frame`` (``val_accuracy`` when they differ or it is empty)."""
    metrics = set(frame["metric"].dropna()) if "metric" in frame else set()
    return metrics.pop() if len(metrics) == 1 else "val_accuracy"


def _value_axis(metric: str) -> dict[str, Any]:
    """Layout of a value axis: accuracy shown in percent."""
    axis: dict[str, Any] = {"title": {"text": metric_label(metric)}}
    if metric.endswith("accuracy"):
        axis["tickformat"] = ".0%"
    return axis


def _value_format(metric: str) -> str:
    return ":.2%" if metric.endswith("accuracy") else ":.4f"


def study_colors(names: Sequence[str]) -> dict[str, str]:
    """One colour per study, in order, the same in every figure of a report."""
    palette = qualitative.Plotly
    return {name: palette[i % len(palette)] for i, name in enumerate(dict.fromkeys(names))}


def _esc(text: Any) -> str:
    """Text shown by plotly, which reads a few HTML tags: escaped so that names show as written."""
    return html.escape(str(text), quote=False)


def _customdata(frame: pd.DataFrame, dims: Mapping[str, Description]) -> np.ndarray:
    """Per point: study, trial number and the hyperparameters ``dims`` (what every hover shows),
    floats to 4 significant digits (the hover shows no more; the page is sent lighter)."""
    columns = [frame["study"].map(_esc), frame["number"]] + [frame[name].map(round_significant) for name in dims]
    if not len(frame):
        return np.empty((0, len(columns)), dtype=object)
    return np.stack([np.asarray(c, dtype=object) for c in columns], axis=-1)


def _shown(frame: pd.DataFrame) -> dict[str, Description]:
    """The hyperparameters of ``frame`` that have a value in it."""
    return {name: dim for name, dim in frame_dimensions(frame).items() if frame[name].notna().any()}


def empty_figure(message: str, *, title: str | None = None) -> go.Figure:
    """A figure holding only ``message``: the explicit empty state of every figure."""
    fig = go.Figure()
    fig.add_annotation(text=_esc(message), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 15})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(template=TEMPLATE, title={"text": _esc(title or "")}, height=260, meta={"empty": True, "message": message})
    return fig


def is_empty(fig: go.Figure) -> bool:
    """Whether ``fig`` is an empty-state figure made by :func:`empty_figure`."""
    meta = fig.layout.meta
    return isinstance(meta, Mapping) and bool(meta.get("empty"))


def _missing_note(fig: go.Figure, missing: Sequence[str], what: str) -> None:
    """A line under the plot naming the studies that have nothing to show yet."""
    if missing:
        fig.add_annotation(
            text=_esc(f"{what}: {', '.join(missing)}"),
            x=0,
            y=-0.22,
            xref="paper",
            yref="paper",
            showarrow=False,
            xanchor="left",
            font={"size": 12, "color": "#777"},
        )


def best_trial_numbers(trials: pd.DataFrame) -> dict[str, int]:
    """The best trial of each study (its result: for PBT the best final member), ties to the lower number."""
    out: dict[str, int] = {}
    final = final_results(trials)
    for study, group in final.groupby("study", sort=False):
        ascending = group["direction"].iloc[0] != "maximize"
        ranked = group.sort_values(["value", "number"], ascending=[ascending, True])
        out[str(study)] = int(ranked["number"].iloc[0])
    return out


# ---------------------------------------------------------------------------- 1. best so far


def best_so_far_figure(curve: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """Best-so-far value against cumulative training epochs (left) and training time (right),
    one line per study on a shared value axis: the equal-budget comparison.

    ``curve`` is :func:`hpsearch.read.frames.best_so_far`; ``studies`` (default: those in
    ``curve``) fixes the order and colours, and names the studies without a result yet.
    """
    names = list(studies) if studies is not None else list(dict.fromkeys(curve["study"]))
    title = "Best validation result so far, at equal budget"
    shown = curve[curve["best"].notna()] if len(curve) else curve
    if shown.empty:
        return empty_figure("No completed trial yet in " + (", ".join(names) or "these studies") + ": nothing to compare.", title=title)
    metric = _metric_of(shown)
    colors = study_colors(names)
    dims = frame_dimensions(shown)
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("against training epochs spent", "against training time spent"),
    )
    fmt = _value_format(metric)
    template = _hover_trial(dims) + f"<br>this trial %{{customdata[{2 + len(dims)}]{fmt}}}<br>best so far %{{y{fmt}}}"
    for study in names:
        part = shown[shown["study"] == study]
        if part.empty:
            continue
        custom = np.column_stack([_customdata(part, dims), part["value"].to_numpy(dtype=object)])
        sizes = np.where(part["improved"], 9, 4)
        for col, x, unit in ((1, "cum_epochs", "epochs"), (2, "cum_seconds", "s")):
            fig.add_trace(
                go.Scatter(
                    x=part[x].astype(float),
                    y=part["best"],
                    mode="lines+markers",
                    line={"shape": "hv", "color": colors[study], "width": 2.5},
                    marker={"size": sizes, "color": colors[study]},
                    name=_esc(f"{study} ({part['strategy'].iloc[0]})"),
                    legendgroup=study,
                    showlegend=col == 1,
                    customdata=custom,
                    hovertemplate=template + f"<br>after %{{x:.4g}} {unit}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="training epochs spent, cumulative (epochs)", rangemode="tozero", row=1, col=1)
    fig.update_xaxes(title_text="training time spent, cumulative (s)", rangemode="tozero", row=1, col=2)
    fig.update_yaxes(**_value_axis(metric), row=1, col=1)
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=460, legend={"title": {"text": "study (strategy)"}})
    _missing_note(fig, [n for n in names if n not in set(shown["study"])], "no completed trial yet")
    return fig


# ---------------------------------------------------------------------------- 2. distribution


def distribution_figure(trials: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """The final results of each study (a box with every trial as a point) and how many there are.

    ``trials`` is :func:`hpsearch.read.frames.trials_frame`; a PBT study contributes one
    result per member (its last segment).
    """
    names = list(studies) if studies is not None else list(dict.fromkeys(trials["study"]))
    title = "Final validation result of every trial, per study"
    final = final_results(trials)
    if final.empty:
        return empty_figure("No completed trial yet in " + (", ".join(names) or "these studies") + ".", title=title)
    metric = _metric_of(final)
    colors = study_colors(names)
    dims = frame_dimensions(final)
    fig = go.Figure()
    for study in names:
        part = final[final["study"] == study]
        label = _esc(f"{study} (n={len(part)})")
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
                customdata=_customdata(part, dims),
                hovertemplate=_hover_trial(dims) + f"<br>result %{{y{_value_format(metric)}}}<extra></extra>",
            )
        )
    fig.update_yaxes(**_value_axis(metric))
    fig.update_xaxes(title_text="study (n = number of final results)")
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=440, showlegend=False)
    _missing_note(fig, [n for n in names if not (final["study"] == n).any()], "no completed trial yet")
    return fig


# ---------------------------------------------------------------------------- 3. hyperparameters


def _codes(values: pd.Series) -> tuple[list[float], list[int], list[str]]:
    """Categorical values as integer codes (NaN where missing), with the tick values and texts of a parcoords axis."""
    present = values.notna().to_numpy()
    categories = list(dict.fromkeys(str(v) for v, here in zip(values, present) if here))
    lookup = {c: i for i, c in enumerate(categories)}
    codes = [float(lookup[str(v)]) if here else math.nan for v, here in zip(values, present)]
    return codes, list(range(len(categories))), [_esc(c) for c in categories]


def _log_ticks(values: np.ndarray) -> tuple[list[float], list[str]]:
    low, high = math.floor(float(np.nanmin(values))), math.ceil(float(np.nanmax(values)))
    ticks = list(range(low, high + 1)) or [low]
    return [float(t) for t in ticks], [f"1e{t}" for t in ticks]


@dataclass(frozen=True)
class ParallelAxis:
    """One axis of the parallel coordinates: its label, one numeric value per final result,
    and for a categorical or log axis the tick positions and their texts."""

    label: str
    values: np.ndarray
    tickvals: list[float] | None = None
    ticktext: list[str] | None = None


def parallel_axes(final: pd.DataFrame, names: Sequence[str]) -> list[ParallelAxis]:
    """The axes of the parallel coordinates of ``final`` (rows of :func:`final_results`):
    the study (when several), each hyperparameter with a value in ``final``, in order (a log
    range in log10, a choice of words as codes) and the result (accuracies in percent)."""
    axes: list[ParallelAxis] = []
    if len(names) > 1:
        codes = np.array([names.index(str(s)) for s in final["study"]], dtype=float)
        axes.append(ParallelAxis("study", codes, [float(i) for i in range(len(names))], [_esc(n) for n in names]))
    for name, dim in _shown(final).items():
        column = final[name]
        if _is_categorical(dim):
            codes_of, tickvals, ticktext = _codes(column)
            axes.append(ParallelAxis(_esc(param_label(name)), np.asarray(codes_of, dtype=float), [float(v) for v in tickvals], ticktext))
            continue
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        if _is_log(dim) and np.nanmin(values) > 0:
            logs = np.log10(values)
            tickvals_log, ticktext_log = _log_ticks(logs)
            axes.append(ParallelAxis(_esc(f"{param_name(name)} (log10)"), logs, tickvals_log, ticktext_log))
        else:
            axes.append(ParallelAxis(_esc(param_label(name)), values))
    metric = _metric_of(final)
    scale = 100.0 if metric.endswith("accuracy") else 1.0
    axes.append(ParallelAxis(metric_label(metric), final["value"].to_numpy(dtype=float) * scale))
    return axes


def _parallel_final(trials: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    final = final_results(trials)
    return final.assign(study=pd.Categorical(final["study"], categories=list(names))).sort_values("study", kind="stable")


_PARALLEL_TITLE = "Hyperparameters of every final result, coloured by validation result"


def _colorbar(metric: str) -> dict[str, Any]:
    return {"title": {"text": metric_label(metric)}, "tickformat": ".0%" if metric.endswith("accuracy") else None}


def parallel_figure(trials: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """Parallel coordinates over the study and its hyperparameters, coloured by the result.

    One line per final result (:func:`hpsearch.read.frames.final_results`); the axis of a
    log range (the learning rate) is log10. Drag along an axis to keep only the lines crossing it there.
    Drawn by WebGL (plotly's ``parcoords``); :func:`parallel_lines_figure` is the same
    picture in SVG, without brushing, that draws in a fraction of the time.
    """
    names = list(studies) if studies is not None else list(dict.fromkeys(trials["study"]))
    final = _parallel_final(trials, names)
    if final.empty:
        return empty_figure("No completed trial yet in " + (", ".join(names) or "these studies") + ".", title=_PARALLEL_TITLE)
    dims = [
        {"label": a.label, "values": a.values, **({"tickvals": a.tickvals, "ticktext": a.ticktext} if a.tickvals is not None else {})}
        for a in parallel_axes(final, names)
    ]
    metric = _metric_of(final)
    fig = go.Figure(
        go.Parcoords(
            dimensions=dims,
            line={"color": final["value"], "colorscale": "Viridis", "showscale": True, "colorbar": _colorbar(metric)},
        )
    )
    fig.update_layout(template=TEMPLATE, title={"text": _PARALLEL_TITLE}, height=460, margin={"l": 90, "r": 60})
    return fig


#: Colour bands of :func:`parallel_lines_figure` (one SVG path each).
PARALLEL_BANDS = 8


def _axis_ticks(axis: ParallelAxis, low: float, high: float) -> tuple[list[float], list[str]]:
    if axis.tickvals is not None and axis.ticktext is not None:
        return list(axis.tickvals), list(axis.ticktext)
    if high == low:
        return [low], [f"{low:.4g}"]
    ticks = np.linspace(low, high, 5)
    return [float(t) for t in ticks], [f"{t:.3g}" for t in ticks]


def parallel_lines_figure(trials: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """The parallel coordinates of :func:`parallel_figure` drawn as SVG lines.

    Each axis is scaled to its own range; the lines fall in :data:`PARALLEL_BANDS` colour
    bands of the result (better results drawn on top), the best result is drawn thick, and
    hovering the dot where a line meets the result axis shows that trial. No WebGL: a
    thousand lines draw in a tenth of the time parcoords needs without a GPU, which is
    what a live page redrawn on every change wants; there is no brushing.
    """
    names = list(studies) if studies is not None else list(dict.fromkeys(trials["study"]))
    final = _parallel_final(trials, names).reset_index(drop=True)
    if final.empty:
        return empty_figure("No completed trial yet in " + (", ".join(names) or "these studies") + ".", title=_PARALLEL_TITLE)
    metric = _metric_of(final)
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
    best = best_trial_numbers(final)
    best_rows = final.index[[best.get(str(s)) == n for s, n in zip(final["study"], final["number"])]]
    for row in best_rows:
        fig.add_trace(
            go.Scatter(
                x=np.arange(k),
                y=scaled[row],
                mode="lines",
                line={"color": "#d62728", "width": 3},
                name=_esc(f"best of {final['study'].iloc[row]}: trial {final['number'].iloc[row]}"),
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=np.full(len(final), k - 1, dtype=float),
            y=scaled[:, k - 1],
            mode="markers",
            marker={"size": 6, "color": value, "colorscale": "Viridis", "showscale": True, "colorbar": _colorbar(metric)},
            customdata=np.column_stack([_customdata(final.assign(study=final["study"].astype(str)), dims), value.astype(object)]),
            hovertemplate=_hover_trial(dims) + f"<br>result %{{customdata[{2 + len(dims)}]{_value_format(metric)}}}<extra></extra>",
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
        template=TEMPLATE,
        title={"text": _PARALLEL_TITLE},
        height=460,
        margin={"l": 60, "r": 60, "b": 70},
        legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"},
        hovermode="closest",
    )
    return fig


def slice_figure(trials: pd.DataFrame, *, studies: Sequence[str] | None = None) -> go.Figure:
    """One slice plot per hyperparameter: each final result against that hyperparameter's value,
    one colour per study; a log range (the learning rate) on a log axis, a choice of words on a
    category axis."""
    names = list(studies) if studies is not None else list(dict.fromkeys(trials["study"]))
    title = "Validation result against each hyperparameter"
    final = final_results(trials)
    if final.empty:
        return empty_figure("No completed trial yet in " + (", ".join(names) or "these studies") + ".", title=title)
    metric = _metric_of(final)
    colors = study_colors(names)
    dims = frame_dimensions(final)
    shown = _shown(final)
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
                    name=_esc(study),
                    legendgroup=study,
                    showlegend=study not in in_legend,
                    customdata=_customdata(part, dims),
                    hovertemplate=_hover_trial(dims) + f"<br>result %{{y{_value_format(metric)}}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
            in_legend.add(study)
        fig.update_xaxes(title_text=_esc(param_label(name)), **_axis_scale(dim), row=1, col=col)
    fig.update_yaxes(**_value_axis(metric), row=1, col=1)
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=420, legend={"title": {"text": "study"}})
    return fig


# ---------------------------------------------------------------------------- 4. learning curves


def _ancestry(trials: pd.DataFrame, study: str, number: int) -> set[int]:
    """``number`` and every trial it descends from through ``parent_trial`` (PBT)."""
    parents = trials[trials["study"] == study].set_index("number")["parent_trial"]
    out: set[int] = set()
    current: Any = number
    while current is not None and not pd.isna(current) and int(current) not in out:
        out.add(int(current))
        current = parents.get(int(current))
    return out


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
        return _with_dims(pd.DataFrame(columns=columns), dims)
    best = best_trial_numbers(trials)
    info = trials[["study", "number", "metric", "parent_trial", "start_epoch", *dims]]
    merged = epochs.merge(info, on=["study", "number"], how="inner")
    merged["value"] = np.nan
    for metric in merged["metric"].unique():
        rows = merged["metric"] == metric
        merged.loc[rows, "value"] = merged.loc[rows, metric]
    lineage = {study: _ancestry(trials, study, number) for study, number in best.items()}
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
    return _with_dims(merged[columns].reset_index(drop=True), dims)


def _with_dims(frame: pd.DataFrame, dims: Mapping[str, Description]) -> pd.DataFrame:
    """``frame``, recording the hyperparameters it has a column for (as :mod:`hpsearch.read.frames` frames do)."""
    frame.attrs[SPACE_ATTR] = {name: dict(dim) for name, dim in dims.items() if name in frame.columns}
    return frame


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
    names = list(studies) if studies is not None else list(dict.fromkeys(curves["study"]))
    title = "Learning curves: validation result after every epoch"
    if curves.empty:
        return empty_figure("No epoch has been recorded yet in " + (", ".join(names) or "these studies") + ".", title=title)
    colors = study_colors(names)
    metric = _metric_of(curves)
    dims = frame_dimensions(curves)
    cols = 1 if len(names) == 1 else 2
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(
        rows=rows, cols=cols, shared_yaxes=True, subplot_titles=[_esc(n) for n in names], vertical_spacing=0.12, horizontal_spacing=0.05
    )
    template = _hover_trial(dims) + f"<br>epoch %{{x}}: %{{y{_value_format(metric)}}}<extra></extra>"
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
                    name=_esc(f"{study}: best trial" if is_best else f"{study}: other trials"),
                    legendgroup=study,
                    customdata=_customdata(lines.assign(study=lines["study"].fillna(study)), dims),
                    hovertemplate=template,
                    connectgaps=False,
                ),
                row=row,
                col=col,
            )
        fig.update_xaxes(title_text="epochs trained (epochs)", row=row, col=col, dtick=1 if part["model_epoch"].max() <= 15 else None)
        fig.update_yaxes(**_value_axis(metric), row=row, col=1)
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=max(380, 330 * rows), showlegend=True)
    return fig


# ---------------------------------------------------------------------------- 5. PBT


def schedule_steps(schedule: pd.DataFrame) -> pd.DataFrame:
    """Each PBT member's hyperparameters over epochs, as step lines: two points per segment
    (its ``start_epoch`` and its ``end_epoch``), so a change shows as a vertical jump.

    ``schedule`` is :func:`hpsearch.read.frames.pbt_schedule`. Columns: ``member``,
    ``trial``, ``epoch``, the hyperparameters, ``kind`` (initial, continue, exploit,
    recover), ``parent_member``, ``parent_trial``, ``value`` and ``at_start``.
    """
    dims = frame_dimensions(schedule)
    columns = ["member", "trial", "epoch", *dims, "kind", "parent_member", "parent_trial", "value", "at_start"]
    rows = []
    ordered = schedule.sort_values(["member", "start_epoch"])
    for values in ordered.itertuples(index=False, name=None):  # plain tuples: a name may be a Python keyword
        seg = dict(zip(ordered.columns, values))
        base = {
            "member": seg["member"],
            "trial": seg["trial"],
            **{name: seg[name] for name in dims},
            "kind": seg["kind"],
            "parent_member": seg["parent_member"],
            "parent_trial": seg["parent_trial"],
            "value": seg["value"],
        }
        rows.append({**base, "epoch": seg["start_epoch"], "at_start": True})
        rows.append({**base, "epoch": seg["end_epoch"], "at_start": False})
    return _with_dims(pd.DataFrame(rows, columns=columns), dims)


def _schedule_params(steps: pd.DataFrame) -> list[str]:
    """The hyperparameters that change over a PBT run (when none does: the learning rate, or the first)."""
    names = list(frame_dimensions(steps))
    varying = [name for name in names if steps[name].astype(str).nunique() > 1]
    return varying or (["learning_rate"] if "learning_rate" in names else names[:1])


def pbt_schedule_figure(schedule: pd.DataFrame, *, study: str = "") -> go.Figure:
    """Each member's hyperparameter schedule over epochs, one panel per hyperparameter that
    changes; a star marks a segment that started by copying another member (exploit).

    ``schedule`` is :func:`hpsearch.read.frames.pbt_schedule`.
    """
    title = f"PBT schedules of {study}: hyperparameters in force over epochs" if study else "PBT schedules"
    if schedule.empty:
        return empty_figure(f"{study or 'this study'} has no PBT segment yet.", title=title)
    steps = schedule_steps(schedule)
    params = _schedule_params(steps)
    if not params:
        return empty_figure(f"{study or 'this study'} has no hyperparameter to show.", title=title)
    dims = frame_dimensions(steps)
    members = sorted(int(m) for m in steps["member"].unique())
    palette = qualitative.D3
    fig = make_subplots(rows=len(params), cols=1, shared_xaxes=True, vertical_spacing=0.06)
    for row, name in enumerate(params, start=1):
        for member in members:
            part = steps[steps["member"] == member]
            color = palette[member % len(palette)]
            custom = np.column_stack(
                [
                    part["trial"].to_numpy(dtype=object),
                    part["kind"].to_numpy(dtype=object),
                    part["parent_member"].astype(object).where(part["parent_member"].notna(), "-").to_numpy(dtype=object),
                    part["value"].to_numpy(dtype=object),
                    *(part[h].to_numpy(dtype=object) for h in dims),
                ]
            )
            hover = (
                f"member {member}, trial %{{customdata[0]}} (%{{customdata[1]}}, from member %{{customdata[2]}})"
                + _hover_params(dims, 4)
                + "<br>epoch %{x}<extra></extra>"
            )
            fig.add_trace(
                go.Scatter(
                    x=part["epoch"],
                    y=part[name],
                    mode="lines",
                    line={"color": color, "width": 2},
                    name=f"member {member}",
                    legendgroup=f"member {member}",
                    showlegend=row == 1,
                    customdata=custom,
                    hovertemplate=hover,
                ),
                row=row,
                col=1,
            )
            jumps = part[(part["kind"] == "exploit") & part["at_start"]]
            if len(jumps):
                fig.add_trace(
                    go.Scatter(
                        x=jumps["epoch"],
                        y=jumps[name],
                        mode="markers",
                        marker={"symbol": "star", "size": 13, "color": color, "line": {"color": "black", "width": 1}},
                        name=f"member {member}: copied another member",
                        legendgroup=f"member {member}",
                        showlegend=False,
                        customdata=custom[(part["kind"] == "exploit").to_numpy() & part["at_start"].to_numpy()],
                        hovertemplate=hover.replace("(%{customdata[1]}", "(<b>exploit</b>"),
                    ),
                    row=row,
                    col=1,
                )
        fig.update_yaxes(title_text=_esc(param_label(name)), **_axis_scale(dims[name]), row=row, col=1)
    fig.update_xaxes(title_text="epochs trained by the member (epochs)", row=len(params), col=1)
    fig.update_layout(
        template=TEMPLATE, title={"text": _esc(title)}, height=260 + 200 * len(params), legend={"title": {"text": "★ = exploit"}}
    )
    return fig


def lineage_edges(schedule: pd.DataFrame) -> pd.DataFrame:
    """The lineage tree of a PBT study as line segments: one edge per segment with a parent,
    from the parent's node (``parent_member`` at the epoch the copy was made) to the
    segment's node (``member`` at its ``end_epoch``); plus, for initial segments, an edge
    from the member's start at epoch 0. ``kind`` tells copies (exploit) from continuations.
    """
    columns = ["trial", "parent_trial", "kind", "x0", "y0", "x1", "y1"]
    rows = []
    for seg in schedule.itertuples(index=False):
        has_parent = not pd.isna(seg.parent_trial)
        y0 = seg.parent_member if has_parent and not pd.isna(seg.parent_member) else seg.member
        rows.append(
            {
                "trial": seg.trial,
                "parent_trial": seg.parent_trial if has_parent else pd.NA,
                "kind": seg.kind,
                "x0": seg.start_epoch,
                "y0": int(y0),
                "x1": seg.end_epoch,
                "y1": int(seg.member),
            }
        )
    frame = pd.DataFrame(rows, columns=columns)
    frame["parent_trial"] = frame["parent_trial"].astype("Int64")
    return frame


#: How each kind of PBT decision is drawn in the lineage tree: (group label, colour, line width).
_EDGE_STYLES: dict[str, tuple[str, str, float]] = {
    "initial": ("kept its own weights", "rgba(120,120,120,0.55)", 1.2),
    "continue": ("kept its own weights", "rgba(120,120,120,0.55)", 1.2),
    "exploit": ("copied another member (exploit)", "#d62728", 2.5),
    "recover": ("copied after a failed segment (recover)", "#ff7f0e", 2.5),
}


def _polyline(edges: pd.DataFrame) -> tuple[list[Any], list[Any]]:
    """The edges as one line with gaps (None) between them."""
    xs: list[Any] = []
    ys: list[Any] = []
    for e in edges.itertuples(index=False):
        xs += [e.x0, e.x1, None]
        ys += [e.y0, e.y1, None]
    return xs, ys


def _ancestry_of(schedule: pd.DataFrame, trial: int | None) -> set[int]:
    """``trial`` and the segments its weights came from (empty for None)."""
    if trial is None:
        return set()
    return _ancestry(schedule.assign(study="", number=schedule["trial"]), "", trial)


def pbt_lineage_figure(schedule: pd.DataFrame, *, study: str = "", best_trial: int | None = None) -> go.Figure:
    """Who copied whom: every segment is a node (its member, at the epoch it ended, coloured
    by its validation result); grey edges continue a member's own weights, red edges are
    copies of another member (exploit). The path that trained ``best_trial`` is drawn in gold.

    ``schedule`` is :func:`hpsearch.read.frames.pbt_schedule` (a superset of ``pbt_lineage``).
    """
    title = f"PBT lineage of {study}: who copied whom" if study else "PBT lineage"
    if schedule.empty:
        return empty_figure(f"{study or 'this study'} has no PBT segment yet.", title=title)
    edges = lineage_edges(schedule)
    fig = go.Figure()
    groups = edges["kind"].map(lambda k: _EDGE_STYLES.get(str(k), _EDGE_STYLES["continue"]))
    for style in dict.fromkeys(groups):
        label, color, width = style
        xs, ys = _polyline(edges[groups == style])
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": color, "width": width}, name=label, hoverinfo="skip"))
    ancestry = _ancestry_of(schedule, best_trial)
    if ancestry:
        xs, ys = _polyline(edges[edges["trial"].isin(ancestry)])
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", line={"color": "gold", "width": 7}, opacity=0.6, name=f"best final model (trial {best_trial})"
            )
        )
    nodes = schedule.sort_values("trial")
    dims = frame_dimensions(nodes)
    custom = np.column_stack(
        [
            nodes["trial"].to_numpy(dtype=object),
            nodes["member"].to_numpy(dtype=object),
            nodes["kind"].to_numpy(dtype=object),
            nodes["parent_member"].astype(object).where(nodes["parent_member"].notna(), "-").to_numpy(dtype=object),
            *(nodes[h].to_numpy(dtype=object) for h in dims),
        ]
    )
    fig.add_trace(
        go.Scatter(
            x=nodes["end_epoch"],
            y=nodes["member"],
            mode="markers",
            name="segment (colour: validation result)",
            marker={
                "size": 11,
                "color": nodes["value"],
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": "validation result"}, "x": 1.02},
                "line": {"color": "white", "width": 1},
            },
            customdata=custom,
            hovertemplate="trial %{customdata[0]}: member %{customdata[1]} up to epoch %{x}"
            "<br>%{customdata[2]} (from member %{customdata[3]})"
            + _hover_params(dims, 4)
            + "<br>result %{marker.color:.4f}<extra></extra>",
        )
    )
    members = sorted(int(m) for m in schedule["member"].unique())
    fig.update_yaxes(title_text="member (population slot)", tickvals=members, ticktext=[str(m) for m in members], autorange="reversed")
    fig.update_xaxes(title_text="epochs trained (epochs)", rangemode="tozero", dtick=1)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": _esc(title)},
        height=max(380, 160 + 45 * len(members)),
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def evolution_lineage_figure(lineage: pd.DataFrame, *, study: str = "", best_trial: int | None = None) -> go.Figure:
    """Generations and parents: every trial is a dot (its generation, its validation result),
    with an edge from each of its two parents (solid: the first, dotted: the second); the
    ancestry of ``best_trial`` is drawn in gold. ``lineage`` is :func:`hpsearch.read.frames.evolution_lineage`."""
    title = f"Evolution of {study}: generations and parents" if study else "Evolution: generations and parents"
    done = lineage[lineage["value"].notna()] if not lineage.empty else lineage
    if done.empty:
        return empty_figure(f"{study or 'this study'} has no finished trial yet.", title=title)
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
            done["first_parent"].astype(object).where(done["first_parent"].notna(), "-").to_numpy(dtype=object),
            done["second_parent"].astype(object).where(done["second_parent"].notna(), "-").to_numpy(dtype=object),
            *(done[h].astype(str).to_numpy(dtype=object) for h in params),
        ]
    )
    described = "".join(f"<br>{_esc(h)} %{{customdata[{3 + i}]}}" for i, h in enumerate(params))
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
    fig.update_layout(template=TEMPLATE, title={"text": _esc(title)}, height=460, legend={"orientation": "h", "y": -0.2})
    return fig


def rungs_figure(rungs: pd.DataFrame, *, study: str = "") -> go.Figure:
    """Where each trial stopped: the number of trials that ran each number of epochs, one bar per
    bracket (successive halving and the median rule have one), pruned and completed apart; the
    hover names the bracket's rungs. ``rungs`` is :func:`hpsearch.read.frames.pruning_rungs`."""
    title = f"Where the trials of {study} stopped" if study else "Where the trials stopped"
    done = rungs[rungs["state"].isin(["COMPLETE", "PRUNED"])] if not rungs.empty else rungs
    if done.empty:
        return empty_figure(f"{study or 'this study'} has no finished trial yet.", title=title)
    fig = go.Figure()
    brackets = sorted(int(b) for b in done["bracket"].unique())
    for bracket in brackets:
        part = done[done["bracket"] == bracket]
        judged = ", ".join(map(str, part["rungs"].iloc[0])) or "never"
        for state, pattern in (("PRUNED", ""), ("COMPLETE", "/")):
            counts = part[part["state"] == state].groupby("epochs_done").size()
            if counts.empty:
                continue
            label = f"bracket {bracket}, {state.lower()}" if len(brackets) > 1 else state.lower()
            fig.add_trace(
                go.Bar(
                    x=counts.index,
                    y=counts.to_numpy(),
                    name=label,
                    marker={"pattern": {"shape": pattern}},
                    hovertemplate=f"{label}: %{{y}} trials ran %{{x}} epochs<br>judged at epochs {judged}<extra></extra>",
                )
            )
    fig.update_xaxes(title_text="epochs the trial ran", dtick=1)
    fig.update_yaxes(title_text="trials")
    fig.update_layout(template=TEMPLATE, title={"text": _esc(title)}, barmode="group", height=420, legend={"orientation": "h", "y": -0.2})
    return fig


# ---------------------------------------------------------------------------- 6. importance


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
        return empty_figure("No importance to show. " + "; ".join(notes or ["no study given"]), title=title)
    colors = study_colors([imp.study for imp in importances])
    order = _importance_order(usable)
    fig = go.Figure()
    for imp in usable:
        names = [n for n in order if n in imp.importances]
        fig.add_trace(
            go.Bar(
                x=names,
                y=[imp.importances[n] for n in names],
                name=_esc(f"{imp.study} ({imp.trials} trials)"),
                marker={"color": colors[imp.study]},
                hovertemplate=f"{_esc(imp.study)}<br>%{{x}}: %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text="importance (% of explained variance)", tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(title_text="hyperparameter")
    fig.update_layout(template=TEMPLATE, title={"text": title}, barmode="group", height=420)
    _missing_note(fig, notes, "no importance")
    return fig
