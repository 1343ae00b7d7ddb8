"""hpsearch's cache folder: what is kept between runs only to make the next one faster.

It holds the prepared datasets (``datasets/``: the splits as float32 ``.npy`` files, memory-mapped
by every run and worker that trains on them) and, on the JAX backend, XLA's compiled
computations (``xla/``). Nothing in it is needed: a deleted cache is rebuilt by the next run, and
``hpsearch cache --clear`` deletes it. Where it is: ``$HPSEARCH_CACHE_DIR``, else
``$XDG_CACHE_HOME/hpsearch``, else ``~/.cache/hpsearch``; ``HPSEARCH_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CACHE_ENV", "CacheEntry", "cache_dir", "cache_entries", "clear_cache"]

CACHE_ENV = "HPSEARCH_CACHE_DIR"
#: The value of :data:`CACHE_ENV` that turns the cache off.
OFF = "off"
#: What each folder of the cache holds, in words.
KINDS = {"datasets": "prepared datasets", "xla": "compiled computations (JAX)"}


def cache_dir() -> Path | None:
    """The cache folder (not created here), or None when ``$HPSEARCH_CACHE_DIR`` is ``off``."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return None if configured.strip().lower() == OFF else Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "hpsearch"


@dataclass(frozen=True)
class CacheEntry:
    """One thing the cache holds: a prepared dataset, or the compiled computations."""

    kind: str
    path: Path
    bytes: int


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def cache_entries() -> list[CacheEntry]:
    """What the cache holds, entry by entry (a dataset per folder; the compiled computations as one)."""
    root = cache_dir()
    if root is None or not root.is_dir():
        return []
    entries = []
    datasets = root / "datasets"
    if datasets.is_dir():
        entries += [CacheEntry("datasets", p, _size(p)) for p in sorted(datasets.iterdir()) if not p.name.startswith(".")]
    xla = root / "xla"
    if xla.is_dir():
        entries.append(CacheEntry("xla", xla, _size(xla)))
    return entries


def clear_cache() -> list[CacheEntry]:
    """Delete everything the cache holds (what :func:`cache_entries` lists, and partial writes); returns what was deleted."""
    root = cache_dir()
    entries = cache_entries()
    for entry in entries:
        shutil.rmtree(entry.path, ignore_errors=True) if entry.path.is_dir() else entry.path.unlink(missing_ok=True)
    if root is not None:
        for kind in KINDS:
            folder = root / kind
            if folder.is_dir():
                for leftover in folder.glob(".*"):  # a write a killed run left half done
                    shutil.rmtree(leftover, ignore_errors=True)
    return entries
