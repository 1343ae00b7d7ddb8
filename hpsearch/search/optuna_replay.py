"""The store's history replayed into an in-memory Optuna study, for Optuna's samplers, pruners and
importance evaluators (TPE, the median rule and fANOVA all read it).

:func:`optuna_study_from_history` builds one from scratch. :class:`ReplayedStudy` keeps one in step with a
history asked of again and again (TPE at every claim): each time it adds only the trials that are new and
records the end of those that finished since, and rebuilds only when the history changed in another way.
Its trials are always the ones a rebuild would hold, in the same order, so a sampler proposes the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hpsearch.core.records import TrialRecord, TrialState
from hpsearch.core.space import SearchSpace

__all__ = ["ReplayedStudy", "optuna_study_from_history"]


def optuna_study_from_history(
    space: SearchSpace,
    history: Sequence[TrialRecord],
    *,
    maximize: bool,
    sampler: Any = None,
    pruner: Any = None,
    directions: Sequence[str] | None = None,
) -> Any:
    """An in-memory Optuna study holding ``history`` (imports Optuna lazily); ``directions``: each objective's, for a
    study of several (its trials then hold their ``values``)."""
    directions = _directions(maximize, directions)
    return _study_of(_rows(space, history, len(directions)), space.to_optuna(), directions, sampler=sampler, pruner=pruner)


def _directions(maximize: bool, directions: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(directions) if directions else ("maximize" if maximize else "minimize",)


def _study_of(
    rows: Sequence[_Row], distributions: dict[str, Any], directions: Sequence[str], *, sampler: Any = None, pruner: Any = None
) -> Any:
    """A new in-memory Optuna study of ``directions`` holding ``rows``, in order."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=list(directions), sampler=sampler, pruner=pruner)
    for row in rows:
        study.add_trial(row.frozen(distributions))
    return study


@dataclass
class _Row:
    """One trial as the replay holds it: Optuna's view of a stored trial (a waiting trial runs)."""

    number: int
    params: dict[str, Any]
    state: str  # an Optuna TrialState name
    #: its value in each objective (COMPLETE only)
    value: tuple[float, ...] | None
    intermediate: dict[int, float]
    #: proposed by the replay's own sampler and not yet seen in a history
    proposed: bool = False

    def frozen(self, distributions: dict[str, Any]) -> Any:
        from optuna.trial import TrialState as OState
        from optuna.trial import create_trial

        return create_trial(
            state=OState[self.state],
            params=self.params,
            distributions={name: distributions[name] for name in self.params},  # a conditional trial's own dimensions
            values=None if self.value is None else list(self.value),
            intermediate_values=self.intermediate,
        )


_STATES = {
    TrialState.COMPLETE: "COMPLETE",
    TrialState.PRUNED: "PRUNED",
    TrialState.FAIL: "FAIL",
    TrialState.RUNNING: "RUNNING",
    TrialState.WAITING: "RUNNING",
}


def _rows(space: SearchSpace, history: Sequence[TrialRecord], objectives: int = 1) -> list[_Row]:
    """The trials of ``history`` in ``space``, as the replay holds them (a study of several ``objectives``: their values,
    and no intermediate values, which Optuna keeps for a study of one)."""
    rows = []
    for trial in history:
        if not space.contains(trial.params):
            continue
        state = _STATES[trial.state]
        # a replay of one objective (TPE, a pruning rule, fANOVA) reads a trial's value: a study of several's first objective
        values = trial.values if objectives > 1 else None if trial.value is None else (trial.value,)
        if state == "COMPLETE" and (values is None or len(values) != objectives):
            state = "FAIL"  # cannot happen through the runner; never feed TPE a valueless completion
        value = values if state == "COMPLETE" else None
        curve = {i: v for i, v in enumerate(trial.curve) if v is not None} if objectives == 1 else {}
        rows.append(_Row(trial.number, dict(trial.params), state, value, curve))
    return rows


