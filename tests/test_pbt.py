"""PBT without TensorFlow: selection, exploration, ranking, scheduling, lineage and checkpoint retention."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hpsearch import ConfigError, FunctionTrainer, RunOptions, Store, TrialRecord, TrialState, parse_study, run_study
from hpsearch.core.config import PBTConfig
from hpsearch.core.space import parse_space
from hpsearch.read.frames import model_history, pbt_lineage, pbt_schedule
from hpsearch.search.strategies import PBTStrategy
from hpsearch.search.strategies.pbt import explore, perturb_value, ranked_at, select_tournament, select_truncation
from hpsearch.train.trainer import TrainJob
from tests.conftest import toy_metrics


def _seg(
    number: int, member: int, value: float | None, *, start: int = 0, epochs: int = 1, state: TrialState = TrialState.COMPLETE, **params
) -> TrialRecord:
    p = {"width": 64, "dropout": 0.2, "optimizer": "adam", "learning_rate": 1e-3, **params}
    return TrialRecord(
        id=number,
        study_id=1,
        number=number,
        state=state,
        params=p,
        seed=0,
        attempt=1,
        value=value,
        epochs=epochs,
        member=member,
        generation=start // max(epochs, 1),
        start_epoch=start,
    )


RANKED = {m: _seg(m, m, v) for m, v in enumerate([0.50, 0.90, 0.70, 0.60, 0.80])}  # order: 1, 4, 2, 3, 0


# ------------------------------------------------------------------ selection


def test_truncation_bottom_member_copies_from_the_top() -> None:
    rng = np.random.default_rng(0)
    # 5 members, fraction 0.2 -> groups of ceil(1.0) = 1: member 0 (worst) copies member 1 (best)
    assert select_truncation(0, RANKED, 0.2, rng) == 1
    for middle in (2, 3, 4, 1):
        assert select_truncation(middle, RANKED, 0.2, rng) is None


def test_truncation_top_group_is_chosen_uniformly() -> None:
    rng = np.random.default_rng(1)
    picks = Counter(select_truncation(0, RANKED, 0.4, rng) for _ in range(2000))  # groups of 2: top {1, 4}
    assert set(picks) == {1, 4}
    assert abs(picks[1] - picks[4]) < 200
    assert select_truncation(3, RANKED, 0.4, rng) in (1, 4)  # 3 is second worst: in the bottom 2


def test_truncation_respects_direction_and_small_populations() -> None:
    rng = np.random.default_rng(0)
    assert select_truncation(1, RANKED, 0.2, rng, maximize=False) == 0  # minimizing: 0.90 is worst, 0.50 best
    assert select_truncation(0, {0: RANKED[0]}, 0.2, rng) is None  # alone: nobody to copy
    assert select_truncation(7, RANKED, 0.2, rng) is None  # not ranked at this epoch


def test_tournament_copies_only_a_better_member() -> None:
    rng = np.random.default_rng(3)
    results = [select_tournament(0, RANKED, rng) for _ in range(200)]  # the worst member: every other is better
    assert set(results) == {1, 2, 3, 4}
    assert {select_tournament(1, RANKED, rng) for _ in range(200)} == {None}  # the best never copies
    mixed = [select_tournament(2, RANKED, rng) for _ in range(400)]  # 0.70: better are 1 (0.9) and 4 (0.8)
    assert set(mixed) == {None, 1, 4}


# ------------------------------------------------------------------ exploration

SPACE = parse_space(
    {
        "width": {"low": 16, "high": 256, "log": True},
        "dropout": {"low": 0.0, "high": 0.5},
        "optimizer": ["sgd", "adam", "rmsprop"],
        "learning_rate": {"low": 1e-4, "high": 1e-2},
    }
)


def test_perturb_clips_to_bounds_and_keeps_integers() -> None:
    assert perturb_value(SPACE["learning_rate"], 9e-3, 1.2) == 1e-2
    assert perturb_value(SPACE["learning_rate"], 1.1e-4, 0.8) == 1e-4
    assert perturb_value(SPACE["learning_rate"], 1e-3, 1.2) == pytest.approx(1.2e-3)
    assert perturb_value(SPACE["dropout"], 0.45, 1.2) == 0.5
    width = perturb_value(SPACE["width"], 101, 1.2)
    assert width == 121 and type(width) is int
    assert perturb_value(SPACE["width"], 250, 1.2) == 256


def test_explore_perturbs_continuous_values_by_the_factors_and_never_touches_inherited_width() -> None:
    config = PBTConfig(factors=(0.8, 1.2), choice_probability=0.0)
    parent = {"width": 64, "dropout": 0.25, "optimizer": "adam", "learning_rate": 1e-3}
    seen_lr, seen_dropout = set(), set()
    for seed in range(200):
        child = explore(parent, SPACE, config, np.random.default_rng(seed))
        assert child["width"] == 64 and child["optimizer"] == "adam"
        seen_lr.add(round(child["learning_rate"] / 1e-3, 6))
        seen_dropout.add(round(child["dropout"] / 0.25, 6))
        assert SPACE.contains(child)
    assert seen_lr == {0.8, 1.2} and seen_dropout == {0.8, 1.2}


def test_explore_moves_a_choice_to_a_neighbouring_value() -> None:
    config = PBTConfig(choice_probability=1.0)
    middle = {"width": 64, "dropout": 0.25, "optimizer": "adam", "learning_rate": 1e-3}
    edge = {**middle, "optimizer": "sgd"}
    assert {explore(middle, SPACE, config, np.random.default_rng(s))["optimizer"] for s in range(100)} == {"sgd", "rmsprop"}
    assert {explore(edge, SPACE, config, np.random.default_rng(s))["optimizer"] for s in range(100)} == {"adam"}


def test_resize_policy_explores_width_and_fixed_dimensions_never_change() -> None:
    space = parse_space({"width": {"low": 16, "high": 256}, "dropout": 0.3})
    config = PBTConfig(width="resize")
    widths = {
        explore({"width": 100, "dropout": 0.3, "optimizer": "adam", "learning_rate": 1e-3}, space, config, np.random.default_rng(s))[
            "width"
        ]
        for s in range(50)
    }
    assert widths == {80, 120}
    assert all(
        explore({"width": 100, "dropout": 0.3, "optimizer": "adam", "learning_rate": 1e-3}, space, config, np.random.default_rng(s))[
            "dropout"
        ]
        == 0.3
        for s in range(50)
    )


@pytest.mark.parametrize("probability", [0.0, 0.25, 1.0])
def test_resample_probability_is_honoured(probability: float) -> None:
    config = PBTConfig(explore="resample", resample_probability=probability)
    parent = {"width": 64, "dropout": 0.25, "optimizer": "adam", "learning_rate": 1e-3}
    changed = sum(explore(parent, SPACE, config, np.random.default_rng(s))["learning_rate"] != 1e-3 for s in range(2000))
    assert abs(changed / 2000 - probability) < 0.03


# ------------------------------------------------------------------ ranking and scheduling


def test_members_are_ranked_only_against_results_at_the_same_epoch() -> None:
    history = [
        _seg(0, 0, 0.5, start=0),
        _seg(1, 1, 0.9, start=0),
        _seg(2, 2, 0.7, start=0),
        _seg(3, 0, 0.95, start=1),
        _seg(4, 1, None, start=1, state=TrialState.RUNNING),
        _seg(5, 2, 0.1, start=1, state=TrialState.FAIL),
    ]
    assert sorted(ranked_at(history, 1)) == [0, 1, 2]
    at_two = ranked_at(history, 2)
    assert list(at_two) == [0] and at_two[0].number == 3  # running and failed segments have no result at 2


def _run_toy(tmp_path: Path, pbt: dict, **study) -> tuple:
    doc = {
        "strategy": "pbt",
        "seed": 5,
        "pbt": pbt,
        # the toy objective reads all four of the seed model's hyperparameters, so the space declares them all
        "space": {"width": 128, "dropout": {"low": 0.0, "high": 0.5}, "optimizer": "adam", "learning_rate": {"low": 1e-4, "high": 1e-1}},
        **study,
    }
    config = parse_study(doc, default_name="pbt-toy")
    db = str(tmp_path / "pbt.db")
    return config, db


def test_initial_population_then_least_trained_first(tmp_path: Path) -> None:
    config, db = _run_toy(tmp_path, {"population": 3, "ready": 2, "epochs": 5})
    summary = run_study(config, db, trainer=FunctionTrainer(toy_metrics))
    trials = summary.trials
    assert [(t.member, t.generation, t.start_epoch, t.epochs) for t in trials] == [
        (0, 0, 0, 2),
        (1, 0, 0, 2),
        (2, 0, 0, 2),
        (0, 1, 2, 2),
        (1, 1, 2, 2),
        (2, 1, 2, 2),
        (0, 2, 4, 1),
        (1, 2, 4, 1),
        (2, 2, 4, 1),  # the last segment is shorter: 5 epochs in all
    ]
    strategy = PBTStrategy(config.space, seed=5, pbt=config.pbt)
    assert [t.params for t in trials[:3]] == [config.space.sample(np.random.default_rng([5, 0, m])) for m in range(3)]
    assert strategy.ask(trials, len(trials)) is None  # every member has its epochs


def test_every_member_ends_with_exactly_its_epochs_and_decisions_are_stored(tmp_path: Path) -> None:
    config, db = _run_toy(tmp_path, {"population": 5, "ready": 1, "epochs": 6, "fraction": 0.2})
    summary = run_study(
        config, db, trainer=FunctionTrainer(lambda p, e, s: {"val_accuracy": 1 - abs(math.log10(p["learning_rate"]) + 2.5) / 3})
    )
    assert summary.complete and len(summary.trials) == 5 * 6
    with Store.open(db, read_only=True) as store:
        decisions = store.decisions(summary.study.id)
    assert len(decisions) == 5 * 5  # one per segment after the first
    for m in range(5):
        segs = sorted((t for t in summary.trials if t.member == m), key=lambda t: t.generation)
        assert [t.start_epoch for t in segs] == list(range(6)) and segs[-1].end_epoch == 6
    exploits = [d for d in decisions if d.kind == "exploit"]
    assert exploits, "the bottom member should copy the top one at some ready point"
    for d in exploits:
        parent = summary.trials[d.parent_trial]
        child = summary.trials[d.trial_number]
        assert parent.member == d.parent_member != d.member
        assert parent.end_epoch == child.start_epoch == d.at_epoch  # copied at the same amount of training
        assert child.params == d.new_params and d.old_params == summary.trials[child.number - 5].params
        assert child.params["learning_rate"] / parent.params["learning_rate"] in (pytest.approx(0.8), pytest.approx(1.2)) or child.params[
            "learning_rate"
        ] in (1e-4, 1e-1)
    for d in decisions:
        if d.kind == "continue":
            assert d.new_params == d.old_params and summary.trials[d.parent_trial].member == d.member


def test_schedule_and_lineage_frames_match_the_stored_decisions(tmp_path: Path) -> None:
    config, db = _run_toy(tmp_path, {"population": 4, "ready": 1, "epochs": 4})
    summary = run_study(config, db, trainer=FunctionTrainer(toy_metrics))
    with Store.open(db, read_only=True) as store:
        decisions = {d.trial_number: d for d in store.decisions(summary.study.id)}
    schedule = pbt_schedule("pbt-toy", db)
    assert len(schedule) == 16 and set(schedule.columns) >= {"member", "start_epoch", "end_epoch", "learning_rate", "kind", "parent_member"}
    for row in schedule.itertuples():
        t = summary.trials[row.trial]
        assert (row.learning_rate, row.dropout, row.start_epoch) == (t.params["learning_rate"], t.params["dropout"], t.start_epoch)
        assert row.kind == (decisions[row.trial].kind if row.trial in decisions else "initial")
    one = pbt_schedule("pbt-toy", db, member=2)
    assert list(one["member"].unique()) == [2] and list(one["start_epoch"]) == [0, 1, 2, 3]
    lineage = pbt_lineage("pbt-toy", db)
    edges = {(int(r.parent_trial), r.trial) for r in lineage.itertuples() if r.parent_trial is not pd.NA}
    assert edges == {(d.parent_trial, n) for n, d in decisions.items()}
    history = model_history("pbt-toy", summary.best.number, db)
    assert list(history["start_epoch"]) == [0, 1, 2, 3]  # the ancestry covers every epoch once
    assert history.iloc[-1]["trial"] == summary.best.number


class FileTrainer(FunctionTrainer):
    """The toy objective, plus checkpoint files: proves a parent's checkpoint exists when a child starts."""

    def __init__(self) -> None:
        super().__init__(toy_metrics)
        self.max_files = 0

    def _train_one(self, job: TrainJob, on_epoch):  # type: ignore[override]
        if job.parent_checkpoint is not None:
            assert job.parent_checkpoint.exists(), f"trial {job.trial_number}: parent checkpoint was deleted"
        outcome = super()._train_one(job, on_epoch)
        if job.weights_path is not None:
            job.weights_path.parent.mkdir(parents=True, exist_ok=True)
            job.weights_path.write_text("weights")
            self.max_files = max(self.max_files, len(list(job.weights_path.parent.glob("*.weights.h5"))))
        return outcome


