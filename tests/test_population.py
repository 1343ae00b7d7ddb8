"""The population engine against Keras: the same optimiser arithmetic, padding that changes nothing,
and a member whose curve does not depend on the members it trains with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402  (the tests run on whichever Keras backend is set: tensorflow, or jax)

from hpsearch.core.records import TrialState  # noqa: E402
from hpsearch.core.space import OPTIMIZERS  # noqa: E402
from hpsearch.train.keras.model import build_model, hidden_weights, set_hidden_weights  # noqa: E402
from hpsearch.train.population.engine import Member, Population, epoch_order, glorot_weights  # noqa: E402
from hpsearch.train.population.optimizers import FUSED_RULES, OPTIMIZER_RULES, apply_update, initial_slot, slot_names  # noqa: E402

pytestmark = pytest.mark.keras


@pytest.mark.on_jax
def test_the_suite_runs_on_the_keras_backend_it_was_given() -> None:
    """``KERAS_BACKEND=jax python -m pytest tests/test_population.py`` runs this file on JAX (tests/test_population_jax.py does, in CI)."""
    import os

    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")


def test_every_optimiser_of_the_space_has_a_rule() -> None:
    assert set(OPTIMIZER_RULES) == set(OPTIMIZERS)


@pytest.mark.on_jax
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_three_steps_of_each_optimiser_match_keras_from_equal_weights_and_gradients(name: str) -> None:
    """Two members at different learning rates, each against Keras's optimiser at its rate."""
    rng = np.random.default_rng(0)
    shapes = [(6, 5), (5,)]
    rates = [1e-3, 3e-2]
    start = [rng.normal(size=(2, *s)).astype(np.float32) for s in shapes]
    grads = [[rng.normal(size=(2, *s)).astype(np.float32) for s in shapes] for _ in range(3)]
    # ours, both members at once
    variables = [ops.convert_to_tensor(v) for v in start]
    slots = [{s: initial_slot(s, v) for s in slot_names(name)} for v in variables]
    step, u_product = ops.zeros(2, "int32"), ops.ones(2)
    for g in grads:
        variables, slots, u_product = apply_update(
            name, variables, [ops.convert_to_tensor(x) for x in g], slots, ops.convert_to_tensor(rates), step, u_product
        )
        step = step + 1
    for member, lr in enumerate(rates):
        optimizer = build_model(optimizer=name, learning_rate=lr).optimizer
        kv = [keras.Variable(v[member]) for v in start]
        for g in grads:
            optimizer.apply_gradients([(ops.convert_to_tensor(x[member]), v) for x, v in zip(g, kv)])
        for ours, theirs in zip(variables, kv):
            np.testing.assert_allclose(
                ops.convert_to_numpy(ours)[member], ops.convert_to_numpy(theirs), rtol=2e-5, atol=2e-6, err_msg=f"{name} member {member}"
            )


@pytest.fixture(scope="module")
def digits() -> tuple:
    """A few hundred scaled digits from scikit-learn (no download), padded to 28 x 28 as flat rows."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.zeros((len(d.images), 28, 28), np.float32)
    x[:, 10:18, 10:18] = d.images / 16.0
    return ops.convert_to_tensor(x.reshape(len(x), -1)[:600]), ops.convert_to_tensor(d.target[:600].astype(np.int32))


def _untimed(metrics: dict[str, float]) -> dict[str, float]:
    """An epoch's metrics but its wall time (``epoch_seconds``), which no two runs share."""
    return {name: value for name, value in metrics.items() if name != "epoch_seconds"}


def _train(
    members: list[Member], optimizer: str, columns: int, data: tuple, epochs: int = 2, batch: int = 32, slots: int | None = None
) -> Population:
    x, y = data
    population = Population(optimizer, columns, slots or len(members))
    population.arrange([m.width for m in members])
    for i, m in enumerate(members):
        population.set_member(i, m)
    for epoch in range(1, epochs + 1):
        population.train_epoch(x, y, epoch_order(3, epoch, int(x.shape[0])), batch)
    return population


