"""Giving memory back between trials.

``keras.utils.clear_session`` and a garbage collection drop the models and
traced functions of a finished trial, but on the TensorFlow backend that is not
enough: Keras's optimizer sums gradients through ``tf.custom_gradient`` (its
cross-replica all-reduce, run even without a distribution strategy), and every
compiled training step registers a gradient function in TensorFlow's global
gradient registry that is never removed. Each entry keeps the whole training
graph of its trial alive: measured at 4.9 MB of resident memory per trial over
100 small trials (``benchmarks/memory_drift.py``). :func:`trial_memory_scope`
removes the entries a trial added once it is over (0.37 MB per trial measured).
This touches a private TensorFlow attribute, so it does nothing when the
attribute is missing or the backend is not TensorFlow.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import keras

__all__ = ["release_keras_memory", "trial_memory_scope"]


def _tf_gradient_registry() -> dict[str, Any] | None:
    if keras.backend.backend() != "tensorflow":
        return None
    try:
        from tensorflow.python.framework import ops
    except ImportError:
        return None
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


def release_keras_memory() -> None:
    """Drop the models, graphs and traced functions Keras keeps between trials."""
    keras.utils.clear_session(free_memory=True)
    gc.collect()


@contextmanager
def trial_memory_scope() -> Iterator[None]:
    """Run one trial; afterwards release Keras's memory and the gradient functions the trial registered."""
    registry = _tf_gradient_registry()
    before = set(registry) if registry is not None else set()
    try:
        yield
    finally:
        if registry is not None:
            # only the per-function entries of tf.custom_gradient: gradients a lazily imported
            # TensorFlow module registers for its ops must stay
            for name in set(registry) - before:
                if name.startswith("CustomGradient-"):
                    registry.pop(name, None)
        release_keras_memory()
