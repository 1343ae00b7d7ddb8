"""The study loop: claim trials, train them together, record every epoch, repeat until the budget is spent.

Resuming is running again: trials that finished are kept, a trial whose worker
died (no heartbeat, or its process gone from this host) is redone under its own
number, and the strategy proposes only what the budget has left. The steps the loop
takes are the session's (:mod:`hpsearch.running.session`); the trainer is the one
the study names (:mod:`hpsearch.train.choice`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from hpsearch.core.config import StudyConfig
from hpsearch.core.errors import TooManyFailuresError
from hpsearch.core.results import best_of
from hpsearch.running.lineage import complete_migration
from hpsearch.running.progress import Progress
from hpsearch.running.session import Heartbeat, RunOptions, StudySession, StudySummary, space_as_declared, summarize
from hpsearch.search.pruning import PruningRule, pruning_rule
from hpsearch.store import EpochEntry, Store, StudyRecord, StudyState, TrialLostError, TrialRecord, TrialState, WorkerInfo
from hpsearch.train.choice import check_trainable, make_trainer, with_own_model
from hpsearch.train.trainer import EpochResult, Trainer, TrainJob

__all__ = ["RunOptions", "StudyRunner", "StudySummary", "run_study", "summarize"]


class StudyRunner(StudySession):
    """Runs one study in this process until its budget is spent, the timeout passes or it gives up."""

    def __init__(
        self,
        config: StudyConfig,
        store: Store,
        trainer: Trainer | None = None,
        *,
        options: RunOptions | None = None,
        progress: Progress | None = None,
        worker: WorkerInfo | None = None,
    ) -> None:
        super().__init__(config, store, options=options, progress=progress, worker=worker)
        self._trainer = trainer
        self._model: Callable[..., Any] | None = None
        self._data: Callable[..., Any] | None = None
        if trainer is None:  # the study's own builder and loader, or the built-in model's checks
            self._model, self._data = check_trainable(config)

    @property
    def claim_size(self) -> int:
        """How many trials one claim takes: what the trainer trains at once (``max_jobs``; 1 by default)."""
        return max(1, int(getattr(self.trainer, "max_jobs", 1)))

    @property
    def trainer(self) -> Trainer:
        """The trainer the study names (:func:`hpsearch.train.choice.make_trainer`), built (and Keras imported) on first use."""
        if self._trainer is None:
            self._trainer = make_trainer(self.config, self.n_trials, self._model, self._data)
        return self._trainer

    # ------------------------------------------------------------------ the loop

    def run(self) -> StudySummary:
        """Run (or resume) the study until its budget is spent or this run's limits stop it; its summary."""
        opts = self.options
        study = self.open()
        history = self.store.trials(study.id, with_curves=False)
        finished = sum(t.state.is_finished() for t in history)
        self.progress.study_started(study, finished, self.n_trials)

        timeout = opts.timeout if opts.timeout is not None else self.config.budget.timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        failures_in_a_row = 0
        trials_run = 0
        stopped_early: str | None = None
        best_value = _best_value(history, study.maximize)

        with Heartbeat(self.store, self.worker, opts.heartbeat_interval) as heart:
            while True:
                if opts.max_trials is not None and trials_run >= opts.max_trials:
                    stopped_early = "max_trials"
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    self.progress.message(f"{study.name}: wall-clock limit of {timeout:g} s reached; run again to continue")
                    stopped_early = "timeout"
                    break
                limit = self.claim_size if opts.max_trials is None else min(self.claim_size, opts.max_trials - trials_run)
                claims = self.claim(study, limit, getattr(self.trainer, "fits", None))
                if claims.done:
                    self.check_not_stuck(study)
                    break
                if not claims.trials:  # budget spent, but other workers still train: one may die
                    time.sleep(opts.poll_interval)
                    continue
                heart.trials = list(claims.trials)
                try:
                    ended = self._run_trials(study, claims.trials, finished + 1, best_value, heart)
                except BaseException:
                    for trial in heart.trials:  # what is not finished yet goes back, for the next run
                        with contextlib.suppress(TrialLostError):
                            self.store.release(trial, "interrupted; redone by the next run")
                    raise
                finally:
                    heart.trials = []
                for state, value, error in ended:
                    finished += 1
                    trials_run += 1
                    if state is TrialState.COMPLETE:
                        best_value = _better(best_value, value, study.maximize)
                    if state is TrialState.FAIL:
                        failures_in_a_row += 1
                        if failures_in_a_row >= opts.max_consecutive_failures:
                            reason = f"{failures_in_a_row} trials failed in a row; last error: {error}"
                            self.store.set_study_state(study.id, StudyState.STOPPED, reason)
                            raise TooManyFailuresError(f"{study.name}: stopped: {reason}")
                    else:
                        failures_in_a_row = 0
                self.delete_unneeded_checkpoints(study)

        summary = self.finish(study, self.trainer)
        if stopped_early == "timeout" and summary.provisional and summary.best is not None and summary.test is None:
            self.evaluate(summary.study, summary.best, self.trainer, provisional=True)  # a time budget leaves a result to use
            summary = summarize(self.store, study)
        return replace(summary, stopped_early=stopped_early)

    # ------------------------------------------------------------------ training a claim

    def _run_trials(
        self, study: StudyRecord, trials: Sequence[TrialRecord], position: int, best_value: float | None, heart: Heartbeat
    ) -> list[tuple[TrialState, float | None, str | None]]:
        """Train ``trials`` together (one trainer call) and finish each in the store; returns (state, value, error)
        of each trial that ended here, in the order they were claimed (a trial handed to another worker is left out)."""
        jobs = [self.job(study, trial) for trial in trials]
        by_number = {trial.number: trial for trial in trials}
        self.progress.claim_started(trials, position, self.n_trials, max(job.epochs for job in jobs))
        for i, (trial, job) in enumerate(zip(trials, jobs)):
            self.progress.trial_started(trial, position + i, self.n_trials, job.epochs)
        rule: PruningRule | None = None
        curves: dict[int, Sequence[float]] = {}
        if self.config.pruning.enabled:
            history = self.store.trials(study.id)  # one read for the whole claim
            rule = pruning_rule(self.config, history)
            curves = {t.number: t.curve for t in history if t.number not in by_number}
        recorder = _EpochRecorder(self, by_number, rule, curves, best_value, study.maximize)
        outcomes = self.trainer.train(jobs, recorder)
        ended: list[tuple[TrialState, float | None, str | None]] = []
        for trial, job, outcome in zip(trials, jobs, outcomes):
            if trial.number in recorder.lost:
                self.progress.message(recorder.lost[trial.number])
            else:
                ended.append(self.finish_trial(study, trial, job, outcome))
            heart.trials = [t for t in heart.trials if t.number != trial.number]
        return ended