@pytest.mark.on_jax
def test_a_member_trains_the_same_alone_padded_or_among_others(digits: tuple) -> None:
    me = Member(width=24, dropout=0.3, learning_rate=3e-3, seed=11)
    others = [
        Member(width=w, dropout=d, learning_rate=lr, seed=s) for w, d, lr, s in [(32, 0.1, 1e-2, 1), (8, 0.5, 1e-4, 2), (30, 0.0, 3e-2, 3)]
    ]
    alone = _train([me], "adam", 24, digits)
    padded = _train([me], "adam", 64, digits, slots=3)  # 40 columns and two slots nobody owns
    crowd = _train([others[0], me, *others[1:]], "adam", 128, digits)  # after a member of 32 units, before two others
    reference = alone.member_weights(0)
    for population, index in ((padded, 0), (crowd, 1)):
        for ours, theirs in zip(population.member_weights(index), reference):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(crowd.evaluate(*digits)[1][1], alone.evaluate(*digits)[1][0], atol=1e-6)
    assert not np.any(padded.variable("kernel")[:, 24:])  # columns nobody owns stay zero: no signal, no gradient


def test_the_fused_rule_is_each_of_its_optimisers(digits: tuple) -> None:
    """A population mixing the five optimisers of the fused rule: each member as it trains alone under its own rule."""
    x, y = digits
    members = [
        (Member(10 + 2 * i, 0.1 * i, lr, i), name) for i, (name, lr) in enumerate(zip(sorted(FUSED_RULES), [3e-3, 1e-2, 2e-3, 5e-2, 1e-3]))
    ]
    mixed = Population(tuple(sorted(FUSED_RULES)), 96, 5)
    assert mixed.fused
    mixed.arrange([member.width for member, _ in members])
    for i, (member, optimizer) in enumerate(members):
        mixed.set_member(i, member, optimizer=optimizer)
    for epoch in (1, 2):
        mixed.train_epoch(x, y, epoch_order(3, epoch, int(x.shape[0])), 32)
    for i, (member, optimizer) in enumerate(members):
        alone = _train([member], optimizer, member.width, digits)
        assert not alone.fused
        for ours, theirs in zip(mixed.member_weights(i), alone.member_weights(0)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5, err_msg=optimizer)
        assert mixed.member_state(i)["step"] == alone.member_state(0)["step"]


def test_one_update_covering_several_optimisers_gives_each_member_its_own_rule(digits: tuple) -> None:
    x, y = digits
    members = [(Member(16, 0.1, 3e-3, 1), "adam"), (Member(12, 0.2, 5e-2, 2), "sgd"), (Member(16, 0.0, 2e-3, 3), "adagrad")]
    mixed = Population(("adam", "sgd", "adagrad"), 64, 4)
    mixed.arrange([member.width for member, _ in members])
    for i, (member, optimizer) in enumerate(members):
        mixed.set_member(i, member, optimizer=optimizer)
    for epoch in (1, 2):
        mixed.train_epoch(x, y, epoch_order(3, epoch, int(x.shape[0])), 32)
    for i, (member, optimizer) in enumerate(members):
        alone = _train([member], optimizer, 16, digits)
        for ours, theirs in zip(mixed.member_weights(i), alone.member_weights(0)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5, err_msg=optimizer)


@pytest.mark.on_jax
@pytest.mark.parametrize(
    ("optimizer", "activation", "weight_decay"),
    [("sgd", "relu", None), ("sgd", "gelu", 0.05), ("adam", "tanh", 0.1), ("adamw", "elu", None), ("rmsprop", "relu", 0.02)],
)
def test_one_step_without_dropout_matches_a_keras_train_step(
    digits: tuple, optimizer: str, activation: str, weight_decay: float | None
) -> None:
    """Each activation, and weight decay (given, or AdamW's default) as Keras applies it before the step."""
    x, y = digits
    weights = glorot_weights(16, 5)
    population = Population(optimizer, 16, 1, activation)
    population.arrange([16])
    population.set_member(0, Member(16, 0.0, 0.1, 5, weight_decay), weights, optimizer)
    order = np.arange(32, dtype=np.int32)
    population.train_epoch(x, y, order, 32)
    model = build_model(width=16, dropout=0.0, optimizer=optimizer, learning_rate=0.1, activation=activation, weight_decay=weight_decay)
    set_hidden_weights(model, weights)
    model.train_on_batch(ops.reshape(x[:32], (32, 28, 28)), y[:32])
    for ours, theirs in zip(population.member_weights(0), hidden_weights(model)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-5)  # Adam's first step at lr 0.1 moves every weight by ~0.1


