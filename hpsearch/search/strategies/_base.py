"""The strategy interface: decide the next trial from the space, a seed and the history.

A strategy keeps no state between calls. Everything it needs is the search
space, its seed and the trials already in the store, so that resuming a study
is running it again and several workers can share one study.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hpsearch.core.config import StrategyOptions
from hpsearch.core.objectives import Objective
from hpsearch.core.records import Decision, TrialRecord
from hpsearch.core.results import best_of, pareto_of
from hpsearch.core.space import Params, SearchSpace

__all__ = ["LEARNING_BATCH_GROWTH", "Strategy", "Suggestion", "derive_seed", "learning_batch"]

#: A model-based strategy proposes at most this share of its finished trials at once (at least one): a claim of 16
#: proposed from 10 results is mostly guesses, one of 3 is not.
LEARNING_BATCH_GROWTH = 0.25


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


def learning_batch(history: Sequence[TrialRecord], startup: int) -> int:
    """How many trials a model-based strategy proposes together after ``history``: what is left of its ``startup``
    trials (independent draws, which lose nothing by going together), then :data:`LEARNING_BATCH_GROWTH` of its
    finished trials, so that it learns from results nearly as often as a sequential search while it has few, and
    fills whole populations once it has many."""
    if len(history) < startup:
        return startup - len(history)
    return max(1, math.ceil(LEARNING_BATCH_GROWTH * sum(t.state.is_finished() for t in history)))


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

    def __init__(
        self,
        space: SearchSpace,
        *,
        seed: int = 0,
        maximize: bool = True,
        options: Any = None,
        builtin: bool = True,
        directions: Sequence[str] | None = None,
    ) -> None:
        """``options``: the strategy's table (an :attr:`OPTIONS`; None: its defaults); ``builtin``: the space is the built-in model's;
        ``directions``: each objective's of a study of several (a trial's ``values`` in that order; ``maximize`` is the first's)."""
        self.space = space
        self.seed = seed
        #: each objective's direction ("maximize" or "minimize"), one for a study of one objective
        self.directions: tuple[str, ...] = tuple(directions) if directions else ("maximize" if maximize else "minimize",)
        self.maximize = self.directions[0] == "maximize"
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

    def batch_size(self, history: Sequence[TrialRecord]) -> int | None:
        """The most new trials to propose together after ``history`` (one claim); None: as many as the trainer
        trains at once. Model-based strategies propose few while they have few results (:func:`learning_batch`)."""
        return None

    def stuck_reason(self, history: Sequence[TrialRecord]) -> str:
        """Why :meth:`ask` proposes nothing although the budget is not spent (shown when a study stops)."""
        return "no reason given"

    def checkpoints_to_keep(self, history: Sequence[TrialRecord]) -> set[int]:
        """Trial numbers whose saved weights must stay on disk; all others may be deleted.

        By default: the best trial (for the final test evaluation; every trial of the Pareto set for several objectives)
        and trials not finished yet.
        """
        keep = {t.number for t in history if not t.state.is_finished()}
        if self.multi_objective:
            return keep | {t.number for t in pareto_of(history, self.objectives)}
        best = best_of(history, maximize=self.maximize)
        if best is not None:
            keep.add(best.number)
        return keep

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives (a trial's ``values`` are compared by dominance)."""
        return len(self.directions) > 1

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """The study's objectives as the strategy knows them (their directions; the metrics are the trials' ``values``)."""
        return tuple(Objective(f"objective_{i}", d) for i, d in enumerate(self.directions))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"
