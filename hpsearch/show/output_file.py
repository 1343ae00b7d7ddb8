"""Writing a file that a command produces (an export, a report): whole or not at all, and never over what it must not touch.

:func:`write_output` is the one way hpsearch writes such a file:

* the path must be a regular file or a new name in an existing directory: a directory,
  a device (``/dev/full``), a FIFO or a socket is refused, never replaced by a file;
* it must not be the store the command reads, nor its ``-wal``, ``-shm`` or ``-journal``
  file, nor anything inside its default checkpoint folder, nor a checkpoint the store records,
  nor anything inside a study's checkpoint folder in a ``--checkpoint-dir`` the store's
  checkpoints show (or the command is given), however the path is spelt (relative, absolute,
  through a symlink, with ``./`` or ``..``; a hard link to the store or a checkpoint too);
* the content goes to a temporary file with a unique name beside the target, then
  replaces it in one rename; a failure removes the temporary file.

Refusals are :class:`hpsearch.core.errors.ConfigError` (exit 2 on the command line) raised
before anything is written.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hpsearch.core.checkpoints import checkpoint_root, study_folder
from hpsearch.core.errors import ConfigError
from hpsearch.store import queries

if TYPE_CHECKING:
    from hpsearch.store import Store

__all__ = ["check_output_path", "protected_paths", "write_output"]

_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def protected_paths(store: Store, checkpoint_dirs: Sequence[str | os.PathLike[str]] = ()) -> list[tuple[Path, str]]:
    """What a command reading ``store`` must never write over, each with how to name it: an
    SQLite store's file and its side files; the store's default checkpoint folder; every checkpoint
    a trial records; and, in every checkpoint root a recorded checkpoint lies in (a ``--checkpoint-dir``)
    and in ``checkpoint_dirs``, the folder of each of the store's studies
    (:func:`hpsearch.core.checkpoints.study_folder`). A root itself is not protected (it may be ``.``)."""
    store_file = store.path
    out: dict[Path, str] = {}
    if store_file is not None:
        out[store_file] = "the store this command reads"
        out |= {store_file.with_name(store_file.name + side): f"the store's {side[1:]} file" for side in _SQLITE_SIDE_FILES}
    out[checkpoint_root(store_file)] = "the store's checkpoint folder"
    roots = [Path(root) for root in checkpoint_dirs]
    for row in store.fetch(queries.checkpoints()):
        if "://" in row.checkpoint:
            continue  # in an object store: no file here to write over
        checkpoint, name, uid = Path(row.checkpoint), row.name, row.uid
        out.setdefault(checkpoint, f"a checkpoint of study {name!r}")
        if checkpoint.parent.name == study_folder(Path(), name, uid).name:  # in the layout: <root>/<study>-<uid>/
            roots.append(checkpoint.parent.parent)
    studies = store.studies() if roots else []
    for root in dict.fromkeys(roots):
        for study in studies:
            out.setdefault(study_folder(root, study.name, study.uid), f"the checkpoint folder of study {study.name!r}")
    return list(out.items())


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(out: str | os.PathLike[str], protected: Sequence[tuple[Path, str]] = (), *, field: str = "out") -> Path:
    """The real path ``out`` names (symlinks followed), once it is known to be writable as a
    regular file that is none of ``protected`` (see :func:`protected_paths`)."""
    given = os.fspath(out)
    target = Path(os.path.realpath(Path(given).expanduser()))
    rule_tail = "give a regular file or a new file name in an existing directory"
    if not target.parent.is_dir():
        raise ConfigError(field, given, f"no such directory: {target.parent}; {rule_tail}")
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        raise ConfigError(field, given, f"is {_kind(mode)}, not a regular file; {rule_tail}")
    for path, what in protected:
        real = Path(os.path.realpath(path))
        if target == real or (mode is not None and _same_file(target, real)):
            raise ConfigError(field, given, f"is {what} ({real}); write the file elsewhere")
        if target.is_relative_to(real) and real.is_dir():
            raise ConfigError(field, given, f"is inside {what} ({real}); write the file elsewhere")
    return target


def write_output(
    out: str | os.PathLike[str],
    write: Callable[[Path], None],
    protected: Sequence[tuple[Path, str]] = (),
    *,
    field: str = "out",
) -> Path:
    """Check ``out`` (:func:`check_output_path`), call ``write(temporary_path)``, then rename
    the temporary file onto the target; returns the path written (symlinks followed)."""
    target = check_output_path(out, protected, field=field)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        write(temporary)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as an ordinary new file (mkstemp makes it private)
        check_output_path(target, protected, field=field)  # what is there now may have changed while we wrote
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return target
