"""The strategy interface: decide the next trial from the space, a seed and the history.

A strategy keeps no state between calls. Everything it needs is the search
space, its seed and the trials already in the store, so that resuming a study
is running it again and several workers can share one study.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from hpsearch.space import Params, SearchSpace
from hpsearch.store.records import TrialRecord

__all__ = ["Strategy", "derive_seed"]


def derive_seed(seed: int, number: int, salt: int = 0) -> int:
    """A 31-bit seed for trial ``number`` of a study seeded with ``seed``.

    Built with NumPy's ``SeedSequence`` so that neighbouring trial numbers get
    unrelated streams, and the same (seed, number) always gives the same value.
    """
    return int(np.random.SeedSequence([seed, number, salt]).generate_state(1)[0] & 0x7FFFFFFF)


class Strategy(abc.ABC):
    """Decides what to train next. Stores nothing; rebuilds what it needs from history."""

    name: ClassVar[str]

    def __init__(self, space: SearchSpace, *, seed: int = 0, maximize: bool = True) -> None:
        self.space = space
        self.seed = seed
        self.maximize = maximize

    def budget(self, requested: int | None) -> int:
        """The number of trials this strategy will run for a requested budget."""
        if requested is None:
            raise ValueError(f"a {self.name} study needs a trial budget")
        return requested

    @abc.abstractmethod
    def ask(self, history: Sequence[TrialRecord], number: int) -> Params | None:
        """The hyperparameters of trial ``number``, or None when the strategy has nothing left.

        ``history`` holds every trial of the study (all states), in number order.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"
