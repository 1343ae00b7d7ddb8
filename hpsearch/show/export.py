"""Export a study's trials (or its per-epoch metrics) to CSV, Parquet or JSON.

hpsearch export tpe --format parquet --out tpe.parquet
hpsearch.export_trials("hpsearch.db", "tpe", "csv", "tpe.csv", metrics=True)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hpsearch.core.errors import ConfigError
from hpsearch.read import frames
from hpsearch.read.frames import StoreLike
from hpsearch.show.output_file import check_output_path, protected_paths, write_output
from hpsearch.store import reading

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FORMATS", "export_frame", "export_trials", "format_from_path"]

#: The formats :func:`export_trials` writes.
FORMATS: tuple[str, ...] = ("csv", "parquet", "json")

#: The trial columns repeated on every row of the per-epoch export, besides the study's hyperparameters (after ``state``).
_TRIAL_KEYS = ("study", "strategy", "number", "state", "value", "member", "generation", "start_epoch", "parent_trial")


def format_from_path(path: str | os.PathLike[str]) -> str | None:
    """The export format a file name implies (``.csv``, ``.parquet`` / ``.pq``, ``.json``), or None."""
    suffix = Path(path).suffix.lower().lstrip(".")
    suffix = {"pq": "parquet"}.get(suffix, suffix)
    return suffix if suffix in FORMATS else None


def export_frame(store: StoreLike, name: str, *, metrics: bool = False) -> pd.DataFrame:
    """What :func:`export_trials` writes: the trial table of study ``name`` in trial order
    (:func:`hpsearch.read.frames.trials_frame`), or with ``metrics`` one row per epoch of each
    trial's current attempt (:func:`hpsearch.read.frames.epochs_frame`), each carrying its
    trial's state, hyperparameters (one column each, in the study's order) and final value
    (as ``trial_value``)."""
    with reading(store) as opened:
        trials = frames.trials_frame(opened, [name])
        if not metrics:
            return trials.sort_values("number", kind="stable").reset_index(drop=True)
        epochs = frames.epochs_frame(opened, [name])
    dims = frames.frame_dimensions(trials)
    names = list(dims)
    keys = trials[[*_TRIAL_KEYS[:4], *names, *_TRIAL_KEYS[4:]]].rename(columns={"value": "trial_value", "state": "trial_state"})
    merged = epochs.drop(columns=["strategy", "state", "member"]).merge(keys, on=["study", "number"], how="left")
    first = ["study", "strategy", "number", "trial_state", *names, "trial_value", "member", "generation", "start_epoch"]
    first += ["parent_trial"]
    rest = [c for c in merged.columns if c not in first]
    frame = merged[first + rest]
    frame.attrs[frames.SPACE_ATTR] = dims
    return frame


def _kind(value: Any) -> type:
    return bool if isinstance(value, bool) else str if isinstance(value, str) else float


def _one_type_per_column(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every hyperparameter whose values mix kinds (a choice of ``"auto"`` and numbers)
    written as text: a Parquet column holds one type."""
    import pandas as pd

    mixed = [name for name in frames.frame_dimensions(frame) if len({_kind(v) for v in frame[name].dropna()}) > 1]
    return frame.assign(**{name: frame[name].map(lambda v: None if pd.isna(v) else str(v)) for name in mixed})


def _json_scalar(value: Any) -> Any:
    """NumPy scalars as Python ones (``json`` writes floats exactly, unlike pandas' writer)."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts: missing values None, times ISO 8601 strings."""
    import pandas as pd

    out = frame.astype(object).where(frame.notna(), None)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            out[column] = [None if pd.isna(ts) else ts.isoformat() for ts in frame[column]]
    records: list[dict[str, Any]] = out.to_dict(orient="records")
    return records


def export_trials(store: StoreLike, name: str, fmt: str, out: str | os.PathLike[str], *, metrics: bool = False) -> Path:
    """Write the trials of study ``name`` (with ``metrics``: its per-epoch table) to ``out``
    as ``fmt``: csv, parquet, or json (a list of records). Times are UTC, in ISO 8601 in
    CSV and JSON. A Parquet column holds one type: a hyperparameter whose values mix text and
    numbers (a choice of ``"auto"`` and numbers) is written there as text.

    Raises :class:`ConfigError` for an unknown format or an ``out`` that may not be written
    (see :mod:`hpsearch.show.output_file`: not a regular file, the store itself, ...) and
    :class:`hpsearch.read.frames.UnknownStudyError` for an unknown study, before anything is
    written; the file is written whole or not at all. Returns the path written.
    """
    if fmt not in FORMATS:
        raise ConfigError("format", fmt, f"must be one of {', '.join(FORMATS)}")
    with reading(store) as opened:
        protected = protected_paths(opened)
        check_output_path(out, protected)  # refused before the store is read
        frame = export_frame(opened, name, metrics=metrics)

    def write(path: Path) -> None:
        if fmt == "csv":
            frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        elif fmt == "parquet":
            _one_type_per_column(frame).to_parquet(path, index=False, engine="pyarrow")
        else:
            path.write_text(json.dumps(_json_records(frame), indent=1, default=_json_scalar) + "\n", encoding="utf-8")

    return write_output(out, write, protected)