def test_checkpoint_disk_use_stays_bounded_over_many_generations(tmp_path: Path) -> None:
    config, db = _run_toy(tmp_path, {"population": 4, "ready": 1, "epochs": 25})
    trainer = FileTrainer()
    summary = run_study(config, db, trainer=trainer, options=RunOptions(checkpoint_dir=tmp_path / "ckpt"))
    assert summary.complete and len(summary.trials) == 100
    assert trainer.max_files <= 3 * 4 + 1, trainer.max_files  # never more than a small multiple of the population
    left = sorted(p.name for p in (tmp_path / "ckpt" / f"pbt-toy-{summary.study.uid[:8]}").glob("*.weights.h5"))
    recorded = sorted(Path(t.checkpoint).name for t in summary.trials if t.checkpoint)
    assert left == recorded and len(left) <= 4 + 1
    assert f"trial-{summary.best.number}.weights.h5" in left


def test_a_run_killed_before_its_clean_up_leaves_no_extra_checkpoints_after_the_next_run(tmp_path: Path, monkeypatch) -> None:
    """Killed between the last segment's completion and the clean-up (here: a first run that never cleans
    up), the next run, with nothing left to train, applies the retention rule to what is on disk."""
    from hpsearch.running.loop import StudyRunner

    config, db = _run_toy(tmp_path, {"population": 4, "ready": 1, "epochs": 4})
    ckpt = tmp_path / "ckpt"
    with monkeypatch.context() as patched:
        patched.setattr(StudyRunner, "delete_unneeded_checkpoints", lambda self, study: None)
        first = run_study(config, db, trainer=FileTrainer(), options=RunOptions(checkpoint_dir=ckpt))
    folder = ckpt / f"pbt-toy-{first.study.uid[:8]}"
    assert first.complete and len(list(folder.glob("*.weights.h5"))) == 16  # every segment's weights are still there
    (folder / "trial-3.partial.weights.h5").write_text("killed while saving")  # a write cut short
    again = run_study(config, db, trainer=FileTrainer(), options=RunOptions(checkpoint_dir=ckpt))
    assert [t.id for t in again.trials] == [t.id for t in first.trials]  # nothing was trained
    left = sorted(p.name for p in folder.iterdir())
    recorded = sorted(Path(t.checkpoint).name for t in again.trials if t.checkpoint)
    assert left == recorded and len(left) <= 4 + 1  # each member's last segment, and the best
    assert f"trial-{again.best.number}.weights.h5" in left


