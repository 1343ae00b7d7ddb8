"""hpsearch: hyperparameter search for Keras models, logged to a SQL store.

Importing hpsearch imports neither Keras nor plotly: :class:`KerasTrainer` and
:func:`build_model` and :func:`export_model` load Keras on first use, :func:`write_report` loads plotly.
"""

from __future__ import annotations

from typing import Any

from hpsearch import _moved
from hpsearch.api import StudyStatus, best, run, status, study_summary, trials, trials_frame
from hpsearch.core.config import Budget, DataConfig, PruningConfig, StudyConfig, TrainingConfig, load_study, parse_study
from hpsearch.core.errors import (
    ConfigError,
    DataUnavailableError,
    HpsearchError,
    NoResultError,
    StoreError,
    StudyMismatchError,
    TooManyFailuresError,
)
from hpsearch.core.space import HYPERPARAMETERS, OPTIMIZERS, SearchSpace, parse_space
from hpsearch.running.ask_tell import AskedTrial, AskTellStudy, open_study
from hpsearch.running.loop import run_study
from hpsearch.running.ray_workers import RayOptions
from hpsearch.running.session import RunOptions, StudySummary
from hpsearch.search.strategies import GridStrategy, RandomStrategy, Strategy, TPEStrategy, make_strategy
from hpsearch.show.export import export_trials
from hpsearch.store import Store, StudyRecord, StudyState, TrialRecord, TrialState
from hpsearch.train.trainer import EpochResult, FunctionTrainer, Trainer, TrainJob, TrainOutcome

__version__ = "0.1.0"

_moved.install()  # the module paths before the house plan, as aliases (hpsearch/_moved.py)

__all__ = [
    "HYPERPARAMETERS",
    "OPTIMIZERS",
    "AskTellStudy",
    "AskedTrial",
    "Budget",
    "ConfigError",
    "DataConfig",
    "DataUnavailableError",
    "EpochResult",
    "FunctionTrainer",
    "GridStrategy",
    "HpsearchError",
    "KerasTrainer",
    "NoResultError",
    "PruningConfig",
    "RandomStrategy",
    "RayOptions",
    "RunOptions",
    "SearchSpace",
    "Store",
    "StoreError",
    "Strategy",
    "StudyConfig",
    "StudyMismatchError",
    "StudyRecord",
    "StudyState",
    "StudyStatus",
    "StudySummary",
    "TPEStrategy",
    "TooManyFailuresError",
    "TrainJob",
    "TrainOutcome",
    "Trainer",
    "TrainingConfig",
    "TrialRecord",
    "TrialState",
    "best",
    "build_model",
    "export_model",
    "export_trials",
    "load_study",
    "make_strategy",
    "open_study",
    "parse_space",
    "parse_study",
    "run",
    "run_study",
    "status",
    "study_summary",
    "trials",
    "trials_frame",
    "write_report",
]

#: Names loaded on first use, and the module each comes from (Keras or plotly are imported then).
_LAZY_EXPORTS = {
    "KerasTrainer": "hpsearch.train.keras",
    "build_model": "hpsearch.train.keras",
    "export_model": "hpsearch.show.model_file",
    "write_report": "hpsearch.show.report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_EXPORTS:
        import importlib

        return getattr(importlib.import_module(_LAZY_EXPORTS[name]), name)
    raise AttributeError(f"module 'hpsearch' has no attribute {name!r}")
