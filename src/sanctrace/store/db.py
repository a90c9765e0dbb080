"""Opening the database: URL resolution, engine set-up and migrations on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sanctrace.errors import BadRequest, Unavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def resolve_url(url: str) -> str:
    """The SQLAlchemy URL for ``url``: PostgreSQL goes through psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


class Database:
    """An engine over a migrated sanctrace database."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """One transaction: everything inside commits together or not at all."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest migration, if it is not there already."""
        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        with self.engine.begin() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            if current != head:
                command.upgrade(_alembic_config(conn), "head")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI hook
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def open_database(url: str, migrate: bool = True) -> Database:
    """Connect to the database at ``url`` (resolved as ``resolve_url`` says) and migrate it.

    A URL that is not one is ``BadRequest``; a database that cannot be reached or opened is
    ``Unavailable``: one line each.
    """
    resolved = resolve_url(url)
    try:
        engine = sa.create_engine(resolved)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise BadRequest(f"--db {resolved!r}: not a usable database URL ({exc})") from exc
    except ImportError as exc:
        raise Unavailable(f"--db {resolved!r}: database driver missing ({exc})") from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    db = Database(engine)
    if migrate:
        try:
            db.migrate()
        except sa.exc.OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise Unavailable(f"--db {db.url}: cannot open database ({reason})") from exc
    return db
