"""Training trials of the MNIST model with Keras ``fit``.

Speed: a plain ``fit`` pays Keras's per-batch dispatch cost on every step, which
dominates the run time of this small model. hpsearch compiles with
``steps_per_execution`` (100 by default) so that one call runs many steps, and
validates with a large batch; see ``benchmarks/epoch_time.py`` for the measured ratio.

Memory: Keras state is cleared after every trial (``clear_session`` and a
garbage collection); see ``benchmarks/memory_drift.py``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from typing import Any

import keras

from hpsearch.config import DataConfig, TrainingConfig
from hpsearch.objective.data import Dataset, load_dataset
from hpsearch.objective.model import build_model
from hpsearch.store.store import TrialLostError
from hpsearch.store.records import TrialState
from hpsearch.trainer import METRICS, EpochCallback, EpochResult, TrainJob, TrainOutcome, first_non_finite

__all__ = ["KerasTrainer"]

#: Batch size for validation and test passes: it only changes speed, not the result.
EVAL_BATCH_SIZE = 1024


class _EpochReporter(keras.callbacks.Callback):
    """Hands each epoch's metrics to the runner; stops on a non-finite loss or when told to prune."""

    def __init__(self, job: TrainJob, on_epoch: EpochCallback) -> None:
        super().__init__()
        self.job = job
        self.on_epoch = on_epoch
        self.results: list[EpochResult] = []
        self.stopped: str | None = None
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        metrics = {name: float(logs[name]) for name in METRICS if name in logs}
        result = EpochResult(epoch + 1, metrics, time.perf_counter() - self._start)
        self.results.append(result)
        bad = first_non_finite(metrics)
        keep_going = self.on_epoch(self.job, result)
        if bad is not None:
            self.stopped = f"{bad} became {metrics[bad]} at epoch {epoch + 1}"
            self.model.stop_training = True
        elif not keep_going:
            self.stopped = "pruned"
            self.model.stop_training = True


class KerasTrainer:
    """Trains each job's model on the study's data; the data are loaded once, on first use."""

    has_test_set = True

    def __init__(self, data: DataConfig | None = None, training: TrainingConfig | None = None) -> None:
        self.data_config = data or DataConfig()
        self.training = training or TrainingConfig()

    @property
    def dataset(self) -> Dataset:
        return load_dataset(self.data_config)

    def train(self, jobs: Sequence[TrainJob], on_epoch: EpochCallback) -> list[TrainOutcome]:
        return [self._train_one(job, on_epoch) for job in jobs]

    def _build(self, job: TrainJob) -> keras.Model:
        keras.utils.set_random_seed(job.seed)
        return build_model(**job.params, steps_per_execution=self.training.steps_per_execution)

    def _train_one(self, job: TrainJob, on_epoch: EpochCallback) -> TrainOutcome:
        data = self.dataset
        reporter = _EpochReporter(job, on_epoch)
        model = None
        try:
            model = self._build(job)
            model.fit(
                data.x_train,
                data.y_train,
                batch_size=self.training.batch_size,
                epochs=job.epochs,
                validation_data=(data.x_val, data.y_val),
                validation_batch_size=EVAL_BATCH_SIZE,
                shuffle=True,
                verbose=0,
                callbacks=[reporter],
            )
            if reporter.stopped == "pruned":
                return TrainOutcome(TrialState.PRUNED, reporter.results)
            if reporter.stopped is not None:
                return TrainOutcome(TrialState.FAIL, reporter.results, reporter.stopped)
            if job.weights_path is not None:
                job.weights_path.parent.mkdir(parents=True, exist_ok=True)
                model.save_weights(job.weights_path)
            return TrainOutcome(TrialState.COMPLETE, reporter.results)
        except (TrialLostError, KeyboardInterrupt):
            raise
        except Exception as err:  # noqa: BLE001 - a trial that raises fails alone; the study goes on
            return TrainOutcome(TrialState.FAIL, reporter.results, f"{type(err).__name__}: {err}".splitlines()[0][:500])
        finally:
            del model
            release_keras_memory()

    def evaluate(self, job: TrainJob) -> tuple[float, float] | None:
        """Test loss and accuracy of the weights a job saved."""
        if job.weights_path is None or not job.weights_path.exists():
            return None
        data = self.dataset
        model = self._build(job)
        try:
            model.optimizer.build(model.trainable_variables)  # so that the saved optimizer state loads too
            model.load_weights(job.weights_path)
            loss, accuracy = model.evaluate(data.x_test, data.y_test, batch_size=EVAL_BATCH_SIZE, verbose=0)
            return float(loss), float(accuracy)
        finally:
            del model
            release_keras_memory()


def release_keras_memory() -> None:
    """Drop the models, graphs and traced functions Keras keeps between trials."""
    keras.utils.clear_session(free_memory=True)
    gc.collect()
