"""The search space: named dimensions and their ranges.

A dimension is a range (``low``/``high``, optionally on a log scale), an explicit
list of values, or a single fixed value. Any name of letters, digits and
underscores may be a dimension (:data:`NAME_RULE`). In a space of the built-in model its own
hyperparameters (:mod:`hpsearch.core.builtin_model`) have their kind, bounds and defaults; in any other space
a dimension is exactly what it declares, whatever its name.
The space knows how to sample a point from a seeded generator, how to enumerate
grid points (through scikit-learn's ``ParameterGrid``), and how to describe
itself to Optuna.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Union

import numpy as np

from hpsearch.core.builtin_model import (
    ACTIVATIONS,
    BUILTIN_DEFAULTS,
    BUILTIN_DIMENSIONS,
    DEFAULT_PARAMS,
    HYPERPARAMETERS,
    LAYER_DIMENSIONS,
    OPTIMIZERS,
    SGD_ONLY,
)
from hpsearch.core.errors import ConfigError
from hpsearch.core.limits import check

__all__ = [
    "ACTIVATIONS",
    "BUILTIN_DEFAULTS",
    "BUILTIN_DIMENSIONS",
    "DEFAULT_PARAMS",
    "HYPERPARAMETERS",
    "NAME_RULE",
    "OPTIMIZERS",
    "RESERVED_NAMES",
    "Choice",
    "Dimension",
    "FloatRange",
    "IntRange",
    "Params",
    "SearchSpace",
    "check_builtin_conditions",
    "is_builtin_space",
    "is_one_of",
    "parse_space",
]

Value = Union[int, float, str, bool]
Params = dict[str, Value]
#: When a dimension exists: for each other dimension it names (a choice), the values under which it does; all must hold.
#: Empty: always.
Condition = tuple[tuple[str, tuple[Value, ...]], ...]


def is_one_of(value: Any, values: Sequence[Value]) -> bool:
    """Whether ``value`` is one of ``values``, of the same type too (``True`` is not ``1``, nor ``1.0`` ``1``): how a
    condition's values are matched, when parsed and when a point is judged."""
    return any(type(v) is type(value) and v == value for v in values)


def _when(condition: Condition) -> dict[str, Any]:
    """A dimension's ``when`` as its description holds it (nothing for a dimension that always exists, so that the
    description, and with it the identity, of a space without conditions is what it always was)."""
    return {"when": {parent: list(values) for parent, values in condition}} if condition else {}


#: What a dimension may be called: 1-64 letters, digits and underscores, starting with a letter.
NAME_RULE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")

#: Names the trial tables and frames use for their own columns, which a dimension may not take.
RESERVED_NAMES: frozenset[str] = frozenset(
    {
        "study", "strategy", "number", "state", "value", "epochs", "epoch", "seconds", "started_at", "finished_at",
        "completion", "cum_epochs", "cum_seconds", "final", "member", "generation", "start_epoch", "end_epoch",
        "parent_trial", "parent_member", "attempt", "metric", "direction", "error", "best", "improved", "trial",
        "model_epoch", "kind", "carried", "changed", "optimizer_reset", "at_start", "n_trials", "best_trial",
        "finished", "trial_id", "recorded_at", "params", "loss", "accuracy", "val_loss", "val_accuracy", "reason",
        "val_before_resize", "val_after_resize", "first_parent", "second_parent", "test_accuracy", "test_loss",
        "trial_state", "trial_value",
    }
)  # fmt: skip


class _Range:
    """What integer and float ranges share: grid points and their description."""

    name: str
    low: float
    high: float
    log: bool
    grid_points: int | None

    def _grid(self) -> np.ndarray:
        if self.grid_points is None:
            raise ConfigError(
                f"space.{self.name}.grid_points",
                None,
                "a grid study needs `values = [...]` or `grid_points = N` for every range",
            )
        return _spaced(self.low, self.high, self.grid_points, self.log)

    def describe(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "log": self.log, "grid_points": self.grid_points, **_when(self.when)}

    def _ends(self) -> tuple[float, float]:
        """The range's ends on the scale it is searched on (logarithms for a log range; an
        integer range reaches to ``high + 1`` so that every integer gets an equal share)."""
        high = self.high + 1 if isinstance(self, IntRange) else self.high
        return (math.log(self.low), math.log(high)) if self.log else (float(self.low), float(high))

    def to_unit(self, value: Any) -> float:
        """Where ``value`` lies in [0, 1] on the range's scale (the inverse of :meth:`from_unit`)."""
        a, b = self._ends()
        if b == a:
            return 0.5
        x = math.log(value) if self.log else float(value)
        if isinstance(self, IntRange):  # the middle of the integer's share
            x = (math.log(value) + math.log(value + 1)) / 2 if self.log else value + 0.5
        return min(max((x - a) / (b - a), 0.0), 1.0)


