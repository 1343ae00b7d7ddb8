"""A study's result: the one home of the rules that say which trial a study ends with.

* A trial is **finished** when its state is COMPLETE, PRUNED or FAIL (:data:`FINISHED_STATES`).
* A trial is **final** when its model is a finished result: every trial of grid, random, TPE and the
  others; for PBT only a segment that brought its member to the study's full epochs (:func:`is_final`).
* The **best** of some trials is the COMPLETE one with the best value, ties to the earlier trial
  (:func:`best_of`).
* The **result** of a study is its best final trial. While a study is unfinished (a time budget, a
  kill, a Ctrl-C) and has no final trial yet, its result is its best COMPLETE trial so far, marked
  **provisional** (:func:`study_result`); once the study is COMPLETE the result is never provisional.
* A test evaluation **belongs** to the result only when it was made of that very trial (:func:`test_of`).
* A study of **several objectives** has no best trial: its result is its **Pareto set**, the final COMPLETE trials no
  other dominates (:func:`pareto_of`), sorted along the first objective (best first, ties to the earlier trial). Its
  ``trial`` is the first of them (the best in the first objective), so that readers of one trial still show one; while
  the study is unfinished and has no final trial, the Pareto set of its COMPLETE trials so far, provisional. Every trial
  of the Pareto set is evaluated on the test set (:attr:`StudySummary.tests`).

Every reader asks these functions, and the store's status query builds its SQL from
:func:`final_clause`, so the rule cannot drift between Python, SQL and pandas (Optuna keeps one
``get_best_trial``; scikit-learn one ``_select_best_index``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_

from hpsearch.core.objectives import Objective, pareto_indices
from hpsearch.core.records import Evaluation, StudyRecord, StudyState, TrialRecord, TrialState

__all__ = [
    "FINISHED_STATES",
    "Result",
    "StudySummary",
    "best_of",
    "ends_training",
    "final_best",
    "final_clause",
    "is_final",
    "pareto_of",
    "result_of_trials",
    "study_result",
    "test_of",
]

#: The stored values of the trial states that end a trial (COMPLETE, PRUNED, FAIL).
FINISHED_STATES: tuple[str, ...] = tuple(state.value for state in TrialState if state.is_finished())


def is_final(trial: TrialRecord, epochs: int) -> bool:
    """Whether a trial's model is a finished result: any trial of grid, random, TPE and the others,
    or a PBT segment that brought its member to the study's full ``epochs``."""
    return ends_training(trial.member, trial.end_epoch, epochs)


def ends_training(member: int | None, end_epoch: int, epochs: int) -> bool:
    """:func:`is_final` of a trial's stored values (a PBT ``member`` or None, and the epoch it ends at)."""
    return member is None or end_epoch >= epochs


def final_clause(trials: Any, studies: Any) -> Any:
    """:func:`is_final` of a COMPLETE trial with a value, as SQL over the trials and studies tables' columns."""
    return and_(
        trials.c.state == TrialState.COMPLETE.value,
        trials.c.value.is_not(None),
        trials.c.member.is_(None) | (trials.c.start_epoch + trials.c.epochs >= studies.c.epochs),
    )


