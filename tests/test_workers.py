"""Several worker processes on one store: SQLite here, PostgreSQL when the machine offers it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from hpsearch import RunOptions, Store, StudyState, TrialState, parse_study, run_study
from hpsearch.running.claims import claim_one
from hpsearch.running.workers import default_threads, run_workers
from tests import worker_objectives
from tests.conftest import kill_when, study_config
from tests.test_strategies import CONDITIONAL_SPACE, TWO_OBJECTIVES

REPO = Path(__file__).resolve().parents[1]

#: A grid of 6 x 5 x 2 x 5 = 300 points.
BIG_GRID = {
    "width": [16, 32, 64, 128, 256, 512],
    "dropout": [0.0, 0.1, 0.2, 0.3, 0.4],
    "optimizer": ["adam", "sgd"],
    "learning_rate": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
}


def _check_exact(store_url: str, name: str, budget: int) -> list:
    with Store.open(store_url) as store:
        study = store.study(name)
        trials = store.trials(study.id)
        epochs = store.epochs(study.id)
    assert study.state is StudyState.COMPLETE
    assert len(trials) == budget and [t.number for t in trials] == list(range(budget))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    points = {tuple(sorted(t.params.items())) for t in trials}
    assert len(points) == budget  # no grid point twice
    assert len(epochs) == sum(t.epochs for t in trials)  # every epoch recorded once
    return trials


@pytest.mark.parametrize("workers", [4, 8])
def test_workers_share_a_grid_exactly(store_url: str, workers: int) -> None:
    """300 grid points, 4 (SQLite) or 8 (PostgreSQL) processes: no lock error, every point once, exact budget."""
    if workers == 8 and not store_url.startswith("postgresql"):
        pytest.skip("8 workers run against PostgreSQL")
    config = study_config("grid", trials=None, epochs=1, space=BIG_GRID, name="big-grid")
    summary = run_workers(config, store_url, workers, trainer_factory=worker_objectives.quick)
    assert summary.complete
    trials = _check_exact(store_url, "big-grid", 300)
    by_worker = Counter(t.worker_id for t in trials)
    assert len(by_worker) == workers, by_worker  # every process took part


def test_random_search_tries_the_same_configurations_whatever_the_workers(tmp_path: Path) -> None:
    config = study_config("random", trials=40, epochs=1, name="rnd")
    one = run_study(config, str(tmp_path / "one.db"), trainer=worker_objectives.quick(config))
    four = run_workers(config, str(tmp_path / "four.db"), 4, trainer_factory=worker_objectives.quick)
    assert [t.params for t in four.trials] == [t.params for t in one.trials]


def test_tpe_workers_end_with_the_exact_budget(store_url: str) -> None:
    config = study_config("tpe", trials=40, epochs=1, name="tpe-workers")
    run_workers(config, store_url, 4, trainer_factory=worker_objectives.quick)
    trials = _check_exact(store_url, "tpe-workers", 40)
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 40


@pytest.mark.parametrize(
    ("name", "space"),
    [("evolution", None), ("cmaes", None), ("evolution", CONDITIONAL_SPACE), ("nsga2", None)],
    ids=["evolution", "cmaes", "evolution-conditional", "nsga2-pareto"],
)
def test_generational_strategies_propose_the_same_on_one_worker_or_three(tmp_path: Path, name: str, space: dict | None) -> None:
    """A generation is decided from the finished one before it, so workers share one population:
    three processes end with the very trials one process proposes (in a conditional space too; NSGA-II's of two
    objectives, ending with the same Pareto set)."""
    extra = {name: {"population": 4}, **({"space": space} if space else {}), **({"objective": TWO_OBJECTIVES} if name == "nsga2" else {})}
    config = study_config(name, trials=12, epochs=1, name=f"{name}-workers", **extra)
    one = run_study(config, str(tmp_path / "one.db"), trainer=worker_objectives.quick(config))
    three = run_workers(config, str(tmp_path / "three.db"), 3, trainer_factory=worker_objectives.quick)
    assert [t.params for t in three.trials] == [t.params for t in one.trials]
    assert [t.generation for t in three.trials] == [0] * 4 + [1] * 4 + [2] * 4
    assert all(config.space.contains(t.params) for t in three.trials)
    assert [t.number for t in three.pareto] == [t.number for t in one.pareto] and [t.values for t in three.trials] == [
        t.values for t in one.trials
    ]


def test_gp_with_successive_halving_on_workers_ends_with_the_exact_budget(store_url: str) -> None:
    pruning = {"rule": "successive_halving", "min_epochs": 1, "reduction_factor": 2}
    config = study_config("gp", trials=16, epochs=3, name="gp-asha-workers", gp={"startup_trials": 4}, pruning=pruning)
    run_workers(config, store_url, 3, trainer_factory=worker_objectives.quick)
    with Store.open(store_url) as store:
        study = store.study("gp-asha-workers")
        trials = store.trials(study.id)
        epochs = store.epochs(study.id)
    assert study.state is StudyState.COMPLETE and [t.number for t in trials] == list(range(16))
    states = Counter(t.state for t in trials)
    assert states[TrialState.PRUNED] and states[TrialState.COMPLETE] and sum(states.values()) == 16
    assert all(t.epochs_done in (1, 2) for t in trials if t.state is TrialState.PRUNED)
    assert len(epochs) == sum(t.epochs_done for t in trials)
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 16


def test_pbt_runs_asynchronously_on_workers_with_exact_epochs(store_url: str) -> None:
    config = study_config("pbt", epochs=6, name="pbt-workers")
    run_workers(config, store_url, 3, trainer_factory=worker_objectives.quick)
    with Store.open(store_url) as store:
        trials = store.trials(store.study("pbt-workers").id)
    assert len(trials) == 4 * 6 and all(t.state is TrialState.COMPLETE for t in trials)
    for member in range(4):
        segments = sorted((t for t in trials if t.member == member), key=lambda t: t.generation)
        assert [t.start_epoch for t in segments] == list(range(6))


def test_workers_are_replaced_after_their_trials(tmp_path: Path) -> None:
    config = study_config("random", trials=12, epochs=1, name="recycled")
    summary = run_workers(config, str(tmp_path / "r.db"), 2, recycle_after=3, trainer_factory=worker_objectives.quick)
    assert summary.complete and len(summary.trials) == 12
    processes = {t.worker_id for t in summary.trials}
    assert len(processes) >= 4  # 12 trials, at most 3 per process
    assert max(Counter(t.worker_id for t in summary.trials).values()) <= 3


def test_each_worker_gets_its_share_of_the_cores(tmp_path: Path) -> None:
    assert default_threads(2, cores=2) == 1 and default_threads(1, cores=8) == 8 and default_threads(16, cores=2) == 1
    config = study_config("random", trials=4, epochs=1, name="threads")
    summary = run_workers(config, str(tmp_path / "t.db"), 2, threads=3, trainer_factory=worker_objectives.report_threads)
    assert {t.value for t in summary.trials} == {3.0}


_WORKER = textwrap.dedent(
    """
    import sys
    from hpsearch import RunOptions, run_study
    from tests import worker_objectives
    from tests.conftest import study_config
    config = study_config("random", trials=int(sys.argv[2]), epochs=3, name="faulty")
    run_study(config, sys.argv[1], trainer=worker_objectives.slow(config), options=RunOptions(stale_after=3600))
    """
)


def test_a_worker_killed_mid_trial_has_its_trial_redone_by_the_others(store_url: str, tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    budget = 10
    procs = [subprocess.Popen([sys.executable, str(script), store_url, str(budget)], env=env, stderr=subprocess.PIPE) for _ in range(3)]
    victim = procs[0]

    mark = f":{victim.pid}:"

    seen: list = []

    def victim_is_mid_trial(trials: list) -> bool:
        # one epoch of three done: the kill lands inside the trial (the other workers reap it at once, since its
        # process is gone from this host, so it is remembered here rather than read back after the kill)
        seen[:] = [t for t in trials if t.state is TrialState.RUNNING and mark in (t.worker_id or "") and t.epochs_done == 1]
        return bool(seen)

    kill_when(victim, store_url, "faulty", victim_is_mid_trial, limit=120)
    (killed,) = seen
    for proc in procs[1:]:
        assert proc.wait(timeout=180) == 0, proc.stderr.read().decode() if proc.stderr else ""
    trials = _check_exact(store_url, "faulty", budget)
    redone = trials[killed.number]
    assert redone.attempt == 2 and "abandoned" in redone.error and mark not in redone.worker_id
    with Store.open(store_url) as store:
        every_epoch = store.epochs(store.study("faulty").id, current_only=False)
    partial = [e for e in every_epoch if e.trial_number == killed.number and e.attempt == 1]
    assert len(partial) >= 1  # the dead worker's partial epochs are kept, under the old attempt, and do not count


@pytest.mark.keras
def test_pbt_with_two_keras_workers_finishes_with_the_configured_epochs(tmp_path: Path) -> None:
    config = parse_study(
        {
            "strategy": "pbt",
            "seed": 2,
            "data": {"dataset": "mnist-sample", "train_size": 300},
            "training": {"trainer": "keras"},  # the population trainer's PBT is tested in test_pbt_keras.py
            "space": {"width": [16, 32], "learning_rate": {"low": 1e-3, "high": 1e-2}},
            "pbt": {"population": 3, "ready": 1, "epochs": 3},
        },
        default_name="pbt-keras-workers",
    )
    db = str(tmp_path / "p.db")
    summary = run_workers(config, db, 2)
    assert summary.complete and summary.test is not None
    for member in range(3):
        segments = sorted((t for t in summary.trials if t.member == member), key=lambda t: t.generation)
        assert [(t.start_epoch, t.epochs_done, t.state) for t in segments] == [(e, 1, TrialState.COMPLETE) for e in range(3)]
    assert len({t.worker_id for t in summary.trials}) == 2


def test_cli_worker_joins_a_study_by_name(tmp_path: Path) -> None:
    """`hpsearch worker NAME` rebuilds the study from the store and runs what is left of it."""
    db = tmp_path / "w.db"
    config = study_config("random", trials=3, epochs=1, name="joined")
    run_study(config, str(db), trainer=worker_objectives.quick(config), options=RunOptions(max_trials=1))
    help_text = subprocess.run([sys.executable, "-m", "hpsearch", "worker", "--help"], capture_output=True, text=True, cwd=REPO)
    assert help_text.returncode == 0 and "--recycle-after" in help_text.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "hpsearch", "worker", "nope", "--store", str(db)], capture_output=True, text=True, cwd=REPO
    )
    assert missing.returncode == 2 and "no such study" in missing.stderr and "joined" in missing.stderr
    from hpsearch.api import stored_config

    assert stored_config("joined", str(db)).identity() == config.identity()


def test_worker_count_rule() -> None:
    with pytest.raises(ValueError, match="workers = 0"):
        run_workers(study_config(), "unused.db", 0)


def test_a_trial_of_a_lost_machine_is_redone_after_the_grace_period(store_url: str) -> None:
    """A worker on another host stops sending heartbeats (machine lost): once its heartbeat is
    older than stale_after, a live worker redoes the trial under the same number."""
    import time

    from hpsearch.search.strategies import make_strategy
    from hpsearch.store import WorkerInfo

    config = study_config("random", trials=4, epochs=1, name="lost-machine")
    strategy = make_strategy("random", config.space, seed=config.seed)
    with Store.open(store_url) as store:
        study = store.create_study(config, n_trials=4)
        lost = WorkerInfo("far-away:123:x", "far-away", 123)
        taken = claim_one(store, study.id, lost, strategy.ask, trial_seed=lambda n: n).trial
        store.record_epoch(taken, lost, 1, {"val_accuracy": 0.1}, 0.1)
    time.sleep(1.2)  # no heartbeat from far-away since
    summary = run_study(
        config, store_url, trainer=worker_objectives.quick(config), options=RunOptions(heartbeat_interval=0.2, stale_after=1.0)
    )
    assert summary.complete and len(summary.trials) == 4
    redone = summary.trials[taken.number]
    assert redone.attempt == 2 and redone.state is TrialState.COMPLETE and "far-away" in redone.error and "no heartbeat" in redone.error


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every worker process run_workers starts; with ``starts.append("fake")`` first, none really starts."""
    from multiprocessing.context import SpawnProcess

    started: list[object] = []
    real_start = SpawnProcess.start

    def start(process: SpawnProcess) -> None:
        started.append(process)
        if started[0] != "fake":
            real_start(process)

    monkeypatch.setattr(SpawnProcess, "start", start)
    return started