class _EpochRecorder:
    """The trainer's epoch callback: records each epoch in the store (the epochs of a population's
    members in one transaction, through :meth:`many`), shows progress and asks the pruner."""

    def __init__(
        self,
        runner: StudyRunner,
        trials: dict[int, TrialRecord],
        rule: PruningRule | None,
        others: dict[int, Sequence[float]],
        best_value: float | None,
        maximize: bool,
    ) -> None:
        self.runner, self.trials, self.rule = runner, trials, rule
        self.best_value, self.maximize = best_value, maximize
        self.curves: dict[int, list[float]] = {number: [] for number in trials}
        #: Every curve the pruning rule may compare with: the other trials' as read at the claim, and these trials' as they go.
        self.known: dict[int, Sequence[float]] = {**others, **self.curves}
        #: Trials judged dead and handed to another worker while training here, with the reason.
        self.lost: dict[int, str] = {}

    def __call__(self, job: TrainJob, result: EpochResult) -> bool:
        return self.many([(job, result)])[0]

    def many(self, reports: Sequence[tuple[TrainJob, EpochResult]]) -> list[bool]:
        runner = self.runner
        live = [(self.trials[job.trial_number], result) for job, result in reports if job.trial_number not in self.lost]
        entries = [EpochEntry(trial, result.epoch, result.metrics, result.seconds) for trial, result in live]
        for number in runner.store.record_epochs(runner.worker, entries) if entries else ():
            self.lost[number] = str(TrialLostError.of(self.trials[number]))
        for trial, result in live:
            if trial.number in self.lost:
                continue
            value = result.metrics.get(runner.config.metric)
            if value is not None:
                self.curves[trial.number].append(value)
            runner.progress.epoch_done(trial, result, _better(self.best_value, value, self.maximize))
        return [self._goes_on(job, result) for job, result in reports]

    def _goes_on(self, job: TrainJob, result: EpochResult) -> bool:
        """False once the trial is lost (stop it; the others go on) or the pruner stops it."""
        if job.trial_number in self.lost:
            return False
        curve = self.curves[job.trial_number]
        if self.rule is None or result.epoch >= job.epochs:
            return True
        return not self.rule.stops(job.trial_number, job.params, curve, self.known)


def _better(best: float | None, value: float | None, maximize: bool) -> float | None:
    if value is None:
        return best
    if best is None:
        return value
    return max(best, value) if maximize else min(best, value)


def _best_value(trials: Sequence[TrialRecord], maximize: bool) -> float | None:
    best = best_of(trials, maximize=maximize)
    return None if best is None else best.value


def run_study(
    config: StudyConfig,
    store: Store | str | None = None,
    *,
    trainer: Trainer | None = None,
    options: RunOptions | None = None,
    progress: Progress | None = None,
    model: Callable[..., Any] | None = None,
    data: Callable[..., Any] | None = None,
) -> StudySummary:
    """Run (or resume) a study until its budget is spent; returns its summary.

    ``store`` is a :class:`Store`, a path or a SQLAlchemy URL (default:
    ``$HPSEARCH_STORE`` or ``hpsearch.db``). ``trainer`` defaults to the study's: the built-in
    MNIST model (in populations, or per trial), or ``model(params)`` (a compiled Keras model; default:
    the study file's ``model``) on what ``data()`` returns (default: its ``[data] loader``), per trial or,
    with ``[training] trainer = "population"``, a claim's trials together
    (:mod:`hpsearch.train.keras.branches`), built only once the study is accepted by the store.
    """
    own = not isinstance(store, Store)
    if model is not None or data is not None:
        config = with_own_model(config, model, data)
    if trainer is None:
        model, data = check_trainable(config, model, data)  # before the store is opened, let alone written
        if model is not None or data is not None:
            trainer = make_trainer(config, config.budget.trials or config.training.population, model, data)
    opened = store if isinstance(store, Store) else Store.open(store)
    try:
        if opened.migrated is not None:
            complete_migration(opened)
        if trainer is not None and not getattr(trainer, "trains_builtin_model", False):
            config = space_as_declared(config, opened)  # a function or a trainer of the caller's own: no built-in defaults
        return StudyRunner(config, opened, trainer, options=options, progress=progress).run()
    finally:
        if own:
            opened.close()
