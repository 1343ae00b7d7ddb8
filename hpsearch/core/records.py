"""Immutable records read from the store."""

from __future__ import annotations

import enum
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpsearch.core.objectives import Objective

__all__ = [
    "Decision",
    "EpochRecord",
    "Evaluation",
    "Proposal",
    "StudyRecord",
    "StudyState",
    "TrialRecord",
    "TrialState",
    "accuracy_of",
    "is_metric_value",
    "scores_text",
]


class TrialState(str, enum.Enum):
    """The life of a trial: WAITING -> RUNNING -> COMPLETE | PRUNED | FAIL.

    A RUNNING trial whose worker died goes back to WAITING (with its attempt
    number raised) and is redone; a FAIL counts towards the budget.
    """

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAIL = "FAIL"

    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


class StudyState(str, enum.Enum):
    """RUNNING while budget is left, COMPLETE once every trial of the budget finished,
    STOPPED when a run gave up (too many failures in a row)."""

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    STOPPED = "STOPPED"


@dataclass(frozen=True)
class StudyRecord:
    id: int
    name: str
    strategy: str
    config: dict[str, Any]
    metric: str
    direction: str
    seed: int
    n_trials: int
    epochs: int
    state: StudyState
    created_at: float
    updated_at: float
    stop_reason: str | None = None
    uid: str = ""

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """Every objective of the study (its stored config lists them when there are several; else its metric)."""
        stored = self.config.get("objectives") if isinstance(self.config, Mapping) else None
        if stored:
            return tuple(Objective(str(m), str(d)) for m, d in stored)
        return (Objective(self.metric, self.direction),)

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives (its result is a Pareto set)."""
        return len(self.objectives) > 1


@dataclass(frozen=True)
class TrialRecord:
    """One trial as stored. ``curve`` holds the study metric per epoch of the current attempt."""

    id: int
    study_id: int
    number: int
    state: TrialState
    params: dict[str, Any]
    seed: int
    attempt: int
    value: float | None = None
    #: every objective's value at the trial's last epoch, in the study's order (one objective: ``(value,)``; None without a value)
    values: tuple[float, ...] | None = None
    epochs_done: int = 0
    worker_id: str | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    error: str | None = None
    curve: tuple[float, ...] = ()
    #: epochs this trial trains (a PBT segment may be shorter than the others)
    epochs: int = 0
    member: int | None = None
    generation: int | None = None
    start_epoch: int = 0
    parent_trial: int | None = None
    checkpoint: str | None = None

    def __post_init__(self) -> None:
        if self.values is None and self.value is not None:
            object.__setattr__(self, "values", (self.value,))

    @property
    def end_epoch(self) -> int:
        """The member's total epochs once this trial is done (``start_epoch + epochs``)."""
        return self.start_epoch + self.epochs

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True)
class Decision:
    """A decision stored with the trial it made: PBT's when a member starts a segment (exploit: copy, or continue,
    and the new params), evolution's when a child is bred (``parent_trial`` its first parent, ``second_parent``
    its second: the same for a mutation)."""

    trial_number: int
    member: int
    generation: int
    at_epoch: int
    kind: str
    parent_trial: int | None
    parent_member: int | None
    old_params: dict[str, Any]
    new_params: dict[str, Any]
    optimizer_reset: bool = False
    reason: str | None = None
    val_before_resize: float | None = None
    val_after_resize: float | None = None
    second_parent: int | None = None


@dataclass(frozen=True)
class Proposal:
    """A new trial for the store to insert, in plain values: what a claim made of a strategy's suggestion
    (:mod:`hpsearch.running.claims`). The store inserts it as it is, with its decision, and never asks why."""

    number: int
    params: dict[str, Any]
    seed: int
    epochs: int
    member: int | None = None
    generation: int | None = None
    start_epoch: int = 0
    parent_trial: int | None = None
    decision: Decision | None = None


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of one trial: every metric it reported (by name; None where a value was not a number)."""

    trial_id: int
    trial_number: int
    attempt: int
    epoch: int
    metrics: Mapping[str, float | None]
    seconds: float
    recorded_at: float

    def metric(self, name: str) -> float | None:
        """The value of metric ``name`` at this epoch (None if it was not reported or not a number)."""
        return self.metrics.get(name)

    #: The built-in model's metrics, by their Keras names (the epochs table had a column of each before schema 3).
    loss = property(lambda self: self.metric("loss"))
    accuracy = property(lambda self: self.metric("accuracy"))
    val_loss = property(lambda self: self.metric("val_loss"))
    val_accuracy = property(lambda self: self.metric("val_accuracy"))


def is_metric_value(value: object) -> bool:
    """Whether ``value`` may be a metric's value: a real number (an int or a float, NumPy's too), not a bool
    (NaN and infinities are numbers: the trial they end then fails)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def accuracy_of(metrics: Mapping[str, float | None]) -> float | None:
    """The accuracy among ``metrics``: ``accuracy``, else the first ``*_accuracy`` (a model of one's own
    compiled with ``sparse_categorical_accuracy``, say); None if there is none."""
    if "accuracy" in metrics:
        return metrics["accuracy"]
    return next((v for k, v in metrics.items() if k.endswith("_accuracy")), None)


def scores_text(metrics: Mapping[str, float | None]) -> str:
    """Test scores as a person reads them: ``accuracy 0.9260 (loss 0.2614)`` for the built-in pair,
    else every metric, ``auc 0.9100, loss 0.2000``."""
    accuracy, loss = accuracy_of(metrics), metrics.get("loss")
    if accuracy is not None and loss is not None:
        return f"accuracy {accuracy:.4f} (loss {loss:.4f})"
    return ", ".join(f"{name} {value:.4f}" if value is not None else f"{name} none" for name, value in metrics.items())


@dataclass(frozen=True)
class Evaluation:
    """The test-set evaluation of a study's best trial: every metric the trainer measured, by name."""

    study_id: int
    trial_number: int
    split: str
    metrics: Mapping[str, float]
    created_at: float
    note: str | None = None

    @property
    def loss(self) -> float | None:
        return self.metrics.get("loss")

    @property
    def accuracy(self) -> float | None:
        """The test accuracy (:func:`accuracy_of`); None for a model of one's own scored on another metric."""
        return accuracy_of(self.metrics)
