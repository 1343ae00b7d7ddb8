"""The best trial of a study as an ordinary Keras model file.

    hpsearch export-model tpe --out best.keras
    hpsearch.export_model("tpe", "best.keras", store="hpsearch.db")

Whatever trainer trained it (per-trial Keras ``fit`` or a population), a trial's checkpoint is
the ``.weights.h5`` of ``build_model(**params)`` (or of the study's own ``model`` builder, imported
as the run imported it); this loads it into that model and writes a ``.keras`` file that
``keras.models.load_model`` opens with no hpsearch installed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from hpsearch.core.checkpoints import trial_file
from hpsearch.core.errors import ConfigError, HpsearchError, NoResultError
from hpsearch.core.results import StudySummary
from hpsearch.running.checkpoints import local_checkpoint, study_checkpoint_dir
from hpsearch.running.remote_checkpoints import is_url
from hpsearch.running.session import summarize
from hpsearch.show.output_file import check_output_path, protected_paths, write_output
from hpsearch.store import Store, TrialRecord, TrialState, reading
from hpsearch.train.keras.model import model_for
from hpsearch.train.keras.user import ModelBuilder, build_checked, cause_line, resolve

if TYPE_CHECKING:
    import keras  # imported by hpsearch.train.keras, quietly, at run time

__all__ = ["ExportedModel", "export_model", "load_trial_model"]

KERAS_SUFFIX = ".keras"


class ExportedModel:
    """What :func:`export_model` wrote: the file, the trial and its stored test accuracy (None if not evaluated)."""

    def __init__(self, path: Path, trial: TrialRecord, test_accuracy: float | None, provisional: bool = False) -> None:
        self.path, self.trial, self.test_accuracy = path, trial, test_accuracy
        #: The study is unfinished: the trial is its best so far (:func:`hpsearch.core.results.study_result`).
        self.provisional = provisional


def load_trial_model(trial: TrialRecord, weights: Path, build: ModelBuilder | None = None) -> keras.Model:
    """``build_model(**trial.params)`` (or the study's own ``build(trial.params)``) holding the weights
    (and optimiser state) of ``weights``."""
    model = model_for(trial.params) if build is None else build_checked(build, trial.params)
    model.optimizer.build(model.trainable_variables)  # so that the saved optimiser state loads too
    try:
        model.load_weights(weights)
    except Exception as err:  # h5py's OSError, Keras' ValueError: the weights, not the output file, are the problem
        reason = cause_line(err) or type(err).__name__
        raise HpsearchError(f"cannot read the weights of trial {trial.number} from {weights}: {reason}") from err
    return model


def export_model(
    name: str,
    out: str | os.PathLike[str],
    store: Store | str | os.PathLike[str] | None = None,
    *,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    trial: int | None = None,
) -> ExportedModel:
    """Write the best trial of study ``name`` (or its trial number ``trial``) as a ``.keras`` file at ``out``.

    A study of several objectives has no best trial: ``trial`` names one of its Pareto set (or any trial whose
    weights are kept). The trial's weights are read from its checkpoint (recorded in the store; by default in
    ``<stem>-checkpoints/<study>-<uid>/`` beside an SQLite store, or ``checkpoint_dir``).
    """
    if not os.fspath(out).endswith(KERAS_SUFFIX):
        raise ConfigError("out", os.fspath(out), f"must end in {KERAS_SUFFIX} (the Keras model file format)")
    with reading(store) as opened:
        summary = summarize(opened, name)
        location = checkpoint_dir if checkpoint_dir is None or is_url(checkpoint_dir) else Path(checkpoint_dir)
        folder = study_checkpoint_dir(opened, summary.study, location)  # type: ignore[arg-type]
        protected = protected_paths(opened, [] if checkpoint_dir is None or is_url(checkpoint_dir) else [checkpoint_dir])
    check_output_path(out, protected)  # refused before any weights are read
    best = _chosen(summary, trial)
    weights = local_checkpoint(best.checkpoint) if best.checkpoint else trial_file(folder, best.number)  # downloaded from a URL
    which = "best trial" if trial is None else "trial"
    if not weights.is_file():
        kept = "; hpsearch keeps the weights of a study's result only" if trial is not None and best not in summary.pareto else ""
        raise HpsearchError(
            f"{name}: the weights of {which} {best.number} are not on this machine (looked for {weights}{kept}); "
            "export where the study ran, or give --checkpoint-dir"
        )
    stored = summary.study.config
    build = resolve("model", stored["model"], study_file=stored.get("source")) if stored.get("model") else None
    model = load_trial_model(best, weights, build)

    def write(temporary: Path) -> None:
        with tempfile.TemporaryDirectory(dir=temporary.parent, prefix=".hpsearch-export-") as scratch:
            saved = Path(scratch) / f"model{KERAS_SUFFIX}"  # Keras insists on the suffix
            model.save(saved)
            shutil.move(saved, temporary)

    path = write_output(out, write, protected)
    test = summary.tests[best.number].accuracy if best.number in summary.tests else None
    return ExportedModel(path, best, test, summary.provisional and best in summary.pareto)


def _chosen(summary: StudySummary, number: int | None) -> TrialRecord:
    """The trial to export: trial ``number``, or the study's best (refused for a study of several objectives, which has
    none: the error names its Pareto set)."""
    name = summary.study.name
    if number is None:
        if summary.study.multi_objective and summary.pareto:
            pareto = ", ".join(str(t.number) for t in summary.pareto)
            raise ConfigError(
                "trial", None, f"required for {name}, a study of several objectives: name a trial of its Pareto set ({pareto})"
            )
        if summary.best is None:
            raise NoResultError(f"{name}: no trial has completed yet, so there is no model to export")
        return summary.best
    found = next((t for t in summary.trials if t.number == number), None)
    if found is None or found.state is not TrialState.COMPLETE:
        state = "no such trial" if found is None else f"it is {found.state.value}"
        pareto = ", ".join(str(t.number) for t in summary.pareto) or "none yet"
        raise ConfigError("trial", number, f"must be a COMPLETE trial of {name} ({state}; its result: {pareto})")
    return found
