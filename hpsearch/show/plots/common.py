"""What every figure shares: the look, the labels, the hovers, the empty state and the best trial.

* the plotly template of every figure (:data:`TEMPLATE`) and one colour per study (:func:`study_colors`);
* axis titles and hover names of hyperparameters and metrics, with their units
  (:func:`param_label`, :func:`param_name`, :func:`metric_label`, :func:`value_axis`);
* the hover of a trial (its study, number and hyperparameters: :func:`hover_trial`, :func:`hover_data`),
  and text escaped so that names show as written (:func:`esc`);
* the studies a figure draws (:func:`study_names`), the explicit empty figure (:func:`empty_figure`,
  :func:`is_empty`, :func:`no_result_yet`) and the note naming the studies with nothing to show yet
  (:func:`missing_note`);
* the best trial of each study (:func:`best_trial_numbers`), which several figures draw apart.

The figures themselves, each with its data step, are the other modules of :mod:`hpsearch.show.plots`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from hpsearch.core.formatting import round_significant
from hpsearch.read.frames import SPACE_ATTR, Description, final_results, frame_dimensions

__all__ = [
    "PARAM_LABELS",
    "TEMPLATE",
    "axis_scale",
    "best_trial_numbers",
    "dashed",
    "empty_figure",
    "esc",
    "hover_data",
    "hover_params",
    "hover_trial",
    "is_categorical",
    "is_empty",
    "is_log",
    "metric_label",
    "metric_of",
    "missing_note",
    "no_result_yet",
    "param_label",
    "param_name",
    "shown_dimensions",
    "study_colors",
    "study_names",
    "value_axis",
    "value_format",
    "with_dimensions",
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


def param_label(name: str) -> str:
    """The axis title of hyperparameter ``name``: the built-in model's with units, else the name itself."""
    return _LABELS.get(name, name)


def param_name(name: str) -> str:
    """How a hover or a table names hyperparameter ``name`` (``learning rate``; a name of a study's own, as written)."""
    return _NAMES.get(name, name)


def is_log(dim: Description) -> bool:
    """Whether the dimension is searched on a log scale (its axis is a log axis)."""
    return dim.get("kind") in ("IntRange", "FloatRange") and bool(dim.get("log"))