def test_pbt_config_rules() -> None:
    with pytest.raises(ConfigError, match="pbt.epochs"):
        parse_study({"strategy": "pbt", "pbt": {"population": 4}}, default_name="x")
    with pytest.raises(ConfigError, match="budget.trials"):
        parse_study({"strategy": "pbt", "budget": {"trials": 3}, "pbt": {"epochs": 4}}, default_name="x")
    with pytest.raises(ConfigError, match="pbt.ready"):
        parse_study({"strategy": "pbt", "pbt": {"epochs": 4, "ready": 5}}, default_name="x")
    with pytest.raises(ConfigError, match="pbt.fraction"):
        parse_study({"strategy": "pbt", "pbt": {"epochs": 4, "fraction": 0.7}}, default_name="x")
    with pytest.raises(ConfigError, match="pbt.factors"):
        parse_study({"strategy": "pbt", "pbt": {"epochs": 4, "factors": [0.8, -1]}}, default_name="x")
    with pytest.raises(ConfigError, match=r"^pbt = "):
        parse_study({"strategy": "random", "budget": {"trials": 2, "epochs": 1}, "pbt": {"epochs": 4}}, default_name="x")
    config = parse_study({"strategy": "pbt", "pbt": {"population": 6, "ready": 3, "epochs": 10}}, default_name="x")
    assert config.budget.trials == 6 * 4 and config.pbt.segments == 4


