"""The steps every way of running a study shares: open (create or resume), claim, heartbeat, record how a
trial ended, finish, and evaluate the study's result.

The study loop (:mod:`hpsearch.running.loop`) drives them with a trainer, ask/tell
(:mod:`hpsearch.running.ask_tell`) with the caller's own loop, and the workers through the loop.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

from hpsearch.core.config import StudyConfig
from hpsearch.core.errors import ConfigError, NoResultError, StudyStuckError, UnknownStudyError
from hpsearch.core.objectives import Objective
from hpsearch.core.records import is_metric_value, scores_text
from hpsearch.core.results import StudySummary, result_of_trials
from hpsearch.core.space import parse_space
from hpsearch.running.checkpoints import delete_unneeded_checkpoints, local_checkpoint, remote_for, study_key, weights_path
from hpsearch.running.claims import Claims, Fits, claim_trials
from hpsearch.running.progress import Progress, SilentProgress
from hpsearch.search.strategies import Strategy, derive_seed, strategy_for
from hpsearch.store import Store, StudyRecord, StudyState, TrialLostError, TrialRecord, TrialState, WorkerInfo
from hpsearch.train.trainer import Trainer, TrainJob, TrainOutcome

__all__ = [
    "Heartbeat",
    "RunOptions",
    "StudySession",
    "StudySummary",
    "missing_metric_error",
    "objective_values",
    "space_as_declared",
    "summarize",
]


def missing_metric_error(metric: str, metrics: Mapping[str, object] | None) -> str:
    """Why a trial that ended with ``metrics`` at its last epoch (None: no epoch) has no value of the study's ``metric``."""
    if metrics is not None and metrics.get(metric) is not None:
        return f"the model reported `{metric}` = {metrics[metric]!r}, not a real number"
    reported = " no epoch" if metrics is None else ": " + ", ".join(map(str, metrics)) if metrics else " no metric"
    return f"the model reported no `{metric}` (it reported{reported})"


def objective_values(objectives: Sequence[Objective], metrics: Mapping[str, object] | None) -> tuple[list[float] | None, str | None]:
    """A trial's value in each of ``objectives`` from ``metrics`` (its last epoch's; None: it reported no epoch), and
    None; or None and why it has none (a metric missing or not a number, or a value that is not finite)."""
    values = []
    for objective in objectives:
        value = None if metrics is None else metrics.get(objective.metric)
        if not is_metric_value(value):
            return None, missing_metric_error(objective.metric, metrics)
        if not math.isfinite(value):  # type: ignore[arg-type]
            return None, f"{objective.metric} is {value} at the end of the trial"
        values.append(float(value))  # type: ignore[arg-type]
    return values, None


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
    #: Where best-trial weights are kept: a folder, or an fsspec URL (``s3://bucket/prefix``); default: a folder beside an
    #: SQLite store.
    checkpoint_dir: Path | str | None = None
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


def summarize(store: Store, study: StudyRecord | str) -> StudySummary:
    """What ``study`` holds now: its trials, its result and the result's test evaluation (:class:`StudySummary`)."""
    record = store.study(study) if isinstance(study, str) else store.study(study.name)
    return StudySummary.of(record, store.trials(record.id), store.evaluations(record.id))


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


def space_as_declared(config: StudyConfig, store: Store) -> StudyConfig:
    """``config`` for a study trained by the caller's own code (a function, a trainer of its own, an ask/tell loop):
    its space exactly as the study file declares it, without the built-in model's defaults (a space of
    ``{learning_rate, width}`` is those two, not the built-in model's four). A study that already exists with the
    space the built-in model's reading gave (created before this rule) resumes as it was created."""
    spec = None if config.document is None else config.document.get("space")
    if config.model is not None or not spec:
        return config
    declared = parse_space(spec, builtin=False)
    if declared.describe() == config.space.describe():
        return config
    try:
        stored = store.study(config.name).config.get("space")
    except UnknownStudyError:
        stored = None
    if stored is not None and stored != json.loads(json.dumps(declared.describe())):
        return config
    return replace(config, space=declared)