@pytest.mark.on_jax
@pytest.mark.parametrize(("depth", "optimizer", "activation"), [(2, "adam", "relu"), (3, "rmsprop", "tanh")])
def test_one_step_of_a_deeper_member_matches_a_keras_train_step_and_keras_scores_it_the_same(
    digits: tuple, depth: int, optimizer: str, activation: str
) -> None:
    """Every hidden layer's kernel and bias after one step as Keras's ``train_on_batch`` leaves them, from
    the same weights; and the engine's test evaluation of the member equals Keras's ``evaluate``."""
    from hpsearch.train.population.checkpoint import keras_model_of
    from hpsearch.train.population.engine import member_scores, variables

    x, y = digits
    weights = glorot_weights(12, 5, depth)
    assert [w.shape for w in weights[4:]] == [(12, 12), (12,)] * (depth - 1)
    population = Population(optimizer, 24, 2, activation, depth)  # 12 columns and a slot nobody owns
    population.arrange([12])
    population.set_member(0, Member(12, 0.0, 0.05, 5), weights, optimizer)
    population.train_epoch(x, y, np.arange(32, dtype=np.int32), 32)
    params = {"width": 12, "dropout": 0.0, "optimizer": optimizer, "learning_rate": 0.05, "activation": activation, "layers": depth}
    model = keras_model_of(params, weights)
    model.train_on_batch(ops.reshape(x[:32], (32, 28, 28)), y[:32])
    keras_weights = [w for layer in ("dense", "dense_1", "hidden_2", "hidden_3")[: depth + 1] for w in model.get_layer(layer).get_weights()]
    for name, ours, theirs in zip(variables(depth), population.member_weights(0), keras_weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-5, err_msg=name)
    assert not np.any(population.variable("kernel_2")[12:]) and not np.any(population.variable("kernel_2")[:, 12:])
    images = ops.convert_to_numpy(x).reshape(-1, 28, 28)
    loss, accuracy = model.evaluate(images, ops.convert_to_numpy(y), verbose=0)
    ours_loss, ours_accuracy = member_scores(population.member_weights(0), activation, images, ops.convert_to_numpy(y))
    assert abs(ours_accuracy - accuracy) < 1e-6 and abs(ours_loss - loss) < 1e-4 * max(1.0, loss)


