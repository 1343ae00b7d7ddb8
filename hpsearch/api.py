"""The Python API: the same operations as the command line, returning records and DataFrames."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpsearch.config import StudyConfig, load_study
from hpsearch.progress import Progress
from hpsearch.runner import RunOptions, StudySummary, run_study, summarize
from hpsearch.store import Store, StudyState, TrialRecord, TrialState, reading
from hpsearch.trainer import Trainer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["StudyStatus", "best", "run", "status", "stored_config", "study_summary", "trials", "trials_frame"]


@dataclass(frozen=True)
class StudyStatus:
    """One line of ``hpsearch status``."""

    name: str
    strategy: str
    state: StudyState
    finished: int
    n_trials: int
    running: int
    failed: int
    best_value: float | None
    metric: str
    test_accuracy: float | None
    updated_at: float


def run(
    study: StudyConfig | str | os.PathLike[str],
    store: Store | str | os.PathLike[str] | None = None,
    *,
    trainer: Trainer | None = None,
    options: RunOptions | None = None,
    progress: Progress | None = None,
) -> StudySummary:
    """Run or resume a study (a :class:`StudyConfig` or the path of a study file)."""
    config = study if isinstance(study, StudyConfig) else load_study(Path(study))
    return run_study(
        config,
        store if isinstance(store, Store) else (None if store is None else os.fspath(store)),
        trainer=trainer,
        options=options,
        progress=progress,
    )


def stored_config(name: str, store: Store | str | os.PathLike[str] | None = None) -> StudyConfig:
    """The config of study ``name`` as the store holds it (what a worker joining the study runs)."""
    from hpsearch.config import config_from_stored

    with reading(store) as opened:
        record = opened.study(name)
    return config_from_stored(name, record.config)


def study_summary(name: str, store: Store | str | os.PathLike[str] | None = None) -> StudySummary:
    """Everything about one study: its record, trials, best trial and test evaluation."""
    with reading(store) as opened:
        return summarize(opened, name)


def status(store: Store | str | os.PathLike[str] | None = None) -> list[StudyStatus]:
    """Every study in the store, with its progress and best value."""
    with reading(store) as opened:
        out = []
        for study in opened.studies():
            summary = summarize(opened, study)
            out.append(
                StudyStatus(
                    name=study.name,
                    strategy=study.strategy,
                    state=study.state,
                    finished=summary.finished,
                    n_trials=study.n_trials,
                    running=summary.counts.get(TrialState.RUNNING.value, 0),
                    failed=summary.counts.get(TrialState.FAIL.value, 0),
                    best_value=None if summary.best is None else summary.best.value,
                    metric=study.metric,
                    test_accuracy=summary.test.accuracy
                    if summary.test is not None and summary.best is not None and summary.test.trial_number == summary.best.number
                    else None,
                    updated_at=study.updated_at,
                )
            )
        return out


def trials(name: str, store: Store | str | os.PathLike[str] | None = None) -> list[TrialRecord]:
    """The trials of study ``name`` in number order."""
    return study_summary(name, store).trials


def best(name: str, store: Store | str | os.PathLike[str] | None = None) -> TrialRecord | None:
    """The best COMPLETE trial of study ``name`` (None before any trial completes)."""
    return study_summary(name, store).best


def trials_frame(name: str, store: Store | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The trials of study ``name`` as a DataFrame: one row per trial, one column per hyperparameter."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for t in trials(name, store):
        rows.append(
            {
                "number": t.number,
                "state": t.state.value,
                **t.params,
                "value": t.value,
                "epochs": t.epochs_done,
                "attempt": t.attempt,
                "seconds": t.duration,
                "started_at": pd.to_datetime(t.started_at, unit="s", utc=True) if t.started_at else pd.NaT,
                "finished_at": pd.to_datetime(t.finished_at, unit="s", utc=True) if t.finished_at else pd.NaT,
                "error": t.error,
            }
        )
    return pd.DataFrame(rows)
