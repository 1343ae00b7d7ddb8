"""CMA-ES over the whole space, with the small ``cmaes`` package (the one Optuna's
``CmaEsSampler`` uses), rebuilt from the store for every ask.

Generation ``g`` is the ``population`` trials numbered ``g * population`` on. To propose trial
``n`` of generation ``g``, the strategy starts the seeded optimiser afresh, replays generations
``0 .. g-1`` (ask ``population`` points, tell them the stored results) and asks once more: the
replay is deterministic, so a resumed run or another worker proposes exactly the same points,
and nothing but the trials is ever stored. Generation ``g`` waits until ``g - 1`` has finished.

Every dimension with more than one value is searched, on its own scale (logarithmic for log ranges):

- a space of float ranges only is searched by plain CMA-ES (``cmaes.CMA``) in the unit cube;
- any other space by CatCMA with margin (``cmaes.CatCMAwM``, arXiv:2504.07884), one optimiser that
  models floats as continuous variables in [0, 1], integers as integer variables over their values
  (each value at its place on the range's scale, so that a log range's small values lie far apart; the
  margin keeps every neighbour of the mean in reach) and choices as categorical variables whose
  probabilities it learns. An integer range of more than :data:`MOST_INTEGER_VALUES` values is a
  continuous coordinate whose cell is the integer.

What the optimiser is told is what was trained: each stored trial's params at their own place among the
optimiser's variables (a float at its coordinate, an integer at its value's place, a choice as that value
alone), never the optimiser's raw draw. A float drawn outside its range is told at the end it was clipped
to; a trial this optimiser did not draw (proposed by another version, say) is told just the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hpsearch.core.config import StrategyOptions
from hpsearch.core.errors import ConfigError
from hpsearch.core.records import TrialRecord
from hpsearch.core.space import Choice, IntRange, Params, SearchSpace
from hpsearch.search.strategies._base import Strategy, Suggestion, derive_seed
from hpsearch.search.strategies._generations import finished_generation, scores

__all__ = ["MOST_INTEGER_VALUES", "CMAESConfig", "CMAESStrategy"]

#: An integer range with more values than this is searched as a continuous coordinate (its cells).
MOST_INTEGER_VALUES = 65_536


def _searched(space: SearchSpace) -> list[str]:
    """The dimensions with more than one value (the others are fixed)."""
    return [n for n, d in space.items() if (len(d.choices) > 1 if isinstance(d, Choice) else d.low < d.high)]


@dataclass(frozen=True)
class CMAESConfig(StrategyOptions):
    """CMA-ES (the ``[cmaes]`` table): ``population`` trials per generation, the search starting at
    the middle of every range with a step of ``sigma`` of the ranges' widths, and every choice's values
    equally likely. A space with nothing to search (every dimension fixed) is refused."""

    SEVERAL_OBJECTIVES: ClassVar[bool] = False  # CMA-ES ranks each generation by one value

    population: int = 8
    sigma: float = 0.3

    @classmethod
    def parse(cls, table: Mapping[str, Any], *, strategy: str, space: SearchSpace) -> CMAESConfig:
        if not _searched(space):
            raise ConfigError("space", space.describe(), "cmaes needs a dimension with more than one value, and every one here is fixed")
        return super().parse(table, strategy=strategy, space=space)


class _Variables:
    """Where the searched dimensions sit among CatCMAwM's continuous (``x``), integer (``z``) and
    categorical (``c``) variables, and the way between a point of the space and a solution."""

    def __init__(self, space: SearchSpace, searched: Sequence[str]) -> None:
        self.space = space
        self.continuous: list[str] = []
        self.integers: dict[str, IntRange] = {}
        self.choices: dict[str, Choice] = {}
        for name in searched:
            dim = space[name]
            if isinstance(dim, Choice):
                self.choices[name] = dim
            elif isinstance(dim, IntRange) and dim.high - dim.low < MOST_INTEGER_VALUES:
                self.integers[name] = dim
            else:
                self.continuous.append(name)
        #: each integer variable's values: the place of low, low + 1, ..., high on the range's scale, in [0, 1]
        self.levels = [self._levels(dim) for dim in self.integers.values()]
        self.sizes = [len(dim.choices) for dim in self.choices.values()]

    @staticmethod
    def _levels(dim: IntRange) -> np.ndarray:
        values = np.arange(dim.low, dim.high + 1, dtype=float)
        if dim.log:
            return (np.log(values) - math.log(dim.low)) / (math.log(dim.high) - math.log(dim.low))
        return (values - dim.low) / (dim.high - dim.low)

    def optimizer(self, *, population: int, sigma: float, seed: int) -> Any:
        from cmaes import CatCMAwM

        gaussian = len(self.continuous) + len(self.integers)
        return CatCMAwM(
            x_space=[[0.0, 1.0]] * len(self.continuous) or None,
            z_space=self.levels or None,
            c_space=self.sizes or None,
            population_size=population,
            mean=np.full(gaussian, 0.5) if gaussian else None,
            sigma=sigma,
            cov=np.eye(gaussian) if gaussian else None,  # a step of sigma of every range, as plain CMA-ES takes
            seed=seed,
        )

    def params(self, solution: Any) -> Params:
        """The point of the space a solution stands for (fixed dimensions at their one value)."""
        found: dict[str, Any] = {}
        for i, name in enumerate(self.continuous):
            found[name] = self.space[name].from_unit(float(solution.x[i]))
        for i, (name, dim) in enumerate(self.integers.items()):
            found[name] = dim.low + min(int(np.searchsorted(self.levels[i], solution.z[i])), dim.high - dim.low)
        for i, (name, choice) in enumerate(self.choices.items()):
            found[name] = choice.from_unit((int(np.argmax(solution.c[i, : self.sizes[i]])) + 0.5) / self.sizes[i])
        return self.space.restricted({name: found[name] if name in found else dim.from_unit(0.5) for name, dim in self.space.items()})

    def solution(self, params: Mapping[str, Any], drawn: Any) -> Any:
        """The solution at ``params``' own place: a float at its coordinate, an integer at its value's place,
        a choice as its value alone; a dimension that does not exist for ``params`` where ``drawn`` (the solution
        the trial was proposed from) had it, so that a coordinate the trial ignored moves only by the noise of its own draws."""
        from cmaes import CatCMAwM

        x = np.array([self.space[n].to_unit(params[n]) if n in params else drawn.x[i] for i, n in enumerate(self.continuous)])
        z = np.array(
            [
                levels[int(params[n]) - dim.low] if n in params else drawn.z[i]
                for i, ((n, dim), levels) in enumerate(zip(self.integers.items(), self.levels))
            ]
        )
        c = None
        if self.choices:
            c = np.zeros((len(self.choices), max(self.sizes)), dtype=bool)
            for i, (name, choice) in enumerate(self.choices.items()):
                if name not in params:
                    c[i] = drawn.c[i]
                    continue
                c[i, round(choice.to_unit(params[name]) * self.sizes[i] - 0.5)] = True
        v = np.concatenate([x, z]) if len(x) + len(z) else None
        # tell learns the Gaussian part from a Solution's raw point (``_v_raw``, which ask fills with its draw):
        # here the trained point itself
        return CatCMAwM.Solution(x=x if len(x) else None, z=z if len(z) else None, c=c, _v_raw=v)


class CMAESStrategy(Strategy):
    """Covariance matrix adaptation evolution strategy (``strategy = "cmaes"``)."""

    name = "cmaes"
    OPTIONS = CMAESConfig
    options: CMAESConfig

    def __init__(
        self, space: SearchSpace, *, seed: int = 0, maximize: bool = True, options: CMAESConfig | None = None, builtin: bool = True
    ) -> None:
        super().__init__(space, seed=seed, maximize=maximize, options=options, builtin=builtin)
        searched = _searched(space)
        if not searched:
            raise ValueError("cmaes needs a dimension with more than one value, and every one here is fixed")
        self.variables = _Variables(space, searched)
        #: a space of float ranges (and integer ranges too wide to be integer variables) only: plain CMA-ES
        self.plain = not (self.variables.integers or self.variables.choices)

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        size = self.options.population
        generation = number // size
        seed = derive_seed(self.seed, 0, salt=3)
        if self.plain:
            from cmaes import CMA

            ranges = self.variables.continuous
            optimizer = CMA(
                mean=np.full(len(ranges), 0.5),
                sigma=self.options.sigma,
                bounds=np.tile([0.0, 1.0], (len(ranges), 1)),
                seed=seed,
                population_size=size,
            )

            def told(t: TrialRecord, drawn: Any) -> Any:
                return np.array([self.space[n].to_unit(t.params[n]) if n in t.params else drawn[i] for i, n in enumerate(ranges)])

            draws = self._replay(optimizer, history, generation, told)
        else:
            optimizer = self.variables.optimizer(population=size, sigma=self.options.sigma, seed=seed)
            draws = self._replay(optimizer, history, generation, lambda t, drawn: self.variables.solution(t.params, drawn))
        if draws is None:
            return None
        draw = draws[number % size]
        if self.plain:
            point = dict(zip(self.variables.continuous, draw))
            params = self.space.restricted(
                {name: dim.from_unit(point[name]) if name in point else dim.from_unit(0.5) for name, dim in self.space.items()}
            )
        else:
            params = self.variables.params(draw)
        return Suggestion(params, generation=generation)

    def _replay(
        self, optimizer: Any, history: Sequence[TrialRecord], generation: int, told: Callable[[TrialRecord, Any], Any]
    ) -> list[Any] | None:
        """Generations ``0 .. generation - 1`` replayed into the freshly seeded ``optimizer``, then the draws of ``generation``;
        None while a generation before it has not finished. Each replayed generation's draws are asked again (they
        advance the optimiser's generator), then it is told what was trained (``told``: a stored trial's own point, an
        integer at its cell or place; a dimension the trial did not have, at the draw it was proposed from), so that it learns
        from exactly the points whose results it is told."""
        size = self.options.population
        for g in range(generation):
            trials = finished_generation(history, g, size)
            if trials is None:
                return None
            asked = [optimizer.ask() for _ in range(size)]
            optimizer.tell([(told(t, asked[t.number % size]), -score) for t, score in zip(trials, scores(trials, maximize=self.maximize))])
        return [optimizer.ask() for _ in range(size)]

    def stuck_reason(self, history: Sequence[TrialRecord]) -> str:
        return f"generation waits for the {self.options.population} trials of the one before it to finish"
