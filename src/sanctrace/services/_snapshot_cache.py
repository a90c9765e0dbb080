"""A value built from the active list snapshots, rebuilt when a list load changes them; and the
data version every such cache checks, read once per request.

``data_version(db)`` is ``store.tags.data_version`` (active snapshots and tag sets, one small
query). Inside ``pinned(db)`` — one decision, one batch of events — it is read once and every
cache (the address screener, the exposure engines, the name screener, the snapshot ids a
decision names) sees that same version; the next ``pinned`` block reads it again, so a list
load between two requests is seen by the second. ``pinned`` also lends its block one database
connection for reads (``reader(db)``), so the rules' history and customer look-ups and the
version query share one checkout instead of one each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa

from sanctrace.store import Database
from sanctrace.store import tags as repo

T = TypeVar("T")

Version = tuple[tuple[tuple[str, int], ...], tuple[int, int]]

__all__ = ["SnapshotCache", "Version", "active_snapshot_ids", "data_version", "pinned", "reader"]


@dataclass
class _Pin:
    db: Database
    conn: sa.Connection
    version: Version | None = None


_pin: ContextVar[_Pin | None] = ContextVar("sanctrace_data_version_pin", default=None)


def _pinned_for(db: Database) -> _Pin | None:
    pin = _pin.get()
    return pin if pin is not None and pin.db is db else None


@contextmanager
def pinned(db: Database) -> Iterator[None]:
    """Within the block: one data version (read on first use) and one read connection.

    The connection reads in autocommit mode: no transaction is opened or rolled back around
    the reads (two round trips saved on PostgreSQL). Nested blocks share the outer one."""
    if _pinned_for(db) is not None:
        yield
        return
    with db.connect() as conn:
        if conn.dialect.name != "sqlite":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        token = _pin.set(_Pin(db, conn))
        try:
            yield
        finally:
            _pin.reset(token)


@contextmanager
def reader(db: Database) -> Iterator[sa.Connection]:
    """A connection for reads: the pinned block's, else a fresh one."""
    pin = _pinned_for(db)
    if pin is not None:
        yield pin.conn
        return
    with db.connect() as conn:
        yield conn


def data_version(db: Database, conn: sa.Connection | None = None) -> Version:
    """The lists' and tags' data version: once per ``pinned`` block, else a query."""
    pin = _pinned_for(db)
    if pin is not None:
        if pin.version is None:
            pin.version = repo.data_version(pin.conn)
        return pin.version
    if conn is not None:
        return repo.data_version(conn)
    with db.connect() as fresh:
        return repo.data_version(fresh)


def active_snapshot_ids(db: Database) -> dict[str, int]:
    """{source: active snapshot id}: what every answer names."""
    return dict(data_version(db)[0])


class SnapshotCache(Generic[T]):
    """One value built from the active list snapshots; rebuilt when a list load changes them.

    Each ``get`` checks the data version (one small query, or none inside ``pinned``); the
    build runs only when the active snapshots changed. Thread-safe: concurrent API requests
    share one build.
    """

    def __init__(self, db: Database, build: Callable[[Database], T]) -> None:
        self.db = db
        self.build = build
        self.lock = threading.Lock()
        self.key: tuple[tuple[str, int], ...] | None = None
        self.value: T | None = None

    def get(self) -> tuple[T, dict[str, int]]:
        """The value for the active snapshots, and their ids."""
        key = tuple(sorted(data_version(self.db)[0]))
        with self.lock:
            if self.value is None or key != self.key:
                self.value = self.build(self.db)
                self.key = key
            return self.value, dict(key)
