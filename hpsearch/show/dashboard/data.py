"""What the dashboard shows, read from the store with a few aggregate SQL queries.

Nothing here imports Dash: these functions take a (read-only) :class:`Store` and
return plain rows and DataFrames, so they are tested without a browser. The
overview is one ``GROUP BY`` over the trials (never the trials themselves), shared
with ``hpsearch status`` in :mod:`hpsearch.read.status`, and :func:`fingerprint` is the
cheap query the pages poll to tell whether anything changed since they were drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from hpsearch.core.formatting import round_significant
from hpsearch.read.frames import study_dimensions
from hpsearch.read.status import INTERRUPTED_AFTER_S, StudyStatus, study_statuses
from hpsearch.store import Store, StudyRecord
from hpsearch.store import schema as s

__all__ = [
    "INTERRUPTED_AFTER_S",
    "OverviewRow",
    "StudyHeader",
    "PAGE_SIZE",
    "TrialPage",
    "choice_filters",
    "fingerprint",
    "is_numeric",
    "overview_rows",
    "study_header",
    "study_names",
    "trial_page",
    "trial_rows",
]

#: A study on the overview page: the row ``hpsearch status`` prints (:class:`hpsearch.read.status.StudyStatus`).
OverviewRow = StudyStatus
#: Every study with its progress, in one aggregate query over the trials (:func:`hpsearch.read.status.study_statuses`).
overview_rows = study_statuses


def study_names(store: Store) -> list[str]:
    """The names of the studies in the store, in creation order."""
    with store._read() as conn:
        return list(conn.execute(select(s.studies.c.name).order_by(s.studies.c.id)).scalars())


def fingerprint(store: Store, study: str | None = None) -> tuple[Any, ...]:
    """A small tuple that changes whenever what a page shows may have changed.

    It covers the studies' rows, every trial's state, attempt and heartbeat (each epoch
    and each finish refreshes the heartbeat) and the test evaluations; ``study`` limits
    it to one study. Polling compares it with the last one and redraws only on a change.
    """
    t, st, ev = s.trials, s.studies, s.evaluations
    studies_q = select(func.count(), func.max(st.c.updated_at))
    trials_q = select(t.c.state, func.count(), func.max(t.c.heartbeat_at), func.sum(t.c.attempt), func.sum(t.c.epochs_done)).group_by(
        t.c.state
    )
    evals_q = select(func.count(), func.max(ev.c.created_at))
    if study is not None:
        study_id = select(st.c.id).where(st.c.name == study).scalar_subquery()
        studies_q = studies_q.where(st.c.name == study)
        trials_q = trials_q.where(t.c.study_id == study_id)
        evals_q = evals_q.where(ev.c.study_id == study_id)
    with store._read() as conn:
        head = _plain(conn.execute(studies_q).one())
        per_state = tuple(sorted(_plain(r) for r in conn.execute(trials_q)))
        evals = _plain(conn.execute(evals_q).one())
    return (head, per_state, evals)


def _plain(row: Any) -> tuple[Any, ...]:
    """A row of JSON-friendly values (PostgreSQL sums are Decimals)."""
    return tuple(v if v is None or isinstance(v, str | int) else float(v) for v in row)


@dataclass(frozen=True)
class StudyHeader:
    """The summary line of a study page."""

    study: StudyRecord
    row: OverviewRow
    best_trial: int | None
    test_accuracy: float | None


def study_header(store: Store, name: str) -> StudyHeader:
    """The study record, its overview row, its best trial and that trial's test accuracy (once evaluated)."""
    study = store.study(name)
    row = study_statuses(store, name=name)[0]
    return StudyHeader(study, row, row.best_trial, row.test_accuracy)


#: Rows per page of a study's trial table (the store sorts and pages: a 10,000-trial study sends 25 rows).
PAGE_SIZE = 25


def is_numeric(dim: Mapping[str, Any]) -> bool:
    """Whether a hyperparameter (its stored description) takes numbers only: a range, or a choice of numbers."""
    if dim.get("kind") != "Choice":
        return True
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in dim.get("values", []))


def choice_filters(study: StudyRecord) -> dict[str, list[str]]:
    """The hyperparameters of ``study`` that its trial table filters by value (a choice of two words or more), with their values."""
    out: dict[str, list[str]] = {}
    for name, dim in study_dimensions(study).items():
        values = dim.get("values", [])
        if dim.get("kind") == "Choice" and len(values) > 1 and all(isinstance(v, str) for v in values):
            out[name] = list(values)
    return out


def _param(name: str, *, text: bool = False) -> Any:
    """SQL: the hyperparameter ``name`` of a trial (read out of the JSON ``params``)."""
    field = s.trials.c.params[name]
    return field.as_string() if text else field.as_float()


def _table_columns(study: StudyRecord) -> dict[str, Any]:
    """SQL for every sortable column of the trial table of ``study``, by column id."""
    t = s.trials
    return {
        "number": t.c.number,
        "state": t.c.state,
        **{name: _param(name, text=not is_numeric(dim)) for name, dim in study_dimensions(study).items()},
        "value": t.c.value,
        "epochs": t.c.epochs_done,
        "attempt": t.c.attempt,
        "seconds": t.c.finished_at - t.c.started_at,
        "member": t.c.member,
        "generation": t.c.generation,
        "error": t.c.error,
    }