@dataclass(frozen=True)
class IntRange(_Range):
    """Integers in ``[low, high]``, uniform or log-uniform."""

    name: str
    low: int
    high: int
    log: bool = False
    grid_points: int | None = None
    when: Condition = ()

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high + 1)))
            return max(self.low, min(math.floor(value), self.high))  # exp(log(low)) may round below low
        return int(rng.integers(self.low, self.high + 1))

    def grid_values(self) -> list[Value]:
        return list(dict.fromkeys(round(v) for v in self._grid()))

    def clip(self, value: float) -> int:
        return int(min(max(round(value), self.low), self.high))

    def from_unit(self, u: float) -> int:
        """The integer at ``u`` in [0, 1] (uniform, or log-uniform, as :meth:`sample` draws)."""
        a, b = self._ends()
        x = a + min(max(float(u), 0.0), 1.0) * (b - a)
        return max(self.low, min(math.floor(math.exp(x) if self.log else x), self.high))  # exp(log(low)) may round below low

    def contains(self, value: Any) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and bool(self.low <= value <= self.high)

    def snap_units(self, u: np.ndarray) -> np.ndarray:
        """``to_unit(from_unit(u))`` for an array of coordinates at once: the middle of each one's integer."""
        a, b = self._ends()
        if b == a:
            return np.full(np.shape(u), 0.5)
        x = a + np.clip(u, 0.0, 1.0) * (b - a)
        v = np.clip(np.floor(np.exp(x) if self.log else x), self.low, self.high)
        middle = (np.log(v) + np.log(v + 1)) / 2 if self.log else v + 0.5
        return np.clip((middle - a) / (b - a), 0.0, 1.0)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class FloatRange(_Range):
    """Floats in ``[low, high]``, uniform or log-uniform."""

    name: str
    low: float
    high: float
    log: bool = False
    grid_points: int | None = None
    when: Condition = ()

    def sample(self, rng: np.random.Generator) -> float:
        if self.log:
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def grid_values(self) -> list[Value]:
        return [float(v) for v in self._grid()]

    def clip(self, value: float) -> float:
        return float(min(max(value, self.low), self.high))

    def from_unit(self, u: float) -> float:
        """The float at ``u`` in [0, 1] (uniform, or log-uniform, as :meth:`sample` draws)."""
        a, b = self._ends()
        x = a + min(max(float(u), 0.0), 1.0) * (b - a)
        return self.clip(math.exp(x) if self.log else x)

    def contains(self, value: Any) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        return self.low <= value <= self.high

    def snap_units(self, u: np.ndarray) -> np.ndarray:
        """``to_unit(from_unit(u))`` for an array of coordinates at once (up to rounding: ``u`` in [0, 1])."""
        return np.full(np.shape(u), 0.5) if self.low == self.high else np.clip(u, 0.0, 1.0)


