"""Beyond the four hyperparameters: a study's own model and data, and the built-in model's new dimensions."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from hpsearch import run_study
from hpsearch.core.config import STRATEGIES, Budget, load_study, parse_study
from hpsearch.core.errors import ConfigError
from hpsearch.store import Store, TrialState
from hpsearch.train.keras import KerasTrainer
from hpsearch.train.keras.model import build_model
from hpsearch.train.trainer import FunctionTrainer, TrainJob

STUDIES = Path(__file__).resolve().parents[1] / "studies"
pytestmark = pytest.mark.keras


# --------------------------------------------------------------------------- a model and data of our own


def tiny_digits() -> tuple:
    """scikit-learn's 8x8 digits as flat rows: 600 / 300 / 300."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.data / 16.0).astype(np.float32), d.target.astype(np.int32)
    return (x[:600], y[:600]), (x[600:900], y[600:900]), (x[900:1200], y[900:1200])


def dense(params: dict[str, Any]) -> keras.Model:
    """One hidden layer of ``units``, SGD with ``momentum`` (or Adam for ``solver = "adam"``) at ``lr``."""
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(int(params["units"]), activation="relu"), keras.layers.Dense(10, activation="softmax")]
    )
    if params.get("solver", "sgd") == "adam":
        optimizer = keras.optimizers.Adam(float(params["lr"]))
    else:
        optimizer = keras.optimizers.SGD(float(params["lr"]), momentum=float(params["momentum"]))
    top2 = keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy", top2])
    return model


def raises(params: dict[str, Any]) -> keras.Model:
    raise RuntimeError("no GPU here")


def not_a_model(params: dict[str, Any]) -> str:
    return "model"


def not_compiled(params: dict[str, Any]) -> keras.Model:
    return keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])


def bad_data() -> tuple:
    return (np.zeros((5, 64)), np.zeros(4)), (np.zeros((5, 64)), np.zeros(5))


_SPACE = {"units": [16, 32], "lr": {"low": 0.01, "high": 0.3, "log": True}, "momentum": {"low": 0.0, "high": 0.9}}


def own_study(strategy: str = "random", **extra: Any) -> Any:
    doc: dict[str, Any] = {"name": f"own-{strategy}", "strategy": strategy, "seed": 3, "space": dict(_SPACE), **extra}
    if strategy != "pbt":
        doc.setdefault("budget", {"trials": 3, "epochs": 2})
    return parse_study(doc)


def test_the_convnet_quickstart_runs_from_its_study_file(tmp_path: Path) -> None:
    config = load_study(STUDIES / "quickstart_convnet.toml")
    config = replace(config, budget=Budget(trials=2, epochs=1))
    summary = run_study(config, str(tmp_path / "cv.db"))
    assert [t.state for t in summary.trials] == [TrialState.COMPLETE] * 2
    assert all(set(t.params) == {"filters", "kernel_size", "dropout", "learning_rate"} for t in summary.trials)
    assert summary.test is not None and 0.0 < summary.test.accuracy <= 1.0  # tested on the loader's test split
    assert summary.study.config["model"] == "convnet:build"
    # its best model exports as an ordinary Keras file, built by the study's own builder
    from hpsearch.show.model_file import export_model

    exported = export_model(config.name, tmp_path / "best.keras", str(tmp_path / "cv.db"))
    loaded = keras.models.load_model(exported.path)
    assert isinstance(loaded.layers[0], keras.layers.Conv2D) and loaded.layers[0].filters == summary.best.params["filters"]


