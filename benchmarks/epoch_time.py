#!/usr/bin/env python
"""Wall time per epoch of hpsearch's KerasTrainer against a plain Keras ``model.fit``.

Both sides train the seed model (width 128, dropout 0.2, Adam at 1e-3, batch 32)
on the same data, with the same Keras backend, in this one process:

* plain: the model compiled with Keras defaults and ``model.fit(x, y,
  batch_size=32, validation_data=(x_val, y_val), verbose=0)``;
* hpsearch: ``hpsearch.train.keras.KerasTrainer.train`` on a ``TrainJob`` with the
  same parameters (``steps_per_execution`` and the validation batch size as
  hpsearch sets them, or as given on the command line).

An epoch's wall time runs from the end of the previous epoch (validation
included) to the end of this one. The first epoch also builds the model and
traces its functions, so it is reported apart and left out of the medians. Each
run trains ``1 + --epochs`` epochs; ``--repeats`` rounds run every variant once,
in an order that is reversed every other round, so that slow drift of the
machine falls on both sides.

Run from the repository root::

    python benchmarks/epoch_time.py
    python benchmarks/epoch_time.py --epochs 5 --repeats 3
    python benchmarks/epoch_time.py --steps-per-execution 50 100 200 500 --eval-batch-size 1024 10000

The project's goal is a ratio hpsearch/plain of at most 0.5.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # this checkout's hpsearch, whatever is installed
DEFAULT_DATA_DIR = (REPO_ROOT / ".." / "shared" / "data").resolve()
SEED_PARAMS: dict[str, Any] = {"width": 128, "dropout": 0.2, "optimizer": "adam", "learning_rate": 1e-3}
BATCH_SIZE = 32
GOAL_RATIO = 0.5


@dataclass
class Variant:
    """One way of training an epoch, and what was measured of it."""

    name: str
    run: Callable[[int, int], RunResult]
    first_epochs: list[float] = field(default_factory=list)
    epochs: list[float] = field(default_factory=list)
    final_val_accuracy: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class RunResult:
    """Seconds of every epoch (the first one includes build and tracing) and the last val_accuracy."""

    epoch_seconds: list[float]
    final_val_accuracy: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Median wall time per epoch of hpsearch's KerasTrainer and of a plain model.fit (same data, same backend).",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"directory holding mnist.npz (default: {DEFAULT_DATA_DIR}); falls back to mnist-sample if absent",
    )
    parser.add_argument("--epochs", type=int, default=3, help="measured epochs per run, after one warm-up epoch (default: 3)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of runs, alternating the order of the variants (default: 2)")
    parser.add_argument(
        "--steps-per-execution",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="hpsearch variants to time, one per value (default: TrainingConfig's default)",
    )
    parser.add_argument(
        "--eval-batch-size",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="validation batch sizes to try for hpsearch, one variant each (default: hpsearch's EVAL_BATCH_SIZE); "
        "set by patching hpsearch.train.keras.train.EVAL_BATCH_SIZE for the run",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the models (default: 0)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.repeats < 1:
        parser.error("--epochs and --repeats must be >= 1")
    return args


def data_config(data_dir: Path) -> tuple[Any, str | None]:
    """The DataConfig to time on, and a note if full MNIST was not found."""
    from hpsearch.core.config import DataConfig

    if (data_dir / "mnist.npz").is_file():
        return DataConfig(dataset="mnist", data_dir=str(data_dir)), None
    note = (
        f"note: {data_dir / 'mnist.npz'} not found; timing on mnist-sample (3,000 training digits) instead, "
        "whose epochs are too short for a representative ratio"
    )
    return DataConfig(dataset="mnist-sample"), note


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class _EpochClock:
    """Timestamps of the end of every epoch, to turn into per-epoch wall times."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.ends: list[float] = []

    def tick(self) -> None:
        self.ends.append(time.perf_counter())

    def seconds(self) -> list[float]:
        marks = [self.start, *self.ends]
        return [b - a for a, b in itertools.pairwise(marks)]


