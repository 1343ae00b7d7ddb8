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

from hpsearch.core.formatting import round_significant
from hpsearch.read.frames import study_dimensions
from hpsearch.read.status import INTERRUPTED_AFTER_S, StudyStatus, study_statuses
from hpsearch.store import Store, StudyRecord, queries

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
    return [r.name for r in store.fetch(queries.study_names())]


def fingerprint(store: Store, study: str | None = None) -> tuple[Any, ...]:
    """A small tuple that changes whenever what a page shows may have changed.

    It covers the studies' rows, every trial's state, attempt and heartbeat (each epoch
    and each finish refreshes the heartbeat) and the test evaluations; ``study`` limits
    it to one study. Polling compares it with the last one and redraws only on a change.
    """
    studies, trials, evals = store.fetch_many(*queries.fingerprint(study))
    return (_plain(studies[0]), tuple(sorted(_plain(r) for r in trials)), _plain(evals[0]))


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


def _table_columns(study: StudyRecord) -> dict[str, Any]:
    """SQL for every sortable column of the trial table of ``study``, by column id."""
    columns = queries.trial_columns()
    params = {name: queries.trial_param(name, text=not is_numeric(dim)) for name, dim in study_dimensions(study).items()}
    return {"number": columns.pop("number"), "state": columns.pop("state"), **params, **columns}


def _choices(choices: Mapping[str, Sequence[str]] | None, optimizers: Sequence[str] | None) -> dict[str, Sequence[str]]:
    """The choice filters, ``optimizers`` being those of the ``optimizer``."""
    return {**(choices or {}), **({"optimizer": optimizers} if optimizers is not None else {})}


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
    query = queries.trial_rows(queries.trial_filters(study.id, states, ranges, _choices(choices, optimizers)))
    return [_table_row(r, names) for r in store.fetch(query.order_by(queries.trial_columns()["number"]))]


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
    study = store.study(name)
    names = list(study_dimensions(study))
    where = queries.trial_filters(study.id, states, ranges, _choices(choices, optimizers))
    columns = _table_columns(study)
    order = []
    for spec in sort_by or []:
        expr = columns.get(spec.get("column_id", ""))
        if expr is not None:
            order.append((expr.desc() if spec.get("direction") == "desc" else expr.asc()).nulls_last())
    order.append(columns["number"].asc())
    total = int(store.fetch(queries.count_trials(where))[0][0] or 0)
    page_count = max(1, math.ceil(total / page_size))
    current = min(max(page or 0, 0), page_count - 1)
    query = queries.trial_rows(where).order_by(*order).limit(page_size).offset(current * page_size)
    rows = [_table_row(r, names) for r in store.fetch(query)]
    return TrialPage(rows, total, current, page_count)
