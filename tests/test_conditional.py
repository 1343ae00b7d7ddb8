"""Conditional spaces through the runner, ask/tell, the store and what reads it (the strategies' own conformance is
in ``test_strategies.py``; the study file's errors in ``test_config.py``)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hpsearch import open_study, run_study
from hpsearch.core.config import parse_study
from hpsearch.read.frames import study_space, trials_frame
from hpsearch.show.export import export_frame
from hpsearch.show.plots.parallel import ABSENT, parallel_axes
from hpsearch.show.tables import trial_table
from hpsearch.store import Store, TrialState
from hpsearch.train.trainer import FunctionTrainer

SPACE = {
    "lr": {"low": 1e-4, "high": 1e-1, "log": True},
    "optimizer": ["adam", "sgd"],
    "momentum": {"low": 0.0, "high": 0.99, "when": {"optimizer": ["sgd"]}},
    "nesterov": {"values": [True, False], "when": {"optimizer": "sgd"}},
}


def objective(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
    """Best near lr = 1e-2 with SGD at a high momentum; reads momentum only where it exists."""
    sgd = params["optimizer"] == "sgd"
    assert ("momentum" in params) == sgd and ("nesterov" in params) == sgd, params
    quality = 1 - 0.1 * abs(math.log10(params["lr"]) + 2) - (0.1 * (1 - params["momentum"]) if sgd else 0.05)
    return {"val_accuracy": quality * (1 - 0.5**epoch)}


def test_a_conditional_study_stores_shows_and_exports_only_the_dimensions_that_exist(tmp_path: Path) -> None:
    url = str(tmp_path / "cond.db")
    config = parse_study({"name": "cond", "strategy": "tpe", "seed": 1, "budget": {"trials": 12, "epochs": 1}, "space": SPACE})
    summary = run_study(config, url, trainer=FunctionTrainer(objective))
    assert [t.state for t in summary.trials] == [TrialState.COMPLETE] * 12
    assert {t.params["optimizer"] for t in summary.trials} == {"adam", "sgd"}
    assert all(config.space.contains(t.params) for t in summary.trials)

    # ask/tell proposes the same way; a told trial is stored as proposed
    with open_study(parse_study({**config.document, "budget": {"trials": 14, "epochs": 1}}), url) as study:  # type: ignore[dict-item]
        for _ in range(2):
            trial = study.ask(wait=False)
            assert trial is not None and config.space.contains(trial.params)
            study.tell(trial, objective(trial.params, 1, 0))

    with Store.open(url, read_only=True) as store:
        record = store.study("cond")
        stored = store.trials(record.id, with_curves=False)
        assert study_space(record) == config.space  # the conditions are stored with the space
        frame = trials_frame(store, "cond")
        exported = export_frame(store, "cond")
    assert len(stored) == 14 and all(config.space.contains(t.params) for t in stored)
    adam = frame[frame["optimizer"] == "adam"]
    assert len(adam) and adam["momentum"].isna().all() and adam["nesterov"].isna().all()  # absent, not made up
    assert exported.loc[exported["optimizer"] == "adam", "momentum"].isna().all()
    table = trial_table(stored).splitlines()
    adam_rows = [line for line in table[2:] if " adam " in line]
    assert adam_rows and all(line.split()[4:6] == ["-", "-"] for line in adam_rows), table  # blank in the table
    axes = {axis.label: axis for axis in parallel_axes(frame.assign(value=frame["value"]), ["cond"])}
    momentum = axes["momentum"]
    assert momentum.ticktext is not None and momentum.ticktext[0] == ABSENT
    assert np.isfinite(momentum.values).all()  # every line is drawn; an Adam trial's crosses at "(absent)"


@pytest.mark.keras
def test_the_built_in_model_searches_sgd_momentum_only_for_sgd_trials(tmp_path: Path) -> None:
    """SGD's momentum and Nesterov flag exist only for SGD trials; those train alone (a population's update has no
    momentum) with Keras's SGD(momentum, nesterov); the others in populations."""
    import hpsearch.train.keras.train as keras_train
    from hpsearch.running.loop import StudyRunner
    from hpsearch.train.keras.model import build_model

    space = {
        "optimizer": ["adam", "sgd"],
        "learning_rate": {"low": 1e-3, "high": 1e-1},
        "momentum": {"values": [0.9], "when": {"optimizer": ["sgd"]}},
        "nesterov": {"values": [True, False], "when": {"optimizer": ["sgd"]}},
    }
    data = {"dataset": "mnist-sample", "train_size": 320, "validation_size": 200}
    budget = {"trials": 4, "epochs": 1}
    config = parse_study({"name": "momentum", "strategy": "random", "seed": 2, "budget": budget, "data": data, "space": space})
    alone: list[tuple[float, bool, int]] = []  # the optimiser of each model the per-trial Keras trainer saved
    save = keras_train.save_checkpoint

    def saved(model: Any, path: Path) -> None:
        alone.append((model.optimizer.momentum, model.optimizer.nesterov, len(model.optimizer.momentums)))
        save(model, path)

    keras_train.save_checkpoint = saved
    try:
        with Store.open(str(tmp_path / "m.db")) as store:
            runner = StudyRunner(config, store)
            summary = runner.run()
            trainer: Any = runner.trainer
    finally:
        keras_train.save_checkpoint = save
    trials = summary.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4 and all(config.space.contains(t.params) for t in trials)
    sgd = [t for t in trials if t.params["optimizer"] == "sgd"]
    assert sgd and len(sgd) < 4 and all(t.params["momentum"] == 0.9 for t in sgd)
    assert trainer.shapes_built  # the Adam trials trained in a population
    # each SGD trial trained alone, by Keras's SGD with its momentum and Nesterov flag (and their slots: kernel and bias of 2 layers)
    assert sorted(alone) == sorted((0.9, t.params["nesterov"], 4) for t in sgd)
    best = build_model(**summary.best.params)
    assert getattr(best.optimizer, "momentum", 0.0) == summary.best.params.get("momentum", 0.0)  # exported as trained


def test_the_built_in_models_per_layer_hyperparameters_exist_only_for_their_layers() -> None:
    from hpsearch.core.errors import ConfigError
    from hpsearch.core.space import parse_space
    from hpsearch.train.population.trainer import trains_alone

    space = parse_space({"layers": [1, 2, 3], "width_2": {"values": [8, 16]}, "dropout_3": {"values": [0.0, 0.4]}})
    assert space.describe()["width_2"]["when"] == {"layers": [2, 3]} and space.describe()["dropout_3"]["when"] == {"layers": [3]}
    points = space.grid()
    assert len(points) == 1 + 2 + 2 * 2  # one layer; two, with each width_2; three, with each width_2 and dropout_3
    assert all(("width_2" in p) == (p["layers"] >= 2) and ("dropout_3" in p) == (p["layers"] == 3) for p in points)
    for spec, rule in (
        ({"width_2": [8]}, "needs `layers = [...]` listing 2 or more; layers is not searched"),
        ({"layers": [1, 2], "width_3": [8]}, "no trial has 3 layers here (layers: 1, 2)"),
    ):
        with pytest.raises(ConfigError, match=re.escape(rule)):
            parse_space(spec)
    # a layer of its own trains alone, by Keras (a population's further layers are as wide as the first)
    params = {"width": 32, "dropout": 0.1, "optimizer": "adam", "learning_rate": 1e-3, "layers": 3}
    assert (
        not trains_alone({**params, "width_2": 32})
        and trains_alone({**params, "width_2": 8})
        and trains_alone({**params, "dropout_3": 0.4})
    )
