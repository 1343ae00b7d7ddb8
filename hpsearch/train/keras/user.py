"""A study's own model and data: ``model = "package.module:function"`` and ``[data] loader``.

* The **model builder** is called with the trial's hyperparameters (a dict of every name the
  space declares) and returns a compiled Keras model. It is called after
  ``keras.utils.set_random_seed(trial seed)``, so a trial builds the same initial weights on every run.
* The **data loader** is called with no arguments and returns ``(train, validation)`` or
  ``(train, validation, test)`` (or a mapping with those keys), each an ``(x, y)`` pair of
  arrays or a ``tf.data.Dataset`` of batches. It is called once per process.

Both are checked before a study is written to the store (:func:`check_user_study`): a setting
that cannot be imported, a builder that raises or returns something other than a compiled
Keras model, or data of the wrong shape, is one :class:`~hpsearch.core.errors.ConfigError` line
naming the setting, its value and what went wrong.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from hpsearch.core.config import StudyConfig
from hpsearch.core.errors import ConfigError
from hpsearch.core.space import Params

__all__ = [
    "DataLoader",
    "ModelBuilder",
    "UserData",
    "build_checked",
    "cached_user_data",
    "callable_name",
    "check_user_study",
    "load_user_data",
    "resolve",
]

#: ``build(params) -> compiled keras.Model``.
ModelBuilder = Callable[[Params], Any]
#: ``load() -> (train, validation[, test])``.
DataLoader = Callable[[], Any]


def callable_name(fn: Callable[..., Any]) -> str:
    """``module:qualname`` of a Python callable: how a study records a builder or loader given as an object."""
    return f"{getattr(fn, '__module__', None) or 'python'}:{getattr(fn, '__qualname__', type(fn).__name__)}"


def resolve(setting: str, path: str, *, study_file: str | None = None) -> Callable[..., Any]:
    """Import ``package.module:function``; the study file's folder and the working directory are
    searched after ``sys.path``."""
    module_name, _, attribute = path.partition(":")
    folders = [str(Path(study_file).resolve().parent)] if study_file else []
    folders.append(str(Path.cwd()))
    try:
        module = _import(module_name, [f for f in folders if f not in sys.path])
    except Exception as err:  # the module itself may raise anything on import
        raise ConfigError(setting, path, f"cannot be imported: {type(err).__name__}: {_line(err)}") from None
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ConfigError(setting, path, f"module {module_name} has no {attribute}")
    if not callable(target):
        raise ConfigError(setting, path, f"{attribute} is a {type(target).__name__}, not a function")
    return target  # type: ignore[no-any-return]


def _import(module_name: str, folders: list[str]) -> Any:
    """``importlib.import_module``, trying each of ``folders`` in turn where the module's top package is not found."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if not folders or err.name != module_name.split(".")[0]:
            raise
        sys.path.append(folders[0])  # a module beside the study file (or in the working directory)
        return _import(module_name, folders[1:])


def build_checked(build: ModelBuilder, params: Params, *, setting: str = "model", value: str = "") -> keras.Model:
    """``build(params)``, refused unless it is a compiled Keras model."""
    try:
        model = build(dict(params))
    except Exception as err:
        raise ConfigError(setting, value, f"raised {type(err).__name__} for {params}: {_line(err)}") from None
    if not isinstance(model, keras.Model):
        raise ConfigError(setting, value, f"returned a {type(model).__name__}, not a keras.Model")
    if not getattr(model, "compiled", False):
        raise ConfigError(setting, value, "returned a model that is not compiled: call model.compile(optimizer=..., loss=...) in it")
    return model


Split = Any  # an (x, y) pair of arrays, or a tf.data.Dataset of batches


@dataclass(frozen=True)
class UserData:
    """A study's own splits, as its loader returned them."""

    train: Split
    validation: Split
    test: Split | None = None

    def fit_arguments(self, batch_size: int) -> dict[str, Any]:
        """The keyword arguments of ``model.fit`` for these splits (``batch_size`` for arrays only)."""
        if isinstance(self.train, tuple):
            x, y = self.train
            return {"x": x, "y": y, "batch_size": batch_size, "shuffle": True, "validation_data": self.validation}
        return {"x": self.train, "validation_data": self.validation, "shuffle": False}  # a dataset shuffles itself

    @staticmethod
    def evaluate_arguments(split: Split, batch_size: int) -> dict[str, Any]:
        if isinstance(split, tuple):
            return {"x": split[0], "y": split[1], "batch_size": batch_size}
        return {"x": split}


def load_user_data(loader: DataLoader, *, setting: str = "data.loader", value: str = "") -> UserData:
    """Call ``loader`` and check what it returned."""
    try:
        out = loader()
    except Exception as err:
        raise ConfigError(setting, value, f"raised {type(err).__name__}: {_line(err)}") from None
    rule = "must return (train, validation) or (train, validation, test), each an (x, y) pair of arrays or a tf.data.Dataset"
    if isinstance(out, Mapping):
        if not {"train", "validation"} <= set(out) or set(out) - {"train", "validation", "test"}:
            raise ConfigError(setting, value, f"returned a mapping of {sorted(out)}; it needs train and validation (and may have test)")
        parts = [out["train"], out["validation"], out.get("test")]
    elif isinstance(out, (tuple, list)) and len(out) in (2, 3):
        parts = [*out, None][:3]
    else:
        raise ConfigError(setting, value, f"returned a {type(out).__name__}; it {rule}")
    checked = [
        None if part is None and i == 2 else _split(part, name, setting, value, rule)
        for i, (part, name) in enumerate(zip(parts, ("train", "validation", "test")))
    ]
    return UserData(*checked)


def _split(part: Any, name: str, setting: str, value: str, rule: str) -> Split:
    if isinstance(part, (tuple, list)):
        if len(part) != 2:
            raise ConfigError(setting, value, f"its {name} split has {len(part)} parts, not (x, y)")
        x, y = (np.asarray(a) if not hasattr(a, "shape") else a for a in part)
        if len(x) != len(y) or len(x) == 0:
            raise ConfigError(setting, value, f"its {name} split has {len(x)} inputs and {len(y)} targets")
        return (x, y)
    if type(part).__module__.startswith("tensorflow") and hasattr(part, "element_spec"):
        return part
    raise ConfigError(setting, value, f"its {name} split is a {type(part).__name__}; it {rule}")


def check_user_study(
    config: StudyConfig, model: ModelBuilder | None = None, data: DataLoader | None = None
) -> tuple[ModelBuilder | None, DataLoader | None]:
    """Resolve a study's own builder and loader (objects given win over the study file's settings), load
    the data and build one model at the space's first sampled point: every error before the store is touched."""
    if model is None and config.model is not None:
        model = resolve("model", config.model, study_file=config.source)
    if data is None and config.data.loader is not None:
        data = resolve("data.loader", config.data.loader, study_file=config.source)
    if data is not None:
        cached_user_data(data, config.data.loader or callable_name(data))
    if model is not None:
        params = config.space.sample(np.random.default_rng(config.seed))
        keras.utils.set_random_seed(config.seed)
        build_checked(model, params, value=config.model or callable_name(model))
        keras.backend.clear_session()
    return model, data


_LOADED: dict[DataLoader, UserData] = {}


def cached_user_data(loader: DataLoader, value: str) -> UserData:
    """The loader's data, loaded once per process."""
    if loader not in _LOADED:
        _LOADED[loader] = load_user_data(loader, value=value)
    return _LOADED[loader]


def _line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else repr(err))[:300]
