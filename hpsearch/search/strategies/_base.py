"""The strategy interface: decide the next trial from the space, a seed and the history.

A strategy keeps no state between calls. Everything it needs is the search
space, its seed and the trials already in the store, so that resuming a study
is running it again and several workers can share one study.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hpsearch.core.config import StrategyOptions
from hpsearch.core.records import Decision, TrialRecord
from hpsearch.core.results import best_of
from hpsearch.core.space import Params, SearchSpace

__all__ = ["Strategy", "Suggestion", "derive_seed"]


@dataclass(frozen=True)
class Suggestion:
    """What to train next: hyperparameters, and for PBT where the segment starts from.

    ``epochs`` None means the study's epochs per trial. ``parent_trial`` names
    the trial whose checkpoint (weights and optimizer state) to start from.
    """

    params: Params
    epochs: int | None = None
    member: int | None = None
    generation: int | None = None
    start_epoch: int = 0
    parent_trial: int | None = None
    decision: Decision | None = None


def derive_seed(seed: int, number: int, salt: int = 0) -> int:
    """A 31-bit seed for trial ``number`` of a study seeded with ``seed``.

    Built with NumPy's ``SeedSequence`` so that neighbouring trial numbers get
    unrelated streams, and the same (seed, number) always gives the same value.
    """
    return int(np.random.SeedSequence([seed, number, salt]).generate_state(1)[0] & 0x7FFFFFFF)


class Strategy(abc.ABC):
    """Decides what to train next. Stores nothing; rebuilds what it needs from history."""

    name: ClassVar[str]
    #: What the strategy adds to a study file: its own table and its rules (:class:`hpsearch.core.config.StrategyOptions`).
    OPTIONS: ClassVar[type[StrategyOptions]] = StrategyOptions

    def __init__(self, space: SearchSpace, *, seed: int = 0, maximize: bool = True, options: Any = None, builtin: bool = True) -> None:
        """``options``: the strategy's table (an :attr:`OPTIONS`; None: its defaults); ``builtin``: the space is the built-in model's."""
        self.space = space
        self.seed = seed
        self.maximize = maximize
        self.options: Any = options if options is not None else self.OPTIONS()
        self.builtin = builtin

    def budget(self, requested: int | None) -> int:
        """The number of trials this strategy will run for a requested budget."""
        if requested is None:
            raise ValueError(f"a {self.name} study needs a trial budget")
        return requested

    @abc.abstractmethod
    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        """What trial ``number`` trains, or None when the strategy has nothing to propose now.

        ``history`` holds every trial of the study (all states), in number order.
        """

    def stuck_reason(self, history: Sequence[TrialRecord]) -> str:
        """Why :meth:`ask` proposes nothing although the budget is not spent (shown when a study stops)."""
        return "no reason given"

    def checkpoints_to_keep(self, history: Sequence[TrialRecord]) -> set[int]:
        """Trial numbers whose saved weights must stay on disk; all others may be deleted.

        By default: the best trial (for the final test evaluation) and trials not finished yet.
        """
        keep = {t.number for t in history if not t.state.is_finished()}
        best = best_of(history, maximize=self.maximize)
        if best is not None:
            keep.add(best.number)
        return keep

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"