def is_categorical(dim: Description) -> bool:
    """Whether the dimension is a choice of values that are not all numbers (its axis lists them)."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in dim.get("values", []))
    return dim.get("kind") == "Choice" and not numbers


def axis_scale(dim: Description) -> dict[str, Any]:
    """Plotly axis settings for a dimension: a log axis for a log range, a category axis for a choice of words."""
    if is_log(dim):
        return {"type": "log", "exponentformat": "power"}
    if is_categorical(dim):
        return {"type": "category"}
    return {}


def hover_params(dims: Mapping[str, Description], first: int) -> str:
    """The hover lines of the hyperparameters, which sit in ``customdata[first:]``."""
    lines = []
    for i, (name, dim) in enumerate(dims.items()):
        fmt = _HOVER_FORMATS.get(name, ":.2e" if is_log(dim) and dim.get("kind") == "FloatRange" else "")
        lines.append(f"<br>{esc(param_name(name))} %{{customdata[{first + i}]{fmt}}}")
    return "".join(lines)


def hover_trial(dims: Mapping[str, Description]) -> str:
    """The hover of a trial: its study, its number and its hyperparameters (see :func:`hover_data`)."""
    return "<b>%{customdata[0]}</b>, trial %{customdata[1]}" + hover_params(dims, 2)


def metric_label(metric: str) -> str:
    """The axis title of a study metric, with its unit."""
    return {"val_accuracy": "validation accuracy (%)", "val_loss": "validation loss (cross-entropy, nats)"}.get(metric, metric)


def metric_of(frame: pd.DataFrame) -> str:
    """The metric of the studies in ``frame`` (``val_accuracy`` when they differ or it is empty)."""
    metrics = set(frame["metric"].dropna()) if "metric" in frame else set()
    return metrics.pop() if len(metrics) == 1 else "val_accuracy"


def value_axis(metric: str) -> dict[str, Any]:
    """Layout of a value axis: accuracy shown in percent."""
    axis: dict[str, Any] = {"title": {"text": metric_label(metric)}}
    if metric.endswith("accuracy"):
        axis["tickformat"] = ".0%"
    return axis


def value_format(metric: str) -> str:
    """The hover format of a value of ``metric``: accuracy in percent, any other to four decimals."""
    return ":.2%" if metric.endswith("accuracy") else ":.4f"


def study_colors(names: Sequence[str]) -> dict[str, str]:
    """One colour per study, in order, the same in every figure of a report."""
    palette = qualitative.Plotly
    return {name: palette[i % len(palette)] for i, name in enumerate(dict.fromkeys(names))}


def esc(text: Any) -> str:
    """Text shown by plotly, which reads a few HTML tags: escaped so that names show as written."""
    return html.escape(str(text), quote=False)


def hover_data(frame: pd.DataFrame, dims: Mapping[str, Description]) -> np.ndarray:
    """Per point: study, trial number and the hyperparameters ``dims`` (what every hover shows),
    floats to 4 significant digits (the hover shows no more; the page is sent lighter)."""
    columns = [frame["study"].map(esc), frame["number"]] + [frame[name].map(round_significant) for name in dims]
    if not len(frame):
        return np.empty((0, len(columns)), dtype=object)
    return np.stack([np.asarray(c, dtype=object) for c in columns], axis=-1)


def shown_dimensions(frame: pd.DataFrame) -> dict[str, Description]:
    """The hyperparameters of ``frame`` that have a value in it."""
    return {name: dim for name, dim in frame_dimensions(frame).items() if frame[name].notna().any()}


def study_names(frame: pd.DataFrame, studies: Sequence[str] | None) -> list[str]:
    """The studies a figure draws, in order: ``studies``, or those of ``frame`` as they come."""
    return list(studies) if studies is not None else list(dict.fromkeys(frame["study"]))


def no_result_yet(names: Sequence[str], *, title: str, then: str = ".") -> go.Figure:
    """The empty figure of studies ``names`` without a completed trial yet (``then`` ends the message)."""
    return empty_figure("No completed trial yet in " + (", ".join(names) or "these studies") + then, title=title)


def dashed(column: pd.Series) -> np.ndarray:
    """A column as hover data: its values as objects, ``-`` where it has none."""
    return column.astype(object).where(column.notna(), "-").to_numpy(dtype=object)


def empty_figure(message: str, *, title: str | None = None) -> go.Figure:
    """A figure holding only ``message``: the explicit empty state of every figure."""
    fig = go.Figure()
    fig.add_annotation(text=esc(message), x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 15})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(template=TEMPLATE, title={"text": esc(title or "")}, height=260, meta={"empty": True, "message": message})
    return fig


def is_empty(fig: go.Figure) -> bool:
    """Whether ``fig`` is an empty-state figure made by :func:`empty_figure`."""
    meta = fig.layout.meta
    return isinstance(meta, Mapping) and bool(meta.get("empty"))


def missing_note(fig: go.Figure, missing: Sequence[str], what: str) -> None:
    """A line under the plot naming the studies that have nothing to show yet."""
    if missing:
        fig.add_annotation(
            text=esc(f"{what}: {', '.join(missing)}"),
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


def with_dimensions(frame: pd.DataFrame, dims: Mapping[str, Description]) -> pd.DataFrame:
    """``frame``, recording the hyperparameters it has a column for (as :mod:`hpsearch.read.frames` frames do)."""
    frame.attrs[SPACE_ATTR] = {name: dict(dim) for name, dim in dims.items() if name in frame.columns}
    return frame
