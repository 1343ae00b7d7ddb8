"""Progress display for long runs: trial n of N, epoch, current and best value, ETA."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Protocol, TextIO

from hpsearch.core.formatting import format_duration, format_value
from hpsearch.core.records import StudyRecord, TrialRecord, TrialState
from hpsearch.train.trainer import EpochResult

__all__ = ["ConsoleProgress", "Progress", "SilentProgress", "format_duration"]


class Progress(Protocol):
    def study_started(self, study: StudyRecord, finished: int, total: int) -> None: ...
    def claim_started(self, trials: Sequence[TrialRecord], position: int, total: int, epochs: int) -> None: ...
    def trial_started(self, trial: TrialRecord, position: int, total: int, epochs: int) -> None: ...
    def epoch_done(self, trial: TrialRecord, result: EpochResult, best: float | None) -> None: ...
    def trial_finished(self, trial: TrialRecord, state: TrialState, value: float | None, error: str | None) -> None: ...
    def message(self, text: str) -> None: ...


class SilentProgress:
    """Shows nothing (the default of the Python API)."""

    def study_started(self, study: StudyRecord, finished: int, total: int) -> None:
        pass

    def claim_started(self, trials: Sequence[TrialRecord], position: int, total: int, epochs: int) -> None:
        pass

    def trial_started(self, trial: TrialRecord, position: int, total: int, epochs: int) -> None:
        pass

    def epoch_done(self, trial: TrialRecord, result: EpochResult, best: float | None) -> None:
        pass

    def trial_finished(self, trial: TrialRecord, state: TrialState, value: float | None, error: str | None) -> None:
        pass

    def message(self, text: str) -> None:
        pass


class ConsoleProgress:
    """One status line per epoch on a terminal (rewritten in place), one line per event otherwise.

    The ETA is the mean epoch time measured in this run times the epochs left. Trials trained together (a claim of
    several, in one population) get one line for the whole claim instead, once per epoch of the population: its
    trials, the epoch, the members still training, the best value so far, the rate measured since the claim started
    in trial-epochs per minute (compilation included), and an ETA from that rate for the epochs left in the study.
    """

    def __init__(self, stream: TextIO | None = None, *, metric: str = "val_accuracy", maximize: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.metric = metric
        self.maximize = maximize
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._epoch_seconds: list[float] = []
        self._total = 0
        self._position = 0
        self._epochs = 0
        self._remaining_trials = 0
        self._study = ""
        self._started = time.monotonic()
        #: the claim trained together: its trial numbers, those still training, epochs reported, when it started
        self._claim: list[int] = []
        self._alive: set[int] = set()
        self._claim_epochs: dict[int, int] = {}
        self._claim_started = 0.0
        self._claim_best: float | None = None
        #: the last epoch every member still training had reached when a line was shown, and the claim's first position
        self._claim_shown = 0
        self._claim_first = 0

    def _line(self, text: str, *, transient: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + text + ("" if transient else "\n"))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def study_started(self, study: StudyRecord, finished: int, total: int) -> None:
        self._total = total
        self._study = study.name
        self._remaining_trials = total - finished
        verb = "resuming" if finished else "starting"
        self._line(f"{study.name}: {verb} {study.strategy} study, {finished}/{total} trials done, {study.epochs} epochs each")

    def claim_started(self, trials: Sequence[TrialRecord], position: int, total: int, epochs: int) -> None:
        self._claim = [t.number for t in trials] if len(trials) > 1 else []
        self._alive = set(self._claim)
        self._claim_epochs = dict.fromkeys(self._claim, 0)
        self._claim_started = time.monotonic()
        self._claim_best = None
        self._claim_shown = 0
        self._claim_first = position

    def _claim_line(self, epoch: int) -> str:
        """The line of a claim trained together (see the class's notes)."""
        done = sum(self._claim_epochs.values())
        elapsed = time.monotonic() - self._claim_started
        rate = done / elapsed * 60.0 if elapsed > 0 else None
        last = self._claim_first + len(self._claim) - 1  # the position of the claim's last trial in the study
        left = sum(self._epochs - self._claim_epochs[n] for n in self._alive) + max(self._total - last, 0) * self._epochs
        eta = None if not rate else left / rate * 60.0
        speed = "-" if rate is None else f"{rate:,.0f}"
        return (
            f"  trials {min(self._claim)}-{max(self._claim)} together ({last}/{self._total})  epoch {epoch}/{self._epochs}  "
            f"training {len(self._alive)}/{len(self._claim)}  best {self.metric} {format_value(self._claim_best)}  "
            f"{speed} trial-epochs/min  ETA {format_duration(eta)}"
        )

    def trial_started(self, trial: TrialRecord, position: int, total: int, epochs: int) -> None:
        self._position, self._total, self._epochs = position, total, epochs
        params = ", ".join(f"{k}={format_value(v)}" for k, v in trial.params.items())
        again = f" (attempt {trial.attempt})" if trial.attempt > 1 else ""
        segment = ""
        if trial.member is not None:
            origin = "" if trial.parent_trial is None else f", from trial {trial.parent_trial}"
            segment = f" member {trial.member} epochs {trial.start_epoch}-{trial.end_epoch}{origin}"
        self._line(f"trial {trial.number} ({position}/{total}){segment}{again}: {params}")

    def eta(self, epochs_left_in_trial: int) -> float | None:
        if not self._epoch_seconds:
            return None
        mean = sum(self._epoch_seconds) / len(self._epoch_seconds)
        trials_after = max(self._total - self._position, 0)
        return mean * (epochs_left_in_trial + trials_after * self._epochs)

    def epoch_done(self, trial: TrialRecord, result: EpochResult, best: float | None) -> None:
        if trial.number in self._claim_epochs:
            self._claim_epochs[trial.number] = result.epoch
            if best is not None and (self._claim_best is None or (best > self._claim_best) == self.maximize):
                self._claim_best = best
            epochs = [self._claim_epochs[n] for n in self._alive]
            if epochs and min(epochs) > self._claim_shown:  # every member still training has reached a new epoch
                self._claim_shown = min(epochs)
                self._line(self._claim_line(self._claim_shown), transient=True)
            return
        self._epoch_seconds.append(result.seconds)
        value = result.metrics.get(self.metric)
        eta = self.eta(self._epochs - result.epoch)
        self._line(
            f"  trial {trial.number} ({self._position}/{self._total})  epoch {result.epoch}/{self._epochs}  "
            f"{self.metric} {format_value(value)}  best {format_value(best)}  "
            f"({result.seconds:.1f} s/epoch, ETA {format_duration(eta)})",
            transient=True,
        )

    def trial_finished(self, trial: TrialRecord, state: TrialState, value: float | None, error: str | None) -> None:
        self._alive.discard(trial.number)
        tail = f"{self.metric} {format_value(value)}" if state is TrialState.COMPLETE else (error or "stopped early by the median rule")
        self._line(f"  trial {trial.number} {state.value.lower()}: {tail}")

    def message(self, text: str) -> None:
        self._line(text)
