"""The trainer interface: what the runner hands work to, without importing Keras.

A trainer takes a batch of jobs (one per trial) and reports per-trial,
per-epoch results through a callback, so that a later trainer can train many
trials at once. :class:`hpsearch.train.keras.KerasTrainer` trains the MNIST model;
:class:`FunctionTrainer` runs any Python function per epoch (toy objectives,
tests, and studies of functions that are not Keras models).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from hpsearch.core.builtin_model import METRICS as METRICS  # the built-in model's metrics, re-exported
from hpsearch.core.records import TrialState, is_metric_value
from hpsearch.core.space import Params

__all__ = [
    "EpochCallback",
    "EpochResult",
    "FunctionTrainer",
    "TrainJob",
    "TrainOutcome",
    "Trainer",
    "epoch_order",
    "first_non_finite",
    "report_epochs",
]


@dataclass(frozen=True)
class TrainJob:
    """One trial to train: its hyperparameters, epochs and seed, and where to keep its final weights.

    A job with a ``parent_checkpoint`` (a PBT segment) starts from those weights
    and optimizer state, saved by a model with ``parent_params``; the trainer then
    applies ``params`` (new learning rate and dropout in place, a new optimizer
    with fresh state, or a resized hidden layer).
    """

    trial_number: int
    params: Params
    epochs: int
    seed: int
    weights_path: Path | None = None
    parent_checkpoint: Path | None = None
    parent_params: Params | None = None


@dataclass(frozen=True)
class EpochResult:
    """The metrics of one epoch (``epoch`` counts from 1) and how long it took."""

    epoch: int
    metrics: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class TrainOutcome:
    state: TrialState
    epochs: list[EpochResult] = field(default_factory=list)
    error: str | None = None
    #: Extra measurements, e.g. ``val_before_resize`` / ``val_after_resize`` for a resized PBT member.
    info: dict[str, float] = field(default_factory=dict)


#: Called after every epoch of every job; returning False stops that job (it is then PRUNED).
#: The runner's callback also has ``many``: see :func:`report_epochs`.
EpochCallback = Callable[[TrainJob, EpochResult], bool]


def report_epochs(on_epoch: EpochCallback, reports: Sequence[tuple[TrainJob, EpochResult]]) -> list[bool]:
    """Hand the epochs of several jobs that ended together (a population's members) to ``on_epoch``:
    through its ``many`` when it has one (the runner's records them in one store transaction),
    else one call each. Returns, per job, whether it goes on."""
    many = getattr(on_epoch, "many", None)
    if many is not None:
        return list(many(reports))
    return [on_epoch(job, result) for job, result in reports]


@runtime_checkable
class Trainer(Protocol):
    """What the runner trains with. A trainer may also say, as ``max_jobs``, how many trials it
    wants at once (the runner claims up to that many in one transaction; 1 when it says nothing),
    and, as ``fits(params_list) -> bool``, which trials it can train together (the runner stops a
    claim before the first that does not fit). The runner's ``on_epoch`` also takes several epochs
    at once (:func:`report_epochs`)."""

    #: A trainer of the built-in model says so with ``trains_builtin_model = True``; any other (a function, a model of
    #: your own) trains the study's space exactly as declared (:func:`hpsearch.running.session.space_as_declared`).

    @property
    def has_test_set(self) -> bool:
        """Whether :meth:`evaluate` can measure test accuracy (the runner then evaluates the best trial)."""
        ...

    def train(self, jobs: Sequence[TrainJob], on_epoch: EpochCallback) -> list[TrainOutcome]:
        """Train every job, calling ``on_epoch`` after each epoch; one outcome per job, in order."""
        ...

    def evaluate(self, job: TrainJob) -> dict[str, float] | None:
        """Every test metric of a job's saved weights, by name (``{"loss": ..., "accuracy": ...}`` for the
        built-in model; a model of one's own, its own metrics), or None if this trainer has no test set."""
        ...


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order of the ``n`` training examples in epoch ``epoch`` (from 1) of a study seeded ``seed``: the same for every
    member of the trainers that train trials together, so that a member trains the same alone as among others."""
    return np.random.default_rng([int(seed), int(epoch), 0x5EED]).permutation(n).astype(np.int32)


def first_non_finite(metrics: dict[str, float]) -> str | None:
    """The name of the first metric that is NaN or infinite, if any."""
    for name, value in metrics.items():
        if value is not None and not math.isfinite(value):
            return name
    return None


class FunctionTrainer:
    """Trains nothing: calls ``fn(params, epoch, seed)`` for the metrics of each epoch.

    ``fn`` returns a dict with at least the study metric (``val_accuracy`` by
    default). An exception or a non-finite value fails the trial, as with Keras.
    """

    has_test_set = False

    def __init__(self, fn: Callable[[Params, int, int], dict[str, float]], *, delay: float = 0.0, max_jobs: int = 1) -> None:
        self.fn = fn
        self.delay = delay
        #: How many trials the runner hands over at once (they are still run one after the other).
        self.max_jobs = max_jobs

    def train(self, jobs: Sequence[TrainJob], on_epoch: EpochCallback) -> list[TrainOutcome]:
        return [self._train_one(job, on_epoch) for job in jobs]

    def _train_one(self, job: TrainJob, on_epoch: EpochCallback) -> TrainOutcome:
        results: list[EpochResult] = []
        for epoch in range(1, job.epochs + 1):
            start = time.perf_counter()
            try:
                metrics = dict(self.fn(job.params, epoch, job.seed))
            except Exception as err:
                return TrainOutcome(TrialState.FAIL, results, f"{type(err).__name__}: {err} (epoch {epoch})")
            wrong = next((name for name, value in metrics.items() if value is not None and not is_metric_value(value)), None)
            if wrong is not None:
                message = f"the function reported {wrong} = {metrics[wrong]!r} at epoch {epoch}, not a real number"
                return TrainOutcome(TrialState.FAIL, results, message)
            if self.delay:
                time.sleep(self.delay)
            result = EpochResult(epoch, metrics, time.perf_counter() - start)
            bad = first_non_finite(metrics)
            if bad is not None:
                on_epoch(job, result)
                return TrainOutcome(TrialState.FAIL, [*results, result], f"{bad} became {metrics[bad]} at epoch {epoch}")
            results.append(result)
            if not on_epoch(job, result):
                return TrainOutcome(TrialState.PRUNED, results)
        return TrainOutcome(TrialState.COMPLETE, results)

    def evaluate(self, job: TrainJob) -> dict[str, float] | None:
        return None
