"""Ask/tell: trials trained by the caller's own loop (here the toy objective), on real stores."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import hpsearch
from hpsearch import ConfigError, FunctionTrainer, Store, StudyState, TrialState, run_study
from tests.conftest import study_config, toy_metrics

REPO = Path(__file__).resolve().parents[1]
SH = {"rule": "successive_halving", "min_epochs": 1, "reduction_factor": 2}


def _loop(study: hpsearch.AskTellStudy, pause: float = 0.0) -> None:
    """The caller's training loop: each epoch reported, pruned trials told PRUNED."""
    while (trial := study.ask()) is not None:
        for epoch in range(1, trial.epochs + 1):
            time.sleep(pause)
            metrics = toy_metrics(trial.params, epoch, trial.seed)
            if trial.report(epoch, metrics):
                study.tell(trial, "PRUNED")
                break
        else:
            study.tell(trial, metrics)


@pytest.mark.parametrize("pruning", [None, SH], ids=["plain", "successive-halving"])
def test_an_ask_tell_loop_ends_as_hpsearch_run_does(tmp_path: Path, pruning: dict | None) -> None:
    """The same random study through ask/tell and through `hpsearch run` (one trial at a time): the same
    trials, states, values and stored epochs."""
    extra = {"pruning": pruning} if pruning else {}
    config = study_config("random", trials=8, epochs=3, **extra)
    with hpsearch.open_study(config, tmp_path / "asked.db") as study:
        _loop(study)
        asked = study.summary()
    ran = run_study(config, str(tmp_path / "ran.db"), trainer=FunctionTrainer(toy_metrics))
    assert asked.complete and asked.best is not None and asked.best.number == ran.best.number
    assert [(t.params, t.state, t.value, t.epochs_done) for t in asked.trials] == [
        (t.params, t.state, t.value, t.epochs_done) for t in ran.trials
    ]
    if pruning:
        assert {t.state for t in asked.trials} == {TrialState.COMPLETE, TrialState.PRUNED}
    with Store.open(tmp_path / "asked.db", read_only=True) as store:
        epochs = store.epochs(store.study(config.name).id)
    assert len(epochs) == sum(t.epochs_done for t in asked.trials)
    assert all(e.val_accuracy is not None and e.loss is not None for e in epochs)


def test_a_study_is_opened_by_name_or_file_and_bad_reports_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    config = study_config("tpe", trials=2, epochs=2, name="asked")
    with hpsearch.open_study(config, db) as study:
        trial = study.ask()
        with pytest.raises(ConfigError, match=r"metrics = \{'loss': 0.5\}: must hold the study's metric 'val_accuracy'"):
            trial.report(1, {"loss": 0.5})
        with pytest.raises(ValueError, match="epoch 2 reported after epoch 0; report every epoch in order, from 1"):
            trial.report(2, {"val_accuracy": 0.5})
        assert trial.report(1, {"val_accuracy": 0.5}) is False
        # closed without a tell: the trial goes back to the study, to be handed out again
    with hpsearch.open_study("asked", db) as study:
        again = study.ask()
        assert again.number == trial.number and again.record.attempt == 2 and again.params == trial.params
        study.tell(again, {"val_accuracy": 0.7})
        with pytest.raises(ValueError, match=f"trial {again.number} is not open in this study"):
            study.tell(again, "COMPLETE")
        last = study.ask()
        study.tell(last, "FAIL", error="out of memory")
        assert study.ask() is None
        summary = study.summary()
    assert [t.state for t in summary.trials] == [TrialState.COMPLETE, TrialState.FAIL]
    assert summary.best.value == 0.7 and summary.trials[1].error == "out of memory" and summary.complete
    study_file = tmp_path / "asked_file.toml"
    study_file.write_text('strategy = "random"\n[budget]\ntrials = 1\nepochs = 1\n')
    with hpsearch.open_study(study_file, db) as study:
        assert study.name == "asked_file"  # the file's stem names it, as for hpsearch run
        study.tell(study.ask(), {"val_accuracy": 0.6})


