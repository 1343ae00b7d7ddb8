"""Grid search: every point of scikit-learn's ``ParameterGrid`` exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from hpsearch.core.records import TrialRecord
from hpsearch.core.space import Params
from hpsearch.search.strategies._base import Strategy, Suggestion

__all__ = ["GridStrategy"]


class GridStrategy(Strategy):
    """Trial ``n`` runs grid point ``n``.

    Trial numbers are handed out under the store's lock and a dead worker's trial
    is redone under its own number, so every point runs exactly once.
    """

    name = "grid"

    @cached_property
    def points(self) -> list[Params]:
        return self.space.grid()

    def budget(self, requested: int | None) -> int:
        return len(self.points) if requested is None else min(requested, len(self.points))

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        return Suggestion(dict(self.points[number])) if number < len(self.points) else None