@pytest.mark.on_jax
def test_a_deeper_member_trains_the_same_alone_or_among_others(digits: tuple) -> None:
    """Three hidden layers with dropout (a stream per layer): the block-diagonal layers keep members apart."""
    x, y = digits

    def trained(members: list[Member], columns: int) -> Population:
        population = Population("adam", columns, len(members), "relu", 3)
        population.arrange([m.width for m in members])
        for i, m in enumerate(members):
            population.set_member(i, m)
        for epoch in (1, 2):
            population.train_epoch(x, y, epoch_order(3, epoch, int(x.shape[0])), 32)
        return population

    me = Member(width=16, dropout=0.3, learning_rate=3e-3, seed=11)
    alone = trained([me], 16)
    crowd = trained([Member(20, 0.1, 1e-2, 1), me, Member(8, 0.5, 3e-2, 2)], 64)
    for ours, theirs in zip(crowd.member_weights(1), alone.member_weights(0)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(crowd.evaluate(x, y)[1][1], alone.evaluate(x, y)[1][0], atol=1e-6)
    kernel = crowd.variable("kernel_3")
    owner = np.repeat([0, 1, 2, 3], [20, 16, 8, 20])  # 3: the columns nobody owns
    assert not np.any(kernel[owner[:, None] != owner[None, :]]) and not np.any(kernel[44:, 44:])


def test_a_member_whose_loss_diverges_is_frozen_and_the_others_go_on(digits: tuple) -> None:
    x, y = digits
    population = Population("sgd", 32, 2)
    population.arrange([16, 16])
    population.set_member(0, Member(16, 0.0, 0.5, 1))
    population.set_member(1, Member(16, 0.0, 1e30, 2))
    train_loss, _ = population.train_epoch(x, y, epoch_order(3, 1, int(x.shape[0])), 32)
    assert np.isfinite(train_loss[0]) and np.isnan(train_loss[1])  # the trainer fails the second: "loss became nan"
    loss, accuracy = population.evaluate(x, y)
    assert np.isfinite(loss[0]) and accuracy[0] > 0.5
    steps = population.step
    assert steps[0] == 19 and steps[1] < steps[0]  # 600 examples in batches of 32; the diverged member stopped updating


def test_a_member_saved_as_keras_continues_in_keras_as_it_would_in_the_population(digits: tuple, tmp_path: Path) -> None:
    """Weights and optimiser state written as the checkpoint of build_model(**params) and loaded by Keras:
    one more step there equals one more step here."""
    from hpsearch.train.population.checkpoint import write_member

    x, y = digits
    params = {"width": 12, "dropout": 0.0, "optimizer": "nadam", "learning_rate": 3e-3}
    population = _train([Member(12, 0.0, 3e-3, 4)], "nadam", 16, digits, epochs=1)
    write_member(tmp_path / "m.weights.h5", params, population.member_weights(0), population.member_state(0))
    model = build_model(**params)
    model.optimizer.build(model.trainable_variables)
    model.load_weights(tmp_path / "m.weights.h5")
    assert int(model.optimizer.iterations.numpy()) == 19
    population.train_epoch(x, y, np.arange(32, dtype=np.int32), 32)
    model.train_on_batch(ops.reshape(x[:32], (32, 28, 28)), y[:32])
    for ours, theirs in zip(population.member_weights(0), hidden_weights(model)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=2e-5)  # Adam's first step at lr 0.1 moves every weight by ~0.1


@pytest.mark.parametrize(("optimizer", "depth"), [*((o, 1) for o in OPTIMIZERS), ("adam", 3), ("nadam", 2)])
def test_a_checkpoint_written_directly_holds_what_keras_writes_and_reads_back(optimizer: str, depth: int, tmp_path: Path) -> None:
    """write_member gives the file Keras saves for build_model(**params) holding the same weights and
    optimiser state (every dataset equal), Keras loads it, and member_of_checkpoint reads Keras's own."""
    import h5py

    from hpsearch.train.population.checkpoint import keras_model_of, member_of_checkpoint, write_member

    rng = np.random.default_rng(3)
    params = {"width": 5, "dropout": 0.1, "optimizer": optimizer, "learning_rate": 2e-3, "layers": depth}
    shapes = {"kernel": (784, 5), "bias": (5,), "out_kernel": (5, 10), "out_bias": (10,)}
    for d in range(2, depth + 1):
        shapes.update({f"kernel_{d}": (5, 5), f"bias_{d}": (5,)})
    weights = tuple(rng.normal(size=shape).astype(np.float32) for shape in shapes.values())
    slots = {name: {s: rng.normal(size=shape).astype(np.float32) for s in slot_names(optimizer)} for name, shape in shapes.items()}
    state = {"step": 12, "u_product": 0.75, "slots": slots}
    ours, theirs = tmp_path / "ours.weights.h5", tmp_path / "keras.weights.h5"
    write_member(ours, params, weights, state)
    keras_model_of(params, weights, state).save_weights(theirs)
    with h5py.File(ours, "r") as a, h5py.File(theirs, "r") as b:
        names = _visited(b)
        assert sorted(names) == sorted(_visited(a))
        for name in names:
            if isinstance(b[name], h5py.Dataset):
                np.testing.assert_array_equal(a[name][()], b[name][()], err_msg=name)
                assert a[name].dtype == b[name].dtype, name
    model = build_model(**params)
    model.optimizer.build(model.trainable_variables)
    model.load_weights(ours)
    loaded = [w for layer in ("dense", "dense_1", "hidden_2", "hidden_3")[: depth + 1] for w in model.get_layer(layer).get_weights()]
    for mine, read in zip(weights, loaded, strict=True):
        np.testing.assert_array_equal(mine, read)
    back_weights, back_state = member_of_checkpoint(params, theirs)
    for mine, read in zip(weights, back_weights):
        np.testing.assert_array_equal(mine, read)
    assert back_state["step"] == 12 and back_state["slots"].keys() == slots.keys()
    for name in shapes:
        for s in slot_names(optimizer):
            np.testing.assert_array_equal(back_state["slots"][name][s], slots[name][s])
    if optimizer == "nadam":
        assert back_state["u_product"] == 0.75


def _visited(f: Any) -> list[str]:
    """Every group and dataset name in an open HDF5 file."""
    names: list[str] = []
    f.visit(names.append)
    return names


@pytest.mark.on_jax
def test_a_population_study_runs_through_the_runner_and_its_best_model_is_ordinary_keras(tmp_path) -> None:
    """mnist-sample, 6 one-epoch trials over two widths and two optimisers: every trial trains, the best
    trial's checkpoint loads into build_model(**params) and gives the stored test accuracy."""
    import hpsearch
    from hpsearch.train.keras.data import load_dataset

    config = hpsearch.parse_study(
        {
            "strategy": "random",
            "seed": 3,
            "budget": {"trials": 6, "epochs": 1},
            "data": {"dataset": "mnist-sample"},
            "training": {"trainer": "population", "population": 4},
            "space": {"width": [24, 64], "optimizer": ["adam", "rmsprop"], "learning_rate": {"low": 1e-3, "high": 1e-2}},
        },
        default_name="population",
    )
    from hpsearch.running.loop import StudyRunner

    store = hpsearch.Store.open(tmp_path / "s.db")
    runner = StudyRunner(config, store)
    summary = runner.run()
    assert summary.complete and all(t.state.value == "COMPLETE" for t in summary.trials)
    assert summary.best.value > 0.5
    assert len(runner.trainer.shapes_built) == 1  # one compilation for the study, reused by every population
    store.close()
    data = load_dataset(config.data)
    model = build_model(**summary.best.params)
    model.optimizer.build(model.trainable_variables)  # the checkpoint holds the optimiser's state too
    model.load_weights(summary.best.checkpoint)
    loss, accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)  # what the engine's test evaluation stored
    assert abs(accuracy - summary.test.accuracy) < 1e-4 and abs(loss - summary.test.loss) < 1e-4 * max(1.0, loss)
    # `hpsearch export-model` writes it as a .keras file that Keras alone opens
    from hpsearch.cli import main

    assert main(["export-model", "population", "--store", str(tmp_path / "s.db"), "--out", str(tmp_path / "best.keras")]) == 0
    exported = keras.models.load_model(tmp_path / "best.keras")
    _loss, accuracy = exported.evaluate(data.x_test, data.y_test, verbose=0)
    assert abs(accuracy - summary.test.accuracy) < 1e-4


