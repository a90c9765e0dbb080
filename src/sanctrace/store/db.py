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


# Connections kept per process: enough for the API's concurrent requests (a decision holds
# two at most: its reads, then its write transaction) without opening and closing one per
# request beyond the pool, which costs milliseconds on PostgreSQL. At most
# POOL_SIZE + MAX_OVERFLOW per process (``sanctrace serve --workers N``: N times that; the
# PostgreSQL default allows 100).
POOL_SIZE = 16
MAX_OVERFLOW = 16


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI hook
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_wal(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI hook
    """A database file in WAL mode: readers do not wait for a writer's commit (the API's
    concurrent requests), and a commit writes the log only. Durable as before (synchronous
    stays FULL). The mode is kept in the file; setting it again is a no-op."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def _file_backed(url: sa.URL) -> bool:
    """A database in a file or a server (a pooled engine), not SQLite in memory."""
    if url.get_backend_name() != "sqlite":
        return True
    database = url.database or ""
    return database not in ("", ":memory:") and "mode=memory" not in str(url)


def open_database(url: str, migrate: bool = True) -> Database:
    """Connect to the database at ``url`` (resolved as ``resolve_url`` says) and migrate it.

    A URL that is not one is ``BadRequest``; a database that cannot be reached or opened is
    ``Unavailable``: one line each.
    """
    resolved = resolve_url(url)
    try:
        pool: dict[str, int] = {}
        if _file_backed(sa.make_url(resolved)):
            pool = {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW}
        engine = sa.create_engine(resolved, **pool)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise BadRequest(f"--db {resolved!r}: not a usable database URL ({exc})") from exc
    except ImportError as exc:
        raise Unavailable(f"--db {resolved!r}: database driver missing ({exc})") from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        if _file_backed(engine.url):
            sa.event.listen(engine, "connect", _sqlite_wal)
    db = Database(engine)
    if migrate:
        try:
            db.migrate()
        except sa.exc.OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise Unavailable(f"--db {db.url}: cannot open database ({reason})") from exc
    return db
