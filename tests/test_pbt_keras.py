"""PBT with real Keras models on a few hundred digits: exploit copies exactly, resizing, kill and resume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpsearch import Store, StudyState, TrialState, parse_study, run_study
from hpsearch.core.config import DataConfig
from hpsearch.read.frames import pbt_schedule
from tests.conftest import kill_when

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.keras

from hpsearch.train.keras import KerasTrainer, build_model, load_dataset  # noqa: E402
from hpsearch.train.keras.model import hidden_weights, set_hidden_weights  # noqa: E402
from hpsearch.train.keras.resize import narrow, widen  # noqa: E402
from hpsearch.train.trainer import TrainJob  # noqa: E402

SMALL = DataConfig(dataset="mnist-sample", train_size=300)
REPO = Path(__file__).resolve().parents[1]
PARENT = {"width": 32, "dropout": 0.2, "optimizer": "adam", "learning_rate": 2e-3}


@pytest.fixture(scope="module")
def parent_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pbt") / "parent.weights.h5"
    (outcome,) = KerasTrainer(SMALL).train([TrainJob(0, PARENT, 2, seed=1, weights_path=path)], lambda *_: True)
    assert outcome.state is TrialState.COMPLETE and path.exists()
    return path


def _saved(params: dict, path: Path) -> keras.Model:
    model = build_model(**params)
    model.optimizer.build(model.trainable_variables)
    model.load_weights(path)
    return model


def _child(parent_checkpoint: Path, **changes) -> keras.Model:
    job = TrainJob(1, {**PARENT, **changes}, 1, seed=2, parent_checkpoint=parent_checkpoint, parent_params=PARENT)
    return KerasTrainer(SMALL)._from_parent(job, {})


def test_exploit_copies_weights_and_optimizer_state_exactly(parent_checkpoint: Path) -> None:
    saved = _saved(PARENT, parent_checkpoint)
    child = _child(parent_checkpoint, learning_rate=1e-3, dropout=0.3)
    for a, b in zip(saved.get_weights(), child.get_weights()):
        np.testing.assert_array_equal(a, b)
    steps = int(keras.ops.convert_to_numpy(saved.optimizer.iterations))
    assert steps == 2 * (300 // 32 + 1)  # two epochs of batches of 32 on 300 digits
    assert int(keras.ops.convert_to_numpy(child.optimizer.iterations)) == steps
    for a, b in zip(saved.optimizer.variables, child.optimizer.variables):
        if "learning_rate" not in a.path:
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    # learning rate and dropout changed in place
    assert float(keras.ops.convert_to_numpy(child.optimizer.learning_rate)) == pytest.approx(1e-3)
    assert child.get_layer("dropout").rate == 0.3


def test_another_optimizer_keeps_weights_and_resets_its_state(parent_checkpoint: Path) -> None:
    saved = _saved(PARENT, parent_checkpoint)
    child = _child(parent_checkpoint, optimizer="rmsprop")
    for a, b in zip(saved.get_weights(), child.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert type(child.optimizer).__name__ == "RMSprop" and int(keras.ops.convert_to_numpy(child.optimizer.iterations)) == 0


def test_widening_preserves_predictions_exactly(parent_checkpoint: Path) -> None:
    data = load_dataset(SMALL)
    saved = _saved(PARENT, parent_checkpoint)
    before = saved.predict(data.x_val[:200], verbose=0)
    wide = build_model(**{**PARENT, "width": 50})
    set_hidden_weights(wide, widen(hidden_weights(saved), 50, np.random.default_rng(0)))
    after = wide.predict(data.x_val[:200], verbose=0)  # predict runs with dropout off
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
    # through the trainer, as PBT does it: a fresh optimizer, the same function
    child = _child(parent_checkpoint, width=48)
    np.testing.assert_allclose(child.predict(data.x_val[:200], verbose=0), before, rtol=1e-5, atol=1e-6)
    assert int(keras.ops.convert_to_numpy(child.optimizer.iterations)) == 0


def test_narrowing_keeps_the_units_with_the_largest_outgoing_weights(parent_checkpoint: Path) -> None:
    saved = _saved(PARENT, parent_checkpoint)
    k1, b1, k2, b2 = hidden_weights(saved)
    nk1, _nb1, nk2, _nb2 = narrow((k1, b1, k2, b2), 20)
    norms = np.linalg.norm(k2, axis=1)
    kept = sorted(np.argsort(-norms)[:20])
    np.testing.assert_array_equal(nk1, k1[:, kept])
    np.testing.assert_array_equal(nk2, k2[kept, :])
    info: dict[str, float] = {}
    job = TrainJob(1, {**PARENT, "width": 20}, 1, seed=2, parent_checkpoint=parent_checkpoint, parent_params=PARENT)
    KerasTrainer(SMALL)._from_parent(job, info)
    assert set(info) == {"val_before_resize", "val_after_resize"}
    assert 0 < info["val_after_resize"] <= 1 and 0 < info["val_before_resize"] <= 1


def test_a_resizing_pbt_study_records_what_narrowing_cost(tmp_path: Path) -> None:
    config = parse_study(
        {
            "strategy": "pbt",
            "seed": 4,
            "data": {"dataset": "mnist-sample", "train_size": 300},
            "space": {"width": {"low": 16, "high": 64}, "learning_rate": {"low": 1e-3, "high": 1e-2}},
            "pbt": {"population": 3, "ready": 1, "epochs": 3, "width": "resize", "fraction": 0.34},
        },
        default_name="resize",
    )
    summary = run_study(config, str(tmp_path / "r.db"))
    assert summary.complete and summary.test is not None
    frame = pbt_schedule("resize", str(tmp_path / "r.db"))
    resized = frame[frame["kind"].isin(["exploit"]) & frame["val_before_resize"].notna()]
    exploits = frame[frame["kind"] == "exploit"]
    assert len(exploits) >= 1 and len(resized) >= 1
    for row in exploits.itertuples():
        parent = summary.trials[int(row.parent_trial)]
        if row.width != parent.params["width"]:
            assert row.optimizer_reset and row.trial in set(resized["trial"])
    for row in resized.itertuples():
        # before the cut, the copied checkpoint scores exactly what its parent recorded at the end of its segment
        assert row.val_before_resize == pytest.approx(summary.trials[int(row.parent_trial)].value, abs=1e-6)


PBT_STUDY = """
name = "pbt-kill"
strategy = "pbt"
seed = 3
[data]
dataset = "mnist-sample"
train_size = 300
[space]
width = [16, 32]
learning_rate = { low = 1e-3, high = 1e-2 }
[training]
trainer = "keras"
[pbt]
population = 3
ready = 1
epochs = 3
"""


def test_pbt_killed_with_sigkill_resumes_with_exact_epochs_per_member(tmp_path: Path) -> None:
    study = tmp_path / "pbt.toml"
    study.write_text(PBT_STUDY)
    db = tmp_path / "p.db"
    cmd = [sys.executable, "-m", "hpsearch", "run", str(study), "--store", str(db), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # kill after the first generation, while a segment that continues a parent from its checkpoint runs. On the
    # per-trial Keras trainer a segment (build, load the parent, fit) lasts long enough to be caught running; the
    # population trainer's segments of 300 digits take milliseconds (its resume from checkpoints is tested in
    # test_population.py, its kill -9 in test_keras.py)
    before = kill_when(proc, db, "pbt-kill", lambda trials: any(t.state is TrialState.RUNNING and t.generation >= 1 for t in trials))
    assert any(t.state is TrialState.RUNNING for t in before)

    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with Store.open(db, read_only=True) as store:
        rec = store.study("pbt-kill")
        after = store.trials(rec.id)
        epochs = store.epochs(rec.id)
    assert rec.state is StudyState.COMPLETE
    assert len(after) == 3 * 3 and all(t.state is TrialState.COMPLETE for t in after)
    for m in range(3):
        segs = sorted((t for t in after if t.member == m), key=lambda t: t.generation)
        assert [(t.start_epoch, t.epochs_done) for t in segs] == [(0, 1), (1, 1), (2, 1)]
    # no completed segment was lost or trained twice
    completed_before = {t.number: t.value for t in before if t.state is TrialState.COMPLETE}
    assert {t.number: t.value for t in after if t.number in completed_before} == completed_before
    assert len(epochs) == 9 and len({(e.trial_number, e.epoch) for e in epochs}) == 9
    assert any(t.attempt == 2 for t in after)
