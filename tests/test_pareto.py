"""Several objectives end to end: the quickstart Pareto study on the built-in model (population trainer, real digits),
its Pareto set through ``hpsearch best``, ``--json``, ``hpsearch.best()`` and ``export-model --trial``; and the same
through ask/tell."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

import hpsearch
from hpsearch import ConfigError, Store
from hpsearch.cli import main
from hpsearch.core.builtin_model import trainable_params
from hpsearch.core.results import pareto_of
from hpsearch.running.session import summarize
from tests.conftest import study_config, toy_pareto_metrics
from tests.test_strategies import TWO_OBJECTIVES

REPO = Path(__file__).resolve().parents[1]
QUICKSTART_PARETO = REPO / "studies" / "quickstart_pareto.toml"


@pytest.fixture(scope="module")
def pareto_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """studies/quickstart_pareto.toml run once by ``hpsearch run`` (6 NSGA-II trials of 3 epochs on mnist-sample)."""
    db = tmp_path_factory.mktemp("pareto") / "s.db"
    assert main(["run", str(QUICKSTART_PARETO), "--store", str(db), "--quiet"]) == 0
    return db


def test_the_quickstart_pareto_study_ends_with_its_pareto_set_each_evaluated_once(pareto_store: Path) -> None:
    with Store.open(pareto_store, read_only=True) as store:
        summary = summarize(store, "quickstart_pareto")
        epochs = store.epochs(summary.study.id)
    study = summary.study
    assert summary.complete and study.multi_objective and study.strategy == "nsga2"
    assert [(o.metric, o.direction) for o in study.objectives] == [("val_accuracy", "maximize"), ("params", "minimize")]
    # every trial's values are its last epoch's metrics; params is the model's trainable parameter count
    last = {e.trial_number: e.metrics for e in epochs if e.epoch == 3}
    for trial in summary.trials:
        assert trial.values == (last[trial.number]["val_accuracy"], last[trial.number]["params"])
        assert trial.values[1] == trainable_params(trial.params)
    assert [t.number for t in summary.pareto] == [t.number for t in pareto_of(summary.trials, study.objectives)]
    assert len(summary.pareto) >= 2 and summary.best is summary.pareto[0]
    accuracies = [t.values[0] for t in summary.pareto]
    assert accuracies == sorted(accuracies, reverse=True)
    # every Pareto trial, and only those, has its own test evaluation
    assert sorted(summary.tests) == sorted(t.number for t in summary.pareto)
    assert all(0.0 < e.accuracy <= 1.0 for e in summary.tests.values())


def test_best_prints_and_returns_the_pareto_set(pareto_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pareto = hpsearch.best("quickstart_pareto", pareto_store)
    assert isinstance(pareto, list) and len(pareto) >= 2
    assert main(["best", "quickstart_pareto", "--store", str(pareto_store)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Pareto set of quickstart_pareto: {len(pareto)} trial(s)")
    rows = out.splitlines()[3:]
    assert [int(r.split()[0]) for r in rows] == [t.number for t in pareto]
    assert main(["best", "quickstart_pareto", "--store", str(pareto_store), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["trial"] for r in listed] == [t.number for t in pareto]
    assert [(r["val_accuracy"], r["params"]) for r in listed] == [t.values for t in pareto]
    assert all(r["test"]["accuracy"] == r["test_accuracy"] for r in listed)


def test_export_model_needs_a_trial_of_a_study_of_several_objectives(
    pareto_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pareto = hpsearch.best("quickstart_pareto", pareto_store)
    out = tmp_path / "m.keras"
    with pytest.raises(SystemExit) as info:
        main(["export-model", "quickstart_pareto", "--store", str(pareto_store), "--out", str(out)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and not out.exists()
    numbers = ", ".join(str(t.number) for t in pareto)
    assert (
        f"--trial = None: required for quickstart_pareto, a study of several objectives: name a trial of its Pareto set ({numbers})" in err
    )
    smallest = pareto[-1]
    assert (
        main(["export-model", "quickstart_pareto", "--store", str(pareto_store), "--out", str(out), "--trial", str(smallest.number)]) == 0
    )
    assert f"trial {smallest.number} of quickstart_pareto" in capsys.readouterr().out
    model = keras.models.load_model(out)
    assert model.count_params() == trainable_params(smallest.params) and np.isfinite(model.predict(np.zeros((1, 28, 28)), verbose=0)).all()
    with pytest.raises(SystemExit):
        main(["export-model", "quickstart_pareto", "--store", str(pareto_store), "--out", str(out), "--trial", "99"])
    assert "--trial = 99: must be a COMPLETE trial of quickstart_pareto (no such trial" in capsys.readouterr().err


def test_ask_tell_with_two_objectives(tmp_path: Path) -> None:
    """The caller's loop tells both metrics; a tell without one of them is refused in one line and stores nothing."""
    config = study_config("tpe", trials=6, epochs=2, objective=TWO_OBJECTIVES, name="told")
    with hpsearch.open_study(config, str(tmp_path / "s.db")) as study:
        first = study.ask()
        assert first is not None
        with pytest.raises(ConfigError, match=r"metrics = .*: must hold the study's metric 'params'"):
            study.tell(first, {"val_accuracy": 0.5})
        study.tell(first, toy_pareto_metrics(first.params, first.epochs, first.seed))
        while (trial := study.ask()) is not None:
            study.tell(trial, toy_pareto_metrics(trial.params, trial.epochs, trial.seed))
        summary = study.summary()
    assert summary.complete and all(t.values is not None and len(t.values) == 2 for t in summary.trials)
    assert [t.number for t in summary.pareto] == [t.number for t in pareto_of(summary.trials, config.objectives)]
