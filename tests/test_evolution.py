"""The evolution strategy's adaptive mutation step: set by how many children of each generation found a
new best, recomputed from the history alone, named in every child's decision."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import pytest

from hpsearch import TrialRecord, TrialState
from hpsearch.core.space import FloatRange, SearchSpace
from hpsearch.search.strategies.evolution import GROW, SHRINK, STEP_BOUNDS, EvolutionConfig, EvolutionStrategy

SPACE = SearchSpace([FloatRange("x", 0.0, 1.0), FloatRange("y", 0.0, 1.0)])
OPTIONS = EvolutionConfig(population=4, elites=1, tournament=2, sigma=0.15)


def _strategy(options: EvolutionConfig = OPTIONS) -> EvolutionStrategy:
    return EvolutionStrategy(SPACE, seed=3, maximize=False, options=options)


def _trial(number: int, params: dict, value: float | None, state: TrialState = TrialState.COMPLETE) -> TrialRecord:
    return TrialRecord(
        id=number, study_id=1, number=number, state=state, params=params, seed=number, attempt=1,
        value=value, curve=() if value is None else (value,), epochs=1, generation=number // OPTIONS.population,
    )  # fmt: skip


def _run(generations: int, value: Callable[[int, dict], float], options: EvolutionConfig = OPTIONS) -> list[TrialRecord]:
    """``generations`` generations proposed by the strategy, trial ``n`` scoring ``value(n, params)`` (minimised)."""
    strategy = _strategy(options)
    history: list[TrialRecord] = []
    for number in range(generations * options.population):
        suggestion = strategy.ask(history, number)
        assert suggestion is not None
        history.append(_trial(number, suggestion.params, value(number, suggestion.params)))
    return history


def test_the_step_shrinks_after_generations_without_a_new_best_and_grows_when_most_children_find_one() -> None:
    strategy = _strategy()
    stale = _run(4, lambda n, p: float(n) if n < 4 else 10.0 + n)  # trial 0 stays the best
    assert strategy.step(stale, 1) == pytest.approx(0.15)
    assert strategy.step(stale, 2) == pytest.approx(0.15 * math.exp(-SHRINK))
    assert strategy.step(stale, 3) == pytest.approx(0.15 * math.exp(-2 * SHRINK))

    improving = _run(3, lambda n, p: -float(n))  # every child beats every trial before it
    assert strategy.step(improving, 2) == pytest.approx(0.15 * math.exp(GROW))
    assert strategy.step(improving, 3) == pytest.approx(min(0.15 * math.exp(2 * GROW), STEP_BOUNDS[1]))

    mostly = _run(2, lambda n, p: -float(n) if n % 4 else 10.0 + n)  # three children of four find a new best
    assert 0.15 < strategy.step(mostly, 2) < 0.15 * math.exp(GROW)

    failed = [replace(t, state=TrialState.FAIL, value=None, curve=()) if t.number >= 4 else t for t in improving]
    assert strategy.step(failed, 2) == pytest.approx(0.15 * math.exp(-SHRINK))  # a failed child finds nothing
    assert _strategy(replace(OPTIONS, sigma=0.02)).step(stale, 4) == pytest.approx(STEP_BOUNDS[0])  # never below the floor


def test_the_step_is_a_function_of_the_history_alone() -> None:
    """A fresh instance proposes the same child, whatever the history's order; the decision names its step."""
    history = _run(5, lambda n, p: (p["x"] - 0.3) ** 2 + (p["y"] - 0.7) ** 2)
    kept = _strategy()
    for number in range(4 * 4, 5 * 4):
        mine, fresh = kept.ask(history[:16], number), _strategy().ask(list(reversed(history[:16])), number)
        assert mine == fresh and mine is not None and mine.decision is not None
        assert mine.params == history[number].params
        assert f"; step {kept.step(history, 4):.3g}" in (mine.decision.reason or "")
    running = [replace(t, state=TrialState.RUNNING, value=None, curve=()) if t.number == 13 else t for t in history[:16]]
    assert _strategy().ask(running, 16) is None  # generation 4 waits for the whole of generation 3, as before


def test_children_search_closer_to_their_parents_once_nothing_improves() -> None:
    """After generations without a new best, every child of the next ones lies within a few small steps of
    the parents it inherited from; with a fixed step of sigma (0.15), as before, some would not."""
    history = _run(9, lambda n, p: (p["x"] - 0.3) ** 2 + (p["y"] - 0.7) ** 2 if n < 4 else 5.0)
    by_number = {t.number: t for t in history}
    strategy = _strategy()
    assert strategy.step(history, 7) == strategy.step(history, 8) == pytest.approx(STEP_BOUNDS[0])
    for number in range(7 * 4, 9 * 4):
        d = strategy.decision(history, number)
        assert d is not None and d.second_parent is not None and d.parent_trial is not None
        first, second = by_number[d.parent_trial].params, by_number[d.second_parent].params
        for name in SPACE:
            moved = min(abs(history[number].params[name] - first[name]), abs(history[number].params[name] - second[name]))
            assert moved < 0.05, (number, name, moved)
