"""Every SELECT that reads the store, public: the store's own reads and those of the readers above it
(:mod:`hpsearch.read.frames`, :mod:`hpsearch.read.status`, :mod:`hpsearch.show.dashboard`).

Each function builds a query (SQLAlchemy Core, the same SQL on SQLite and PostgreSQL) and runs
nothing: a reader hands it to :meth:`hpsearch.store.Store.fetch` (or ``fetch_many``), refined
with ``.where(...)`` where it needs to. So the tables' layout is known here and in
:mod:`hpsearch.store.schema` only, and a reader never holds a connection of its own.

An epoch's metrics are rows of ``hpsearch_trial_metrics`` (one per name); :func:`epochs` turns
the metrics a frame wants into columns, one outer join per metric on the table's primary key.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Select, and_, case, false, func, literal, or_, select
from sqlalchemy.orm import aliased

from hpsearch.core.builtin_model import METRICS
from hpsearch.core.records import StudyState, TrialState
from hpsearch.core.results import FINISHED_STATES, final_clause
from hpsearch.store import schema as s

__all__ = [
    "EPOCH_FIELDS",
    "Query",
    "TRIAL_ROW_FIELDS",
    "ancestry",
    "checkpoints",
    "count_trials",
    "curves",
    "epoch_rows",
    "epochs",
    "evaluations",
    "fingerprint",
    "metric_rows",
    "segments",
    "study_names",
    "study_statuses",
    "trial_columns",
    "trial_filters",
    "trial_param",
    "train_seconds",
    "trial_rows",
    "trials",
]

#: A SELECT of any columns (what :meth:`hpsearch.store.Store.fetch` runs).
Query: TypeAlias = Select  # type: ignore[type-arg]

# ---------------------------------------------------------------------------- the store's own reads


def curves(study_id: int) -> Query:
    """``(trial_id, value, epoch)``: the study metric per epoch of each trial's current attempt, by trial and epoch."""
    m, t, st = s.metrics, s.trials, s.studies
    return (
        select(m.c.trial_id, m.c.value, m.c.epoch)
        .join(t, and_(t.c.id == m.c.trial_id, t.c.attempt == m.c.attempt))
        .join(st, st.c.id == t.c.study_id)
        .where(t.c.study_id == study_id, m.c.name == st.c.metric)
        .order_by(m.c.trial_id, m.c.epoch)
    )


def epoch_rows(study_id: int, *, current_only: bool = True) -> Query:
    """The rows of the epochs table of a study's trials, with the trial ``number`` (of the current attempts only, by default)."""
    e, t = s.epochs, s.trials
    join_on = t.c.id == e.c.trial_id
    if current_only:
        join_on = join_on & (t.c.attempt == e.c.attempt)
    return select(e, t.c.number).join(t, join_on).where(t.c.study_id == study_id).order_by(t.c.number, e.c.attempt, e.c.epoch)


def train_seconds(study_id: int) -> Query:
    """``(number, seconds)``: the seconds of each trial's current attempt's epochs, summed."""
    e, t = s.epochs, s.trials
    join_on = (t.c.id == e.c.trial_id) & (t.c.attempt == e.c.attempt)
    return select(t.c.number, func.sum(e.c.seconds)).join(t, join_on).where(t.c.study_id == study_id).group_by(t.c.number)


def metric_rows(study_id: int, *, current_only: bool = True) -> Query:
    """``(number, attempt, epoch, name, value)``: every metric of every epoch of a study's trials."""
    m, t = s.metrics, s.trials
    query = (
        select(t.c.number, m.c.attempt, m.c.epoch, m.c.name, m.c.value)
        .join(t, t.c.id == m.c.trial_id)
        .where(t.c.study_id == study_id)
        .order_by(t.c.number, m.c.attempt, m.c.epoch, m.c.name)
    )
    return query.where(m.c.attempt == t.c.attempt) if current_only else query


