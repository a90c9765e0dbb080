"""Alembic environment: runs on the connection sanctrace hands over (see store/db.py)."""

from alembic import context

from sanctrace.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
