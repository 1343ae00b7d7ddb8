"""The figures of the dashboard pages, drawn by :mod:`hpsearch.plots` from :mod:`hpsearch.analysis` frames.

Large studies are thinned for the learning curves only (a few hundred curves say
as much as ten thousand, and draw in a fraction of the time): the best trials,
the running ones and the best trial's ancestry are kept, and the title says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from hpsearch import analysis, plots
from hpsearch.store import Store, StudyRecord, TrialState
from hpsearch.store import schema as s

__all__ = [
    "GL_POINTS",
    "MAX_CURVES",
    "MAX_POINTS",
    "StudyFigures",
    "compare_figures",
    "curve_epochs",
    "curve_trials",
    "learning_curves",
    "sample_results",
    "study_figures",
    "webgl",
]

#: At most this many trials per study get a learning curve on a page.
MAX_CURVES = 200
#: Scatter traces with more points than this are drawn with WebGL.
GL_POINTS = 2000
#: Parallel coordinates and slices draw at most this many final results per study (a seeded sample, best included).
MAX_POINTS = 1000


def curve_trials(trials: pd.DataFrame, limit: int = MAX_CURVES) -> tuple[dict[str, set[int]], int]:
    """Per study, the trials that get a learning curve: all of them up to ``limit``, else the
    running ones and the best results, plus the best trial's ancestry (PBT); and how many were left out."""
    chosen: dict[str, set[int]] = {}
    dropped = 0
    best = plots.best_trial_numbers(trials)
    for study, group in trials.groupby("study", sort=False):
        if len(group) <= limit:
            chosen[str(study)] = set(group["number"].astype(int))
            continue
        maximize = group["direction"].iloc[0] == "maximize"
        running = group[group["state"] == TrialState.RUNNING.value]
        ranked = group[group["value"].notna()].sort_values("value", ascending=not maximize)
        numbers = set(pd.concat([running, ranked]).drop_duplicates("number").head(limit)["number"].astype(int))
        if str(study) in best:
            numbers |= plots._ancestry(trials, str(study), best[str(study)])
        dropped += len(group) - len(numbers)
        chosen[str(study)] = numbers
    return chosen, dropped


def curve_epochs(store: Store, studies: Sequence[StudyRecord], chosen: dict[str, set[int]]) -> pd.DataFrame:
    """:func:`hpsearch.analysis.epochs_frame` restricted to the trials ``chosen`` per study (one query per study)."""
    frames = []
    t = s.trials
    for study in studies:
        numbers = sorted(chosen.get(study.name, ()))
        if not numbers:
            continue
        query = analysis._epochs_query([study.id]).where(t.c.number.in_(numbers))
        with store._read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        frames.append(pd.DataFrame.from_records(rows, columns=list(analysis.EPOCH_COLUMNS)))
    if not frames:
        return pd.DataFrame(columns=list(analysis.EPOCH_COLUMNS))
    frame = pd.concat(frames, ignore_index=True)
    frame["member"] = frame["member"].astype("Int64")
    for column in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds"):
        frame[column] = frame[column].astype(float)
    return frame


def learning_curves(store: Store, studies: Sequence[StudyRecord], trials: pd.DataFrame, *, limit: int = MAX_CURVES) -> go.Figure:
    """:func:`plots.learning_curves_figure` of ``studies``, with at most ``limit`` curves per study."""
    chosen, dropped = curve_trials(trials, limit)
    epochs = curve_epochs(store, studies, chosen)
    fig = plots.learning_curves_figure(plots.learning_curves_data(trials, epochs), studies=[st.name for st in studies])
    if dropped and not plots.is_empty(fig):
        fig.update_layout(title={"text": f"Learning curves: the best {limit} trials per study ({dropped} others not drawn)"})
    return fig


