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
