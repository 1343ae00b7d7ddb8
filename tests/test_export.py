"""Exports of a study's trials and per-epoch metrics to CSV, Parquet and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import hpsearch
from hpsearch import ConfigError, Store
from hpsearch.read.frames import UnknownStudyError
from hpsearch.show.export import export_frame, export_trials, format_from_path
from tests.comparison_store import FAILING_TRIAL, shared_comparison_store


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(shared_comparison_store(tmp_path_factory))


def _read(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "parquet":
        return pd.read_parquet(path)
    return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_trials_round_trip_in_every_format(db: str, tmp_path: Path, fmt: str) -> None:
    out = export_trials(db, "cmp-random", fmt, tmp_path / f"trials.{fmt}")
    back = _read(out, fmt)
    stored = hpsearch.trials("cmp-random", db)
    assert list(back["number"]) == [t.number for t in stored]  # trial order
    assert list(back["state"]) == [t.state.value for t in stored]
    for name in ("width", "dropout", "optimizer", "learning_rate"):
        assert list(back[name]) == [t.params[name] for t in stored]
    values = back["value"].astype(float)
    assert values.isna().tolist() == [t.value is None for t in stored]
    assert back.loc[back["number"] == FAILING_TRIAL, "state"].item() == "FAIL"
    assert list(back.columns) == list(export_frame(db, "cmp-random").columns)
    started = (pd.to_datetime(back["started_at"], utc=True) - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    assert started.tolist() == pytest.approx([t.started_at for t in stored], abs=1e-5)


def test_parquet_keeps_types(db: str, tmp_path: Path) -> None:
    back = pd.read_parquet(export_trials(db, "cmp-pbt", "parquet", tmp_path / "pbt.parquet"))
    assert str(back["started_at"].dtype).startswith("datetime64") and str(back["started_at"].dt.tz) == "UTC"
    assert back["width"].dtype.kind == "i" and back["final"].dtype == bool
    assert back["parent_trial"].isna().sum() == 4  # the initial segment of each member


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_metrics_export_has_one_row_per_current_epoch_with_its_trial(db: str, tmp_path: Path, fmt: str) -> None:
    back = _read(export_trials(db, "cmp-pbt", fmt, tmp_path / f"epochs.{fmt}", metrics=True), fmt)
    with Store.open(db, read_only=True) as store:
        study = store.study("cmp-pbt")
        epochs = store.epochs(study.id)
        trials = {t.number: t for t in store.trials(study.id)}
    assert len(back) == len(epochs)
    assert list(zip(back["number"], back["epoch"])) == [(e.trial_number, e.epoch) for e in epochs]
    assert back["val_accuracy"].tolist() == pytest.approx([e.val_accuracy for e in epochs])
    for row in back.itertuples():
        trial = trials[row.number]
        assert (row.learning_rate, row.member, row.model_epoch) == (
            trial.params["learning_rate"],
            trial.member,
            trial.start_epoch + row.epoch,
        )
        assert row.trial_value == pytest.approx(trial.value)


def test_empty_study_exports_headers_only(db: str, tmp_path: Path) -> None:
    csv = export_trials(db, "cmp-empty", "csv", tmp_path / "empty.csv")
    assert csv.read_text().splitlines()[0].startswith("study,strategy,number,state,width")
    assert len(csv.read_text().splitlines()) == 1
    assert json.loads(export_trials(db, "cmp-empty", "json", tmp_path / "empty.json", metrics=True).read_text()) == []
    assert pd.read_parquet(export_trials(db, "cmp-empty", "parquet", tmp_path / "empty.parquet")).empty


def test_bad_format_and_unknown_study_write_nothing(db: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="format = 'xlsx': must be one of csv, parquet, json"):
        export_trials(db, "cmp-grid", "xlsx", tmp_path / "t.xlsx")
    with pytest.raises(UnknownStudyError, match=r"'nope'.*cmp-grid"):
        export_trials(db, "nope", "csv", tmp_path / "t.csv")
    assert not list(tmp_path.iterdir())


def test_format_from_the_file_name() -> None:
    assert [format_from_path(p) for p in ("a.csv", "b.PARQUET", "c.pq", "d.json", "e.txt", "f")] == [
        "csv",
        "parquet",
        "parquet",
        "json",
        None,
        None,
    ]
    assert hpsearch.export_trials is export_trials and "export_trials" in hpsearch.__all__
