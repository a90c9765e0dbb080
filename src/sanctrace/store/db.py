"""Opening the database: URL resolution, engine set-up and migrations on first use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sanctrace.errors import BadRequest, Unavailable

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

__all__ = [
    "MIGRATIONS",
    "Database",
    "Timeouts",
    "mask_secrets",
    "open_database",
    "resolve_url",
]

# ``scheme://user:password@host``: the password is everything between the first ":" of the
# user part and the last "@" before the host (a password may hold "@" or ":" unescaped).
_USERINFO = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@]*:)(?P<secret>[^/]*)@")
_QUERY_SECRET = re.compile(r"(?i)\b(password|passwd|sslpassword)=([^&\s]*)")


def mask_secrets(text: str, url: str | None = None) -> str:
    """``text`` with every password of ``url`` (and any URL inside ``text``) replaced by ``***``:
    messages about a database URL never show its password, even when the URL is malformed."""
    secrets: list[str] = []
    for candidate in (url, text):
        if not candidate:
            continue
        for word in [candidate, *candidate.split()]:
            found = _USERINFO.match(word.strip("'\"()<>"))
            if found and found.group("secret"):
                secrets.append(found.group("secret"))
        secrets += [m.group(2) for m in _QUERY_SECRET.finditer(candidate) if m.group(2)]
    # The longest first, so a password holding a shorter one is masked whole.
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}=***", text)


@dataclass(frozen=True)
class Timeouts:
    """How long the database may take (seconds): to connect (PostgreSQL), to run one statement
    (PostgreSQL; 0 = no limit), and to wait for another writer's lock (SQLite's busy timeout)."""

    connect: float = 10.0
    statement: float = 120.0
    busy: float = 30.0


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

    def ping(self) -> None:
        """Ask the database for ``SELECT 1``: ``Unavailable`` when it does not answer."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

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


def _sqlite_pragmas(busy_ms: int) -> Any:
    def pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DBAPI hook
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        cur.close()

    return pragmas


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


def _postgres_args(url: sa.URL, timeouts: Timeouts) -> dict[str, Any]:
    """psycopg's connection options: the connect timeout, and the statement timeout added to
    the URL's own ``options`` (a ``search_path``, say) rather than replacing them."""
    args: dict[str, Any] = {"connect_timeout": max(1, round(timeouts.connect))}
    if timeouts.statement > 0:
        given = url.query.get("options", "")
        given = " ".join(given) if isinstance(given, tuple) else given
        limit = f"-c statement_timeout={int(timeouts.statement * 1000)}"
        args["options"] = f"{given} {limit}".strip()
    return args


def _reason(exc: BaseException) -> str:
    """The first line of a driver's message, never the SQL statement SQLAlchemy appends."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


def _as_unavailable(url: str) -> Any:
    """An engine hook: a database that cannot be reached, drops the connection or does not
    answer in time is ``Unavailable`` (503, exit 3) with a one-line reason, wherever it
    happens; other database errors (a constraint, a bug) pass unchanged."""

    def handle(context: sa.engine.ExceptionContext) -> None:
        exc = context.sqlalchemy_exception
        if isinstance(exc, sa.exc.DataError):  # a value the column cannot hold: the input's
            raise BadRequest("a value out of range or of the wrong form for the database") from None
        if context.is_disconnect or isinstance(
            exc, sa.exc.OperationalError | sa.exc.InterfaceError
        ):
            reason = mask_secrets(_reason(context.original_exception), url)
            raise Unavailable(f"database unavailable ({reason})") from context.original_exception

    return handle


def _missing_file(url: sa.URL) -> Path | None:
    """The file of a SQLite URL when it does not exist (``None`` for anything else)."""
    if url.get_backend_name() != "sqlite" or not _file_backed(url):
        return None
    database = url.database or ""
    if database.startswith("file:"):  # a URI filename: the path before its query
        database = database[len("file:") :].split("?", 1)[0]
    path = Path(database)
    return None if path.exists() else path


def open_database(
    url: str, migrate: bool = True, *, create: bool = True, timeouts: Timeouts | None = None
) -> Database:
    """Connect to the database at ``url`` (resolved as ``resolve_url`` says) and migrate it.

    With ``create=False`` (the read-only commands) a SQLite file that does not exist is
    ``Unavailable`` instead of a new, empty database. ``timeouts`` bound connecting, each
    statement and SQLite's wait for a lock. A URL that is not one is ``BadRequest``; a database
    that cannot be reached or opened is ``Unavailable``: one line each, the password masked.
    """
    timeouts = timeouts or Timeouts()
    resolved = resolve_url(url)
    try:
        parsed = sa.make_url(resolved)
        shown = parsed.render_as_string(hide_password=True)
        missing = _missing_file(parsed)
        if missing is not None and not create:
            raise Unavailable(
                f"--db {shown}: no database at {missing} (a read-only command does not create "
                "one; load a list first, or check --db / $SANCTRACE_DB)"
            )
        options: dict[str, Any] = {}
        if _file_backed(parsed):
            options = {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW}
        if parsed.get_backend_name() == "postgresql":
            options["connect_args"] = _postgres_args(parsed, timeouts)
        engine = sa.create_engine(parsed, **options)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError) as exc:
        raise BadRequest(
            mask_secrets(f"--db {resolved!r}: not a usable database URL ({exc})", resolved)
        ) from None
    except ImportError as exc:
        raise Unavailable(
            mask_secrets(f"--db {resolved!r}: database driver missing ({exc})", resolved)
        ) from None
    sa.event.listen(engine, "handle_error", _as_unavailable(resolved))
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas(int(timeouts.busy * 1000)))
        if _file_backed(engine.url):
            sa.event.listen(engine, "connect", _sqlite_wal)
    db = Database(engine)
    if migrate:
        try:
            db.migrate()
        except Unavailable as exc:
            engine.dispose()
            raise Unavailable(f"--db {db.url}: {exc}") from None
        except sa.exc.OperationalError as exc:
            engine.dispose()
            reason = mask_secrets(_reason(exc), resolved)
            raise Unavailable(f"--db {db.url}: cannot open database ({reason})") from None
    return db
