"""The store's history replayed into an in-memory Optuna study, for Optuna's samplers, pruners and
importance evaluators (TPE, the median rule and fANOVA all read it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hpsearch.core.records import TrialRecord, TrialState
from hpsearch.core.space import SearchSpace

__all__ = ["optuna_study_from_history"]


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
