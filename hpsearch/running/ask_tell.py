"""Ask/tell: trials proposed and stored by hpsearch, trained by your own loop.

    with hpsearch.open_study("studies/quickstart.toml", "hpsearch.db") as study:
        while (trial := study.ask()) is not None:
            model = build(**trial.params)
            for epoch in range(1, trial.epochs + 1):
                metrics = train_one_epoch(model)               # {"val_accuracy": ..., "loss": ...}
                if trial.report(epoch, metrics):               # stored at once; True: the pruning rule stops it
                    study.tell(trial, "PRUNED")
                    break
            else:
                study.tell(trial, metrics)                     # COMPLETE, with the last epoch's metrics

A trial is claimed as ``hpsearch run`` claims one (atomically, within the budget), and carries a
heartbeat from a background thread while it is open. A script that crashes leaves its open
trial RUNNING with a dead process behind it: the next :func:`open_study` on this machine (or any
worker, once the heartbeat is ``stale_after`` old) puts it back, and the next :meth:`AskTellStudy.ask`
hands it out again under its own number. Several scripts on one store share the budget exactly,
as several ``hpsearch run`` workers do.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from hpsearch.core.config import StudyConfig, config_from_stored, load_study
from hpsearch.core.errors import ConfigError, NoResultError
from hpsearch.core.records import is_metric_value
from hpsearch.core.space import Params
from hpsearch.running.session import (
    Heartbeat,
    RunOptions,
    StudySession,
    StudySummary,
    objective_values,
    space_as_declared,
    summarize,
)
from hpsearch.search.pruning import PruningRule, pruning_rule
from hpsearch.store import EpochEntry, Store, StudyRecord, TrialLostError, TrialRecord, TrialState, WorkerInfo

__all__ = ["AskTellStudy", "AskedTrial", "open_study"]


class AskedTrial:
    """A trial handed out by :meth:`AskTellStudy.ask`: its hyperparameters, seed and epochs, and
    :meth:`report` for each epoch's metrics."""

    def __init__(self, study: AskTellStudy, record: TrialRecord, rule: PruningRule | None, curves: Mapping[int, Sequence[float]]) -> None:
        self._study, self.record, self._rule, self._curves = study, record, rule, curves
        self._curve: list[float] = []
        self._started = time.monotonic()
        self._last = self._started
        #: Why the trial is no longer open (told, given back at close, taken from this worker); None while open.
        self._ended: str | None = None
        #: The metrics of the last epoch reported.
        self.last_metrics: dict[str, float] = {}

    @property
    def number(self) -> int:
        return self.record.number

    @property
    def params(self) -> Params:
        """The hyperparameters to train with (a plain dict of the names the space declares)."""
        return dict(self.record.params)

    @property
    def seed(self) -> int:
        """A seed for this trial (derived from the study seed and the trial number): seed your model with it."""
        return self.record.seed

    @property
    def epochs(self) -> int:
        """The most epochs this trial trains (the study's ``budget.epochs``)."""
        return self.record.epochs

    @property
    def epochs_done(self) -> int:
        return len(self._curve)

    def report(self, epoch: int, metrics: Mapping[str, float]) -> bool:
        """Store epoch ``epoch`` (1, 2, ... in order) of this trial with its ``metrics`` now; returns True
        when the study's pruning rule stops the trial here (then :meth:`AskTellStudy.tell` it PRUNED).

        ``metrics`` must hold the study's metric as a real number. Every numeric value in it is stored
        under its name (names of up to 100 characters); values that are not numbers are left out.
        Nothing is stored, and the pruning rule is not asked, when the epoch or the metric is refused."""
        study = self._study
        if self._ended is not None:
            raise ValueError(f"trial {self.number}: epoch {epoch} reported after the trial ended: {self._ended}")
        if epoch > self.epochs:
            raise ConfigError(
                "epoch", epoch, f"trial {self.number} trains at most {self.epochs} epochs (the study's budget.epochs); nothing stored"
            )
        if epoch != len(self._curve) + 1:
            raise ValueError(
                f"trial {self.number}: epoch {epoch} reported after epoch {len(self._curve)}; report every epoch in order, from 1"
            )
        value = _metric_value(study.config.metric, metrics)
        now = time.monotonic()
        numbers = {k: float(v) for k, v in metrics.items() if is_metric_value(v)}
        entry = EpochEntry(self.record, epoch, numbers, now - self._last)
        self._last = now
        if study.store.record_epochs(study.worker, [entry]):
            lost = TrialLostError.of(self.record)
            study._forget(self, str(lost))
            raise lost
        self._curve.append(value)
        self.last_metrics = numbers
        if self._rule is None or epoch >= self.epochs or not math.isfinite(value):
            return False
        return self._rule.stops(self.number, self.params, self._curve, self._curves)

    def __repr__(self) -> str:
        return f"AskedTrial(number={self.number}, params={self.params})"


