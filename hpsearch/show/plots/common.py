"""What every figure shares: the look, the labels, the hovers, the empty state and the best trial.

* the plotly template of every figure (:data:`TEMPLATE`) and one colour per study (:func:`study_colors`);
* axis titles and hover names of hyperparameters and metrics, with their units
  (:func:`param_label`, :func:`param_name`, :func:`metric_label`, :func:`value_axis`);
* the one rule of tick labels: as many decimals as the tick spacing needs, so that no two ticks read alike
  (:func:`percent_ticks` for percentages plotly ticks itself, :func:`percent_colorbar` for a colour bar,
  :func:`linear_ticks` and :func:`log_ticks` for ticks computed here, :func:`log_axis` for a log axis),
  and an axis of budget that ends near the data (:func:`budget_axis`);
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
import math
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
    "budget_axis",
    "dashed",
    "empty_figure",
    "esc",
    "hover_data",
    "hover_params",
    "hover_trial",
    "is_categorical",
    "is_empty",
    "is_log",
    "linear_ticks",
    "log_axis",
    "log_ticks",
    "metric_label",
    "metric_of",
    "missing_note",
    "no_result_yet",
    "param_label",
    "param_name",
    "percent_colorbar",
    "percent_ticks",
    "shown_dimensions",
    "study_colors",
    "step_decimals",
    "study_names",
    "tick_step",
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


def axis_scale(dim: Description, values: Any = None) -> dict[str, Any]:
    """Plotly axis settings for a dimension: a log axis for a log range (ticked by :func:`log_axis` over ``values``, the
    values drawn on it), a category axis for a choice of words."""
    if is_log(dim):
        return log_axis(values if values is not None else [])
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
    """Layout of a value axis: accuracy shown in percent (:func:`percent_ticks`)."""
    axis: dict[str, Any] = {"title": {"text": metric_label(metric)}}
    if metric.endswith("accuracy"):
        axis.update(percent_ticks())
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


# ---------------------------------------------------------------------------- ticks
#
# The one rule of every tick label drawn here: as many decimals as the spacing of the ticks needs, no more (ticks half a
# point apart read 90.5%, 91.0%, 91.5% ... never 91%, 91%, 92%). Plotly places the ticks of a value axis itself (they
# follow a zoom) at a spacing (``dtick``) of 1, 2 or 5 times a power of ten, and :func:`percent_ticks` picks the format
# by it. Where the ticks are computed here (a colour bar, whose plotly ticks ignore that choice; a log axis; the SVG
# parallel coordinates) they are at such a step too, labelled by the same rule.

#: The most decimals a percentage is shown with (ticks a millionth of a point apart).
_MAX_DECIMALS = 6


def tick_step(span: float, ticks: int = 6) -> float:
    """The spacing of about ``ticks`` ticks over ``span`` (positive): 1, 2 or 5 times a power of ten, at least ``span / ticks``."""
    rough = span / max(ticks, 1)
    base = 10.0 ** math.floor(math.log10(rough))
    return next(m * base for m in (1, 2, 5, 10) if m * base >= rough * (1 - 1e-9))


def step_decimals(step: float) -> int:
    """The decimals that tell apart numbers ``step`` apart (a step of 1, 2 or 5 times a power of ten): none for 1 and
    more, one for 0.1 to 0.5, two for 0.01 to 0.05, ..."""
    return max(0, -math.floor(math.log10(step) + 1e-9))


def percent_ticks() -> dict[str, Any]:
    """The tick format of an axis of fractions shown in percent, whose ticks plotly places: whole points for ticks a
    point or more apart, one decimal for ticks a tenth of a point to half a point apart, and so on (plotly's
    ``tickformatstops``, chosen by the tick spacing ``dtick``, which it takes 1, 2 or 5 times a power of ten). Not for
    a colour bar: plotly's ignore ``tickformatstops`` (:func:`percent_colorbar`)."""
    stops = []
    for decimals in range(_MAX_DECIMALS + 1):
        low = None if decimals == _MAX_DECIMALS else 0.0095 * 10.0**-decimals  # a spacing of 0.01 (a point) needs none
        high = None if decimals == 0 else 0.0095 * 10.0 ** (1 - decimals)
        stops.append({"dtickrange": [low, high], "value": f".{decimals}%"})
    return {"tickformat": ".0%", "tickformatstops": stops}


def linear_ticks(low: float, high: float, ticks: int = 6) -> tuple[list[float], list[str]]:
    """Ticks over ``[low, high]`` at a step of 1, 2 or 5 times a power of ten (:func:`tick_step`), all inside it, each
    labelled with the decimals the step needs (:func:`step_decimals`); one tick when ``low == high``."""
    if not high > low:
        return [float(low)], [f"{low:.4g}"]
    step = tick_step(high - low, ticks)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    decimals = step_decimals(step)
    values = [round(k * step, decimals + 6) for k in range(first, last + 1)]
    return values, [f"{v:.{decimals}f}" for v in values]