def test_run_study_takes_a_model_and_data_as_objects_and_pbt_keeps_the_architecture(tmp_path: Path) -> None:
    config = own_study(
        "pbt",
        pbt={"population": 3, "ready": 1, "epochs": 2, "fraction": 0.34, "inherit": ["units"]},
        objective={"metric": "val_top2", "direction": "maximize"},  # a metric of the model's own
    )
    summary = run_study(config, str(tmp_path / "pbt.db"), model=dense, data=tiny_digits)
    assert summary.study.state.value == "COMPLETE" and len(summary.trials) == 6
    assert all(t.state is TrialState.COMPLETE for t in summary.trials)
    assert summary.study.config["model"] == f"{__name__}:dense"
    by_member: dict[int, set] = {}
    for t in summary.trials:
        by_member.setdefault(t.member, set()).add(t.params["units"])
    with Store.open(str(tmp_path / "pbt.db"), read_only=True) as store:
        decisions = store.decisions(summary.study.id)
        stored = store.metric_rows(summary.study.id)
    assert all(t.value == t.curve[-1] for t in summary.trials if t.curve)  # each segment's value is its last val_top2
    assert {"val_top2", "top2", "val_accuracy"} <= {row.name for row in stored}
    copied = [d for d in decisions if d.kind == "exploit"]
    assert copied, "someone should have copied a better member"
    # the architecture travels with the weights: a copy takes its parent's units, and nothing else explores them
    assert all(d.new_params["units"] == next(t for t in summary.trials if t.number == d.parent_trial).params["units"] for d in copied)
    assert summary.test is not None
    assert {"loss", "top2"} <= set(summary.test.metrics)  # tested on the study's own metric too


def tf_datasets() -> tuple:
    """The same digits as ``tf.data`` datasets of batches of 50 (train reshuffled every epoch), and no test split."""
    import tensorflow as tf

    (x, y), (xv, yv), _ = tiny_digits()
    train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(600, seed=0).batch(50)
    return train, tf.data.Dataset.from_tensor_slices((xv, yv)).batch(100)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.data feeds Keras on the TensorFlow backend")
def test_a_loader_may_return_tf_data_datasets(tmp_path: Path) -> None:
    summary = run_study(own_study(budget={"trials": 2, "epochs": 2}), str(tmp_path / "tfdata.db"), model=dense, data=tf_datasets)
    assert [t.state for t in summary.trials] == [TrialState.COMPLETE] * 2 and all(len(t.curve) == 2 for t in summary.trials)
    assert summary.test is None  # no test split: nothing to evaluate the best trial on


def test_a_continuation_of_an_own_model_carries_weights_and_optimizer_state_at_its_new_learning_rate(tmp_path: Path) -> None:
    trainer = KerasTrainer(model=dense, loader=tiny_digits)
    parent = TrainJob(0, {"units": 16, "lr": 0.1, "momentum": 0.5}, epochs=1, seed=1, weights_path=tmp_path / "p.weights.h5")
    assert trainer.train([parent], lambda job, result: True)[0].state is TrialState.COMPLETE
    saved = dense(parent.params)
    saved.optimizer.build(saved.trainable_variables)
    saved.load_weights(parent.weights_path)
    child = TrainJob(1, {**parent.params, "lr": 0.02}, epochs=1, seed=2, parent_checkpoint=parent.weights_path, parent_params=parent.params)
    model = trainer._from_parent(child, {})
    for ours, theirs in zip(model.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    assert int(model.optimizer.iterations.numpy()) == int(saved.optimizer.iterations.numpy()) == 19  # ceil(600 / 32) steps
    for ours, theirs in zip(model.optimizer.variables[2:], saved.optimizer.variables[2:]):  # the momenta
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert math.isclose(float(model.optimizer.learning_rate.numpy()), 0.02, rel_tol=1e-6)
    # another optimiser: the weights come, its state starts fresh
    other = trainer._from_parent(replace(child, params={**child.params, "solver": "adam"}), {})
    assert int(other.optimizer.iterations.numpy()) == 0
    np.testing.assert_array_equal(other.get_weights()[0], saved.get_weights()[0])
    # another architecture cannot take the parent's weights: the trial says which setting to use
    with pytest.raises(ValueError, match=r"\[pbt\] inherit"):
        trainer._from_parent(replace(child, params={**child.params, "units": 32}), {})


@pytest.mark.parametrize(
    ("setting", "value", "rule"),
    [
        ("model", "no_such_package.models:build", "cannot be imported: ModuleNotFoundError"),
        ("model", f"{__name__}:missing", f"module {__name__} has no missing"),
        ("model", f"{__name__}:raises", "raised RuntimeError for {"),
        ("model", f"{__name__}:not_a_model", "returned a str, not a keras.Model"),
        ("model", f"{__name__}:not_compiled", "not compiled"),
        ("model", "builder", 'as "package.module:function"'),
        ("data.loader", f"{__name__}:bad_data", "its train split has 5 inputs and 4 targets"),
    ],
    ids=["no-module", "no-function", "raises", "not-a-model", "not-compiled", "not-a-path", "bad-data"],
)
def test_a_bad_builder_or_loader_is_one_line_and_nothing_is_written(tmp_path: Path, setting: str, value: str, rule: str) -> None:
    extra: dict[str, Any] = {"model": f"{__name__}:dense", "data": {"loader": f"{__name__}:tiny_digits"}}
    if setting == "model":
        extra["model"] = value
    else:
        extra["data"] = {"loader": value}
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError) as info:
        run_study(own_study(**extra), str(db))
    assert (info.value.field, info.value.value) == (setting, value)
    assert rule in str(info.value) and "\n" not in str(info.value)
    assert not db.exists()


