"""The Python API: the same operations as the command line, returning records and DataFrames."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from hpsearch.core.config import StudyConfig, load_study
from hpsearch.read import frames
from hpsearch.read.status import StudyStatus, study_statuses
from hpsearch.running.loop import run_study
from hpsearch.running.progress import Progress
from hpsearch.running.ray_workers import RayOptions
from hpsearch.running.session import RunOptions, StudySummary, summarize
from hpsearch.store import Store, TrialRecord, queries, reading
from hpsearch.train.trainer import Trainer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["StudyStatus", "best", "run", "status", "stored_config", "study_summary", "trial_seconds", "trials", "trials_frame"]


def run(
    study: StudyConfig | str | os.PathLike[str],
    store: Store | str | os.PathLike[str] | None = None,
    *,
    trainer: Trainer | None = None,
    options: RunOptions | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    ray: str | RayOptions | None = None,
) -> StudySummary:
    """Run or resume a study (a :class:`StudyConfig` or the path of a study file): in this process, or with ``workers``
    worker processes on this machine, or as ``workers`` tasks on a Ray cluster (``ray``: its address, ``"local"``, or a
    :class:`RayOptions` with each worker's CPUs and GPUs; see :mod:`hpsearch.running.ray_workers`)."""
    config = study if isinstance(study, StudyConfig) else load_study(Path(study))
    if workers > 1 or ray is not None:
        if trainer is not None or isinstance(store, Store):
            raise ValueError("workers run in processes of their own: give a store path or URL, and no trainer object")
        from hpsearch.running.ray_workers import RayOptions, ray_launcher
        from hpsearch.running.workers import run_workers
        from hpsearch.store import store_url

        url = store_url(None if store is None else os.fspath(store))
        launcher = None if ray is None else ray_launcher(ray if isinstance(ray, RayOptions) else RayOptions(ray), url)
        return run_workers(config, url, workers, options=options, progress=progress, launcher=launcher)
    return run_study(
        config,
        store if isinstance(store, Store) else (None if store is None else os.fspath(store)),
        trainer=trainer,
        options=options,
        progress=progress,
    )


def stored_config(name: str, store: Store | str | os.PathLike[str] | None = None) -> StudyConfig:
    """The config of study ``name`` as the store holds it (what a worker joining the study runs)."""
    from hpsearch.core.config import config_from_stored

    with reading(store) as opened:
        record = opened.study(name)
    return config_from_stored(name, record.config)


def study_summary(name: str, store: Store | str | os.PathLike[str] | None = None) -> StudySummary:
    """Everything about one study: its record, trials, best trial and test evaluation."""
    with reading(store) as opened:
        return summarize(opened, name)


def trial_seconds(name: str, store: Store | str | os.PathLike[str] | None = None) -> dict[int, float]:
    """Each trial's training time: the seconds of its current attempt's epochs, summed (a population's epoch is shared
    among its members in proportion to their parameters), by trial number; set-up and compilation are not in it."""
    with reading(store) as opened:
        return {int(number): float(seconds) for number, seconds in opened.fetch(queries.train_seconds(opened.study(name).id))}


def status(store: Store | str | os.PathLike[str] | None = None) -> list[StudyStatus]:
    """Every study in the store, with its progress, best value and test accuracy (the lines of ``hpsearch status``).

    The rows of the dashboard's overview too: :func:`hpsearch.read.status.study_statuses`, one aggregate query.
    """
    with reading(store) as opened:
        return study_statuses(opened)


def trials(name: str, store: Store | str | os.PathLike[str] | None = None) -> list[TrialRecord]:
    """The trials of study ``name`` in number order."""
    return study_summary(name, store).trials


def best(name: str, store: Store | str | os.PathLike[str] | None = None) -> TrialRecord | list[TrialRecord] | None:
    """The best COMPLETE trial of study ``name`` (None before any trial completes); for a study of several objectives,
    its Pareto set: a list of trials sorted along the first objective (empty before any trial completes)."""
    summary = study_summary(name, store)
    return summary.pareto if summary.study.multi_objective else summary.best


def trials_frame(name: str, store: Store | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The trials of study ``name`` as a DataFrame, one row per trial in number order (``hpsearch trials --format csv``).

    This is :func:`hpsearch.read.frames.trials_frame` for one study, with its columns (one per
    hyperparameter, the value, epochs, times, budget spent, PBT lineage, ...), taking the
    study first like the other functions here. ``frames.trials_frame(store, names)`` takes
    any number of studies and lists each study's trials in the order they finished.
    """
    frame = frames.trials_frame(store, [name])
    return frame.sort_values("number", kind="stable").reset_index(drop=True)
