"""The module paths of hpsearch before the house plan (issue 19), kept as aliases of their new homes.

``import hpsearch.analysis`` (or ``from hpsearch import analysis, plots``) still works: the old name is the new
module itself (``hpsearch.analysis is hpsearch.read.frames``), with a ``DeprecationWarning`` naming the new path.
docs/explanation/layout.md ("Moved modules") lists them; they go away in a later release.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

__all__ = ["MOVED", "install"]

#: old module path -> its home now
MOVED: dict[str, str] = {
    "hpsearch.errors": "hpsearch.core.errors",
    "hpsearch.limits": "hpsearch.core.limits",
    "hpsearch.space": "hpsearch.core.space",
    "hpsearch.config": "hpsearch.core.config",
    "hpsearch.store.records": "hpsearch.core.records",
    "hpsearch.display": "hpsearch.show.tables",
    "hpsearch.progress": "hpsearch.running.progress",
    "hpsearch.optuna_replay": "hpsearch.search.optuna_replay",
    "hpsearch.strategies": "hpsearch.search.strategies",
    "hpsearch.pruning": "hpsearch.search.pruning",
    "hpsearch.trainer": "hpsearch.train.trainer",
    "hpsearch.objective": "hpsearch.train.keras",
    "hpsearch.objective.model_file": "hpsearch.show.model_file",
    "hpsearch.population": "hpsearch.train.population",
    "hpsearch.runner": "hpsearch.running.loop",
    "hpsearch.workers": "hpsearch.running.workers",
    "hpsearch.ask_tell": "hpsearch.running.ask_tell",
    "hpsearch.analysis": "hpsearch.read.frames",
    "hpsearch.summary": "hpsearch.read.status",
    "hpsearch.export": "hpsearch.show.export",
    "hpsearch.report": "hpsearch.show.report",
    "hpsearch.plots": "hpsearch.show.plots",
    "hpsearch.output_file": "hpsearch.show.output_file",
    "hpsearch.dashboard": "hpsearch.show.dashboard",
}


def _new_name(old: str) -> str | None:
    """The new path of ``old`` or of a module inside an old package (``hpsearch.objective.data``)."""
    if old in MOVED:
        return MOVED[old]
    package = old.rpartition(".")[0]
    while package:
        if package in MOVED:
            return f"{MOVED[package]}.{old[len(package) + 1 :]}"
        package = package.rpartition(".")[0]
    return None


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("hpsearch.") or _new_name(fullname) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=False)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = _new_name(spec.name)
        assert new is not None
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=3)
        return importlib.import_module(new)

    def exec_module(self, module: ModuleType) -> None:
        pass  # the new module ran when it was imported


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Alias())  # ahead of the path finder, which would load an old path's file twice