@pytest.mark.parametrize(
    ("tile_columns", "layers"), [(0, 1), (64, 1), (64, 2)], ids=["one-population", "tiles-of-64", "two-layers-tiles-of-64"]
)
def test_a_pbt_continuation_copied_in_memory_equals_one_read_from_its_checkpoint(tmp_path, tile_columns: int, layers: int) -> None:
    """PBT's exploit inside the population (a gather of weights and optimiser state; with tiles of 64
    columns, a host copy for the child whose parent sits in another tile) against the same segments
    started from the parents' checkpoint files, as a resumed run starts them."""
    from hpsearch.core.config import DataConfig, TrainingConfig
    from hpsearch.train.population.checkpoint import member_of_checkpoint
    from hpsearch.train.population.trainer import PopulationTrainer
    from hpsearch.train.trainer import TrainJob

    data = DataConfig(dataset="mnist-sample", train_size=512, validation_size=256)
    training = TrainingConfig(population=4, tile_columns=tile_columns)
    parents = [
        {"width": 24, "dropout": 0.1, "optimizer": "adam", "learning_rate": 3e-3},
        {"width": 20, "dropout": 0.3, "optimizer": "rmsprop", "learning_rate": 1e-3},
        {"width": 30, "dropout": 0.0, "optimizer": "nadam", "learning_rate": 2e-3},
    ]
    parents = [p | {"layers": layers} for p in parents] if layers > 1 else parents
    first = [TrainJob(i, p, 1, seed=10 + i, weights_path=tmp_path / f"trial-{i}.weights.h5") for i, p in enumerate(parents)]

    def children(folder: str) -> list[TrainJob]:
        (tmp_path / folder).mkdir(exist_ok=True)
        changes = [  # member 0 goes on; member 1 copies member 0 and explores; member 2 copies member 1 under a new optimiser
            (0, {}),
            (0, {"learning_rate": 6e-3, "dropout": 0.2}),
            (1, {"optimizer": "adam"}),
        ]
        return [
            TrainJob(
                3 + i,
                {**parents[source], **change},
                2,
                seed=20 + i,
                weights_path=tmp_path / folder / f"trial-{3 + i}.weights.h5",
                parent_checkpoint=first[source].weights_path,
                parent_params=parents[source],
            )
            for i, (source, change) in enumerate(changes)
        ]

    optimizers = ("adam", "rmsprop", "nadam")
    live = PopulationTrainer(data, training, study_seed=1, optimizers=optimizers)
    live.train(first, lambda _job, _result: True)
    in_memory = live.train(children("memory"), lambda _job, _result: True)
    assert live.continued == {"in_memory": 3, "from_checkpoint": 0}
    assert len(live.shapes_built) == 1  # no population rebuilt, nothing re-traced
    resumed = PopulationTrainer(data, training, study_seed=1, optimizers=optimizers)  # a new run: only the files are left
    from_files = resumed.train(children("files"), lambda _job, _result: True)
    assert resumed.continued == {"in_memory": 0, "from_checkpoint": 3}
    for job_a, job_b, a, b in zip(children("memory"), children("files"), in_memory, from_files):
        assert a.state is b.state is TrialState.COMPLETE
        for ea, eb in zip(a.epochs, b.epochs):
            assert _untimed(ea.metrics) == pytest.approx(_untimed(eb.metrics), rel=1e-6)
        weights_a, state_a = member_of_checkpoint(dict(job_a.params), job_a.weights_path)
        weights_b, state_b = member_of_checkpoint(dict(job_b.params), job_b.weights_path)
        for x, y in zip(weights_a, weights_b):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
        assert state_a["step"] == state_b["step"]
    steps = [member_of_checkpoint(dict(j.params), j.weights_path)[1]["step"] for j in children("memory")]
    assert steps[0] == steps[1] == 3 * 16 and steps[2] == 2 * 16  # 512 examples in batches of 32; a new optimiser starts at 0