def test_the_built_in_model_refuses_a_dimension_it_does_not_have_before_writing(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError) as info:
        run_study(
            parse_study({"name": "x", "strategy": "random", "budget": {"trials": 2, "epochs": 1}, "space": {"filters": [8, 16]}}), str(db)
        )
    assert info.value.field == "space.filters" and 'model = "package.module:function"' in str(info.value)
    assert not db.exists()


# --------------------------------------------------------------------------- the built-in model's new dimensions

_NEW_DIMENSIONS = {
    "width": {"values": [16, 32]},
    "learning_rate": {"low": 1e-3, "high": 1e-2, "log": True, "grid_points": 2},
    "layers": {"values": [1, 2]},
    "activation": ["relu", "tanh"],
    "batch_size": [64, 128],
    "weight_decay": {"low": 0.0, "high": 0.01, "grid_points": 2},
}
#: The same with one batch size (fewer populations to compile where Keras trains them).
_ONE_BATCH_SIZE = {**_NEW_DIMENSIONS, "batch_size": 64}


def test_the_built_in_model_trains_its_new_dimensions_in_populations_or_alone(tmp_path: Path) -> None:
    config = parse_study(
        {
            "name": "deeper",
            "strategy": "random",
            "seed": 3,  # draws both depths and both activations
            "budget": {"trials": 8, "epochs": 1},
            "data": {"dataset": "mnist-sample", "train_size": 640, "validation_size": 300},
            "space": _ONE_BATCH_SIZE,
        }
    )
    from hpsearch.running.loop import StudyRunner

    with Store.open(str(tmp_path / "d.db")) as store:
        runner = StudyRunner(config, store)
        summary = runner.run()
        trainer: Any = runner.trainer
    trials = summary.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 8
    assert {t.params["layers"] for t in trials} == {1, 2} and {t.params["activation"] for t in trials} == {"relu", "tanh"}
    # every trial trained in a population, one per (batch size, activation, depth) group met
    groups = {(t.params["batch_size"], t.params["activation"], t.params["layers"]) for t in trials}
    assert {(activation, depth) for _, _, activation, depth in trainer.shapes_built} == {(a, d) for _, a, d in groups}
    # a claim may hold several groups: each trains as a pass of its own, one after the other
    assert trainer.fits([trials[0].params | {"layers": 2}, trials[0].params])
    assert trainer.fits([trials[0].params | {"batch_size": 64}, trials[0].params | {"batch_size": 128}])
    assert not trainer.fits([trials[0].params | {"layers": 4}, trials[0].params])  # deeper than a population holds: alone
    best = summary.best
    assert best is not None and best.checkpoint is not None
    model = build_model(**best.params)  # the best model, whatever its depth, is ordinary Keras
    model.optimizer.build(model.trainable_variables)
    model.load_weights(best.checkpoint)
    assert len([layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]) == best.params["layers"] + 1


