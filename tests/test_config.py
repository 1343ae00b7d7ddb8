"""Study files: a valid study parses into typed config; every bad input is a precise, one-line ConfigError."""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import pytest

from hpsearch.core.config import (
    Budget,
    DataConfig,
    PruningConfig,
    StudyConfig,
    TrainingConfig,
    load_study,
    parse_duration,
    parse_study,
)
from hpsearch.core.errors import ConfigError
from hpsearch.core.space import Choice, FloatRange, IntRange

REPO = Path(__file__).resolve().parents[1]

FULL_STUDY = """\
name = "full-study.v1"
strategy = "tpe"
seed = 7

[budget]
trials = 20
epochs = 4
timeout = "1h30m"

[data]
dataset = "fashion_mnist"
data_dir = "/data/mnist"
validation_size = 5000
train_size = 20000

[training]
batch_size = 64
steps_per_execution = 10

[pruning]
enabled = true
startup_trials = 3
warmup_epochs = 2

[objective]
metric = "val_loss"

[space]
width = { low = 32, high = 512, log = true }
dropout = { low = 0.0, high = 0.5 }
optimizer = ["adam", "SGD"]
learning_rate = { low = 1e-4, high = 1e-2 }
"""

DELETE = object()


def _base() -> dict:
    return {"name": "t", "strategy": "random", "budget": {"trials": 3, "epochs": 2}}


def _merge(doc: dict, changes: dict) -> dict:
    out = copy.deepcopy(doc)
    for key, value in changes.items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def study(**changes) -> dict:
    """A valid random study document with ``changes`` merged in (``DELETE`` removes a key)."""
    return _merge(_base(), changes)


def write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_line_error(err: ConfigError, field: str, value, rule_part: str) -> None:
    assert err.field == field
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(err.value)
    else:
        assert err.value == value
        assert type(err.value) is type(value)
    assert rule_part in err.rule
    text = str(err)
    assert "\n" not in text and "\r" not in text
    assert field in text
    assert repr(value) in text
    assert err.rule in text


# --------------------------------------------------------------------------- valid studies


def test_full_study_file_parses_into_typed_config(tmp_path):
    path = write(tmp_path, FULL_STUDY)
    config = load_study(path)
    assert isinstance(config, StudyConfig)
    assert config.name == "full-study.v1"
    assert config.strategy == "tpe"
    assert config.seed == 7
    assert config.budget == Budget(trials=20, epochs=4, timeout=5400.0)
    assert config.data == DataConfig(dataset="fashion_mnist", data_dir="/data/mnist", validation_size=5000, train_size=20000)
    assert config.training == TrainingConfig(batch_size=64, steps_per_execution=10)
    assert config.pruning == PruningConfig(enabled=True, startup_trials=3, warmup_epochs=2)
    assert config.metric == "val_loss"
    assert config.direction == "minimize"
    assert config.source == str(path)
    assert config.space["width"] == IntRange("width", 32, 512, log=True)
    assert config.space["dropout"] == FloatRange("dropout", 0.0, 0.5)
    assert config.space["optimizer"] == Choice("optimizer", ("adam", "sgd"))
    assert config.space["learning_rate"] == FloatRange("learning_rate", 1e-4, 1e-2, log=True)


def test_config_is_immutable(tmp_path):
    config = load_study(write(tmp_path, FULL_STUDY))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.budget.trials = 1  # type: ignore[misc]


def test_minimal_study_gets_defaults():
    config = parse_study(study())
    assert config.name == "t"
    assert config.seed == 0
    assert config.budget == Budget(trials=3, epochs=2, timeout=None)
    assert config.data == DataConfig(dataset="mnist-sample", data_dir=None, validation_size=None, train_size=None)
    assert config.training == TrainingConfig(batch_size=32, steps_per_execution=100)
    assert config.pruning == PruningConfig(enabled=False, startup_trials=5, warmup_epochs=1)
    assert (config.metric, config.direction) == ("val_accuracy", "maximize")
    assert config.source is None


def test_pruning_table_without_enabled_turns_pruning_on():
    assert parse_study(study(pruning={"startup_trials": 2})).pruning == PruningConfig(True, 2, 1)
    assert parse_study(study(pruning={"enabled": False})).pruning.enabled is False


