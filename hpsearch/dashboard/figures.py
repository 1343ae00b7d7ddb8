"""The figures of the dashboard pages, drawn by :mod:`hpsearch.plots` from :mod:`hpsearch.analysis` frames.

Large studies are thinned for the learning curves only (a few hundred curves say
as much as ten thousand, and draw in a fraction of the time): the best trials,
the running ones and the best trial's ancestry are kept, and the title says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from hpsearch import analysis, plots
from hpsearch.store import Store, TrialState

__all__ = ["MAX_CURVES", "StudyFigures", "compare_figures", "learning_curves", "study_figures"]

#: At most this many trials per study get a learning curve on a page.
MAX_CURVES = 200


def _thin_epochs(trials: pd.DataFrame, epochs: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, int]:
    """The epochs of at most ``limit`` trials per study (best results first, then running trials);
    returns them and how many trials were left out."""
    if epochs.empty:
        return epochs, 0
    keep: list[pd.DataFrame] = []
    dropped = 0
    best = plots.best_trial_numbers(trials)
    for study, group in trials.groupby("study", sort=False):
        if len(group) <= limit:
            keep.append(group[["study", "number"]])
            continue
        maximize = group["direction"].iloc[0] == "maximize"
        running = group[group["state"] == TrialState.RUNNING.value]
        ranked = group[group["value"].notna()].sort_values("value", ascending=not maximize)
        chosen = pd.concat([running, ranked]).drop_duplicates("number").head(limit)
        numbers = set(chosen["number"].astype(int))
        if str(study) in best:  # the best trial and (PBT) the segments it came from
            numbers |= plots._ancestry(trials, str(study), best[str(study)])
        dropped += len(group) - len(numbers)
        keep.append(pd.DataFrame({"study": study, "number": sorted(numbers)}))
    wanted = pd.concat(keep, ignore_index=True)
    return epochs.merge(wanted, on=["study", "number"], how="inner"), dropped


def learning_curves(trials: pd.DataFrame, epochs: pd.DataFrame, studies: Sequence[str], *, limit: int = MAX_CURVES) -> go.Figure:
    """:func:`plots.learning_curves_figure`, with at most ``limit`` curves per study."""
    thinned, dropped = _thin_epochs(trials, epochs, limit)
    fig = plots.learning_curves_figure(plots.learning_curves_data(trials, thinned), studies=list(studies))
    if dropped and not plots.is_empty(fig):
        fig.update_layout(title={"text": f"Learning curves: the best {limit} trials per study ({dropped} others not drawn)"})
    return fig


@dataclass(frozen=True)
class StudyFigures:
    """The figures of one study page, in page order (title, figure)."""

    figures: list[tuple[str, go.Figure]]


def study_figures(store: Store, name: str, strategy: str) -> StudyFigures:
    """Learning curves, parallel coordinates, slices, and for PBT the schedules and lineage tree."""
    trials = analysis.trials_frame(store, [name])
    epochs = analysis.epochs_frame(store, [name])
    out = [
        ("learning-curves", learning_curves(trials, epochs, [name])),
        ("parallel", plots.parallel_figure(trials, studies=[name])),
        ("slices", plots.slice_figure(trials, studies=[name])),
    ]
    if strategy == "pbt":
        schedule = analysis.pbt_schedule(name, store)
        best = plots.best_trial_numbers(trials).get(name)
        out.append(("pbt-schedule", plots.pbt_schedule_figure(schedule, study=name)))
        out.append(("pbt-lineage", plots.pbt_lineage_figure(schedule, study=name, best_trial=best)))
    return StudyFigures(out)


def compare_figures(store: Store, names: Sequence[str]) -> list[tuple[str, go.Figure]]:
    """The comparison figures of :mod:`hpsearch.plots` for the studies ``names``."""
    order = list(dict.fromkeys(names))
    trials = analysis.trials_frame(store, order)
    epochs = analysis.epochs_frame(store, order)
    return [
        ("best-so-far", plots.best_so_far_figure(analysis.best_so_far(trials), studies=order)),
        ("distribution", plots.distribution_figure(trials, studies=order)),
        ("parallel", plots.parallel_figure(trials, studies=order)),
        ("slices", plots.slice_figure(trials, studies=order)),
        ("learning-curves", learning_curves(trials, epochs, order)),
    ]
