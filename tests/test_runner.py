"""The study loop with a toy objective (no TensorFlow): budgets, resume, failures, pruning, kills."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hpsearch import FunctionTrainer, RunOptions, Store, StudyState, TooManyFailuresError, TrialState, run_study
from hpsearch.running.session import summarize
from hpsearch.search.strategies import STRATEGY_CLASSES
from tests.conftest import kill_when, study_config, toy_metrics, toy_pareto_metrics
from tests.test_strategies import CONDITIONAL_SPACE, TWO_OBJECTIVES

ALL = sorted(STRATEGY_CLASSES)


def _params_key(params: dict) -> tuple:
    return tuple(sorted(params.items()))


@pytest.mark.parametrize("name", ALL)
def test_a_study_ends_with_exactly_its_budget(name: str, store_url: str, toy_trainer: FunctionTrainer) -> None:
    config = study_config(name, trials=8)
    summary = run_study(config, store_url, trainer=toy_trainer)
    n = summary.study.n_trials
    assert summary.complete and n == (8 if name != "pbt" else 4 * 2)
    assert [t.number for t in summary.trials] == list(range(n))
    assert all(t.state is TrialState.COMPLETE and t.epochs_done == t.epochs for t in summary.trials)
    assert summary.best.value == max(t.value for t in summary.trials if t.end_epoch == 2)
    # every epoch is in the store
    with Store.open(store_url) as store:
        assert len(store.epochs(summary.study.id)) == sum(t.epochs for t in summary.trials)
    # running again does nothing more
    again = run_study(config, store_url, trainer=toy_trainer)
    assert [t.id for t in again.trials] == [t.id for t in summary.trials]


@pytest.mark.parametrize("name", ALL)
def test_interrupted_and_resumed_study_equals_an_uninterrupted_one(name: str, tmp_path: Path, toy_trainer: FunctionTrainer) -> None:
    config = study_config(name, trials=7)
    whole = run_study(config, str(tmp_path / "whole.db"), trainer=toy_trainer)

    calls = {"n": 0}

    def flaky(params: dict, epoch: int, seed: int) -> dict:
        calls["n"] += 1
        if calls["n"] in (4, 9):  # interrupt twice, in the middle of trials
            raise KeyboardInterrupt
        return toy_metrics(params, epoch, seed)

    path = str(tmp_path / "resumed.db")
    for _ in range(2):
        with pytest.raises(KeyboardInterrupt):
            run_study(config, path, trainer=FunctionTrainer(flaky))
    resumed = run_study(config, path, trainer=FunctionTrainer(flaky))
    assert resumed.complete
    assert [(t.number, t.params, t.value) for t in resumed.trials] == [(t.number, t.params, t.value) for t in whole.trials]
    assert max(t.attempt for t in resumed.trials) == 2  # the interrupted trials were redone


def test_grid_points_never_repeat_across_resumes(tmp_path: Path, toy_trainer: FunctionTrainer) -> None:
    config = study_config("grid", trials=None)
    path = str(tmp_path / "grid.db")
    for timeout in (0.05, 0.05):  # stop after a few trials, twice
        run_study(config, path, trainer=FunctionTrainer(toy_metrics, delay=0.02), options=RunOptions(timeout=timeout))
    summary = run_study(config, path, trainer=toy_trainer)
    keys = [_params_key(t.params) for t in summary.trials]
    assert len(keys) == len(set(keys)) == len(config.space.grid()) == summary.study.n_trials


def test_raising_the_budget_extends_the_study(tmp_path: Path, toy_trainer: FunctionTrainer) -> None:
    path = str(tmp_path / "s.db")
    run_study(study_config("random", trials=3), path, trainer=toy_trainer)
    summary = run_study(study_config("random", trials=5), path, trainer=toy_trainer)
    assert len(summary.trials) == 5 and summary.complete


def test_a_failing_trial_is_recorded_and_the_study_goes_on(tmp_path: Path) -> None:
    def objective(params: dict, epoch: int, seed: int) -> dict:
        if params["optimizer"] == "sgd" and params["width"] == 32:
            raise RuntimeError("boom")
        if params["optimizer"] == "sgd" and params["width"] == 64 and epoch == 2:
            return {"loss": math.nan, "val_accuracy": 0.1}
        return toy_metrics(params, epoch, seed)

    summary = run_study(study_config("grid", trials=None), str(tmp_path / "s.db"), trainer=FunctionTrainer(objective))
    failed = [t for t in summary.trials if t.state is TrialState.FAIL]
    assert summary.complete and len(failed) == 8  # 2 widths x 2 dropouts x 2 learning rates with sgd
    assert {("boom" in t.error) for t in failed if t.params["width"] == 32} == {True}
    assert {("loss became nan at epoch 2" in t.error) for t in failed if t.params["width"] == 64} == {True}
    assert all(t.value is None for t in failed)


def test_several_failures_in_a_row_stop_the_study(tmp_path: Path) -> None:
    def broken(params: dict, epoch: int, seed: int) -> dict:
        raise ValueError("data pipeline broken")

    path = str(tmp_path / "s.db")
    with pytest.raises(TooManyFailuresError, match="3 trials failed in a row.*data pipeline broken"):
        run_study(study_config("random", trials=10), path, trainer=FunctionTrainer(broken))
    with Store.open(path, read_only=True) as store:
        study = store.study("toy-random")
        assert study.state is StudyState.STOPPED and "data pipeline broken" in study.stop_reason
        assert len(store.trials(study.id)) == 3
    # fixed and re-run with --retry-failed: the failures are redone and the study completes
    summary = run_study(
        study_config("random", trials=10), path, trainer=FunctionTrainer(toy_metrics), options=RunOptions(retry_failed=True)
    )
    assert summary.complete and all(t.state is TrialState.COMPLETE for t in summary.trials)


def test_median_pruning_stops_poor_trials(tmp_path: Path) -> None:
    config = study_config("random", trials=20, epochs=4, pruning={"enabled": True, "startup_trials": 3, "warmup_epochs": 1})
    summary = run_study(config, str(tmp_path / "s.db"), trainer=FunctionTrainer(toy_metrics))
    pruned = [t for t in summary.trials if t.state is TrialState.PRUNED]
    complete = [t for t in summary.trials if t.state is TrialState.COMPLETE]
    assert pruned and complete
    assert all(t.epochs_done < 4 for t in pruned)
    assert summary.finished == 20


_KILLABLE = textwrap.dedent(
    """
    import json, sys
    from hpsearch import FunctionTrainer, RunOptions, run_study
    from tests.conftest import study_config, toy_metrics_for
    config = study_config(sys.argv[2], trials=int(sys.argv[3]), epochs=3, **json.loads(sys.argv[5]))
    run_study(config, sys.argv[1], trainer=FunctionTrainer(toy_metrics_for(config), delay=float(sys.argv[6]), max_jobs=int(sys.argv[4])))
    """
)

_SH = {"pruning": {"rule": "successive_halving", "min_epochs": 1, "reduction_factor": 3}}
_HB = {"pruning": {"rule": "hyperband", "min_epochs": 1, "reduction_factor": 3}}


@pytest.mark.parametrize(
    ("name", "batch", "extra"),
    [
        ("grid", 1, {}),
        ("random", 3, {}),
        ("tpe", 3, {}),
        ("gp", 3, {"gp": {"startup_trials": 4}}),
        ("evolution", 3, {"evolution": {"population": 4}}),
        ("cmaes", 3, {"cmaes": {"population": 4}}),
        ("qmc", 3, {}),
        ("random", 3, _SH),
        ("random", 3, _HB),
        ("tpe", 3, {"space": CONDITIONAL_SPACE}),
        ("nsga2", 3, {"nsga2": {"population": 4}, "objective": TWO_OBJECTIVES}),
    ],
    ids=[
        "grid",
        "random-claims-of-3",
        "tpe",
        "gp",
        "evolution",
        "cmaes",
        "qmc",
        "successive-halving",
        "hyperband",
        "tpe-conditional",
        "nsga2-pareto",
    ],
)
def test_sigkill_at_any_point_then_rerun_ends_with_exact_budget(name: str, batch: int, extra: dict, tmp_path: Path) -> None:
    """kill -9 the study three times mid-run; reruns redo the killed trials and finish exactly
    (claims of 3 trials trained together, as the population trainer does). With a pruning rule,
    every trial ends as it does in a run never killed: the decisions taken before a kill stay,
    and the same ones are taken again for the rest."""
    script = tmp_path / "run.py"
    script.write_text(_KILLABLE)
    db = str(tmp_path / "killed.db")
    budget = 24 if name == "grid" else 15
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    # pruned trials end after an epoch or two: slower epochs keep a pruned study running long enough to kill it
    delay = "0.1" if "pruning" in extra else "0.05"
    command = [sys.executable, str(script), db, name, str(budget), str(batch), json.dumps(extra), delay]
    finished = 0
    left_running = []
    for extra_delay in (0.01, 0.04, 0.07):
        proc = subprocess.Popen(command, env=env)
        # kill once this run has finished two more trials, at a varying point inside a later one; at most when the last
        # claim starts (its trials finish together: past that, no moment has a trial RUNNING and enough finished)
        target = min(finished + 2, budget - batch)

        def ready(trials: list, n: int = target) -> bool:
            return sum(t.state.is_finished() for t in trials) >= n and any(t.state is TrialState.RUNNING for t in trials)

        before = kill_when(proc, db, f"toy-{name}", ready, delay=extra_delay)
        finished = sum(t.state.is_finished() for t in before)
        left_running.append(any(t.state is TrialState.RUNNING for t in before))
    assert any(left_running), "a kill should have left a trial RUNNING"
    assert sum(t.state.is_finished() for t in before) < budget  # the rerun has trials left to finish
    done_before = {t.number: (t.state, t.values) for t in before if t.state.is_finished()}

    subprocess.run(command, env=env, check=True)
    with Store.open(db, read_only=True) as store:
        study = store.study(f"toy-{name}")
        after = store.trials(study.id)
        current_epochs = store.epochs(study.id)
        all_epochs = store.epochs(study.id, current_only=False)
    assert study.state is StudyState.COMPLETE
    assert len(after) == budget and all(t.state.is_finished() for t in after)
    assert [t.number for t in after] == list(range(budget))
    keys = [_params_key(t.params) for t in after]
    assert len(set(keys)) == budget  # no grid point (or proposal) ran twice
    assert {t.number: (t.state, t.values) for t in after if t.number in done_before} == done_before  # nothing finished was lost
    redone = [t for t in after if t.attempt > 1]
    assert redone and all("abandoned" in t.error for t in redone)
    # the killed attempts' epochs are kept for the record but do not count
    assert len(current_epochs) == sum(t.epochs_done for t in after)
    assert len(all_epochs) >= len(current_epochs)
    assert {(e.trial_number, e.epoch) for e in current_epochs} == {(t.number, e) for t in after for e in range(1, t.epochs_done + 1)}
    space = study_config(name, **extra).space
    assert all(space.contains(t.params) for t in after)  # a conditional study's trials: each with its own dimensions
    if "objective" in extra:  # the Pareto set is the one a run never killed ends with (same claims, same proposals)
        reference = run_study(
            study_config(name, trials=budget, epochs=3, **extra),
            str(tmp_path / "reference.db"),
            trainer=FunctionTrainer(toy_pareto_metrics, max_jobs=batch),
        )
        assert [(t.number, t.params, t.values) for t in after] == [(t.number, t.params, t.values) for t in reference.trials]
        with Store.open(db, read_only=True) as store:
            killed = summarize(store, f"toy-{name}")
        assert [t.number for t in killed.pareto] == [t.number for t in reference.pareto] and len(killed.pareto) > 1
    if "pruning" not in extra:
        assert all(t.state is TrialState.COMPLETE and t.epochs_done == 3 for t in after)
        return
    # the same decisions as a run that was never killed (same claims of 3, same proposals)
    reference = run_study(
        study_config(name, trials=budget, epochs=3, **extra),
        str(tmp_path / "reference.db"),
        trainer=FunctionTrainer(toy_metrics, max_jobs=batch),
    )
    outcome = {t.number: (t.params, t.state, t.epochs_done) for t in after}
    assert outcome == {t.number: (t.params, t.state, t.epochs_done) for t in reference.trials}
    assert any(t.state is TrialState.PRUNED for t in after) and any(t.state is TrialState.COMPLETE for t in after)


def test_run_options_refuse_a_stale_limit_shorter_than_the_heartbeat() -> None:
    from hpsearch import ConfigError

    with pytest.raises(ConfigError, match=r"--stale-after = 5: must be at least 3 heartbeat intervals \(30 s\)"):
        RunOptions(stale_after=5)
    assert RunOptions(stale_after=30).stale_after == 30


def test_a_study_whose_every_trial_failed_is_stopped_with_the_reason_not_finished(tmp_path: Path) -> None:
    """--max-failures above the budget: the budget is spent with no result, so the run says so (exit 1 on
    the command line: NoResultError is an HpsearchError) and the study is STOPPED, not finished."""
    from hpsearch import NoResultError

    def broken(params, epoch, seed):
        raise RuntimeError("out of memory")

    config = study_config("random", trials=3, epochs=1)
    db = str(tmp_path / "s.db")
    options = RunOptions(max_consecutive_failures=10)
    with pytest.raises(NoResultError, match=r"no trial succeeded: 3 of 3 failed, 0 pruned; last error: .*out of memory"):
        run_study(config, db, trainer=FunctionTrainer(broken), options=options)
    with Store.open(db, read_only=True) as store:
        study = store.study(config.name)
        assert study.state is StudyState.STOPPED and "no trial succeeded" in study.stop_reason
    with pytest.raises(NoResultError):  # running again says the same, and trains nothing
        run_study(config, db, trainer=FunctionTrainer(broken), options=options)
    fixed = run_study(config, db, trainer=FunctionTrainer(toy_metrics), options=RunOptions(retry_failed=True))
    assert fixed.complete and fixed.best is not None


@pytest.mark.parametrize("name", ["random", "tpe", "grid"])
def test_claims_of_several_trials_give_the_study_an_uninterrupted_single_claim_run_gives(name: str, store_url: str, tmp_path: Path) -> None:
    """A trainer that takes 4 trials at a time: the study ends with exactly its budget, each claim is one batch
    of trials RUNNING together, and random and grid studies propose exactly what one-at-a-time claims propose."""
    batches: list[list[int]] = []

    class Recording(FunctionTrainer):
        def train(self, jobs, on_epoch):
            batches.append([j.trial_number for j in jobs])
            return super().train(jobs, on_epoch)

    config = study_config(name, trials=10)
    summary = run_study(config, store_url, trainer=Recording(toy_metrics, max_jobs=4))
    assert summary.complete and [t.number for t in summary.trials] == list(range(10))
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    if name != "tpe":  # TPE's later proposals see the pending batch (constant liar), so they may differ
        one_by_one = run_study(config, str(tmp_path / "single.db"), trainer=FunctionTrainer(toy_metrics))
        assert [t.params for t in one_by_one.trials] == [t.params for t in summary.trials]
    else:
        assert len({_params_key(t.params) for t in summary.trials}) == 10


def test_a_trial_whose_model_never_reports_the_study_metric_fails_naming_it(tmp_path: Path) -> None:
    """Never COMPLETE with no value: FAIL with what the model did report, and the study's stop reason says it."""
    from hpsearch import NoResultError

    def no_auc(params, epoch, seed):
        return {"loss": 0.5, "accuracy": 0.8}

    config = study_config("random", trials=2, epochs=1, objective={"metric": "val_auc", "direction": "maximize"})
    db = str(tmp_path / "s.db")
    expected = "the model reported no `val_auc` (it reported: loss, accuracy)"
    with pytest.raises(NoResultError, match=r"no trial succeeded: 2 of 2 failed, 0 pruned; last error: the model reported no `val_auc`"):
        run_study(config, db, trainer=FunctionTrainer(no_auc), options=RunOptions(max_consecutive_failures=5))
    with Store.open(db, read_only=True) as store:
        trials = store.trials(store.study(config.name).id)
    assert [(t.state, t.value, t.error) for t in trials] == [(TrialState.FAIL, None, expected)] * 2