def test_several_objectives_are_the_study_s_and_one_keeps_its_old_identity():
    """``metrics`` with their known directions; a list of one is the study of one, with the identity it always had."""
    several = parse_study(study(objective={"metrics": ["val_accuracy", "params"]}))
    assert [(o.metric, o.direction) for o in several.objectives] == [("val_accuracy", "maximize"), ("params", "minimize")]
    assert several.multi_objective and (several.metric, several.direction) == ("val_accuracy", "maximize")
    assert several.identity()["objectives"] == [["val_accuracy", "maximize"], ["params", "minimize"]]
    one = parse_study(study(objective={"metrics": ["val_loss"]}))
    assert not one.multi_objective and one.identity() == parse_study(study(objective={"metric": "val_loss"})).identity()
    assert "objectives" not in one.identity()


def test_quickstart_study_is_valid():
    config = load_study(REPO / "studies" / "quickstart.toml")
    assert config.name == "quickstart"
    assert config.strategy == "random"
    assert config.seed == 42
    assert config.budget == Budget(trials=6, epochs=3)
    assert config.data.dataset == "mnist-sample"
    assert config.space["width"] == IntRange("width", 32, 256, log=True)
    assert config.space["optimizer"] == Choice("optimizer", ("adam", "rmsprop", "sgd", "nadam"))


def test_grid_study_defaults_its_trials_to_the_grid_size():
    doc = study(
        strategy="grid", budget={"trials": DELETE}, space={"width": [16, 32, 64], "dropout": {"low": 0.0, "high": 0.4, "grid_points": 3}}
    )
    assert parse_study(doc).budget.trials == 9


def test_grid_study_may_run_fewer_trials_than_its_size():
    doc = study(strategy="grid", budget={"trials": 2}, space={"width": [16, 32, 64]})
    assert parse_study(doc).budget.trials == 2


def test_name_defaults_to_the_file_stem(tmp_path):
    path = write(tmp_path, 'strategy = "random"\n[budget]\ntrials = 1\nepochs = 1\n', name="my-study_2.toml")
    assert load_study(path).name == "my-study_2"


def test_name_in_file_wins_over_file_stem(tmp_path):
    path = write(tmp_path, 'name = "inner"\nstrategy = "random"\n[budget]\ntrials = 1\nepochs = 1\n', name="outer.toml")
    assert load_study(path).name == "inner"


@pytest.mark.parametrize("name", ["a", "A1", "9lives", "with_underscore", "dots.and-dashes", "x" * 100])
def test_valid_study_names(name):
    assert parse_study(study(name=name)).name == name


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [("90s", 90.0), ("30m", 1800.0), ("1h30m", 5400.0), ("1h", 3600.0), ("2m30s", 150.0), (45, 45.0), (2.5, 2.5), ("90", 90.0)],
)
def test_good_timeouts_become_seconds(timeout, seconds):
    config = parse_study(study(budget={"timeout": timeout}))
    assert config.budget.timeout == seconds
    assert type(config.budget.timeout) is float
    assert parse_duration("x", timeout) == seconds


# --------------------------------------------------------------------------- bad inputs

