"""Grid search: every point of scikit-learn's ``ParameterGrid`` exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from hpsearch.core.config import StrategyOptions
from hpsearch.core.errors import ConfigError
from hpsearch.core.records import TrialRecord
from hpsearch.core.space import Params, SearchSpace
from hpsearch.search.strategies._base import Strategy, Suggestion

__all__ = ["GridOptions", "GridStrategy"]


class GridOptions(StrategyOptions):
    """A grid study has no table; it runs each grid point once, so ``budget.trials`` defaults to the grid's size and may not exceed it."""

    def trials(self, trials: int | None, *, strategy: str, space: SearchSpace) -> int:
        size = len(space.grid())  # raises for a range without grid points
        if trials is None:
            return size
        if trials > size:
            raise ConfigError("budget.trials", trials, f"a grid study runs each point once; this grid has {size} points")
        return trials


class GridStrategy(Strategy):
    """Trial ``n`` runs grid point ``n``.

    Trial numbers are handed out under the store's lock and a dead worker's trial
    is redone under its own number, so every point runs exactly once.
    """

    name = "grid"
    OPTIONS = GridOptions

    @cached_property
    def points(self) -> list[Params]:
        return self.space.grid()

    def budget(self, requested: int | None) -> int:
        return len(self.points) if requested is None else min(requested, len(self.points))

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        return Suggestion(dict(self.points[number])) if number < len(self.points) else None
