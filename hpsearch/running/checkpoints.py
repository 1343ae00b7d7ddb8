"""Checkpoint retention: which of a study's checkpoint files stay on disk, and where a store keeps them.

The names and the folder layout are :mod:`hpsearch.core.checkpoints`; what a strategy still needs is its
``checkpoints_to_keep``. This module applies them to a store's study, after every trial and at the start
of every run.
"""

from __future__ import annotations

from pathlib import Path

from hpsearch.core.checkpoints import TRIAL_FILES, checkpoint_root, study_folder, trial_file, trial_of_file
from hpsearch.search.strategies import Strategy
from hpsearch.store import Store, StudyRecord

__all__ = ["checkpoint_dir_for", "delete_unneeded_checkpoints", "study_checkpoint_dir", "weights_path"]


def checkpoint_dir_for(store: Store, override: Path | None = None) -> Path:
    """The checkpoint root of ``store`` (:func:`hpsearch.core.checkpoints.checkpoint_root`)."""
    return checkpoint_root(store.path, override)


def study_checkpoint_dir(store: Store, study: StudyRecord, override: Path | None = None) -> Path:
    """The folder of ``study``'s checkpoints (:func:`hpsearch.core.checkpoints.study_folder`)."""
    return study_folder(checkpoint_dir_for(store, override), study.name, study.uid)


def weights_path(store: Store, study: StudyRecord, number: int, override: Path | None = None) -> Path:
    """Where trial ``number`` of ``study`` keeps its checkpoint."""
    return trial_file(study_checkpoint_dir(store, study, override), number)


def delete_unneeded_checkpoints(store: Store, study: StudyRecord, strategy: Strategy, override: Path | None = None) -> None:
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
        Path(t.checkpoint).unlink(missing_ok=True)  # type: ignore[arg-type]
    if gone:
        store.forget_checkpoints(study.id, [t.number for t in gone])
    finished = {t.number for t in history if t.state.is_finished()}
    folder = study_checkpoint_dir(store, study, override)
    for path in folder.glob(TRIAL_FILES) if folder.is_dir() else ():
        number, partial = trial_of_file(path.name)
        if number is not None and number in finished and (partial or number not in keep):
            path.unlink(missing_ok=True)