@dataclass(frozen=True)
class Choice:
    """One of an explicit list of values (also used for a fixed value: one choice)."""

    name: str
    choices: tuple[Value, ...]
    when: Condition = ()

    def sample(self, rng: np.random.Generator) -> Value:
        return _plain(self.choices[int(rng.integers(len(self.choices)))])

    def grid_values(self) -> list[Value]:
        return list(self.choices)

    def contains(self, value: Any) -> bool:
        return value in self.choices

    def describe(self) -> dict[str, Any]:
        return {"values": list(self.choices), **_when(self.when)}

    def from_unit(self, u: float) -> Value:
        """The choice whose equal share of [0, 1] holds ``u``."""
        n = len(self.choices)
        return _plain(self.choices[min(int(min(max(float(u), 0.0), 1.0) * n), n - 1)])

    def to_unit(self, value: Any) -> float:
        """The middle of ``value``'s share of [0, 1]."""
        return (self.choices.index(value) + 0.5) / len(self.choices)

    def snap_units(self, u: np.ndarray) -> np.ndarray:
        """``to_unit(from_unit(u))`` for an array of coordinates at once: the middle of each one's share."""
        n = len(self.choices)
        return (np.minimum(np.floor(np.clip(u, 0.0, 1.0) * n), n - 1) + 0.5) / n  # type: ignore[no-any-return]


Dimension = Union[IntRange, FloatRange, Choice]


def _spaced(low: float, high: float, n: int, log: bool) -> np.ndarray:
    if n == 1:
        return np.array([math.exp((math.log(low) + math.log(high)) / 2) if log else (low + high) / 2])
    if log:
        return np.geomspace(low, high, n)
    return np.linspace(low, high, n)


def _plain(value: Any) -> Value:
    """Turn numpy scalars into Python ones so that params serialise cleanly."""
    if isinstance(value, np.generic):
        return value.item()  # type: ignore[no-any-return]
    return value  # type: ignore[no-any-return]


