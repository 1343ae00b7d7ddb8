"""The study loop: claim a trial, train it, record every epoch, repeat until the budget is spent.

Resuming is running again: trials that finished are kept, a trial whose worker
died (no heartbeat, or its process gone from this host) is redone under its own
number, and the strategy proposes only what the budget has left.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from hpsearch.core.config import StudyConfig
from hpsearch.core.errors import ConfigError, NoResultError, StudyStuckError, TooManyFailuresError
from hpsearch.running.progress import Progress, SilentProgress
from hpsearch.search.pruning import PruningRule, pruning_rule
from hpsearch.search.strategies import Strategy, best_trial, derive_seed, strategy_for, study_best
from hpsearch.store import (
    Claims,
    EpochEntry,
    Evaluation,
    Store,
    StudyRecord,
    StudyState,
    TrialLostError,
    TrialRecord,
    TrialState,
    WorkerInfo,
)
from hpsearch.store.schema import METRIC_COLUMNS
from hpsearch.train.trainer import EpochResult, Trainer, TrainJob, TrainOutcome

__all__ = [
    "Heartbeat",
    "RunOptions",
    "StudyRunner",
    "StudySummary",
    "best_trial",
    "check_trainable",
    "checkpoint_dir_for",
    "run_study",
    "summarize",
]


@dataclass(frozen=True)
class RunOptions:
    """How one run of a study behaves (none of this is part of the study's identity)."""

    #: Seconds after which this run starts no new trial (overrides the study file's budget.timeout).
    timeout: float | None = None
    #: Stop the study after this many failed trials in a row.
    max_consecutive_failures: int = 3
    #: A RUNNING trial whose heartbeat is older than this is judged abandoned and redone.
    stale_after: float = 120.0
    #: Seconds between heartbeats while a trial trains.
    heartbeat_interval: float = 10.0
    #: Put FAIL trials back in the queue before running.
    retry_failed: bool = False
    #: Where best-trial weights are kept; default: a folder beside an SQLite store.
    checkpoint_dir: Path | None = None
    #: Seconds between polls while other workers finish the last trials.
    poll_interval: float = 2.0
    #: Return after this many trials (a worker process is then replaced by a fresh one); None: no limit.
    max_trials: int | None = None

    def __post_init__(self) -> None:
        if self.stale_after < 3 * self.heartbeat_interval:
            raise ConfigError(
                "--stale-after",
                self.stale_after,
                f"must be at least 3 heartbeat intervals ({3 * self.heartbeat_interval:g} s), or live workers would be judged dead",
            )
        if self.max_consecutive_failures < 1:
            raise ConfigError("--max-failures", self.max_consecutive_failures, "must be >= 1")


@dataclass(frozen=True)
class StudySummary:
    """What a study holds after a run: its trials, the best one, and its test evaluation."""

    study: StudyRecord
    trials: list[TrialRecord]
    best: TrialRecord | None
    test: Evaluation | None
    counts: dict[str, int] = field(default_factory=dict)
    #: Why the run returned before the budget was spent: "max_trials" or "timeout" (None otherwise).
    stopped_early: str | None = None

    @property
    def finished(self) -> int:
        return sum(1 for t in self.trials if t.state.is_finished())

    @property
    def complete(self) -> bool:
        return self.study.state is StudyState.COMPLETE


def summarize(store: Store, study: StudyRecord | str) -> StudySummary:
    record = store.study(study) if isinstance(study, str) else store.study(study.name)
    trials = store.trials(record.id)
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.value] = counts.get(t.state.value, 0) + 1
    return StudySummary(record, trials, study_best(record, trials), store.evaluation(record.id), counts)


def checkpoint_dir_for(store: Store, override: Path | None = None) -> Path:
    """``override``, or ``<store file stem>-checkpoints`` beside an SQLite store, or ``./hpsearch-checkpoints``."""
    if override is not None:
        return Path(override)
    if store.path is not None:
        return store.path.with_name(store.path.stem + "-checkpoints")
    return Path("hpsearch-checkpoints").resolve()


