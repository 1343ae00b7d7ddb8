"""One suite run over every pruning rule, plus what successive halving and Hyperband add (no TensorFlow)."""

from __future__ import annotations

import pytest

from hpsearch import ConfigError
from hpsearch.core.config import PRUNING_RULES
from hpsearch.search.pruning import HyperbandRule, SuccessiveHalvingRule, pruning_rule
from tests.conftest import study_config

PARAMS = {"width": 64, "dropout": 0.1, "optimizer": "adam", "learning_rate": 1e-3}


def _rule(name: str, epochs: int = 9, **pruning):
    config = study_config("random", epochs=epochs, pruning={"rule": name, "startup_trials": 0, **pruning})
    return pruning_rule(config, [])


@pytest.mark.parametrize("rule", PRUNING_RULES)
def test_the_best_trial_so_far_is_never_stopped(rule: str) -> None:
    r = _rule(rule)
    rivals = {n: [0.1 * (e + 1) / 10 for e in range(8)] for n in range(12)}
    assert not any(r.stops(20, PARAMS, [0.9] * epoch, rivals) for epoch in range(1, 9))


@pytest.mark.parametrize("rule", ["successive_halving", "hyperband"])
def test_decisions_depend_only_on_lower_numbered_trials(rule: str) -> None:
    """What trials numbered above a trial reported does not change its decision (so a resumed run decides the same)."""
    r = _rule(rule)
    lower = {n: [0.5 + 0.01 * n] * 8 for n in range(10)}
    higher = {n: [0.99] * 8 for n in range(11, 30)}
    for epoch in range(1, 9):
        curve = [0.55] * epoch
        assert r.stops(10, PARAMS, curve, lower) == r.stops(10, PARAMS, curve, {**lower, **higher})
        assert r.stops(10, PARAMS, curve, lower) == _rule(rule).stops(10, PARAMS, curve, lower)


def test_successive_halving_keeps_the_top_third_at_each_rung() -> None:
    r = _rule("successive_halving", epochs=9, min_epochs=1, reduction_factor=3)
    assert isinstance(r, SuccessiveHalvingRule) and r.rungs(0) == [1, 3]
    rivals = {n: [v] * 9 for n, v in enumerate([0.9, 0.8, 0.7, 0.6, 0.5])}  # five rivals: 6 with the trial, top 2 go on
    assert not r.stops(5, PARAMS, [0.85], rivals)  # second of six
    assert r.stops(5, PARAMS, [0.75], rivals)  # third of six
    assert not r.stops(5, PARAMS, [0.1, 0.1], rivals)  # epoch 2 is not a rung
    assert r.stops(5, PARAMS, [0.95, 0.95, 0.75], rivals)  # at the rung at epoch 3 its value there counts, not the best so far
    # minimising: the lowest values go on
    low = pruning_rule(study_config("random", epochs=9, objective={"metric": "val_loss"}, pruning={"rule": "successive_halving"}), [])
    assert not low.stops(5, PARAMS, [0.55], rivals) and low.stops(5, PARAMS, [0.85], rivals)
    # an early trial with no rival at the rung goes on
    assert not r.stops(0, PARAMS, [0.01], {})


def test_hyperband_draws_each_trial_into_a_bracket_the_aggressive_ones_most() -> None:
    r = _rule("hyperband", epochs=9, min_epochs=1, reduction_factor=3)
    assert isinstance(r, HyperbandRule) and r.s_max == 2
    brackets = [r.bracket(n) for n in range(3000)]
    assert brackets == [_rule("hyperband", epochs=9).bracket(n) for n in range(3000)]
    counts = [brackets.count(b) for b in range(3)]
    assert counts[0] > counts[1] > counts[2] > 0, counts
    assert [r.rungs(next(n for n in range(3000) if brackets[n] == b)) for b in range(3)] == [[1, 3], [3], []]
    # compared within its bracket only: rivals of another bracket do not count
    n = next(n for n in range(100, 3000) if brackets[n] == 0)
    others = {m: [0.99] * 9 for m in range(n) if brackets[m] != 0}
    assert not r.stops(n, PARAMS, [0.5], others)
    last = next(n for n in range(3000) if brackets[n] == 2)
    assert not any(r.stops(last, PARAMS, [0.0] * e, {m: [1.0] * 9 for m in range(last)}) for e in range(1, 9))


def test_bad_pruning_settings_name_the_field() -> None:
    with pytest.raises(ConfigError, match=r"pruning.rule = 'asha': must be one of median, successive_halving, hyperband"):
        study_config("random", pruning={"rule": "asha"})
    with pytest.raises(ConfigError, match=r"pruning.min_epochs = 2: the first rung must come before the last epoch"):
        study_config("random", epochs=2, pruning={"rule": "hyperband", "min_epochs": 2})
    with pytest.raises(ConfigError, match=r"pruning.reduction_factor = 1"):
        study_config("random", pruning={"rule": "successive_halving", "reduction_factor": 1})


def test_every_rule_is_registered_with_the_options_that_check_it() -> None:
    """One registry: the names a study file accepts, the class each builds, and the check of its settings."""
    from hpsearch.core.config import PruningOptions
    from hpsearch.search.pruning import PRUNING_RULES as REGISTRY
    from hpsearch.search.pruning import MedianRule, RungOptions

    assert REGISTRY.names() == tuple(PRUNING_RULES) == ("median", "successive_halving", "hyperband")
    for name in PRUNING_RULES:
        assert type(_rule(name)) is REGISTRY.entry(name).cls
    assert REGISTRY.entry("hyperband").options is RungOptions and MedianRule.OPTIONS is PruningOptions
    rule = r"^pruning\.min_epochs = 4: the first rung must come before the last epoch \(budget\.epochs = 4\)$"
    with pytest.raises(ConfigError, match=rule):
        study_config("random", epochs=4, pruning={"rule": "hyperband", "min_epochs": 4})
    study_config("random", epochs=4, pruning={"rule": "median", "min_epochs": 4})  # the median rule has no rungs
