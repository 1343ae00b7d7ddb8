"""A study's own model and data: ``model = "package.module:function"`` and ``[data] loader``.

* The **model builder** is called with the trial's hyperparameters (a dict of every name the
  space declares) and returns a compiled Keras model. It is called after
  ``keras.utils.set_random_seed(trial seed)``, so a trial builds the same initial weights on every run.
* The **data loader** is called with no arguments and returns ``(train, validation)`` or
  ``(train, validation, test)`` (or a mapping with those keys), each an ``(x, y)`` pair of
  arrays or a ``tf.data.Dataset`` of batches. It is called once per process.

Both are checked before a study is written to the store (:func:`check_user_study`): a setting
that cannot be imported, a builder that raises or returns something other than a compiled
Keras model, arrays that are not finite numbers, or one batch of each split that does not go
through the model (its inputs, or its labels against the model's output), is one
:class:`~hpsearch.core.errors.ConfigError` line naming the setting, its value and what went wrong.
Whatever the user's code raises, ``sys.exit`` and a ``KeyboardInterrupt`` of its own included, is
such a line (:func:`user_code`); only a real Ctrl-C (or SIGTERM) goes through as itself.
"""

from __future__ import annotations

import importlib
import math
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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
    "cause_line",
    "check_user_study",
    "error_text",
    "load_user_data",
    "resolve",
    "user_code",
]

#: ``build(params) -> compiled keras.Model``.
ModelBuilder = Callable[[Params], Any]
#: ``load() -> (train, validation[, test])``.
DataLoader = Callable[[], Any]


def callable_name(fn: Callable[..., Any]) -> str:
    """``module:qualname`` of a Python callable: how a study records a builder or loader given as an object."""
    return f"{getattr(fn, '__module__', None) or 'python'}:{getattr(fn, '__qualname__', type(fn).__name__)}"


#: Lines of Keras's and TensorFlow's wrappers around an error, which name no cause: the graph's call stack, the layer
#: called and its arguments, the node.
_WRAPPER_LINE = re.compile(
    r"(Graph execution error|Detected at node|File \"|\[\[|\{\{node|Exception encountered when calling|Arguments received by|•|"
    r"Traceback \(most recent call last\))"
)
_TERMINAL_STYLE = re.compile(r"\x1b\[[0-9;]*m")


def cause_line(err: BaseException) -> str:
    """The line of ``err``'s message that names its cause, Keras's and TensorFlow's wrapping skipped
    (``Received a label value of 109 ...``, not ``Graph execution error:``); where ``err`` says nothing
    but its wrapping, the first exception of its chain that does. Empty where none does."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for line in _TERMINAL_STYLE.sub("", str(current)).splitlines():
            line = line.strip()
            if line and not _WRAPPER_LINE.match(line):
                return line
        current = current.__cause__ or current.__context__
    return ""


def _cause(err: BaseException) -> str:
    if isinstance(err, SystemExit):
        return f"sys.exit({err.code!r}) was called"
    return cause_line(err)[:300] or "(no message)"


def error_text(err: BaseException) -> str:
    """``Type: the line naming the cause`` (:func:`cause_line`), one line: how a failed trial's error is stored."""
    return f"{type(err).__name__}: {_cause(err)}"


@contextmanager
def _signals_noted() -> Iterator[list[int]]:
    """The SIGINT and SIGTERM that arrive inside, noted before their handlers run (which raise
    ``KeyboardInterrupt``): an interrupt after one is real, any other was raised by the code itself.
    Python runs signal handlers in the main thread only, so elsewhere nothing is noted, and nothing needs to be."""
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous: dict[int, Any] = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def note(number: int, frame: Any) -> None:
        noted.append(number)
        handler = previous[number]
        if callable(handler):
            handler(number, frame)

    watched = [number for number, handler in previous.items() if callable(handler)]
    for number in watched:
        signal.signal(number, note)
    try:
        yield noted
    finally:
        for number in watched:
            signal.signal(number, previous[number])


