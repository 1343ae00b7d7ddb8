"""CMA-ES over the space's ranges, with the small ``cmaes`` package (the one Optuna's
``CmaEsSampler`` uses), rebuilt from the store for every ask.

Generation ``g`` is the ``population`` trials numbered ``g * population`` on. To propose trial
``n`` of generation ``g``, the strategy starts the seeded optimiser afresh, replays generations
``0 .. g-1`` (ask ``population`` points, tell them the stored results) and asks once more: the
replay is deterministic, so a resumed run or another worker proposes exactly the same points,
and nothing but the trials is ever stored. Generation ``g`` waits until ``g - 1`` has finished.

The ranges are searched in the unit cube on their own scale (logarithmic for log ranges); an
integer is the cell its coordinate falls in. A choice (the optimiser, say) is not something
CMA-ES can model: as Optuna's ``CmaEsSampler`` does with categorical parameters, it is drawn
independently at random for every trial (seeded by the study seed and the trial number).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpsearch.core.config import StrategyOptions
from hpsearch.core.errors import ConfigError
from hpsearch.core.records import TrialRecord
from hpsearch.core.space import Choice, SearchSpace
from hpsearch.search.strategies._base import Strategy, Suggestion, derive_seed
from hpsearch.search.strategies._generations import finished_generation, scores

__all__ = ["CMAESConfig", "CMAESStrategy", "searched_ranges"]


@dataclass(frozen=True)
class CMAESConfig(StrategyOptions):
    """CMA-ES (the ``[cmaes]`` table): ``population`` trials per generation, the search starting at
    the middle of every range with a step of ``sigma`` of the ranges' widths. A space of choices only is refused."""

    population: int = 8
    sigma: float = 0.3

    @classmethod
    def parse(cls, table: Mapping[str, Any], *, strategy: str, space: SearchSpace) -> CMAESConfig:
        if all(isinstance(d, Choice) or d.low == d.high for d in space.values()):
            raise ConfigError(
                "space", space.describe(), "cmaes searches ranges, and every dimension here is a choice; use grid, random, qmc or tpe"
            )
        return super().parse(table, strategy=strategy, space=space)


def searched_ranges(space: SearchSpace) -> list[str]:
    """The dimensions CMA-ES searches: every range with room in it (choices are drawn at random)."""
    return [name for name, dim in space.items() if not isinstance(dim, Choice) and dim.low < dim.high]


class CMAESStrategy(Strategy):
    """Covariance matrix adaptation evolution strategy (``strategy = "cmaes"``)."""

    name = "cmaes"
    OPTIONS = CMAESConfig
    options: CMAESConfig

    def __init__(
        self, space: SearchSpace, *, seed: int = 0, maximize: bool = True, options: CMAESConfig | None = None, builtin: bool = True
    ) -> None:
        super().__init__(space, seed=seed, maximize=maximize, options=options, builtin=builtin)
        self.ranges = searched_ranges(space)
        if not self.ranges:
            raise ValueError("cmaes searches ranges, and this space has none (every dimension is a choice); use grid, random, qmc or tpe")

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        from cmaes import CMA

        size = self.options.population
        generation = number // size
        optimizer = CMA(
            mean=np.full(len(self.ranges), 0.5),
            sigma=self.options.sigma,
            bounds=np.tile([0.0, 1.0], (len(self.ranges), 1)),
            seed=derive_seed(self.seed, 0, salt=3),
            population_size=size,
        )
        for g in range(generation):
            trials = finished_generation(history, g, size)
            if trials is None:
                return None
            for _ in range(size):  # the draws of that generation (they advance the optimiser's generator)...
                optimizer.ask()
            # ... and what was trained: the stored trials' own coordinates (an integer at its cell's middle),
            # so that the optimiser learns from exactly the points whose results it is told
            trained = [np.array([self.space[n].to_unit(t.params[n]) for n in self.ranges]) for t in trials]
            optimizer.tell([(x, -score) for x, score in zip(trained, scores(trials, maximize=self.maximize))])
        point = [optimizer.ask() for _ in range(size)][number % size]
        rng = np.random.default_rng([self.seed, number, 0xC4A])
        params = {}
        coordinates = dict(zip(self.ranges, point))
        for name, dim in self.space.items():
            params[name] = dim.from_unit(coordinates[name]) if name in coordinates else dim.sample(rng)
        return Suggestion(params, generation=generation)

    def stuck_reason(self, history: Sequence[TrialRecord]) -> str:
        return f"generation waits for the {self.options.population} trials of the one before it to finish"