def study_checkpoint_dir(store: Store, study: StudyRecord, override: Path | None = None) -> Path:
    """``<checkpoint dir>/<study name>-<first 8 hex digits of the study's uid>``: unique even when
    two stores hold studies of the same name and share a checkpoint directory."""
    return checkpoint_dir_for(store, override) / f"{study.name}-{study.uid[:8]}"


class Heartbeat:
    """Beats for the trials being trained (:attr:`trials`), from a background thread, while the main thread
    trains (the runner's, and ask/tell's for the trials it has handed out)."""

    def __init__(self, store: Store, worker: WorkerInfo, interval: float) -> None:
        self.store, self.worker, self.interval = store, worker, interval
        #: The trials being trained now (the runner sets and trims it).
        self.trials: list[TrialRecord] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hpsearch-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for trial in list(self.trials):
                with contextlib.suppress(Exception):
                    self.store.heartbeat(trial, self.worker)


#: The metrics the built-in model reports after every epoch.
BUILT_IN_METRICS: tuple[str, ...] = METRIC_COLUMNS


def check_builtin_study(config: StudyConfig) -> None:
    """Refuse, before anything is written, a study the built-in model cannot train: a dimension it
    does not have, or a metric it does not report."""
    if not config.builtin_model:
        from hpsearch.core.space import BUILTIN_DIMENSIONS

        name = next(n for n in config.space if n not in BUILTIN_DIMENSIONS)
        raise ConfigError(
            f"space.{name}",
            config.space.describe()[name],
            f"the built-in model has no such hyperparameter; expected one of {', '.join(BUILTIN_DIMENSIONS)}"
            ' (name your own model with `model = "package.module:function"` to search others)',
            source=config.source,
        )
    if config.metric not in BUILT_IN_METRICS:
        raise ConfigError(
            "objective.metric",
            config.metric,
            f"the built-in model reports {', '.join(BUILT_IN_METRICS)}; a metric of your own comes from your own model "
            '(model = "package.module:function"), loop (hpsearch.open_study) or trainer (run_study(..., trainer=...))',
            source=config.source,
        )


def with_own_model(config: StudyConfig, model: Callable[..., Any] | None, data: Callable[..., Any] | None) -> StudyConfig:
    """``config`` recording a model builder and data loader given as Python objects (by ``module:name``,
    compared on resume like the study file's settings); the study then trains per trial."""
    from hpsearch.core.space import parse_space
    from hpsearch.train.keras.user import callable_name

    changes: dict[str, Any] = {}
    if model is not None and config.model is None:
        changes["model"] = callable_name(model)
        if config.document is not None and "space" in config.document:
            changes["space"] = parse_space(config.document["space"], builtin=False)  # exactly the declared dimensions
    if data is not None and config.data.loader is None:
        changes["data"] = replace(config.data, loader=callable_name(data))
    if changes:
        changes["training"] = replace(config.training, trainer="keras")
    return replace(config, **changes)


def check_trainable(
    config: StudyConfig, model: Callable[..., Any] | None = None, data: Callable[..., Any] | None = None
) -> tuple[Callable[..., Any] | None, Callable[..., Any] | None]:
    """Everything the study's own trainer needs, checked before the store is written: the built-in
    model's space and metric, or the study's own builder and loader (imported, the data loaded and one
    model built). Returns the builder and loader (None for the built-in ones)."""
    if model is None and data is None and config.model is None and config.data.loader is None:
        check_builtin_study(config)
        return None, None
    from hpsearch.train.keras.user import check_user_study

    if config.model is None and model is None:
        check_builtin_study(config)
    try:
        return check_user_study(config, model, data)
    except ConfigError as err:
        raise (err.with_source(config.source) if config.source and not err.source else err) from None


