"""Schema 3: an epoch's metrics stored once, as rows of ``hpsearch_trial_metrics`` (the four metric columns of
``hpsearch_trial_epochs`` are dropped, their values kept as rows where a row was missing), and a test
evaluation a mapping of metrics (``hpsearch_evaluations.metrics``, JSON, filled from its ``loss`` and
``accuracy`` columns, which are dropped); an evolution child's second parent gets a column of its own
(``hpsearch_pbt_decisions.second_parent``; ``hpsearch migrate`` then stores the lineage of evolution studies
written before, :func:`hpsearch.running.lineage.backfill_evolution_lineage`). SQLite alters the tables in batch
mode (a copy of each)."""

import math

import sqlalchemy as sa
from alembic import op

revision = "schema_3"
down_revision = "schema_2"
branch_labels = None
depends_on = None

_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
_evaluations = sa.table(
    "hpsearch_evaluations",
    sa.column("id", sa.Integer),
    sa.column("loss", sa.Float),
    sa.column("accuracy", sa.Float),
    sa.column("metrics", sa.JSON),
)


def upgrade() -> None:
    for name in _METRICS:  # schema 2 wrote every value twice; one written only to its column is kept as a row
        op.execute(
            "INSERT INTO hpsearch_trial_metrics (trial_id, attempt, epoch, name, value) "
            f"SELECT e.trial_id, e.attempt, e.epoch, '{name}', e.{name} FROM hpsearch_trial_epochs e "
            f"WHERE e.{name} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM hpsearch_trial_metrics m WHERE m.trial_id = e.trial_id "
            f"AND m.attempt = e.attempt AND m.epoch = e.epoch AND m.name = '{name}')"
        )
    with op.batch_alter_table("hpsearch_trial_epochs") as batch:
        for name in _METRICS:
            batch.drop_column(name)

    op.add_column("hpsearch_evaluations", sa.Column("metrics", sa.JSON, nullable=True))
    conn = op.get_bind()
    for row in conn.execute(sa.select(_evaluations.c.id, _evaluations.c.loss, _evaluations.c.accuracy)).all():
        pairs = zip(("loss", "accuracy"), (row.loss, row.accuracy))
        metrics = {name: value if value is not None and math.isfinite(value) else None for name, value in pairs}
        conn.execute(_evaluations.update().where(_evaluations.c.id == row.id).values(metrics=metrics))
    with op.batch_alter_table("hpsearch_evaluations") as batch:
        batch.alter_column("metrics", existing_type=sa.JSON, nullable=False)
        batch.drop_column("loss")
        batch.drop_column("accuracy")

    op.add_column("hpsearch_pbt_decisions", sa.Column("second_parent", sa.Integer, nullable=True))


def downgrade() -> None:
    raise NotImplementedError("schema 3 is not downgraded: keep the backup of the older store that the migration left")