BAD = [
    # unknown keys
    ("unknown-top-level-key", study(optimiser="adam"), "optimiser", "adam", "unknown key"),
    ("unknown-budget-key", study(budget={"epoch": 5}), "budget.epoch", 5, "unknown key"),
    ("unknown-data-key", study(data={"datset": "mnist"}), "data.datset", "mnist", "unknown key"),
    ("unknown-training-key", study(training={"batchsize": 32}), "training.batchsize", 32, "unknown key"),
    ("unknown-pruning-key", study(pruning={"enable": True}), "pruning.enable", True, "unknown key"),
    ("unknown-objective-key", study(objective={"metricz": "val_loss"}), "objective.metricz", "val_loss", "unknown key"),
    # several objectives
    ("objectives-not-a-list", study(objective={"metrics": "val_loss"}), "objective.metrics", "val_loss", "a list of 1 to 3"),
    (
        "objectives-too-many",
        study(objective={"metrics": ["val_loss", "params", "epoch_seconds", "loss"]}),
        "objective.metrics",
        ["val_loss", "params", "epoch_seconds", "loss"],
        "a list of 1 to 3",
    ),
    ("objective-twice", study(objective={"metrics": ["loss", "loss"]}), "objective.metrics", ["loss", "loss"], "names 'loss' twice"),
    ("objective-metric-and-metrics", study(objective={"metric": "loss", "metrics": ["loss"]}), "objective.metric", "loss", "use metrics"),
    ("objective-directions-alone", study(objective={"directions": ["maximize"]}), "objective.directions", ["maximize"], "goes with"),
    (
        "objective-directions-length",
        study(objective={"metrics": ["val_accuracy", "params"], "directions": ["maximize"]}),
        "objective.directions",
        ["maximize"],
        "a list of 2 directions",
    ),
    ("objective-unknown-direction", study(objective={"metrics": ["val_accuracy", "val_auc"]}), "objective.directions[1]", None, "required"),
    (
        "objective-bad-direction",
        study(objective={"metrics": ["val_accuracy", "params"], "directions": ["maximize", "down"]}),
        "objective.directions[1]",
        "down",
        "maximize or minimize",
    ),
    ("objective-a-dimension", study(objective={"metrics": ["val_accuracy", "width"]}), "objective.metrics[1]", "width", "dimension"),
    (
        "objectives-with-a-strategy-of-one",
        study(strategy="gp", objective={"metrics": ["val_accuracy", "params"]}),
        "strategy",
        "gp",
        "runs grid, random, tpe, qmc, nsga2",
    ),
    (
        "objectives-with-pruning",
        study(objective={"metrics": ["val_accuracy", "params"]}, pruning={"enabled": True}),
        "pruning.enabled",
        True,
        "compares trials on one objective",
    ),
    ("unknown-space-width-key", study(space={"width": {"low": 16, "high": 64, "step": 8}}), "space.width.step", 8, "unknown key"),
    (
        "unknown-space-optimizer-key",
        study(space={"optimizer": {"values": ["adam"], "weights": [1]}}),
        "space.optimizer.weights",
        [1],
        "unknown key",
    ),
    ("reserved-dimension-name", study(space={"value": 0.9}), "space.value", 0.9, "keeps for itself"),
    ("model-not-a-path", study(model="build"), "model", "build", "package.module:function"),
    (
        "loader-with-dataset",
        study(model="m:f", space={"a": [1, 2]}, data={"loader": "m:g", "dataset": "mnist"}),
        "data.dataset",
        "mnist",
        "splits its data itself",
    ),
    # conditions (`when`): what they name, their values, circles, and the built-in model's space
    (
        "when-unknown-dimension",
        study(model="m:f", space={"a": [1, 2], "b": {"low": 0, "high": 1, "when": {"c": [1]}}}),
        "space.b.when.c",
        [1],
        "names no dimension of this space; a condition names one of listed values: a",
    ),
    (
        "when-on-a-range",
        study(model="m:f", space={"a": {"low": 0, "high": 3}, "b": {"low": 0, "high": 1, "when": {"a": [1]}}}),
        "space.b.when.a",
        [1],
        "a is a range",
    ),
    (
        "when-value-not-taken",
        study(model="m:f", space={"a": ["sgd", "adam"], "b": {"low": 0, "high": 1, "when": {"a": "sdg"}}}),
        "space.b.when.a",
        ["sdg"],
        "'sdg' is not a value of a (one of 'sgd', 'adam')",
    ),
    (
        "when-circle",
        study(model="m:f", space={"a": {"values": [1, 2], "when": {"b": [1]}}, "b": {"values": [1, 2], "when": {"a": [1]}}}),
        "space.a.when",
        {"b": [1]},
        "makes a circle: a -> b -> a",
    ),
    (
        "inherit-unknown",
        study(strategy="pbt", budget=DELETE, pbt={"epochs": 2, "inherit": ["depth"]}),
        "pbt.inherit[0]",
        "depth",
        "not a dimension",
    ),
    # tables that are not tables
    ("budget-not-a-table", study(budget=5), "budget", 5, "must be a table"),
    ("space-not-a-table", study(space="wide"), "space", "wide", "must be a table"),
    # wrong types
    ("float-width-low", study(space={"width": {"low": 16.0, "high": 64}}), "space.width.low", 16.0, "must be an integer in [1, 65536]"),
    ("bool-width-in-values", study(space={"width": [16, False]}), "space.width.values[1]", False, "must be an integer in [1, 65536]"),
    (
        "bool-grid-points",
        study(space={"width": {"low": 16, "high": 64, "grid_points": True}}),
        "space.width.grid_points",
        True,
        "must be an integer in [1, 1000]",
    ),
    ("string-log", study(space={"width": {"low": 16, "high": 64, "log": "yes"}}), "space.width.log", "yes", "true or false"),
    ("string-pruning-enabled", study(pruning={"enabled": "yes"}), "pruning.enabled", "yes", "true or false"),
    ("int-data-dir", study(data={"data_dir": 5}), "data.data_dir", 5, "path"),
    # out of range and wrong-type numbers: generated from hpsearch.core.limits in tests/test_limits.py; here
    # only the field names of values inside ranges and lists
    # empty and inverted ranges
    ("empty-values", study(space={"width": {"values": []}}), "space.width.values", [], "non-empty list"),
    ("empty-bare-list", study(space={"dropout": []}), "space.dropout.values", [], "non-empty list"),
    ("equal-bounds", study(space={"width": {"low": 64, "high": 64}}), "space.width", {"low": 64, "high": 64}, "low < high"),
    ("inverted-width", study(space={"width": {"low": 128, "high": 16}}), "space.width", {"low": 128, "high": 16}, "low < high"),
    ("inverted-dropout", study(space={"dropout": {"low": 0.5, "high": 0.1}}), "space.dropout", {"low": 0.5, "high": 0.1}, "low < high"),
    (
        "inverted-learning-rate",
        study(space={"learning_rate": {"low": 1e-2, "high": 1e-4}}),
        "space.learning_rate",
        {"low": 1e-2, "high": 1e-4},
        "low < high",
    ),
    ("range-without-high", study(space={"width": {"low": 16}}), "space.width.high", None, "needs both"),
    ("range-without-low", study(space={"dropout": {"high": 0.5}}), "space.dropout.low", None, "needs both"),
    ("values-and-range", study(space={"width": {"values": [16], "low": 8}}), "space.width", {"values": [16], "low": 8}, "not both"),
    (
        "repeated-values",
        study(space={"optimizer": ["adam", "sgd", "adam"]}),
        "space.optimizer.values",
        ["adam", "sgd", "adam"],
        "must not repeat",
    ),
    (
        "zero-grid-points",
        study(space={"dropout": {"low": 0.0, "high": 0.5, "grid_points": 0}}),
        "space.dropout.grid_points",
        0,
        "in [1, 1000]",
    ),
    # dropout outside [0, 1)
    ("dropout-high-one", study(space={"dropout": {"low": 0.0, "high": 1.0}}), "space.dropout.high", 1.0, "[0, 1)"),
    ("dropout-low-negative", study(space={"dropout": {"low": -0.1, "high": 0.5}}), "space.dropout.low", -0.1, "[0, 1)"),
    ("dropout-one-in-values", study(space={"dropout": [0.1, 1.0]}), "space.dropout.values[1]", 1.0, "[0, 1)"),
    ("dropout-negative-in-values", study(space={"dropout": {"values": [-0.1, 0.2]}}), "space.dropout.values[0]", -0.1, "[0, 1)"),
    # non-positive learning rate and width
    ("zero-learning-rate-low", study(space={"learning_rate": {"low": 0.0, "high": 1e-2}}), "space.learning_rate.low", 0.0, "in (0, 10]"),
    ("zero-learning-rate-in-values", study(space={"learning_rate": [1e-3, 0]}), "space.learning_rate.values[1]", 0, "in (0, 10]"),
    ("zero-width-low", study(space={"width": {"low": 0, "high": 64}}), "space.width.low", 0, "in [1, 65536]"),
    ("zero-width-in-values", study(space={"width": [32, 0]}), "space.width.values[1]", 0, "in [1, 65536]"),
    # optimizer
    ("unknown-optimizer", study(space={"optimizer": "adamx"}), "space.optimizer", "adamx", "must be one of"),
    (
        "unknown-optimizer-in-values",
        study(space={"optimizer": ["adam", "rmsprops"]}),
        "space.optimizer.values[1]",
        "rmsprops",
        "must be one of",
    ),
    ("non-string-optimizer", study(space={"optimizer": 3}), "space.optimizer", 3, "must be one of"),
    ("optimizer-range", study(space={"optimizer": {"low": 1, "high": 2}}), "space.optimizer", {"low": 1, "high": 2}, "choice"),
    # strategy
    ("unknown-strategy", study(strategy="bayes"), "strategy", "bayes", "must be one of grid, random, tpe"),
    ("missing-strategy", study(strategy=DELETE), "strategy", None, "required"),
    # budget rules
    ("missing-epochs", study(budget={"epochs": DELETE}), "budget.epochs", None, "required"),
    ("random-without-trials", study(budget={"trials": DELETE}), "budget.trials", None, "required for a random study"),
    ("tpe-without-trials", study(strategy="tpe", budget={"trials": DELETE}), "budget.trials", None, "required for a tpe study"),
    (
        "grid-continuous-without-grid-points",
        study(strategy="grid", budget={"trials": DELETE}, space={"dropout": {"low": 0.0, "high": 0.5}}),
        "space.dropout.grid_points",
        None,
        "grid_points",
    ),
    (
        "grid-int-range-without-grid-points",
        study(strategy="grid", budget={"trials": DELETE}, space={"width": {"low": 16, "high": 64}}),
        "space.width.grid_points",
        None,
        "grid_points",
    ),
    (
        "grid-budget-larger-than-grid",
        study(strategy="grid", budget={"trials": 7}, space={"width": [16, 32], "optimizer": ["adam", "sgd", "nadam"]}),
        "budget.trials",
        7,
        "this grid has 6 points",
    ),
    # log scale
    (
        "log-dropout-low-zero",
        study(space={"dropout": {"low": 0.0, "high": 0.5, "log": True}}),
        "space.dropout.low",
        0.0,
        "log-scale range needs low > 0",
    ),
    # timeouts
    ("timeout-abc", study(budget={"timeout": "abc"}), "budget.timeout", "abc", "duration"),
    ("timeout-minus-five-string", study(budget={"timeout": "-5"}), "budget.timeout", "-5", "duration"),
    ("timeout-zero-seconds", study(budget={"timeout": "0s"}), "budget.timeout", "0s", "over 0 s"),
    ("timeout-empty", study(budget={"timeout": ""}), "budget.timeout", "", "duration"),
    ("timeout-unit-typo", study(budget={"timeout": "30min"}), "budget.timeout", "30min", "duration"),
    # data and objective
    ("unknown-dataset", study(data={"dataset": "cifar10"}), "data.dataset", "cifar10", "must be one of"),
    ("metric-without-direction", study(objective={"metric": "val_auc"}), "objective.direction", None, "required for metric"),
    ("bad-direction", study(objective={"metric": "val_auc", "direction": "up"}), "objective.direction", "up", "maximize or minimize"),
    # names
    ("name-leading-dash", study(name="-bad"), "name", "-bad", "letters, digits"),
    ("name-with-space", study(name="my study"), "name", "my study", "letters, digits"),
    ("name-empty", study(name=""), "name", "", "letters, digits"),
    ("name-too-long", study(name="x" * 101), "name", "x" * 101, "1-100"),
    ("name-with-slash", study(name="a/b"), "name", "a/b", "letters, digits"),
    ("name-not-a-string", study(name=5), "name", 5, "letters, digits"),
    ("name-missing", study(name=DELETE), "name", None, "needs a name"),
]


