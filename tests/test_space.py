"""The search space: parsing dimensions, sampling, grid points, Optuna distributions, membership."""

from __future__ import annotations

import numpy as np
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from sklearn.model_selection import ParameterGrid

from hpsearch.core.errors import ConfigError
from hpsearch.core.space import (
    DEFAULT_PARAMS,
    HYPERPARAMETERS,
    Choice,
    FloatRange,
    IntRange,
    SearchSpace,
    parse_space,
)

N_DRAWS = 5000


# --------------------------------------------------------------------------- parsing


def test_empty_space_fixes_every_hyperparameter_at_the_seed_model_values():
    space = parse_space(None)
    assert list(space) == list(HYPERPARAMETERS) == ["width", "dropout", "optimizer", "learning_rate"]
    assert space["width"] == Choice("width", (128,))
    assert space["dropout"] == Choice("dropout", (0.2,))
    assert space["optimizer"] == Choice("optimizer", ("adam",))
    assert space["learning_rate"] == Choice("learning_rate", (1e-3,))
    assert parse_space({}) == space
    assert space.grid() == [DEFAULT_PARAMS]


def test_bare_value_is_a_fixed_dimension_and_others_keep_defaults():
    space = parse_space({"width": 64, "optimizer": "SGD"})
    assert space["width"] == Choice("width", (64,))
    assert space["optimizer"] == Choice("optimizer", ("sgd",))  # lower-cased
    assert space["dropout"] == Choice("dropout", (0.2,))
    assert space["learning_rate"] == Choice("learning_rate", (1e-3,))


def test_bare_fixed_dropout_integer_zero_becomes_float():
    dim = parse_space({"dropout": 0})["dropout"]
    assert dim == Choice("dropout", (0.0,))
    assert type(dim.choices[0]) is float


def test_bare_list_and_values_table_are_the_same_choice():
    bare = parse_space({"optimizer": ["adam", "RMSprop", "sgd"], "width": [32, 64]})
    table = parse_space({"optimizer": {"values": ["adam", "rmsprop", "sgd"]}, "width": {"values": [32, 64]}})
    assert bare == table
    assert bare["optimizer"] == Choice("optimizer", ("adam", "rmsprop", "sgd"))
    assert bare["width"] == Choice("width", (32, 64))


def test_integer_range_for_width():
    dim = parse_space({"width": {"low": 16, "high": 256, "log": True, "grid_points": 5}})["width"]
    assert dim == IntRange("width", 16, 256, log=True, grid_points=5)


def test_float_range_for_dropout_is_linear_by_default_and_bounds_become_floats():
    dim = parse_space({"dropout": {"low": 0, "high": 0.5}})["dropout"]
    assert dim == FloatRange("dropout", 0.0, 0.5, log=False, grid_points=None)
    assert type(dim.low) is float


def test_learning_rate_range_is_log_scale_by_default():
    dim = parse_space({"learning_rate": {"low": 1e-4, "high": 1e-2}})["learning_rate"]
    assert dim == FloatRange("learning_rate", 1e-4, 1e-2, log=True)


def test_learning_rate_range_can_be_made_linear():
    dim = parse_space({"learning_rate": {"low": 1e-4, "high": 1e-2, "log": False}})["learning_rate"]
    assert dim == FloatRange("learning_rate", 1e-4, 1e-2, log=False)


def test_width_range_is_linear_unless_log_is_given():
    dim = parse_space({"width": {"low": 16, "high": 64}})["width"]
    assert dim == IntRange("width", 16, 64, log=False, grid_points=None)