class SearchSpace(Mapping[str, Dimension]):
    """An ordered, immutable mapping from hyperparameter name to dimension."""

    def __init__(self, dimensions: Sequence[Dimension]) -> None:
        self._dims = {d.name: d for d in dimensions}

    def __getitem__(self, name: str) -> Dimension:
        return self._dims[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dims)

    def __len__(self) -> int:
        return len(self._dims)

    def __repr__(self) -> str:
        return f"SearchSpace({list(self._dims.values())!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.describe() == other.describe()

    def __hash__(self) -> int:
        return hash(repr(self.describe()))

    @property
    def conditional(self) -> bool:
        """Whether some dimension exists only under the values of others (``when``)."""
        return any(dim.when for dim in self._dims.values())

    def exists(self, name: str, params: Mapping[str, Any]) -> bool:
        """Whether dimension ``name`` exists for ``params``: its ``when`` holds (each dimension it names exists for them
        and holds one of its values). The parse refused circles, so this ends."""
        return all(
            parent in params and is_one_of(params[parent], values) and self.exists(parent, params)
            for parent, values in self._dims[name].when
        )

    def active(self, params: Mapping[str, Any]) -> list[str]:
        """The dimensions that exist for ``params`` (:meth:`exists`), in order; all of them in a space without conditions."""
        return [name for name in self._dims if self.exists(name, params)]

    def dependency_order(self) -> list[str]:
        """The dimensions, each after every dimension its ``when`` names (in declared order otherwise): the order in which a
        point is drawn dimension by dimension, each one's existence known from those before it."""
        order: list[str] = []

        def visit(name: str) -> None:
            if name not in order:
                for parent, _ in self._dims[name].when:
                    visit(parent)
                order.append(name)

        for name in self._dims:
            visit(name)
        return order

    def restricted(self, params: Mapping[str, Any]) -> Params:
        """``params`` without the dimensions that do not exist for them (:meth:`active`)."""
        return {name: params[name] for name in self.active(params) if name in params}

    def completed(self, params: Mapping[str, Any], rng: np.random.Generator) -> Params:
        """``params`` made a point of the space: the dimensions that do not exist for them dropped, and those that exist
        but have no value (a parent changed: a mutation, a PBT explore) drawn from their prior."""
        out = dict(params)
        while True:
            missing = [name for name in self.active(out) if name not in out]
            if not missing:
                return self.restricted(out)
            for name in missing:
                out[name] = _plain(self._dims[name].sample(rng))

    def sample(self, rng: np.random.Generator) -> Params:
        """One point drawn from the prior of every dimension that exists for it (every dimension is drawn, in
        order, so that the stream of draws does not depend on the conditions)."""
        return self.restricted({name: _plain(dim.sample(rng)) for name, dim in self._dims.items()})

    def grid(self) -> list[Params]:
        """Every grid point, in scikit-learn's ``ParameterGrid`` order; in a conditional space each valid combination
        once (a dimension that does not exist for a point is not enumerated with it)."""
        from sklearn.model_selection import ParameterGrid

        grid = ParameterGrid({name: dim.grid_values() for name, dim in self._dims.items()})
        points = [{name: _plain(point[name]) for name in self._dims} for point in grid]
        if not self.conditional:
            return points
        unique: dict[tuple[Any, ...], Params] = {}
        for point in points:
            kept = self.restricted(point)
            unique.setdefault(tuple((name, type(v).__name__, v) for name, v in kept.items()), kept)
        return list(unique.values())

    def grid_size(self) -> int:
        if self.conditional:
            return len(self.grid())
        return math.prod(len(dim.grid_values()) for dim in self._dims.values())

    def from_unit(self, point: Sequence[float]) -> Params:
        """The point of the space at ``point`` in the unit cube (one coordinate per dimension, in order; those of the
        dimensions that do not exist for the point are ignored)."""
        return self.restricted({name: dim.from_unit(u) for (name, dim), u in zip(self._dims.items(), point, strict=True)})

    def to_unit(self, params: Mapping[str, Any]) -> np.ndarray:
        """Where ``params`` lies in the unit cube (the inverse of :meth:`from_unit`); a dimension that does not exist for
        ``params`` sits at the middle, 0.5, of its coordinate (what a model of the cube reads as "no information")."""
        active = set(self.active(params))
        return np.array([dim.to_unit(params[name]) if name in active else 0.5 for name, dim in self._dims.items()])

    def snap_units(self, points: np.ndarray) -> np.ndarray:
        """Where the points :meth:`from_unit` makes of each row of ``points`` lie in the unit cube, all rows at once
        (integers at the middle of their cell, choices at the middle of their share): what a model scores."""
        return np.column_stack([dim.snap_units(points[:, i]) for i, dim in enumerate(self._dims.values())])

    def contains(self, params: Mapping[str, Any]) -> bool:
        """Whether ``params`` is a point of the space: a value within its dimension for every dimension that exists for
        it, and for no other."""
        return set(params) == set(self.active(params)) and all(self._dims[n].contains(v) for n, v in params.items())

    def describe(self) -> dict[str, dict[str, Any]]:
        """A JSON-able description, stored with the study and compared on resume."""
        return {name: {"kind": type(dim).__name__, **dim.describe()} for name, dim in self._dims.items()}

    def to_optuna(self) -> dict[str, Any]:
        """Optuna distributions for every dimension (imports Optuna lazily)."""
        import optuna.distributions as od

        out: dict[str, Any] = {}
        for name, dim in self._dims.items():
            if isinstance(dim, IntRange):
                out[name] = od.IntDistribution(dim.low, dim.high, log=dim.log)
            elif isinstance(dim, FloatRange):
                out[name] = od.FloatDistribution(dim.low, dim.high, log=dim.log)
            else:
                out[name] = od.CategoricalDistribution(dim.choices)
        return out


# --------------------------------------------------------------------------- parsing

_RANGE_KEYS = {"low", "high", "log", "grid_points", "type"}
_VALUE_KEYS = {"values"}
_CONDITION_KEY = "when"
_KINDS = ("int", "float")


def _builtin_kind(name: str, builtin: bool) -> str | tuple[str, ...] | None:
    """The built-in model's kind of dimension ``name`` in a space of the built-in model (``builtin``); None in any
    other space, where a dimension that happens to share a built-in name follows only the generic rules."""
    return BUILTIN_DIMENSIONS.get(name) if builtin else None


def _check_value(name: str, field: str, value: Any, builtin: bool) -> Value:
    """Apply the rule of dimension ``name`` to one value: in the built-in model's space a built-in hyperparameter's
    own (its values, or its bound in :data:`hpsearch.core.limits.LIMITS`), else any string, boolean or finite number."""
    kind = _builtin_kind(name, builtin)
    if isinstance(kind, tuple) and all(isinstance(k, bool) for k in kind):
        if not isinstance(value, bool):
            raise ConfigError(field, value, "must be true or false")
        return value
    if isinstance(kind, tuple):
        if not isinstance(value, str) or value.lower() not in kind:
            raise ConfigError(field, value, f"must be one of {', '.join(kind)}")
        return value.lower()
    if kind is not None:
        return check(f"space.{name}", value, field=field)  # type: ignore[no-any-return]
    if isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float)) and math.isfinite(value):
        return value
    raise ConfigError(field, value, "must be a string, true or false, or a finite number")