@pytest.mark.parametrize(("doc", "field", "value", "rule_part"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_study_is_rejected_with_field_value_and_rule(doc, field, value, rule_part):
    with pytest.raises(ConfigError) as info:
        parse_study(doc)
    assert_one_line_error(info.value, field, value, rule_part)


@pytest.mark.parametrize(
    ("space", "field", "value", "rule_part"),
    [
        (
            {"optimizer": ["adam", "sgd"], "width": {"low": 16, "high": 64, "when": {"optimizer": ["sgd"]}}},
            "space.width.when",
            {"optimizer": ["sgd"]},
            "needs width, dropout, optimizer, learning_rate in every trial",
        ),
        (
            {"optimizer": ["adam", "sgd"], "momentum": {"low": 0.0, "high": 0.9}},
            "space.momentum",
            {"kind": "FloatRange", "low": 0.0, "high": 0.9, "log": False, "grid_points": None},
            'is SGD\'s, and this space also draws adam: write it as a table with when = { optimizer = ["sgd"] }',
        ),
    ],
    ids=["condition-on-a-core-hyperparameter", "momentum-for-every-optimizer"],
)
def test_the_built_in_model_refuses_conditions_it_cannot_train(space, field, value, rule_part):
    from hpsearch.train.choice import check_builtin_study

    with pytest.raises(ConfigError) as info:
        check_builtin_study(parse_study(study(space=space)))
    assert_one_line_error(info.value, field, value, rule_part)


def test_nan_dropout_is_rejected_as_not_finite():
    with pytest.raises(ConfigError) as info:
        parse_study(study(space={"dropout": {"low": 0.0, "high": float("nan")}}))
    assert_one_line_error(info.value, "space.dropout.high", float("nan"), "finite")


def test_bad_study_file_error_names_the_file(tmp_path):
    path = write(tmp_path, 'name = "x"\nstrategy = "random"\n[budget]\ntrials = 2\nepochs = "3"\n')
    with pytest.raises(ConfigError) as info:
        load_study(path)
    err = info.value
    rule = "must be an integer in [1, 10000] (more epochs than a study could ever run)"
    assert (err.field, err.value, err.rule, err.source) == ("budget.epochs", "3", rule, str(path))
    assert str(err) == f"{path}: budget.epochs = '3': {rule}"


def test_bad_toml_types_from_a_file(tmp_path):
    path = write(tmp_path, 'strategy = "random"\n[budget]\ntrials = 2\nepochs = 2\n[space]\nwidth = 64.0\n', name="typed.toml")
    with pytest.raises(ConfigError) as info:
        load_study(path)
    assert (info.value.field, info.value.value) == ("space.width", 64.0)


def test_bad_name_from_file_stem_is_rejected(tmp_path):
    path = write(tmp_path, 'strategy = "random"\n[budget]\ntrials = 1\nepochs = 1\n', name="bad name.toml")
    with pytest.raises(ConfigError) as info:
        load_study(path)
    assert_one_line_error(info.value, "name", "bad name", "letters, digits")


def test_invalid_toml_is_a_config_error_naming_the_file(tmp_path):
    path = write(tmp_path, 'name = "x"\nstrategy = random\n')
    with pytest.raises(ConfigError) as info:
        load_study(path)
    err = info.value
    assert err.field == "study file"
    assert err.value == str(path)
    assert err.rule.startswith("is not valid TOML (")
    assert "line 2" in err.rule
    assert "\n" not in str(err)
    assert str(path) in str(err)


def test_duplicate_toml_key_is_invalid_toml(tmp_path):
    path = write(tmp_path, 'strategy = "random"\nstrategy = "grid"\n')
    with pytest.raises(ConfigError) as info:
        load_study(path)
    assert info.value.field == "study file"
    assert "is not valid TOML" in info.value.rule


def test_non_utf8_file_is_invalid_toml(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_study(path)
    assert (info.value.field, info.value.value) == ("study file", str(path))
    assert "is not valid TOML" in info.value.rule


def test_missing_file_is_a_config_error(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_study(path)
    assert_one_line_error(info.value, "study file", str(path), "no such file")


def test_directory_is_not_a_study_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_study(tmp_path)
    assert (info.value.field, info.value.rule) == ("study file", "is a directory; name the study's .toml file in it")  # not "no such file"


def test_config_error_is_a_value_error_with_a_one_line_message():
    err = ConfigError("space.dropout.high", 1.0, "dropout is a probability and must be in [0, 1)")
    assert isinstance(err, ValueError)
    assert str(err) == "space.dropout.high = 1.0: dropout is a probability and must be in [0, 1)"
    assert str(err.with_source("s.toml")) == "s.toml: space.dropout.high = 1.0: dropout is a probability and must be in [0, 1)"


def test_value_with_newline_stays_on_one_line():
    with pytest.raises(ConfigError) as info:
        parse_study(study(strategy="ran\ndom"))
    assert "\n" not in str(info.value)
    assert "'ran\\ndom'" in str(info.value)


def test_name_with_trailing_newline_is_rejected():
    with pytest.raises(ConfigError) as info:
        parse_study(study(name="quick\n"))
    assert info.value.field == "name"


def test_nan_timeout_is_rejected():
    with pytest.raises(ConfigError) as info:
        parse_study(study(budget={"timeout": float("nan")}))
    assert info.value.field == "budget.timeout"


def test_zero_timeout_string_error_reports_the_given_value():
    with pytest.raises(ConfigError) as info:
        parse_study(study(budget={"timeout": "0"}))
    assert_one_line_error(info.value, "budget.timeout", "0", "over 0 s")


# --------------------------------------------------------------------------- identity


def _identity(**changes):
    return parse_study(study(**changes)).identity()


def test_identity_ignores_trials_timeout_and_data_dir():
    base = _identity()
    assert _identity(budget={"trials": 50}) == base
    assert _identity(budget={"timeout": "30m"}) == base
    assert _identity(data={"data_dir": "/elsewhere"}) == base
    assert _identity(budget={"trials": 9, "timeout": 10}, data={"data_dir": "/x"}) == base
    assert "data_dir" not in base["data"]


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"seed": 1}, "seed"),
        ({"space": {"width": [16, 32]}}, "space"),
        ({"space": {"dropout": {"low": 0.0, "high": 0.5}}}, "space"),
        ({"budget": {"epochs": 3}}, "epochs"),
        ({"strategy": "tpe"}, "strategy"),
        ({"data": {"dataset": "mnist"}}, "data"),
        ({"data": {"train_size": 100}}, "data"),
        ({"training": {"batch_size": 64}}, "training"),
        ({"pruning": {"enabled": True}}, "pruning"),
        ({"objective": {"metric": "val_loss"}}, "metric"),
    ],
    ids=["seed", "space-values", "space-range", "epochs", "strategy", "dataset", "train-size", "batch-size", "pruning", "metric"],
)
def test_identity_changes_with_the_search(changes, key):
    base, other = _identity(), _identity(**changes)
    assert base != other
    assert [k for k in base if base[k] != other[k]] == [key]