@pytest.mark.parametrize(
    ("spec", "field", "value"),
    [
        ({"width": {"low": 16, "high": 64, "step": 8}}, "space.width.step", 8),
        ({"batch": 32}, "space.batch", 32),
        ({"width": {"low": 16}}, "space.width.high", None),
        ({"width": {"low": 64, "high": 16}}, "space.width", {"low": 64, "high": 16}),
        ({"width": {"values": [16], "low": 8}}, "space.width", {"values": [16], "low": 8}),
        ({"optimizer": {"low": 1, "high": 2}}, "space.optimizer", {"low": 1, "high": 2}),
        ({"dropout": {"low": 0.0, "high": 0.5, "grid_points": 0}}, "space.dropout.grid_points", 0),
        ({"width": {"values": [16, 16]}}, "space.width.values", [16, 16]),
        ({"optimizer": ["adam", "Adam"]}, "space.optimizer.values", ["adam", "Adam"]),
    ],
    ids=[
        "unknown-range-key",
        "unknown-hyperparameter",
        "range-without-high",
        "inverted",
        "values-and-range",
        "optimizer-range",
        "zero-grid-points",
        "repeated-values",
        "repeated-after-lowercasing",
    ],
)
def test_parse_space_rejects_bad_dimensions_with_field_and_value(spec, field, value):
    with pytest.raises(ConfigError) as info:
        parse_space(spec, builtin=True)
    assert info.value.field == field
    assert info.value.value == value


def test_parse_space_rejects_a_space_that_is_not_a_table():
    with pytest.raises(ConfigError) as info:
        parse_space(["width"])
    assert (info.value.field, info.value.value) == ("space", ["width"])


def test_equal_spaces_compare_and_hash_equal_and_differ_on_any_change():
    a = parse_space({"width": {"low": 16, "high": 64}})
    b = parse_space({"width": {"low": 16, "high": 64}})
    c = parse_space({"width": {"low": 16, "high": 65}})
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert a.describe()["width"] == {"kind": "IntRange", "low": 16, "high": 64, "log": False, "grid_points": None}


# --------------------------------------------------------------------------- sampling


def test_int_range_samples_every_integer_within_bounds():
    dim = IntRange("width", 16, 20)
    rng = np.random.default_rng(0)
    draws = [dim.sample(rng) for _ in range(N_DRAWS)]
    assert all(type(v) is int for v in draws)
    assert set(draws) == {16, 17, 18, 19, 20}
    counts = np.bincount(draws)[16:]
    assert counts.min() > N_DRAWS / 5 * 0.85  # roughly uniform, both bounds included


def test_log_int_range_stays_in_bounds_and_is_log_uniform():
    dim = IntRange("width", 1, 1000, log=True)
    rng = np.random.default_rng(1)
    draws = np.array([dim.sample(rng) for _ in range(N_DRAWS)])
    assert draws.min() >= 1 and draws.max() <= 1000
    assert np.issubdtype(draws.dtype, np.integer)
    # log-uniform on [1, 1001): about half the mass lies below sqrt(1001) ~ 31.6;
    # a linear draw would put only ~3% there.
    below = np.mean(draws < 32)
    assert 0.45 < below < 0.56
    assert 1 in draws  # the low end is reachable
    assert draws.max() > 900  # and the high end


def test_float_range_samples_uniformly_within_bounds():
    dim = FloatRange("dropout", 0.1, 0.5)
    rng = np.random.default_rng(2)
    draws = np.array([dim.sample(rng) for _ in range(N_DRAWS)])
    assert draws.min() >= 0.1 and draws.max() <= 0.5
    assert abs(draws.mean() - 0.3) < 0.01
    assert abs(np.mean(draws < 0.2) - 0.25) < 0.03


def test_log_float_range_spreads_draws_evenly_over_decades():
    dim = FloatRange("learning_rate", 1e-4, 1e-1, log=True)
    rng = np.random.default_rng(3)
    draws = np.array([dim.sample(rng) for _ in range(N_DRAWS)])
    assert draws.min() >= 1e-4 and draws.max() <= 1e-1
    decades = np.histogram(np.log10(draws), bins=[-4, -3, -2, -1])[0] / N_DRAWS
    assert np.all(np.abs(decades - 1 / 3) < 0.03)
    assert abs(np.median(draws) - 10**-2.5) < 10**-2.5 * 0.15


