"""Helpers shared by test modules (pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, db: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the ``sanctrace`` command line in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("SANCTRACE_DB", None)
    cmd = [sys.executable, "-m", "sanctrace"]
    if db:
        cmd += ["--db", db]
    return subprocess.run(
        cmd + list(args), capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn on a free port of 127.0.0.1; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def _auth_context(db: Any) -> Iterator[Any]:
    """A service context over ``db``: a database URL, a ``Context`` or a ``Database``."""
    from sanctrace.services.context import Context
    from sanctrace.settings import Settings

    if isinstance(db, Context):
        yield db
    elif isinstance(db, str):
        ctx = Context(Settings(db=db))
        try:
            yield ctx
        finally:
            ctx.db.dispose()
    else:
        yield Context(db=db)


def key_headers(db: Any, *scopes: str) -> dict[str, str]:
    """Headers carrying a fresh platform API key (every key scope unless ``scopes`` are named),
    created through ``cases.users`` in the database ``db`` (a URL, ``Context`` or
    ``Database``)."""
    import secrets

    from sanctrace.cases import users
    from sanctrace.cases.auth import KEY_SCOPES

    chosen = scopes or tuple(sorted(s.value for s in KEY_SCOPES))
    with _auth_context(db) as ctx:
        key = users.create_key(ctx, f"test-{secrets.token_hex(4)}", chosen)
    return {"Authorization": f"Bearer {key.token}"}


def user_headers(db: Any, role: str = "admin") -> dict[str, str]:
    """Headers carrying a console session (the cookie and its CSRF token) of a fresh user with
    ``role``, created and logged in through ``cases.users``."""
    import secrets

    from sanctrace.api.auth import CSRF_HEADER, SESSION_COOKIE
    from sanctrace.cases import users

    with _auth_context(db) as ctx:
        added = users.add_user(ctx, f"{role}-{secrets.token_hex(4)}", role)
        assert added.password is not None
        token, csrf = users.login(ctx, added.user.name, added.password)
    return {"Cookie": f"{SESSION_COOKIE}={token}", CSRF_HEADER: csrf}
