"""Alembic migrations of the store's tables, one revision per schema version (see :mod:`hpsearch.store.migrate`)."""
