"""The figures of the dashboard pages, drawn by :mod:`hpsearch.show.plots` from :mod:`hpsearch.read.frames` frames.

Every figure has a key (:data:`STUDY_FIGURES`, :data:`PBT_FIGURES`,
:data:`COMPARE_FIGURES`) and is drawn on its own, so a page shows each as soon as it
is ready. Large studies are thinned so that a page stays light in the browser (a
few hundred curves say as much as ten thousand): the learning curves keep the best
:data:`MAX_CURVES` trials, the running ones and the best trial's ancestry; the
parallel coordinates and slices a seeded sample of :data:`MAX_POINTS` results, best
included; the titles say so. Parallel coordinates are SVG lines unless WebGL
(``parcoords``, with brushing) is asked for, and :class:`FrameCache` lets the
figures of one page share one read of the store.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Sequence
from concurrent.futures import Future
from typing import Any, TypeAlias

import pandas as pd
import plotly.graph_objects as go

from hpsearch.core.config import has_lineage
from hpsearch.read import frames
from hpsearch.show import plots
from hpsearch.store import Store, StudyRecord, TrialState

__all__ = [
    "COMPARE_FIGURES",
    "FrameCache",
    "GL_POINTS",
    "MAX_CURVES",
    "MAX_POINTS",
    "PARALLEL_MODES",
    "EVOLUTION_FIGURES",
    "MULTI_OBJECTIVE_FIGURES",
    "PBT_FIGURES",
    "PRUNING_FIGURES",
    "STUDY_FIGURES",
    "compare_figures",
    "curve_epochs",
    "curve_trials",
    "figure_keys_of",
    "learning_curves",
    "parallel",
    "prunes",
    "sample_results",
    "study_figure_keys",
    "study_figures",
    "thin_best_so_far",
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
            numbers |= plots.ancestry(trials, str(study), best[str(study)])
        dropped += len(group) - len(numbers)
        chosen[str(study)] = numbers
    return chosen, dropped


def curve_epochs(store: Store, studies: Sequence[StudyRecord], chosen: dict[str, set[int]]) -> pd.DataFrame:
    """:func:`hpsearch.read.frames.epochs_frame` (the frame the analysis draws from, a study's own
    metric included) restricted to the trials ``chosen`` per study."""
    return frames.epochs_frame(store, [st.name for st in studies], trials=chosen)


def learning_curves(store: Store, studies: Sequence[StudyRecord], trials: pd.DataFrame, *, limit: int = MAX_CURVES) -> go.Figure:
    """:func:`plots.learning_curves_figure` of ``studies``, with at most ``limit`` curves per study."""
    chosen, dropped = curve_trials(trials, limit)
    epochs = curve_epochs(store, studies, chosen)
    fig = plots.learning_curves_figure(plots.learning_curves_data(trials, epochs), studies=[st.name for st in studies])
    if dropped and not plots.is_empty(fig):
        fig.update_layout(title={"text": f"Learning curves: the best {limit} trials per study ({dropped} others not drawn)"})
    return fig


def _sample_keeping(group: pd.DataFrame, needed: Any, limit: int, seed: int) -> pd.Index:
    """The rows of one study's ``group`` to draw: all of them up to ``limit``, else the ``needed``
    ones (a boolean mask) and a seeded sample of the others, ``limit`` rows in all (more only
    when more are needed)."""
    if len(group) <= limit:
        return group.index
    others = group[~needed]
    room = max(0, limit - int(needed.sum()))
    return group.index[needed].union(others.sample(n=min(room, len(others)), random_state=seed).index)


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
        picked = _sample_keeping(group, (group["number"] == best.get(str(study))).to_numpy(), limit, seed)
        keep |= trials.index.isin(picked)
        dropped += len(group) - len(picked)
    return trials[keep], dropped


def thin_best_so_far(curve: pd.DataFrame, limit: int = MAX_POINTS, *, seed: int = 0) -> tuple[pd.DataFrame, int]:
    """``curve`` (:func:`hpsearch.read.frames.best_so_far`) keeping at most about ``limit`` rows per
    study: every row that improved the best, each study's last row, and a seeded sample of the
    others. The best-so-far line is a step through the improvements, so it is drawn exactly
    the same; only the markers of the trials left out are missing. Also: how many were left out."""
    if curve.empty:
        return curve, 0
    keep = pd.Series(False, index=curve.index)
    dropped = 0
    for _, group in curve.groupby("study", sort=False):
        needed = group["improved"].astype(bool).to_numpy() | (group.index == group.index[-1])
        picked = _sample_keeping(group, needed, limit, seed)
        keep[picked] = True
        dropped += len(group) - len(picked)
    return curve[keep], dropped


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


#: The figures of a study page, in page order; a PBT study adds :data:`PBT_FIGURES`.
STUDY_FIGURES: tuple[str, ...] = ("learning-curves", "parallel", "slices")
PBT_FIGURES: tuple[str, ...] = ("pbt-schedule", "pbt-lineage")
#: An evolution study adds its lineage; a study with early stopping, where its trials stopped.
EVOLUTION_FIGURES: tuple[str, ...] = ("evolution-lineage",)
#: A study of several objectives adds its Pareto front and its hypervolume, first (they are its result).
MULTI_OBJECTIVE_FIGURES: tuple[str, ...] = ("pareto-front", "hypervolume")
PRUNING_FIGURES: tuple[str, ...] = ("rungs",)
#: The figures of the compare page, in page order.
COMPARE_FIGURES: tuple[str, ...] = ("best-so-far", "distribution", "parallel", "slices", "learning-curves")
#: How the parallel coordinates are drawn: SVG lines (fast; the default) or plotly's WebGL
#: ``parcoords`` (brushing: drag along an axis to keep the lines crossing it there).
PARALLEL_MODES: tuple[str, ...] = ("lines", "webgl")

#: A figure as the pages take it: a plotly figure, or its dict (:func:`webgl`).
Figure: TypeAlias = go.Figure | dict[str, Any]


def study_figure_keys(strategy: str, *, pruning: bool = False, multi_objective: bool = False) -> tuple[str, ...]:
    """The figures of the page of a study of ``strategy`` (with early stopping when ``pruning``, of several objectives
    when ``multi_objective``), in page order."""
    extra = PBT_FIGURES if strategy == "pbt" else EVOLUTION_FIGURES if has_lineage(strategy) else ()
    first = MULTI_OBJECTIVE_FIGURES if multi_objective else ()
    return first + STUDY_FIGURES + extra + (PRUNING_FIGURES if pruning else ())


def figure_keys_of(study: StudyRecord) -> tuple[str, ...]:
    """The figures of the page of ``study`` (:func:`study_figure_keys` of its strategy, pruning and objectives)."""
    return study_figure_keys(study.strategy, pruning=prunes(study), multi_objective=study.multi_objective)


def prunes(study: StudyRecord) -> bool:
    """Whether ``study`` stops poor trials early (its page shows where they stopped)."""
    return bool(study.config.get("pruning", {}).get("enabled"))


def parallel(trials: pd.DataFrame, names: Sequence[str], mode: str = "lines") -> go.Figure:
    """The parallel coordinates of a sample of ``trials`` (:func:`sample_results`), drawn as ``mode``."""
    return _parallel_of(*sample_results(trials), names, mode)


def _parallel_of(sample: pd.DataFrame, dropped: int, names: Sequence[str], mode: str) -> go.Figure:
    if mode not in PARALLEL_MODES:
        raise ValueError(f"parallel coordinates mode {mode!r}: must be one of {', '.join(PARALLEL_MODES)}")
    draw = plots.parallel_figure if mode == "webgl" else plots.parallel_lines_figure
    return _noted(draw(sample, studies=list(names)), dropped, MAX_POINTS)


def study_figures(
    store: Store,
    name: str,
    *,
    parallel_mode: str = "lines",
    only: Collection[str] | None = None,
    trials: pd.DataFrame | None = None,
) -> dict[str, Figure]:
    """The figures of a study page (:func:`study_figure_keys`), or of them those in ``only``, by key.

    ``trials`` is the study's :func:`hpsearch.read.frames.trials_frame` when the caller has it already."""
    study = store.study(name)
    keys = [k for k in figure_keys_of(study) if only is None or k in only]
    trials = frames.trials_frame(store, [name]) if trials is None else trials
    sampled = functools.cache(lambda: sample_results(trials))  # drawn once, for the figures that need it
    out: dict[str, Figure] = {}
    for key in keys:
        if key == "learning-curves":
            out[key] = webgl(learning_curves(store, [study], trials))
        elif key == "parallel":
            out[key] = _parallel_of(*sampled(), [name], parallel_mode)
        elif key == "slices":
            sample, dropped = sampled()
            out[key] = webgl(_noted(plots.slice_figure(sample, studies=[name]), dropped, MAX_POINTS))
    if any(k in keys for k in PBT_FIGURES):
        schedule = frames.pbt_schedule(name, store)
        best = plots.best_trial_numbers(trials).get(name)
        if "pbt-schedule" in keys:
            out["pbt-schedule"] = plots.pbt_schedule_figure(schedule, study=name)
        if "pbt-lineage" in keys:
            out["pbt-lineage"] = plots.pbt_lineage_figure(schedule, study=name, best_trial=best)
    if "evolution-lineage" in keys:
        best = plots.best_trial_numbers(trials).get(name)
        out["evolution-lineage"] = plots.evolution_lineage_figure(frames.evolution_lineage(name, store), study=name, best_trial=best)
    if "rungs" in keys:
        out["rungs"] = plots.rungs_figure(frames.pruning_rungs(name, store), study=name)
    if "pareto-front" in keys:
        out["pareto-front"] = webgl(plots.pareto_figure(frames.pareto_frame(store, [name]), studies=[name]))
    if "hypervolume" in keys:
        out["hypervolume"] = webgl(plots.hypervolume_figure(frames.hypervolume_history(store, [name], trials=trials), studies=[name]))
    return {key: out[key] for key in keys}