def test_a_function_reporting_a_metric_that_is_not_a_number_fails_the_trial_naming_it(tmp_path: Path) -> None:
    """A function's metric of the wrong type ("0.5", True) fails its trial with the name and the value; the study goes on."""

    def fn(params: dict, epoch: int, seed: int) -> dict:
        return {"val_accuracy": "0.5" if params["width"] == 32 else 0.5, "loss": True if params["width"] == 64 else 0.1}

    config = study_config("grid", trials=None, epochs=1)
    options = RunOptions(max_consecutive_failures=100)
    summary = run_study(config, str(tmp_path / "s.db"), trainer=FunctionTrainer(fn), options=options)
    failed = {t.params["width"]: t.error for t in summary.trials if t.state is TrialState.FAIL}
    assert failed[32] == "the function reported val_accuracy = '0.5' at epoch 1, not a real number"
    assert failed[64] == "the function reported loss = True at epoch 1, not a real number"
    assert {t.params["width"] for t in summary.trials if t.state is TrialState.COMPLETE} == {128}


@pytest.mark.parametrize(("name", "startup"), [("tpe", 10), ("gp", 4)])
def test_a_model_based_strategy_claims_few_trials_while_it_has_few_results(name: str, startup: int, tmp_path: Path) -> None:
    """A trainer that takes 16 trials at once gets the startup draws together, then claims of a quarter of the
    finished trials (at least one), so that TPE and GP learn from results nearly as often as a sequential search."""
    sizes: list[int] = []

    class Recording(FunctionTrainer):
        def train(self, jobs, on_epoch):  # type: ignore[no-untyped-def]
            sizes.append(len(jobs))
            return super().train(jobs, on_epoch)

    extra = {"gp": {"startup_trials": startup, "candidates": 100}} if name == "gp" else {}
    config = study_config(name, trials=20, epochs=1, **extra)
    run_study(config, str(tmp_path / "batches.db"), trainer=Recording(toy_metrics, max_jobs=16))
    expected, finished = [], 0
    while finished < 20:
        size = min(startup - finished if finished < startup else max(1, math.ceil(finished / 4)), 16, 20 - finished)
        expected.append(size)
        finished += size
    assert sizes == expected


