"""Schema 1: the tables hpsearch created before stores were migrated (studies, trials, epochs with the
four Keras metrics as columns, PBT decisions, evaluations). A store of schema 1 is stamped with this
revision before it is upgraded; nothing changes."""

revision = "schema_1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
