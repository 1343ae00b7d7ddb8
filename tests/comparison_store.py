"""A small store with a study of every strategy, built with the toy objective (no TensorFlow).

Shared by the tests of the analysis frames, the figures, the report, the exports,
the ``compare`` / ``export`` commands and the notebooks.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpsearch import FunctionTrainer, RunOptions, run_study
from hpsearch.train.trainer import EpochCallback, EpochResult, TrainJob, TrainOutcome
from tests.conftest import study_config, toy_metrics

#: The studies of the store: name -> strategy. ``cmp-empty`` has no trial yet (still running).
STUDIES: dict[str, str] = {
    "cmp-grid": "grid",
    "cmp-random": "random",
    "cmp-tpe": "tpe",
    "cmp-pbt": "pbt",
    "cmp-evolution": "evolution",
    "cmp-hyperband": "random",
    "cmp-empty": "random",
    "cmp-partial": "random",
}
#: The trial of ``cmp-random`` whose loss becomes NaN at its second epoch (a FAIL).
FAILING_TRIAL = 3
#: Trials of ``cmp-partial`` that complete before the run is interrupted: the next one is interrupted
#: after one epoch and left WAITING for its second attempt (the epoch of the first stays in the store).
PARTIAL_COMPLETE = 2


def _nan_at_epoch_two(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
    metrics = toy_metrics(params, epoch, seed)
    return metrics if epoch < 2 else {**metrics, "loss": math.nan}


class _Stop(KeyboardInterrupt):
    """Stands for Ctrl-C in the middle of a trial."""


def toy_test_accuracy(params: dict[str, Any]) -> float:
    """The test accuracy the toy trainer reports for a trial's weights."""
    return round(toy_metrics(params, 10, 0)["val_accuracy"] - 0.01, 6)


@dataclass
class _Trainer(FunctionTrainer):
    """The toy objective with a test set; trial ``fail`` ends with a NaN loss, and trial
    ``interrupt`` is interrupted (Ctrl-C) after its first epoch was recorded."""

    fail: int | None = None
    interrupt: int | None = None
    has_test_set = True

    def __post_init__(self) -> None:
        super().__init__(toy_metrics)

    def _train_one(self, job: TrainJob, on_epoch: EpochCallback) -> TrainOutcome:
        if job.trial_number == self.interrupt:
            on_epoch(job, EpochResult(1, toy_metrics(job.params, 1, job.seed), 0.01))
            raise _Stop
        if job.trial_number == self.fail:
            return FunctionTrainer(_nan_at_epoch_two)._train_one(job, on_epoch)
        return super()._train_one(job, on_epoch)

    def evaluate(self, job: TrainJob) -> dict[str, float] | None:
        accuracy = toy_test_accuracy(job.params)
        return {"loss": 1.0 - accuracy, "accuracy": accuracy}


def build_comparison_store(path: Path) -> Path:
    """Write the studies of :data:`STUDIES` into a new SQLite store at ``path``; returns ``path``."""
    db = str(path)
    run_study(study_config("grid", name="cmp-grid", trials=8, epochs=2), db, trainer=_Trainer())
    run_study(study_config("random", name="cmp-random", trials=8, epochs=2), db, trainer=_Trainer(fail=FAILING_TRIAL))
    run_study(study_config("tpe", name="cmp-tpe", trials=8, epochs=2), db, trainer=_Trainer())
    run_study(study_config("pbt", name="cmp-pbt", epochs=3), db, trainer=_Trainer())
    run_study(study_config("evolution", name="cmp-evolution", trials=8, epochs=2, evolution={"population": 4}), db, trainer=_Trainer())
    hyperband = {"rule": "hyperband", "min_epochs": 1, "reduction_factor": 2}
    run_study(study_config("random", name="cmp-hyperband", trials=8, epochs=4, pruning=hyperband), db, trainer=_Trainer())
    run_study(study_config("random", name="cmp-empty", trials=4), db, trainer=_Trainer(), options=RunOptions(timeout=0.0))
    with contextlib.suppress(_Stop):  # the run stops as on Ctrl-C, leaving the study RUNNING
        run_study(study_config("random", name="cmp-partial", trials=6), db, trainer=_Trainer(interrupt=PARTIAL_COMPLETE))
    return path


def shared_comparison_store(tmp_path_factory: Any) -> Path:
    """The store of :func:`build_comparison_store`, built once per test session (the tests only read it)."""
    folder = tmp_path_factory.getbasetemp() / "comparison-store"
    path = folder / "store.db"
    if not (folder / "built").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("store.db*"):
            stale.unlink()
        build_comparison_store(path)
        (folder / "built").write_text("ok")
    return path
