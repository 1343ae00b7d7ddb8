"""CMA-ES searches every kind of dimension: floats, integers (as integer variables) and choices (as categorical ones)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from hpsearch import TrialRecord, TrialState
from hpsearch.core.errors import ConfigError
from hpsearch.core.space import SearchSpace, parse_space
from hpsearch.search.strategies.cmaes import CMAESConfig, CMAESStrategy

MIXED = parse_space({"x": {"low": 0.0, "high": 1.0}, "k": {"low": 1, "high": 64, "log": True}, "o": ["a", "b", "c", "d"]}, builtin=False)


def mixed_objective(p: dict[str, Any]) -> float:
    """Best at x = 0.3, k = 8 and, by far, o = "c"."""
    return -((p["x"] - 0.3) ** 2) - 0.1 * abs(p["k"] - 8) ** 0.5 + (0.5 if p["o"] == "c" else 0.0)


def run(space: SearchSpace, objective: Callable[[dict[str, Any]], float], n: int, *, seed: int = 0) -> list[TrialRecord]:
    """n trials proposed one by one by CMA-ES (generations of 8) and scored by ``objective``."""
    strategy = CMAESStrategy(space, seed=seed, options=CMAESConfig(population=8))
    history: list[TrialRecord] = []
    for number in range(n):
        suggestion = strategy.ask(history, number)
        assert suggestion is not None and suggestion.generation == number // 8
        params = suggestion.params
        history.append(
            TrialRecord(
                id=number, study_id=1, number=number, state=TrialState.COMPLETE, params=params, seed=0, attempt=1, value=objective(params)
            )
        )
    return history


def test_the_best_choice_is_proposed_far_more_often_than_chance() -> None:
    """Drawn at random, "c" would be a quarter of the proposals; learnt, it is most of the last two generations."""
    late = [t.params["o"] for seed in (0, 1) for t in run(MIXED, mixed_objective, 48, seed=seed)[32:]]
    assert late.count("c") >= 20, late  # of 32 (chance: 8)


def test_integers_are_valid_values_and_converge() -> None:
    for t in run(MIXED, mixed_objective, 24):
        assert type(t.params["k"]) is int and 1 <= t.params["k"] <= 64, t.params
    space = parse_space({"x": {"low": 0.0, "high": 1.0}, "k": {"low": 0, "high": 10}}, builtin=False)
    last = [t.params["k"] for t in run(space, lambda p: -abs(p["k"] - 7) - abs(p["x"] - 0.5), 48)[40:]]
    assert sum(6 <= k <= 8 for k in last) >= 6, last


def test_the_optimiser_learns_the_trained_params_choices_included() -> None:
    """What is told is each trial's stored params: a different choice trained in generation 0 changes generation 1,
    and a fresh instance proposes the same from the same history."""
    history = run(MIXED, mixed_objective, 8)
    other = "a" if history[3].params["o"] != "a" else "b"
    changed = [*history[:3], replace(history[3], params={**history[3].params, "o": other}), *history[4:]]
    ask = lambda h: [CMAESStrategy(MIXED, options=CMAESConfig(population=8)).ask(h, n) for n in range(8, 16)]  # noqa: E731
    assert ask(changed) != ask(history)
    assert ask(changed) == ask(changed)
    failed = [*history[:5], replace(history[5], state=TrialState.FAIL, value=None), *history[6:]]
    assert all(MIXED.contains(s.params) for s in ask(failed) if s is not None)


def test_a_space_of_choices_is_searched_and_one_with_nothing_to_search_is_refused() -> None:
    choices = parse_space({"o": ["a", "b", "c"], "q": [True, False]}, builtin=False)
    assert CMAESConfig.parse({}, strategy="cmaes", space=choices) == CMAESConfig()
    objective = lambda p: (p["o"] == "b") + 0.5 * p["q"]  # noqa: E731
    late = [(t.params["o"], t.params["q"]) for seed in (0, 1) for t in run(choices, objective, 48, seed=seed)[32:]]
    assert late.count(("b", True)) >= 14, late  # of 32 (chance: 32 / 6)
    fixed = parse_space({"o": "a", "k": 3}, builtin=False)
    with pytest.raises(ConfigError, match=r"^space = .*: cmaes needs a dimension with more than one value") as error:
        CMAESConfig.parse({}, strategy="cmaes", space=fixed)
    assert "\n" not in str(error.value)
