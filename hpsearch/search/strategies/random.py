"""Random search: trial ``n`` is drawn from a generator seeded with (study seed, n)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hpsearch.core.records import TrialRecord
from hpsearch.search.strategies._base import Strategy, Suggestion

__all__ = ["RandomStrategy"]


class RandomStrategy(Strategy):
    """Independent draws from the prior of every dimension.

    Seeding each draw with the study seed and the trial number makes the set of
    configurations the same whatever the number of workers, the order in which
    they finish, or how often the study was interrupted and resumed.
    """

    name = "random"

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        return Suggestion(self.space.sample(np.random.default_rng([self.seed, number])))