def test_choice_samples_every_value_as_plain_python_objects():
    dim = Choice("optimizer", ("adam", "sgd", "rmsprop"))
    rng = np.random.default_rng(4)
    draws = [dim.sample(rng) for _ in range(3000)]
    assert all(type(v) is str for v in draws)
    counts = {v: draws.count(v) for v in dim.choices}
    assert all(800 < c < 1200 for c in counts.values())


def test_space_sample_is_reproducible_and_returns_python_types():
    space = parse_space(
        {
            "width": {"low": 16, "high": 512, "log": True},
            "dropout": {"low": 0.0, "high": 0.5},
            "optimizer": ["adam", "sgd"],
            "learning_rate": {"low": 1e-4, "high": 1e-1},
        }
    )
    a = [space.sample(np.random.default_rng(123)) for _ in range(3)]
    b = [space.sample(np.random.default_rng(123)) for _ in range(3)]
    assert a == b
    rng = np.random.default_rng(7)
    points = [space.sample(rng) for _ in range(2000)]
    for p in points:
        assert list(p) == list(HYPERPARAMETERS)
        assert type(p["width"]) is int
        assert type(p["dropout"]) is float
        assert type(p["optimizer"]) is str
        assert type(p["learning_rate"]) is float
        assert space.contains(p)
    assert len({p["width"] for p in points}) > 100
    assert space.sample(np.random.default_rng(1)) != space.sample(np.random.default_rng(2))


# --------------------------------------------------------------------------- grid values


def test_int_grid_points_are_rounded_and_deduplicated():
    assert IntRange("width", 1, 4, grid_points=10).grid_values() == [1, 2, 3, 4]
    assert IntRange("width", 10, 20, grid_points=3).grid_values() == [10, 15, 20]
    assert IntRange("width", 10, 13, grid_points=3).grid_values() == [10, 12, 13]  # 11.5 rounds to 12
    assert all(type(v) is int for v in IntRange("width", 1, 4, grid_points=10).grid_values())


def test_log_int_grid_points_are_powers_of_two():
    assert IntRange("width", 16, 256, log=True, grid_points=5).grid_values() == [16, 32, 64, 128, 256]


def test_log_int_grid_deduplicates_crowded_low_end():
    values = IntRange("width", 1, 8, log=True, grid_points=8).grid_values()
    assert values == sorted(set(values))
    assert values[0] == 1 and values[-1] == 8
    assert len(values) < 8


def test_float_grid_points_are_linear_by_default():
    values = FloatRange("dropout", 0.0, 0.5, grid_points=3).grid_values()
    assert values == pytest.approx([0.0, 0.25, 0.5])
    assert all(type(v) is float for v in values)


def test_learning_rate_grid_is_log_spaced():
    dim = parse_space({"learning_rate": {"low": 1e-4, "high": 1e-1, "grid_points": 4}})["learning_rate"]
    assert dim.grid_values() == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1], rel=1e-9)


def test_single_grid_point_is_the_midpoint_linear_or_geometric():
    assert FloatRange("dropout", 0.1, 0.5, grid_points=1).grid_values() == pytest.approx([0.3])
    assert FloatRange("learning_rate", 1e-4, 1e-2, log=True, grid_points=1).grid_values() == pytest.approx([1e-3])
    assert IntRange("width", 16, 64, grid_points=1).grid_values() == [40]
    assert IntRange("width", 16, 64, log=True, grid_points=1).grid_values() == [32]


def test_range_without_grid_points_has_no_grid_values():
    with pytest.raises(ConfigError) as info:
        FloatRange("dropout", 0.0, 0.5).grid_values()
    assert info.value.field == "space.dropout.grid_points"
    assert info.value.value is None
    with pytest.raises(ConfigError) as info:
        parse_space({"width": {"low": 16, "high": 64}}).grid()
    assert info.value.field == "space.width.grid_points"