def test_identity_values_are_what_the_file_says():
    ident = parse_study(study(seed=5, budget={"epochs": 4}, space={"width": [16, 32]})).identity()
    assert ident["seed"] == 5
    assert ident["epochs"] == 4
    assert ident["strategy"] == "random"
    assert ident["space"]["width"] == {"kind": "Choice", "values": [16, 32]}
    assert ident["metric"] == "val_accuracy"


def test_to_dict_adds_name_budget_and_direction_to_identity():
    config = parse_study(study(budget={"timeout": "1m"}))
    d = config.to_dict()
    assert d["name"] == "t"
    assert d["budget"] == {"trials": 3, "epochs": 2, "timeout": 60.0}
    assert d["direction"] == "maximize"
    assert d["document"]["budget"] == {"trials": 3, "epochs": 2, "timeout": "1m"}  # the study file as written, for workers
    assert d["source"] is None  # parsed from a dict; a study file's absolute path otherwise (its own model is imported beside it)
    assert {k: v for k, v in d.items() if k not in ("name", "budget", "direction", "document", "source")} == config.identity()


def test_strategy_tables_are_validated_with_the_field_the_value_and_the_rule() -> None:
    from tests.conftest import study_config

    assert study_config("evolution", evolution={"population": 6}).options.population == 6
    assert study_config("gp").options.startup_trials == 8  # defaults when the table is left out
    with pytest.raises(ConfigError, match=r"evolution = .*only goes with strategy = .evolution. \(this study is tpe\)"):
        study_config("tpe", evolution={"population": 6})
    with pytest.raises(ConfigError, match=r"cmaes.popsize = 6: unknown key; expected one of population, sigma"):
        study_config("cmaes", cmaes={"popsize": 6})
    with pytest.raises(ConfigError, match=r"evolution.mutation = 1.5: must be"):
        study_config("evolution", evolution={"mutation": 1.5})
    with pytest.raises(ConfigError, match=r"evolution.tournament = 20: a tournament draws from one generation and its elites"):
        study_config("evolution", evolution={"tournament": 20})
    with pytest.raises(ConfigError, match=r"space = .*cmaes needs a dimension with more than one value"):
        study_config("cmaes", space={"optimizer": "adam"})