@contextmanager
def user_code(setting: str, value: str, rule: Callable[[str, str], str]) -> Iterator[None]:
    """Runs the user's code inside: whatever it raises (an exception, ``sys.exit``, a ``KeyboardInterrupt``
    of its own) is one :class:`ConfigError` naming ``setting``, ``value`` and ``rule(its type's name, its cause)``;
    a real Ctrl-C or SIGTERM goes through as itself."""
    with _signals_noted() as signalled:
        try:
            yield
        except BaseException as err:
            if signalled:
                raise
            raise ConfigError(setting, value, rule(type(err).__name__, _cause(err))) from None


def resolve(setting: str, path: str, *, study_file: str | None = None) -> Callable[..., Any]:
    """Import ``package.module:function``; the study file's folder and the working directory are
    searched after ``sys.path``."""
    module_name, _, attribute = path.partition(":")
    folders = [str(Path(study_file).resolve().parent)] if study_file else []
    folders.append(str(Path.cwd()))
    with user_code(setting, path, lambda kind, cause: f"cannot be imported: {kind}: {cause}"):  # the module may raise anything on import
        module = _import(module_name, [f for f in folders if f not in sys.path])
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
    with user_code(setting, value, lambda kind, cause: f"raised {kind} for {params}: {cause}"):
        model = build(dict(params))
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
    with user_code(setting, value, lambda kind, cause: f"raised {kind}: {cause}"):
        out = loader()
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
        for array, what in ((x, "inputs"), (y, "targets")):
            _check_numbers(np.asarray(array), f"{name} {what}", setting, value)
        return (x, y)
    if type(part).__module__.startswith("tensorflow") and hasattr(part, "element_spec"):
        return part
    raise ConfigError(setting, value, f"its {name} split is a {type(part).__name__}; it {rule}")


_NOT_NUMBERS = {"U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers", "M": "dates", "m": "time spans"}


def _check_numbers(array: np.ndarray, what: str, setting: str, value: str) -> None:
    """Refuse arrays that are not real numbers, or hold a NaN or an infinity (they train to chance with a finite loss)."""
    if array.dtype.kind not in "biuf":
        kind = _NOT_NUMBERS.get(array.dtype.kind, "not numbers")
        raise ConfigError(setting, value, f"its {what} are {kind} (dtype {array.dtype}); they must be real numbers")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        nan, infinite = int(np.isnan(array).sum()), int(np.isinf(array).sum())
        rule = f"its {what} hold {nan} NaN and {infinite} infinite values (of {array.size}); they must be finite"
        raise ConfigError(setting, value, rule)


def check_user_study(
    config: StudyConfig, model: ModelBuilder | None = None, data: DataLoader | None = None
) -> tuple[ModelBuilder | None, DataLoader | None]:
    """Resolve a study's own builder and loader (objects given win over the study file's settings), load
    the data (checked: :func:`load_user_data`), build one model at the space's first sampled point and send
    one small batch of each split through it (:func:`_check_fit`): every error before the store is touched."""
    if model is None and config.model is not None:
        model = resolve("model", config.model, study_file=config.source)
    if data is None and config.data.loader is not None:
        data = resolve("data.loader", config.data.loader, study_file=config.source)
    model_value = config.model or (callable_name(model) if model is not None else "")
    if data is not None:
        data_value = config.data.loader or callable_name(data)
        splits = cached_user_data(data, data_value)
        setting, value, whom = "data.loader", data_value, f"model {model_value!r}" if model is not None else "the built-in model"
        batches = {
            f"its {name} split": _first_batch(split, name, data_value)
            for name, split in (("train", splits.train), ("validation", splits.validation), ("test", splits.test))
            if split is not None
        }
    elif model is not None:  # the built-in data: (n, 28, 28) float32 images in [0, 1], int32 labels 0 to 9
        setting, value, whom = "model", model_value, "it"
        images, labels = np.zeros((10, 28, 28), np.float32), np.arange(10, dtype=np.int32)
        batches = {f"the built-in {config.data.dataset} data": (images, labels, labels)}
    else:
        return model, data
    params = config.space.sample(np.random.default_rng(config.seed))
    keras.utils.set_random_seed(config.seed)
    try:
        if model is not None:
            built = build_checked(model, params, value=model_value)
        else:
            from hpsearch.train.keras.model import model_for

            built = model_for(params)
        for what, batch in batches.items():
            _check_fit(built, what, batch, setting, value, whom)
    finally:
        keras.backend.clear_session()
    return model, data


