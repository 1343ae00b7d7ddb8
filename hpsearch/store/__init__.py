"""The store floor: the only code that reads or writes SQL. Connection and typed public reads and writes
(:mod:`.store`), every reader's SELECT (:mod:`.queries`), the schema (:mod:`.schema`) and its migrations
(:mod:`.migrate`, Alembic revisions in ``migrations/``). Nothing outside this package touches a private member of
:class:`Store` (a test checks). An SQLite file by default, any SQLAlchemy URL otherwise."""

from hpsearch.core.records import EpochRecord, Evaluation, StudyRecord, StudyState, TrialRecord, TrialState
from hpsearch.store.schema import SCHEMA_VERSION
from hpsearch.store.store import (
    DEFAULT_STORE,
    ClaimConflict,
    EpochEntry,
    MetricRow,
    Store,
    TrialLostError,
    WorkerInfo,
    reading,
    store_label,
    store_url,
)

__all__ = [
    "DEFAULT_STORE",
    "SCHEMA_VERSION",
    "ClaimConflict",
    "EpochEntry",
    "MetricRow",
    "EpochRecord",
    "Evaluation",
    "Store",
    "StudyRecord",
    "StudyState",
    "TrialLostError",
    "TrialRecord",
    "TrialState",
    "WorkerInfo",
    "reading",
    "store_label",
    "store_url",
]