def _filtered(
    study_id: int,
    states: Sequence[str] | None,
    ranges: Mapping[str, tuple[float, float]] | None,
    choices: Mapping[str, Sequence[str]] | None,
) -> list[Any]:
    """SQL conditions: the trials of the study passing the state, range (inclusive) and choice filters
    (an empty list of values keeps every trial, as an empty state filter does)."""
    t = s.trials
    where = [t.c.study_id == study_id]
    if states:
        where.append(t.c.state.in_(list(states)))
    for key, (low, high) in (ranges or {}).items():
        where.append(_param(key).between(low, high))
    for key, values in (choices or {}).items():
        if values:
            where.append(_param(key, text=True).in_([str(v) for v in values]))
    return where


def _choices(choices: Mapping[str, Sequence[str]] | None, optimizers: Sequence[str] | None) -> dict[str, Sequence[str]]:
    """The choice filters, ``optimizers`` being those of the ``optimizer``."""
    return {**(choices or {}), **({"optimizer": optimizers} if optimizers is not None else {})}


_ROW_COLUMNS = (
    "number",
    "state",
    "params",
    "value",
    "epochs_done",
    "attempt",
    "started_at",
    "finished_at",
    "member",
    "generation",
    "error",
)


def _rows_query(where: list[Any]) -> Any:
    """SQL: the columns of the trial table's rows, of the trials meeting ``where``."""
    return select(*(s.trials.c[c] for c in _ROW_COLUMNS)).where(*where)


def _cell(value: Any) -> Any:
    """A hyperparameter's cell: floats to 4 significant digits, true and false as words (a table cell holds text or numbers)."""
    return str(value).lower() if isinstance(value, bool) else round_significant(value)


def _table_row(r: Any, names: Sequence[str]) -> dict[str, Any]:
    params = r.params or {}
    seconds = None if r.started_at is None or r.finished_at is None else round(r.finished_at - r.started_at, 2)
    row: dict[str, Any] = {"number": r.number, "state": r.state}
    row.update({h: _cell(params.get(h)) for h in names})
    row.update(
        {
            "value": round_significant(r.value),
            "epochs": r.epochs_done,
            "attempt": r.attempt,
            "seconds": seconds,
            "member": r.member,
            "generation": r.generation,
            "error": (r.error or "")[:200],
        }
    )
    return row


def trial_rows(
    store: Store,
    name: str,
    *,
    states: Sequence[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
    optimizers: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The trial table of a study (no curves), every row, in trial order: one dict per trial with a
    key per hyperparameter of the study, filtered by state, by hyperparameter ranges (inclusive) and
    by the values of choices (``choices``: name -> values kept; ``optimizers`` those of the optimizer)."""
    study = store.study(name)
    names = list(study_dimensions(study))
    query = _rows_query(_filtered(study.id, states, ranges, _choices(choices, optimizers))).order_by(s.trials.c.number)
    with store._read() as conn:
        return [_table_row(r, names) for r in conn.execute(query)]


@dataclass(frozen=True)
class TrialPage:
    """One page of a study's trial table."""

    rows: list[dict[str, Any]]
    total: int  # trials passing the filters
    page: int  # 0-based, within range
    page_count: int

    @property
    def shown_text(self) -> str:
        """How many trials pass the filters."""
        return f"{self.total} trial{'' if self.total == 1 else 's'} shown"


def trial_page(
    store: Store,
    name: str,
    *,
    states: Sequence[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
    optimizers: Sequence[str] | None = None,
    sort_by: Sequence[dict[str, str]] | None = None,
    page: int | None = 0,
    page_size: int = PAGE_SIZE,
) -> TrialPage:
    """Page ``page`` of the trial table of a study, filtered as :func:`trial_rows` and sorted by
    ``sort_by`` (DataTable's ``[{"column_id", "direction"}]``; empty cells last, then by number).
    The store filters, counts, sorts and pages: only ``page_size`` rows are read, whatever the
    size of the study. A page past the end gives the last page."""
    t = s.trials
    study = store.study(name)
    names = list(study_dimensions(study))
    where = _filtered(study.id, states, ranges, _choices(choices, optimizers))
    columns = _table_columns(study)
    order = []
    for spec in sort_by or []:
        expr = columns.get(spec.get("column_id", ""))
        if expr is not None:
            order.append((expr.desc() if spec.get("direction") == "desc" else expr.asc()).nulls_last())
    order.append(t.c.number.asc())
    with store._read() as conn:
        total = int(conn.execute(select(func.count()).select_from(t).where(*where)).scalar() or 0)
        page_count = max(1, math.ceil(total / page_size))
        current = min(max(page or 0, 0), page_count - 1)
        query = _rows_query(where).order_by(*order).limit(page_size).offset(current * page_size)
        rows = [_table_row(r, names) for r in conn.execute(query)]
    return TrialPage(rows, total, current, page_count)
