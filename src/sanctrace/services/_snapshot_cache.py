"""A value built from the active list snapshots, rebuilt when a list load changes them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sanctrace.store import Database
from sanctrace.store import tags as repo

T = TypeVar("T")


def active_snapshot_ids(db: Database) -> dict[str, int]:
    """{source: active snapshot id}: what every answer names."""
    with db.connect() as conn:
        return repo.active_snapshot_ids(conn)


class SnapshotCache(Generic[T]):
    """One value built from the active list snapshots; rebuilt when a list load changes them.

    Each ``get`` costs one small query (the active snapshot ids); the build runs only when they
    changed. Thread-safe: concurrent API requests share one build.
    """

    def __init__(self, db: Database, build: Callable[[Database], T]) -> None:
        self.db = db
        self.build = build
        self.lock = threading.Lock()
        self.key: tuple[tuple[str, int], ...] | None = None
        self.value: T | None = None

    def get(self) -> tuple[T, dict[str, int]]:
        """The value for the active snapshots, and their ids."""
        snaps = active_snapshot_ids(self.db)
        key = tuple(sorted(snaps.items()))
        with self.lock:
            if self.value is None or key != self.key:
                self.value = self.build(self.db)
                self.key = key
            return self.value, snaps
