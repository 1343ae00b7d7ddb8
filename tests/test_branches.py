"""The trials of a study's own model trained together (:mod:`hpsearch.train.keras.branches`), against Keras."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from hpsearch.store import TrialState
from hpsearch.train.keras import KerasTrainer
from hpsearch.train.keras.branches import BranchTrainer, _build_state
from hpsearch.train.trainer import EpochResult, TrainJob
from tests.test_own_model import dense, tiny_digits

pytestmark = [
    pytest.mark.keras,
    pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="members are branches of one TensorFlow graph"),
]


def _job(number: int, units: int, lr: float, solver: str, tmp_path: Path, epochs: int = 2) -> TrainJob:
    params = {"units": units, "lr": lr, "momentum": 0.5, "solver": solver}
    return TrainJob(number, params, epochs=epochs, seed=10 + number, weights_path=tmp_path / f"trial-{number}.weights.h5")


def _train(
    trainer: BranchTrainer | KerasTrainer, jobs: list[TrainJob], prune: int | None = None
) -> tuple[list, dict[int, list[EpochResult]]]:
    seen: dict[int, list[EpochResult]] = {}

    def on_epoch(job: TrainJob, result: EpochResult) -> bool:
        seen.setdefault(job.trial_number, []).append(result)
        return not (job.trial_number == prune and result.epoch == 1)

    return trainer.train(jobs, on_epoch), seen


def test_a_member_trains_the_same_alone_as_among_others_that_are_pruned_or_fail(tmp_path: Path) -> None:
    jobs = [
        _job(0, 16, 0.1, "sgd", tmp_path),
        _job(1, 32, 0.01, "adam", tmp_path),  # another shape and optimiser; pruned after its first epoch
        _job(2, 8, 1e12, "sgd", tmp_path),  # diverges: its loss is not finite after the first epoch
    ]
    together = BranchTrainer(model=dense, loader=tiny_digits, study_seed=5)
    outcomes, seen = _train(together, jobs, prune=1)
    assert [o.state for o in outcomes] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL]
    assert "at epoch 1" in (outcomes[2].error or "") and [len(o.epochs) for o in outcomes] == [2, 1, 1]
    assert together.traces == 2  # all three, then the one left

    alone_dir = tmp_path / "alone"
    alone = BranchTrainer(model=dense, loader=tiny_digits, study_seed=5)
    [alone_outcome], alone_seen = _train(alone, [_job(0, 16, 0.1, "sgd", alone_dir)])
    assert alone_outcome.state is TrialState.COMPLETE
    for ours, theirs in zip(seen[0], alone_seen[0]):
        assert ours.metrics.keys() == theirs.metrics.keys()
        np.testing.assert_allclose(list(ours.metrics.values()), list(theirs.metrics.values()), rtol=1e-5)
    saved, saved_alone = dense(jobs[0].params), dense(jobs[0].params)
    for model, path in ((saved, jobs[0].weights_path), (saved_alone, alone_dir / "trial-0.weights.h5")):
        model.optimizer.build(model.trainable_variables)
        model.load_weights(path)  # Keras's own checkpoint, loaded into the builder's model
    for ours, theirs in zip(saved.get_weights(), saved_alone.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)

    # the metrics are named as fit logs them (the numbers differ: fit shuffles in its own order)
    [fitted], fit_seen = _train(KerasTrainer(model=dense, loader=tiny_digits), [_job(0, 16, 0.1, "sgd", tmp_path / "fit")])
    assert fitted.state is TrialState.COMPLETE and fit_seen[0][-1].metrics.keys() == seen[0][-1].metrics.keys()
    assert together.evaluate(jobs[0]) == pytest.approx(alone.evaluate(_job(0, 16, 0.1, "sgd", alone_dir)), rel=1e-5)


def test_one_step_of_the_pass_is_each_members_train_on_batch() -> None:
    import tensorflow as tf

    (x, y), _, _ = tiny_digits()
    params = [{"units": 16, "lr": 0.1, "momentum": 0.9, "solver": "sgd"}, {"units": 24, "lr": 0.01, "solver": "adam"}]

    def built() -> list[keras.Model]:
        models = []
        for i, p in enumerate(params):
            keras.utils.set_random_seed(i)
            models.append(dense(p))
        return models

    ours, theirs = built(), built()
    for model in ours:
        _build_state(model, (x, y))
    train_epoch, _ = BranchTrainer(model=dense, loader=tiny_digits)._traced(ours)
    for _ in range(2):  # twice: the optimisers' state carries over
        train_epoch(tf.data.Dataset.from_tensor_slices((x[:32], y[:32])).batch(32))
        for model in theirs:
            model.train_on_batch(x[:32], y[:32])
    for a, b in zip(ours, theirs):
        for ours_w, theirs_w in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_allclose(ours_w, theirs_w, rtol=1e-5, atol=1e-7)
        assert int(a.optimizer.iterations.numpy()) == int(b.optimizer.iterations.numpy()) == 2


def test_members_of_other_batch_sizes_train_in_passes_of_their_own(tmp_path: Path) -> None:
    trainer = BranchTrainer(model=dense, loader=tiny_digits, study_seed=1)
    assert trainer.fits([{"batch_size": 32}, {}]) and not trainer.fits([{"batch_size": 64}, {}])
    jobs = [_job(0, 8, 0.1, "sgd", tmp_path, epochs=1), _job(1, 8, 0.1, "sgd", tmp_path, epochs=1)]
    jobs[1] = TrainJob(1, {**jobs[1].params, "batch_size": 300}, epochs=1, seed=3)
    outcomes, _ = _train(trainer, jobs)
    assert [o.state for o in outcomes] == [TrialState.COMPLETE] * 2 and trainer.traces == 2