def test_a_lagging_member_can_still_copy_every_segment_it_may_rank() -> None:
    """Asynchronous workers: member 2 is stuck in its second segment while 0 and 1 run ahead.
    Every segment member 2 may rank at its later ready points must keep its checkpoint."""
    config = PBTConfig(population=3, ready=1, epochs=6)
    strategy = PBTStrategy(SPACE, seed=0, pbt=config)
    history = [_seg(0, 0, 0.5), _seg(1, 1, 0.6), _seg(2, 2, 0.7)]
    number = 3
    for start in range(1, 5):  # members 0 and 1 reach epoch 5
        for member in (0, 1):
            history.append(_seg(number, member, 0.6 + 0.01 * number, start=start))
            number += 1
    history.append(_seg(number, 2, None, start=1, state=TrialState.RUNNING))
    keep = strategy.checkpoints_to_keep(history)
    for epoch in range(2, 6):  # member 2 decides at epochs 2, 3, 4 and 5
        assert {t.number for t in ranked_at(history, epoch).values()} <= keep, epoch
    assert history[0].number not in keep and history[1].number not in keep  # epoch 1 is behind every member


def test_a_population_that_failed_everywhere_stops_with_the_reason(tmp_path: Path) -> None:
    from hpsearch.core.errors import StudyStuckError

    calls = {"n": 0}

    def objective(params: dict, epoch: int, seed: int) -> dict:
        calls["n"] += 1
        if calls["n"] > 2:  # the first generation completes, every later segment fails
            raise RuntimeError("diverged")
        return toy_metrics(params, epoch, seed)

    config, db = _run_toy(tmp_path, {"population": 2, "ready": 1, "epochs": 3})
    with pytest.raises(StudyStuckError, match="every member still training failed at epoch 2"):
        run_study(config, db, trainer=FunctionTrainer(objective), options=RunOptions(max_consecutive_failures=10))
    with Store.open(db, read_only=True) as store:
        study = store.study("pbt-toy")
    assert study.state.value == "STOPPED" and "nothing left to propose" in study.stop_reason