def plain_run(dataset: Any) -> Callable[[int, int], RunResult]:
    """A run of the seed model with plain Keras: default compile, default ``fit``."""
    import keras

    class Clock(keras.callbacks.Callback):
        def __init__(self, clock: _EpochClock) -> None:
            super().__init__()
            self.clock = clock

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.clock.tick()

    def run(epochs: int, seed: int) -> RunResult:
        clock = _EpochClock()
        keras.utils.set_random_seed(seed)
        model = keras.Sequential(
            [
                keras.Input(shape=(28, 28)),
                keras.layers.Flatten(),
                keras.layers.Dense(SEED_PARAMS["width"], activation="relu"),
                keras.layers.Dropout(SEED_PARAMS["dropout"]),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=SEED_PARAMS["learning_rate"]),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        history = model.fit(
            dataset.x_train,
            dataset.y_train,
            batch_size=BATCH_SIZE,
            epochs=epochs,
            validation_data=(dataset.x_val, dataset.y_val),
            verbose=0,
            callbacks=[Clock(clock)],
        )
        result = RunResult(clock.seconds(), float(history.history["val_accuracy"][-1]))
        del model
        keras.utils.clear_session(free_memory=True)
        return result

    return run


def hpsearch_run(data: Any, steps_per_execution: int, eval_batch_size: int | None) -> Callable[[int, int], RunResult]:
    """A run of the seed model through ``KerasTrainer.train``, as a study trains a trial."""
    import hpsearch.train.keras.train as train_module
    from hpsearch.core.config import TrainingConfig
    from hpsearch.store import TrialState
    from hpsearch.train.keras import KerasTrainer
    from hpsearch.train.trainer import EpochResult, TrainJob

    trainer = KerasTrainer(data, TrainingConfig(batch_size=BATCH_SIZE, steps_per_execution=steps_per_execution))

    def run(epochs: int, seed: int) -> RunResult:
        clock = _EpochClock()
        results: list[EpochResult] = []

        def on_epoch(_job: TrainJob, result: EpochResult) -> bool:
            clock.tick()
            results.append(result)
            return True

        saved = train_module.EVAL_BATCH_SIZE
        if eval_batch_size is not None:
            train_module.EVAL_BATCH_SIZE = eval_batch_size
        try:
            outcome = trainer.train([TrainJob(0, dict(SEED_PARAMS), epochs, seed)], on_epoch)[0]
        finally:
            train_module.EVAL_BATCH_SIZE = saved
        if outcome.state is not TrialState.COMPLETE:
            raise RuntimeError(f"hpsearch trial ended {outcome.state.value}: {outcome.error}")
        return RunResult(clock.seconds(), results[-1].metrics["val_accuracy"])

    return run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from hpsearch.core.config import TrainingConfig
    from hpsearch.train.keras import load_dataset  # imports Keras, hiding TensorFlow's start-up lines
    from hpsearch.train.keras import train as train_module

    # isort: split
    import keras

    data, note = data_config(args.data_dir)
    if note:
        print(note)
    dataset = load_dataset(data)
    spe_values: list[int] = args.steps_per_execution or [TrainingConfig().steps_per_execution]
    eval_sizes: list[int | None] = args.eval_batch_size or [None]

    variants = [Variant("plain model.fit", plain_run(dataset))]
    for spe in spe_values:
        for eval_size in eval_sizes:
            shown = train_module.EVAL_BATCH_SIZE if eval_size is None else eval_size
            variants.append(Variant(f"hpsearch spe={spe} val_batch={shown}", hpsearch_run(data, spe, eval_size)))

    print(f"backend: {keras.backend.backend()} (keras {keras.__version__})")
    print(f"data: {dataset!r}")
    print(f"load average at start: {load_average()} (other processes on the {os.cpu_count()} CPUs add noise)")
    print(f"each run: 1 warm-up epoch + {args.epochs} measured; {args.repeats} round(s), order alternating")
    for round_ in range(args.repeats):
        order = variants if round_ % 2 == 0 else variants[::-1]
        for variant in order:
            result = variant.run(1 + args.epochs, args.seed + round_)
            variant.first_epochs.append(result.epoch_seconds[0])
            variant.epochs.extend(result.epoch_seconds[1:])
            variant.final_val_accuracy.append(result.final_val_accuracy)
            epochs = " ".join(f"{s:.2f}" for s in result.epoch_seconds[1:])
            print(
                f"  round {round_ + 1} {variant.name:<34} first {result.epoch_seconds[0]:6.2f} s | "
                f"epochs {epochs} s | val_accuracy {result.final_val_accuracy:.4f}",
                flush=True,
            )

    plain = variants[0]
    plain_median = statistics.median(plain.epochs)
    print()
    print(f"{'variant':<36} {'median s/epoch':>14} {'first epoch s':>13} {'ratio':>7} {'final val_accuracy':>22}")
    best: Variant | None = None
    for variant in variants:
        median = statistics.median(variant.epochs)
        ratio = median / plain_median
        accuracies = ", ".join(f"{a:.4f}" for a in variant.final_val_accuracy)
        print(f"{variant.name:<36} {median:14.3f} {statistics.median(variant.first_epochs):13.2f} {ratio:7.3f} {accuracies:>22}")
        if variant is not plain and (best is None or median < statistics.median(best.epochs)):
            best = variant
    print(f"load average at end: {load_average()}")
    assert best is not None
    best_ratio = statistics.median(best.epochs) / plain_median
    verdict = "met" if best_ratio <= GOAL_RATIO else "NOT met"
    print(f"\nratio hpsearch/plain (best: {best.name}): {best_ratio:.3f}; goal <= {GOAL_RATIO}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