_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import hpsearch
    from tests.conftest import study_config, toy_metrics
    from tests.test_ask_tell import _loop
    config = study_config("tpe", trials=int(sys.argv[2]), epochs=2, name="asked")
    with hpsearch.open_study(config, sys.argv[1]) as study:
        if sys.argv[3] == "crash":  # a trial asked, one epoch reported, then the process dies
            trial = study.ask()
            trial.report(1, toy_metrics(trial.params, 1, trial.seed))
            os._exit(1)
        _loop(study, pause=0.1)  # epochs that take a while, so that the scripts overlap
    """
)


def test_a_crashed_script_has_its_open_trial_redone_and_several_scripts_share_the_budget(store_url: str, tmp_path: Path) -> None:
    script = tmp_path / "loop.py"
    script.write_text(_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    crashed = subprocess.run([sys.executable, str(script), store_url, "9", "crash"], env=env, check=False)
    assert crashed.returncode == 1
    with Store.open(store_url, read_only=True) as store:
        (left,) = store.trials(store.study("asked").id)
    assert left.state is TrialState.RUNNING and left.epochs_done == 1
    procs = [subprocess.Popen([sys.executable, str(script), store_url, "9", "loop"], env=env) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    with Store.open(store_url, read_only=True) as store:
        study = store.study("asked")
        trials = store.trials(study.id)
        epochs = store.epochs(study.id)
    assert study.state is StudyState.COMPLETE
    assert [t.number for t in trials] == list(range(9)) and all(t.state is TrialState.COMPLETE for t in trials)
    assert trials[0].attempt == 2 and "abandoned" in trials[0].error and trials[0].params == left.params
    assert len({t.worker_id for t in trials}) >= 2  # the scripts shared the work
    assert len(epochs) == 9 * 2 and len({tuple(sorted(t.params.items())) for t in trials}) == 9


def test_asking_past_the_budget_while_holding_the_open_trials_returns_none(tmp_path: Path) -> None:
    """Ask k, train them side by side, tell k: an ask beyond what is left does not wait for the caller's own trials."""
    with hpsearch.open_study(study_config("random", trials=2, epochs=1), tmp_path / "b.db") as study:
        first, second = study.ask(), study.ask()
        assert study.ask() is None
        report = {"val_accuracy": 0.5, "note": "not a number", "x" * 101: 1.0}  # left out: a string, an overlong name
        first.report(1, report)
        study.tell(first, "COMPLETE")
        study.tell(second, {"val_accuracy": 0.6})
        assert study.ask() is None and study.summary().complete
        with Store.open(tmp_path / "b.db", read_only=True) as store:
            names = {r.name for r in store.metric_rows(store.study(study.name).id)}
    assert names == {"val_accuracy"}


class _SpyRule:
    """A pruning rule that records every consultation and never stops a trial."""

    def __init__(self) -> None:
        self.calls: list[list[float]] = []

    def stops(self, number: int, params: dict, curve: list[float], curves: dict) -> bool:
        self.calls.append(list(curve))
        return False


def test_an_epoch_past_the_budget_or_a_metric_that_is_not_a_real_number_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    config = study_config("random", trials=1, epochs=2, objective={"metric": "val_auc", "direction": "maximize"})
    with hpsearch.open_study(config, db) as study:
        trial = study.ask()
        trial._rule = spy = _SpyRule()
        for bad in ("0.5", True, None):
            with pytest.raises(ConfigError, match=rf"metrics\['val_auc'\] = {bad!r}: must be a real number"):
                trial.report(1, {"val_auc": bad, "loss": 0.3})
        with pytest.raises(ConfigError, match=r"metrics = \{'loss': 0.3\}: must hold the study's metric 'val_auc'"):
            trial.report(1, {"loss": 0.3})
        with pytest.raises(ConfigError, match=r"metrics\['val_auc'\] = '0.7': must be a real number"):
            study.tell(trial, {"val_auc": "0.7"})
        assert spy.calls == [] and trial.epochs_done == 0
        with Store.open(db, read_only=True) as store:
            assert store.epochs(study.study.id) == [] and store.metric_rows(study.study.id) == []
        assert trial.report(1, {"val_auc": 0.5}) is False and trial.report(2, {"val_auc": 0.6}) is False
        assert spy.calls == [[0.5]]  # consulted once (never at the last epoch)
        for epoch in (3, 4):
            with pytest.raises(ConfigError, match=rf"epoch = {epoch}: trial 0 trains at most 2 epochs \(the study's budget.epochs\)"):
                trial.report(epoch, {"val_auc": 0.7})
        study.tell(trial, "COMPLETE")
        (done,) = study.summary().trials
    assert done.state is TrialState.COMPLETE and done.epochs_done == 2 and done.value == 0.6 and done.curve == (0.5, 0.6)


def test_misused_reports_and_tells_are_explained(tmp_path: Path) -> None:
    """A report after tell, a trial told to a study that did not ask it, an unknown state, and COMPLETE without an epoch."""
    db = tmp_path / "s.db"
    a = hpsearch.open_study(study_config("random", trials=2, epochs=2, name="A"), db)
    with a, hpsearch.open_study(study_config("random", trials=2, epochs=2, name="B"), db) as b:
        of_a, of_b = a.ask(), b.ask()
        assert of_a.number == of_b.number == 0
        with pytest.raises(ValueError, match=r"trial 0 was asked by study 'A', not by this study 'B': tell the study that asked it"):
            b.tell(of_a, "FAIL")
        with pytest.raises(ConfigError, match=r"outcome = 'DONE': must be one of COMPLETE, PRUNED or FAIL \(a state\), or the final"):
            a.tell(of_a, "DONE")
        of_a.report(1, {"val_accuracy": 0.5})
        a.tell(of_a, "COMPLETE")
        with pytest.raises(ValueError, match=r"trial 0: epoch 2 reported after the trial ended: it was told already \(COMPLETE\)"):
            of_a.report(2, {"val_accuracy": 0.6})
        with pytest.raises(ValueError, match=r"trial 0 is not open in this study: it was told already \(COMPLETE\)"):
            a.tell(of_a, "FAIL")
        b.tell(of_b, "COMPLETE")  # B's own trial 0 was left open by A's misdirected tell; told with no epoch: FAIL, saying why
        left = a.ask()
    assert b.summary().trials[0].state is TrialState.FAIL
    assert b.summary().trials[0].error == "the model reported no `val_accuracy` (it reported no epoch)"
    with pytest.raises(ValueError, match=r"the study was closed before it was told, and the trial went back to the study to be redone"):
        left.report(1, {"val_accuracy": 0.5})
