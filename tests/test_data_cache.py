"""The prepared-dataset cache: a second load maps what the first prepared, a changed source file is
prepared again, the cache can be listed, cleared and turned off, and a cache that cannot be written
changes nothing but the speed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hpsearch.cli import main
from hpsearch.core.config import DataConfig
from hpsearch.train.keras import data as data_module


def _write_npz(folder: Path, seed: int, train: int = 120) -> Path:
    rng = np.random.default_rng(seed)
    path = folder / "mnist.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, train, dtype=np.uint8),
        x_test=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, 30, dtype=np.uint8),
    )
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("HPSEARCH_CACHE_DIR", str(folder))
    data_module._load.cache_clear()  # each load below reads the cache or the file, not this process's memory
    yield folder
    data_module._load.cache_clear()


def _load(data_dir: Path) -> data_module.Dataset:
    """The dataset loaded as a new process would, once the cache entry it writes (beside the run) is in place."""
    data_module._load.cache_clear()
    loaded = data_module.load_dataset(DataConfig(dataset="mnist", data_dir=str(data_dir), validation_size=20))
    data_module.finish_cache_writes()
    return loaded


def test_a_second_load_maps_the_prepared_splits_and_a_changed_file_is_prepared_again(cache: Path, tmp_path: Path) -> None:
    source = _write_npz(tmp_path, seed=1)
    first = _load(tmp_path)
    assert not isinstance(first.x_train, np.memmap)  # prepared from the file
    with np.load(source) as raw:
        np.testing.assert_array_equal(first.x_val, raw["x_train"][-20:].astype(np.float32) / 255)
    second = _load(tmp_path)
    assert isinstance(second.x_train, np.memmap) and not second.x_train.flags.writeable  # mapped from the cache, read-only
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name), err_msg=name)
        assert getattr(second, name).dtype == getattr(first, name).dtype, name
    assert second.source == first.source == str(tmp_path)
    _write_npz(tmp_path, seed=2, train=150)  # the user replaced the file: another key
    third = _load(tmp_path)
    assert len(third.x_train) == 130 and not isinstance(third.x_train, np.memmap)
    assert len(list((cache / "datasets").iterdir())) == 2


def test_the_cache_is_listed_and_cleared_by_the_command(cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_npz(tmp_path, seed=1)
    _load(tmp_path)
    assert main(["cache"]) == 0
    listed = capsys.readouterr().out
    assert f"{cache}: 1 entries" in listed and "prepared datasets" in listed and "mnist-" in listed
    assert main(["cache", "--clear"]) == 0
    assert "deleted 1 entries" in capsys.readouterr().out
    assert list((cache / "datasets").iterdir()) == []
    assert not isinstance(_load(tmp_path).x_train, np.memmap)  # prepared again, from the file


def test_the_cache_turned_off_or_unwritable_changes_nothing_but_the_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_npz(tmp_path, seed=1)
    monkeypatch.setenv("HPSEARCH_CACHE_DIR", "off")
    reference = _load(tmp_path)
    assert not isinstance(_load(tmp_path).x_train, np.memmap)
    assert main(["cache"]) == 0 and "the cache is off" in capsys.readouterr().out
    blocked = tmp_path / "a-file-not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("HPSEARCH_CACHE_DIR", str(blocked))  # nothing can be written under it
    loaded = _load(tmp_path)
    np.testing.assert_array_equal(loaded.x_train, reference.x_train)
    assert not list(tmp_path.glob("**/.*.partial"))
    data_module._load.cache_clear()