def test_a_finished_study_starts_no_worker_however_many_are_asked(tmp_path: Path, starts: list[object]) -> None:
    starts.append("fake")  # were a process started, it would only be counted
    db = str(tmp_path / "done.db")
    config = study_config("random", trials=2, epochs=1, name="done")
    run_study(config, db, trainer=worker_objectives.quick(config))
    summary = run_workers(config, db, 256, trainer_factory=worker_objectives.quick)
    assert starts == ["fake"] and summary.complete and len(summary.trials) == 2


def test_never_more_workers_than_trials_left(tmp_path: Path, starts: list[object]) -> None:
    db = str(tmp_path / "left.db")
    config = study_config("random", trials=3, epochs=1, name="left")
    run_study(config, db, trainer=worker_objectives.quick(config), options=RunOptions(max_trials=1))
    summary = run_workers(config, db, 8, trainer_factory=worker_objectives.quick)
    assert len(starts) == 2 and summary.complete and len(summary.trials) == 3


def test_more_workers_than_the_memory_holds_are_refused_with_the_figure(
    tmp_path: Path, starts: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    from hpsearch.core.errors import ConfigError
    from hpsearch.running import workers

    starts.append("fake")
    monkeypatch.setattr(workers, "WORKER_MEMORY", 10**15)  # 1 PB a worker: no machine holds two
    config = study_config("random", trials=4, epochs=1, name="big")
    figure = r"^--workers = 2: 2 worker processes need about 2000000\.0 GB of memory .* give --workers 1 or fewer$"
    with pytest.raises(ConfigError, match=figure):
        run_workers(config, str(tmp_path / "m.db"), 2, trainer_factory=worker_objectives.quick)
    assert starts == ["fake"]
    with Store.open(tmp_path / "m.db") as store:
        assert store.studies() == []  # refused before the study is created