def evaluations(*, study_id: int | None = None, study: str | None = None, split: str = "test") -> Query:
    """The evaluations on ``split`` (of one study, by id or name; else of every study): ``study_id``, the trial's
    ``number``, ``split``, ``metrics`` (name -> value), ``note``, ``created_at``."""
    ev, t = s.evaluations, s.trials
    query = (
        select(ev.c.study_id, t.c.number, ev.c.split, ev.c.metrics, ev.c.note, ev.c.created_at)
        .join(t, t.c.id == ev.c.trial_id)
        .where(ev.c.split == split)
        .order_by(ev.c.study_id)
    )
    if study_id is not None:
        query = query.where(ev.c.study_id == study_id)
    if study is not None:
        query = query.where(ev.c.study_id == _study_id(study))
    return query


def _study_id(name: str) -> Any:
    return select(s.studies.c.id).where(s.studies.c.name == name).scalar_subquery()


# ---------------------------------------------------------------------------- frames (hpsearch.read.frames)


def segments(study_id: int, member: int | None = None) -> Query:
    """The PBT segments of a study (or of one ``member``), by member and generation: each with its decision
    and its parent's member."""
    t, d = s.trials, s.pbt_decisions
    parent = aliased(s.trials)
    query = (
        select(
            t.c.member,
            t.c.generation,
            t.c.number.label("trial"),
            t.c.state,
            t.c.start_epoch,
            (t.c.start_epoch + t.c.epochs).label("end_epoch"),
            t.c.params,
            t.c.value,
            t.c.parent_trial,
            parent.c.member.label("parent_member"),
            d.c.kind,
            d.c.optimizer_reset,
            d.c.old_params,
            d.c.reason,
            d.c.val_before_resize,
            d.c.val_after_resize,
        )
        .select_from(t)
        .outerjoin(d, and_(d.c.study_id == t.c.study_id, d.c.trial_number == t.c.number))
        .outerjoin(parent, and_(parent.c.study_id == t.c.study_id, parent.c.number == t.c.parent_trial))
        .where(t.c.study_id == study_id, t.c.member.is_not(None))
        .order_by(t.c.member, t.c.generation)
    )
    return query.where(t.c.member == member) if member is not None else query


def ancestry(study_id: int, trial: int) -> Query:
    """``(number, depth)``: trial ``trial`` (depth 0) and every trial its weights were copied from, through
    ``parent_trial`` (a recursive query)."""
    t = s.trials
    chain = (
        select(t.c.number, t.c.parent_trial, literal(0).label("depth"))
        .where(t.c.study_id == study_id, t.c.number == trial)
        .cte("chain", recursive=True)
    )
    up = aliased(t)
    chain = chain.union_all(
        select(up.c.number, up.c.parent_trial, (chain.c.depth + 1).label("depth")).where(
            up.c.study_id == study_id, up.c.number == chain.c.parent_trial
        )
    )
    return select(chain.c.number, chain.c.depth)


def trials(study_ids: Sequence[int]) -> Query:
    """Every trial of the studies, with its study's name, strategy, metric, direction and epochs, and the
    epochs its current attempt recorded (``n_epochs``), by study and number (``objective_values``: a study of several
    objectives' value of each)."""
    t, st, e = s.trials, s.studies, s.epochs
    per_trial = select(e.c.trial_id, e.c.attempt, func.count().label("n_epochs")).group_by(e.c.trial_id, e.c.attempt).subquery("per_trial")
    return (
        select(
            st.c.name.label("study"),
            st.c.strategy,
            st.c.metric,
            st.c.direction,
            st.c.epochs.label("study_epochs"),
            t.c.number,
            t.c.state,
            t.c.params,
            t.c.value,
            t.c.objective_values,
            t.c.attempt,
            t.c.started_at,
            t.c.finished_at,
            t.c.member,
            t.c.generation,
            t.c.start_epoch,
            t.c.epochs.label("planned_epochs"),
            t.c.parent_trial,
            t.c.error,
            per_trial.c.n_epochs,
        )
        .select_from(t)
        .join(st, st.c.id == t.c.study_id)
        .outerjoin(per_trial, and_(per_trial.c.trial_id == t.c.id, per_trial.c.attempt == t.c.attempt))
        .where(t.c.study_id.in_(list(study_ids)))
        .order_by(t.c.study_id, t.c.number)
    )


