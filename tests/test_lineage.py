"""The evolution lineage: stored with each child when it is proposed, read back from the store only,
and filled in once for studies stored before it was (hpsearch.running.lineage)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy

from hpsearch import FunctionTrainer, Store, run_study
from hpsearch.core.config import config_from_stored
from hpsearch.read.frames import evolution_lineage
from hpsearch.running.lineage import backfill_evolution_lineage, missing_lineage
from hpsearch.search.strategies import EvolutionStrategy, strategy_for
from hpsearch.store import schema as s
from hpsearch.store import store_url as url_of
from tests.conftest import study_config, toy_metrics

V2 = Path(__file__).resolve().parent / "data" / "store_v2.db"


def _recomputed(store: Store, name: str) -> dict[int, tuple[int, int]]:
    """The parents as the code before stored lineages found them: the strategy re-run on the stored history."""
    study = store.study(name)
    return strategy_for(config_from_stored(name, study.config)).parents(store.trials(study.id, with_curves=False))  # type: ignore[attr-defined, no-any-return]


def _read(store: Store, name: str) -> dict[int, tuple[int, int]]:
    frame = evolution_lineage(name, store)
    children = frame[frame["generation"] > 0]
    return {int(r.trial): (int(r.first_parent), int(r.second_parent)) for r in children.itertuples()}


def test_a_study_stored_before_keeps_its_lineage_once_backfilled(tmp_path: Path) -> None:
    """v2-evolution was written by the code before: its decisions name the first parent only. Backfilled, the
    lineage read from the store equals the old recomputation, and each stored decision keeps what it held."""
    db = tmp_path / "v2.db"
    shutil.copy(V2, db)
    with Store.open(db) as store:
        study = store.study("v2-evolution")
        before = {d.trial_number: d for d in store.decisions(study.id)}
        assert missing_lineage(store, study) == [3, 4, 5]
        assert evolution_lineage("v2-evolution", store)["second_parent"].isna().all()  # not stored yet
        old = _recomputed(store, "v2-evolution")
        assert backfill_evolution_lineage(store) == {"v2-evolution": 3}
        assert _read(store, "v2-evolution") == old and set(old) == {3, 4, 5}
        after = {d.trial_number: d for d in store.decisions(study.id)}
        assert {n: replace(d, second_parent=None) for n, d in after.items()} == before
        assert missing_lineage(store, study) == [] and backfill_evolution_lineage(store) == {}  # once only


def test_hpsearch_migrate_stores_the_lineage_of_an_old_store(tmp_path: Path, capsys) -> None:
    """`hpsearch migrate` on a schema-2 store: the tables migrated, then the lineage of its evolution study stored."""
    from hpsearch.cli import main

    db = tmp_path / "v2.db"
    shutil.copy(V2, db)
    assert main(["migrate", "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert "migrated from schema version 2" in out and "stored the lineage of 3 child(ren) of evolution study v2-evolution" in out
    with Store.open(db, read_only=True) as store:
        assert _read(store, "v2-evolution") == _recomputed(store, "v2-evolution")


def test_a_new_study_stores_both_parents_and_reads_them_without_the_strategy(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every child's decision holds both parents when it is proposed; the lineage is read from them (the
    strategy is never asked again), equals the recomputation, and a lost lineage is backfilled the same."""
    config = study_config("evolution", name="evo", trials=12, evolution={"population": 4, "elites": 1, "tournament": 2})
    run_study(config, store_url, trainer=FunctionTrainer(toy_metrics))
    with Store.open(store_url) as store:
        study = store.study("evo")
        old = _recomputed(store, "evo")
        assert set(old) == set(range(4, 12)) and len({p for pair in old.values() for p in pair}) > 2
        assert missing_lineage(store, study) == []

        def no_recomputing(*args: object, **kwargs: object) -> None:
            raise AssertionError("the lineage is read from the store, not recomputed")

        monkeypatch.setattr(EvolutionStrategy, "decision", no_recomputing)
        assert _read(store, "evo") == old
        monkeypatch.undo()

        # as a store written before: the second parents unknown, one child without any decision
        store.record_decisions(study.id, [replace(d, second_parent=None) for d in store.decisions(study.id)])
        engine = sqlalchemy.create_engine(url_of(store_url))
        with engine.begin() as conn:
            conn.execute(s.pbt_decisions.delete().where(s.pbt_decisions.c.study_id == study.id, s.pbt_decisions.c.trial_number == 9))
        engine.dispose()
        assert missing_lineage(store, study) == list(range(4, 12))
        assert backfill_evolution_lineage(store, "evo") == {"evo": 8}
        assert _read(store, "evo") == old