@pytest.mark.parametrize("path", sorted((REPO / "studies").glob("*.toml")), ids=lambda p: p.stem)
def test_every_study_file_in_the_repository_is_valid(path: Path) -> None:
    config = load_study(path)
    assert config.name == path.stem
    if config.builtin_model:
        from hpsearch.train.choice import check_builtin_study

        check_builtin_study(config)  # what the built-in model refuses before a run (its conditions too)
    if path.stem.startswith("quickstart"):
        assert config.data.dataset == "mnist-sample"  # runs offline, in seconds


def test_a_strategy_table_is_parsed_by_its_own_module_and_keeps_its_old_names() -> None:
    """[gp], [pbt] ... are the options types of the strategies' modules; the names the API had still work."""
    from hpsearch.core import config as core_config
    from hpsearch.search.strategies import GPConfig, PBTConfig
    from tests.conftest import study_config

    assert core_config.GPConfig is GPConfig and core_config.PBTConfig is PBTConfig
    assert core_config.STRATEGIES == ("grid", "random", "tpe", "gp", "evolution", "cmaes", "qmc", "pbt", "nsga2")
    gp = study_config("gp", gp={"candidates": 50})
    assert gp.options == GPConfig(candidates=50) and gp.table("gp") is gp.options and gp.pbt is None and gp.table("pbt") is None
    pbt = study_config("pbt")
    assert isinstance(pbt.pbt, PBTConfig) and pbt.pbt is pbt.options and pbt.budget.trials == pbt.pbt.n_trials
    assert study_config("random").options is None and study_config("grid", trials=None).options is None
    with pytest.raises(AttributeError):
        core_config.NoSuchConfig  # noqa: B018