#: How many samples of each split the check before a run sends through the model.
CHECK_SAMPLES = 8

Batch = tuple[Any, Any, np.ndarray]  # a few inputs, their targets, and every target of the split (for the label range)


def _first_batch(split: Split, name: str, value: str) -> Batch:
    if isinstance(split, tuple):
        x, y = split
        return x[:CHECK_SAMPLES], y[:CHECK_SAMPLES], np.asarray(y)
    with user_code("data.loader", value, lambda kind, cause: f"its {name} dataset raised {kind}: {cause}"):
        element = next(iter(split.take(1)), None)
    if element is None:
        raise ConfigError("data.loader", value, f"its {name} split is an empty dataset")
    if not isinstance(element, (tuple, list)) or len(element) < 2 or not all(hasattr(a, "shape") for a in element[:2]):
        raise ConfigError("data.loader", value, f"its {name} dataset yields a {type(element).__name__}; it must yield (x, y) batches")
    x, y = element[0][:CHECK_SAMPLES], element[1][:CHECK_SAMPLES]
    for array, what in ((x, "inputs"), (y, "targets")):  # one batch of a dataset: an array's every value was checked
        _check_numbers(np.asarray(array), f"{name} {what}", "data.loader", value)
    return x, y, np.asarray(y)


def _check_fit(model: keras.Model, what: str, batch: Batch, setting: str, value: str, whom: str) -> None:
    """Refuse a batch whose inputs the model cannot take, whose labels lie outside its outputs, or whose loss
    is not finite before any training: the data of the wrong shape or kind that would fail every trial."""
    x, y, labels = batch
    batch_of = f"one batch of {what} (inputs {tuple(int(n) for n in x.shape[1:])} each)"
    with user_code(setting, value, lambda kind, cause: f"{batch_of} does not go through {whom}: {kind}: {cause}"):
        output = model.predict_on_batch(x)  # traced as fit traces it (an eager call's errors print the whole batch)
    shape = tuple(getattr(output, "shape", ()))
    sparse = labels.size and labels.dtype.kind in "iu" and (labels.ndim == 1 or labels.shape[1:] == (1,))  # class numbers
    if sparse and len(shape) == 2 and (shape[-1] or 0) > 1:
        low, high, units = int(labels.min()), int(labels.max()), int(shape[-1])
        if low < 0 or high >= units:
            rule = f"{what} has labels {low} to {high}, but {whom} has {units} outputs (labels 0 to {units - 1})"
            raise ConfigError(setting, value, rule)
    compiled = "the loss and metrics it was compiled with" if whom == "it" else f"the loss and metrics of {whom}"
    with user_code(setting, value, lambda kind, cause: f"the targets of one batch of {what} do not fit {compiled}: {kind}: {cause}"):
        scores = model.test_on_batch(x, y, return_dict=True)
    loss = float(scores.get("loss", 0.0))
    if not math.isfinite(loss):
        raise ConfigError(setting, value, f"one batch of {what} gives a loss of {loss} before any training: do its targets fit {whom}?")


_LOADED: dict[DataLoader, UserData] = {}


def cached_user_data(loader: DataLoader, value: str) -> UserData:
    """The loader's data, loaded once per process."""
    if loader not in _LOADED:
        _LOADED[loader] = load_user_data(loader, value=value)
    return _LOADED[loader]