def _toy(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
    value = 0.5 + 0.1 * params["layers"] - 5 * params["weight_decay"] + (0.05 if params["activation"] == "tanh" else 0.0)
    value += 0.001 * params["batch_size"] / 128 - 0.01 * abs(math.log10(params["learning_rate"]) + 2.5)
    return {"val_accuracy": value * (1 - 0.5**epoch), "val_loss": 1 - value}


class _BuiltinStandIn(FunctionTrainer):
    """The toy objective standing in for the built-in model (its whole space, defaults included, as the trainers of
    the built-in model get it), so that every strategy's search of the new dimensions runs in a blink."""

    trains_builtin_model = True


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_searches_the_new_dimensions(tmp_path: Path, strategy: str) -> None:
    options = {"evolution": {"population": 4}, "cmaes": {"population": 4}, "gp": {"startup_trials": 4}}
    extra: dict[str, Any] = {strategy: options[strategy]} if strategy in options else {}
    budget: dict[str, Any] = {"epochs": 2} if strategy == "grid" else {"trials": 8, "epochs": 2}  # the grid: all 64 points
    if strategy == "pbt":
        budget, extra = {}, {"pbt": {"population": 4, "ready": 1, "epochs": 3}}
    config = parse_study({"name": strategy, "strategy": strategy, "seed": 1, "budget": budget, "space": _NEW_DIMENSIONS, **extra})
    summary = run_study(config, str(tmp_path / "s.db"), trainer=_BuiltinStandIn(_toy))
    assert summary.trials and all(t.state is TrialState.COMPLETE for t in summary.trials)
    assert all(config.space.contains(t.params) for t in summary.trials)
    seen = {name: {t.params[name] for t in summary.trials} for name in ("layers", "activation", "batch_size")}
    if strategy == "pbt":  # the architecture travels with the weights: a segment has its parent's
        number = {t.number: t for t in summary.trials}
        continued = [t for t in summary.trials if t.parent_trial is not None]
        assert continued and all(t.params[n] == number[t.parent_trial].params[n] for t in continued for n in seen)
    elif strategy == "grid":
        assert all(len(values) == 2 for values in seen.values()), seen
    else:  # 8 trials draw (or breed) most of the six values
        assert sum(len(values) for values in seen.values()) >= 5, seen


# --------------------------------------------------------------------------- user code that exits, data that do not fit


def exits(params: dict[str, Any]) -> keras.Model:
    sys.exit(3)


def interrupts(params: dict[str, Any]) -> keras.Model:
    raise KeyboardInterrupt  # raised by the code itself: no Ctrl-C


@pytest.mark.parametrize(
    ("setting", "value", "rule"),
    [
        ("model", f"{__name__}:exits", "raised SystemExit for {'units': "),
        ("model", f"{__name__}:interrupts", "raised KeyboardInterrupt for {"),
        ("data.loader", "sys:exit", "raised SystemExit: sys.exit(None) was called"),
    ],
    ids=["builder-exits", "builder-interrupts", "loader-is-sys.exit"],
)
def test_user_code_that_exits_or_interrupts_itself_is_one_line_and_nothing_is_written(
    tmp_path: Path, setting: str, value: str, rule: str
) -> None:
    extra: dict[str, Any] = {"model": f"{__name__}:dense", "data": {"loader": f"{__name__}:tiny_digits"}}
    extra.update({"model": value} if setting == "model" else {"data": {"loader": value}})
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError) as info:
        run_study(own_study(**extra), str(db))
    assert (info.value.field, info.value.value) == (setting, value)
    assert rule in str(info.value) and "\n" not in str(info.value)
    assert not db.exists()


def test_a_real_ctrl_c_in_user_code_goes_through_as_an_interrupt() -> None:
    import signal

    from hpsearch.train.keras.user import load_user_data

    def pressed() -> None:
        signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        load_user_data(pressed)


@pytest.mark.parametrize(
    ("file", "setting", "text"),
    [
        ("exits_on_import.py", "model", "import sys\nsys.exit(5)\n"),
        ("interrupted_loader.py", "data.loader", "def load():\n    raise KeyboardInterrupt\n"),
    ],
    ids=["module-exits-on-import", "loader-interrupts"],
)
def test_validate_exits_2_with_one_line_when_user_code_exits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file: str, setting: str, text: str
) -> None:
    from hpsearch import cli

    (tmp_path / file).write_text(text)
    name = f"{Path(file).stem}:{'build' if setting == 'model' else 'load'}"
    own = f'model = "{name}"\n' if setting == "model" else f'model = "{__name__}:dense"\n[data]\nloader = "{name}"\n'
    study = tmp_path / "s.toml"
    study.write_text(f'strategy = "random"\n{own}[budget]\ntrials = 2\nepochs = 1\n[space]\nunits = [16]\nlr = 0.1\nmomentum = 0.5\n')
    with pytest.raises(SystemExit) as info:
        cli.main(["validate", str(study)])
    assert info.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"hpsearch: error: {study}: {setting} = '{name}': ")


