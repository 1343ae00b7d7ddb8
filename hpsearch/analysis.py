"""Store -> pandas DataFrames for analysis (PBT schedules and lineage here; more to come).

Each frame comes from one SQL query on the store, so the same questions can be
asked in SQL directly; the queries are written with SQLAlchemy Core and run on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, literal, select
from sqlalchemy.orm import aliased

from hpsearch.space import HYPERPARAMETERS
from hpsearch.store import Store
from hpsearch.store import schema as s

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["model_history", "pbt_lineage", "pbt_schedule"]


def _with_store(store: Store | str | os.PathLike[str] | None) -> tuple[Store, bool]:
    if isinstance(store, Store):
        return store, False
    return Store.open(store, read_only=True), True


def _segments_query(study_id: int) -> Any:
    t, d = s.trials, s.pbt_decisions
    parent = aliased(s.trials)
    return (
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


def _frame(rows: list[Any]) -> pd.DataFrame:
    import pandas as pd

    records = []
    for r in rows:
        rec = dict(r._mapping)
        params = rec.pop("params") or {}
        old = rec.pop("old_params", None) or {}
        for name in HYPERPARAMETERS:
            rec[name] = params.get(name)
        rec["changed"] = sorted(k for k in params if k in old and old[k] != params[k])
        rec["kind"] = rec["kind"] or "initial"
        rec["optimizer_reset"] = bool(rec["optimizer_reset"])
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    for column in ("parent_trial", "parent_member"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")  # initial segments have none
    return frame


def pbt_schedule(name: str, store: Store | str | os.PathLike[str] | None = None, *, member: int | None = None) -> pd.DataFrame:
    """Every segment of a PBT study (or of one member): the hyperparameters in force from
    ``start_epoch`` to ``end_epoch``, the decision that started it (initial, continue,
    exploit, recover), whom it copied and the validation value it reached."""
    opened, own = _with_store(store)
    try:
        study = opened.study(name)
        query = _segments_query(study.id)
        if member is not None:
            query = query.where(s.trials.c.member == member)
        with opened._read() as conn:
            rows = list(conn.execute(query))
        return _frame(rows)
    finally:
        if own:
            opened.close()


def pbt_lineage(name: str, store: Store | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The lineage tree of a PBT study: one edge per segment, from the trial whose
    checkpoint it started from (``parent_trial``, ``parent_member``) to the segment
    (``trial``, ``member``); ``kind`` is exploit where a member copied another."""
    frame = pbt_schedule(name, store)
    if frame.empty:
        return frame
    columns = ["trial", "member", "generation", "start_epoch", "parent_trial", "parent_member", "kind", "value", "state"]
    return frame[columns].reset_index(drop=True)


def model_history(name: str, trial: int, store: Store | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The segments that trained the weights of ``trial``, oldest first: its ancestry
    through every copy (a recursive SQL query over ``parent_trial``). Its rows give the
    hyperparameter schedule the final model was actually trained with."""
    opened, own = _with_store(store)
    try:
        study = opened.study(name)
        t = s.trials
        chain = (
            select(t.c.number, t.c.parent_trial, literal(0).label("depth"))
            .where(t.c.study_id == study.id, t.c.number == trial)
            .cte("chain", recursive=True)
        )
        up = aliased(t)
        chain = chain.union_all(
            select(up.c.number, up.c.parent_trial, (chain.c.depth + 1).label("depth")).where(
                up.c.study_id == study.id, up.c.number == chain.c.parent_trial
            )
        )
        numbers_query = select(chain.c.number, chain.c.depth)
        with opened._read() as conn:
            depth = {r.number: r.depth for r in conn.execute(numbers_query)}
            rows = [r for r in conn.execute(_segments_query(study.id)) if r.trial in depth]
        frame = _frame(rows)
        if frame.empty:
            return frame
        return frame.sort_values("start_epoch").reset_index(drop=True)
    finally:
        if own:
            opened.close()
