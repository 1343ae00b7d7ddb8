"""One conformance suite run over every strategy, plus the rules each strategy adds."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid

from hpsearch import TrialRecord, TrialState, make_strategy
from hpsearch.search.strategies import STRATEGY_CLASSES
from hpsearch.search.strategies.gp import refit_point
from tests.conftest import study_config, toy_metrics

ALL = sorted(STRATEGY_CLASSES)


def _history(strategy_name: str, n: int, *, seed: int = 7, **extra: Any) -> list[TrialRecord]:
    """n finished trials, proposed one by one by the strategy (``extra``: study settings such as its
    own table) and scored by the toy objective."""
    config = study_config(strategy_name, trials=n, epochs=n, **extra)
    strategy = make_strategy(strategy_name, config.space, seed=seed, pbt=config.pbt, options=config.options)
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


def _mixed_history(name: str) -> list[TrialRecord]:
    """A history with every state a strategy can meet: finished trials, a failure, a pruned trial with a
    short curve, a running trial and a waiting one (a dead worker's trial to be redone)."""
    history = _history(name, 10)
    changed = {
        3: {"state": TrialState.FAIL, "value": None, "curve": ()},
        5: {"state": TrialState.PRUNED, "value": None, "curve": history[5].curve[:1]},
        8: {"state": TrialState.RUNNING, "value": None, "curve": ()},
        9: {"state": TrialState.WAITING, "value": None, "curve": ()},
    }
    return [replace(t, **changed.get(t.number, {})) for t in history]


@pytest.mark.parametrize("name", ALL)
def test_histories_with_failed_pruned_running_and_waiting_trials(name: str) -> None:
    """Every strategy proposes from a history in every state (or waits, for a generation still training),
    and proposes the same again from a fresh instance."""
    config = study_config(name)
    history = _mixed_history(name)
    a = make_strategy(name, config.space, seed=7, pbt=config.pbt).ask(history, 10)
    b = make_strategy(name, config.space, seed=7, pbt=config.pbt).ask(history, 10)
    assert a == b
    if a is None:
        assert name in ("evolution", "cmaes", "pbt"), f"{name} proposed nothing"
    else:
        assert config.space.contains(a.params), a.params


@pytest.mark.parametrize("name", ["evolution", "cmaes"])
def test_a_generation_waits_for_the_whole_one_before(name: str) -> None:
    config = study_config(name, **{name: {"population": 4}})
    strategy = make_strategy(name, config.space, seed=7, options=config.options)
    history = _history(name, 4)
    running = [*history[:3], replace(history[3], state=TrialState.RUNNING, value=None)]
    assert strategy.ask(running, 4) is None
    failed = [*history[:3], replace(history[3], state=TrialState.FAIL, value=None)]
    child = strategy.ask(failed, 4)
    assert child is not None and child.generation == 1 and config.space.contains(child.params)


@pytest.mark.parametrize("name", ["tpe", "gp", "evolution", "cmaes"])
def test_model_based_strategies_beat_random_on_the_toy_objective(name: str) -> None:
    """After their start (start-up trials, or the first generations), they propose better points than random search."""
    found = _history(name, 40)
    rnd = _history("random", 40)
    late = np.mean([t.value for t in found[24:]])
    rnd_late = np.mean([t.value for t in rnd[24:]])
    assert late > rnd_late + 0.02, (late, rnd_late)


def test_gp_spreads_a_claim_over_different_points() -> None:
    """Constant liar: proposals made while earlier ones are pending (one claim of several trials) differ."""
    config = study_config("gp")
    strategy = make_strategy("gp", config.space, seed=7)
    history = _history("gp", 10)
    proposals = []
    for number in range(10, 14):
        params = strategy.ask(history, number).params
        proposals.append(params)
        history.append(TrialRecord(id=number, study_id=1, number=number, state=TrialState.RUNNING, params=params, seed=0, attempt=1))
    assert len({tuple(sorted(p.items())) for p in proposals}) == 4, proposals


def test_evolution_breeds_from_the_previous_generation_and_its_elites() -> None:
    options = {"population": 4, "elites": 1, "tournament": 2}
    config = study_config("evolution", evolution=options)
    strategy = make_strategy("evolution", config.space, seed=7, options=config.options)
    history = _history("evolution", 12, seed=7, evolution=options)
    for number in range(12):
        suggestion = strategy.ask(history[:number], number)  # what was proposed then (strategies are deterministic)
        assert suggestion.params == history[number].params
        if number >= 4:
            d = suggestion.decision
            assert d is not None and d.kind in ("crossover", "mutation") and d.generation == number // 4
            first, second = strategy.parents(history[: number + 1])[number]
            assert d.parent_trial == first and f"#{second}" in d.reason
            assert d.second_parent == second  # both parents are stored with the child (its lineage is read from them)
            best_before = max(history[: (number // 4 - 1) * 4], key=lambda t: t.value, default=None)
            allowed = set(range((number // 4 - 1) * 4, (number // 4) * 4)) | ({best_before.number} if best_before else set())
            assert {first, second} <= allowed, (number, first, second, allowed)
            # every hyperparameter comes from a parent unless the reason says it mutated
            for name, value in suggestion.params.items():
                if name not in d.reason.split("mutated: ")[1]:
                    assert value in (history[first].params[name], history[second].params[name])
    assert [t.generation for t in history] == [0] * 4 + [1] * 4 + [2] * 4


def test_qmc_points_are_stratified_and_seeded() -> None:
    """The first 16 Sobol points put exactly one point in each sixteenth of a range (random draws leave gaps)."""
    config = study_config("qmc", space={"dropout": {"low": 0.0, "high": 0.5}, "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True}})
    strategy = make_strategy("qmc", config.space, seed=3)
    points = [strategy.ask([], n).params for n in range(16)]
    for name in ("dropout", "learning_rate"):
        cells = {int(config.space[name].to_unit(p[name]) * 16) for p in points}
        assert cells == set(range(16)), (name, sorted(cells))
    assert points == [make_strategy("qmc", config.space, seed=3).ask([], n).params for n in range(16)]
    assert points != [make_strategy("qmc", config.space, seed=4).ask([], n).params for n in range(16)]


# ------------------------------------------------------------------ the registry


def test_every_strategy_is_registered_once_with_its_options_type() -> None:
    from hpsearch.core.config import StrategyOptions, strategy_names
    from hpsearch.search.strategies import STRATEGIES, EvolutionConfig, PBTConfig

    assert STRATEGIES.names() == strategy_names() == ("grid", "random", "tpe", "gp", "evolution", "cmaes", "qmc", "pbt", "nsga2")
    assert STRATEGIES.entry("evolution").options is EvolutionConfig and STRATEGIES.entry("pbt").options is PBTConfig
    assert all(issubclass(STRATEGIES.entry(n).options, StrategyOptions) for n in STRATEGIES)
    with pytest.raises(ValueError, match="unknown strategy 'nope'; expected one of grid, random"):
        make_strategy("nope", study_config("random").space)
    with pytest.raises(ValueError, match="strategy 'grid' is registered already"):
        STRATEGIES.add(STRATEGY_CLASSES["grid"])


def test_a_new_strategy_is_its_class_its_options_and_one_registry_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A strategy of its own, with a table [toy] checked by its options type: the study file accepts it,
    refuses a bad value in one line, stores the table in the study's identity, and the strategy gets its options."""
    from collections.abc import Mapping
    from dataclasses import dataclass

    from hpsearch import ConfigError, parse_study
    from hpsearch.core import config as core_config
    from hpsearch.core.config import StrategyOptions
    from hpsearch.search.strategies import STRATEGIES, RandomStrategy

    monkeypatch.setattr(core_config, "_STRATEGY_OPTIONS", dict(core_config._STRATEGY_OPTIONS))
    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))

    @dataclass(frozen=True)
    class ToyOptions(StrategyOptions):
        step: int = 1

        @classmethod
        def parse(cls, table: Mapping[str, Any], *, strategy: str, space: Any) -> ToyOptions:
            step = table.get("step", 1)
            if not isinstance(step, int) or step < 1:
                raise ConfigError("toy.step", step, "must be a whole number >= 1")
            return cls(step=step)

    class ToyStrategy(RandomStrategy):
        name = "toy"
        OPTIONS = ToyOptions

    STRATEGIES.add(ToyStrategy)  # the registry line
    doc = {"strategy": "toy", "budget": {"trials": 3, "epochs": 1}, "toy": {"step": 2}}
    config = parse_study(doc, default_name="t")
    assert config.options == ToyOptions(step=2) and config.identity()["toy"] == {"step": 2}
    strategy = make_strategy("toy", config.space, options=config.options)
    assert isinstance(strategy, ToyStrategy) and strategy.options == ToyOptions(step=2)
    with pytest.raises(ConfigError, match=r"^toy\.step = 0: must be a whole number >= 1$"):
        parse_study({**doc, "toy": {"step": 0}}, default_name="t")
    with pytest.raises(ConfigError, match=r"^toy\.other = 1: unknown key; expected one of step$"):
        parse_study({**doc, "toy": {"other": 1}}, default_name="t")
    with pytest.raises(ConfigError, match=r'a \[toy\] table only goes with strategy = "toy" \(this study is random\)'):
        parse_study({**doc, "strategy": "random"}, default_name="t")


def test_tpe_kept_replay_proposes_what_a_rebuild_does() -> None:
    """TPE keeps its replayed Optuna study between asks and adds only what is new: through claims of several
    trials, trials finishing, failing and pruned, a dead worker's trial waiting, a proposal a claim did not take
    and another worker's trial under that number, every proposal equals a fresh instance's (a rebuild), and the
    replay is rebuilt only when the history changed under it."""
    config = study_config("tpe")
    kept = make_strategy("tpe", config.space, seed=7)
    rng = np.random.default_rng(0)
    history: list[TrialRecord] = []

    def ask(hist: list[TrialRecord], number: int) -> dict:
        params = kept.ask(hist, number).params
        assert params == make_strategy("tpe", config.space, seed=7).ask(hist, number).params
        return params

    def record(number: int, params: dict, state: TrialState, curve: tuple = ()) -> TrialRecord:
        value = curve[-1] if state is TrialState.COMPLETE else None
        return TrialRecord(id=number, study_id=1, number=number, state=state, params=params, seed=0, attempt=1, value=value, curve=curve)

    while len(history) < 24:
        pending: list[TrialRecord] = []
        for _ in range(3):  # a claim of three, each asked with the ones before it running
            number = len(history) + len(pending)
            pending.append(record(number, ask(history + pending, number), TrialState.RUNNING))
        if len(history) == 9:  # the claim lost to another worker: its number went to a different trial
            ask(history, len(history))
            pending = [record(len(history), config.space.sample(rng), TrialState.RUNNING)]
        history += pending
        ask(history, len(history))  # a proposal nobody takes
        for t in pending:
            curve = tuple(toy_metrics(t.params, e, 0)["val_accuracy"] for e in (1, 2))
            state = [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.WAITING][t.number % 5]
            history[t.number] = record(t.number, t.params, state, curve[:1] if state is TrialState.PRUNED else curve)
    assert kept.replay.rebuilds <= 3, kept.replay.rebuilds


def test_gp_kept_instance_proposes_what_a_fresh_one_does() -> None:
    """gp memoises its kernel fits in the process; asked along a growing history with trials running, every
    proposal equals a fresh instance's (a resumed run's), and the hyperparameters are refitted only on schedule."""
    config = study_config("gp", gp={"startup_trials": 4, "candidates": 200})
    kept = make_strategy("gp", config.space, seed=7, options=config.options)
    history = _history("gp", 10, gp={"startup_trials": 4, "candidates": 200})
    for n in range(6, 9):
        running = [replace(history[n], state=TrialState.RUNNING, value=None, curve=())]
        for hist, number in ((history[:n], n), (history[:n] + running, n + 1)):
            fresh = make_strategy("gp", config.space, seed=7, options=config.options)
            assert kept.ask(hist, number) == fresh.ask(hist, number)
    assert len(kept._fitted) == len({refit_point(n, 4) for n in range(6, 9)})


#: The conftest space with SGD's momentum and Nesterov flag, which exist only for SGD (and Nesterov only with momentum on).
CONDITIONAL_SPACE = {
    "width": {"values": [32, 64, 128]},
    "dropout": {"low": 0.0, "high": 0.5, "grid_points": 2},
    "optimizer": {"values": ["adam", "sgd"]},
    "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True, "grid_points": 2},
    "momentum": {"values": [0.0, 0.9], "when": {"optimizer": ["sgd"]}},
    "nesterov": {"values": [True, False], "when": {"momentum": [0.9]}},
}


@pytest.mark.parametrize("name", ALL)
def test_a_conditional_space_gets_exactly_the_dimensions_that_exist(name: str) -> None:
    """Every strategy proposes, for each trial, a value for each dimension that exists under its other values and
    for no other, from fresh instances alike; and meets both sides of a condition."""
    config = study_config(name, space=CONDITIONAL_SPACE)
    history = _history(name, 16, space=CONDITIONAL_SPACE)
    for trial in history:
        assert config.space.contains(trial.params), trial.params
        sgd = trial.params["optimizer"] == "sgd"
        assert ("momentum" in trial.params) == sgd
        assert ("nesterov" in trial.params) == (sgd and trial.params["momentum"] == 0.9)
    assert {t.params["optimizer"] for t in history} == {"adam", "sgd"}, [t.params for t in history]
    a = make_strategy(name, config.space, seed=7, pbt=config.pbt, options=config.options).ask(history, 16)
    b = make_strategy(name, config.space, seed=7, pbt=config.pbt, options=config.options).ask(history, 16)
    assert a == b
    assert a is None or config.space.contains(a.params), a


def test_a_conditional_grid_enumerates_each_valid_combination_once() -> None:
    space = study_config("grid", space=CONDITIONAL_SPACE).space
    points = space.grid()
    # 3 widths x 2 dropouts x 2 rates, each with adam, sgd without momentum, and sgd with momentum with and without Nesterov
    assert len(points) == space.grid_size() == 12 * 4
    assert len({tuple(sorted(p.items())) for p in points}) == len(points) and all(space.contains(p) for p in points)


#: Two objectives of the toy model: its accuracy, and its cost (a stand-in for its parameter count).
TWO_OBJECTIVES = {"metrics": ["val_accuracy", "params"], "directions": ["maximize", "minimize"]}
SEVERAL = [n for n in ALL if STRATEGY_CLASSES[n].OPTIONS.SEVERAL_OBJECTIVES]


def _cost(params: dict[str, Any]) -> float:
    return 795.0 * params["width"] + 10.0


def _pareto_history(name: str, n: int, *, seed: int = 7) -> list[TrialRecord]:
    """n trials of a study of two objectives, proposed one by one and given both values (a few fail, one is pruned)."""
    config = study_config(name, trials=n, objective=TWO_OBJECTIVES, **({name: {"population": 4}} if name == "nsga2" else {}))
    strategy = make_strategy(name, config.space, seed=seed, options=config.options, directions=["maximize", "minimize"])
    history: list[TrialRecord] = []
    for number in range(n):
        suggestion = strategy.ask(history, number)
        assert suggestion is not None, (name, number)
        accuracy = toy_metrics(suggestion.params, 2, 0)["val_accuracy"]
        state = TrialState.FAIL if number % 7 == 3 else TrialState.PRUNED if number == 5 else TrialState.COMPLETE
        values = (accuracy, _cost(suggestion.params)) if state is TrialState.COMPLETE else None
        history.append(
            TrialRecord(
                id=number,
                study_id=1,
                number=number,
                state=state,
                params=suggestion.params,
                seed=number,
                attempt=1,
                value=None if values is None else accuracy,
                values=values,
                curve=(accuracy,) if state is not TrialState.FAIL else (),
                epochs=2,
                generation=suggestion.generation,
            )
        )
    return history


@pytest.mark.parametrize("name", ALL)
def test_every_strategy_runs_several_objectives_or_refuses_in_one_line(name: str) -> None:
    """A strategy that can (random, qmc, grid, tpe, nsga2) proposes, from a history of two objectives with failures and a
    pruned trial, points of the space, the same from a fresh instance; any other is refused by the study file and by
    make_strategy in one line naming the strategies that can."""
    from hpsearch import ConfigError

    if name not in SEVERAL:
        with pytest.raises(ConfigError) as info:
            study_config(name, objective=TWO_OBJECTIVES)
        assert info.value.field == "strategy" and "ranks trials by one objective" in info.value.rule
        assert "\n" not in str(info.value) and "nsga2" in str(info.value)
        with pytest.raises(ValueError, match="a study of several objectives runs grid, random, tpe, qmc, nsga2"):
            make_strategy(name, study_config(name).space, directions=["maximize", "minimize"])
        return
    config = study_config(name, objective=TWO_OBJECTIVES)
    history = _pareto_history(name, 14)
    assert all(config.space.contains(t.params) for t in history)
    options = config.options if name != "nsga2" else study_config(name, objective=TWO_OBJECTIVES, nsga2={"population": 4}).options
    a, b = (make_strategy(name, config.space, seed=7, options=options, directions=["maximize", "minimize"]).ask(history, 14) for _ in "ab")
    assert a == b and (a is None or config.space.contains(a.params))


def test_nsga2_and_tpe_find_a_larger_hypervolume_than_random() -> None:
    """At an equal budget of 40 trials on the toy accuracy-against-cost problem, the median hypervolume over three
    seeds (seeded, so the same every run; one seed alone is too noisy to rank them)."""
    from hpsearch.core.objectives import hypervolume

    reference = (0.0, _cost({"width": 128}) * 1.1)

    def median_volume(name: str) -> float:
        fronts = ([t.values for t in _pareto_history(name, 40, seed=seed) if t.values is not None] for seed in range(3))
        return float(np.median([hypervolume(points, [True, False], reference) for points in fronts]))

    volume = {name: median_volume(name) for name in ("random", "tpe", "nsga2")}
    assert volume["nsga2"] > volume["random"] and volume["tpe"] > volume["random"], volume


def test_nsga2_ranks_by_front_then_crowding_and_records_its_lineage() -> None:
    """A child's parents win tournaments on (front, crowding distance): with one trial dominating all, that trial's
    score is the only one of front 0; every child of generation 1 names both parents, as an evolution study's does."""
    from hpsearch.search.strategies import NSGA2Strategy

    config = study_config("nsga2", objective=TWO_OBJECTIVES, nsga2={"population": 4, "tournament": 4, "elites": 0})
    strategy = make_strategy("nsga2", config.space, seed=7, options=config.options, directions=["maximize", "minimize"])
    assert isinstance(strategy, NSGA2Strategy)
    history = _pareto_history("nsga2", 8)
    generation0 = [t for t in history if t.generation == 0]
    scores = strategy._scores(generation0)
    for trial, score in zip(generation0, scores):
        if trial.values is None:
            assert score < min(s for t, s in zip(generation0, scores) if t.values is not None)
    child = strategy.decision(history, 4)
    assert child is not None and child.generation == 1 and child.parent_trial is not None and child.second_parent is not None
    # a tournament of the whole generation picks the best scored: the first parent is a trial of its front 0
    assert scores[[t.number for t in generation0].index(child.parent_trial)] == max(scores)
