"""The study store: the only code that reads or writes SQL.

One store is the single source of truth of hpsearch: studies, trials, per-epoch
metrics and the final test evaluation. Any SQLAlchemy URL works; a plain path
means an SQLite file, which is opened in WAL mode with a busy timeout and with
every write transaction started as ``BEGIN IMMEDIATE``, so that concurrent
workers queue for the write lock instead of failing with "database is locked".
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, create_engine, event, func, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from hpsearch.core.errors import StoreError, StudyMismatchError, UnknownStudyError
from hpsearch.core.records import (
    Decision,
    EpochRecord,
    Evaluation,
    Proposal,
    StudyRecord,
    StudyState,
    TrialRecord,
    TrialState,
)
from hpsearch.store import queries
from hpsearch.store import schema as s

__all__ = ["DEFAULT_STORE", "ClaimConflict", "EpochEntry", "MetricRow", "Store", "WorkerInfo", "reading", "store_label", "store_url"]

#: The store used when neither ``--store`` nor ``HPSEARCH_STORE`` names one.
DEFAULT_STORE = "hpsearch.db"
SQLITE_BUSY_TIMEOUT_S = 60.0
_SQLITE_MAGIC = b"SQLite format 3\x00"
_WRITE_OPTION = "hpsearch_write"
#: PostgreSQL advisory-lock key held while the schema is created ("hpsearch" in ASCII).
_SCHEMA_LOCK_KEY = 0x6870736561726368
_R = TypeVar("_R")


def store_url(path_or_url: str | os.PathLike[str] | None = None) -> str:
    """A SQLAlchemy URL from a path or URL; ``None`` means ``$HPSEARCH_STORE`` or ``hpsearch.db``."""
    if path_or_url is None:
        path_or_url = os.environ.get("HPSEARCH_STORE") or DEFAULT_STORE
    text = os.fspath(path_or_url)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


#: The password of a URL that SQLAlchemy cannot parse (``scheme://user:PASSWORD@...``).
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


def store_label(path_or_url: str | os.PathLike[str] | None = None) -> str:
    """How to name a store to a person: its file for SQLite, else its URL with the password hidden
    (also when the URL cannot be parsed)."""
    text = store_url(path_or_url)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        return _PASSWORD_IN_URL.sub(r"\1***@", text)
    return _label(url)


def _sqlite_file(url: URL) -> Path | None:
    """The file of an SQLite URL (None for a server or an in-memory database)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database.removeprefix("file:").split("?")[0])


def _label(url: URL) -> str:
    """A store's URL named to a person: its file for SQLite, else the URL with its password hidden."""
    path = _sqlite_file(url)
    return str(path) if path is not None else url.render_as_string(hide_password=True)


def _hidden(reason: str, path_or_url: str | os.PathLike[str] | None) -> str:
    """``reason`` with the store's password (should a driver's message repeat it) hidden."""
    try:
        password = make_url(store_url(path_or_url)).password
    except (ArgumentError, ValueError):
        return _PASSWORD_IN_URL.sub(r"\1***@", reason)
    return reason.replace(password, "***") if password else reason


#: The package to install for each database driver module SQLAlchemy imports (others: the module's own name).
_DRIVER_PACKAGES = {
    "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL",
    "mysql": "mysql-connector-python",
    "psycopg2": "psycopg2-binary",
    "psycopg": "psycopg[binary]",
    "cx_Oracle": "cx_Oracle",
}


@dataclass(frozen=True)
class WorkerInfo:
    """Who is running a trial: used for heartbeats and to spot dead workers on this host."""

    worker_id: str
    host: str
    pid: int

    @classmethod
    def this_process(cls) -> WorkerInfo:
        host = socket.gethostname()
        pid = os.getpid()
        return cls(worker_id=f"{host}:{pid}:{os.urandom(3).hex()}", host=host, pid=pid)


@dataclass(frozen=True)
class EpochEntry:
    """One epoch of one trial, for :meth:`Store.record_epochs` (``epoch`` counts from 1)."""

    trial: TrialRecord
    epoch: int
    metrics: Mapping[str, float | None]
    seconds: float


@dataclass(frozen=True)
class MetricRow:
    """One metric of one epoch of a trial, as :meth:`Store.metric_rows` reads it."""

    trial_number: int
    attempt: int
    epoch: int
    name: str
    value: float | None


#: The longest metric name the metrics table keeps (longer ones are not stored).
METRIC_NAME_LENGTH = 100


def _finite(value: Any) -> float | None:
    """An evaluation's value as stored: a finite float, else None."""
    number = _number(value)
    return number if number is not None and math.isfinite(number) else None


def _number(value: Any) -> float | None:
    """A metric value as stored: a float, or None for what is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


#: ``propose(history, number)`` returns a Suggestion for trial ``number``, or None when there is none now.
class ClaimConflict(StoreError):
    """The study changed between a claim's read and its :meth:`Store.take`: nothing was written; read and decide again."""


