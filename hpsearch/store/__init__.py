"""The study store (SQLAlchemy; an SQLite file by default)."""

from hpsearch.core.records import EpochRecord, Evaluation, StudyRecord, StudyState, TrialRecord, TrialState
from hpsearch.store.schema import SCHEMA_VERSION
from hpsearch.store.store import DEFAULT_STORE, Claim, Claims, EpochEntry, MetricRow, Store, TrialLostError, WorkerInfo, reading, store_url

__all__ = [
    "DEFAULT_STORE",
    "SCHEMA_VERSION",
    "Claim",
    "Claims",
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
    "store_url",
]
