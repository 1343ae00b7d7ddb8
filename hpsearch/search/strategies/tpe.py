"""Optuna's TPE sampler, fed from the store through ask/tell.

The study history is replayed into an in-memory Optuna study (running trials as RUNNING, so that the
constant-liar option keeps TPE away from points being trained right now), and Optuna proposes the next
point. The replay (:class:`hpsearch.search.optuna_replay.ReplayedStudy`) is kept between asks in the
process and only what is new in the history is added to it, so an ask costs what Optuna's own sampler
costs; it is rebuilt from the store's history when the process starts or the history changed under it,
and holds exactly what a rebuild would, so a resumed run proposes what an unkilled one would.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from hpsearch.core.records import TrialRecord
from hpsearch.core.space import SearchSpace
from hpsearch.search.optuna_replay import ReplayedStudy
from hpsearch.search.strategies._base import Strategy, Suggestion, derive_seed, learning_batch

__all__ = ["TPEStrategy"]


class TPEStrategy(Strategy):
    """Tree-structured Parzen Estimator (Optuna's ``TPESampler``, constant liar on).

    A study of several objectives gets Optuna's multi-objective TPE (the same sampler, replayed with every trial's
    values: it splits the trials into good and bad by non-dominated rank and hypervolume contribution).

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
        directions: Sequence[str] | None = None,
    ) -> None:
        super().__init__(space, seed=seed, maximize=maximize, options=options, builtin=builtin, directions=directions)
        self.n_startup_trials = n_startup_trials
        self.replay = ReplayedStudy(space, maximize=self.maximize, directions=self.directions)

    def batch_size(self, history: Sequence[TrialRecord]) -> int | None:
        return learning_batch(history, self.n_startup_trials)

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        import optuna

        # a conditional space: Optuna's multivariate TPE with group=True, which models each set of dimensions that exist
        # together apart (a space without conditions keeps the sampler it always had, so its studies propose as before)
        grouped = {"multivariate": True, "group": True} if self.space.conditional else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # both options are marked experimental
            sampler = optuna.samplers.TPESampler(
                seed=derive_seed(self.seed, number, salt=1), constant_liar=True, n_startup_trials=self.n_startup_trials, **grouped
            )
        return Suggestion(self.replay.ask(history, number, sampler))