class TrialLostError(StoreError):
    """This worker no longer owns the trial (it was judged dead and the trial handed on)."""

    @classmethod
    def of(cls, trial: TrialRecord) -> TrialLostError:
        return cls(
            f"trial {trial.number} (attempt {trial.attempt}) was taken from this worker "
            "(judged dead after missing heartbeats); its result is discarded"
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _open_elsewhere(path: Path) -> bool:
    """Whether the SQLite file at ``path`` has its ``-wal`` or ``-shm`` file beside it: another process has it open
    (or one was killed with it open), and a reader must go through them."""
    return any(path.with_name(path.name + side).exists() for side in ("-wal", "-shm"))


def _enter_wal_mode(cur: Any) -> None:
    """``PRAGMA journal_mode = WAL``, retried while another connection holds the lock.

    On a file still in rollback mode (a brand-new store) the change needs the write lock, and
    SQLite answers "database is locked" at once, without its busy handler, when several
    connections try it together (the upgrade from a read lock could deadlock). So workers that
    open a new store together retry here, up to the busy timeout, as they wait elsewhere.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if ("locked" not in str(err) and "busy" not in str(err)) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _check_sqlite_file(path: Path) -> int | None:
    """Refuse, without writing a byte, a file that is not an hpsearch store or is newer than us;
    returns its schema version (None for a new or empty file)."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open("rb") as fh:
        header = fh.read(len(_SQLITE_MAGIC))
    if header != _SQLITE_MAGIC:
        raise StoreError(f"{path} is not an hpsearch store: it is not an SQLite database (left unchanged)")
    try:
        # immutable creates no -wal/-shm files but reads the main file alone: only while no side file exists (a store
        # another process has open is read through its -wal; immutably, a checkpoint in progress reads as malformed)
        con = sqlite3.connect(f"file:{path}?mode=ro" + ("" if _open_elsewhere(path) else "&immutable=1"), uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            version = None
            if s.schema_version.name in tables:
                version = con.execute(f"SELECT MAX(version) FROM {s.schema_version.name}").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError as err:
        raise StoreError(f"{path} is not an hpsearch store: SQLite cannot read it ({err}) (left unchanged)") from None
    if tables and s.schema_version.name not in tables:
        shown = ", ".join(sorted(tables)[:5])
        raise StoreError(f"{path} is not an hpsearch store: it is an SQLite database with other tables ({shown}) (left unchanged)")
    if version is not None and version > s.SCHEMA_VERSION:
        raise StoreError(
            f"{path} has store schema version {version}, newer than this hpsearch understands "
            f"({s.SCHEMA_VERSION}); upgrade hpsearch (the file was left unchanged)"
        )
    return int(version) if version is not None else None


def _empty_kind(path: Path) -> str:
    return "an empty file" if path.stat().st_size == 0 else "an SQLite database without tables"


def _needs_migration(where: object, version: int) -> StoreError:
    return StoreError(
        f"{where} has store schema version {version}, older than this hpsearch's ({s.SCHEMA_VERSION}): "
        f"run `hpsearch migrate --store {where}` first, then this command again (it does not migrate a store; "
        "the store was left unchanged)"
    )


def _sqlite_read_mode(path: Path) -> str:
    """How a read-only store opens its SQLite file so that it leaves nothing beside it.

    A reader of a WAL database needs the ``-wal`` and ``-shm`` files, and creates them when
    they are missing; only a read-write connection deletes them again when it is the last
    to close. So: ``rw`` (with ``PRAGMA query_only``: no statement can write) when no side
    file exists yet and the file and its folder are writable; ``ro`` when a side file exists
    (another process has the store open, or one was killed: the files are theirs, and a
    read-only reader changes no byte of the store); ``ro&immutable=1`` on read-only media,
    where nobody can be writing the store and SQLite could not create the side files.
    What remains: a reader killed while open leaves the side files it made (SQLite deletes
    them at the next clean close of any connection).
    """
    if _open_elsewhere(path):
        return "ro"
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        return "rw"
    return "ro&immutable=1"


class Store:
    """A study store behind a SQLAlchemy engine. Open one with :meth:`Store.open`."""

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self._engine = engine
        self.read_only = read_only
        #: (the schema version it had, where the original was kept) when opening migrated the store; else None.
        self.migrated: tuple[int, Path | None] | None = None
        #: What opening did about a migration a killed process left (see ``recover_sqlite_file``), in words; else None.
        self.recovered: str | None = None
        #: What :meth:`claim_snapshot` read before, by study: each trial's row and record, and the curves of finished
        #: attempts (which never change), so that a claim builds records and reads curves only for what changed.
        self._claim_memo: dict[int, _ClaimMemo] = {}

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path_or_url: str | os.PathLike[str] | None = None, *, read_only: bool = False, create: bool = True) -> Store:
        """Open (and, unless ``read_only``, create or migrate) the store at a path or URL.

        An SQLite file that a killed migration left is first recovered (``recover_sqlite_file``), whatever
        the mode. ``create=False`` (what ``hpsearch migrate`` asks) refuses to create a store where there is
        none (a missing or empty file, a database without hpsearch's tables); a new SQLite store is created
        only in an existing folder.

        Raises :class:`StoreError` for a file that is not an hpsearch store, a store
        with a newer schema, a URL that cannot be used or whose driver is missing, an
        unreachable server, or (read-only) a store that does not exist. Every message
        names the store by :func:`store_label` (a URL's password hidden).
        """
        try:
            return cls._open(path_or_url, read_only=read_only, create=create)
        except StoreError:
            raise
        except ImportError as err:  # create_engine imports the dialect's driver
            module = (err.name or "").split(".")[0]
            package = _DRIVER_PACKAGES.get(module, module)
            raise StoreError(
                f"cannot open the store {store_label(path_or_url)!r}: its database driver {module!r} is not installed "
                f"(pip install '{package}')"
            ) from None
        except (SQLAlchemyError, OSError, ValueError) as err:
            reason = _hidden(str(getattr(err, "orig", None) or err).splitlines()[0], path_or_url)
            raise StoreError(f"cannot open the store {store_label(path_or_url)!r}: {type(err).__name__}: {reason}") from None

    @classmethod
    def _open(cls, path_or_url: str | os.PathLike[str] | None, *, read_only: bool, create: bool) -> Store:
        url = make_url(store_url(path_or_url))
        is_sqlite = url.get_backend_name() == "sqlite"
        recovered = None
        if is_sqlite:
            db = url.database or ""
            if db in ("", ":memory:"):
                if not create:
                    raise StoreError(f"{url.render_as_string()} is an in-memory store, always new: only a run creates a store")
                engine = cls._sqlite_engine("sqlite://", read_only=False)
                store = cls(engine)
                store._ensure_schema()
                return store
            path = Path(db)
            from hpsearch.store.migrate import recover_sqlite_file

            recovered = recover_sqlite_file(path)
            if not path.exists():
                if read_only:
                    raise StoreError(f"no store at {path}: run a study first, or name the store with --store / HPSEARCH_STORE")
                if not create:
                    raise StoreError(f"no store at {path}: nothing to open, and only a run creates a store (nothing was created)")
                if not path.parent.is_dir():
                    raise StoreError(
                        f"cannot create the store {path}: no such directory: {path.parent}; "
                        "give an existing store or a new file name in an existing directory"
                    )
            version = _check_sqlite_file(path)
            if version is None and not read_only and not create:
                raise StoreError(f"{path} is not an hpsearch store: it is {_empty_kind(path)}; only a run creates a store (left unchanged)")
            migrated = None if recovered is None else recovered.migrated
            if version is not None and version < s.SCHEMA_VERSION:
                if read_only:
                    raise _needs_migration(path, version)
                from hpsearch.store.migrate import migrate_sqlite_file

                backup = migrate_sqlite_file(path, version, _sqlite_read_mode(path))
                migrated = (version, backup) if backup is not None else None
            file_url = f"sqlite:///file:{path}?mode={_sqlite_read_mode(path)}&uri=true" if read_only else f"sqlite:///{path}"
            engine = cls._sqlite_engine(file_url, read_only=read_only)
        else:
            engine = create_engine(url, pool_pre_ping=True, future=True)
            migrated = None
        store = cls(engine, read_only=read_only)
        store.migrated = migrated
        store.recovered = None if recovered is None else recovered.note
        if read_only:
            store._check_schema_version(must_exist=True)
        else:
            store._ensure_schema(create=create)
        return store

    @staticmethod
    def _sqlite_engine(url: str, *, read_only: bool) -> Engine:
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_connection.cursor()
            cur.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            if read_only:
                cur.execute("PRAGMA query_only = 1")  # a reader opened read-write (see _sqlite_read_mode) still writes nothing
            else:
                _enter_wal_mode(cur)
                cur.execute("PRAGMA synchronous = NORMAL")
                cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A write transaction takes the write lock up front (IMMEDIATE): it never has to
            # upgrade a read lock, which is what makes SQLite fail with "database is locked".
            # Reads take no lock at all in WAL mode.
            write = conn.get_execution_options().get(_WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write and not read_only else "BEGIN")

        return engine

    def _ensure_schema(self, *, create: bool = True) -> None:
        from sqlalchemy import inspect

        from hpsearch.store import migrate

        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # workers that start together on a new database must not create (or migrate) the tables twice
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK_KEY})")
            current = None
            if inspect(conn).has_table(s.schema_version.name):
                current = conn.execute(select(func.max(s.schema_version.c.version))).scalar()
            if current is None and not create:
                raise StoreError(f"{self.label} holds no hpsearch store: only a run creates one (left unchanged)")
            if current is not None and current > s.SCHEMA_VERSION:
                raise StoreError(
                    f"{self.label} has store schema version {current}, newer than this hpsearch understands "
                    f"({s.SCHEMA_VERSION}); upgrade hpsearch"
                )
            if current is not None and current < s.SCHEMA_VERSION:  # PostgreSQL: in this transaction (SQLite files migrate on a copy)
                try:
                    migrate.upgrade(conn, current)
                except Exception as err:
                    raise StoreError(
                        f"migrating {self.label} from store schema {current} to {s.SCHEMA_VERSION} failed "
                        f"({type(err).__name__}: {err}); the transaction was rolled back and the store left as it was"
                    ) from err
                self.migrated = (current, None)
            s.metadata.create_all(conn, checkfirst=True)
            if current is None:
                conn.execute(s.schema_version.insert().values(version=s.SCHEMA_VERSION, applied_at=time.time()))
                migrate.stamp_latest(conn)

    def _check_schema_version(self, *, must_exist: bool) -> None:
        from sqlalchemy import inspect

        with self._engine.connect() as conn:
            if not inspect(conn).has_table(s.schema_version.name):
                if must_exist:
                    raise StoreError(f"{self.label} holds no hpsearch store yet: run a study first")
                return
            version = conn.execute(select(func.max(s.schema_version.c.version))).scalar()
        if version is not None and version > s.SCHEMA_VERSION:
            raise StoreError(f"{self.label} has store schema version {version}, newer than this hpsearch ({s.SCHEMA_VERSION})")
        if version is not None and version < s.SCHEMA_VERSION:
            raise _needs_migration(self.label, version)

    @property
    def schema_version(self) -> int | None:
        """The store's schema version (:data:`hpsearch.store.schema.SCHEMA_VERSION` once opened for writing)."""
        with self._read() as conn:
            return conn.execute(select(func.max(s.schema_version.c.version))).scalar()  # type: ignore[no-any-return]

    @property
    def url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def path(self) -> Path | None:
        """The file of an SQLite store (None for a server or an in-memory store)."""
        return _sqlite_file(self._engine.url)

    @property
    def label(self) -> str:
        """How to name the store to a person: its file, else its URL (password hidden)."""
        return _label(self._engine.url)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (on SQLite it waits up to the busy timeout for the write lock)."""
        if self.read_only:
            raise StoreError(f"{self.label} was opened read-only")
        with self._engine.connect().execution_options(**{_WRITE_OPTION: True}) as conn, conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            yield conn

    # ------------------------------------------------------------------ studies

    def create_study(self, config: Any, *, n_trials: int) -> StudyRecord:
        """Create the study of ``config`` or return the existing one of that name.

        An existing study whose strategy, space, seed, epochs or data differ is
        refused with :class:`StudyMismatchError`. A larger or smaller trial budget
        is accepted and recorded (that is how a study is extended). Workers starting
        a new study at the same moment create it once, and all get it.
        """
        try:
            return self._create_or_open_study(config, n_trials=n_trials)
        except IntegrityError:
            # On PostgreSQL another process inserted this name between our read and our insert
            # (on SQLite the write lock serialises them): the name is taken now, so this opens it.
            return self._create_or_open_study(config, n_trials=n_trials)

    def _create_or_open_study(self, config: Any, *, n_trials: int) -> StudyRecord:
        identity = config.identity()
        now = time.time()
        with self._write() as conn:
            row = conn.execute(select(s.studies).where(s.studies.c.name == config.name)).mappings().first()
            if row is None:
                conn.execute(
                    s.studies.insert().values(
                        name=config.name,
                        uid=uuid.uuid4().hex,
                        strategy=config.strategy,
                        config=config.to_dict(),
                        identity=identity,
                        metric=config.metric,
                        direction=config.direction,
                        seed=config.seed,
                        n_trials=n_trials,
                        epochs=config.budget.epochs,
                        state=StudyState.RUNNING.value,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                stored = _with_defaults(row["identity"], getattr(config, "IDENTITY_DEFAULTS", {}))
                differences = _differences(stored, identity)
                if differences:
                    raise StudyMismatchError(
                        "name",
                        config.name,
                        "a study of this name already exists in the store with a different "
                        + "; ".join(differences)
                        + " (set the stored values in the study file to resume it, or rename the study, or use another store)",
                        source=config.source,
                    )
                changes: dict[str, Any] = {"config": config.to_dict(), "updated_at": now}
                if row["n_trials"] != n_trials:
                    changes["n_trials"] = n_trials
                finished = conn.execute(
                    select(func.count()).where(
                        s.trials.c.study_id == row["id"],
                        s.trials.c.state.in_([st.value for st in TrialState if st.is_finished()]),
                    )
                ).scalar_one()
                if finished < n_trials or row["state"] == StudyState.STOPPED.value:
                    changes["state"] = StudyState.RUNNING.value
                    changes["stop_reason"] = None
                conn.execute(update(s.studies).where(s.studies.c.id == row["id"]).values(**changes))
            return self._study_where(conn, s.studies.c.name == config.name)

    def study(self, name: str) -> StudyRecord:
        with self._read() as conn:
            try:
                return self._study_where(conn, s.studies.c.name == name)
            except LookupError:
                names = conn.execute(select(s.studies.c.name).order_by(s.studies.c.name)).scalars().all()
        known = ", ".join(names) if names else "none yet"
        raise UnknownStudyError("study", name, f"no such study in {self.label} (studies: {known})")

    def studies(self) -> list[StudyRecord]:
        with self._read() as conn:
            rows = conn.execute(select(s.studies).order_by(s.studies.c.id)).mappings().all()
        return [_study(r) for r in rows]

    def set_study_state(self, study_id: int, state: StudyState, reason: str | None = None) -> None:
        with self._write() as conn:
            conn.execute(
                update(s.studies).where(s.studies.c.id == study_id).values(state=state.value, stop_reason=reason, updated_at=time.time())
            )

    @staticmethod
    def _study_where(conn: Connection, clause: Any) -> StudyRecord:
        row = conn.execute(select(s.studies).where(clause)).mappings().first()
        if row is None:
            raise LookupError("no such study")
        return _study(row)

    # ------------------------------------------------------------------ trials

    def trials(self, study_id: int, *, states: Sequence[TrialState] | None = None, with_curves: bool = True) -> list[TrialRecord]:
        """The trials of a study in number order; ``curve`` holds the metric per epoch of each current attempt."""
        with self._read() as conn:
            return self._trials(conn, study_id, states=states, with_curves=with_curves)

    def _trials(
        self, conn: Connection, study_id: int, *, states: Sequence[TrialState] | None = None, with_curves: bool = True
    ) -> list[TrialRecord]:
        query = select(s.trials).where(s.trials.c.study_id == study_id).order_by(s.trials.c.number)
        if states is not None:
            query = query.where(s.trials.c.state.in_([st.value for st in states]))
        rows = conn.execute(query).mappings().all()
        curves = _curves(conn, queries.curves(study_id)) if with_curves and rows else {}
        return [_trial(r, curves.get(r["id"], ())) for r in rows]

    def trial(self, study_id: int, number: int) -> TrialRecord:
        """One trial (without its curve)."""
        query = select(s.trials).where(s.trials.c.study_id == study_id, s.trials.c.number == number)
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise StoreError(f"no trial {number} in study {study_id}")
        return _trial(row, ())

    def claim_snapshot(self, study_id: int) -> tuple[StudyRecord, list[TrialRecord]]:
        """The study and all its trials (with their curves), read in one transaction: what a claim decides
        from (:func:`hpsearch.running.claims.claim_trials`), with no lock held while it decides.

        Asked again and again by a worker, it reuses the record of a finished trial whose row is as the last
        snapshot of this store object read it, and reads the curves only of the trials that are not finished or
        were not read finished before (a finished attempt's curve never changes): a claim's cost grows with what
        changed, not with the history, but for reading every row to see what changed."""
        memo = self._claim_memo.setdefault(study_id, _ClaimMemo())
        with self._read() as conn:
            study = self._study_where(conn, s.studies.c.id == study_id)
            rows = conn.execute(select(s.trials).where(s.trials.c.study_id == study_id).order_by(s.trials.c.number)).all()
            unread = [r.id for r in rows if (r.id, r.attempt) not in memo.curves]
            query = queries.curves(study_id)
            if len(unread) <= _MOST_NAMED_TRIALS:  # else every curve: a statement holds a bounded number of parameters
                query = query.where(s.metrics.c.trial_id.in_(unread))
            curves = _curves(conn, query) if unread else {}
        trials = []
        for row in rows:
            held = memo.rows.get(row.id)
            if held is None or held[0] != tuple(row) or not held[1].state.is_finished():  # a running trial's curve grows
                known = memo.curves.get((row.id, row.attempt))
                held = (tuple(row), _trial(row._mapping, curves.get(row.id, []) if known is None else known))
                memo.rows[row.id] = held
                if held[1].state.is_finished():
                    memo.curves[(row.id, row.attempt)] = held[1].curve
            trials.append(held[1])
        return study, trials

    def take(
        self, study_id: int, worker: WorkerInfo, *, last: int, waiting: Sequence[TrialRecord], proposals: Sequence[Proposal]
    ) -> list[TrialRecord]:
        """In one short locked transaction (``FOR UPDATE`` on the study row on servers, the write lock on SQLite):
        take the ``waiting`` trials and insert the ``proposals`` (numbered from ``last + 1``, with their
        decisions) for ``worker``, all as RUNNING, if the study is as it was read (its last trial number is
        still ``last``, none of ``waiting`` taken since, not STOPPED); else :class:`ClaimConflict`, nothing written."""
        now = time.time()
        with self._write() as conn:
            state = conn.execute(select(s.studies.c.state).where(s.studies.c.id == study_id).with_for_update()).scalar_one()
            current = conn.execute(select(func.max(s.trials.c.number)).where(s.trials.c.study_id == study_id)).scalar_one()
            if state == StudyState.STOPPED.value or (-1 if current is None else current) != last:
                raise ClaimConflict(f"study {study_id} changed since it was read")
            if [p.number for p in proposals] != list(range(last + 1, last + 1 + len(proposals))):
                raise ValueError(f"proposals must be numbered from {last + 1} on: {[p.number for p in proposals]}")
            taken: list[TrialRecord] = []
            for trial in waiting:
                result = conn.execute(
                    update(s.trials)
                    .where(s.trials.c.id == trial.id, s.trials.c.state == TrialState.WAITING.value)
                    .values(
                        state=TrialState.RUNNING.value,
                        worker_id=worker.worker_id,
                        host=worker.host,
                        pid=worker.pid,
                        started_at=now,
                        heartbeat_at=now,
                        finished_at=None,
                        epochs_done=0,
                    )
                )
                if result.rowcount != 1:  # another worker took it first: nothing of this claim stands
                    raise ClaimConflict(f"trial {trial.number} of study {study_id} was taken by another worker")
                taken.append(self._trial_by_id(conn, trial.id))
            taken.extend(self._insert_trial(conn, study_id, proposal, worker, now) for proposal in proposals)
            conn.execute(update(s.studies).where(s.studies.c.id == study_id).values(updated_at=now))
            return taken

    def _insert_trial(self, conn: Connection, study_id: int, proposal: Proposal, worker: WorkerInfo, now: float) -> TrialRecord:
        """Insert ``proposal`` as RUNNING for ``worker`` (with its decision, if any)."""
        result = conn.execute(
            s.trials.insert().values(
                study_id=study_id,
                number=proposal.number,
                state=TrialState.RUNNING.value,
                params=proposal.params,
                seed=proposal.seed,
                epochs=proposal.epochs,
                member=proposal.member,
                generation=proposal.generation,
                start_epoch=proposal.start_epoch,
                parent_trial=proposal.parent_trial,
                attempt=1,
                epochs_done=0,
                worker_id=worker.worker_id,
                host=worker.host,
                pid=worker.pid,
                created_at=now,
                started_at=now,
                heartbeat_at=now,
            )
        )
        d = proposal.decision
        if d is not None:
            conn.execute(
                s.pbt_decisions.insert().values(
                    study_id=study_id,
                    trial_number=proposal.number,
                    member=d.member,
                    generation=d.generation,
                    at_epoch=d.at_epoch,
                    kind=d.kind,
                    parent_trial=d.parent_trial,
                    parent_member=d.parent_member,
                    second_parent=d.second_parent,
                    old_params=d.old_params,
                    new_params=d.new_params,
                    optimizer_reset=int(d.optimizer_reset),
                    reason=d.reason,
                    created_at=now,
                )
            )
        new_id = result.inserted_primary_key[0]  # type: ignore[index]
        return self._trial_by_id(conn, new_id)

    def _trial_by_id(self, conn: Connection, trial_id: int) -> TrialRecord:
        row = conn.execute(select(s.trials).where(s.trials.c.id == trial_id)).mappings().one()
        return _trial(row, ())

    def reap_stale(self, study_id: int, *, stale_after: float, this_host: str | None = None) -> list[int]:
        """Hand back the RUNNING trials whose worker is gone; returns their numbers.

        A worker is gone when its heartbeat is older than ``stale_after`` seconds, or
        when it ran on ``this_host`` and its process no longer exists. Its trial goes
        back to WAITING with the attempt number raised; the epochs it recorded stay,
        under the old attempt, and no longer count.
        """
        now = time.time()
        reaped: list[int] = []
        with self._write() as conn:
            rows = (
                conn.execute(select(s.trials).where(s.trials.c.study_id == study_id, s.trials.c.state == TrialState.RUNNING.value))
                .mappings()
                .all()
            )
            for r in rows:
                beat = r["heartbeat_at"] or r["started_at"] or 0.0
                dead_here = this_host is not None and r["host"] == this_host and r["pid"] is not None and not _pid_alive(r["pid"])
                if not dead_here and now - beat <= stale_after:
                    continue
                why = "its process is gone" if dead_here else f"no heartbeat for {now - beat:.0f} s"
                conn.execute(
                    update(s.trials)
                    .where(s.trials.c.id == r["id"], s.trials.c.state == TrialState.RUNNING.value, s.trials.c.attempt == r["attempt"])
                    .values(
                        state=TrialState.WAITING.value,
                        attempt=r["attempt"] + 1,
                        worker_id=None,
                        pid=None,
                        epochs_done=0,
                        error=f"attempt {r['attempt']} abandoned by worker {r['worker_id']} ({why}); redone",
                    )
                )
                reaped.append(r["number"])
        return reaped

    def release(self, trial: TrialRecord, reason: str) -> None:
        """Give a trial back (a clean interrupt): WAITING again, redone from its start by the next run."""
        with self._write() as conn:
            conn.execute(
                update(s.trials)
                .where(s.trials.c.id == trial.id, s.trials.c.attempt == trial.attempt, s.trials.c.state == TrialState.RUNNING.value)
                .values(state=TrialState.WAITING.value, attempt=trial.attempt + 1, worker_id=None, pid=None, epochs_done=0, error=reason)
            )

    def _update_if_owned(self, conn: Connection, trial: TrialRecord, worker: WorkerInfo, **values: Any) -> bool:
        """Update a trial if this worker still owns it, in one statement; whether it did.

        The ownership test is part of the UPDATE, so a concurrent reap on a server
        database cannot slip in between a check and the write.
        """
        result = conn.execute(
            update(s.trials)
            .where(
                s.trials.c.id == trial.id,
                s.trials.c.state == TrialState.RUNNING.value,
                s.trials.c.attempt == trial.attempt,
                s.trials.c.worker_id == worker.worker_id,
            )
            .values(**values)
        )
        return bool(result.rowcount == 1)

    def _update_owned(self, conn: Connection, trial: TrialRecord, worker: WorkerInfo, **values: Any) -> None:
        """:meth:`_update_if_owned`, with TrialLostError if this worker no longer owns the trial."""
        if not self._update_if_owned(conn, trial, worker, **values):
            raise TrialLostError.of(trial)

    def record_epoch(self, trial: TrialRecord, worker: WorkerInfo, epoch: int, metrics: Mapping[str, float | None], seconds: float) -> None:
        """Store one epoch's metrics (``epoch`` counts from 1) and refresh the heartbeat;
        TrialLostError if this worker no longer owns the trial."""
        if self.record_epochs(worker, [EpochEntry(trial, epoch, metrics, seconds)]):
            raise TrialLostError.of(trial)

    def record_epochs(self, worker: WorkerInfo, entries: Sequence[EpochEntry]) -> list[int]:
        """Store the epochs of several trials (a population's members) in one transaction and refresh
        their heartbeats; returns the numbers of the trials this worker no longer owns, whose epochs
        are not stored."""
        now = time.time()
        lost: list[int] = []
        rows: list[dict[str, Any]] = []
        named: list[dict[str, Any]] = []
        with self._write() as conn:
            for entry in entries:
                if not self._update_if_owned(conn, entry.trial, worker, epochs_done=entry.epoch, heartbeat_at=now):
                    lost.append(entry.trial.number)
                    continue
                key = {"trial_id": entry.trial.id, "attempt": entry.trial.attempt, "epoch": entry.epoch}
                rows.append({**key, "seconds": entry.seconds, "recorded_at": now})
                named.extend(
                    {**key, "name": name, "value": _number(value)}
                    for name, value in entry.metrics.items()
                    if isinstance(name, str) and 0 < len(name) <= METRIC_NAME_LENGTH
                )
            if rows:
                conn.execute(s.epochs.insert(), rows)
            if named:
                conn.execute(s.metrics.insert(), named)
        return lost

    def metric_rows(self, study_id: int, *, current_only: bool = True) -> list[MetricRow]:
        """Every metric reported for every epoch of a study's trials (of their current attempts only, by default)."""
        with self._read() as conn:
            return [MetricRow(*row) for row in conn.execute(queries.metric_rows(study_id, current_only=current_only))]

    def heartbeat(self, trial: TrialRecord, worker: WorkerInfo) -> None:
        with self._write() as conn:
            conn.execute(
                update(s.trials)
                .where(s.trials.c.id == trial.id, s.trials.c.worker_id == worker.worker_id, s.trials.c.attempt == trial.attempt)
                .values(heartbeat_at=time.time())
            )

    def finish(
        self,
        trial: TrialRecord,
        worker: WorkerInfo,
        state: TrialState,
        *,
        value: float | None = None,
        values: Sequence[float] | None = None,
        error: str | None = None,
        checkpoint: str | None = None,
    ) -> None:
        """Move a trial to COMPLETE, PRUNED or FAIL, in one transaction (with where its weights were saved); ``values``: its
        value in every objective of a study of several (``value`` is the first)."""
        if not state.is_finished():
            raise ValueError(f"finish() needs a finished state, got {state}")
        now = time.time()
        with self._write() as conn:
            # a COMPLETE trial keeps the note of an earlier abandoned attempt, if any
            self._update_owned(
                conn,
                trial,
                worker,
                state=state.value,
                value=value,
                objective_values=None if values is None else [float(v) for v in values],
                finished_at=now,
                heartbeat_at=now,
                checkpoint=checkpoint,
                **({"error": error} if error else {}),
            )
            conn.execute(update(s.studies).where(s.studies.c.id == trial.study_id).values(updated_at=now))

    def forget_checkpoints(self, study_id: int, numbers: Sequence[int]) -> None:
        """Record that the checkpoints of these trials were deleted."""
        if not numbers:
            return
        with self._write() as conn:
            conn.execute(
                update(s.trials).where(s.trials.c.study_id == study_id, s.trials.c.number.in_(list(numbers))).values(checkpoint=None)
            )

    def record_resize(self, study_id: int, trial_number: int, val_before: float, val_after: float) -> None:
        """Validation accuracy right before and right after a PBT member's hidden layer was resized."""
        with self._write() as conn:
            conn.execute(
                update(s.pbt_decisions)
                .where(s.pbt_decisions.c.study_id == study_id, s.pbt_decisions.c.trial_number == trial_number)
                .values(val_before_resize=val_before, val_after_resize=val_after)
            )

    def decisions(self, study_id: int) -> list[Decision]:
        """The PBT decisions of a study, in trial order."""
        query = select(s.pbt_decisions).where(s.pbt_decisions.c.study_id == study_id).order_by(s.pbt_decisions.c.trial_number)
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            _from_row(
                Decision,
                r,
                old_params=dict(r["old_params"]),
                new_params=dict(r["new_params"]),
                optimizer_reset=bool(r["optimizer_reset"]),
            )
            for r in rows
        ]

    def record_decisions(self, study_id: int, decisions: Sequence[Decision]) -> None:
        """Write the decisions of trials already stored, replacing any they have (a lineage filled in
        after the fact: :func:`hpsearch.running.lineage.backfill_evolution_lineage`)."""
        if not decisions:
            return
        table = s.pbt_decisions
        numbers = [d.trial_number for d in decisions]
        now = time.time()
        with self._write() as conn:
            conn.execute(table.delete().where(table.c.study_id == study_id, table.c.trial_number.in_(numbers)))
            conn.execute(
                table.insert(),
                [
                    {
                        **{k: getattr(d, k) for k in Decision.__dataclass_fields__},
                        "optimizer_reset": int(d.optimizer_reset),
                        "study_id": study_id,
                        "created_at": now,
                    }
                    for d in decisions
                ],
            )

    def reset_failed(self, study_id: int) -> int:
        """Put every FAIL trial of a study back to WAITING (``--retry-failed``); returns how many."""
        with self._write() as conn:
            result = conn.execute(
                update(s.trials)
                .where(s.trials.c.study_id == study_id, s.trials.c.state == TrialState.FAIL.value)
                .values(
                    state=TrialState.WAITING.value,
                    attempt=s.trials.c.attempt + 1,
                    value=None,
                    objective_values=None,
                    epochs_done=0,
                    finished_at=None,
                )
            )
            return int(result.rowcount or 0)

    # ------------------------------------------------------------------ epochs and evaluations

    def epochs(self, study_id: int, *, current_only: bool = True) -> list[EpochRecord]:
        """Per-epoch metrics of a study's trials (by default only each trial's current attempt), every
        metric of an epoch in its ``metrics``."""
        with self._read() as conn:
            rows = conn.execute(queries.epoch_rows(study_id, current_only=current_only)).mappings().all()
            metrics: dict[tuple[int, int, int], dict[str, float | None]] = {}
            for r in conn.execute(queries.metric_rows(study_id, current_only=current_only)):
                metrics.setdefault((r.number, r.attempt, r.epoch), {})[r.name] = r.value
        return [
            _from_row(EpochRecord, r, trial_number=r["number"], metrics=metrics.get((r["number"], r["attempt"], r["epoch"]), {}))
            for r in rows
        ]

    def record_evaluation(
        self, trial: TrialRecord, split: str, metrics: Mapping[str, float], note: str | None = None, *, keep_others: bool = False
    ) -> None:
        """Store the evaluation of ``trial`` on ``split`` (every metric, by name), replacing its earlier one and, unless
        ``keep_others`` (the Pareto set of a study of several objectives), the study's evaluations of other trials on that
        split. A value that is not a finite number is stored as None (JSON has no NaN)."""
        values = {str(name): _finite(value) for name, value in metrics.items()}
        ev = s.evaluations
        with self._write() as conn:
            replaced = [ev.c.study_id == trial.study_id, ev.c.split == split]
            conn.execute(ev.delete().where(*replaced, *([ev.c.trial_id == trial.id] if keep_others else [])))
            conn.execute(
                ev.insert().values(
                    study_id=trial.study_id, trial_id=trial.id, split=split, metrics=values, note=note, created_at=time.time()
                )
            )

    def evaluation(self, study_id: int, split: str = "test") -> Evaluation | None:
        """The study's latest evaluation on ``split`` (None until one was made)."""
        made = self.evaluations(study_id, split)
        return max(made.values(), key=lambda e: e.created_at) if made else None

    def evaluations(self, study_id: int, split: str = "test") -> dict[int, Evaluation]:
        """The study's evaluations on ``split``, by trial number (a study of one objective has at most one)."""
        with self._read() as conn:
            rows = conn.execute(queries.evaluations(study_id=study_id, split=split)).mappings().all()
        return {r["number"]: _from_row(Evaluation, r, trial_number=r["number"], metrics=dict(r["metrics"])) for r in rows}

    # ------------------------------------------------------------------ reads for the readers

    def fetch(self, query: queries.Query) -> list[Row[Any]]:
        """The rows of one SELECT (one of :mod:`hpsearch.store.queries`, or refined from one), read in one transaction."""
        with self._read() as conn:
            return list(conn.execute(query))

    def fetch_many(self, *query: queries.Query) -> list[list[Row[Any]]]:
        """The rows of several SELECTs, read on one connection one after the other (what a page shows at once)."""
        with self._read() as conn:
            return [list(conn.execute(q)) for q in query]


@contextmanager
def reading(store: Store | str | os.PathLike[str] | None) -> Iterator[Store]:
    """``store`` itself, or the store at that path or URL opened read-only (and closed afterwards)."""
    if isinstance(store, Store):
        yield store
        return
    opened = Store.open(store, read_only=True)
    try:
        yield opened
    finally:
        opened.close()


_ABSENT = object()


def _with_defaults(identity: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """``identity`` with the ``defaults`` of settings that older studies did not record filled in."""
    out = dict(identity)
    for key, value in defaults.items():
        if isinstance(value, dict):
            out[key] = _with_defaults(out.get(key) or {}, value)
        else:
            out.setdefault(key, value)
    return out


def _differences(stored: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """Each setting where ``stored`` and ``new`` differ, as ``key.subkey (stored X, file Y)``."""
    out = []
    for key in sorted(set(stored) | set(new)):
        a, b = stored.get(key, _ABSENT), new.get(key, _ABSENT)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key} (stored {_shown(a)}, file {_shown(b)})")
    return out


#: The most trials a claim snapshot names in one query for their curves (SQLite and PostgreSQL bound a statement's parameters).
_MOST_NAMED_TRIALS = 500


def _curves(conn: Connection, query: Any) -> dict[int, list[Any]]:
    """Each trial's study metric per epoch, by trial id, from the rows of a :func:`queries.curves` query."""
    curves: dict[int, list[Any]] = {}
    for trial_id, value, epoch in conn.execute(query):
        curve = curves.setdefault(trial_id, [])
        curve.extend([None] * (epoch - 1 - len(curve)))  # an epoch that did not report the metric: None at its place
        curve.append(value)
    return curves


@dataclasses.dataclass
class _ClaimMemo:
    """What :meth:`Store.claim_snapshot` read of one study: by trial id, its row (as a tuple) and record; by
    (trial id, attempt), the curve of a finished attempt."""

    rows: dict[int, tuple[tuple[Any, ...], TrialRecord]] = dataclasses.field(default_factory=dict)
    curves: dict[tuple[int, int], tuple[Any, ...]] = dataclasses.field(default_factory=dict)


def _shown(value: Any) -> str:
    return "nothing" if value is _ABSENT else repr(value)


def _from_row(cls: type[_R], row: Any, **values: Any) -> _R:
    """A record from a result row: every field of ``cls`` the row has, then ``values``."""
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{**{name: row[name] for name in fields if name in row}, **values})


def _study(r: Any) -> StudyRecord:
    return _from_row(StudyRecord, r, state=StudyState(r["state"]))


def _trial(r: Any, curve: Sequence[float]) -> TrialRecord:
    several = r.get("objective_values")
    return _from_row(
        TrialRecord,
        r,
        state=TrialState(r["state"]),
        params=dict(r["params"]),
        curve=tuple(curve),
        values=None if several is None else tuple(float(v) for v in several),
    )