class StudyRunner:
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
        self.config = config
        self.store = store
        self._trainer = trainer
        self.options = options or RunOptions()
        self.progress = progress or SilentProgress()
        self.worker = worker or WorkerInfo.this_process()
        self._model: Callable[..., Any] | None = None
        self._data: Callable[..., Any] | None = None
        if trainer is None:  # the study's own builder and loader, or the built-in model's checks
            self._model, self._data = check_trainable(config)
        self.strategy: Strategy = strategy_for(config)
        self.n_trials = self.strategy.budget(config.budget.trials)

    @property
    def claim_size(self) -> int:
        """How many trials one claim takes: what the trainer trains at once (``max_jobs``; 1 by default)."""
        return max(1, int(getattr(self.trainer, "max_jobs", 1)))

    @property
    def trainer(self) -> Trainer:
        """The trainer the study names (``[training] trainer``: the per-trial Keras trainer, or the
        population trainer), built (and Keras imported) on first use."""
        if self._trainer is None:
            if self._model is not None or self._data is not None:
                from hpsearch.train.keras import KerasTrainer

                self._trainer = KerasTrainer(self.config.data, self.config.training, model=self._model, loader=self._data)
            elif self.config.training.trainer == "population":
                from hpsearch.train.population.trainer import PopulationTrainer, columns_for_space, narrowest_width

                space = self.config.space
                optimizers = tuple(str(v) for v in space["optimizer"].grid_values())
                # room for the trials that can train together: no more than the budget (or PBT's population) has
                together = min(self.config.training.population, self.n_trials, *([self.config.pbt.population] if self.config.pbt else []))
                columns = columns_for_space(space, together)
                self._trainer = PopulationTrainer(
                    self.config.data,
                    self.config.training,
                    study_seed=self.config.seed,
                    optimizers=optimizers,
                    columns=columns,
                    narrowest=narrowest_width(space),
                )
            else:
                from hpsearch.train.keras import KerasTrainer

                self._trainer = KerasTrainer(self.config.data, self.config.training)
        return self._trainer

    # ------------------------------------------------------------------ helpers

    def _trial_seed(self, number: int) -> int:
        return derive_seed(self.config.seed, number)

    def _weights_path(self, study: StudyRecord, number: int) -> Path:
        return study_checkpoint_dir(self.store, study, self.options.checkpoint_dir) / f"trial-{number}.weights.h5"

    def _job(self, study: StudyRecord, trial: TrialRecord) -> TrainJob:
        parent = None if trial.parent_trial is None else self.store.trial(study.id, trial.parent_trial)
        return TrainJob(
            trial_number=trial.number,
            params=trial.params,
            epochs=trial.epochs,
            seed=trial.seed,
            weights_path=self._weights_path(study, trial.number),
            parent_checkpoint=None if parent is None else Path(parent.checkpoint or self._weights_path(study, parent.number)),
            parent_params=None if parent is None else parent.params,
        )

    def _delete_unneeded_checkpoints(self, study: StudyRecord) -> None:
        """Bounded disk use: delete every checkpoint the strategy no longer needs.

        Grid, random and TPE keep only the best trial's weights (for the test
        evaluation); PBT keeps what a member may still continue from or copy. Applied
        after every trial and at the start of every run, to what the store records and to
        what is on disk in the study's checkpoint folder (files of a run killed before its
        clean-up, or before it recorded a checkpoint it had written). Files of trials not
        finished yet are left alone: their worker may be writing them.
        """
        history = self.store.trials(study.id, with_curves=False)
        keep = self.strategy.checkpoints_to_keep(history)
        gone = [t for t in history if t.checkpoint and t.number not in keep]
        for t in gone:
            Path(t.checkpoint).unlink(missing_ok=True)  # type: ignore[arg-type]
        if gone:
            self.store.forget_checkpoints(study.id, [t.number for t in gone])
        finished = {t.number for t in history if t.state.is_finished()}
        folder = study_checkpoint_dir(self.store, study, self.options.checkpoint_dir)
        for path in folder.glob("trial-*.weights.h5") if folder.is_dir() else ():
            number, partial = _checkpoint_file_trial(path.name)
            if number is not None and number in finished and (partial or number not in keep):
                path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ the loop

    def run(self) -> StudySummary:
        opts = self.options
        if opts.retry_failed and self.config.strategy == "pbt":
            raise ConfigError(
                "--retry-failed", True, "does not apply to a pbt study: a member whose segment failed copies a better member instead"
            )
        study = self.store.create_study(self.config, n_trials=self.n_trials)
        if opts.retry_failed:
            again = self.store.reset_failed(study.id)
            if again:
                self.progress.message(f"{study.name}: {again} failed trial(s) put back in the queue")
        reaped = self.store.reap_stale(study.id, stale_after=opts.stale_after, this_host=self.worker.host)
        if reaped:
            self.progress.message(f"{study.name}: redoing trial(s) {', '.join(map(str, reaped))} left unfinished by a stopped run")
        self._delete_unneeded_checkpoints(study)  # a run killed before its clean-up left some behind
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
                claims = self.claim(study, limit)
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
                self._delete_unneeded_checkpoints(study)

        return replace(self.finish(study), stopped_early=stopped_early)

    # ------------------------------------------------------------------ the steps of a run (ask/tell drives them too)

    def claim(self, study: StudyRecord, limit: int) -> Claims:
        """Redo what dead workers left, then claim up to ``limit`` trials that fit the trainer together."""
        self.store.reap_stale(study.id, stale_after=self.options.stale_after, this_host=self.worker.host)
        return self.store.claim_many(
            study.id,
            self.worker,
            self.strategy.ask,
            trial_seed=self._trial_seed,
            epochs=self.config.budget.epochs,
            limit=limit,
            fits=getattr(self.trainer, "fits", None),
        )

    def check_not_stuck(self, study: StudyRecord) -> None:
        """The strategy proposes nothing, nothing runs, and the budget is not spent: stop with the reason."""
        history = self.store.trials(study.id, with_curves=False)
        if len(history) >= self.n_trials or any(not t.state.is_finished() for t in history):
            return
        reason = (
            f"{self.strategy.name} has nothing left to propose with {len(history)} of {self.n_trials} trials "
            f"created ({self.strategy.stuck_reason(history)})"
        )
        self.store.set_study_state(study.id, StudyState.STOPPED, reason)
        raise StudyStuckError(f"{study.name}: stopped: {reason}")

    def _run_trials(
        self, study: StudyRecord, trials: Sequence[TrialRecord], position: int, best_value: float | None, heart: Heartbeat
    ) -> list[tuple[TrialState, float | None, str | None]]:
        """Train ``trials`` together (one trainer call) and finish each in the store; returns (state, value, error)
        of each trial that ended here, in the order they were claimed (a trial handed to another worker is left out)."""
        jobs = [self._job(study, trial) for trial in trials]
        by_number = {trial.number: trial for trial in trials}
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
                ended.append(self._finish_trial(study, trial, job, outcome))
            heart.trials = [t for t in heart.trials if t.number != trial.number]
        return ended

    def _finish_trial(
        self, study: StudyRecord, trial: TrialRecord, job: TrainJob, outcome: TrainOutcome
    ) -> tuple[TrialState, float | None, str | None]:
        value = outcome.epochs[-1].metrics.get(self.config.metric) if outcome.epochs else None
        if outcome.state is TrialState.FAIL:
            value = None
        if "val_before_resize" in outcome.info and "val_after_resize" in outcome.info:
            self.store.record_resize(study.id, trial.number, outcome.info["val_before_resize"], outcome.info["val_after_resize"])
        saved = job.weights_path is not None and outcome.state is TrialState.COMPLETE and job.weights_path.exists()
        try:
            self.store.finish(
                trial, self.worker, outcome.state, value=value, error=outcome.error, checkpoint=str(job.weights_path) if saved else None
            )
        except TrialLostError as err:
            self.progress.message(str(err))
            return outcome.state, None, outcome.error
        self.progress.trial_finished(trial, outcome.state, value, outcome.error)
        return outcome.state, value, outcome.error

    def finish(self, study: StudyRecord) -> StudySummary:
        """Once the budget is spent and nothing runs: evaluate the best trial and mark the study COMPLETE
        (STOPPED, with the reason, if no trial succeeded). The study's summary, either way."""
        summary = summarize(self.store, study)
        busy = any(not t.state.is_finished() for t in summary.trials)
        if summary.finished >= summary.study.n_trials and not busy:
            if summary.best is None:
                self._stop_without_result(summary)
            if summary.best is not None and (summary.test is None or summary.test.trial_number != summary.best.number):
                self._evaluate_best(summary.study, summary.best)
            if summary.study.state is not StudyState.COMPLETE:
                self.store.set_study_state(study.id, StudyState.COMPLETE)
            summary = summarize(self.store, study)
        return summary

    def _stop_without_result(self, summary: StudySummary) -> NoReturn:
        """The budget is spent and no trial succeeded: the study is STOPPED with the reason, not finished."""
        failed = [t for t in summary.trials if t.state is TrialState.FAIL]
        last = failed[-1].error if failed else None
        reason = (
            f"no trial succeeded: {len(failed)} of {len(summary.trials)} failed, {summary.counts.get('PRUNED', 0)} pruned"
            + (f"; last error: {last}" if last else "")
            + " (fix the cause, then run again with --retry-failed)"
        )
        self.store.set_study_state(summary.study.id, StudyState.STOPPED, reason)
        raise NoResultError(f"{summary.study.name}: stopped: {reason}")

    def _evaluate_best(self, study: StudyRecord, best: TrialRecord) -> None:
        """Evaluate the best trial on the test set, once; retrain it if its weights are not on this machine."""
        if not self.trainer.has_test_set:
            return
        job = self._job(study, best)
        if best.checkpoint:
            job = replace(job, weights_path=Path(best.checkpoint))
        note = None
        result = self.trainer.evaluate(job)
        if result is None and best.member is None:
            self.progress.message(
                f"{study.name}: weights of best trial {best.number} not found here; retraining it for the test evaluation"
            )
            self.trainer.train([job], lambda _job, _result: True)
            result = self.trainer.evaluate(job)
            note = "retrained with the trial's seed (its weights were not on the evaluating machine)"
        if result is None:
            return
        loss, accuracy = result
        self.store.record_evaluation(best, "test", loss, accuracy, note)
        self.progress.message(f"{study.name}: best trial {best.number} test accuracy {accuracy:.4f} (loss {loss:.4f})")


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


