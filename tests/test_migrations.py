"""Store migrations: ``tests/data/store_v1.db`` (schema 1, written before migrations existed, a study of
every strategy) and ``tests/data/store_v2.db`` (schema 2, a study of its own metric too) opened by this
hpsearch, on SQLite and on PostgreSQL, every value equal afterwards."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, select, text

from hpsearch import Store, StoreError
from hpsearch.cli import main
from hpsearch.store import schema as s

DATA = Path(__file__).resolve().parent / "data"
V1 = DATA / "store_v1.db"
#: Schema 2, written by the code before schema 3 (tests/data/make_store_v2.py): a study of every strategy and one of its own metric.
V2 = DATA / "store_v2.db"
#: Schema 3, written by the code before schema 4 (tests/data/make_store_v3.py): schema 2's studies and a conditional one.
V3 = DATA / "store_v3.db"
OLD_STORES = {1: V1, 2: V2, 3: V3}
#: The tables of schema 1 (what every later schema must keep, row for row).
V1_TABLES = [
    "hpsearch_schema_version",
    "hpsearch_studies",
    "hpsearch_trials",
    "hpsearch_trial_epochs",
    "hpsearch_pbt_decisions",
    "hpsearch_evaluations",
]
_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
#: Where schema 3 moved values: the epochs table's metric columns, the evaluations' loss and accuracy; and the
#: column it added (an evolution child's second parent: empty until ``hpsearch migrate`` stores the lineage).
_MOVED = {
    "hpsearch_trial_epochs": set(_METRICS),
    "hpsearch_evaluations": {"loss", "accuracy", "metrics"},
    "hpsearch_pbt_decisions": {"second_parent"},
    "hpsearch_trials": {"objective_values"},  # schema 4's: empty for every trial of a study of one objective
}

Rows = dict[str, list[dict[str, Any]]]


def _rows(url: str) -> Rows:
    """Every row of every hpsearch table at ``url`` (as the tables are there), in primary-key order."""
    engine = create_engine(url)
    try:
        tables = MetaData()
        tables.reflect(engine, only=lambda name, _meta: name.startswith("hpsearch_") and name != "hpsearch_alembic_version")
        with engine.connect() as conn:
            return {
                name: [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
                for name, table in tables.tables.items()
            }
    finally:
        engine.dispose()


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///file:{path}?mode=ro&immutable=1&uri=true"  # reads, and leaves no side file


def _old_store(version: int, store_url: str) -> str:
    """The store of schema ``version`` (:data:`OLD_STORES`) at ``store_url``: a copy of the file, or its tables
    (as that schema had them) and rows loaded into a PostgreSQL database."""
    fixture = OLD_STORES[version]
    if not store_url.startswith("postgresql"):
        shutil.copy(fixture, store_url)
        return store_url
    source = create_engine(_sqlite_url(fixture))
    tables = MetaData()
    tables.reflect(source)
    engine = create_engine(store_url)
    with engine.begin() as conn, source.connect() as read:
        tables.create_all(conn)
        for table in tables.sorted_tables:
            rows = [dict(r._mapping) for r in read.execute(select(table))]
            if rows:
                conn.execute(table.insert(), rows)
        for table in tables.sorted_tables:  # the serial counters go on after the loaded ids
            if "id" in table.c:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT MAX(id) FROM {table.name}))"))
    source.dispose()
    engine.dispose()
    return store_url


def _v1_store(store_url: str, tmp_path: Path) -> str:
    """A schema-1 store at ``store_url``."""
    return _old_store(1, store_url)


def _epoch_metrics(rows: Rows) -> dict[tuple[int, int, int], dict[str, float | None]]:
    """Every metric of every epoch an old store holds, by (trial id, attempt, epoch): its metrics table's rows
    (schema 2) and its epochs table's metric columns (schemas 1 and 2; the same values where both hold one)."""
    out: dict[tuple[int, int, int], dict[str, float | None]] = {}
    for r in rows.get("hpsearch_trial_metrics", []):
        out.setdefault((r["trial_id"], r["attempt"], r["epoch"]), {})[r["name"]] = r["value"]
    for r in rows["hpsearch_trial_epochs"]:
        held = out.setdefault((r["trial_id"], r["attempt"], r["epoch"]), {})
        for name in _METRICS:
            if r.get(name) is not None:
                assert held.setdefault(name, r[name]) == r[name], (r, name)
    return out