def _range_kind(name: str, field: str, spec: Mapping[str, Any], builtin: bool) -> str:
    """``int`` or ``float``: the built-in hyperparameter's own kind, else ``type``, else int when both ends are integers."""
    own = _builtin_kind(name, builtin)
    given = spec.get("type")
    if given is not None and given not in _KINDS:
        raise ConfigError(f"{field}.type", given, "must be int or float")
    if isinstance(own, str):
        if given is not None and given != own:
            raise ConfigError(f"{field}.type", given, f"{name} is a {own} range in the built-in model")
        return own
    if given is not None:
        return str(given)
    ends = (spec["low"], spec["high"])
    return "int" if all(isinstance(v, int) and not isinstance(v, bool) for v in ends) else "float"


def _parse_dimension(name: str, spec: Any, builtin: bool) -> Dimension:
    """Dimension ``name`` of a study file's ``[space]``; ``builtin``: of the built-in model's space (its rules apply)."""
    field = f"space.{name}"
    is_choice = isinstance(_builtin_kind(name, builtin), tuple)
    if not isinstance(spec, dict):
        # A bare value fixes the hyperparameter; a bare list is a list of values.
        if isinstance(spec, list):
            spec = {"values": spec}
        else:
            return Choice(name, (_check_value(name, field, spec, builtin),))
    unknown = set(spec) - _RANGE_KEYS - _VALUE_KEYS - {_CONDITION_KEY}
    if unknown:
        key = sorted(unknown)[0]
        allowed = sorted(_VALUE_KEYS | {_CONDITION_KEY}) if is_choice else sorted(_RANGE_KEYS | _VALUE_KEYS | {_CONDITION_KEY})
        raise ConfigError(f"{field}.{key}", spec[key], f"unknown key; expected one of {', '.join(allowed)}")
    when = _parse_when(name, spec[_CONDITION_KEY]) if _CONDITION_KEY in spec else ()
    if when and len(spec) == 1:
        raise ConfigError(field, spec, "a dimension with `when` also needs `values` or a range (`low`, `high`)")
    spec = {key: value for key, value in spec.items() if key != _CONDITION_KEY}
    if "values" in spec:
        if set(spec) & _RANGE_KEYS:
            raise ConfigError(field, spec, "give either `values` or a range (`low`, `high`), not both")
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{field}.values", values, "must be a non-empty list")
        checked = [_check_value(name, f"{field}.values[{i}]", v, builtin) for i, v in enumerate(values)]
        if len({(type(v), v) for v in checked}) != len(checked):
            raise ConfigError(f"{field}.values", values, "values must not repeat")
        return Choice(name, tuple(checked), when=when)
    if is_choice:
        first = BUILTIN_DIMENSIONS[name][0]
        shown = "true, false" if isinstance(first, bool) else f'"{first}", ...'
        raise ConfigError(field, spec, f"{name} is a choice: give `values = [{shown}]`")
    for key in ("low", "high"):
        if key not in spec:
            raise ConfigError(f"{field}.{key}", None, "a range needs both `low` and `high`")
    low = _check_value(name, f"{field}.low", spec["low"], builtin)
    high = _check_value(name, f"{field}.high", spec["high"], builtin)
    for key, end in (("low", low), ("high", high)):
        if isinstance(end, (str, bool)):
            raise ConfigError(f"{field}.{key}", end, "a range's ends are numbers")
    integer = _range_kind(name, field, spec, builtin) == "int"
    if integer:
        for key, end in (("low", low), ("high", high)):
            if not float(end).is_integer():
                raise ConfigError(f"{field}.{key}", end, "an int range's ends are integers")
    if not low < high:  # type: ignore[operator]
        raise ConfigError(field, {"low": low, "high": high}, "low < high must hold (for a single value write it alone)")
    log = spec.get("log", name == "learning_rate")
    if not isinstance(log, bool):
        raise ConfigError(f"{field}.log", log, "must be true or false")
    if log and low <= 0:  # type: ignore[operator]
        raise ConfigError(f"{field}.low", low, "a log-scale range needs low > 0")
    points = spec.get("grid_points")
    if points is not None:
        check("space.grid_points", points, field=f"{field}.grid_points")
    if integer:
        return IntRange(name, int(low), int(high), log=log, grid_points=points, when=when)  # type: ignore[arg-type]
    return FloatRange(name, float(low), float(high), log=log, grid_points=points, when=when)  # type: ignore[arg-type]


