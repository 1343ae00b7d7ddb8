"""The population engine's conformance tests, run again on Keras's JAX backend.

A process has one Keras backend, so the JAX run is a child pytest over a part of
tests/test_population.py: every optimiser rule against Keras's own (on JAX), one step of the
whole model against ``train_on_batch`` for each activation and weight decay, a member alone and
among others, and a population study through the runner whose best model is ordinary Keras.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jax")
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

_ON_JAX = "on_the_keras_backend or optimiser_match_keras or keras_train_step or alone_padded or best_model_is_ordinary_keras"


def test_the_population_engine_passes_its_tests_on_jax() -> None:
    if keras.backend.backend() == "jax":
        pytest.skip("this run is on JAX already: tests/test_population.py itself covers it")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_population.py", "-k", _ON_JAX],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = done.stdout[-4000:]
    assert done.returncode == 0, tail
    assert " passed" in tail and "deselected" in tail, tail
