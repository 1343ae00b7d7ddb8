"""The evolution lineage of studies stored before it was recorded whole: computed once, then stored.

An evolution child's suggestion carries its decision (generation, kind, both parents:
:mod:`hpsearch.search.strategies.evolution`), and :func:`hpsearch.read.frames.evolution_lineage`
reads the lineage from those rows only. Studies written before the second parent was recorded
have a decision naming the first parent only (or none); :func:`backfill_evolution_lineage` fills
them in once with the strategy, from the stored history, exactly as they were chosen, and writes
them to the store: ``hpsearch migrate`` calls it, and so does a run that finds its store just migrated
(:func:`complete_migration`).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from hpsearch.core.config import config_from_stored
from hpsearch.core.records import Decision
from hpsearch.search.strategies import EvolutionStrategy, strategy_for
from hpsearch.store import Store, StudyRecord

__all__ = ["backfill_evolution_lineage", "complete_migration", "missing_lineage"]

log = logging.getLogger(__name__)


def missing_lineage(store: Store, study: StudyRecord) -> list[int]:
    """The children (generation 1 on) of an evolution study whose stored decision lacks a parent, in order."""
    if study.strategy != EvolutionStrategy.name:
        return []
    stored = {d.trial_number: d for d in store.decisions(study.id)}
    return [
        t.number
        for t in store.trials(study.id, with_curves=False)
        if (t.generation or 0) > 0
        and (t.number not in stored or stored[t.number].parent_trial is None or stored[t.number].second_parent is None)
    ]


def backfill_evolution_lineage(store: Store, names: str | list[str] | None = None) -> dict[str, int]:
    """Store both parents of every child of the evolution studies ``names`` (every one when None) that
    lacks them; returns study name -> decisions written (studies with nothing to fill in are left out).

    A stored decision keeps everything it holds and gains its second parent; a child without one gets
    the decision the strategy makes for it now. A child whose recomputed first parent differs from
    the stored one is left as it is (and logged): its lineage is what was stored.
    """
    wanted = [names] if isinstance(names, str) else names
    studies = [st for st in store.studies() if wanted is None or st.name in wanted]
    written: dict[str, int] = {}
    for study in studies:
        missing = missing_lineage(store, study)
        if not missing:
            continue
        strategy = strategy_for(config_from_stored(study.name, study.config))
        assert isinstance(strategy, EvolutionStrategy)
        history = store.trials(study.id)  # with curves, as the strategy was asked (a pruned trial scores its last value)
        stored = {d.trial_number: d for d in store.decisions(study.id)}
        decisions: list[Decision] = []
        for number in missing:
            made = strategy.decision(history, number)
            if made is None:
                continue  # its generation before never finished: it cannot have been bred
            old = stored.get(number)
            if old is None:
                decisions.append(made)
            elif old.parent_trial in (None, made.parent_trial):
                decisions.append(replace(old, parent_trial=made.parent_trial, second_parent=made.second_parent))
            else:
                log.warning(
                    "%s: trial %d's stored first parent #%s is not the recomputed #%s; left as stored",
                    study.name,
                    number,
                    old.parent_trial,
                    made.parent_trial,
                )
        store.record_decisions(study.id, decisions)
        if decisions:
            written[study.name] = len(decisions)
    return written


def complete_migration(store: Store) -> dict[str, int]:
    """What a store migrated to schema 3 needs beyond its tables (the store floor cannot run a strategy): the
    lineage of its evolution studies (:func:`backfill_evolution_lineage`). Nothing to do writes nothing."""
    if store.read_only:
        return {}
    return backfill_evolution_lineage(store)