def test_choice_grid_values_are_the_choices_in_order():
    assert Choice("optimizer", ("sgd", "adam")).grid_values() == ["sgd", "adam"]


# --------------------------------------------------------------------------- SearchSpace.grid


def test_grid_matches_sklearn_parameter_grid_order_and_size():
    space = parse_space(
        {
            "width": [16, 32],
            "dropout": {"low": 0.0, "high": 0.4, "grid_points": 3},
            "optimizer": ["adam", "sgd"],
            "learning_rate": 0.01,
        }
    )
    expected = list(ParameterGrid({"width": [16, 32], "dropout": [0.0, 0.2, 0.4], "optimizer": ["adam", "sgd"], "learning_rate": [0.01]}))
    grid = space.grid()
    assert len(grid) == len(expected) == space.grid_size() == 12
    assert [p["width"] for p in grid] == [p["width"] for p in expected]
    assert [p["optimizer"] for p in grid] == [p["optimizer"] for p in expected]
    assert [p["dropout"] for p in grid] == pytest.approx([p["dropout"] for p in expected])
    assert [p["learning_rate"] for p in grid] == [0.01] * 12
    # ParameterGrid sorts keys, so the alphabetically last key (width) varies fastest
    assert grid[0] == {"width": 16, "dropout": 0.0, "optimizer": "adam", "learning_rate": 0.01}
    assert grid[1] == {"width": 32, "dropout": 0.0, "optimizer": "adam", "learning_rate": 0.01}
    assert grid[2]["optimizer"] == "sgd" and grid[2]["width"] == 16


def test_grid_points_are_in_hyperparameter_order_with_python_types_and_unique():
    space = parse_space(
        {
            "width": {"low": 16, "high": 128, "log": True, "grid_points": 4},
            "dropout": [0.0, 0.5],
            "optimizer": ["adam", "nadam", "sgd"],
            "learning_rate": {"low": 1e-3, "high": 1e-1, "grid_points": 3},
        }
    )
    grid = space.grid()
    assert len(grid) == space.grid_size() == 4 * 2 * 3 * 3
    assert len({tuple(p.items()) for p in grid}) == len(grid)
    for p in grid:
        assert list(p) == list(HYPERPARAMETERS)
        assert type(p["width"]) is int and type(p["dropout"]) is float
        assert type(p["optimizer"]) is str and type(p["learning_rate"]) is float
        assert space.contains(p)
    assert sorted({p["width"] for p in grid}) == [16, 32, 64, 128]


def test_grid_size_counts_deduplicated_int_points():
    space = parse_space({"width": {"low": 1, "high": 3, "grid_points": 10}})
    assert space.grid_size() == len(space.grid()) == 3


# --------------------------------------------------------------------------- Optuna


def test_to_optuna_maps_each_dimension_to_its_distribution():
    space = parse_space(
        {
            "width": {"low": 16, "high": 256, "log": True},
            "dropout": {"low": 0.0, "high": 0.5},
            "optimizer": ["adam", "sgd"],
        }
    )
    dists = space.to_optuna()
    assert list(dists) == list(HYPERPARAMETERS)
    assert dists["width"] == IntDistribution(16, 256, log=True)
    assert dists["dropout"] == FloatDistribution(0.0, 0.5, log=False)
    assert dists["optimizer"] == CategoricalDistribution(("adam", "sgd"))
    assert dists["learning_rate"] == CategoricalDistribution((0.001,))


def test_to_optuna_log_learning_rate_and_linear_width():
    dists = parse_space({"width": {"low": 8, "high": 64}, "learning_rate": {"low": 1e-4, "high": 1e-2}}).to_optuna()
    assert dists["width"] == IntDistribution(8, 64, log=False)
    assert dists["learning_rate"] == FloatDistribution(1e-4, 1e-2, log=True)


# --------------------------------------------------------------------------- contains


@pytest.fixture
def mixed_space() -> SearchSpace:
    return parse_space(
        {
            "width": {"low": 16, "high": 64},
            "dropout": {"low": 0.0, "high": 0.5},
            "optimizer": ["adam", "sgd"],
            "learning_rate": {"low": 1e-4, "high": 1e-2},
        }
    )