def test_a_trial_gives_the_same_curve_alone_or_in_a_population_of_four(tmp_path) -> None:
    """The same random study trained one trial at a time and four at a time: every trial's epochs agree
    (so its result does not depend on its company, nor on how many workers share the study)."""
    import hpsearch

    def curves(population: int, tile_columns: int = 0) -> dict[int, list[tuple[float, float]]]:
        config = hpsearch.parse_study(
            {
                "strategy": "random",
                "seed": 5,
                "budget": {"trials": 4, "epochs": 2},
                "data": {"dataset": "mnist-sample", "train_size": 300},
                "training": {"population": population, "tile_columns": tile_columns},
                "space": {"width": {"low": 8, "high": 48}, "optimizer": ["adam", "sgd"], "dropout": {"low": 0.0, "high": 0.4}},
            },
            default_name="company",
        )
        with hpsearch.Store.open(tmp_path / f"p{population}-{tile_columns}.db") as store:
            summary = hpsearch.run_study(config, store)
            epochs = store.epochs(summary.study.id)
        out: dict[int, list[tuple[float, float]]] = {}
        for e in epochs:
            out.setdefault(e.trial_number, []).append((e.loss, e.val_accuracy))
        return out

    alone, together, tiled = curves(1), curves(4), curves(4, tile_columns=64)  # tiles of 64 columns: the claim of 4 trains as several
    assert alone.keys() == together.keys() == tiled.keys() == {0, 1, 2, 3}
    for number, curve in alone.items():
        for other in (together, tiled):
            for (loss_a, val_a), (loss_b, val_b) in zip(curve, other[number]):
                assert loss_a == pytest.approx(loss_b, rel=1e-4) and abs(val_a - val_b) <= 0.003, number


