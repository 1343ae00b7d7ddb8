"""Schema 2: every metric of every epoch, by name, in ``hpsearch_trial_metrics`` (filled from the four
metric columns of ``hpsearch_trial_epochs``, which stay)."""

import sqlalchemy as sa
from alembic import op

revision = "schema_2"
down_revision = "schema_1"
branch_labels = None
depends_on = None

_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def upgrade() -> None:
    op.create_table(
        "hpsearch_trial_metrics",
        sa.Column("trial_id", sa.Integer, sa.ForeignKey("hpsearch_trials.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("epoch", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Float),
    )
    for name in _METRICS:
        op.execute(
            "INSERT INTO hpsearch_trial_metrics (trial_id, attempt, epoch, name, value) "
            f"SELECT trial_id, attempt, epoch, '{name}', {name} FROM hpsearch_trial_epochs WHERE {name} IS NOT NULL"
        )


def downgrade() -> None:
    op.drop_table("hpsearch_trial_metrics")
