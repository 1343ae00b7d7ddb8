"""The store's tables (SQLAlchemy Core) and schema version.

Table names carry an ``hpsearch_`` prefix so that a shared PostgreSQL database
can hold them beside other tables.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "SCHEMA_VERSION",
    "epochs",
    "evaluations",
    "metadata",
    "metrics",
    "pbt_decisions",
    "schema_version",
    "studies",
    "trials",
]

#: Bumped with every change to the tables below (each change is a migration in ``hpsearch/store/migrations``);
#: older stores are migrated, newer ones refused. 2: every metric of every epoch, in ``hpsearch_trial_metrics``.
#: 3: the metrics only there (the epochs table keeps the epoch's time), and a test evaluation a mapping of metrics.
#: 4: a trial's value in every objective (``values``, for studies of several), and a test evaluation per trial (a study
#: of several objectives evaluates every trial of its Pareto set).
SCHEMA_VERSION = 4

metadata = MetaData()

#: The metrics of the built-in model (rows of the metrics table, like any other metric).

schema_version = Table(
    "hpsearch_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", Float, nullable=False),
)

studies = Table(
    "hpsearch_studies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    # a random id: names the study's checkpoint folder, so two stores never share one
    Column("uid", String(32), nullable=False),
    Column("strategy", String(20), nullable=False),
    Column("config", JSON, nullable=False),
    Column("identity", JSON, nullable=False),
    Column("metric", String(40), nullable=False),
    Column("direction", String(10), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("n_trials", Integer, nullable=False),
    Column("epochs", Integer, nullable=False),
    Column("state", String(10), nullable=False),
    Column("stop_reason", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

trials = Table(
    "hpsearch_trials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("hpsearch_studies.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("state", String(10), nullable=False),
    Column("params", JSON, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("epochs", Integer, nullable=False),
    Column("attempt", Integer, nullable=False, default=1),
    Column("value", Float),
    # a study of several objectives: the value of each, in the study's order (value holds the first); null otherwise
    Column("objective_values", JSON),
    Column("epochs_done", Integer, nullable=False, default=0),
    Column("worker_id", String(200)),
    Column("host", String(200)),
    Column("pid", Integer),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("heartbeat_at", Float),
    Column("error", Text),
    # population-based training: the member slot, its segment index, the epoch the segment starts at,
    # and the trial whose checkpoint it started from
    Column("member", Integer),
    Column("generation", Integer),
    Column("start_epoch", Integer, nullable=False, default=0),
    Column("parent_trial", Integer),
    # where this trial's final weights (and optimizer state) were saved, while they are kept
    Column("checkpoint", Text),
    UniqueConstraint("study_id", "number", name="uq_hpsearch_trial_number"),
    Index("ix_hpsearch_trials_study_state", "study_id", "state"),
)

epochs = Table(
    "hpsearch_trial_epochs",
    metadata,
    Column("trial_id", Integer, ForeignKey("hpsearch_trials.id", ondelete="CASCADE"), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("epoch", Integer, primary_key=True),
    Column("seconds", Float, nullable=False),
    Column("recorded_at", Float, nullable=False),
)

#: Every metric a trial reported for an epoch, by name (the only place an epoch's metrics are stored).
metrics = Table(
    "hpsearch_trial_metrics",
    metadata,
    Column("trial_id", Integer, ForeignKey("hpsearch_trials.id", ondelete="CASCADE"), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("epoch", Integer, primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", Float),
)

pbt_decisions = Table(
    "hpsearch_pbt_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("hpsearch_studies.id", ondelete="CASCADE"), nullable=False),
    Column("trial_number", Integer, nullable=False),
    Column("member", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("at_epoch", Integer, nullable=False),
    # exploit: copied another member; continue: kept its own weights; recover: copied after a failed segment
    Column("kind", String(20), nullable=False),
    Column("parent_trial", Integer),
    Column("parent_member", Integer),
    # evolution: the second parent of a crossover child (parent_trial is the first; a mutant's are the same)
    Column("second_parent", Integer),
    Column("old_params", JSON, nullable=False),
    Column("new_params", JSON, nullable=False),
    Column("optimizer_reset", Integer, nullable=False, default=0),
    Column("reason", Text),
    Column("val_before_resize", Float),
    Column("val_after_resize", Float),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("study_id", "trial_number", name="uq_hpsearch_pbt_decision_trial"),
)

evaluations = Table(
    "hpsearch_evaluations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("hpsearch_studies.id", ondelete="CASCADE"), nullable=False),
    Column("trial_id", Integer, ForeignKey("hpsearch_trials.id", ondelete="CASCADE"), nullable=False),
    Column("split", String(20), nullable=False),
    # every metric of the evaluation, name -> value (one JSON object: an evaluation is written and read whole)
    Column("metrics", JSON, nullable=False),
    Column("note", Text),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("study_id", "trial_id", "split", name="uq_hpsearch_evaluation_trial_split"),
)
