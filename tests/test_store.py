"""The store's conformance suite, run over every backend (SQLite file; PostgreSQL when configured)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from hpsearch import Store, StoreError, StudyMismatchError, TrialState
from hpsearch.core.errors import UnknownStudyError
from hpsearch.running.claims import claim_one, claim_trials
from hpsearch.search.strategies import Suggestion
from hpsearch.store import SCHEMA_VERSION, StudyState, WorkerInfo
from hpsearch.store.store import EpochEntry, TrialLostError
from tests.conftest import study_config


def _propose(params: dict):
    return lambda history, number: Suggestion(dict(params, width=32 + number))


PARAMS = {"width": 32, "dropout": 0.1, "optimizer": "adam", "learning_rate": 0.001}


def test_new_store_has_schema_version_and_no_studies(store: Store) -> None:
    assert store.studies() == []
    from sqlalchemy import select

    from hpsearch.store import schema

    assert [r.version for r in store.fetch(select(schema.schema_version.c.version))] == [SCHEMA_VERSION]


def test_create_study_is_idempotent_and_records_the_config(store: Store) -> None:
    config = study_config("random", trials=4)
    first = store.create_study(config, n_trials=4)
    again = store.create_study(config, n_trials=4)
    assert first.id == again.id
    assert first.strategy == "random" and first.n_trials == 4 and first.epochs == 2
    assert first.metric == "val_accuracy" and first.maximize
    assert first.config["space"] == config.space.describe()
    assert [s.name for s in store.studies()] == [config.name]


def test_same_name_with_a_different_space_is_refused_and_nothing_changes(store: Store) -> None:
    config = study_config("random", trials=4)
    store.create_study(config, n_trials=4)
    other = study_config("random", trials=4, space={"width": {"values": [16]}})
    with pytest.raises(StudyMismatchError, match="space"):
        store.create_study(other, n_trials=4)
    assert store.study(config.name).config["space"] == config.space.describe()


def test_budget_can_be_raised_for_an_existing_study(store: Store) -> None:
    config = study_config("random", trials=4)
    store.create_study(config, n_trials=4)
    assert store.create_study(config, n_trials=9).n_trials == 9


def test_claim_numbers_trials_in_order_and_respects_the_budget(store: Store) -> None:
    study = store.create_study(study_config(trials=3), n_trials=3)
    worker = WorkerInfo.this_process()
    claims = [claim_one(store, study.id, worker, _propose(PARAMS), trial_seed=lambda n: n) for _ in range(4)]
    assert [c.trial.number for c in claims[:3]] == [0, 1, 2]
    assert all(c.trial.state is TrialState.RUNNING for c in claims[:3])
    assert claims[3].trial is None and claims[3].wait  # budget spent, trials still running
    for c in claims[:3]:
        store.finish(c.trial, worker, TrialState.COMPLETE, value=0.5)
    assert claim_one(store, study.id, worker, _propose(PARAMS), trial_seed=lambda n: n).done


def test_a_claim_snapshot_read_again_is_what_a_fresh_store_reads(store: Store, store_url: str) -> None:
    """claim_snapshot reuses the records of finished trials and their curves: after epochs recorded, trials
    finished, a failed trial started again (a new attempt) and another process's writes, it still returns
    exactly what a store opened afresh reads."""
    study = store.create_study(study_config(trials=4, epochs=3), n_trials=4)
    worker = WorkerInfo.this_process()

    def same() -> None:
        with Store.open(store_url) as fresh:
            assert store.claim_snapshot(study.id) == fresh.claim_snapshot(study.id)

    a, b, c = (claim_one(store, study.id, worker, _propose(PARAMS), trial_seed=lambda n: n).trial for _ in range(3))
    store.record_epoch(a, worker, 1, {"val_accuracy": 0.5}, 0.1)
    same()
    store.record_epoch(a, worker, 2, {"val_accuracy": 0.6}, 0.1)  # a running trial's curve grows
    store.finish(a, worker, TrialState.COMPLETE, value=0.6)
    store.record_epoch(b, worker, 1, {"val_accuracy": 0.2}, 0.1)
    store.finish(b, worker, TrialState.FAIL, error="boom")
    same()
    with Store.open(store_url) as other:  # another process starts the failed trial again and records an epoch
        assert other.reset_failed(study.id) == 1
        again = claim_one(other, study.id, worker, _propose(PARAMS), trial_seed=lambda n: n).trial
        other.record_epoch(again, worker, 1, {"val_accuracy": 0.3}, 0.1)
        other.finish(c, worker, TrialState.PRUNED)
    same()
    trials = store.claim_snapshot(study.id)[1]
    assert [(t.state, t.attempt, t.curve) for t in trials] == [
        (TrialState.COMPLETE, 1, (0.5, 0.6)),
        (TrialState.RUNNING, 2, (0.3,)),
        (TrialState.PRUNED, 1, ()),
    ]


def test_the_strategy_is_asked_outside_the_lock_and_asked_again_when_another_worker_got_there_first(store: Store, store_url: str) -> None:
    """While this worker's strategy thinks, another worker claims (it would wait for the lock, or deadlock,
    if the lock were held); this claim then sees its proposal is stale and proposes again."""
    study = store.create_study(study_config(trials=3), n_trials=3)
    me, other = WorkerInfo("here:1:a", "here", 1), WorkerInfo("there:2:b", "there", 2)
    asked: list[int] = []
    with Store.open(store_url) as second:

        def propose(history, number):
            asked.append(number)
            if len(asked) == 1:  # the first time: another worker takes trial 0 meanwhile
                taken = claim_one(second, study.id, other, _propose(PARAMS), trial_seed=lambda n: n).trial
                assert taken is not None and taken.number == 0
            return Suggestion(dict(PARAMS, width=32 + number))

        claims = claim_trials(store, study.id, me, propose, trial_seed=lambda n: n, limit=2)
    assert asked == [0, 1, 1, 2]  # proposed 0 and 1, found 0 taken meanwhile, proposed 1 and 2 afresh
    assert [t.number for t in claims.trials] == [1, 2]
    owners = {t.number: t.worker_id for t in store.trials(study.id)}
    assert owners == {0: other.worker_id, 1: me.worker_id, 2: me.worker_id}


def test_record_epoch_and_finish_are_visible_in_trials_and_epochs(store: Store) -> None:
    study = store.create_study(study_config(trials=1), n_trials=1)
    worker = WorkerInfo.this_process()
    trial = claim_one(store, study.id, worker, _propose(PARAMS), trial_seed=lambda n: 99).trial
    store.record_epoch(trial, worker, 1, {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.1, "val_accuracy": 0.4}, 0.3)
    store.record_epoch(trial, worker, 2, {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7}, 0.2)
    store.finish(trial, worker, TrialState.COMPLETE, value=0.7)
    (t,) = store.trials(study.id)
    assert t.state is TrialState.COMPLETE and t.value == 0.7 and t.seed == 99
    assert t.epochs_done == 2 and t.curve == (0.4, 0.7)
    assert t.finished_at >= t.started_at
    epochs = store.epochs(study.id)
    assert [(e.epoch, e.val_accuracy, e.loss) for e in epochs] == [(1, 0.4, 1.0), (2, 0.7, 0.5)]


def test_record_epochs_stores_a_population_in_one_call_and_skips_a_trial_taken_away(store: Store) -> None:
    study = store.create_study(study_config(trials=3), n_trials=3)
    worker = WorkerInfo.this_process()
    a, b, c = claim_trials(store, study.id, worker, _propose(PARAMS), trial_seed=lambda n: n, limit=3).trials
    store.reap_stale(study.id, stale_after=-1)  # all three judged dead ...
    b = claim_one(store, study.id, WorkerInfo("elsewhere:1:x", "elsewhere", 1), _propose(PARAMS), trial_seed=lambda n: n).trial
    a, c = (claim_one(store, study.id, worker, _propose(PARAMS), trial_seed=lambda n: n).trial for _ in range(2))  # ... b went elsewhere
    assert {a.number, b.number, c.number} == {0, 1, 2}
    entries = [EpochEntry(t, 1, {"val_accuracy": 0.1 * (t.number + 1)}, 0.5) for t in (a, b, c)]
    assert store.record_epochs(worker, entries) == [b.number]
    stored = {t.number: t for t in store.trials(study.id)}
    assert stored[a.number].curve == (0.1 * (a.number + 1),) and stored[c.number].curve == (0.1 * (c.number + 1),)
    assert stored[b.number].curve == () and stored[b.number].epochs_done == 0
    assert store.record_epochs(worker, []) == []


def test_stale_trial_is_handed_back_with_a_new_attempt_and_old_epochs_kept(store: Store) -> None:
    study = store.create_study(study_config(trials=1), n_trials=1)
    dead = WorkerInfo("elsewhere:1:x", "elsewhere", 1)
    trial = claim_one(store, study.id, dead, _propose(PARAMS), trial_seed=lambda n: n).trial
    store.record_epoch(trial, dead, 1, {"val_accuracy": 0.3}, 0.1)
    assert store.reap_stale(study.id, stale_after=3600) == []  # fresh heartbeat: left alone
    assert store.reap_stale(study.id, stale_after=-1) == [0]
    (t,) = store.trials(study.id)
    assert t.state is TrialState.WAITING and t.attempt == 2 and "abandoned" in t.error and t.curve == ()
    # the dead worker can no longer write to it
    with pytest.raises(TrialLostError):
        store.record_epoch(trial, dead, 2, {"val_accuracy": 0.4}, 0.1)
    with pytest.raises(TrialLostError):
        store.finish(trial, dead, TrialState.COMPLETE, value=0.9)
    # the next claim redoes the same trial number
    alive = WorkerInfo.this_process()
    again = claim_one(store, study.id, alive, _propose(PARAMS), trial_seed=lambda n: n).trial
    assert again.number == 0 and again.attempt == 2 and again.params == trial.params
    all_epochs = store.epochs(study.id, current_only=False)
    assert [(e.attempt, e.epoch) for e in all_epochs] == [(1, 1)]
    assert store.epochs(study.id) == []


def test_trial_of_a_dead_local_process_is_reaped_at_once(store: Store) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    study = store.create_study(study_config(trials=1), n_trials=1)
    host = WorkerInfo.this_process().host
    gone = WorkerInfo(f"{host}:{proc.pid}:x", host, proc.pid)
    claim_one(store, study.id, gone, _propose(PARAMS), trial_seed=lambda n: n)
    assert store.reap_stale(study.id, stale_after=3600, this_host=host) == [0]


def test_release_puts_a_trial_back_for_the_next_run(store: Store) -> None:
    study = store.create_study(study_config(trials=1), n_trials=1)
    worker = WorkerInfo.this_process()
    trial = claim_one(store, study.id, worker, _propose(PARAMS), trial_seed=lambda n: n).trial
    store.release(trial, "interrupted")
    (t,) = store.trials(study.id)
    assert t.state is TrialState.WAITING and t.attempt == 2


def test_evaluation_is_stored_once_per_split(store: Store) -> None:
    study = store.create_study(study_config(trials=2), n_trials=2)
    worker = WorkerInfo.this_process()
    a = claim_one(store, study.id, worker, _propose(PARAMS), trial_seed=lambda n: n).trial
    b = claim_one(store, study.id, worker, _propose(PARAMS), trial_seed=lambda n: n).trial
    store.record_evaluation(a, "test", {"loss": 0.3, "accuracy": 0.91})
    store.record_evaluation(b, "test", {"loss": 0.2, "accuracy": 0.93}, note="re-evaluated")
    ev = store.evaluation(study.id)
    assert ev.trial_number == b.number and ev.accuracy == 0.93 and ev.note == "re-evaluated"
    assert ev.metrics == {"loss": 0.2, "accuracy": 0.93} and ev.loss == 0.2


def test_an_evaluation_keeps_every_metric_of_a_model_of_its_own(store: Store) -> None:
    """A study scored on a metric of its own gets a test result with that metric (a value that is not a number: None)."""
    study = store.create_study(study_config(trials=1), n_trials=1)
    trial = claim_one(store, study.id, WorkerInfo.this_process(), _propose(PARAMS), trial_seed=lambda n: n).trial
    store.record_evaluation(trial, "test", {"loss": 0.25, "auc": 0.875, "sparse_categorical_accuracy": 0.5, "bad": float("nan")})
    ev = store.evaluation(study.id)
    assert ev.metrics == {"loss": 0.25, "auc": 0.875, "sparse_categorical_accuracy": 0.5, "bad": None}
    assert ev.accuracy == 0.5 and store.evaluation(study.id, "validation") is None


def test_an_epoch_is_stored_once_with_every_metric_in_the_metrics_table(store: Store) -> None:
    study = store.create_study(study_config(trials=1), n_trials=1)
    worker = WorkerInfo.this_process()
    trial = claim_one(store, study.id, worker, _propose(PARAMS), trial_seed=lambda n: n).trial
    store.record_epoch(trial, worker, 1, {"val_accuracy": 0.5, "val_auc": 0.75, "loss": "n/a"}, 0.1)  # type: ignore[dict-item]
    (epoch,) = store.epochs(study.id)
    assert dict(epoch.metrics) == {"val_accuracy": 0.5, "val_auc": 0.75, "loss": None}
    assert epoch.val_accuracy == 0.5 and epoch.accuracy is None and epoch.seconds == 0.1
    from hpsearch.store import schema

    assert [c.name for c in schema.epochs.columns] == ["trial_id", "attempt", "epoch", "seconds", "recorded_at"]
    assert len(store.metric_rows(study.id)) == 3


def test_study_state_round_trips(store: Store) -> None:
    study = store.create_study(study_config(trials=1), n_trials=1)
    store.set_study_state(study.id, StudyState.STOPPED, "3 failures")
    s = store.study(study.name)
    assert s.state is StudyState.STOPPED and s.stop_reason == "3 failures"


def test_unknown_study_names_the_known_ones(store: Store) -> None:
    store.create_study(study_config(name="alpha"), n_trials=1)
    with pytest.raises(UnknownStudyError, match=r"study = 'beta': no such study in .* \(studies: alpha\)"):
        store.study("beta")


def test_concurrent_claims_from_threads_never_share_a_trial(store_url: str) -> None:
    """Eight threads, each with its own connection pool, claim until the budget is spent."""
    setup = Store.open(store_url)
    study = setup.create_study(study_config(trials=40), n_trials=40)
    setup.close()
    taken: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        st = Store.open(store_url)
        me = WorkerInfo.this_process()
        try:
            while True:
                claim = claim_one(st, study.id, me, _propose(PARAMS), trial_seed=lambda n: n)
                if claim.trial is None:
                    return
                st.finish(claim.trial, me, TrialState.COMPLETE, value=0.1)
                with lock:
                    taken.append(claim.trial.number)
        except BaseException as err:
            errors.append(err)
        finally:
            st.close()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(taken) == list(range(40))


def _create_at_once(store_url: str, name: str, workers: int = 8) -> tuple[list[int], list[BaseException]]:
    """``workers`` threads, each with its own store, create the study ``name`` at the same moment."""
    config = study_config(name=name, trials=4)
    stores = [Store.open(store_url) for _ in range(workers)]
    start = threading.Barrier(workers)
    got: list[int] = []
    errors: list[BaseException] = []

    def create(st: Store) -> None:
        try:
            start.wait()
            got.append(st.create_study(config, n_trials=4).id)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=create, args=(st,)) for st in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for st in stores:
        st.close()
    return got, errors


def test_workers_starting_a_new_study_at_the_same_moment_create_it_once(store_url: str) -> None:
    """On PostgreSQL two inserts of a new study's name used to race, and one worker failed."""
    for round_ in range(5):
        got, errors = _create_at_once(store_url, f"together-{round_}")
        assert errors == [] and len(got) == 8 and len(set(got)) == 1


