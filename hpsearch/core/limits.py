"""The sane range of every number hpsearch takes, declared once, as data.

Study files (:mod:`hpsearch.core.config`, :mod:`hpsearch.core.space`) and command-line
options (:mod:`hpsearch.cli`) check their numbers against :data:`LIMITS`, and the
tests generate the invalid values from the same declarations
(:meth:`Bound.invalid_values`), in the manner of scikit-learn's
``_param_validation``: a new number gets its checks and its tests by being
declared here.

Each upper end says why it is there: a value past it cannot be what the user
meant (a hidden layer that would not fit in memory, more epochs than a study
could ever run, a factor that sends a learning rate to infinity in a few steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hpsearch.core.errors import ConfigError

__all__ = ["LIMITS", "MAX_SECONDS", "Bound", "check"]

#: The longest duration accepted anywhere (a timeout, a heartbeat staleness): one year.
MAX_SECONDS = 366 * 24 * 3600.0


@dataclass(frozen=True)
class Bound:
    """An integer or a finite float in ``[low, high]`` (either end may be open), and why ``high`` is where it is."""

    integer: bool
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    why: str = ""
    #: A duration: seconds, or a text such as "90s", "30m" or "1h30m" (:func:`hpsearch.core.config.parse_duration`).
    duration: bool = False

    def interval(self) -> str:
        """The range as a person reads it: ``[1, 65536]``, ``(0, 10]``, ``[0, 1)``."""
        return f"{'(' if self.low_open else '['}{_number(self.low)}, {_number(self.high)}{')' if self.high_open else ']'}"

    def rule(self) -> str:
        """The rule an error states: ``must be an integer in [1, 65536] (why)``."""
        if self.duration:
            return 'must be a duration over 0 s and at most a year: a number of seconds or a text such as "90s", "30m" or "1h30m"'
        kind = "an integer" if self.integer else "a finite number"
        return f"must be {kind} in {self.interval()}" + (f" ({self.why})" if self.why else "")

    def holds(self, value: Any) -> bool:
        """Whether ``value`` is of the right type and inside the range."""
        if isinstance(value, bool):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
            return False
        above_low = value > self.low if self.low_open else value >= self.low
        below_high = value < self.high if self.high_open else value <= self.high
        return above_low and below_high

    def check(self, field: str, value: Any) -> Any:
        """``value`` (a float for a float bound), or :class:`ConfigError` naming ``field``, the value and :meth:`rule`."""
        if not self.holds(value):
            raise ConfigError(field, value, self.rule())
        return value if self.integer else float(value)

    def invalid_values(self) -> list[Any]:
        """Values that break this bound: each end crossed, huge and non-finite numbers, the wrong types."""
        below = self.low if self.low_open else self.low - (1 if self.integer else max(abs(self.low) * 1e-3, 1e-9))
        above = self.high if self.high_open else self.high + (1 if self.integer else max(abs(self.high) * 1e-3, 1e-9))
        values: list[Any] = [below, above, 10**18, -(10**18), 1e300, math.inf, -math.inf, math.nan, "3", True]
        if self.integer:
            values = [int(below), int(above), *values[2:], 2.5]
        if self.duration:  # "3" is three seconds; texts that are no duration instead
            values = [v for v in values if not isinstance(v, str)] + ["abc", "-5s", "0s", "1e400"]
        return values

    def valid_values(self) -> list[Any]:
        """Both ends, or just inside an open one (what the tests check is accepted)."""
        step = 1 if self.integer else (self.high - self.low) * 1e-6
        low = self.low + step if self.low_open else self.low
        high = self.high - step if self.high_open else self.high
        return [int(low), int(high)] if self.integer else [float(low), float(high)]


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


_EPOCHS = Bound(True, 1, 10_000, why="more epochs than a study could ever run")
_SECONDS = Bound(False, 0, MAX_SECONDS, low_open=True, duration=True)

#: The ``[evolution]`` table's bounds (``[nsga2]`` has the same keys, bounded alike).
_EVOLUTION: dict[str, Bound] = {
    "evolution.population": Bound(True, 2, 1024, why="trials of one generation"),
    "evolution.tournament": Bound(True, 1, 1024, why="entrants of one tournament"),
    "evolution.elites": Bound(True, 0, 1024, why="best trials kept as parents"),
    "evolution.crossover": Bound(False, 0, 1, why="a probability"),
    "evolution.mutation": Bound(False, 0, 1, why="a probability"),
    "evolution.sigma": Bound(False, 0, 1, low_open=True, why="a step as a share of a range's width"),
}

#: Every bounded number, by the name an error shows: study-file keys (``space.width`` covers its
#: values, ``low`` and ``high``; ``pbt.factors[]`` each factor) and command-line options.
LIMITS: dict[str, Bound] = {
    # study file
    "seed": Bound(True, 0, 2**32 - 1, why="seeds are 32-bit"),
    "budget.trials": Bound(True, 1, 1_000_000, why="more trials than a study could ever run"),
    "budget.epochs": _EPOCHS,
    "budget.timeout": _SECONDS,
    "data.validation_size": Bound(True, 1, 59_999, why="it must leave training images"),
    "data.train_size": Bound(True, 1, 60_000, why="no dataset has more training images"),
    "training.batch_size": Bound(True, 1, 60_000, why="no dataset has more training images"),
    "training.steps_per_execution": Bound(True, 1, 100_000),
    "training.population": Bound(True, 1, 1024, why="members trained together in one computation"),
    "training.tile_columns": Bound(True, 0, 1_048_576, why="hidden columns of one population; 0 is one per claim"),
    "pruning.startup_trials": Bound(True, 0, 1_000_000),
    "pruning.warmup_epochs": Bound(True, 0, 10_000),
    "pruning.min_epochs": Bound(True, 1, 10_000, why="the epochs of the first rung"),
    "pruning.reduction_factor": Bound(True, 2, 100, why="the share of trials kept at a rung is 1 / reduction_factor"),
    **_EVOLUTION,
    **{f"nsga2.{key[len('evolution.') :]}": bound for key, bound in _EVOLUTION.items()},
    "cmaes.population": Bound(True, 4, 1024, why="trials of one generation; CMA-ES updates nothing with fewer"),
    "cmaes.sigma": Bound(False, 0, 1, low_open=True, why="a step as a share of a range's width"),
    "gp.startup_trials": Bound(True, 1, 10_000, why="quasi-random trials before the model is fitted"),
    "gp.candidates": Bound(True, 10, 1_000_000, why="points the acquisition is evaluated at"),
    "pbt.population": Bound(True, 2, 1024, why="members trained and ranked together"),
    "pbt.epochs": _EPOCHS,
    "pbt.ready": _EPOCHS,
    "pbt.fraction": Bound(False, 0, 0.5, low_open=True, why="the share of members in the top (and bottom) group"),
    "pbt.factors[]": Bound(False, 0, 10, low_open=True, why="a factor multiplies a hyperparameter at every ready point"),
    "pbt.resample_probability": Bound(False, 0, 1, why="a probability"),
    "pbt.choice_probability": Bound(False, 0, 1, why="a probability"),
    "space.width": Bound(True, 1, 65_536, why="units of the hidden layer; a wider one would not fit in memory"),
    "space.dropout": Bound(False, 0, 1, high_open=True, why="dropout is a probability"),
    "space.width_2": Bound(True, 1, 65_536, why="units of the second hidden layer; a wider one would not fit in memory"),
    "space.width_3": Bound(True, 1, 65_536, why="units of the third hidden layer; a wider one would not fit in memory"),
    "space.dropout_2": Bound(False, 0, 1, high_open=True, why="dropout is a probability"),
    "space.dropout_3": Bound(False, 0, 1, high_open=True, why="dropout is a probability"),
    "space.learning_rate": Bound(False, 0, 10, low_open=True, why="larger steps diverge with every optimiser"),
    "space.batch_size": Bound(True, 1, 60_000, why="no dataset has more training images"),
    "space.layers": Bound(True, 1, 3, why="hidden layers of the built-in model"),
    "space.weight_decay": Bound(False, 0, 1, why="the share of every weight removed per unit of learning rate"),
    "space.momentum": Bound(False, 0, 1, high_open=True, why="the share of the last step SGD keeps; at 1 it never forgets one"),
    "space.grid_points": Bound(True, 1, 1000, why="grid points of one range"),
    # command line
    "--trial": Bound(True, 0, 10_000_000, why="a trial number"),
    "--cpus-per-worker": Bound(False, 0, 1024, low_open=True, why="CPUs Ray reserves for one worker"),
    "--gpus-per-worker": Bound(False, 0, 64, why="GPUs Ray reserves for one worker"),
    "--timeout": _SECONDS,
    "--stale-after": _SECONDS,
    "--max-failures": Bound(True, 1, 1_000_000),
    "--workers": Bound(True, 1, 256, why="worker processes on this machine"),
    "--recycle-after": Bound(True, 1, 1_000_000),
    "--threads": Bound(True, 1, 1024),
    "--port": Bound(True, 1, 65_535, why="a TCP port"),
    "--poll": Bound(False, 0.1, 3600, why="seconds between two refreshes of a page"),
}


def check(name: str, value: Any, *, field: str | None = None) -> Any:
    """Check ``value`` against ``LIMITS[name]``; the error names ``field`` (default: ``name``)."""
    return LIMITS[name].check(field or name, value)
