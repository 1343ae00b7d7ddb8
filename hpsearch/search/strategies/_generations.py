"""What the generational strategies (evolution, CMA-ES) share: trials grouped into generations
by number, and their results as scores where higher is better."""

from __future__ import annotations

from collections.abc import Sequence

from hpsearch.core.records import TrialRecord, TrialState

__all__ = ["finished_generation", "result_of", "scores"]


def finished_generation(history: Sequence[TrialRecord], generation: int, size: int) -> list[TrialRecord] | None:
    """The ``size`` trials of ``generation`` (numbered ``generation * size`` on), or None while one of
    them is missing or not finished (the next generation waits for the whole of this one)."""
    numbers = range(generation * size, (generation + 1) * size)
    by_number = {t.number: t for t in history if t.number in numbers}
    if len(by_number) < size or not all(t.state.is_finished() for t in by_number.values()):
        return None
    return [by_number[n] for n in numbers]


def result_of(trial: TrialRecord) -> float | None:
    """A finished trial's result: its value, or a pruned trial's last reported value; None for a failure."""
    if trial.state is TrialState.FAIL:
        return None
    if trial.value is not None:
        return trial.value
    return trial.curve[-1] if trial.curve else None


def scores(trials: Sequence[TrialRecord], *, maximize: bool) -> list[float]:
    """Each trial's result with higher better; a failed trial scores below the worst success
    (so that selection never prefers it, and CMA-ES still gets a value for it)."""
    sign = 1.0 if maximize else -1.0
    results = [result_of(t) for t in trials]
    known = [sign * r for r in results if r is not None]
    floor = (min(known) - 1.0 - abs(min(known))) if known else -1.0
    return [floor if r is None else sign * r for r in results]