def percent_colorbar(values: Any) -> dict[str, Any]:
    """The ticks of a colour bar of fractions ``values`` shown in percent: :func:`linear_ticks` of the percentages
    (plotly's colour bars ignore ``tickformatstops``, so :func:`percent_ticks` would repeat their labels)."""
    finite = _finite(values)
    if not finite.size:
        return {"tickformat": ".0%"}
    points, texts = linear_ticks(float(finite.min()) * 100, float(finite.max()) * 100, 5)
    return {"tickmode": "array", "tickvals": [p / 100 for p in points], "ticktext": [f"{t}%" for t in texts]}


def _finite(values: Any) -> np.ndarray:
    """The finite numbers among ``values`` (a column, an array or a list; text and None left out)."""
    numbers = np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype=float)
    return numbers[np.isfinite(numbers)]


#: The ticks within a decade of a log axis, sparsest first: whole decades, 1-3, 1-2-5, every digit.
_LOG_MANTISSAS: tuple[tuple[int, ...], ...] = ((1,), (1, 3), (1, 2, 5), tuple(range(1, 10)))


def _log_label(value: float, digits: int) -> str:
    """``value`` as ``3e-4`` (``digits`` after the point: ``2.5e-4``)."""
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def log_ticks(low: float, high: float, ticks: int = 6) -> tuple[list[float], list[str]]:
    """Ticks of a log axis over ``[low, high]`` (positive), all inside it: whole decades (every second or more when
    there are many), or for a narrower range 1-3, 1-2-5 or every digit of each decade, the sparsest that gives three
    ticks; a range narrower still, at a linear step (:func:`linear_ticks`). Labelled ``1e-4``, ``3e-4`` (from 0.01 up
    to 10^5 plainly: ``0.05``, ``0.1``, ``30``), each with the digits its step needs: no two alike."""
    if not 0 < low <= high:
        return [], []
    if high <= low * (1 + 1e-9):
        return [float(low)], [f"{low:.3g}"]
    lo, hi = math.floor(math.log10(low)), math.ceil(math.log10(high))
    values: list[float] = []
    for mantissas in _LOG_MANTISSAS:
        candidates = (float(f"{m}e{e}") for e in range(lo, hi + 1) for m in mantissas)
        values = [v for v in candidates if low * (1 - 1e-9) <= v <= high * (1 + 1e-9)]
        if len(values) >= 3:
            break
    if len(values) > ticks + 2:  # many decades: every second, third ... one
        every = math.ceil(len(values) / (ticks + 1))
        values = [v for v in values if round(math.log10(v)) % every == 0]
    step = None
    if len(values) < 3:  # less than three digits of one decade apart: a linear step, as many digits as it needs
        values, _ = linear_ticks(low, high, ticks)
        step = tick_step(high - low, ticks)
    exponents = [math.floor(math.log10(v) + 1e-9) for v in values]
    if values[0] >= 0.01 and values[-1] < 1e5:  # plainly: 0.05, 0.1, 0.2 or 16, 32, 64
        decimals = [step_decimals(step) if step else max(0, -e) for e in exponents]
        return values, [f"{v:.{d}f}" for v, d in zip(values, decimals)]
    digits = [max(0, e - math.floor(math.log10(step) + 1e-9)) if step else 0 for e in exponents]  # 3e-4; 2.2e-3 on a step
    return values, [_log_label(v, d) for v, d in zip(values, digits)]


def log_axis(values: Any) -> dict[str, Any]:
    """Layout of a log axis drawing ``values``: the ticks of :func:`log_ticks` over their positive range (plotly's own
    would label the ticks between decades ``2, 5, 2, 5``); whole decades where there is none."""
    finite = _finite(values)
    positive = finite[finite > 0]
    if not positive.size:
        return {"type": "log", "dtick": 1, "exponentformat": "power"}
    tickvals, ticktext = log_ticks(float(positive.min()), float(positive.max()))
    return {"type": "log", "tickmode": "array", "tickvals": tickvals, "ticktext": ticktext}


#: How far past the largest value an axis of budget ends (a fraction of it): room for the last marker, no more.
BUDGET_MARGIN = 0.04


def budget_axis(values: Any) -> dict[str, Any]:
    """Layout of an axis of budget spent (epochs, seconds) drawing ``values``: from zero to just past the largest
    (:data:`BUDGET_MARGIN`), not to a round number beyond it."""
    finite = _finite(values)
    top = float(finite.max()) if finite.size else 0.0
    return {"rangemode": "tozero", "range": [0.0, top * (1 + BUDGET_MARGIN)]} if top > 0 else {"rangemode": "tozero"}