def three_outputs(params: dict[str, Any]) -> keras.Model:
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def wants_vectors(params: dict[str, Any]) -> keras.Model:
    """A model for 784-vectors: the built-in data are 28x28 images."""
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def _digits_with(change: Any) -> tuple:
    (x, y), (xv, yv), _ = tiny_digits()
    return change(x, y, xv, yv)


def short_validation() -> tuple:
    return _digits_with(lambda x, y, xv, yv: ((x, y), (xv[:, :32], yv)))


def string_inputs() -> tuple:
    return _digits_with(lambda x, y, xv, yv: ((x.astype(str), y), (xv, yv)))


def labels_from_100() -> tuple:
    return _digits_with(lambda x, y, xv, yv: ((x, y + 100), (xv, yv + 100)))


def two_labels_each() -> tuple:
    return _digits_with(lambda x, y, xv, yv: ((x, np.stack([y, y], 1)), (xv, np.stack([yv, yv], 1))))


def nan_inputs() -> tuple:
    return _digits_with(lambda x, y, xv, yv: ((np.full_like(x, np.nan), y), (xv, yv)))


def infinite_inputs() -> tuple:
    return _digits_with(lambda x, y, xv, yv: ((x, y), (np.full_like(xv, np.inf), yv)))


@pytest.mark.parametrize(
    ("model", "loader", "setting", "rule"),
    [
        ("three_outputs", "tiny_digits", "data.loader", "its train split has labels 0 to 9, but model '"),
        ("wants_vectors", None, "model", "the built-in mnist-sample data (inputs (28, 28) each) does not go through it: ValueError"),
        ("dense", "short_validation", "data.loader", "one batch of its validation split (inputs (32,) each) does not go through model"),
        ("dense", "string_inputs", "data.loader", "its train inputs are strings (dtype <U"),
        ("dense", "labels_from_100", "data.loader", "its train split has labels 100 to 109, but model"),
        ("dense", "two_labels_each", "data.loader", "the targets of one batch of its train split do not fit the loss and metrics of model"),
        ("dense", "nan_inputs", "data.loader", "its train inputs hold 38400 NaN and 0 infinite values (of 38400); they must be finite"),
        ("dense", "infinite_inputs", "data.loader", "its validation inputs hold 0 NaN and 19200 infinite values"),
        (None, "tiny_digits", "data.loader", "one batch of its train split (inputs (64,) each) does not go through the built-in model"),
    ],
    ids=["3-outputs", "784-vectors", "short-validation", "strings", "labels-100", "labels-Nx2", "nan", "infinite", "built-in-model"],
)
def test_data_that_do_not_fit_the_model_are_refused_before_anything_is_written(
    tmp_path: Path, model: str | None, loader: str | None, setting: str, rule: str
) -> None:
    extra: dict[str, Any] = {}
    if model is not None:
        extra["model"] = f"{__name__}:{model}"
    else:
        extra["space"] = {"width": [16, 32]}  # the built-in model
    if loader is not None:
        extra["data"] = {"loader": f"{__name__}:{loader}"}
    db = tmp_path / "s.db"
    with pytest.raises(ConfigError) as info:
        run_study(own_study(**extra), str(db))
    assert info.value.field == setting and rule in str(info.value), str(info.value)
    assert "\n" not in str(info.value)
    assert not db.exists()


def test_a_failed_trial_stores_the_cause_not_the_graph_execution_error() -> None:
    trainer = KerasTrainer(model=three_outputs, loader=tiny_digits)  # past the checks: every label from 3 up is out of range
    (outcome,) = trainer.train([TrainJob(0, {}, epochs=1, seed=1)], lambda job, result: True)
    assert outcome.state is TrialState.FAIL and outcome.error is not None
    assert outcome.error.startswith("InvalidArgumentError: Received a label value of ") and "valid range of [0, 3)" in outcome.error
    assert "\n" not in outcome.error and "Graph execution error" not in outcome.error
