"""The population engine's conformance tests, run again on Keras's JAX backend.

A process has one Keras backend, so the JAX run is a child pytest over the tests of
tests/test_population.py marked ``on_jax`` (declared in pyproject.toml): every optimiser rule
against Keras's own (on JAX), one step of the whole model against ``train_on_batch`` for each
activation and weight decay, a member alone and among others, and a population study through
the runner whose best model is ordinary Keras. The child's JUnit report counts them: every
marked test must have run and passed (none skipped), so a lost test fails here instead of
quietly shrinking the JAX coverage.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

pytest.importorskip("jax")
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

#: The mark of the tests of tests/test_population.py that must also pass on JAX.
ON_JAX = "on_jax"


def test_the_population_engine_passes_its_tests_on_jax(tmp_path: Path) -> None:
    if keras.backend.backend() == "jax":
        pytest.skip("this run is on JAX already: tests/test_population.py itself covers it")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    report = tmp_path / "on-jax.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_population.py", "-m", ON_JAX, f"--junitxml={report}"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    tail = done.stdout[-4000:]
    assert done.returncode == 0, tail
    (suite,) = ElementTree.parse(report).getroot().iter("testsuite")
    cases = suite.findall("testcase")
    marked = int(suite.get("tests", "0"))  # every test carrying the mark (those without it are deselected)
    ran = [c.get("name") for c in cases if all(c.find(outcome) is None for outcome in ("skipped", "failure", "error"))]
    assert marked == len(cases) > 0, tail
    not_run = [c.get("name") for c in cases if c.get("name") not in ran]
    assert len(ran) == marked, f"{len(ran)} of the {marked} tests marked {ON_JAX} ran and passed on JAX; not: {not_run}\n{tail}"