def best_of(trials: Sequence[TrialRecord], *, maximize: bool = True) -> TrialRecord | None:
    """The COMPLETE trial with the best value (ties go to the earlier trial); None if there is none."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.value is not None]
    if not done:
        return None
    sign = -1.0 if maximize else 1.0
    return min(done, key=lambda t: (sign * t.value, t.number))  # type: ignore[operator]


def final_best(trials: Sequence[TrialRecord], *, epochs: int, maximize: bool = True) -> TrialRecord | None:
    """The best final trial (:func:`is_final` with the study's ``epochs``): the result a finished study ends with."""
    return best_of([t for t in trials if is_final(t, epochs)], maximize=maximize)


def pareto_of(trials: Sequence[TrialRecord], objectives: Sequence[Objective]) -> list[TrialRecord]:
    """The COMPLETE trials with a value in every objective that no other such trial dominates, sorted along the first
    objective (best first; ties to the earlier trial). With one objective: every trial of the best value."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.values is not None and len(t.values) == len(objectives)]
    maximize = [o.maximize for o in objectives]
    front = [done[i] for i in pareto_indices([t.values for t in done], maximize)]  # type: ignore[misc]
    sign = -1.0 if objectives[0].maximize else 1.0
    return sorted(front, key=lambda t: (sign * t.values[0], t.number))  # type: ignore[index]


@dataclass(frozen=True)
class Result:
    """A study's result: its best trial, and whether it is provisional (the study is unfinished and the
    trial is only the best so far; a later run may change it). A study of several objectives: its Pareto set
    (:attr:`pareto`), whose first trial is :attr:`trial`; a study of one: ``pareto`` is ``(trial,)``."""

    trial: TrialRecord | None
    provisional: bool
    pareto: tuple[TrialRecord, ...] = ()


def study_result(study: StudyRecord, trials: Sequence[TrialRecord]) -> Result:
    """The result of ``study`` given its ``trials``: the best final trial, or, while the study is
    unfinished and has none yet, the best COMPLETE trial so far (provisional); the Pareto set for several objectives."""
    return result_of_trials(trials, study.objectives, epochs=study.epochs, finished=study.state is StudyState.COMPLETE)


def result_of_trials(trials: Sequence[TrialRecord], objectives: Sequence[Objective], *, epochs: int, finished: bool) -> Result:
    """:func:`study_result` of a study of ``objectives`` and ``epochs`` per trial, ``finished`` or not."""
    if len(objectives) > 1:
        front = pareto_of([t for t in trials if is_final(t, epochs)], objectives)
        if not front and not finished:
            front = pareto_of(trials, objectives)
        return Result(front[0] if front else None, provisional=bool(front) and not finished, pareto=tuple(front))
    maximize = objectives[0].maximize
    best = final_best(trials, epochs=epochs, maximize=maximize)
    if best is None and not finished:
        best = best_of(trials, maximize=maximize)
    return Result(best, provisional=best is not None and not finished, pareto=() if best is None else (best,))


def test_of(best: TrialRecord | None, evaluation: Evaluation | None) -> Evaluation | None:
    """``evaluation`` if it was made of trial ``best``, else None (an evaluation of an earlier best is not the result's)."""
    if best is None or evaluation is None or evaluation.trial_number != best.number:
        return None
    return evaluation


@dataclass(frozen=True)
class StudySummary:
    """What a study holds: its trials, its result (:attr:`best`, :attr:`provisional`) and the result's test evaluation."""

    study: StudyRecord
    trials: list[TrialRecord]
    best: TrialRecord | None
    #: The test evaluation of :attr:`best` (None until it is made; never an earlier best's).
    test: Evaluation | None
    counts: dict[str, int] = field(default_factory=dict)
    #: Why the run returned before the budget was spent: "max_trials" or "timeout" (None otherwise).
    stopped_early: str | None = None
    #: True while the study is unfinished: :attr:`best` is the best trial so far, not the study's final result.
    provisional: bool = False
    #: The study's result as a list: its Pareto set for several objectives (sorted along the first), else ``[best]``.
    pareto: list[TrialRecord] = field(default_factory=list)
    #: The test evaluations of the trials of :attr:`pareto`, by trial number (those made so far).
    tests: dict[int, Evaluation] = field(default_factory=dict)

    @classmethod
    def of(
        cls, study: StudyRecord, trials: Sequence[TrialRecord], evaluations: Mapping[int, Evaluation] | Evaluation | None
    ) -> StudySummary:
        """The summary of ``study`` from its ``trials`` and its stored test evaluations (by trial number; or the one of a
        study of one objective)."""
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.state.value] = counts.get(t.state.value, 0) + 1
        result = study_result(study, trials)
        made = {evaluations.trial_number: evaluations} if isinstance(evaluations, Evaluation) else dict(evaluations or {})
        tests = {t.number: made[t.number] for t in result.pareto if t.number in made}
        best_test = None if result.trial is None else tests.get(result.trial.number)
        return cls(
            study,
            list(trials),
            result.trial,
            best_test,
            counts,
            provisional=result.provisional,
            pareto=list(result.pareto),
            tests=tests,
        )

    @property
    def finished(self) -> int:
        return sum(1 for t in self.trials if t.state.is_finished())

    @property
    def complete(self) -> bool:
        return self.study.state is StudyState.COMPLETE