class ReplayedStudy:
    """An in-memory Optuna study kept in step with a study's history, for a sampler asked at every claim.

    :meth:`ask` first brings the replay up to date with the history it is given: trials new since the last
    call are added, a running trial that finished since gets its intermediate values and its end, and a
    running trial's new intermediate values are added. Any other change (a trial gone or out of order,
    different params, a finished trial changed) rebuilds the replay from the history, as
    :func:`optuna_study_from_history` does. A point the sampler proposed is kept as a running trial of that
    number; if the next history does not hold it (the claim did not take it), it is ended as FAIL, which
    Optuna's samplers never read, and the next trials follow it. So the trials a sampler reads are always
    those of a rebuild, in the same order, and it proposes the same point.
    """

    def __init__(self, space: SearchSpace, *, maximize: bool, directions: Sequence[str] | None = None) -> None:
        self.space = space
        self.maximize = maximize
        self.directions = _directions(maximize, directions)
        self.distributions = space.to_optuna()
        self.study: Any = None
        #: the replay's trials, in Optuna's order (a proposal not taken: None)
        self._rows: list[_Row | None] = []
        #: how many times the replay was rebuilt from scratch (for tests and benchmarks)
        self.rebuilds = 0

    def ask(self, history: Sequence[TrialRecord], number: int, sampler: Any) -> dict[str, Any]:
        """The params ``sampler`` proposes for trial ``number`` after ``history`` (which does not hold it)."""
        self.sync(history)
        self.study.sampler = sampler
        if self.space.conditional:
            params = self._ask_by_run()
        else:
            trial = self.study.ask(self.distributions)
            params = {name: trial.params[name] for name in self.space}
        self._rows.append(_Row(number, dict(params), "RUNNING", None, {}, proposed=True))
        return params

    def _ask_by_run(self) -> dict[str, Any]:
        """A conditional space asked as Optuna's define-by-run asks it: the dimensions in dependency order, each suggested
        only when it exists for the values suggested before it; returned in the space's order."""
        trial = self.study.ask()
        params: dict[str, Any] = {}
        for name in self.space.dependency_order():
            if self.space.exists(name, params):
                params[name] = _suggest(trial, name, self.distributions[name])
        return {name: params[name] for name in self.space if name in params}

    def sync(self, history: Sequence[TrialRecord]) -> Any:
        """The replay, brought up to date with ``history``."""
        rows = _rows(self.space, history, len(self.directions))
        if self.study is None or not self._follow(rows):
            self._rebuild(rows)
        return self.study

    def _rebuild(self, rows: list[_Row]) -> None:
        self.study = _study_of(rows, self.distributions, self.directions)
        self._rows = list(rows)
        self.rebuilds += 1

    def _follow(self, rows: list[_Row]) -> bool:
        """Bring the replay to ``rows`` by adding and ending trials only; False where that cannot be done."""
        from optuna.trial import TrialState as OState

        storage, trials = self.study._storage, self.study.get_trials(deepcopy=False)
        i = 0
        for index, held in enumerate(self._rows):
            if held is None:
                continue  # a proposal that was not taken, ended as FAIL
            row = rows[i] if i < len(rows) else None
            if row is None or (row.number, row.params) != (held.number, held.params):
                if not held.proposed:
                    return False
                storage.set_trial_state_values(trials[index]._trial_id, OState.FAIL)
                self._rows[index] = None
                continue
            i += 1
            if (row.state, row.value, row.intermediate) == (held.state, held.value, held.intermediate):
                self._rows[index] = row
                continue
            if held.state != "RUNNING" or any(row.intermediate.get(k) != v for k, v in held.intermediate.items()):
                return False  # a finished trial changed, or a running one started again
            trial_id = trials[index]._trial_id
            for step, value in row.intermediate.items():
                if step not in held.intermediate:
                    storage.set_trial_intermediate_value(trial_id, step, value)
            if row.state != "RUNNING":
                storage.set_trial_state_values(trial_id, OState[row.state], None if row.value is None else list(row.value))
            self._rows[index] = row
        for row in rows[i:]:
            self.study.add_trial(row.frozen(self.distributions))
            self._rows.append(row)
        return True


def _suggest(trial: Any, name: str, distribution: Any) -> Any:
    """``trial``'s suggestion for one Optuna distribution, through its public ``suggest_*``."""
    import optuna.distributions as od

    if isinstance(distribution, od.IntDistribution):
        return trial.suggest_int(name, distribution.low, distribution.high, log=distribution.log)
    if isinstance(distribution, od.FloatDistribution):
        return trial.suggest_float(name, distribution.low, distribution.high, log=distribution.log)
    return trial.suggest_categorical(name, distribution.choices)