class StudySession:
    """One process's hold on a study: its config, store, strategy and budget, and the steps of a run."""

    def __init__(
        self,
        config: StudyConfig,
        store: Store,
        *,
        options: RunOptions | None = None,
        progress: Progress | None = None,
        worker: WorkerInfo | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.options = options or RunOptions()
        self.progress = progress or SilentProgress()
        self.worker = worker or WorkerInfo.this_process()
        self.strategy: Strategy = strategy_for(config)
        self.n_trials = self.strategy.budget(config.budget.trials)
        #: the object store of a checkpoint location that is a URL (None: a folder)
        self.remote = remote_for(self.options.checkpoint_dir)

    def trial_seed(self, number: int) -> int:
        """The seed of trial ``number`` (derived from the study's seed)."""
        return derive_seed(self.config.seed, number)

    def weights_path(self, study: StudyRecord, number: int) -> Path:
        """Where trial ``number`` keeps its checkpoint."""
        return weights_path(self.store, study, number, self.options.checkpoint_dir)

    def job(self, study: StudyRecord, trial: TrialRecord) -> TrainJob:
        """What a trainer needs to train (or evaluate) ``trial``."""
        parent = None if trial.parent_trial is None else self.store.trial(study.id, trial.parent_trial)
        return TrainJob(
            trial_number=trial.number,
            params=trial.params,
            epochs=trial.epochs,
            seed=trial.seed,
            weights_path=self.weights_path(study, trial.number),
            parent_checkpoint=None if parent is None else self._checkpoint_of(study, parent),
            parent_params=None if parent is None else parent.params,
        )

    def _checkpoint_of(self, study: StudyRecord, trial: TrialRecord) -> Path:
        """``trial``'s checkpoint as a file here: its recorded file, or object downloaded (or where it would be written)."""
        return local_checkpoint(trial.checkpoint) if trial.checkpoint else self.weights_path(study, trial.number)

    def delete_unneeded_checkpoints(self, study: StudyRecord) -> None:
        """Delete the checkpoints the strategy no longer needs (:func:`hpsearch.running.checkpoints.delete_unneeded_checkpoints`)."""
        delete_unneeded_checkpoints(self.store, study, self.strategy, self.options.checkpoint_dir)

    def open(self) -> StudyRecord:
        """Create the study, or resume it: put failed trials back (``retry_failed``), redo what a stopped run left
        unfinished, and delete the checkpoints a run killed before its clean-up left behind."""
        opts = self.options
        if self.remote is not None:
            self.remote.check()  # a missing bucket or a denied write: one line, before any trial is claimed
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
        self.delete_unneeded_checkpoints(study)
        return study

    def claim(self, study: StudyRecord, limit: int, fits: Fits | None = None) -> Claims:
        """Redo what dead workers left, then claim up to ``limit`` trials (that ``fits`` says a trainer trains together):
        :func:`hpsearch.running.claims.claim_trials`."""
        self.store.reap_stale(study.id, stale_after=self.options.stale_after, this_host=self.worker.host)
        return claim_trials(
            self.store,
            study.id,
            self.worker,
            self.strategy.ask,
            trial_seed=self.trial_seed,
            epochs=self.config.budget.epochs,
            limit=limit,
            fits=fits,
            batch=self.strategy.batch_size,
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

    def finish_trial(
        self, study: StudyRecord, trial: TrialRecord, job: TrainJob, outcome: TrainOutcome
    ) -> tuple[TrialState, float | None, str | None]:
        """Record how ``trial`` ended (its value: the study's metric at its last epoch, and for a study of several
        objectives each one's); (state, value, error). A trial that did not fail but whose last epoch holds no number
        for an objective's metric is FAIL, with why."""
        values, why_not = objective_values(self.config.objectives, outcome.epochs[-1].metrics if outcome.epochs else None)
        if outcome.state is not TrialState.FAIL and why_not is not None:
            outcome = replace(outcome, state=TrialState.FAIL, error=why_not)
        if outcome.state is TrialState.FAIL:
            values = None
        value = None if values is None else values[0]
        if "val_before_resize" in outcome.info and "val_after_resize" in outcome.info:
            self.store.record_resize(study.id, trial.number, outcome.info["val_before_resize"], outcome.info["val_after_resize"])
        saved = job.weights_path is not None and outcome.state is TrialState.COMPLETE and job.weights_path.exists()
        checkpoint = str(job.weights_path) if saved else None
        if saved and self.remote is not None:  # recorded once the object is whole under its final key
            checkpoint = self.remote.upload(job.weights_path, f"{study_key(study)}/{job.weights_path.name}")  # type: ignore[union-attr]
        try:
            self.store.finish(
                trial,
                self.worker,
                outcome.state,
                value=value,
                values=values if self.config.multi_objective else None,
                error=outcome.error,
                checkpoint=checkpoint,
            )
        except TrialLostError as err:
            self.progress.message(str(err))
            return outcome.state, None, outcome.error
        self.progress.trial_finished(trial, outcome.state, value, outcome.error)
        return outcome.state, value, outcome.error

    def finish(self, study: StudyRecord, trainer: Trainer | None = None) -> StudySummary:
        """Once the budget is spent and nothing runs: evaluate the study's result with ``trainer`` (None: no
        test evaluation, as in ask/tell) and mark the study COMPLETE (STOPPED, with the reason, if no trial
        succeeded). The study's summary, either way."""
        summary = summarize(self.store, study)
        busy = any(not t.state.is_finished() for t in summary.trials)
        if summary.finished >= summary.study.n_trials and not busy:
            final = result_of_trials(summary.trials, summary.study.objectives, epochs=summary.study.epochs, finished=True)
            if final.trial is None:
                self._stop_without_result(summary)
            for trial in final.pareto if trainer is not None else ():  # each once: a resumed run evaluates only what is left
                if trial.number not in summary.tests:
                    self.evaluate(summary.study, trial, trainer)  # type: ignore[arg-type]
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

    def evaluate(self, study: StudyRecord, best: TrialRecord, trainer: Trainer, *, provisional: bool = False) -> None:
        """Evaluate the study's result ``best`` on the test set with ``trainer``, once; retrain it if its weights
        are not on this machine (not a ``provisional`` result: the best so far of a run stopped by its time budget)."""
        if not trainer.has_test_set:
            return
        job = self.job(study, best)
        if best.checkpoint:
            job = replace(job, weights_path=local_checkpoint(best.checkpoint))
        note = None
        result = trainer.evaluate(job)
        if result is None and best.member is None and not provisional:
            self.progress.message(
                f"{study.name}: weights of best trial {best.number} not found here; retraining it for the test evaluation"
            )
            trainer.train([job], lambda _job, _result: True)
            result = trainer.evaluate(job)
            note = "retrained with the trial's seed (its weights were not on the evaluating machine)"
        if result is None:
            return
        if provisional:
            note = "provisional: the best trial so far when the run stopped"
        self.store.record_evaluation(best, "test", result, note, keep_others=study.multi_objective)
        which = "best trial so far" if provisional else "Pareto trial" if study.multi_objective else "best trial"
        self.progress.message(f"{study.name}: {which} {best.number} test {scores_text(result)}")
