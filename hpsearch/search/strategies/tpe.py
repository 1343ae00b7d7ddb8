"""Optuna's TPE sampler, fed from the store through ask/tell.

For every ask, the study history is replayed into an in-memory Optuna study
(:func:`hpsearch.search.optuna_replay.optuna_study_from_history`: running trials as RUNNING
so that the constant-liar option keeps TPE away from points being trained right
now), and Optuna proposes the next point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hpsearch.core.records import TrialRecord
from hpsearch.core.space import SearchSpace
from hpsearch.search.optuna_replay import optuna_study_from_history
from hpsearch.search.strategies._base import Strategy, Suggestion, derive_seed

__all__ = ["TPEStrategy"]


class TPEStrategy(Strategy):
    """Tree-structured Parzen Estimator (Optuna's ``TPESampler``, constant liar on).

    The sampler is seeded with (study seed, trial number), so the same history
    always gives the same proposal.
    """

    name = "tpe"

    def __init__(
        self,
        space: SearchSpace,
        *,
        seed: int = 0,
        maximize: bool = True,
        n_startup_trials: int = 10,
        options: Any = None,
        builtin: bool = True,
    ) -> None:
        super().__init__(space, seed=seed, maximize=maximize, options=options, builtin=builtin)
        self.n_startup_trials = n_startup_trials

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        import optuna

        sampler = optuna.samplers.TPESampler(
            seed=derive_seed(self.seed, number, salt=1), constant_liar=True, n_startup_trials=self.n_startup_trials
        )
        study = optuna_study_from_history(self.space, history, maximize=self.maximize, sampler=sampler)
        trial = study.ask(self.space.to_optuna())
        return Suggestion({name: trial.params[name] for name in self.space})
