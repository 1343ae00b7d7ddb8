"""One row per study (progress, best trial, test accuracy), read with one aggregate SQL query.

The same rows make the lines of ``hpsearch status`` (:func:`hpsearch.api.status`) and the
overview and study header of the dashboard (:mod:`hpsearch.show.dashboard.data`). The trials are
counted by a ``GROUP BY`` in the store (:func:`hpsearch.store.queries.study_statuses`), never read
one by one; a second query reads the test evaluations (at most one per study). Nothing here imports
Dash or pandas.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hpsearch.core.records import accuracy_of
from hpsearch.store import Store, StudyState, queries

__all__ = ["INTERRUPTED_AFTER_S", "StudyStatus", "study_statuses"]

#: A RUNNING study with no trial heartbeat for this long is shown as interrupted (the runner beats every few seconds).
INTERRUPTED_AFTER_S = 180.0


@dataclass(frozen=True)
class StudyStatus:
    """One study's progress: a line of ``hpsearch status`` and a row of the dashboard's overview.

    ``state`` is the state as a person reads it: running, finished, interrupted (RUNNING in
    the store, but neither the study nor any of its trials changed for
    :data:`INTERRUPTED_AFTER_S`: its run was killed; running it again resumes it) or stopped.
    ``stored_state`` is the state the store records. ``finished`` counts the trials that
    ended (COMPLETE, PRUNED or FAIL) out of the budget ``n_trials``. ``best_trial`` and
    ``best_value`` are the study's result (:func:`hpsearch.core.results.study_result`; ``provisional``
    while the study is unfinished), ``test_accuracy`` that trial's
    test accuracy once evaluated. ``updated_at`` is the last change of the study or
    heartbeat of one of its trials (a Unix time).
    """

    name: str
    strategy: str
    state: str  # running | finished | interrupted | stopped
    stored_state: StudyState
    finished: int
    n_trials: int
    running: int
    failed: int
    best_trial: int | None
    best_value: float | None
    #: The study is unfinished: ``best_trial`` is its best trial so far, not its final result.
    provisional: bool
    metric: str
    test_accuracy: float | None
    updated_at: float


def _ui_state(state: StudyState, last_change: float, now: float) -> str:
    """running / finished / interrupted / stopped, as a person reads the study's ``state``."""
    if state is StudyState.COMPLETE:
        return "finished"
    if state is StudyState.STOPPED:
        return "stopped"
    return "interrupted" if now - last_change > INTERRUPTED_AFTER_S else "running"


def study_statuses(store: Store, *, name: str | None = None, now: float | None = None) -> list[StudyStatus]:
    """Every study of ``store`` (or only the study ``name``), in creation order.

    ``now`` (default: the current time) decides which RUNNING studies are interrupted.
    """
    rows, tests = store.fetch_many(queries.study_statuses(name), queries.evaluations(study=name))
    tested = {r.study_id: (r.number, accuracy_of(r.metrics or {})) for r in tests}
    now = time.time() if now is None else now
    out = []
    for r in rows:
        updated = max(r.updated_at, r.last_beat or 0.0)
        test_trial, test_accuracy = tested.get(r.id, (None, None))
        stored = StudyState(r.state)
        out.append(
            StudyStatus(
                name=r.name,
                strategy=r.strategy,
                state=_ui_state(stored, updated, now),
                stored_state=stored,
                finished=int(r.finished or 0),
                n_trials=r.n_trials,
                running=int(r.running or 0),
                failed=int(r.failed or 0),
                best_trial=r.best_trial,
                best_value=r.best_value,
                provisional=r.best_trial is not None and stored is not StudyState.COMPLETE,
                metric=r.metric,
                test_accuracy=test_accuracy if r.best_trial is not None and test_trial == r.best_trial else None,
                updated_at=updated,
            )
        )
    return out
