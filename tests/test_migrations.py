"""Store migrations: ``tests/data/store_v1.db`` (schema 1, written before migrations existed, a study of
every strategy) and ``tests/data/store_v2.db`` (schema 2, a study of its own metric too) opened by this
hpsearch, on SQLite and on PostgreSQL, every value equal afterwards."""

from __future__ import annotations

import shutil
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
OLD_STORES = {1: V1, 2: V2}
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


def _assert_every_value_kept(before: Rows, after: Rows) -> None:
    """Migrated: not a row of schema 1's tables lost or changed; the values schema 3 moved are where it moved them."""
    assert after["hpsearch_schema_version"][: len(before["hpsearch_schema_version"])] == before["hpsearch_schema_version"]
    for name in V1_TABLES[1:]:
        moved = _MOVED.get(name, set())
        kept = [{k: v for k, v in r.items() if k not in moved} for r in after[name]]
        assert kept == [{k: v for k, v in r.items() if k not in moved} for r in before[name]], name  # not a row changed
    assert set(after["hpsearch_trial_epochs"][0]) == {"trial_id", "attempt", "epoch", "seconds", "recorded_at"}
    assert all(r["second_parent"] is None for r in after["hpsearch_pbt_decisions"])  # the store alone adds the column
    assert _epoch_metrics(after) == _epoch_metrics(before)  # every metric of every epoch
    assert [r["metrics"] for r in after["hpsearch_evaluations"]] == [
        {"loss": r["loss"], "accuracy": r["accuracy"]} for r in before["hpsearch_evaluations"]
    ]


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
                assert evaluation.metrics == {"loss": old[0]["loss"], "accuracy": old[0]["accuracy"]}
                assert (evaluation.accuracy, evaluation.loss, evaluation.note) == (old[0]["accuracy"], old[0]["loss"], old[0]["note"])
            # every metric of every epoch is a row of the metrics table
            metrics = store.metric_rows(study.id, current_only=False)
            assert len(metrics) == sum(len(expected[(e.trial_id, e.attempt, e.epoch)]) for e in epochs)
            if version == 1:
                assert len(metrics) == sum(1 for e in epochs for m in _METRICS if getattr(e, m) is not None)
        assert store.decisions(store.study(f"v{version}-pbt").id) and store.decisions(store.study(f"v{version}-evolution").id)
        if version == 2:  # a study of its own metric keeps it, per epoch, as its curve
            own = store.study("v2-own-metric")
            assert own.metric == "val_auc" and all(t.curve and t.curve[-1] == t.value for t in store.trials(own.id))
    after = _rows(engine_url)
    assert [r["version"] for r in after["hpsearch_schema_version"]] == [*(r["version"] for r in before["hpsearch_schema_version"]), 3]
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
