"""Workers as Ray tasks on a local Ray instance (2 CPUs, as ``--ray local`` starts it), against real stores: the same
coordination as worker processes (claims, heartbeats, budgets and PBT in the store), a Ray worker killed mid-trial
handled by the stale-trial rule, and the one-line refusals. Marked ``ray``: ``pytest -m "not ray"`` leaves them out."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from hpsearch import ConfigError, Store, StudyState, TrialState
from hpsearch.cli import main
from hpsearch.running.ray_workers import RayOptions, RayTasks, ray_launcher
from hpsearch.running.workers import run_workers
from tests import worker_objectives
from tests.conftest import study_config

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def local_ray() -> object:
    """One local Ray instance for the module (starting one takes seconds): what ``--ray local`` starts."""
    launcher = RayTasks(RayOptions("local"), "sqlite:///unused.db")
    yield launcher
    ray.shutdown()


def _trials(url: str, name: str) -> tuple[StudyState, list]:
    with Store.open(url, read_only=True) as store:
        study = store.study(name)
        return study.state, store.trials(study.id)


def test_two_ray_workers_share_a_random_study_and_end_with_its_exact_budget(local_ray: object, tmp_path: Path) -> None:
    url = str(tmp_path / "ray.db")
    config = study_config("random", trials=12, epochs=2, name="ray-random")  # 0.3 s a trial: both workers are busy
    summary = run_workers(config, url, 2, trainer_factory=worker_objectives.slow, launcher=ray_launcher(RayOptions("local"), url))
    state, trials = _trials(url, "ray-random")
    assert state is StudyState.COMPLETE and summary.complete
    assert [t.number for t in trials] == list(range(12)) and all(t.state is TrialState.COMPLETE for t in trials)
    assert len({t.worker_id for t in trials}) == 2  # both tasks trained trials
    assert all(int(t.worker_id.split(":")[1]) != os.getpid() for t in trials)  # in Ray's worker processes, not the driver


def test_pbt_on_two_ray_workers_trains_exact_epochs_per_member(local_ray: object, tmp_path: Path) -> None:
    url = str(tmp_path / "ray.db")
    config = study_config("pbt", epochs=4, name="ray-pbt")
    run_workers(config, url, 2, trainer_factory=worker_objectives.quick, launcher=ray_launcher(RayOptions("local"), url))
    state, trials = _trials(url, "ray-pbt")
    assert state is StudyState.COMPLETE and len(trials) == 4 * 4 and all(t.state is TrialState.COMPLETE for t in trials)
    for member in range(4):
        assert sorted(t.start_epoch for t in trials if t.member == member) == list(range(4))


def test_a_ray_worker_killed_mid_trial_has_its_trial_redone_and_the_study_ends_exactly(local_ray: object, tmp_path: Path) -> None:
    """SIGKILL the Ray worker process training a trial (as a lost node or a preemption would end it): the stale-trial
    rule hands the trial to another worker (here at once: its process is gone from this host), and the driver starts
    another task for the lost one while trials are left."""
    url = str(tmp_path / "ray.db")
    config = study_config("random", trials=10, epochs=3, name="ray-killed")
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            time.sleep(0.1)
            try:
                _, trials = _trials(url, "ray-killed")
            except Exception:
                continue  # the study is not created yet
            running = [t for t in trials if t.state is TrialState.RUNNING and t.epochs_done >= 1]
            if sum(t.state.is_finished() for t in trials) >= 2 and running:
                os.kill(int(running[0].worker_id.split(":")[1]), signal.SIGKILL)
                killed.append(running[0].number)

    killer = threading.Thread(target=kill_one, daemon=True)
    killer.start()
    run_workers(config, url, 2, trainer_factory=worker_objectives.slow, launcher=ray_launcher(RayOptions("local"), url))
    killer.join()
    state, trials = _trials(url, "ray-killed")
    assert killed, "no trial was running to kill"
    assert state is StudyState.COMPLETE and [t.number for t in trials] == list(range(10))
    assert Counter(t.state for t in trials) == {TrialState.COMPLETE: 10}
    redone = next(t for t in trials if t.number == killed[0])
    assert redone.attempt == 2 and "abandoned" in (redone.error or "")


def test_ray_refusals_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match=r"--ray = 'ray://head:10001': an SQLite store is a file on this machine"):
        RayTasks(RayOptions("ray://head:10001"), f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ConfigError, match=r"needs Ray, an optional extra: pip install -e \"\.\[ray\]\""):
        RayTasks(RayOptions("local"), f"sqlite:///{tmp_path / 's.db'}")
    study = Path(__file__).resolve().parents[1] / "studies" / "quickstart.toml"
    with pytest.raises(SystemExit) as info:
        main(["run", str(study), "--store", str(tmp_path / "s.db"), "--gpus-per-worker", "1"])
    assert info.value.code == 2 and "--gpus-per-worker = 1.0: is a request to Ray: it goes with --ray ADDRESS" in capsys.readouterr().err