def test_more_evolution_elites_than_a_generation_are_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hpsearch import cli
    from tests.conftest import study_config

    assert study_config("evolution", evolution={"population": 4, "elites": 4}).options.elites == 4
    with pytest.raises(ConfigError, match=r"^evolution.elites = 10: at most evolution.population \(4\): "):
        study_config("evolution", evolution={"population": 4, "elites": 10})
    study = tmp_path / "evo.toml"
    study.write_text('strategy = "evolution"\n[budget]\ntrials = 8\nepochs = 1\n[evolution]\npopulation = 4\nelites = 10\n')
    with pytest.raises(SystemExit) as info:
        cli.main(["validate", str(study)])
    lines = capsys.readouterr().err.splitlines()
    assert info.value.code == 2 and len(lines) == 1 and lines[0].startswith(f"hpsearch: error: {study}: evolution.elites = 10: ")


def test_a_built_in_metric_against_its_direction_is_warned_about_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    from hpsearch import cli
    from hpsearch.core.errors import ConfigWarning

    def study(metric: str, direction: str | None = None) -> dict[str, object]:
        objective = {"metric": metric, **({"direction": direction} if direction else {})}
        return {"strategy": "random", "budget": {"trials": 2, "epochs": 1}, "objective": objective}

    with pytest.warns(ConfigWarning, match=r"^objective.direction = 'maximize': val_loss is a metric to minimize .* the worst model"):
        assert parse_study(study("val_loss", "maximize"), default_name="s").direction == "maximize"  # a warning, not a refusal
    with pytest.warns(ConfigWarning, match=r"^s.toml: objective.direction = 'minimize': accuracy is a metric to maximize"):
        parse_study(study("accuracy", "minimize"), default_name="s", source="s.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # none of these warns
        parse_study(study("val_loss"), default_name="s")
        parse_study(study("val_loss", "minimize"), default_name="s")
        parse_study(study("val_auc", "maximize"), default_name="s")
    path = tmp_path / "loss.toml"
    path.write_text('strategy = "random"\n[budget]\ntrials = 2\nepochs = 1\n[objective]\nmetric = "val_loss"\ndirection = "maximize"\n')
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert cli.main(["validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"hpsearch: warning: {path}: objective.direction = 'maximize': val_loss is a metric to minimize (the best model has the "
        "lowest); this study looks for the highest val_loss, the worst model: leave direction out, or set it to 'minimize'"
    ]
    assert "valid" in captured.out


# --------------------------------------------------------------------------- study-file messages (issue 20, item 13)


def test_a_study_file_whose_path_has_a_newline_is_named_in_one_line(tmp_path):
    path = write(tmp_path, 'name = "x"\nstrategy = "nope"\n', name="bad\nname.toml")
    with pytest.raises(ConfigError) as info:
        load_study(path)
    assert "\n" not in str(info.value) and str(info.value).startswith(f"{str(path)!r}: strategy = 'nope': ")


def test_a_dimension_the_built_in_model_lacks_is_shown_as_the_study_file_wrote_it():
    from hpsearch.train.choice import check_builtin_study

    for written in ([0.9], {"low": 0.1, "high": 0.9}):
        config = parse_study({"name": "x", "strategy": "random", "budget": {"trials": 2, "epochs": 1}, "space": {"beta_2": written}})
        with pytest.raises(ConfigError) as info:
            check_builtin_study(config)
        assert (info.value.field, info.value.value) == ("space.beta_2", written)
