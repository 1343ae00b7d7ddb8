"""The checkpoint layout, in one place: where a study's checkpoints live and what each file is called.

    <root>/<study name>-<first 8 hex digits of its uid>/trial-<N>.weights.h5

``<root>`` is ``--checkpoint-dir``, or ``<store file stem>-checkpoints`` beside an SQLite store, or
``./hpsearch-checkpoints``. A checkpoint is written as ``trial-<N>.partial.weights.h5`` and renamed
once complete, so a kill mid-write never leaves a truncated file under the final name. Each file is
Keras's own ``.weights.h5`` of the trial's model (weights and optimizer state).

The trainers write these files, the runner keeps or deletes them (:mod:`hpsearch.running.checkpoints`),
``export-model`` reads them and the output writer protects them; all ask this module for the names.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CHECKPOINT_SUFFIX", "TRIAL_FILES", "checkpoint_root", "partial_file", "study_folder", "trial_file", "trial_of_file"]

#: The suffix Keras requires of a weights file.
CHECKPOINT_SUFFIX = ".weights.h5"
#: A glob of every trial's checkpoint in a study's folder, partial ones included (:func:`trial_of_file` tells them apart).
TRIAL_FILES = f"trial-*{CHECKPOINT_SUFFIX}"
_PARTIAL = ".partial"


def checkpoint_root(store_path: Path | None, override: Path | None = None) -> Path:
    """``override``, or ``<store file stem>-checkpoints`` beside an SQLite store file, or ``./hpsearch-checkpoints``."""
    if override is not None:
        return Path(override)
    if store_path is not None:
        return store_path.with_name(store_path.stem + "-checkpoints")
    return Path("hpsearch-checkpoints").resolve()


def study_folder(root: Path, name: str, uid: str) -> Path:
    """``<root>/<name>-<first 8 hex digits of uid>``: unique even when two stores hold studies of the same
    name and share a checkpoint directory."""
    return root / f"{name}-{uid[:8]}"


def trial_file(folder: Path, number: int) -> Path:
    """The checkpoint of trial ``number`` in a study's ``folder``."""
    return folder / f"trial-{number}{CHECKPOINT_SUFFIX}"


def partial_file(path: Path) -> Path:
    """Where the checkpoint ``path`` is written before it is renamed to ``path``."""
    return path.with_name(path.name.removesuffix(CHECKPOINT_SUFFIX) + _PARTIAL + CHECKPOINT_SUFFIX)


def trial_of_file(name: str) -> tuple[int | None, bool]:
    """The trial number of a checkpoint file name (:func:`trial_file` or :func:`partial_file`) and whether
    it is a partial one; (None, False) for any other name."""
    stem = name.removeprefix("trial-").removesuffix(CHECKPOINT_SUFFIX)
    partial = stem.endswith(_PARTIAL)
    stem = stem.removesuffix(_PARTIAL)
    return (int(stem), partial) if stem.isdigit() else (None, False)