def _checkpoint_file_trial(name: str) -> tuple[int | None, bool]:
    """The trial number of a checkpoint file name (``trial-N.weights.h5``, or ``trial-N.partial.weights.h5``
    while it is written) and whether it is a partial one; (None, False) for any other name."""
    stem = name.removeprefix("trial-").removesuffix(".weights.h5")
    partial = stem.endswith(".partial")
    stem = stem.removesuffix(".partial")
    return (int(stem), partial) if stem.isdigit() else (None, False)


def _better(best: float | None, value: float | None, maximize: bool) -> float | None:
    if value is None:
        return best
    if best is None:
        return value
    return max(best, value) if maximize else min(best, value)


def _best_value(trials: Sequence[TrialRecord], maximize: bool) -> float | None:
    best = best_trial(trials, maximize=maximize)
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
    MNIST model (in populations, or per trial), or per trial ``model(params)`` (a compiled Keras
    model; default: the study file's ``model``) on what ``data()`` returns (default: its
    ``[data] loader``), built only once the study is accepted by the store.
    """
    own = not isinstance(store, Store)
    if model is not None or data is not None:
        config = with_own_model(config, model, data)
    if trainer is None:
        model, data = check_trainable(config, model, data)  # before the store is opened, let alone written
        if model is not None or data is not None:
            from hpsearch.train.keras import KerasTrainer

            trainer = KerasTrainer(config.data, config.training, model=model, loader=data)
    opened = store if isinstance(store, Store) else Store.open(store)
    try:
        return StudyRunner(config, opened, trainer, options=options, progress=progress).run()
    finally:
        if own:
            opened.close()
