"""Shared fixtures: stores on every backend, toy objectives and small study configs."""

from __future__ import annotations

import atexit
import math
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hpsearch import FunctionTrainer, HpsearchError, Store, StudyConfig, TrialRecord, parse_study

# The tests keep hpsearch's cache (prepared datasets, JAX's compiled computations) in a folder of their own, not the user's.
_TEST_CACHE = tempfile.mkdtemp(prefix="hpsearch-test-cache-")
os.environ["HPSEARCH_CACHE_DIR"] = _TEST_CACHE
atexit.register(shutil.rmtree, _TEST_CACHE, True)

#: Set to a PostgreSQL URL (``postgresql+psycopg://...``) to run the store suite on a server as well.
POSTGRES_ENV = "HPSEARCH_TEST_POSTGRES_URL"


def toy_metrics(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
    """A smooth, deterministic stand-in for training: best near lr=1e-3, dropout=0.1, width=128."""
    quality = (
        1.0
        - 0.15 * abs(math.log10(params["learning_rate"]) + 3.0)
        - 0.2 * abs(params["dropout"] - 0.1)
        - 0.05 * abs(math.log2(params["width"] / 128))
        - (0.05 if params["optimizer"] == "sgd" else 0.0)
    )
    value = max(0.0, min(1.0, quality * (1.0 - 0.5**epoch)))
    return {"loss": 1.0 - value, "accuracy": value, "val_loss": 1.0 - value, "val_accuracy": value}


def toy_pareto_metrics(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
    """:func:`toy_metrics` and a cost to trade accuracy against: the built-in model's trainable parameters at one layer."""
    return {**toy_metrics(params, epoch, seed), "params": 795.0 * params["width"] + 10.0}


def toy_metrics_for(config: StudyConfig) -> Any:
    """The toy objective a study needs: :func:`toy_pareto_metrics` for a study that names ``params``, else :func:`toy_metrics`."""
    return toy_pareto_metrics if any(o.metric == "params" for o in config.objectives) else toy_metrics


@pytest.fixture
def toy_trainer() -> FunctionTrainer:
    return FunctionTrainer(toy_metrics)


def study_config(
    strategy: str = "random", *, name: str | None = None, trials: int | None = 6, epochs: int = 2, **extra: Any
) -> StudyConfig:
    """A small study over all four hyperparameters (ranges carry grid points, so every strategy accepts it).

    For PBT, ``trials`` is ignored: a population of 4 trains ``epochs`` epochs each, in segments of 1.
    """
    budget: dict[str, Any] = {"epochs": epochs, **({"trials": trials} if trials is not None else {})}
    if strategy == "pbt":
        budget = {}
        extra.setdefault("pbt", {"population": 4, "ready": 1, "epochs": epochs})
    doc: dict[str, Any] = {
        "strategy": strategy,
        "seed": extra.pop("seed", 7),
        "budget": budget,
        "space": extra.pop(
            "space",
            {
                "width": {"values": [32, 64, 128]},
                "dropout": {"low": 0.0, "high": 0.5, "grid_points": 2},
                "optimizer": {"values": ["adam", "sgd"]},
                "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True, "grid_points": 2},
            },
        ),
        **extra,
    }
    return parse_study(doc, default_name=name or f"toy-{strategy}")


def _backends() -> list[str]:
    return ["sqlite"] + (["postgresql"] if os.environ.get(POSTGRES_ENV) else [])


@pytest.fixture(params=_backends())
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL on every backend the machine offers."""
    if request.param == "sqlite":
        yield str(tmp_path / "store.db")
        return
    import uuid

    from sqlalchemy import create_engine, text

    base = os.environ[POSTGRES_ENV]
    name = f"hpsearch_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()


def stored_trials(db: str | Path, study: str) -> list[TrialRecord]:
    """The trials of ``study`` in the store at ``db``, or [] while another process is still creating them."""
    if "://" not in str(db) and not Path(db).exists():
        return []
    try:
        with Store.open(db, read_only=True) as store:
            return store.trials(store.study(study).id)
    except HpsearchError:  # the schema or the study is not there yet
        return []


def kill_when(
    proc: subprocess.Popen,
    db: str | Path,
    study: str,
    ready: Callable[[list[TrialRecord]], bool],
    *,
    delay: float = 0.0,
    limit: float = 180.0,
) -> list[TrialRecord]:
    """SIGKILL ``proc`` (``delay`` seconds) after ``ready(trials)`` first holds; returns the trials after the kill."""
    deadline = time.monotonic() + limit
    while not ready(stored_trials(db, study)):
        if proc.poll() is not None:
            stderr = proc.stderr.read().decode() if proc.stderr else ""
            raise AssertionError(f"the study process ended (status {proc.returncode}) before it could be killed: {stderr}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"{study}: the kill condition did not hold within {limit} s")
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return stored_trials(db, study)