def _assert_every_value_kept(before: Rows, after: Rows, *, lineage_stored: bool = False) -> None:
    """Migrated: not a row of schema 1's tables lost or changed; the values schema 3 moved are where it moved them
    (``lineage_stored``: after ``hpsearch migrate``, which stores evolution children's second parents too)."""
    assert after["hpsearch_schema_version"][: len(before["hpsearch_schema_version"])] == before["hpsearch_schema_version"]
    for name in V1_TABLES[1:]:
        moved = _MOVED.get(name, set())
        kept = [{k: v for k, v in r.items() if k not in moved} for r in after[name]]
        was = [{k: v for k, v in r.items() if k not in moved} for r in before[name]]
        if lineage_stored and name == "hpsearch_pbt_decisions":  # evolution studies gained decisions: the others' are kept
            evolution = {r["id"] for r in before["hpsearch_studies"] if r["strategy"] == "evolution"}
            kept, was = ([r for r in rows if r["study_id"] not in evolution] for rows in (kept, was))
        assert kept == was, name  # not a row changed
    assert set(after["hpsearch_trial_epochs"][0]) == {"trial_id", "attempt", "epoch", "seconds", "recorded_at"}
    had = [r.get("second_parent") for r in before["hpsearch_pbt_decisions"]]  # schema 3 added the column: empty until migrate
    assert lineage_stored or [r["second_parent"] for r in after["hpsearch_pbt_decisions"]] == had
    assert _epoch_metrics(after) == _epoch_metrics(before)  # every metric of every epoch
    assert all(r["objective_values"] is None for r in after["hpsearch_trials"])
    assert [r["metrics"] for r in after["hpsearch_evaluations"]] == [_old_metrics(r) for r in before["hpsearch_evaluations"]]


def _old_metrics(row: dict[str, Any]) -> dict[str, Any]:
    """An old store's evaluation's metrics: its mapping (schema 3), or its loss and accuracy (schemas 1 and 2)."""
    return row["metrics"] if "metrics" in row else {"loss": row["loss"], "accuracy": row["accuracy"]}