def _point(**changes):
    return {"width": 32, "dropout": 0.1, "optimizer": "adam", "learning_rate": 1e-3, **changes}


def test_contains_accepts_points_inside_including_bounds(mixed_space):
    assert mixed_space.contains(_point())
    assert mixed_space.contains(_point(width=16, dropout=0.0, learning_rate=1e-4))
    assert mixed_space.contains(_point(width=64, dropout=0.5, learning_rate=1e-2, optimizer="sgd"))
    assert mixed_space.contains(_point(width=np.int64(40)))
    assert mixed_space.contains(_point(dropout=0))  # an int is a number in a float range


@pytest.mark.parametrize(
    "changes",
    [
        {"width": 15},
        {"width": 65},
        {"width": 32.0},
        {"width": "32"},
        {"dropout": 0.51},
        {"dropout": -0.01},
        {"dropout": True},
        {"dropout": "0.1"},
        {"optimizer": "rmsprop"},
        {"learning_rate": 0.011},
        {"learning_rate": 9e-5},
    ],
    ids=lambda c: "-".join(f"{k}={v!r}" for k, v in c.items()),
)
def test_contains_rejects_values_outside_or_of_wrong_type(mixed_space, changes):
    assert not mixed_space.contains(_point(**changes))


def test_contains_requires_exactly_the_space_keys(mixed_space):
    missing = _point()
    del missing["learning_rate"]
    assert not mixed_space.contains(missing)
    assert not mixed_space.contains({**_point(), "momentum": 0.9})


def test_fixed_dimension_contains_only_its_value():
    space = parse_space({})
    assert space.contains(DEFAULT_PARAMS)
    assert not space.contains({**DEFAULT_PARAMS, "width": 64})
    assert not space.contains({**DEFAULT_PARAMS, "optimizer": "sgd"})


def test_int_range_does_not_contain_a_bool():
    space = parse_space({"width": {"low": 1, "high": 4}})
    assert space.contains({**DEFAULT_PARAMS, "width": 1})
    assert not space.contains({**DEFAULT_PARAMS, "width": True})


@pytest.mark.parametrize("low", [8, 16, 20, 50, 64, 128, 256, 512])
def test_the_unit_cube_maps_into_the_range_and_back_even_at_its_ends(low: int) -> None:
    """u = 0 is the range's low end (exp(log(low)) rounds below low for these); every point of the
    cube is a point of the space, and to_unit(from_unit(u)) lands in the same integer's share."""
    from hpsearch.core.space import IntRange

    space = parse_space({"width": {"low": low, "high": 1024, "log": True}, "dropout": {"low": 0.0, "high": 0.5}})
    n = len(space)  # the dimensions left out are fixed at the seed model's values
    assert {k: space.from_unit([0.0] * n)[k] for k in ("width", "dropout")} == {"width": low, "dropout": 0.0}
    assert {k: space.from_unit([1.0] * n)[k] for k in ("width", "dropout")} == {"width": 1024, "dropout": 0.5}
    dim = space["width"]
    assert isinstance(dim, IntRange)
    for u in np.linspace(0, 1, 201):
        point = space.from_unit([u] * n)
        assert space.contains(point), point
        assert dim.from_unit(dim.to_unit(point["width"])) == point["width"]


def test_a_space_of_other_names_is_exactly_what_it_declares_with_kinds_from_the_ends_or_type():
    space = parse_space(
        {
            "filters": {"low": 8, "high": 64, "log": True},
            "momentum": {"low": 0.0, "high": 0.99},
            "steps": {"low": 1.0, "high": 9.0, "type": "int"},
            "pool": ["max", "avg"],
            "use_bias": [True, False],
        }
    )
    assert list(space) == ["filters", "momentum", "steps", "pool", "use_bias"]
    assert space["filters"] == IntRange("filters", 8, 64, log=True)
    assert space["momentum"] == FloatRange("momentum", 0.0, 0.99)
    assert space["steps"] == IntRange("steps", 1, 9)
    assert space["use_bias"] == Choice("use_bias", (True, False))
    assert space.contains(space.sample(np.random.default_rng(0)))