def _parse_when(name: str, spec: Any) -> Condition:
    """A dimension's ``when = { parent = [values], ... }`` as written (each parent's values a list, or one value); what it
    names is checked against the whole space by :func:`_check_conditions`."""
    field = f"space.{name}.{_CONDITION_KEY}"
    if not isinstance(spec, dict) or not spec:
        raise ConfigError(field, spec, 'must be a table naming the dimensions it depends on: when = { optimizer = ["sgd"] }')
    condition = []
    for parent, values in spec.items():
        listed = values if isinstance(values, list) else [values]
        if not listed:
            raise ConfigError(f"{field}.{parent}", values, "must name at least one value")
        condition.append((str(parent), tuple(listed)))
    return tuple(condition)


def _check_conditions(space: SearchSpace) -> None:
    """Refuse a ``when`` that names no dimension of the space, a range (a condition is on listed values), a value its
    dimension cannot take, or that makes a circle (a dimension that exists only under itself)."""
    for name, dim in space.items():
        for parent, values in dim.when:
            field = f"space.{name}.{_CONDITION_KEY}.{parent}"
            if parent not in space:
                listed = ", ".join(n for n, d in space.items() if n != name and isinstance(d, Choice)) or "none"
                rule = f"names no dimension of this space; a condition names one of listed values: {listed}"
                raise ConfigError(field, list(values), rule)
            named = space[parent]
            if not isinstance(named, Choice):
                raise ConfigError(
                    field, list(values), f"{parent} is a range; a condition names a dimension of listed values (`values = [...]`)"
                )
            for value in values:
                if not is_one_of(value, named.choices):
                    rule = f"{value!r} is not a value of {parent} (one of {', '.join(repr(c) for c in named.choices)})"
                    raise ConfigError(field, list(values), rule)
    for name in space:
        cycle = _cycle_from(space, name, [name])
        if cycle:
            written = space.describe()[name]["when"]
            raise ConfigError(f"space.{name}.{_CONDITION_KEY}", written, f"makes a circle: {' -> '.join(cycle)}")


def _cycle_from(space: SearchSpace, start: str, path: list[str]) -> list[str] | None:
    """The circle of conditions from ``path[-1]`` back to ``start`` (the names on it, ``start`` at both ends), if any."""
    for parent, _ in space[path[-1]].when:
        if parent == start:
            return [*path, start]
        if parent not in path and parent in space:
            found = _cycle_from(space, start, [*path, parent])
            if found:
                return found
    return None


def _check_name(name: Any, spec: Any) -> None:
    if not isinstance(name, str) or not NAME_RULE.fullmatch(name):
        raise ConfigError(f"space.{name}", spec, "a dimension's name is 1-64 letters, digits and '_', starting with a letter")
    if name in RESERVED_NAMES:
        raise ConfigError(f"space.{name}", spec, "is a column name hpsearch keeps for itself; call the dimension something else")


def is_builtin_space(names: Iterable[str]) -> bool:
    """Whether a space declaring ``names`` is the built-in model's: only its hyperparameters, where SGD's own
    (:data:`SGD_ONLY`) count only beside an ``optimizer`` (a space of {learning_rate, momentum} is a loop's or a
    function's, as it was before the built-in model had them)."""
    declared = set(names)
    return declared <= set(BUILTIN_DIMENSIONS) and ("optimizer" in declared or not declared & set(SGD_ONLY))


