"""Store migrations: an older store brought to this hpsearch's schema with Alembic.

* A new store is created at the latest schema and stamped with the latest revision.
* An SQLite store of an older schema is migrated on a copy, ``.<name>.migrating-<pid>``: the copy is
  upgraded; only when that succeeded is the original kept beside it as ``<name>.schema<N>.bak`` (a
  hard link, else a copy renamed into place) and the copy renamed over the store's name, the one
  step that changes what the name holds: at every moment the name holds the original or the
  migrated store. A migration that fails leaves the original file as it was (and no copy behind);
  one killed leaves files that the next open of the store removes (:func:`recover_sqlite_file`), as
  it completes or undoes what the two-rename migration of earlier versions left when killed.
* A PostgreSQL store is upgraded inside one transaction (PostgreSQL's DDL is transactional), under
  the advisory lock that serialises schema changes: a failure rolls it all back.
* A store newer than this hpsearch is refused and left unchanged; a read-only open of an older one
  says to run ``hpsearch migrate`` (or any run) first.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection

from hpsearch.core.errors import StoreError
from hpsearch.store import schema as s

__all__ = ["MIGRATIONS", "REVISIONS", "migrate_sqlite_file", "Recovered", "recover_sqlite_file", "stamp_latest", "upgrade"]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The Alembic revision that is each schema version.
REVISIONS: dict[int, str] = {1: "schema_1", 2: "schema_2", 3: "schema_3", 4: "schema_4"}
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


#: The side files SQLite keeps beside a database file.
_SIDES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Recovered:
    """What :func:`recover_sqlite_file` did, in words; ``migrated`` is (the schema version it had, where the
    original is kept) when it completed a migration."""

    note: str
    migrated: tuple[int, Path] | None = None


def _backup_path(path: Path, version: int) -> Path:
    backup = path.with_name(f"{path.name}.schema{version}.bak")
    if backup.exists():
        backup = path.with_name(f"{path.name}.schema{version}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
    return backup


def _backups(path: Path) -> dict[Path, int]:
    """The originals that migrations of ``path`` kept beside it, with the schema version each had."""
    pattern = re.compile(rf"{re.escape(path.name)}\.schema(\d+)(?:\.\d{{8}}-\d{{6}})?\.bak")
    return {path.with_name(name): int(m.group(1)) for name in _names_beside(path) if (m := pattern.fullmatch(name))}


def _leftovers(path: Path) -> list[Path]:
    """What migrations of ``path`` have beside it before their last step: their copies (``.<name>.migrating-<pid>``,
    with the copies' side files) and backups being copied (``.<name>.backup-<pid>``)."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(?:migrating|backup)-\d+(?:-wal|-shm|-journal)?")
    return [path.with_name(name) for name in _names_beside(path) if pattern.fullmatch(name)]


def _names_beside(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path.parent))
    except OSError:
        return []


def _version_of(path: Path, read_mode: str) -> int | None:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode={read_mode}", uri=True)) as con:
        return con.execute(f"SELECT MAX(version) FROM {s.schema_version.name}").fetchone()[0]  # type: ignore[no-any-return]


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold the lock that serialises the migrations of the store at ``path``, and their recovery: an exclusive
    ``flock`` on the file, which SQLite's own locks do not see."""
    import fcntl

    with path.open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


def migrate_sqlite_file(path: Path, from_version: int, read_mode: str) -> Path | None:
    """Migrate the SQLite store at ``path`` from schema ``from_version``; returns where the original was kept
    (None when another process migrated it meanwhile).

    ``read_mode`` is how to open the original without writing to it (see ``Store``'s read mode). Processes
    of this hpsearch that open the same old store at once migrate it one after the other (:func:`_exclusive`):
    the first migrates, the others find it done. A process of the older hpsearch writing to the store
    meanwhile is not stopped: migrate with no other run on the store."""
    with _exclusive(path):
        version = _version_of(path, read_mode)
        if version is None or version >= s.SCHEMA_VERSION:
            return None  # migrated by another process while this one waited
        return _migrate_locked(path, int(version), read_mode)