#: The columns :func:`epochs` has before its metrics.
EPOCH_FIELDS: tuple[str, ...] = (
    "study",
    "strategy",
    "number",
    "state",
    "member",
    "attempt",
    "epoch",
    "model_epoch",
    "seconds",
    "recorded_at",
)


def epochs(
    study_ids: Sequence[int],
    metrics: Sequence[str] = METRICS,
    *,
    trials: Mapping[int, Collection[int]] | None = None,
) -> Query:
    """One row per epoch of each trial's current attempt of the studies: :data:`EPOCH_FIELDS`, then a column per
    name of ``metrics`` (None where the epoch did not report it; a name that is one of the fields is left out),
    by study, number and epoch. ``trials`` (study id -> trial numbers) keeps those trials only (of a study not
    in it, none)."""
    t, st, e = s.trials, s.studies, s.epochs
    query = (
        select(
            st.c.name.label("study"),
            st.c.strategy,
            t.c.number,
            t.c.state,
            t.c.member,
            e.c.attempt,
            e.c.epoch,
            (t.c.start_epoch + e.c.epoch).label("model_epoch"),
            e.c.seconds,
            e.c.recorded_at,
        )
        .select_from(e)
        .join(t, and_(t.c.id == e.c.trial_id, t.c.attempt == e.c.attempt))
        .join(st, st.c.id == t.c.study_id)
        .where(t.c.study_id.in_(list(study_ids)))
        .order_by(t.c.study_id, t.c.number, e.c.epoch)
    )
    for i, name in enumerate(dict.fromkeys(n for n in metrics if n not in EPOCH_FIELDS)):
        m = s.metrics.alias(f"metric_{i}")
        on = and_(m.c.trial_id == e.c.trial_id, m.c.attempt == e.c.attempt, m.c.epoch == e.c.epoch, m.c.name == name)
        query = query.outerjoin(m, on).add_columns(m.c.value.label(name))
    if trials is not None:
        kept = [and_(t.c.study_id == i, t.c.number.in_(sorted(n))) for i, n in trials.items() if n]
        query = query.where(or_(false(), *kept))
    return query


# ---------------------------------------------------------------------------- status (hpsearch.read.status)


def _study_result(studies: Any, column: str) -> Any:
    """SQL: ``column`` (``number``, ``value``) of the study's result (:func:`hpsearch.core.results.study_result`) for
    the study row of ``studies``: its best final trial, or while the study is unfinished its best COMPLETE trial so far."""
    b, own = s.trials.alias("best"), s.studies.alias("own")  # (SQLite cannot order this subquery by an outer column)
    key = case((own.c.direction == "maximize", -b.c.value), else_=b.c.value)
    final = final_clause(b, own)
    complete = and_(b.c.state == TrialState.COMPLETE.value, b.c.value.is_not(None))
    return (
        select(b.c[column])
        .select_from(b.join(own, own.c.id == b.c.study_id))
        .where(b.c.study_id == studies.c.id, final | (complete & (own.c.state != StudyState.COMPLETE.value)))
        .order_by(case((final, 0), else_=1), key, b.c.number)
        .limit(1)
        .correlate(studies)
        .scalar_subquery()
    )


def study_statuses(name: str | None = None) -> Query:
    """One row per study (or the study ``name``), in creation order, from one ``GROUP BY`` over the trials: the
    study's columns, its ``finished``, ``running`` and ``failed`` trials, ``last_beat`` (the latest heartbeat),
    ``best_trial`` and ``best_value`` (the study's result)."""
    t, st = s.trials, s.studies
    query = (
        select(
            st.c.id,
            st.c.name,
            st.c.strategy,
            st.c.state,
            st.c.n_trials,
            st.c.metric,
            st.c.direction,
            st.c.updated_at,
            func.sum(case((t.c.state.in_(FINISHED_STATES), 1), else_=0)).label("finished"),
            func.sum(case((t.c.state == TrialState.RUNNING.value, 1), else_=0)).label("running"),
            func.sum(case((t.c.state == TrialState.FAIL.value, 1), else_=0)).label("failed"),
            func.max(t.c.heartbeat_at).label("last_beat"),
            _study_result(st, "number").label("best_trial"),
            _study_result(st, "value").label("best_value"),
        )
        .select_from(st)
        .outerjoin(t, t.c.study_id == st.c.id)
        .group_by(st.c.id)
        .order_by(st.c.id)
    )
    return query.where(st.c.name == name) if name is not None else query