def _metric_value(metric: str, metrics: Mapping[str, object]) -> float:
    """The study's ``metric`` in ``metrics``, a real number (NaN and infinities included: the trial then fails);
    a ConfigError naming the metric and the value when it is missing or anything else (a string, a bool)."""
    if metric not in metrics:
        raise ConfigError("metrics", dict(metrics), f"must hold the study's metric {metric!r}")
    value = metrics[metric]
    if not is_metric_value(value):
        raise ConfigError(
            f"metrics[{metric!r}]", value, "must be a real number (an int or a float; convert a tensor or array with float())"
        )
    return float(value)  # type: ignore[arg-type]  # is_metric_value checked it is an int or a float


def _told_state(outcome: object) -> TrialState:
    """The finished state named by ``outcome`` (a TrialState or its name, in any case); a ConfigError naming the valid ones."""
    names = {state.value for state in TrialState if state.is_finished()}
    name = outcome.value if isinstance(outcome, TrialState) else outcome.upper() if isinstance(outcome, str) else None
    if name not in names:
        raise ConfigError(
            "outcome", outcome, "must be one of COMPLETE, PRUNED or FAIL (a state), or the final metrics (a dict with the study's metric)"
        )
    return TrialState(name)


class AskTellStudy:
    """A study whose trials the caller trains: :meth:`ask` for a trial, :meth:`AskedTrial.report` each
    epoch, :meth:`tell` how it ended. Use it as a context manager (or call :meth:`close`): a trial
    still open at the end goes back to the study, to be handed out again."""

    def __init__(self, config: StudyConfig, store: Store, *, options: RunOptions | None = None, own_store: bool = False) -> None:
        config = space_as_declared(config, store)  # the caller's loop trains exactly the declared space
        self.config = config
        self.store = store
        self.options = options or RunOptions()
        self.worker = WorkerInfo.this_process()
        self._session = StudySession(config, store, options=self.options, worker=self.worker)  # the caller's loop trains
        self.study: StudyRecord = store.create_study(config, n_trials=self._session.n_trials)
        self._own_store = own_store
        self._open: dict[int, AskedTrial] = {}
        self._heart = Heartbeat(store, self.worker, self.options.heartbeat_interval).__enter__()
        store.reap_stale(self.study.id, stale_after=self.options.stale_after, this_host=self.worker.host)

    @property
    def name(self) -> str:
        return self.study.name

    @property
    def n_trials(self) -> int:
        """The study's budget of trials."""
        return self._session.n_trials

    def ask(self, *, wait: bool = True) -> AskedTrial | None:
        """The next trial to train, claimed for this process; None once the budget is spent.

        When the budget is spent but other scripts still train trials (one may crash and need
        redoing), waits for them (``wait=False``: returns None at once). When the only trials left
        are ones this study asked for and has not told yet, returns None (tell them first). The
        same holds for a generation (evolution, CMA-ES) that waits for trials this study holds."""
        while True:
            claims = self._session.claim(self.study, 1)
            if claims.trials:
                break
            if claims.done:
                self._session.check_not_stuck(self.study)
                return None
            if not wait or self._only_own_trials_run():
                return None  # (waiting for trials this study holds open would wait for ever)
            time.sleep(self.options.poll_interval)
        (record,) = claims.trials
        rule, curves = None, {}
        if self.config.pruning.enabled:
            history = self.store.trials(self.study.id)
            rule = pruning_rule(self.config, history)
            curves = {t.number: t.curve for t in history if t.number != record.number}
        trial = AskedTrial(self, record, rule, curves)
        self._open[record.number] = trial
        self._heart.trials = [t.record for t in self._open.values()]
        return trial

    def _only_own_trials_run(self) -> bool:
        """Whether every trial still to finish is one this study has handed out and not been told of yet."""
        history = self.store.trials(self.study.id, with_curves=False)
        return all(t.state.is_finished() or t.number in self._open for t in history)

    def tell(self, trial: AskedTrial, outcome: TrialState | str | Mapping[str, float], *, error: str | None = None) -> None:
        """How ``trial`` ended: a state (``"COMPLETE"``, ``"PRUNED"``, ``"FAIL"``; the value is the last
        reported epoch's metric), or the final metrics (COMPLETE; stored as one more epoch when no epoch
        was reported yet). A trial whose value is not finite, or that reported no epoch, is stored as FAIL,
        as ``hpsearch run`` does."""
        self._check_open(trial)
        if isinstance(outcome, Mapping):
            for objective in self.config.objectives:
                _metric_value(objective.metric, outcome)  # a ConfigError naming a metric missing or not a number
            metrics: Mapping[str, object] | None = outcome
            if not trial.epochs_done:
                trial.report(1, outcome)
            state = TrialState.COMPLETE
        else:
            state = _told_state(outcome)
            metrics = trial.last_metrics if trial.epochs_done else None
        values, why_not = objective_values(self.config.objectives, metrics)
        if state is not TrialState.FAIL and why_not is not None:
            error, state = error or why_not, TrialState.FAIL
        if state is TrialState.FAIL:
            values = None
        value = None if values is None else values[0]
        several = values if self.config.multi_objective else None
        try:
            self.store.finish(trial.record, self.worker, state, value=value, values=several, error=error)
        except TrialLostError as lost:
            self._forget(trial, str(lost))
            raise
        self._forget(trial, f"it was told already ({state.value})")
        self._finish_if_done()

    def _check_open(self, trial: AskedTrial) -> None:
        """A ValueError that says why, unless ``trial`` is open in this study (asked here and not told yet)."""
        if trial._study is not self:
            asked_by = f"study {trial._study.name!r}" if trial._study.name != self.name else f"another open_study() of {self.name!r}"
            raise ValueError(f"trial {trial.number} was asked by {asked_by}, not by this study {self.name!r}: tell the study that asked it")
        if self._open.get(trial.number) is not trial:
            raise ValueError(f"trial {trial.number} is not open in this study: {trial._ended or 'it was never asked here'}")

    def _forget(self, trial: AskedTrial, why: str) -> None:
        """``trial`` is no longer open, for the reason ``why`` (what a later report or tell explains)."""
        if self._open.get(trial.number) is trial:
            self._open.pop(trial.number)
        trial._ended = why
        self._heart.trials = [t.record for t in self._open.values()]

    def _finish_if_done(self) -> None:
        history = self.store.trials(self.study.id, with_curves=False)
        if len(history) >= self.n_trials and all(t.state.is_finished() for t in history):
            with contextlib.suppress(NoResultError):  # every trial failed: the study is STOPPED with the reason
                self._session.finish(self.study)

    def summary(self) -> StudySummary:
        """The study as the store holds it now: its trials and the best one."""
        return summarize(self.store, self.study)

    def close(self) -> None:
        """Stop the heartbeat; trials still open go back to the study (handed out again by the next ask)."""
        for trial in list(self._open.values()):
            with contextlib.suppress(TrialLostError):
                self.store.release(trial.record, "not told before the study was closed; redone")
            self._forget(trial, "the study was closed before it was told, and the trial went back to the study to be redone")
        self._heart.__exit__(None, None, None)
        if self._own_store:
            self.store.close()

    def __enter__(self) -> AskTellStudy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_study(
    study: StudyConfig | str | os.PathLike[str], store: Store | str | os.PathLike[str] | None = None, *, options: RunOptions | None = None
) -> AskTellStudy:
    """A study to drive with ask/tell: a :class:`StudyConfig`, a study file, or the name of a study in
    ``store`` (a :class:`Store`, a path or a SQLAlchemy URL; default ``$HPSEARCH_STORE`` or ``hpsearch.db``).

    Created in the store if it is new, resumed if not (a study file must match the stored study, as
    for ``hpsearch run``)."""
    own = not isinstance(store, Store)
    opened = store if isinstance(store, Store) else Store.open(store)
    try:
        if isinstance(study, StudyConfig):
            config = study
        elif str(study).endswith(".toml") or Path(study).is_file():
            config = load_study(Path(study))
        else:
            config = config_from_stored(str(study), opened.study(str(study)).config)
        return AskTellStudy(config, opened, options=options, own_store=own)
    except BaseException:
        if own:
            opened.close()
        raise