def compare_figures(
    store: Store,
    names: Sequence[str],
    *,
    parallel_mode: str = "lines",
    only: Collection[str] | None = None,
    trials: pd.DataFrame | None = None,
) -> dict[str, Figure]:
    """The comparison figures of :mod:`hpsearch.show.plots` for the studies ``names`` (or those in ``only``), by key.

    ``trials`` is the studies' :func:`hpsearch.read.frames.trials_frame` when the caller has it already."""
    keys = [k for k in COMPARE_FIGURES if only is None or k in only]
    studies = frames.resolve_studies(store, list(dict.fromkeys(names)))
    order = [st.name for st in studies]
    trials = frames.trials_frame(store, order) if trials is None else trials
    sampled = functools.cache(lambda: sample_results(trials))  # drawn once, for the figures that need it
    out: dict[str, Figure] = {}
    for key in keys:
        if key == "best-so-far":
            curve, left_out = thin_best_so_far(frames.best_so_far(trials))
            fig = plots.best_so_far_figure(curve, studies=order)
            if left_out and not plots.is_empty(fig):
                fig.update_layout(title={"text": f"{fig.layout.title.text} (every improvement drawn; {left_out} other trials not marked)"})
            out[key] = webgl(fig)
        elif key == "distribution":
            sample, dropped = sampled()
            out[key] = _noted(plots.distribution_figure(sample, studies=order), dropped, MAX_POINTS)
        elif key == "parallel":
            out[key] = _parallel_of(*sampled(), order, parallel_mode)
        elif key == "slices":
            sample, dropped = sampled()
            out[key] = webgl(_noted(plots.slice_figure(sample, studies=order), dropped, MAX_POINTS))
        elif key == "learning-curves":
            out[key] = webgl(learning_curves(store, studies, trials))
    return out


class FrameCache:
    """The trials frames of the last few studies asked for, keyed by what was read and the store's
    fingerprint at the time: the graphs of one page are drawn by separate requests at the same
    moment, and the frame they share is read from the store once (the others wait for it).

    A key holds the fingerprint, so a change in the store is a new key: nothing stale is served.
    """

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Future[pd.DataFrame]] = OrderedDict()

    def clear(self) -> None:
        """Forget every frame (the next page reads the store again)."""
        with self._lock:
            self._entries.clear()

    def get(self, key: Hashable, read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """The frame of ``key``: read by ``read()`` the first time, shared by every caller after it."""
        with self._lock:
            entry = self._entries.get(key)
            owner = entry is None
            if entry is None:
                entry = self._entries[key] = Future()
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(key)
        if owner:
            try:
                entry.set_result(read())
            except BaseException as err:  # the callers waiting get the error; the next one reads again
                entry.set_exception(err)
                with self._lock:
                    if self._entries.get(key) is entry:
                        del self._entries[key]
        return entry.result()