# ---------------------------------------------------------------------------- the output writer (hpsearch.show.output_file)


def checkpoints() -> Query:
    """``(checkpoint, name, uid)``: every checkpoint path a trial records, with its study's name and uid."""
    t, st = s.trials, s.studies
    return (
        select(t.c.checkpoint, st.c.name, st.c.uid)
        .distinct()
        .select_from(t)
        .join(st, st.c.id == t.c.study_id)
        .where(t.c.checkpoint.is_not(None))
    )


# ---------------------------------------------------------------------------- dashboard (hpsearch.show.dashboard.data)


def study_names() -> Query:
    """The names of the studies, in creation order."""
    return select(s.studies.c.name).order_by(s.studies.c.id)


def fingerprint(study: str | None = None) -> tuple[Query, Query, Query]:
    """Three small aggregates that change whenever what a page shows may change: the studies' count and last
    update; per trial state, the count, last heartbeat and sums of attempts and epochs done; the evaluations'
    count and last time (of the study ``study`` only, when given)."""
    t, st, ev = s.trials, s.studies, s.evaluations
    studies_q = select(func.count(), func.max(st.c.updated_at))
    trials_q = select(t.c.state, func.count(), func.max(t.c.heartbeat_at), func.sum(t.c.attempt), func.sum(t.c.epochs_done))
    trials_q = trials_q.group_by(t.c.state)
    evals_q = select(func.count(), func.max(ev.c.created_at))
    if study is not None:
        studies_q = studies_q.where(st.c.name == study)
        trials_q = trials_q.where(t.c.study_id == _study_id(study))
        evals_q = evals_q.where(ev.c.study_id == _study_id(study))
    return studies_q, trials_q, evals_q


#: The columns of :func:`trial_rows`.
TRIAL_ROW_FIELDS: tuple[str, ...] = (
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


def trial_param(name: str, *, text: bool = False) -> Any:
    """SQL: the hyperparameter ``name`` of a trial, read out of its JSON ``params`` (a number, or ``text``)."""
    field = s.trials.c.params[name]
    return field.as_string() if text else field.as_float()


def trial_columns() -> dict[str, Any]:
    """SQL for the trial table's columns that are not hyperparameters (:func:`trial_param`), by column id."""
    t = s.trials
    return {
        "number": t.c.number,
        "state": t.c.state,
        "value": t.c.value,
        "epochs": t.c.epochs_done,
        "attempt": t.c.attempt,
        "seconds": t.c.finished_at - t.c.started_at,
        "member": t.c.member,
        "generation": t.c.generation,
        "error": t.c.error,
    }


def trial_filters(
    study_id: int,
    states: Sequence[str] | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
) -> list[ColumnElement[bool]]:
    """SQL conditions: the trials of the study passing the state, range (inclusive) and choice filters
    (an empty list of values keeps every trial, as an empty state filter does)."""
    t = s.trials
    where: list[ColumnElement[bool]] = [t.c.study_id == study_id]
    if states:
        where.append(t.c.state.in_(list(states)))
    for key, (low, high) in (ranges or {}).items():
        where.append(trial_param(key).between(low, high))
    for key, values in (choices or {}).items():
        if values:
            where.append(trial_param(key, text=True).in_([str(v) for v in values]))
    return where


def trial_rows(where: Sequence[ColumnElement[bool]]) -> Query:
    """:data:`TRIAL_ROW_FIELDS` of the trials meeting ``where`` (see :func:`trial_filters`), in no order."""
    return select(*(s.trials.c[c] for c in TRIAL_ROW_FIELDS)).where(*where)


def count_trials(where: Sequence[ColumnElement[bool]]) -> Query:
    """How many trials meet ``where``."""
    return select(func.count()).select_from(s.trials).where(*where)
