"""Helpers shared by test modules (pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