@pytest.mark.parametrize("version", sorted(OLD_STORES))
def test_an_old_store_is_migrated_in_place_and_shows_everything_as_before(store_url: str, tmp_path: Path, version: int) -> None:
    sqlite = not store_url.startswith("postgresql")
    url = _old_store(version, str(tmp_path / f"v{version}.db") if sqlite else store_url)
    engine_url = _sqlite_url(Path(url)) if sqlite else url
    before = _rows(engine_url)
    original = Path(url).read_bytes() if sqlite else b""
    with Store.open(url) as store:
        assert store.migrated is not None and store.migrated[0] == version and store.schema_version == s.SCHEMA_VERSION
        if sqlite:
            backup = store.migrated[1]
            assert backup == tmp_path / f"v{version}.db.schema{version}.bak" and backup.read_bytes() == original
        studies = store.studies()
        assert [st.name for st in studies] == [r["name"] for r in before["hpsearch_studies"]]
        expected = _epoch_metrics(before)
        for study in studies:  # what the store's readers show is what the rows held
            trials = store.trials(study.id)
            assert [(t.number, t.state.value, t.value) for t in trials] == [
                (r["number"], r["state"], r["value"]) for r in before["hpsearch_trials"] if r["study_id"] == study.id
            ]
            epochs = store.epochs(study.id, current_only=False)
            ids = {t.id for t in trials}
            assert len(epochs) == sum(1 for r in before["hpsearch_trial_epochs"] if r["trial_id"] in ids)
            assert {(e.trial_id, e.attempt, e.epoch): dict(e.metrics) for e in epochs} == {
                key: value for key, value in expected.items() if key[0] in ids
            }  # every metric of every epoch, read back
            assert len(store.decisions(study.id)) == sum(1 for r in before["hpsearch_pbt_decisions"] if r["study_id"] == study.id)
            evaluation = store.evaluation(study.id)
            old = [r for r in before["hpsearch_evaluations"] if r["study_id"] == study.id]
            assert (evaluation is not None) == bool(old)
            if evaluation is not None:
                assert evaluation.metrics == _old_metrics(old[0])
                assert (evaluation.accuracy, evaluation.loss, evaluation.note) == (
                    _old_metrics(old[0])["accuracy"],
                    _old_metrics(old[0])["loss"],
                    old[0]["note"],
                )
            # every metric of every epoch is a row of the metrics table
            metrics = store.metric_rows(study.id, current_only=False)
            assert len(metrics) == sum(len(expected[(e.trial_id, e.attempt, e.epoch)]) for e in epochs)
            if version == 1:
                assert len(metrics) == sum(1 for e in epochs for m in _METRICS if getattr(e, m) is not None)
        assert store.decisions(store.study(f"v{version}-pbt").id) and store.decisions(store.study(f"v{version}-evolution").id)
        if version >= 2:  # a study of its own metric keeps it, per epoch, as its curve
            own = store.study(f"v{version}-own-metric")
            assert own.metric == "val_auc" and all(t.curve and t.curve[-1] == t.value for t in store.trials(own.id))
    after = _rows(engine_url)
    assert [r["version"] for r in after["hpsearch_schema_version"]] == [
        *(r["version"] for r in before["hpsearch_schema_version"]),
        s.SCHEMA_VERSION,
    ]
    _assert_every_value_kept(before, after)
    engine = create_engine(engine_url)
    with engine.connect() as conn:  # the migrated tables are the tables of a new store
        context = MigrationContext.configure(conn, opts={"version_table": "hpsearch_alembic_version"})
        assert compare_metadata(context, s.metadata) == []
    engine.dispose()
    with Store.open(url) as store:  # opening again migrates nothing
        assert store.migrated is None


def test_a_read_only_command_never_migrates_and_says_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v1.db"
    shutil.copy(V1, path)
    original = path.read_bytes()
    older = rf"schema version 1, older than this hpsearch's \({s.SCHEMA_VERSION}\): run `hpsearch migrate --store"
    with pytest.raises(StoreError, match=older):
        Store.open(path, read_only=True)
    with pytest.raises(SystemExit) as info:
        main(["status", "--store", str(path)])
    assert info.value.code != 0 and "hpsearch migrate" in capsys.readouterr().err
    assert path.read_bytes() == original and sorted(p.name for p in tmp_path.iterdir()) == ["v1.db"]
    assert main(["migrate", "--store", str(path)]) == 0
    assert f"migrated from schema version 1 to {s.SCHEMA_VERSION}; the original is kept as" in capsys.readouterr().out
    assert main(["status", "--verbose", "--store", str(path)]) == 0
    assert f"schema version {s.SCHEMA_VERSION} (this hpsearch: {s.SCHEMA_VERSION})" in capsys.readouterr().out