def test_a_claim_trained_together_shows_one_line_per_epoch_of_the_population(tmp_path: Path) -> None:
    """Trials trained together (claims of 3): one plain line per epoch of each claim (not one per member), with its
    trials, the members training, the best value among them and a rate; one-by-one trials keep their own lines."""
    import io

    from hpsearch.running.progress import ConsoleProgress

    stream = io.StringIO()  # not a terminal: plain lines
    summary = run_study(
        study_config("random", trials=6, epochs=2),
        str(tmp_path / "s.db"),
        trainer=FunctionTrainer(toy_metrics, max_jobs=3),
        progress=ConsoleProgress(stream),
    )
    lines = [line for line in stream.getvalue().splitlines() if "together" in line]
    assert [line.split("  best")[0].strip() for line in lines] == [
        f"trials {a}-{b} together ({b + 1}/6)  epoch {e}/2  training 3/3" for a, b in ((0, 2), (3, 5)) for e in (1, 2)
    ]
    final = {t.number: t.value for t in summary.trials}
    assert f"best val_accuracy {max(final[n] for n in (0, 1, 2)):.4g}" in lines[1]
    assert all("trial-epochs/min  ETA" in line for line in lines)
    assert "  trial 0 (1/6)  epoch" not in stream.getvalue()  # no line per member
