"""The comparison data layer, on a store built by the tests: trials, epochs, best so far, importance, best trials."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from hpsearch import ConfigError, FunctionTrainer, Store, TrialState, run_study
from hpsearch.read.frames import (
    EPOCH_COLUMNS,
    TRIAL_COLUMNS,
    UnknownStudyError,
    best_so_far,
    best_trials_frame,
    epochs_frame,
    final_results,
    model_history,
    param_importance,
    study_space,
    trials_frame,
)
from tests.comparison_store import FAILING_TRIAL, PARTIAL_COMPLETE, STUDIES, shared_comparison_store, toy_test_accuracy
from tests.conftest import study_config, toy_metrics

FINISHED = ("COMPLETE", "PRUNED", "FAIL")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(shared_comparison_store(tmp_path_factory))


def _stored(db: str, name: str) -> list:
    with Store.open(db, read_only=True) as store:
        return store.trials(store.study(name).id)


# ------------------------------------------------------------------ trials_frame


def test_trials_frame_has_one_row_per_stored_trial_with_its_params(db: str) -> None:
    frame = trials_frame(db, ["cmp-pbt", "cmp-grid"])
    assert list(frame.columns) == list(TRIAL_COLUMNS)
    assert list(dict.fromkeys(frame["study"])) == ["cmp-pbt", "cmp-grid"]  # in the order asked for
    for name in ("cmp-pbt", "cmp-grid"):
        rows = frame[frame["study"] == name].set_index("number")
        stored = _stored(db, name)
        assert sorted(rows.index) == [t.number for t in stored]
        for t in stored:
            row = rows.loc[t.number]
            assert row["state"] == t.state.value and row["value"] == pytest.approx(t.value)
            assert {k: row[k] for k in t.params} == t.params
            assert row["strategy"] == STUDIES[name]
    pbt = frame[frame["study"] == "cmp-pbt"].set_index("number")
    for t in _stored(db, "cmp-pbt"):
        row = pbt.loc[t.number]
        assert (row["member"], row["generation"], row["start_epoch"]) == (t.member, t.generation, t.start_epoch)
        assert row["end_epoch"] == t.end_epoch
        assert (pd.isna(row["parent_trial"]) and t.parent_trial is None) or row["parent_trial"] == t.parent_trial


def test_the_api_trials_frame_is_the_analysis_frame_of_one_study_in_number_order(db: str) -> None:
    import hpsearch

    frame = hpsearch.trials_frame("cmp-partial", db)
    assert list(frame["number"]) == [t.number for t in _stored(db, "cmp-partial")]
    expected = trials_frame(db, "cmp-partial").sort_values("number").reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected)
    with pytest.raises(UnknownStudyError, match="no such study"):
        hpsearch.trials_frame("nope", db)


def test_trials_are_in_completion_order_with_running_totals(db: str) -> None:
    frame = trials_frame(db)
    assert list(dict.fromkeys(frame["study"])) == [n for n in STUDIES if n != "cmp-empty"]  # every study with trials, in store order
    for _, group in frame.groupby("study", sort=False):
        done = group[group["state"].isin(FINISHED)]
        assert list(done["completion"]) == list(range(len(done)))
        assert done["finished_at"].is_monotonic_increasing
        assert list(done["cum_epochs"]) == list(done["epochs"].cumsum())
        durations = (done["finished_at"] - done["started_at"]).dt.total_seconds()
        assert done["cum_seconds"].to_numpy() == pytest.approx(durations.cumsum().to_numpy(), abs=1e-5)
        rest = group[~group["state"].isin(FINISHED)]
        assert rest["completion"].isna().all() and rest["cum_epochs"].isna().all()
        assert list(group.index) == list(done.index) + list(rest.index)  # unfinished trials come last


def test_cumulative_epochs_match_the_per_epoch_table(db: str) -> None:
    trials = trials_frame(db)
    epochs = epochs_frame(db)
    counts = epochs.groupby(["study", "number"]).size()
    for row in trials.itertuples():
        assert row.epochs == counts.get((row.study, row.number), 0)
    for name, group in trials.groupby("study", sort=False):
        done = group[group["state"].isin(FINISHED)]
        in_table = epochs[(epochs["study"] == name) & epochs["number"].isin(done["number"])]
        assert (done["cum_epochs"].iloc[-1] if len(done) else 0) == len(in_table)
    failed = trials[(trials["study"] == "cmp-random") & (trials["number"] == FAILING_TRIAL)].iloc[0]
    assert failed["state"] == "FAIL" and failed["epochs"] == 2  # a failed trial spent its epochs: they count
    pbt = trials[trials["study"] == "cmp-pbt"]
    assert pbt["cum_epochs"].max() == 4 * 3  # population x epochs


def test_epochs_frame_keeps_only_current_attempts(db: str) -> None:
    epochs = epochs_frame(db, "cmp-partial")
    assert list(epochs.columns) == list(EPOCH_COLUMNS)
    with Store.open(db, read_only=True) as store:
        study = store.study("cmp-partial")
        every = store.epochs(study.id, current_only=False)
        current = store.epochs(study.id)
    assert len(every) == len(current) + 1  # the interrupted attempt's epoch is stored but not current
    assert len(epochs) == len(current) and PARTIAL_COMPLETE not in set(epochs["number"])
    pbt = epochs_frame(db, "cmp-pbt")
    assert (pbt["model_epoch"] == pbt["epoch"] + pbt["number"].map(trials_frame(db, "cmp-pbt").set_index("number")["start_epoch"])).all()
    assert sorted(pbt["model_epoch"].unique()) == [1, 2, 3]


def test_still_running_and_empty_studies_give_frames_not_errors(db: str) -> None:
    empty = trials_frame(db, "cmp-empty")
    assert empty.empty and list(empty.columns) == list(TRIAL_COLUMNS)
    assert best_so_far(empty).empty and epochs_frame(db, "cmp-empty").empty
    partial = trials_frame(db, "cmp-partial")
    assert list(partial["state"]) == ["COMPLETE"] * PARTIAL_COMPLETE + ["WAITING"]
    assert partial["cum_epochs"].iloc[-1] is pd.NA
    assert len(best_so_far(partial)) == PARTIAL_COMPLETE


def test_unknown_study_is_bad_input_that_lists_the_known_ones(db: str) -> None:
    with pytest.raises(UnknownStudyError, match=r"'nope'.*studies: cmp-empty, cmp-evolution, cmp-grid") as info:
        trials_frame(db, ["cmp-grid", "nope"])
    assert isinstance(info.value, ConfigError)


def test_final_results_are_complete_trials_and_each_pbt_members_last_segment(db: str) -> None:
    final = final_results(trials_frame(db))
    assert set(final["state"]) == {"COMPLETE"}
    assert len(final[final["study"] == "cmp-random"]) == 7  # 8 trials, one failed
    pbt = final[final["study"] == "cmp-pbt"]
    assert sorted(pbt["member"]) == [0, 1, 2, 3] and set(pbt["end_epoch"]) == {3}


# ------------------------------------------------------------------ best so far


def _running_best(values: list[tuple[str, float | None]], maximize: bool = True) -> list[float]:
    best: float | None = None
    out = []
    for state, value in values:
        if state == "COMPLETE" and value is not None:
            best = value if best is None else (max(best, value) if maximize else min(best, value))
        out.append(math.nan if best is None else best)
    return out


def test_best_so_far_is_the_running_max_of_stored_values_in_completion_order(db: str) -> None:
    trials = trials_frame(db)
    curve = best_so_far(trials)
    for name in ("cmp-grid", "cmp-random", "cmp-tpe", "cmp-pbt", "cmp-partial"):
        stored = sorted(_stored(db, name), key=lambda t: (t.finished_at or math.inf, t.number))
        finished = [t for t in stored if t.state.is_finished()]
        part = curve[curve["study"] == name]
        assert list(part["number"]) == [t.number for t in finished]
        expected = _running_best([(t.state.value, t.value) for t in finished])
        assert part["best"].to_numpy() == pytest.approx(expected, nan_ok=True)
        assert list(part["cum_epochs"]) == list(trials[(trials["study"] == name) & trials["completion"].notna()]["cum_epochs"])
        improved = part[part["improved"]]
        assert improved["best"].is_monotonic_increasing and improved["best"].is_unique
        assert improved["best"].iloc[-1] == part["best"].iloc[-1]
    failed = curve[(curve["study"] == "cmp-random") & (curve["number"] == FAILING_TRIAL)].iloc[0]
    assert not failed["improved"] and not math.isnan(failed["best"])  # a FAIL carries the best forward


def test_best_so_far_minimizes_for_a_minimized_metric() -> None:
    frame = pd.DataFrame(
        {
            "study": ["s"] * 4,
            "strategy": ["random"] * 4,
            "completion": [0, 1, 2, 3],
            "number": [0, 1, 2, 3],
            "state": ["FAIL", "COMPLETE", "COMPLETE", "COMPLETE"],
            **{h: [None] * 4 for h in ("width", "dropout", "optimizer", "learning_rate")},
            "value": [None, 0.5, 0.7, 0.3],
            "cum_epochs": [1, 2, 3, 4],
            "cum_seconds": [1.0, 2.0, 3.0, 4.0],
            "member": [None] * 4,
            "metric": ["val_loss"] * 4,
            "direction": ["minimize"] * 4,
        }
    )
    curve = best_so_far(frame)
    assert curve["best"].to_numpy() == pytest.approx([math.nan, 0.5, 0.5, 0.3], nan_ok=True)
    assert list(curve["improved"]) == [False, True, False, True]


# ------------------------------------------------------------------ best trials and importance


def test_best_trials_frame_matches_the_summary_and_test_evaluation(db: str) -> None:
    import hpsearch

    best = best_trials_frame(db).set_index("study")
    assert list(best.index) == list(STUDIES)
    for name in ("cmp-grid", "cmp-random", "cmp-tpe", "cmp-pbt"):
        trial = hpsearch.best(name, db)
        row = best.loc[name]
        assert row["best_trial"] == trial.number and row["value"] == pytest.approx(trial.value)
        assert row["test_accuracy"] == pytest.approx(toy_test_accuracy(trial.params))
        assert row["state"] == "COMPLETE"
    assert pd.isna(best.loc["cmp-empty", "best_trial"]) and pd.isna(best.loc["cmp-empty", "test_accuracy"])
    assert best.loc["cmp-partial", "finished"] == PARTIAL_COMPLETE and pd.isna(best.loc["cmp-partial", "test_accuracy"])


def test_importance_from_the_store(db: str) -> None:
    grid = param_importance(db, "cmp-grid")
    assert grid.note is None and grid.trials == 8
    assert set(grid.importances) <= {"width", "dropout", "optimizer", "learning_rate"}
    assert sum(grid.importances.values()) == pytest.approx(1.0)
    assert list(grid.importances.values()) == sorted(grid.importances.values(), reverse=True)
    assert list(grid.frame().columns) == ["study", "hyperparameter", "importance"]
    assert param_importance(db, "cmp-pbt").trials == 4  # PBT: one result per member
    for name in ("cmp-empty", "cmp-partial"):
        few = param_importance(db, name)
        assert few.importances == {} and "needs 4 completed trials" in (few.note or "")
        assert few.frame().empty


def test_importance_leaves_fixed_and_constant_dimensions_out(tmp_path: Path) -> None:
    db = str(tmp_path / "fixed.db")
    space = {"width": 64, "dropout": 0.2, "optimizer": ["adam", "sgd"], "learning_rate": {"low": 1e-4, "high": 1e-2}}
    run_study(study_config("random", name="fixed", trials=8, space=space), db, trainer=FunctionTrainer(toy_metrics))
    importance = param_importance(db, "fixed")
    assert set(importance.importances) == {"optimizer", "learning_rate"}
    run_study(study_config("random", name="flat", trials=5), db, trainer=FunctionTrainer(lambda p, e, s: {"val_accuracy": 0.5}))
    flat = param_importance(db, "flat")
    assert flat.importances == {} and "same value" in (flat.note or "")
    with Store.open(db, read_only=True) as store:
        assert study_space(store.study("fixed")).describe() == study_config("random", space=space).space.describe()


def test_model_history_agrees_with_the_parent_links_of_trials_frame(db: str) -> None:
    trials = trials_frame(db, "cmp-pbt").set_index("number")
    best = int(best_trials_frame(db, "cmp-pbt")["best_trial"].iloc[0])
    chain, current = [], best
    while current is not None and not pd.isna(current):
        chain.append(int(current))
        current = trials.loc[int(current), "parent_trial"]
    assert sorted(model_history("cmp-pbt", best, db)["trial"]) == sorted(chain)
    assert trials.loc[best, "state"] == TrialState.COMPLETE.value
