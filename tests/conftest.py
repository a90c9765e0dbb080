"""Shared fixtures: the reference data folder and the databases every storage test runs on."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_data_dir() -> Path:
    """``SANCTRACE_SHARED_DATA``, default ``../shared/data`` beside the project root."""
    return Path(os.environ.get("SANCTRACE_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not (path / "README.md").exists():
        pytest.skip(f"reference data not found at {path} (set SANCTRACE_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


def _database_params() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    url = os.environ.get("SANCTRACE_TEST_DATABASE_URL")
    params.append(
        pytest.param(
            url or "postgresql",
            id="postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not url, reason="SANCTRACE_TEST_DATABASE_URL is not set"),
            ],
        )
    )
    return params


@pytest.fixture(params=_database_params())
def db_url(request, tmp_path) -> str:
    """A fresh, empty database: a SQLite file, or a private schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sanctrace.db'}"
        return
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(request.param)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in request.param else "?"
    url = f"{request.param}{sep}options=-csearch_path%3D{schema}"
    yield url
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
