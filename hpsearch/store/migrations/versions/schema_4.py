"""Schema 4: a trial's value in every objective of a study of several (``hpsearch_trials.objective_values``, JSON, empty for
every trial before: their studies had one objective, whose value ``value`` keeps), and a test evaluation per trial
rather than per study (the unique key of ``hpsearch_evaluations`` gains ``trial_id``: a study of several objectives
evaluates every trial of its Pareto set; a study of one keeps one evaluation, as before). SQLite alters the table in
batch mode (a copy of it)."""

import sqlalchemy as sa
from alembic import op

revision = "schema_4"
down_revision = "schema_3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("hpsearch_trials", sa.Column("objective_values", sa.JSON, nullable=True))
    with op.batch_alter_table("hpsearch_evaluations") as batch:
        batch.drop_constraint("uq_hpsearch_evaluation_split", type_="unique")
        batch.create_unique_constraint("uq_hpsearch_evaluation_trial_split", ["study_id", "trial_id", "split"])


def downgrade() -> None:
    raise NotImplementedError("schema 4 is not downgraded: keep the backup of the older store that the migration left")
