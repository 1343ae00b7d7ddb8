"""Optuna's TPE sampler, fed from the store through ask/tell.

For every ask, the study history is replayed into an in-memory Optuna study
(finished trials with their values, pruned ones with their learning curves,
running ones as RUNNING so that the constant-liar option keeps TPE away from
points being trained right now), and Optuna proposes the next point.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hpsearch.space import SearchSpace
from hpsearch.store.records import TrialRecord, TrialState
from hpsearch.strategies._base import Strategy, Suggestion, derive_seed

__all__ = ["TPEStrategy", "optuna_study_from_history"]


def optuna_study_from_history(
    space: SearchSpace, history: Sequence[TrialRecord], *, maximize: bool, sampler: Any = None, pruner: Any = None
) -> Any:
    """An in-memory Optuna study holding ``history`` (imports Optuna lazily)."""
    import optuna
    from optuna.trial import TrialState as OState
    from optuna.trial import create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=sampler, pruner=pruner)
    distributions = space.to_optuna()
    states = {
        TrialState.COMPLETE: OState.COMPLETE,
        TrialState.PRUNED: OState.PRUNED,
        TrialState.FAIL: OState.FAIL,
        TrialState.RUNNING: OState.RUNNING,
        TrialState.WAITING: OState.RUNNING,
    }
    for trial in history:
        if not space.contains(trial.params):
            continue
        state = states[trial.state]
        if state is OState.COMPLETE and trial.value is None:
            state = OState.FAIL  # cannot happen through the runner; never feed TPE a valueless completion
        study.add_trial(
            create_trial(
                state=state,
                params=trial.params,
                distributions=distributions,
                value=trial.value if state is OState.COMPLETE else None,
                intermediate_values={i: v for i, v in enumerate(trial.curve) if v is not None},
            )
        )
    return study


class TPEStrategy(Strategy):
    """Tree-structured Parzen Estimator (Optuna's ``TPESampler``, constant liar on).

    The sampler is seeded with (study seed, trial number), so the same history
    always gives the same proposal.
    """

    name = "tpe"

    def __init__(self, space: SearchSpace, *, seed: int = 0, maximize: bool = True, n_startup_trials: int = 10) -> None:
        super().__init__(space, seed=seed, maximize=maximize)
        self.n_startup_trials = n_startup_trials

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        import optuna

        sampler = optuna.samplers.TPESampler(
            seed=derive_seed(self.seed, number, salt=1), constant_liar=True, n_startup_trials=self.n_startup_trials
        )
        study = optuna_study_from_history(self.space, history, maximize=self.maximize, sampler=sampler)
        trial = study.ask(self.space.to_optuna())
        return Suggestion({name: trial.params[name] for name in self.space})