def test_a_migration_that_fails_leaves_the_store_as_it_was(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hpsearch.store import migrate

    sqlite = not store_url.startswith("postgresql")
    url = _v1_store(str(tmp_path / "v1.db") if sqlite else store_url, tmp_path)
    before = _rows(_sqlite_url(Path(url)) if sqlite else url)
    original = Path(url).read_bytes() if sqlite else b""
    real = migrate.upgrade

    def half_done(conn, from_version):  # type: ignore[no-untyped-def]
        real(conn, from_version)  # every step ran; the last one fails
        raise RuntimeError("disk full")

    monkeypatch.setattr(migrate, "upgrade", half_done)
    with pytest.raises(StoreError, match="disk full"):
        Store.open(url)
    if sqlite:
        assert Path(url).read_bytes() == original and sorted(p.name for p in tmp_path.iterdir()) == ["v1.db"]
    engine = create_engine(_sqlite_url(Path(url)) if sqlite else url)
    with engine.connect() as conn:
        assert not inspect(conn).has_table(s.metrics.name)  # the new table went with the rollback
    engine.dispose()
    assert _rows(_sqlite_url(Path(url)) if sqlite else url) == before
    monkeypatch.setattr(migrate, "upgrade", real)
    with Store.open(url) as store:  # and the next try succeeds
        assert store.migrated is not None and store.schema_version == s.SCHEMA_VERSION


def test_a_new_store_is_at_the_latest_schema_and_records_every_metric(tmp_path: Path) -> None:
    from hpsearch import FunctionTrainer, run_study
    from tests.conftest import study_config, toy_metrics

    def with_auc(params, epoch, seed):  # type: ignore[no-untyped-def]
        return {**toy_metrics(params, epoch, seed), "val_auc": 0.5 + 0.1 * epoch}

    summary = run_study(study_config("random", trials=2, epochs=2), str(tmp_path / "new.db"), trainer=FunctionTrainer(with_auc))
    with Store.open(tmp_path / "new.db", read_only=True) as store:
        assert store.schema_version == s.SCHEMA_VERSION and store.migrated is None
        rows = store.metric_rows(summary.study.id)
    assert {r.name for r in rows} == {*_METRICS, "val_auc"} and len(rows) == 2 * 2 * 5
    assert [r.value for r in rows if r.name == "val_auc"] == pytest.approx([0.6, 0.7, 0.6, 0.7])


def test_any_reported_metric_can_be_the_objective(tmp_path: Path) -> None:
    """A metric of its own (here from a trainer of one's own): stored per epoch, the study's objective, its curves and frames."""
    from hpsearch import ConfigError, FunctionTrainer, run_study
    from hpsearch.read.frames import epochs_frame, trials_frame
    from hpsearch.running.loop import StudyRunner
    from hpsearch.show.plots import learning_curves_data
    from tests.conftest import study_config, toy_metrics

    def with_error(params, epoch, seed):  # type: ignore[no-untyped-def]
        metrics = toy_metrics(params, epoch, seed)
        return {**metrics, "val_error": 1.0 - metrics["val_accuracy"]}

    config = study_config("tpe", trials=4, epochs=2, objective={"metric": "val_error", "direction": "minimize"})
    summary = run_study(config, str(tmp_path / "own.db"), trainer=FunctionTrainer(with_error))
    errors = {t.number: t.value for t in summary.trials}
    assert summary.best.value == min(errors.values()) and summary.study.metric == "val_error"
    assert all(len(t.curve) == 2 and t.curve[-1] == t.value for t in summary.trials)  # curves from the metrics table
    frame = epochs_frame(tmp_path / "own.db")
    assert frame["val_error"].to_numpy() == pytest.approx(1.0 - frame["val_accuracy"].to_numpy())
    curves = learning_curves_data(trials_frame(tmp_path / "own.db"), frame)
    assert len(curves) == 8 and curves["value"].notna().all()
    with pytest.raises(ConfigError, match=r"objective.direction = None: required for metric 'val_auc': maximize or minimize"):
        study_config("random", objective={"metric": "val_auc"})
    with pytest.raises(ConfigError, match=r"objective.metric = 'val auc': must be a metric name"):
        study_config("random", objective={"metric": "val auc", "direction": "maximize"})
    with pytest.raises(ConfigError, match=r"objective.metric = 'val_error': the built-in model reports loss, accuracy"):
        StudyRunner(config, Store.open(tmp_path / "other.db"))


def test_a_study_resumed_with_the_opposite_direction_is_refused(tmp_path: Path) -> None:
    from hpsearch import StudyMismatchError
    from tests.conftest import study_config

    with Store.open(tmp_path / "d.db") as store:
        store.create_study(study_config("random", name="f1", objective={"metric": "f1", "direction": "maximize"}), n_trials=6)
        with pytest.raises(StudyMismatchError, match=r"direction \(stored 'maximize', file 'minimize'\)"):
            store.create_study(study_config("random", name="f1", objective={"metric": "f1", "direction": "minimize"}), n_trials=6)
        # a known metric at its own direction records none: studies created before directions could be set still resume
        assert "direction" not in study_config("random", objective={"metric": "val_loss"}).identity()


def test_processes_opening_an_old_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    """Several openers of one schema-1 file (workers started together): one migrates, the others wait and find it done."""
    import threading

    path = tmp_path / "v1.db"
    shutil.copy(V1, path)
    before = _rows(_sqlite_url(path))
    results: list[Any] = []

    def open_it() -> None:
        with Store.open(path) as store:
            results.append((store.migrated, store.schema_version))

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 4 and all(version == s.SCHEMA_VERSION for _, version in results)
    assert sum(migrated is not None for migrated, _ in results) == 1
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == ["v1.db", "v1.db.schema1.bak"]
    _assert_every_value_kept(before, _rows(_sqlite_url(path)))


# --------------------------------------------------------------------------- migrations killed or failed at each step

#: Where a migration of an SQLite file is killed: in and after copying the store, in (uncommitted) and after
#: upgrading the copy, after keeping the original beside it (hard link; or a copy, part and whole, where there are no
#: hard links), and after renaming the copy over the store.
KILL_POINTS = ["copying", "copied", "upgrading", "upgraded", "original-linked", "original-copying", "original-copied", "renamed"]


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(kill: str, path: Path) -> None:
    """In a forked child: have the migration of ``path`` killed (SIGKILL: nothing cleans up) at ``kill``."""
    from hpsearch.store import migrate

    real_copy, real_upgrade, real_replace, real_link = migrate._copy_database, migrate.upgrade, os.replace, os.link

    def copy(source: Path, work: Path, read_mode: str) -> None:
        real_copy(source, work, read_mode)
        if kill == "copying":
            os.truncate(work, work.stat().st_size // 2)
        _die()

    def upgrade(conn: Any, from_version: int) -> None:
        real_upgrade(conn, from_version)
        _die()

    def replace(src: Any, dst: Any) -> None:
        if Path(dst) == path and kill in ("original-linked", "original-copied"):
            _die()
        real_replace(src, dst)
        if Path(dst) == path and kill == "renamed":
            _die()

    def link(src: Any, dst: Any) -> None:
        if kill.startswith("original-copy"):
            raise PermissionError(1, "no hard links on this file system")
        real_link(src, dst)

    def copyfile(src: Any, dst: Any) -> None:
        Path(dst).write_bytes(Path(src).read_bytes()[:4096])
        _die()

    if kill in ("copying", "copied"):
        migrate._copy_database = copy
    elif kill == "upgrading":
        migrate.upgrade = upgrade
    elif kill == "upgraded":
        migrate._keep_original = lambda *args: _die()
    os.replace, os.link = replace, link
    if kill == "original-copying":
        shutil.copyfile = copyfile


def _killed_migration(path: Path, kill: str) -> None:
    """Open the old store at ``path`` for writing (which migrates it) in a child process killed at ``kill``."""
    child = os.fork()
    if child == 0:  # pragma: no cover - the child never returns
        try:
            _arm(kill, path)
            Store.open(path)
        finally:
            os._exit(3)  # the kill point was not reached
    _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"not killed at {kill} ({status})"


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("kill", KILL_POINTS)
def test_a_migration_killed_at_any_step_is_recovered_by_the_next_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kill: str
) -> None:
    path = tmp_path / "v1.db"
    shutil.copy(V1, path)
    original = path.read_bytes()
    before = _rows(_sqlite_url(path))
    _killed_migration(path, kill)
    assert any(name.startswith(".v1.db.") for name in _names(tmp_path)) or kill == "renamed"  # what the kill left
    if kill == "renamed":  # the migration was done: a read-only command reads it
        assert main(["status", "--store", str(path)]) == 0 and "v1-pbt" in capsys.readouterr().out
        assert _names(tmp_path) == ["v1.db", "v1.db.schema1.bak"]
    else:  # a read-only command finds the store as it was (and rolls back what the kill left)
        with pytest.raises(SystemExit) as info:
            main(["status", "--store", str(path)])
        assert info.value.code == 1 and "older than this hpsearch's" in capsys.readouterr().err
        assert _names(tmp_path) == ["v1.db"] and path.read_bytes() == original
    assert main(["migrate", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert ("nothing to migrate" if kill == "renamed" else "migrated from schema version 1") in out and "0 studies" not in out
    assert _names(tmp_path) == ["v1.db", "v1.db.schema1.bak"] and (tmp_path / "v1.db.schema1.bak").read_bytes() == original
    _assert_every_value_kept(before, _rows(_sqlite_url(path)), lineage_stored=True)


@pytest.mark.parametrize("whole", [True, False], ids=["copy-whole", "copy-unfinished"])
def test_a_store_left_between_the_two_renames_of_earlier_versions_is_completed_or_rolled_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], whole: bool
) -> None:
    """hpsearch before this one renamed the store to its backup, then the migrated copy to the store's name: killed
    between the two, it left no store. The next command completes the migration (the copy is whole) or puts the
    original back, and never creates an empty store in its place."""
    path = tmp_path / "m.db"
    shutil.copy(V1, tmp_path / "m.db.schema1.bak")
    before = _rows(_sqlite_url(tmp_path / "m.db.schema1.bak"))
    copy = tmp_path / ".m.db.migrating-4242"
    if whole:
        migrated = tmp_path / "other" / "m.db"
        migrated.parent.mkdir()
        shutil.copy(V1, migrated)
        Store.open(migrated).close()
        migrated.rename(copy)
        shutil.rmtree(migrated.parent)
    else:
        shutil.copy(V1, copy)  # not upgraded yet
    if whole:  # a read-only command puts the migrated store in place and reads it
        assert main(["status", "--store", str(path)]) == 0 and "v1-pbt" in capsys.readouterr().out
        assert _names(tmp_path) == ["m.db", "m.db.schema1.bak"]
    assert main(["migrate", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    if not whole:
        assert "rolled back an interrupted migration" in out and "migrated from schema version 1" in out
    assert _names(tmp_path) == ["m.db", "m.db.schema1.bak"]
    _assert_every_value_kept(before, _rows(_sqlite_url(path)), lineage_stored=True)


def test_a_migration_that_fails_at_its_last_rename_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v1.db"
    shutil.copy(V1, path)
    original = path.read_bytes()
    real = os.replace

    def refused(src: Any, dst: Any) -> None:
        if Path(dst) == path:
            raise PermissionError(13, "Permission denied")
        real(src, dst)

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(StoreError, match=r"failed \(PermissionError: .*Permission denied\); the store was left as it was"):
        Store.open(path)
    assert _names(tmp_path) == ["v1.db"] and path.read_bytes() == original


@pytest.mark.parametrize("where", ["missing.db", "missing/folders/s.db", "empty.db"])
def test_migrate_never_creates_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if where == "empty.db":
        (tmp_path / where).touch()
    with pytest.raises(SystemExit) as info:
        main(["migrate", "--store", where])
    err = capsys.readouterr().err
    assert info.value.code == 1 and len(err.splitlines()) == 1 and str((tmp_path / where).resolve()) in err
    assert ("it is an empty file" if where == "empty.db" else "no store at") in err and "only a run creates a store" in err
    assert _names(tmp_path) == (["empty.db"] if where == "empty.db" else []) and all(p.stat().st_size == 0 for p in tmp_path.iterdir())


def test_migrate_creates_no_store_in_a_server_database_without_one(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("a server database (an SQLite file is tested above)")
    with pytest.raises(SystemExit) as info:
        main(["migrate", "--store", store_url])
    assert info.value.code == 1 and "holds no hpsearch store: only a run creates one" in capsys.readouterr().err
    engine = create_engine(store_url)
    with engine.connect() as conn:
        assert not inspect(conn).has_table(s.schema_version.name)
    engine.dispose()


def test_a_worker_on_an_old_store_says_what_to_run_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v1.db"
    shutil.copy(V1, path)
    original = path.read_bytes()
    with pytest.raises(SystemExit) as info:
        main(["worker", "v1-random", "-q", "--store", str(path)])
    err = capsys.readouterr().err
    assert info.value.code == 1 and f"run `hpsearch migrate --store {path}` first, then this command again" in err
    assert "read-only command" not in err and path.read_bytes() == original and _names(tmp_path) == ["v1.db"]
