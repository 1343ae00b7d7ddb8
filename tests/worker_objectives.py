"""Trainer factories for worker processes in the tests (module level: spawned workers import them)."""

from __future__ import annotations

import os

from hpsearch import FunctionTrainer, StudyConfig
from tests.conftest import toy_metrics_for


def quick(config: StudyConfig) -> FunctionTrainer:
    """The toy objective with a short pause per epoch, so that workers overlap."""
    return FunctionTrainer(toy_metrics_for(config), delay=0.005)


def slow(config: StudyConfig) -> FunctionTrainer:
    """Long enough epochs to kill a worker in the middle of a trial."""
    return FunctionTrainer(toy_metrics_for(config), delay=0.15)


def report_threads(config: StudyConfig) -> FunctionTrainer:
    """Reports the backend thread limit the worker process was given, as its metric."""
    return FunctionTrainer(lambda params, epoch, seed: {"val_accuracy": float(os.environ["TF_NUM_INTRAOP_THREADS"])})