def test_retry_failed_is_refused_for_pbt(tmp_path: Path) -> None:
    config, db = _run_toy(tmp_path, {"population": 2, "ready": 1, "epochs": 2})
    with pytest.raises(ConfigError, match="--retry-failed"):
        run_study(config, db, trainer=FunctionTrainer(toy_metrics), options=RunOptions(retry_failed=True))


def test_a_pbt_study_stopped_by_its_time_budget_has_a_provisional_result(tmp_path: Path, capsys) -> None:
    """No member reached the full epochs when the time budget stopped the run: the result is the best
    segment so far, marked provisional, evaluated on the test set and shown by `best` and `status`;
    the finished study's result is final again, and evaluated anew."""
    from hpsearch.cli import main
    from hpsearch.core.results import is_final
    from tests.comparison_store import _Trainer

    config, db = _run_toy(tmp_path, {"population": 4, "ready": 1, "epochs": 4})
    run_study(config, db, trainer=_Trainer(), options=RunOptions(max_trials=6))  # 6 of 16 segments: no member at epoch 4
    stopped = run_study(config, db, trainer=_Trainer(), options=RunOptions(timeout=1e-6))
    assert stopped.stopped_early == "timeout" and stopped.provisional
    best = stopped.best
    assert best is not None and not is_final(best, 4)
    assert best.value == max(t.value for t in stopped.trials if t.state is TrialState.COMPLETE)
    assert stopped.test is not None and stopped.test.trial_number == best.number
    assert stopped.test.note == "provisional: the best trial so far when the run stopped"
    assert main(["best", "pbt-toy", "--store", db]) == 0
    out = capsys.readouterr().out
    assert f"best trial so far of pbt-toy (provisional: the study is unfinished; run it again to continue): trial {best.number}" in out
    assert "test accuracy" in out
    from hpsearch import status

    (row,) = status(store=db)
    assert (row.best_trial, row.provisional, row.test_accuracy) == (best.number, True, stopped.test.accuracy)

    done = run_study(config, db, trainer=_Trainer())
    assert not done.provisional and done.best is not None and is_final(done.best, 4)
    assert done.test is not None and done.test.trial_number == done.best.number
    assert done.test.note is None
    (row,) = status(store=db)
    assert (row.best_trial, row.provisional) == (done.best.number, False)
