"""One conformance suite run over every strategy, plus the rules each strategy adds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid

from hpsearch import TrialRecord, TrialState, make_strategy
from hpsearch.strategies import STRATEGY_CLASSES
from tests.conftest import study_config, toy_metrics

ALL = sorted(STRATEGY_CLASSES)


def _history(strategy_name: str, n: int, *, seed: int = 7) -> list[TrialRecord]:
    """n finished trials, proposed one by one by the strategy and scored by the toy objective."""
    config = study_config(strategy_name, trials=n, epochs=n)
    strategy = make_strategy(strategy_name, config.space, seed=seed, pbt=config.pbt)
    history: list[TrialRecord] = []
    for number in range(n):
        suggestion = strategy.ask(history, number)
        assert suggestion is not None
        params = suggestion.params
        epochs = suggestion.epochs or 2
        curve = tuple(toy_metrics(params, suggestion.start_epoch + e, 0)["val_accuracy"] for e in range(1, epochs + 1))
        history.append(
            TrialRecord(
                id=number,
                study_id=1,
                number=number,
                state=TrialState.COMPLETE,
                params=params,
                seed=number,
                attempt=1,
                value=curve[-1],
                curve=curve,
                epochs=epochs,
                member=suggestion.member,
                generation=suggestion.generation,
                start_epoch=suggestion.start_epoch,
                parent_trial=suggestion.parent_trial,
            )
        )
    return history


@pytest.mark.parametrize("name", ALL)
def test_proposals_lie_in_the_space(name: str) -> None:
    config = study_config(name)
    for trial in _history(name, 12):
        assert config.space.contains(trial.params), trial.params


@pytest.mark.parametrize("name", ALL)
def test_same_history_gives_the_same_proposal_from_a_fresh_instance(name: str) -> None:
    """Strategies keep no state: a new instance (a resumed run) proposes exactly what the old one would."""
    config = study_config(name)
    history = _history(name, 11)
    a = make_strategy(name, config.space, seed=7, pbt=config.pbt).ask(history, 11)
    b = make_strategy(name, config.space, seed=7, pbt=config.pbt).ask(history, 11)
    assert a == b


@pytest.mark.parametrize("name", ALL)
def test_proposals_are_plain_python_values(name: str) -> None:
    for trial in _history(name, 5):
        assert type(trial.params["width"]) is int
        assert type(trial.params["dropout"]) is float
        assert type(trial.params["learning_rate"]) is float
        assert type(trial.params["optimizer"]) is str


def test_grid_runs_every_point_once_in_parameter_grid_order() -> None:
    config = study_config("grid", trials=None)
    strategy = make_strategy("grid", config.space)
    expected = list(ParameterGrid({name: dim.grid_values() for name, dim in config.space.items()}))
    assert strategy.budget(None) == len(expected) == 3 * 2 * 2 * 2
    proposed = [strategy.ask([], n).params for n in range(len(expected))]
    assert proposed == expected
    assert strategy.ask([], len(expected)) is None
    assert strategy.budget(5) == 5


def test_random_depends_only_on_seed_and_number() -> None:
    config = study_config("random")
    a = make_strategy("random", config.space, seed=3)
    b = make_strategy("random", config.space, seed=3)
    c = make_strategy("random", config.space, seed=4)
    history = _history("random", 6)
    # the history (what finished, in which order) does not change trial n's draw
    assert [a.ask([], n).params for n in range(6)] == [b.ask(list(reversed(history)), n).params for n in range(6)]
    assert [a.ask([], n).params for n in range(6)] != [c.ask([], n).params for n in range(6)]


def test_random_covers_the_ranges() -> None:
    config = study_config("random", space={"learning_rate": {"low": 1e-5, "high": 1e-1, "log": True}})
    strategy = make_strategy("random", config.space, seed=0)
    lrs = np.array([strategy.ask([], n).params["learning_rate"] for n in range(400)])
    assert lrs.min() >= 1e-5 and lrs.max() <= 1e-1
    # log-uniform: about a quarter of the draws fall in each decade
    decades = np.histogram(np.log10(lrs), bins=[-5, -4, -3, -2, -1])[0]
    assert decades.min() > 60, decades


def test_tpe_beats_random_on_the_toy_objective() -> None:
    """After its random start-up trials, TPE proposes better points than random search does."""
    tpe = _history("tpe", 40)
    rnd = _history("random", 40)
    tpe_late = np.mean([t.value for t in tpe[20:]])
    rnd_late = np.mean([t.value for t in rnd[20:]])
    assert tpe_late > rnd_late + 0.02, (tpe_late, rnd_late)


def test_tpe_avoids_a_point_already_running() -> None:
    """Constant liar: with a trial RUNNING, TPE does not propose that same point again."""
    config = study_config("tpe")
    history = _history("tpe", 12)
    strategy = make_strategy("tpe", config.space, seed=7)
    first = strategy.ask(history, 12).params
    running = TrialRecord(id=12, study_id=1, number=12, state=TrialState.RUNNING, params=first, seed=0, attempt=1)
    # same trial number, so the same sampler seed: only the running trial differs
    second = strategy.ask([*history, running], 12).params
    assert strategy.ask(history, 12).params == first
    assert second != first
