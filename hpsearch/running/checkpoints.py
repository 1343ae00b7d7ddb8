"""Checkpoint retention: which of a study's checkpoint files stay on disk, and where a store keeps them.

The names and the folder layout are :mod:`hpsearch.core.checkpoints`; what a strategy still needs is its
``checkpoints_to_keep``. This module applies them to a store's study, after every trial and at the start
of every run. A checkpoint location is a folder, or an fsspec URL (``s3://bucket/prefix``): the trainers then
write to this machine's staging folder and :mod:`hpsearch.running.remote_checkpoints` moves the files.
"""

from __future__ import annotations

from pathlib import Path

from hpsearch.core.checkpoints import TRIAL_FILES, checkpoint_root, study_folder, trial_file, trial_of_file
from hpsearch.running.remote_checkpoints import RemoteCheckpoints, is_url, staging_root
from hpsearch.search.strategies import Strategy
from hpsearch.store import Store, StudyRecord

__all__ = [
    "Location",
    "checkpoint_dir_for",
    "delete_unneeded_checkpoints",
    "local_checkpoint",
    "remote_for",
    "study_checkpoint_dir",
    "study_key",
    "weights_path",
]

#: Where checkpoints are kept: a folder, an fsspec URL (``s3://bucket/prefix``), or None for the store's default folder.
Location = Path | str | None


def remote_for(location: Location) -> RemoteCheckpoints | None:
    """The object store of a URL location (None for a folder)."""
    return RemoteCheckpoints(location) if is_url(location) else None  # type: ignore[arg-type]


def checkpoint_dir_for(store: Store, override: Location = None) -> Path:
    """The checkpoint root of ``store`` (:func:`hpsearch.core.checkpoints.checkpoint_root`); for a URL, this machine's
    staging folder of it."""
    if is_url(override):
        return staging_root(str(override).rstrip("/"))
    return checkpoint_root(store.path, None if override is None else Path(override))


def study_key(study: StudyRecord) -> str:
    """The name of ``study``'s folder under a checkpoint root (:func:`hpsearch.core.checkpoints.study_folder`)."""
    return study_folder(Path(), study.name, study.uid).name


def study_checkpoint_dir(store: Store, study: StudyRecord, override: Location = None) -> Path:
    """The folder of ``study``'s checkpoints (:func:`hpsearch.core.checkpoints.study_folder`; for a URL, its staging folder)."""
    return study_folder(checkpoint_dir_for(store, override), study.name, study.uid)


def weights_path(store: Store, study: StudyRecord, number: int, override: Location = None) -> Path:
    """Where trial ``number`` of ``study`` writes its checkpoint (on this machine)."""
    return trial_file(study_checkpoint_dir(store, study, override), number)


def _store_of(recorded: str) -> RemoteCheckpoints:
    """The object store a recorded checkpoint URL lies in: its root is the URL less ``/<study folder>/<file>``."""
    return RemoteCheckpoints(recorded.rsplit("/", 2)[0])


def local_checkpoint(recorded: str) -> Path:
    """A recorded checkpoint as a file on this machine: the file, or a URL's object downloaded to the staging folder."""
    return _store_of(recorded).fetch(recorded) if is_url(recorded) else Path(recorded)


def _delete(recorded: str) -> None:
    if is_url(recorded):
        _store_of(recorded).delete(recorded)
    else:
        Path(recorded).unlink(missing_ok=True)


def delete_unneeded_checkpoints(store: Store, study: StudyRecord, strategy: Strategy, override: Location = None) -> None:
    """Bounded disk use: delete every checkpoint ``strategy`` no longer needs.

    Grid, random and TPE keep only the best trial's weights (for the test evaluation); PBT keeps what
    a member may still continue from or copy. Applied to what the store records and to what is on disk
    in the study's checkpoint folder (files of a run killed before its clean-up, or before it recorded a
    checkpoint it had written). Files of trials not finished yet are left alone: their worker may be
    writing them.
    """
    history = store.trials(study.id, with_curves=False)
    keep = strategy.checkpoints_to_keep(history)
    gone = [t for t in history if t.checkpoint and t.number not in keep]
    for t in gone:
        _delete(t.checkpoint)  # type: ignore[arg-type]
    if gone:
        store.forget_checkpoints(study.id, [t.number for t in gone])
    finished = {t.number for t in history if t.state.is_finished()}
    folder = study_checkpoint_dir(store, study, override)
    for path in folder.glob(TRIAL_FILES) if folder.is_dir() else ():
        number, partial = trial_of_file(path.name)
        if number is not None and number in finished and (partial or number not in keep):
            path.unlink(missing_ok=True)
    remote = remote_for(override)
    for url, number, partial in remote.trial_objects(study_key(study)) if remote is not None else ():
        if number in finished and (partial or number not in keep):  # an upload a kill cut short, or not recorded
            remote.delete(url)