def test_members_left_after_the_others_are_pruned_move_to_a_narrower_population_and_train_the_same(tmp_path) -> None:
    """Successive halving stops most of a population early: the members left move to a population of a
    fraction of the columns (cheaper epochs), and their curves and weights are as if nothing moved."""
    from hpsearch.core.config import DataConfig, TrainingConfig
    from hpsearch.train.population.checkpoint import member_of_checkpoint
    from hpsearch.train.population.trainer import PopulationTrainer
    from hpsearch.train.trainer import TrainJob

    data = DataConfig(dataset="mnist-sample", train_size=512, validation_size=256)
    params = [
        {"width": 24, "dropout": 0.1, "optimizer": "adam", "learning_rate": 3e-3},
        {"width": 40, "dropout": 0.2, "optimizer": "nadam", "learning_rate": 1e-3},
        {"width": 32, "dropout": 0.0, "optimizer": "rmsprop", "learning_rate": 2e-3},
        {"width": 16, "dropout": 0.3, "optimizer": "adam", "learning_rate": 1e-2},
    ]

    def jobs(folder: str) -> list[TrainJob]:
        (tmp_path / folder).mkdir()
        return [TrainJob(i, p, 3, seed=30 + i, weights_path=tmp_path / folder / f"trial-{i}.weights.h5") for i, p in enumerate(params)]

    optimizers = ("adam", "nadam", "rmsprop")
    trainer = PopulationTrainer(data, TrainingConfig(population=4), study_seed=2, optimizers=optimizers)
    pruned = trainer.train(jobs("pruned"), lambda job, result: job.trial_number == 0)  # all but trial 0 stop after epoch 1
    assert [o.state for o in pruned] == [TrialState.COMPLETE] + [TrialState.PRUNED] * 3
    # the pass starts in 128 of the 512 columns planned (its 112 units), and the 24 units left move to 64
    assert trainer.compactions == 1 and [columns for _, columns, _, _ in trainer.shapes_built] == [128, 64]
    alone = PopulationTrainer(data, TrainingConfig(population=4), study_seed=2, optimizers=optimizers)
    kept = alone.train(jobs("alone"), lambda job, result: True)
    assert alone.compactions == 0
    for a, b in zip(pruned[0].epochs, kept[0].epochs):
        assert _untimed(a.metrics) == pytest.approx(_untimed(b.metrics), rel=1e-5)
    moved, _ = member_of_checkpoint(params[0], tmp_path / "pruned" / "trial-0.weights.h5")
    stayed, _ = member_of_checkpoint(params[0], tmp_path / "alone" / "trial-0.weights.h5")
    for x, y in zip(moved, stayed):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_members_report_their_parameters_and_a_share_of_the_epoch_in_proportion_to_them() -> None:
    """Besides Keras's four metrics, every member reports the built-in model's cost, as the per-trial Keras trainer
    does: ``params``, counted the same, and ``epoch_seconds``, the population epoch's wall time shared by parameters."""
    import time

    from hpsearch.core.builtin_model import COST_METRICS, METRICS, trainable_params
    from hpsearch.core.config import DataConfig, TrainingConfig
    from hpsearch.train.keras import KerasTrainer
    from hpsearch.train.population.trainer import PopulationTrainer, epoch_shares
    from hpsearch.train.trainer import TrainJob

    data = DataConfig(dataset="mnist-sample", train_size=256, validation_size=128)
    params = [{"width": w, "dropout": 0.1, "optimizer": "adam", "learning_rate": 1e-3} for w in (8, 24, 40)]
    jobs = [TrainJob(i, p, 1, seed=i) for i, p in enumerate(params)]
    start = time.perf_counter()
    together = [o.epochs[0] for o in PopulationTrainer(data, TrainingConfig(population=3), study_seed=1).train(jobs, lambda *_: True)]
    elapsed = time.perf_counter() - start
    (alone,) = KerasTrainer(data).train(jobs[:1], lambda *_: True)
    assert all(set(e.metrics) == set(alone.epochs[0].metrics) == {*METRICS, *COST_METRICS} for e in together)
    assert [e.metrics["params"] for e in together] == [trainable_params(j.params) for j in jobs]
    assert together[0].metrics["params"] == alone.epochs[0].metrics["params"]
    per_param = [e.metrics["epoch_seconds"] / e.metrics["params"] for e in together]
    assert per_param == pytest.approx([per_param[0]] * 3) and all(e.seconds == e.metrics["epoch_seconds"] for e in together)
    assert sum(e.metrics["epoch_seconds"] for e in together) <= elapsed
    assert sum(epoch_shares(1.5, [6_370, 19_090, 31_810])) == pytest.approx(1.5)


