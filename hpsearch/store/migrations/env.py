"""Alembic's environment for hpsearch: migrations run on the connection (and in the transaction)
that :func:`hpsearch.store.migrate.upgrade` hands over, never from a URL of their own."""

from __future__ import annotations

from alembic import context

from hpsearch.store import schema

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=schema.metadata,
    version_table="hpsearch_alembic_version",
    render_as_batch=True,  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