def sample_results(trials: pd.DataFrame, limit: int = MAX_POINTS, *, seed: int = 0) -> tuple[pd.DataFrame, int]:
    """``trials`` keeping at most ``limit`` final results per study: a seeded uniform sample that
    always holds the study's best trial (the distribution stays honest, the browser stays fast);
    and how many results were left out. Rows that are not final results are kept."""
    if trials.empty:
        return trials, 0
    best = plots.best_trial_numbers(trials)
    keep = ~trials["final"]
    dropped = 0
    for study, group in trials[trials["final"]].groupby("study", sort=False):
        if len(group) <= limit:
            keep |= trials.index.isin(group.index)
            continue
        top = group[group["number"] == best.get(str(study))]
        picked = group.drop(top.index).sample(n=limit - len(top), random_state=seed).index.union(top.index)
        keep |= trials.index.isin(picked)
        dropped += len(group) - len(picked)
    return trials[keep], dropped


def _noted(fig: go.Figure, dropped: int, limit: int) -> go.Figure:
    if dropped and not plots.is_empty(fig):
        title = fig.layout.title.text or ""
        fig.update_layout(title={"text": f"{title} (a sample of {limit} results per study; {dropped} not drawn)"})
    return fig


def webgl(fig: go.Figure, *, above: int = GL_POINTS) -> go.Figure | dict[str, Any]:
    """``fig``, as a plain figure dict whose scatter traces of more than ``above`` points are drawn
    by WebGL (``scattergl``): SVG draws tens of thousands of markers in seconds, WebGL in
    milliseconds. A figure without such traces is returned as it is."""
    if not any(isinstance(tr, go.Scatter) and tr.x is not None and len(tr.x) > above for tr in fig.data):
        return fig
    spec = fig.to_plotly_json()  # no copy, no validation: the dict dcc.Graph sends anyway
    for source, trace in zip(fig.data, spec["data"]):  # (numeric arrays in ``spec`` are base64 blobs: count on ``source``)
        if isinstance(source, go.Scatter) and source.x is not None and len(source.x) > above:
            trace["type"] = "scattergl"
            line = trace.get("line")
            if isinstance(line, dict) and line.get("shape") == "spline":  # the one line shape WebGL cannot draw
                line.pop("shape")
    return spec


@dataclass(frozen=True)
class StudyFigures:
    """The figures of one study page, in page order (title, figure)."""

    figures: list[tuple[str, go.Figure | dict[str, Any]]]


def study_figures(store: Store, name: str, strategy: str) -> StudyFigures:
    """Learning curves, parallel coordinates, slices, and for PBT the schedules and lineage tree."""
    study = store.study(name)
    trials = analysis.trials_frame(store, [name])
    sample, dropped = sample_results(trials)
    out: list[tuple[str, go.Figure | dict[str, Any]]] = [
        ("learning-curves", webgl(learning_curves(store, [study], trials))),
        ("parallel", _noted(plots.parallel_figure(sample, studies=[name]), dropped, MAX_POINTS)),
        ("slices", webgl(_noted(plots.slice_figure(sample, studies=[name]), dropped, MAX_POINTS))),
    ]
    if strategy == "pbt":
        schedule = analysis.pbt_schedule(name, store)
        best = plots.best_trial_numbers(trials).get(name)
        out.append(("pbt-schedule", plots.pbt_schedule_figure(schedule, study=name)))
        out.append(("pbt-lineage", plots.pbt_lineage_figure(schedule, study=name, best_trial=best)))
    return StudyFigures(out)


def compare_figures(store: Store, names: Sequence[str]) -> list[tuple[str, go.Figure | dict[str, Any]]]:
    """The comparison figures of :mod:`hpsearch.plots` for the studies ``names``."""
    studies = analysis.resolve_studies(store, list(dict.fromkeys(names)))
    order = [st.name for st in studies]
    trials = analysis.trials_frame(store, order)
    sample, dropped = sample_results(trials)
    return [
        ("best-so-far", webgl(plots.best_so_far_figure(analysis.best_so_far(trials), studies=order))),
        ("distribution", _noted(plots.distribution_figure(sample, studies=order), dropped, MAX_POINTS)),
        ("parallel", _noted(plots.parallel_figure(sample, studies=order), dropped, MAX_POINTS)),
        ("slices", webgl(_noted(plots.slice_figure(sample, studies=order), dropped, MAX_POINTS))),
        ("learning-curves", webgl(learning_curves(store, studies, trials))),
    ]
