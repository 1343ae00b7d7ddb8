"""Training trials with Keras ``fit``: the built-in MNIST model, or a study's own model and data.

Speed: a plain ``fit`` pays Keras's per-batch dispatch cost on every step, which
dominates the run time of this small model. hpsearch compiles with
``steps_per_execution`` (100 by default) so that one call runs many steps, and
validates with a large batch; see ``benchmarks/epoch_time.py`` for the measured ratio.

Memory: after every trial, Keras state is cleared and the gradient functions
TensorFlow keeps for the trial's graphs are dropped (:mod:`hpsearch.train.keras.memory`);
see ``benchmarks/memory_drift.py`` for the measured drift.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keras
import numpy as np

from hpsearch.core.builtin_model import trainable_params
from hpsearch.core.checkpoints import partial_file
from hpsearch.core.config import DataConfig, TrainingConfig
from hpsearch.core.records import TrialState
from hpsearch.train.keras.data import Dataset, load_dataset
from hpsearch.train.keras.memory import trial_memory_scope
from hpsearch.train.keras.model import compile_model, hidden_weights, model_for, set_hidden_weights, sgd_options, uses_momentum
from hpsearch.train.keras.resize import resize_hidden
from hpsearch.train.keras.user import (
    DataLoader,
    ModelBuilder,
    UserData,
    build_checked,
    cached_user_data,
    callable_name,
    error_text,
)
from hpsearch.train.trainer import EpochCallback, EpochResult, TrainJob, TrainOutcome, first_non_finite

__all__ = ["EVAL_BATCH_SIZE", "KerasTrainer", "atomic_checkpoint", "is_number", "save_checkpoint"]

#: Batch size for validation and test passes: it only changes speed, not the result.
EVAL_BATCH_SIZE = 1024


class _EpochReporter(keras.callbacks.Callback):
    """Hands each epoch's metrics to the runner; stops on a non-finite loss or when told to prune.

    With ``size`` (the built-in model's trainable parameters), an epoch also reports its cost
    (:data:`hpsearch.core.builtin_model.COST_METRICS`): ``params``, and ``epoch_seconds``, the epoch's wall
    time (its ``seconds``). A model of one's own reports what its ``compile()`` says, nothing more."""

    def __init__(self, job: TrainJob, on_epoch: EpochCallback, size: int | None = None) -> None:
        super().__init__()
        self.job = job
        self.on_epoch = on_epoch
        self.size = size  # not ``params``: Keras sets a callback's ``params`` to fit's arguments
        self.results: list[EpochResult] = []
        self.stopped: str | None = None
        #: an exception raised by the runner's callback (a store error): it ends the run, not just the trial
        self.callback_error: BaseException | None = None
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        seconds = time.perf_counter() - self._start
        metrics = {name: float(value) for name, value in (logs or {}).items() if is_number(value)}
        if self.size is not None:
            metrics.update(params=float(self.size), epoch_seconds=seconds)
        result = EpochResult(epoch + 1, metrics, seconds)
        self.results.append(result)
        bad = first_non_finite(metrics)
        try:
            keep_going = self.on_epoch(self.job, result)
        except BaseException as err:
            self.callback_error = err
            raise
        if bad is not None:
            self.stopped = f"{bad} became {metrics[bad]} at epoch {epoch + 1}"
            self.model.stop_training = True
        elif not keep_going:
            self.stopped = "pruned"
            self.model.stop_training = True


class KerasTrainer:
    """Trains each job's model on the study's data; the data are loaded once, on first use.

    The model is the built-in MNIST model, or ``model(params)`` (a compiled Keras model); the data
    are the study's ``[data]`` dataset, or what ``loader()`` returns (:mod:`hpsearch.train.keras.user`).
    """

    def __init__(
        self,
        data: DataConfig | None = None,
        training: TrainingConfig | None = None,
        *,
        model: ModelBuilder | None = None,
        loader: DataLoader | None = None,
    ) -> None:
        self.data_config = data or DataConfig()
        self.training = training or TrainingConfig()
        self.model = model
        #: Whether this trainer trains the built-in model (no builder of the study's own).
        self.trains_builtin_model = model is None
        self.loader = loader
        self._model_name = self.model and callable_name(self.model)

    @property
    def dataset(self) -> Dataset:
        """The built-in dataset (for the built-in model's own use: PBT's resize measurements)."""
        return load_dataset(self.data_config)

    @property
    def user_data(self) -> UserData:
        """The splits every trial trains, validates and is tested on."""
        if self.loader is not None:
            return cached_user_data(self.loader, self.data_config.loader or callable_name(self.loader))
        d = self.dataset
        return UserData((d.x_train, d.y_train), (d.x_val, d.y_val), (d.x_test, d.y_test))

    @property
    def has_test_set(self) -> bool:
        return self.user_data.test is not None

    def train(self, jobs: Sequence[TrainJob], on_epoch: EpochCallback) -> list[TrainOutcome]:
        outcomes = []
        for job in jobs:
            with trial_memory_scope():
                outcomes.append(self._train_one(job, on_epoch))
        return outcomes

    def batch_size(self, params: Mapping[str, Any]) -> int:
        """A trial's batch size: its own ``batch_size`` where the space searches it, else ``[training] batch_size``."""
        return int(params.get("batch_size", self.training.batch_size))

    def _build(self, job: TrainJob) -> keras.Model:
        keras.utils.set_random_seed(job.seed)
        if self.model is not None:
            return build_checked(self.model, job.params, value=self._model_name or "")
        return model_for(job.params, steps_per_execution=self.training.steps_per_execution)

    def _from_parent_own_model(self, job: TrainJob) -> keras.Model:
        """The study's own model built for ``job.params``, holding the parent's weights and optimiser
        state (Keras's checkpoint); the learning rate the builder set for the new params is kept. An
        optimiser whose state does not fit (another kind) starts fresh; weights that do not fit
        (an architecture dimension changed: list it in ``[pbt] inherit``) fail the trial."""
        assert job.parent_checkpoint is not None
        model = self._build(job)
        learning_rate = _learning_rate(model)
        model.optimizer.build(model.trainable_variables)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.load_weights(job.parent_checkpoint)
        except Exception as err:
            raise ValueError(
                f"the parent's checkpoint does not fit the model built for {dict(job.params)} ({_first_line(err)}); "
                "name the dimensions that change the architecture in [pbt] inherit"
            ) from None
        for warning in caught:  # another optimiser's state is skipped (it starts fresh); anything else is shown
            if "Skipping variable loading for optimizer" not in str(warning.message):
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        if learning_rate is not None:
            model.optimizer.learning_rate = learning_rate
        return model

    def _from_parent(self, job: TrainJob, info: dict[str, float]) -> keras.Model:
        """A model holding the parent's weights and optimizer state, with ``job.params`` applied.

        Learning rate and dropout change in place (weights and optimizer state
        kept); another optimizer starts with fresh state; another width resizes the
        hidden layer (see :mod:`hpsearch.train.keras.resize`) with a fresh optimizer.
        """
        assert job.parent_checkpoint is not None and job.parent_params is not None
        if not job.parent_checkpoint.exists():
            raise FileNotFoundError(f"checkpoint {job.parent_checkpoint} of the parent trial is gone")
        if self.model is not None:
            return self._from_parent_own_model(job)
        keras.utils.set_random_seed(job.seed)
        spe = self.training.steps_per_execution
        parent, new = job.parent_params, job.params
        # dropout has no weights: build with the new rate and load the parent's weights into it
        model = model_for({**parent, "dropout": new["dropout"]}, steps_per_execution=spe)
        model.optimizer.build(model.trainable_variables)
        model.load_weights(job.parent_checkpoint)  # weights, and the optimizer's iterations and slots
        if new["width"] != parent["width"]:
            data = self.dataset
            info["val_before_resize"] = _val_accuracy(model, data)
            weights = resize_hidden(hidden_weights(model), int(new["width"]), np.random.default_rng(job.seed))
            model = model_for(new, steps_per_execution=spe)
            set_hidden_weights(model, weights)
            info["val_after_resize"] = _val_accuracy(model, data)
        elif new["optimizer"] != parent["optimizer"] or uses_momentum(parent) != uses_momentum(new):
            # another optimiser, or SGD gaining or losing momentum (its slots exist only with it): fresh state
            decay = new.get("weight_decay")
            compile_model(
                model,
                str(new["optimizer"]),
                float(new["learning_rate"]),
                weight_decay=None if decay is None else float(decay),
                steps_per_execution=spe,
                **sgd_options(new),
            )
        else:
            model.optimizer.learning_rate = float(new["learning_rate"])
            sgd = sgd_options(new)
            if sgd != sgd_options(parent):  # another momentum or Nesterov flag: read when fit traces its step
                model.optimizer.momentum, model.optimizer.nesterov = sgd["momentum"] or 0.0, bool(sgd["nesterov"])
            if new.get("weight_decay") is not None:
                model.optimizer.weight_decay = float(new["weight_decay"])  # read when fit traces its step
        return model

    def _train_one(self, job: TrainJob, on_epoch: EpochCallback) -> TrainOutcome:
        data = self.user_data
        reporter = _EpochReporter(job, on_epoch, trainable_params(job.params) if self.trains_builtin_model else None)
        model = None
        info: dict[str, float] = {}
        try:
            model = self._from_parent(job, info) if job.parent_checkpoint is not None else self._build(job)
            model.fit(
                **data.fit_arguments(self.batch_size(job.params)),
                epochs=job.epochs,
                validation_batch_size=EVAL_BATCH_SIZE,
                verbose=0,
                callbacks=[reporter],
            )
            if reporter.stopped == "pruned":
                return TrainOutcome(TrialState.PRUNED, reporter.results, info=info)
            if reporter.stopped is not None:
                return TrainOutcome(TrialState.FAIL, reporter.results, reporter.stopped, info=info)
            if job.weights_path is not None:
                save_checkpoint(model, job.weights_path)
            return TrainOutcome(TrialState.COMPLETE, reporter.results, info=info)
        except Exception as err:
            if err is reporter.callback_error:
                raise  # the store or the runner failed, not the trial
            return TrainOutcome(TrialState.FAIL, reporter.results, error_text(err), info=info)  # the line naming the cause
        finally:
            del model

    def evaluate(self, job: TrainJob) -> dict[str, float] | None:
        """Every test metric of the weights a job saved, by name, as Keras's ``evaluate`` names them (``loss``
        and ``accuracy`` for the built-in model; a model of its own, its own: ``auc`` for a study scored on
        ``val_auc``); None without a test split."""
        test = self.user_data.test
        if test is None or job.weights_path is None or not job.weights_path.exists():
            return None
        with trial_memory_scope():
            model = self._build(job)
            model.optimizer.build(model.trainable_variables)  # so that the saved optimizer state loads too
            model.load_weights(job.weights_path)
            scores = model.evaluate(**UserData.evaluate_arguments(test, EVAL_BATCH_SIZE), verbose=0, return_dict=True)
            del model
        return {str(name): float(value) for name, value in scores.items() if is_number(value)}


@contextmanager
def atomic_checkpoint(path: Path) -> Iterator[Path]:
    """The file to write the checkpoint ``path`` into (:func:`hpsearch.core.checkpoints.partial_file`), moved to
    ``path`` once written: a kill mid-write never leaves a truncated checkpoint under the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_file(path)
    yield partial
    os.replace(partial, path)


def save_checkpoint(model: keras.Model, path: Path) -> None:
    """Keras's own ``.weights.h5`` (weights and optimizer state), written atomically."""
    with atomic_checkpoint(path) as partial:
        model.save_weights(partial)


def _val_accuracy(model: keras.Model, data: Dataset) -> float:
    _loss, accuracy = model.evaluate(data.x_val, data.y_val, batch_size=EVAL_BATCH_SIZE, verbose=0)
    return float(accuracy)


def is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return np.ndim(value) == 0


def _learning_rate(model: keras.Model) -> float | None:
    try:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    except (TypeError, ValueError):  # a schedule: it is the builder's, and not a number to restore
        return None


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return (lines[0] if lines else type(err).__name__)[:200]
