"""Trials of a study's own model trained together: each member its own Keras model, all of them stepped by one
compiled TensorFlow function (the members as branches of one graph).

A claim's trials are built as the per-trial trainer builds them (``build(params)`` after the trial's seed: its own
architecture, optimiser, learning rate, loss and metrics); then every batch goes through each member's own
``train_step`` (Keras's: forward, loss, gradients, its optimiser's update, its metrics) inside one ``tf.function``
that runs a whole epoch, and the validation split through each member's ``test_step`` the same way. TensorFlow
runs the members' independent operations side by side and pays its per-step dispatch once per batch for all of
them, not once per member: ``benchmarks/own_model.py`` measures it against one ``fit`` per trial.

The members of one pass share the batches: the training split is shuffled once per epoch, from the study's seed and
the epoch (:func:`~hpsearch.train.trainer.epoch_order`; a ``tf.data.Dataset`` split is read as it comes), so a member
trains the same alone as among others.
Members need not share a shape; they share the batch size (:meth:`BranchTrainer.fits`). A member pruned, failed or
at its last epoch leaves the pass, and the others go on (their step is traced again, without it).

TensorFlow only: on Keras's JAX backend the study's own model trains per trial (``jax.vmap`` over Keras's stateless
calls measured slower than ``fit`` on these CPUs; see docs/benchmarks.md, "Speed and memory").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from hpsearch.core.records import TrialState
from hpsearch.train.keras.memory import trial_memory_scope
from hpsearch.train.keras.train import EVAL_BATCH_SIZE, KerasTrainer, is_number, save_checkpoint
from hpsearch.train.keras.user import error_text
from hpsearch.train.trainer import EpochCallback, EpochResult, TrainJob, TrainOutcome, epoch_order, first_non_finite, report_epochs

__all__ = ["BranchTrainer", "branches_available"]


def branches_available() -> bool:
    """Whether Keras runs on TensorFlow, the backend whose graphs this trainer steps the members in."""
    return keras.backend.backend() == "tensorflow"


@dataclass
class _Member:
    """One trial of the pass: its job, its model (None once it left) and what it has to report."""

    job: TrainJob
    model: Any = None
    epochs: list[EpochResult] = field(default_factory=list)
    info: dict[str, float] = field(default_factory=dict)
    outcome: TrainOutcome | None = None

    def end(self, state: TrialState, error: str | None = None) -> None:
        self.outcome = TrainOutcome(state, self.epochs, error, info=self.info)
        self.model = None


class BranchTrainer(KerasTrainer):
    """The per-trial Keras trainer of a study's own model, but a claim's trials train together (see the module).

    Builds, PBT continuations, checkpoints and test evaluation are the per-trial trainer's; only the training
    differs. ``study_seed`` orders the batches of every epoch.
    """

    def __init__(self, *args: Any, study_seed: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.study_seed = study_seed
        #: The runner claims up to this many trials at once and hands them over together.
        self.max_jobs = max(1, self.training.population) if branches_available() else 1
        #: How many passes traced their step (each live set of members traces once): for tests and benchmarks.
        self.traces = 0

    def fits(self, params: Sequence[dict[str, Any]]) -> bool:
        """Whether trials of these ``params`` train together: at most ``population`` of them, of one batch size."""
        return len(params) <= self.max_jobs and len({self.batch_size(p) for p in params}) <= 1

    def train(self, jobs: Sequence[TrainJob], on_epoch: EpochCallback) -> list[TrainOutcome]:
        if not branches_available():
            return super().train(jobs, on_epoch)
        groups: dict[int, list[int]] = {}
        for i, job in enumerate(jobs):
            groups.setdefault(self.batch_size(job.params), []).append(i)
        outcomes: list[TrainOutcome | None] = [None] * len(jobs)
        for batch_size, indices in groups.items():
            with trial_memory_scope():
                for i, outcome in zip(indices, self._train_together([jobs[i] for i in indices], batch_size, on_epoch)):
                    outcomes[i] = outcome
        assert all(o is not None for o in outcomes), "every job has an outcome"
        return [o for o in outcomes if o is not None]

    def _train_together(self, jobs: list[TrainJob], batch_size: int, on_epoch: EpochCallback) -> list[TrainOutcome]:
        members = [_Member(job) for job in jobs]
        data = self.user_data
        for m in members:
            try:
                m.model = self._from_parent(m.job, m.info) if m.job.parent_checkpoint is not None else self._build(m.job)
                _build_state(m.model, data.train)
            except Exception as err:
                m.end(TrialState.FAIL, error_text(err))
        try:
            train_split = _Split(data.train, batch_size, self.study_seed)
            val_split = _Split(data.validation, EVAL_BATCH_SIZE, None)
        except Exception as err:  # the splits cannot be read as tensors: the pass's trials fail, not the run
            for m in members:
                if m.outcome is None:
                    m.end(TrialState.FAIL, error_text(err))
            return [m.outcome for m in members if m.outcome is not None]
        steps: dict[tuple[int, ...], tuple[Callable[[Any], None], Callable[[Any], None]]] = {}
        epoch = 0
        while True:
            epoch += 1
            live = [m for m in members if m.outcome is None and epoch <= m.job.epochs]
            for m in members:
                if m.outcome is None and epoch > m.job.epochs:
                    m.end(TrialState.COMPLETE)
            if not live:
                break
            key = tuple(id(m) for m in live)
            if key not in steps:
                steps = {key: self._traced([m.model for m in live])}  # the passes of members that left are dropped
            train_step, test_step = steps[key]
            start = time.perf_counter()
            try:
                for m in live:
                    m.model.reset_metrics()
                train_step(train_split.epoch(epoch))
                scores = [_metrics(m.model) for m in live]
                for m in live:
                    m.model.reset_metrics()
                test_step(val_split.epoch(epoch))
                for m, s in zip(live, scores):
                    s.update({f"val_{name}": value for name, value in _metrics(m.model).items()})
            except Exception as err:  # a member's graph failed: the pass cannot tell whose, so each of them fails with it
                together = f" (trained together with trials {', '.join(str(m.job.trial_number) for m in live)})" if len(live) > 1 else ""
                for m in live:
                    m.end(TrialState.FAIL, error_text(err) + together)
                continue
            seconds = (time.perf_counter() - start) / len(live)
            results = [EpochResult(epoch, s, seconds) for s in scores]
            for m, r in zip(live, results):
                m.epochs.append(r)
            going_on = report_epochs(on_epoch, [(m.job, r) for m, r in zip(live, results)])
            for m, r, keep in zip(live, results, going_on):
                bad = first_non_finite(r.metrics)
                if bad is not None:
                    m.end(TrialState.FAIL, f"{bad} became {r.metrics[bad]} at epoch {epoch}")
                elif not keep:
                    m.end(TrialState.PRUNED)
                elif epoch == m.job.epochs:
                    self._finish(m)
        return [m.outcome for m in members if m.outcome is not None]

    def _finish(self, m: _Member) -> None:
        try:
            if m.job.weights_path is not None:
                save_checkpoint(m.model, m.job.weights_path)
        except Exception as err:
            m.end(TrialState.FAIL, error_text(err))
            return
        m.end(TrialState.COMPLETE)

    def _traced(self, models: list[Any]) -> tuple[Callable[[Any], None], Callable[[Any], None]]:
        """One epoch of training and one of validation for ``models`` together, each a ``tf.function`` over a dataset."""
        import tensorflow as tf

        self.traces += 1

        @tf.function
        def train_epoch(dataset: Any) -> None:
            for batch in dataset:
                for model in models:
                    model.train_step(batch)

        @tf.function
        def test_epoch(dataset: Any) -> None:
            for batch in dataset:
                for model in models:
                    model.test_step(batch)

        return train_epoch, test_epoch


class _Split:
    """A split as the members' passes read it: arrays batched (and, with a seed, shuffled anew each epoch from the
    seed and the epoch), or a ``tf.data.Dataset`` of batches as it is."""

    def __init__(self, split: Any, batch_size: int, seed: int | None) -> None:
        import tensorflow as tf

        self.batch_size, self.seed = batch_size, seed
        self.dataset = None if isinstance(split, tuple) else split
        with tf.device("/cpu:0"):  # the split stays in host memory, as fit streams it; each batch goes to the device
            self.arrays = tuple(tf.convert_to_tensor(np.asarray(a)) for a in split) if isinstance(split, tuple) else ()

    def epoch(self, epoch: int) -> Any:
        import tensorflow as tf

        if self.dataset is not None:
            return self.dataset
        x, y = self.arrays
        with tf.device("/cpu:0"):
            if self.seed is not None:
                order = epoch_order(self.seed, epoch, int(x.shape[0]))  # the built-in population trainer's order
                x, y = tf.gather(x, order), tf.gather(y, order)
            return tf.data.Dataset.from_tensor_slices((x, y)).batch(self.batch_size)


def _build_state(model: Any, train: Any) -> None:
    """Create what a model's first training step would (its optimiser's slots, its compiled loss and metrics) eagerly,
    from a couple of samples and without changing a weight: variables cannot be created inside the traced pass."""
    if isinstance(train, tuple):
        x, y = (np.asarray(a[:2]) for a in train)
    else:
        x, y = next(iter(train.take(1)))[:2]
    predicted = model(x, training=False)
    model.compute_loss(x=x, y=y, y_pred=predicted, training=False)
    model.compute_metrics(x, y, predicted, sample_weight=None)
    model.reset_metrics()
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _metrics(model: Any) -> dict[str, float]:
    """A model's metrics as ``fit`` logs them (``loss``, ``accuracy`` ...), numbers only."""
    return {str(name): float(value) for name, value in model.get_metrics_result().items() if is_number(value)}
