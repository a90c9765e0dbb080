"""Storage: SQLAlchemy tables, Alembic migrations and the repositories over them."""

from sanctrace.store.db import Database, open_database, resolve_url

__all__ = ["Database", "open_database", "resolve_url"]