def parse_space(spec: Any, *, builtin: bool | None = None) -> SearchSpace:
    """Build a search space from the ``[space]`` table of a study file.

    A space of the built-in model (``builtin``; by default, a space that declares only built-in
    hyperparameters) always has :data:`HYPERPARAMETERS` first, the ones left out fixed at the seed
    model's values, then the other built-in ones it declares. Any other space is exactly what it declares.
    """
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise ConfigError("space", spec, "must be a table of hyperparameters")
    for name, value in spec.items():
        _check_name(name, value)
    if builtin is None:
        builtin = is_builtin_space(spec)
    if not builtin:
        if not spec:
            raise ConfigError("space", spec, "a study of your own model declares at least one dimension")
        space = SearchSpace([_parse_dimension(name, value, False) for name, value in spec.items()])
        _check_conditions(space)
        return space
    unknown = set(spec) - set(BUILTIN_DIMENSIONS)
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(
            f"space.{key}",
            spec[key],
            f"the built-in model has no such hyperparameter; expected one of {', '.join(BUILTIN_DIMENSIONS)}"
            ' (name your own model with `model = "package.module:function"` to search others)',
        )
    dims = [_parse_dimension(name, spec[name], True) if name in spec else Choice(name, (DEFAULT_PARAMS[name],)) for name in HYPERPARAMETERS]
    dims += [_parse_dimension(name, spec[name], True) for name in BUILTIN_DIMENSIONS if name in spec and name not in HYPERPARAMETERS]
    space = SearchSpace([_with_layer_condition(dim, dims) for dim in dims])
    _check_conditions(space)
    return space


def _with_layer_condition(dim: Dimension, dims: Sequence[Dimension]) -> Dimension:
    """A per-layer hyperparameter of the built-in model (:data:`LAYER_DIMENSIONS`) with its implied condition: it exists
    for the trials with its layer, ``when = { layers = [those values of layers] }`` (a condition written is kept)."""
    layer = LAYER_DIMENSIONS.get(dim.name)
    if layer is None or dim.when:
        return dim
    layers = next((d for d in dims if d.name == "layers"), None)
    field = f"space.{dim.name}"
    if layers is None or not isinstance(layers, Choice):
        written = "is not searched (one hidden layer)" if layers is None else "is a range"
        rule = f"is the hidden layer {layer}'s own, which needs `layers = [...]` listing {layer} or more; layers {written}"
        raise ConfigError(field, dim.describe(), rule)
    deep = tuple(v for v in layers.choices if int(v) >= layer)
    if not deep:
        rule = f"is the hidden layer {layer}'s own, and no trial has {layer} layers here (layers: {', '.join(map(str, layers.choices))})"
        raise ConfigError(field, dim.describe(), rule)
    return replace(dim, when=(("layers", deep),))


def check_builtin_conditions(space: SearchSpace) -> None:
    """What a space the built-in model trains must hold of its conditions (:func:`hpsearch.train.choice.check_builtin_study`):
    no condition on its four hyperparameters, which every trial needs; and SGD's own hyperparameters (:data:`SGD_ONLY`)
    in a space whose trials may use another optimiser only where they exist for SGD alone (another optimiser would
    ignore them, and they would be drawn, stored and plotted)."""
    for name in HYPERPARAMETERS:
        if space[name].when:
            rule = f"the built-in model needs {', '.join(HYPERPARAMETERS)} in every trial; a condition is for its other hyperparameters"
            raise ConfigError(f"space.{name}.{_CONDITION_KEY}", space.describe()[name]["when"], rule)
    optimizers = set(space["optimizer"].grid_values())

    def sgd_only(name: str) -> bool:
        """Whether ``name`` exists only for SGD trials: its own condition says so, or one it depends on does."""
        when = dict(space[name].when)
        return set(when.get("optimizer", ("?",))) <= {"sgd"} or any(sgd_only(parent) for parent in when if parent != "optimizer")

    for name in SGD_ONLY:
        if name not in space or optimizers <= {"sgd"}:
            continue
        if not sgd_only(name):
            others = ", ".join(sorted(str(o) for o in optimizers - {"sgd"}))
            rule = f'is SGD\'s, and this space also draws {others}: write it as a table with when = {{ optimizer = ["sgd"] }}'
            raise ConfigError(f"space.{name}", space.describe()[name], rule)