def test_the_successive_halving_quickstart_trains_in_populations_and_stops_trials_at_rungs(tmp_path) -> None:
    """studies/quickstart_asha.toml end to end on the population trainer: pruned trials stop at a rung
    with the epochs they ran, the others train all four."""
    import hpsearch

    config = hpsearch.load_study(Path(__file__).resolve().parents[1] / "studies" / "quickstart_asha.toml")
    summary = hpsearch.run_study(config, str(tmp_path / "asha.db"))
    assert summary.complete and len(summary.trials) == 12
    pruned = [t for t in summary.trials if t.state is TrialState.PRUNED]
    complete = [t for t in summary.trials if t.state is TrialState.COMPLETE]
    assert pruned and complete and len(pruned) + len(complete) == 12
    assert all(t.epochs_done in (1, 2) for t in pruned) and all(t.epochs_done == 4 for t in complete)
    assert summary.test is not None and summary.test.trial_number == summary.best.number


def test_a_wide_claim_is_split_evenly_into_tiles_packed_in_order() -> None:
    """On a CPU a claim wider than the cache holds trains as several populations (tiles) of one shape:
    the claim's columns split evenly, members packed first fit in order (a later trial never moves an
    earlier one), and a claim grows only while its members pack into the tiles."""
    from hpsearch.core.config import TrainingConfig
    from hpsearch.train.population.trainer import PopulationTrainer, pack

    assert pack([300, 200, 300, 100, 250], 640, 16) == [[0, 1, 3], [2, 4]]
    assert pack([30, 30, 30], 640, 2) == [[0, 1], [2]]  # slots bound a tile too
    assert pack([900, 10], 640, 16) == [[0], [1]]  # wider than a tile: a tile of its own
    trainer = PopulationTrainer(training=TrainingConfig(population=16, tile_columns=704), columns=1792)
    assert (trainer.tiles, trainer.tile_width) == (3, 640)
    assert trainer.fits([{"width": w} for w in (600, 600, 600)])
    assert not trainer.fits([{"width": w} for w in (600, 600, 600, 64)])  # a fourth tile
    whole = PopulationTrainer(training=TrainingConfig(population=16, tile_columns=0), columns=1792)
    assert (whole.tiles, whole.tile_width) == (1, 1792) and whole.fits([{"width": w} for w in (600, 600, 592)])
