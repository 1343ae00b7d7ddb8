#!/usr/bin/env python
"""Resident memory (RSS) of a long study: does the process grow from trial to trial?

Runs a random-search study of many small trials (mnist-sample cut to
``--train-size`` training digits, one epoch each, over width, dropout,
optimizer and learning rate) with ``hpsearch.run_study``, a temporary SQLite
store and ``hpsearch.train.keras.KerasTrainer`` (or, with ``--trainer population``, the
population trainer), exactly as ``hpsearch run`` would.
The trainer is wrapped so that the RSS of this process (psutil) is read right
after every trial's ``train`` call.

Prints the RSS at trials 10, 50 and 100, the drift per trial (least-squares
slope of RSS over the trials after ``--warmup``, in MB/trial) and the total
growth over the same range.

With the TensorFlow backend each trial's traced train step would stay alive:
Keras's TF optimizer all-reduces the gradients through ``tf.custom_gradient``,
which in graph mode registers a gradient function in TensorFlow's global
gradient registry that is never removed, and that function holds the whole
traced graph. hpsearch drops those entries after every trial
(``hpsearch.train.keras.memory``); ``--without-fix`` turns that off to measure
the leak it prevents.

Run from the repository root::

    python benchmarks/memory_drift.py
    python benchmarks/memory_drift.py --without-fix
    python benchmarks/memory_drift.py --trials 200 --backend-note "tf 2.21 cpu, 2 cores"
    python benchmarks/memory_drift.py --trainer population --trials 200
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # this checkout's hpsearch, whatever is installed

MB = 1024 * 1024
SPACE: dict[str, Any] = {
    "width": {"low": 32, "high": 256, "log": True},
    "dropout": {"low": 0.0, "high": 0.5},
    "optimizer": {"values": ["adam", "rmsprop", "sgd", "nadam"]},
    "learning_rate": {"low": 1e-4, "high": 3e-2, "log": True},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="RSS after every trial of a study of small Keras trials, and its drift per trial.",
    )
    parser.add_argument("--trials", type=int, default=100, help="trials of one epoch to run (default: 100)")
    parser.add_argument("--warmup", type=int, default=10, help="first trials left out of the drift (default: 10)")
    parser.add_argument("--train-size", type=int, default=300, help="training digits per trial (default: 300)")
    parser.add_argument("--seed", type=int, default=0, help="study seed (default: 0)")
    parser.add_argument("--backend-note", default="", help="free text printed with the backend, to label the run")
    parser.add_argument(
        "--trainer",
        choices=["keras", "population"],
        default="keras",
        help="the per-trial Keras trainer (default) or the population trainer",
    )
    parser.add_argument("--population", type=int, default=16, help="trials per population (population trainer; default: 16)")
    parser.add_argument(
        "--without-fix",
        action="store_true",
        help="keep TensorFlow's gradient registry entries between trials (to measure the leak hpsearch prevents)",
    )
    args = parser.parse_args(argv)
    if args.trials <= args.warmup + 1:
        parser.error("--trials must exceed --warmup by at least 2")
    return args


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / MB


class RssRecordingTrainer:
    """A trainer that delegates to another and records this process's RSS after every ``train`` call
    (once per trial it trained: a population trainer trains several per call)."""

    def __init__(self, inner: Any, *, every: int = 10) -> None:
        self.inner = inner
        self.has_test_set = inner.has_test_set
        self.max_jobs = getattr(inner, "max_jobs", 1)
        if hasattr(inner, "fits"):
            self.fits = inner.fits
        self.rss: list[float] = []
        self.every = every
        self._start = time.perf_counter()

    def train(self, jobs: Sequence[Any], on_epoch: Any) -> list[Any]:
        outcomes = self.inner.train(jobs, on_epoch)
        before = len(self.rss)
        self.rss += [rss_mb()] * len(jobs)
        if len(self.rss) // self.every > before // self.every:
            print(f"  trial {len(self.rss):4d}: RSS {self.rss[-1]:7.1f} MB ({time.perf_counter() - self._start:5.0f} s)", flush=True)
        return outcomes

    def evaluate(self, job: Any) -> dict[str, float] | None:
        return self.inner.evaluate(job)


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from hpsearch import run_study
    from hpsearch.core.config import parse_study
    from hpsearch.running.loop import RunOptions
    from hpsearch.train.keras import (
        KerasTrainer,  # imports Keras, hiding TensorFlow's start-up lines
        memory,
    )

    # isort: split
    import keras

    config = parse_study(
        {
            "name": "memory-drift",
            "strategy": "random",
            "seed": args.seed,
            "budget": {"trials": args.trials, "epochs": 1},
            "data": {"dataset": "mnist-sample", "train_size": args.train_size},
            "training": {"trainer": args.trainer, "population": args.population},
            "space": SPACE,
        }
    )
    note = f" ({args.backend_note})" if args.backend_note else ""
    print(f"backend: {keras.backend.backend()} (keras {keras.__version__}){note}")
    print(f"study: {args.trials} random trials x 1 epoch, mnist-sample, {args.train_size} training digits")
    print(f"gradient-registry fix: {'off (--without-fix)' if args.without_fix else 'on'}")
    registry = memory._tf_gradient_registry()
    if args.without_fix:
        memory._tf_gradient_registry = lambda: None  # type: ignore[assignment]
    registered = len(registry) if registry is not None else 0
    print(f"RSS before the study: {rss_mb():.1f} MB")

    if args.trainer == "population":
        from hpsearch.train.population.trainer import PopulationTrainer, columns_for_space

        optimizers = tuple(SPACE["optimizer"]["values"])
        inner: Any = PopulationTrainer(
            config.data,
            config.training,
            study_seed=args.seed,
            optimizers=optimizers,
            columns=columns_for_space(config.space, args.population),
        )
    else:
        inner = KerasTrainer(config.data, config.training)
    print(f"trainer: {args.trainer}" + (f" (populations of up to {args.population} trials)" if args.trainer == "population" else ""))
    trainer = RssRecordingTrainer(inner)
    with tempfile.TemporaryDirectory(prefix="hpsearch-memory-") as tmp:
        summary = run_study(
            config,
            str(Path(tmp) / "study.db"),
            trainer=trainer,
            options=RunOptions(checkpoint_dir=Path(tmp) / "checkpoints"),
        )
    rss = trainer.rss
    print(f"finished trials: {summary.finished} {summary.counts}")
    if registry is not None:
        print(f"TensorFlow gradient registry: {registered} entries before the study, {len(registry)} after")

    print()
    for trial in sorted({10, 50, 100, len(rss)}):
        if trial <= len(rss):
            print(f"RSS at trial {trial:4d}: {rss[trial - 1]:7.1f} MB")
    first = args.warmup  # trial numbers counted from 1
    trials = list(range(first, len(rss) + 1))
    values = rss[first - 1 :]
    drift = slope([float(t) for t in trials], values)
    print(f"drift over trials {first}..{len(rss)}: {drift:.3f} MB/trial (least-squares slope)")
    print(f"growth from trial {first} to {len(rss)}: {rss[-1] - rss[first - 1]:+.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