def _migrate_locked(path: Path, from_version: int, read_mode: str) -> Path:
    work = path.with_name(f".{path.name}.migrating-{os.getpid()}")
    try:
        _copy_database(path, work, read_mode)
        _upgrade_file(work, from_version)
        # the copy is good: fold the original's WAL into its file, keep it beside, and put the copy in its place
        with contextlib.closing(sqlite3.connect(path)) as original:
            original.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for side in ("-wal", "-shm"):
            Path(str(path) + side).unlink(missing_ok=True)
        backup = _backup_path(path, from_version)
        _keep_original(path, backup)
        os.replace(work, path)  # the one step that changes what the store's name holds
    except BaseException as err:
        _roll_back(path)  # under the lock: whatever a migration left is this one's, or a killed one's
        if not isinstance(err, Exception):
            raise
        raise StoreError(
            f"migrating {path} from store schema {from_version} to {s.SCHEMA_VERSION} failed "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); the store was left as it was"
        ) from err
    _sync_folder(path.parent)
    return backup


def _copy_database(path: Path, work: Path, read_mode: str) -> None:
    """A consistent copy of the database at ``path`` (whatever its WAL holds) at ``work``."""
    for stale in (work, *(work.with_name(work.name + side) for side in _SIDES)):
        stale.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(f"file:{path}?mode={read_mode}", uri=True)) as source,
        contextlib.closing(sqlite3.connect(work)) as target,
    ):
        source.backup(target)


def _upgrade_file(work: Path, from_version: int) -> None:
    engine = create_engine(f"sqlite:///{work}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")  # batch migrations copy tables
            upgrade(conn, from_version)
    finally:
        engine.dispose()


def _keep_original(path: Path, backup: Path) -> None:
    """Give the original at ``path`` the name ``backup`` too: a hard link, else a copy renamed into place."""
    try:
        os.link(path, backup)
        return
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        pass
    partial = path.with_name(f".{path.name}.backup-{os.getpid()}")
    shutil.copyfile(path, partial)
    with partial.open("rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(partial, backup)


def _sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (where the file system lets a folder be synced)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _roll_back(path: Path) -> list[str]:
    """Remove what unfinished migrations of the store at ``path`` left (the store itself is whole: its name
    changes only at a migration's last step): their copies, partial backups, and a kept original that is
    the store itself. Returns the names removed."""
    removed = []
    for leftover in _leftovers(path):
        leftover.unlink(missing_ok=True)
        removed.append(leftover.name)
    for backup in _backups(path):
        if os.path.samefile(backup, path) or filecmp.cmp(backup, path, shallow=False):
            backup.unlink()
            removed.append(backup.name)
    return removed


def recover_sqlite_file(path: Path) -> Recovered | None:
    """Complete or undo a migration of the SQLite store at ``path`` that a killed process left; None when
    there was none (or the folder cannot be written).

    With the store's file there (this migration keeps the original at the name until its last step), what
    the migration left is removed: the store is as it was, and migrates again when next opened for writing.
    Without it (the two-rename migration of earlier versions, killed between its renames), the migrated copy
    is put in place when it is whole, else the original kept beside is put back."""
    if not _leftovers(path) or not os.access(path.parent, os.W_OK):
        return None
    if path.exists():
        with _exclusive(path):
            removed = _roll_back(path)
        if not removed:
            return None
        return Recovered(f"removed what an interrupted migration left ({', '.join(removed)}); the store is as it was before it")
    backups = sorted(_backups(path).items(), key=lambda item: item[0].stat().st_ctime)
    if not backups:
        return None  # no original kept beside: not what a migration leaves; left alone
    backup, version = backups[-1]  # the last one renamed
    copies = [p for p in _leftovers(path) if ".migrating-" in p.name and not p.name.endswith(_SIDES) and _is_whole(p)]
    chosen = copies[0] if copies else backup
    try:
        os.link(chosen, path)  # never over a store another process put there meanwhile
        chosen.unlink()
    except (FileExistsError, FileNotFoundError):
        return None  # another process recovered it
    except OSError:  # a file system without hard links
        if path.exists():
            return None
        os.rename(chosen, path)
    for leftover in _leftovers(path):
        leftover.unlink(missing_ok=True)
    _sync_folder(path.parent)
    if copies:
        note = f"completed an interrupted migration from schema version {version}; the original is kept as {backup}"
        return Recovered(note, (version, backup))
    return Recovered(f"rolled back an interrupted migration: the original is back in place from {backup}")


def _is_whole(copy: Path) -> bool:
    """Whether a migration's copy was upgraded and closed (no side file: nothing in flight)."""
    if any(copy.with_name(copy.name + side).exists() for side in _SIDES):
        return False
    try:
        return _version_of(copy, "ro&immutable=1") == s.SCHEMA_VERSION
    except sqlite3.Error:
        return False