# ---------------------------------------------------------------- SQLite file rules


def test_sqlite_store_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store.open(path).close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: p.write_text("just some notes\n"), id="text-file"),
        pytest.param(lambda p: p.write_bytes(b"\x00\x01binary" * 100), id="binary-file"),
        pytest.param(
            lambda p: (lambda c: (c.execute("CREATE TABLE other(x)"), c.execute("INSERT INTO other VALUES (1)"), c.commit(), c.close()))(
                sqlite3.connect(p)
            ),
            id="other-sqlite-db",
        ),
    ],
)
def test_a_file_that_is_not_a_store_is_refused_and_left_byte_for_byte(tmp_path: Path, make) -> None:
    path = tmp_path / "notastore.db"
    make(path)
    before = path.read_bytes()
    siblings = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StoreError, match="not an hpsearch store"):
        Store.open(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == siblings


def test_a_store_with_a_newer_schema_is_refused_and_left_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    Store.open(path).close()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO hpsearch_schema_version VALUES (?, 0)", (SCHEMA_VERSION + 1,))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    for extra in tmp_path.glob("future.db-*"):
        extra.unlink()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer"):
        Store.open(path)
    with pytest.raises(StoreError, match="newer"):
        Store.open(path, read_only=True)
    assert path.read_bytes() == before


def test_read_only_open_of_a_missing_store_fails_without_creating_it(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="no store"):
        Store.open(path, read_only=True)
    assert not path.exists()


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store.open(path).close()
    ro = Store.open(path, read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        ro.create_study(study_config(), n_trials=1)
    ro.close()


@pytest.mark.parametrize("target", ["nonsense://x", "postgresql+nodriver://u@localhost/db", "DIR"])
def test_an_unusable_store_location_is_one_clear_error(tmp_path: Path, target: str) -> None:
    where = str(tmp_path) if target == "DIR" else target
    with pytest.raises(StoreError, match="cannot open the store"):
        Store.open(where)


def test_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    """In WAL mode a reader needs no lock: status queries must not queue behind a long write."""
    path = tmp_path / "s.db"
    store = Store.open(path)
    study = store.create_study(study_config(), n_trials=1)
    reader = Store.open(path, read_only=True)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        results: list = []
        threads = [
            threading.Thread(target=lambda: results.append(reader.studies())),
            threading.Thread(target=lambda: results.append(store.trials(study.id))),  # reads of a read-write store too
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        assert not any(t.is_alive() for t in threads), "a read waited for the write lock"
        assert sorted(map(len, results)) == [0, 1]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        reader.close()
        store.close()


def _open_and_close(url: str) -> None:
    Store.open(url).close()


def test_workers_opening_a_new_store_together_create_the_schema_once(store_url: str) -> None:
    """Six processes open the same brand-new store at once (as `--workers` does on a new database)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_open_and_close, args=(store_url,)) for _ in range(6)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * 6
    with Store.open(store_url) as store:
        assert store.studies() == []


def test_a_new_store_opens_while_another_connection_holds_its_write_lock(tmp_path: Path) -> None:
    """The moment that made workers opening a new store together fail: the file is still in rollback mode and
    another connection holds its write lock, so switching it to WAL is refused at once, with no busy wait."""
    path = tmp_path / "store.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the file is new and empty: the write lock, and nothing written yet
    threading.Timer(0.3, lambda: (other.execute("COMMIT"), other.close())).start()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.studies() == []


def private_store_uses(package: Path) -> list[str]:
    """Every place in the modules of ``package`` outside its ``store/`` that reaches a private member of the
    store: an attribute named as one of :class:`Store`'s private members (``store._read``, ``opened._write``,
    ``self.store._take`` ...) on anything but ``self``/``cls``, or a private name imported from ``store/``."""
    import ast

    from hpsearch.store.store import Store

    private = {name for name in vars(Store) if name.startswith("_") and not name.startswith("__")} | {"_engine"}
    found = []
    for path in sorted(package.rglob("*.py")):
        if "store" in path.relative_to(package).parts[:1]:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(package.parent)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Attribute) and node.attr in private:
                if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    found.append(f"{where} .{node.attr}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hpsearch.store"):
                found += [f"{where} import {a.name}" for a in node.names if a.name.startswith("_")]
    return found


def test_nothing_outside_the_store_reaches_a_private_member_of_it() -> None:
    """Readers go through the store's public reads (:mod:`hpsearch.store.queries` and ``Store.fetch``)."""
    import hpsearch

    package = Path(hpsearch.__file__).resolve().parent
    assert private_store_uses(package) == []
    assert "_read" in Store.__dict__  # the scan knows the members it looks for


#: Store URLs with a password, one for each way opening them fails (no server is reached: port 1 refuses at once).
SECRET = "s3cretPW"
URLS_WITH_A_PASSWORD = {
    "unreachable-server": f"postgresql+psycopg://user:{SECRET}@127.0.0.1:1/db",
    "missing-driver": f"mysql://user:{SECRET}@nohost/x",
    "unknown-dialect": f"nodialect://user:{SECRET}@host/x",
    "unparsable-port": f"postgresql://user:{SECRET}@host:port/db",
}


@pytest.mark.parametrize("mode", ["write", "read_only", "no_create"])
@pytest.mark.parametrize("url", URLS_WITH_A_PASSWORD.values(), ids=URLS_WITH_A_PASSWORD)
def test_a_store_that_cannot_be_opened_is_named_with_its_password_hidden(url: str, mode: str) -> None:
    from hpsearch.store import store_label

    with pytest.raises(StoreError) as info:
        Store.open(url, read_only=mode == "read_only", create=mode != "no_create")
    message = str(info.value)
    assert len(message.splitlines()) == 1 and SECRET not in message
    assert f"cannot open the store '{store_label(url)}'" in message and "user:***@" in store_label(url)


def test_a_missing_database_driver_names_the_package_to_install() -> None:
    with pytest.raises(StoreError, match=r"its database driver 'MySQLdb' is not installed \(pip install 'mysqlclient'\)"):
        Store.open("mysql://nohost/x")


def test_a_new_store_is_created_only_in_an_existing_folder(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "s.db"
    with pytest.raises(StoreError, match=rf"cannot create the store {path}: no such directory: {path.parent}; give an existing store"):
        Store.open(f"sqlite:///{path}")
    assert list(tmp_path.iterdir()) == []


def test_every_error_that_names_a_store_names_its_file_or_its_url_without_password(store_url: str) -> None:
    """An empty SQLite file is named by its path (not by the URL SQLite reads it through); a server by its URL with
    the password hidden, in each message that names the store."""
    from sqlalchemy import create_engine, make_url

    from hpsearch.store import store_label

    sqlite = not store_url.startswith("postgresql")
    if sqlite:
        Path(store_url).touch()
    password = None if sqlite else make_url(store_url).password
    messages = []
    for attempt in (lambda: Store.open(store_url, read_only=True), lambda: Store.open(store_url, create=False)):
        with pytest.raises(StoreError) as info:
            attempt()
        messages.append(str(info.value))
    with Store.open(store_url) as store:
        store.create_study(study_config(), n_trials=1)
    with Store.open(store_url, read_only=True) as ro:
        with pytest.raises(StoreError) as info:
            ro.create_study(study_config(), n_trials=1)
        messages.append(str(info.value))
        with pytest.raises(UnknownStudyError) as unknown:
            ro.study("nope")
        messages.append(str(unknown.value))
    engine = create_engine(f"sqlite:///{store_url}" if sqlite else store_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO hpsearch_schema_version VALUES ({SCHEMA_VERSION + 1}, 0)")
    engine.dispose()
    for read_only in (False, True):
        with pytest.raises(StoreError, match="newer") as info:
            Store.open(store_url, read_only=read_only)
        messages.append(str(info.value))
    for message in messages:
        assert store_label(store_url) in message and "file%3A" not in message and "mode=" not in message, message
        assert password is None or password not in message