@pytest.mark.parametrize(
    ("spec", "field", "rule"),
    [
        ({"2fast": 1}, "space.2fast", "letters"),
        ({"value": {"low": 1, "high": 2}}, "space.value", "keeps for itself"),
        ({"steps": {"low": 1, "high": 2.5, "type": "int"}}, "space.steps.high", "integers"),
        ({"steps": {"low": 1, "high": 2, "type": "complex"}}, "space.steps.type", "int or float"),
        ({"steps": {"low": "a", "high": "b"}}, "space.steps.low", "numbers"),
        ({"layers": {"low": 1, "high": 5}}, "space.layers.high", "[1, 3]"),
        ({"activation": ["relu", "sigmoid"]}, "space.activation.values[1]", "relu, gelu, tanh, elu"),
        ({"width": {"low": 8, "high": 64, "type": "float"}}, "space.width.type", "int range"),
    ],
    ids=["name", "reserved", "int-ends", "type", "text-range", "layers-bound", "activation", "builtin-kind"],
)
def test_bad_dimensions_of_any_name_say_field_and_rule(spec, field, rule):
    with pytest.raises(ConfigError) as info:
        parse_space(spec)
    assert info.value.field == field and rule in str(info.value)


def test_the_built_in_model_space_keeps_its_four_and_adds_the_new_dimensions_it_declares():
    space = parse_space({"layers": {"low": 1, "high": 3}, "batch_size": [32, 128]})
    assert list(space) == [*HYPERPARAMETERS, "batch_size", "layers"]  # in the built-in order
    assert space["width"] == Choice("width", (DEFAULT_PARAMS["width"],))
    with pytest.raises(ConfigError, match="built-in model has no such hyperparameter"):
        parse_space({"layers": 2, "filters": 8}, builtin=True)


def test_a_space_of_ones_own_model_follows_only_the_generic_rules_even_under_built_in_names() -> None:
    """The built-in model's rules (its optimisers, dropout below 1, its kinds, its defaults) are its own:
    a space of another model that happens to use those names is exactly what it declares."""
    own = parse_space(
        {"optimizer": ["fast", "slow"], "dropout": {"low": 0.0, "high": 2.0}, "width": {"low": 1.5, "high": 8.0}}, builtin=False
    )
    assert list(own) == ["optimizer", "dropout", "width"]
    assert own["optimizer"].grid_values() == ["fast", "slow"]
    assert own.describe()["dropout"]["high"] == 2.0 and own.describe()["width"]["kind"] == "FloatRange"
    with pytest.raises(ConfigError, match=r"space.optimizer.values\[0\].*must be one of adam"):
        parse_space({"optimizer": ["fast", "slow"]})  # the built-in model's space keeps its rules


def test_snap_units_is_where_from_unit_lands_for_every_kind_of_dimension() -> None:
    """The vectorised snap (what gp scores) agrees with realising each point and placing it back in the cube."""
    space = parse_space(
        {
            "width": {"low": 16, "high": 512, "log": True},
            "layers": {"low": 1, "high": 3},
            "dropout": {"low": 0.0, "high": 0.5},
            "learning_rate": {"low": 1e-4, "high": 1e-1, "log": True},
            "optimizer": {"values": ["adam", "sgd", "rmsprop"]},
        },
        builtin=False,
    )
    units = np.vstack([np.random.default_rng(0).uniform(-0.1, 1.1, size=(200, len(space))), np.zeros(len(space)), np.ones(len(space))])
    expected = np.array([space.to_unit(space.from_unit(row)) for row in units])
    np.testing.assert_allclose(space.snap_units(units), expected, atol=1e-12)
