"""Store migrations: an older store brought to this hpsearch's schema with Alembic.

* A new store is created at the latest schema and stamped with the latest revision.
* An SQLite store of an older schema is migrated on a copy: the copy is upgraded; only when that
  succeeded is the original kept beside it as ``<name>.schema<N>.bak`` and the copy put in its
  place. A migration that fails leaves the original file as it was (and no copy behind).
* A PostgreSQL store is upgraded inside one transaction (PostgreSQL's DDL is transactional), under
  the advisory lock that serialises schema changes: a failure rolls it all back.
* A store newer than this hpsearch is refused and left unchanged; a read-only open of an older one
  says to run ``hpsearch migrate`` (or any run) first.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection

from hpsearch.core.errors import StoreError
from hpsearch.store import schema as s

__all__ = ["MIGRATIONS", "REVISIONS", "migrate_sqlite_file", "stamp_latest", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The Alembic revision that is each schema version.
REVISIONS: dict[int, str] = {1: "schema_1", 2: "schema_2", 3: "schema_3"}
_VERSION_TABLE = "hpsearch_alembic_version"


def _config(conn: Connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def stamp_latest(conn: Connection) -> None:
    """Mark a store created at the latest schema as being at the latest revision."""
    from alembic import command

    command.stamp(_config(conn), REVISIONS[s.SCHEMA_VERSION])


def upgrade(conn: Connection, from_version: int) -> None:
    """Bring the tables on ``conn`` from schema ``from_version`` to :data:`~hpsearch.store.schema.SCHEMA_VERSION`,
    in ``conn``'s transaction, and record the new version."""
    from alembic import command

    config = _config(conn)
    if not inspect(conn).has_table(_VERSION_TABLE):
        command.stamp(config, REVISIONS[from_version])  # a store from before migrations existed
    command.upgrade(config, REVISIONS[s.SCHEMA_VERSION])
    conn.execute(s.schema_version.insert().values(version=s.SCHEMA_VERSION, applied_at=time.time()))


def _backup_path(path: Path, version: int) -> Path:
    backup = path.with_name(f"{path.name}.schema{version}.bak")
    if backup.exists():
        backup = path.with_name(f"{path.name}.schema{version}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
    return backup


def _version_of(path: Path, read_mode: str) -> int | None:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode={read_mode}", uri=True)) as con:
        return con.execute(f"SELECT MAX(version) FROM {s.schema_version.name}").fetchone()[0]  # type: ignore[no-any-return]


def migrate_sqlite_file(path: Path, from_version: int, read_mode: str) -> Path | None:
    """Migrate the SQLite store at ``path`` from schema ``from_version``; returns where the original was kept
    (None when another process migrated it meanwhile).

    ``read_mode`` is how to open the original without writing to it (see ``Store``'s read mode). Processes
    of this hpsearch that open the same old store at once migrate it one after the other (an exclusive
    ``flock`` on the file, which SQLite's own locks do not see): the first migrates, the others find it
    done. A process of the older hpsearch writing to the store meanwhile is not stopped: migrate with no
    other run on the store."""
    import fcntl

    with path.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            version = _version_of(path, read_mode)
            if version is None or version >= s.SCHEMA_VERSION:
                return None  # migrated by another process while this one waited
            return _migrate_locked(path, int(version), read_mode)
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


def _migrate_locked(path: Path, from_version: int, read_mode: str) -> Path:
    work = path.with_name(f".{path.name}.migrating-{os.getpid()}")
    work.unlink(missing_ok=True)
    try:
        source = sqlite3.connect(f"file:{path}?mode={read_mode}", uri=True)
        try:
            target = sqlite3.connect(work)
            try:
                source.backup(target)  # a consistent copy, whatever the WAL holds
            finally:
                target.close()
        finally:
            source.close()
        engine = create_engine(f"sqlite:///{work}")
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA foreign_keys = OFF")  # batch migrations copy tables
                upgrade(conn, from_version)
        finally:
            engine.dispose()
    except Exception as err:
        for leftover in (work, *(work.with_name(work.name + side) for side in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)
        raise StoreError(
            f"migrating {path} from store schema {from_version} to {s.SCHEMA_VERSION} failed "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); the store was left as it was"
        ) from err
    # the copy is good: fold the original's WAL into it, keep it beside, and put the copy in its place
    with contextlib.closing(sqlite3.connect(path)) as original:
        original.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for side in ("-wal", "-shm"):
        Path(str(path) + side).unlink(missing_ok=True)
    backup = _backup_path(path, from_version)
    os.replace(path, backup)
    os.replace(work, path)
    return backup
