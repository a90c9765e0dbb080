"""The persisted name-screening index: built once per set of active list snapshots, stored
under ``<data dir>/index``, memory-mapped by every process that screens names.

An index folder is named by the database, the snapshots it covers (id, content digest and
load time, so a recreated database never meets a stale folder) and the normaliser's version
and code (``names.stored.key_of``): a list load or a normaliser change means a new folder. A
folder is written under a temporary name and renamed into place, so a reader sees a whole
index or none; one process builds a given folder at a time (a lock file beside it), the
others wait and open what it wrote. Older folders of the same database are removed (a
process that still maps one keeps its pages).

``IndexCache`` is the one index of a database in this process (the name service, the
company checks and the monitoring rules share it). When the active snapshots change it opens
the new folder if one exists (milliseconds), and otherwise builds it in a background thread
while the old index goes on answering, with the snapshot ids it was built from: every answer
names the data it was computed on. With no index yet, or no list active, it answers at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from sanctrace.lists.snapshots import active_entities
from sanctrace.names.built import ScreenerData, prepare
from sanctrace.names.stored import key_of
from sanctrace.services._snapshot_cache import active_snapshot_ids
from sanctrace.store import Database
from sanctrace.store.tables import snapshots as snapshot_table

__all__ = [
    "INDEX_FOLDER",
    "IndexCache",
    "Loaded",
    "build_data",
    "folder_for",
    "index_cache",
    "open_or_build",
    "remember_data_dir",
]

log = logging.getLogger(__name__)

INDEX_FOLDER = "index"
KEEP_PER_DATABASE = 2  # the current folder and the one before it (a rollback reopens it)


def _db_key(db: Database) -> str:
    return hashlib.sha256(db.url.encode()).hexdigest()[:12]


def folder_for(db: Database, data_dir: Path, snapshots: Mapping[str, int]) -> Path:
    """Where the index over ``snapshots`` of ``db`` lives (whether or not it exists yet)."""
    ids = sorted(set(snapshots.values()))
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(
                snapshot_table.c.id,
                snapshot_table.c.source,
                snapshot_table.c.sha256,
                snapshot_table.c.loaded_at,
            ).where(snapshot_table.c.id.in_(ids))
        ).all()
    identity = [db.url, sorted((r.id, r.source, r.sha256, str(r.loaded_at)) for r in rows)]
    return data_dir / INDEX_FOLDER / f"names-{_db_key(db)}-{key_of(identity)}"


def build_data(db: Database, snapshots: Mapping[str, int]) -> ScreenerData:
    """Normalise and index every party of ``snapshots`` (the slow part: seconds for OFAC+UN)."""
    ids = set(snapshots.values())
    prepared = (
        prepare(entity, i, snapshot_id)
        for i, (snapshot_id, entity) in enumerate(active_entities(db, snapshot_ids=ids))
    )
    return ScreenerData.build(prepared, meta={"snapshots": dict(snapshots)})


@contextmanager
def _building(folder: Path) -> Iterator[None]:
    """One builder of ``folder`` at a time across processes (an advisory lock file)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock = folder.parent / f".{folder.name}.lock"
    with open(lock, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    lock.unlink(missing_ok=True)


def _try_load(folder: Path) -> ScreenerData | None:
    try:
        return ScreenerData.load(folder)
    except (OSError, ValueError, EOFError):
        return None


def open_or_build(
    db: Database, data_dir: Path | None, snapshots: Mapping[str, int], prune: bool = True
) -> ScreenerData:
    """The index over ``snapshots``: mapped from its folder, else built and saved there
    (``prune``: then remove the database's older folders; not for a replay's old snapshots).

    Without a data folder, or when it cannot be written, the index is built in memory."""
    if data_dir is None:
        return build_data(db, snapshots)
    folder = folder_for(db, data_dir, snapshots)
    found = _try_load(folder)
    if found is not None:
        return found
    try:
        with _building(folder):
            found = _try_load(folder)  # another process may have built it meanwhile
            if found is not None:
                return found
            start = time.perf_counter()
            data = build_data(db, snapshots)
            tmp = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}"
            try:
                data.save(tmp, {"database": _db_key(db), "built_at": time.time()})
                shutil.rmtree(folder, ignore_errors=True)  # a damaged folder of the same name
                os.rename(tmp, folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            log.info(
                "name index built: %d entries, %d names in %.1f s",
                len(data.entries),
                len(data.names),
                time.perf_counter() - start,
            )
            if prune:
                _prune(folder)
    except OSError as exc:
        log.warning("name index not saved (%s); kept in memory", exc.strerror or exc)
        return build_data(db, snapshots)
    return _try_load(folder) or data


def _prune(current: Path) -> None:
    """Remove this database's older index folders, keeping the newest few."""
    prefix = current.name[: len("names-") + 12]
    mine = []
    for path in current.parent.glob(f"{prefix}-*"):
        try:
            mine.append((path.stat().st_mtime, path))
        except OSError:
            continue
    mine.sort(reverse=True)
    for _, path in mine[KEEP_PER_DATABASE:]:
        if path != current:
            shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Loaded:
    """An index and the active snapshots it covers (empty: no list loaded, no index)."""

    key: tuple[tuple[str, int], ...]
    data: ScreenerData | None

    @property
    def snapshots(self) -> dict[str, int]:
        return dict(self.key)


class IndexCache:
    """The index of one database in this process, swapped when the active snapshots change."""

    def __init__(self, db: Database, data_dir: Path | None) -> None:
        self.db = db
        self.data_dir = data_dir
        self.current: Loaded | None = None
        self._lock = threading.Lock()
        self._building: tuple[tuple[str, int], ...] | None = None
        self.background: threading.Thread | None = None  # the latest background build

    def get(self, wait: bool = False) -> Loaded:
        """The index for the active snapshots, or the previous one while it is being built.

        ``wait`` builds (or opens) the current one before answering."""
        key = tuple(sorted(active_snapshot_ids(self.db).items()))
        current = self.current
        if current is not None and current.key == key:
            return current
        if current is None or not current.key or not key or wait or self._ready(key):
            return self._swap(key)
        self._start_background(key)
        return current

    def _ready(self, key: tuple[tuple[str, int], ...]) -> bool:
        """Whether the folder for ``key`` is already written (opening it is quick)."""
        if self.data_dir is None:
            return False
        try:
            return (folder_for(self.db, self.data_dir, dict(key)) / "meta.json").exists()
        except sa.exc.SQLAlchemyError:
            return False

    def _swap(self, key: tuple[tuple[str, int], ...]) -> Loaded:
        with self._lock:
            current = self.current
            if current is not None and current.key == key:
                return current
            data = open_or_build(self.db, self.data_dir, dict(key)) if key else None
            loaded = Loaded(key, data)
            self.current = loaded
            return loaded

    def _start_background(self, key: tuple[tuple[str, int], ...]) -> None:
        with self._lock:
            if self._building == key:
                return
            self._building = key

        def run() -> None:
            try:
                self._swap(key)
            except Exception:  # the old index goes on answering; the next get tries again
                log.exception("building the name index in the background failed")
            finally:
                with self._lock:
                    if self._building == key:
                        self._building = None

        thread = threading.Thread(target=run, name="sanctrace-name-index", daemon=True)
        self.background = thread
        thread.start()


_caches: weakref.WeakKeyDictionary[Database, IndexCache] = weakref.WeakKeyDictionary()
_data_dirs: weakref.WeakKeyDictionary[Database, Path] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def remember_data_dir(db: Database, data_dir: Path) -> None:
    """Say where the index of ``db`` lives (a ``Context`` knows; a bare database does not).
    The first context to say so wins over the settings' default."""
    with _registry_lock:
        if db in _data_dirs:
            return
        _data_dirs[db] = data_dir
        cache = _caches.get(db)
        if cache is not None:
            cache.data_dir = data_dir


def index_cache(db: Database, data_dir: Path | None = None) -> IndexCache:
    """The shared index cache of ``db``: its data folder is the one a context registered for
    it (every ``Context`` does when it opens its database), else ``data_dir``; a database
    opened without a context and no ``data_dir`` keeps its index in memory."""
    with _registry_lock:
        cache = _caches.get(db)
        if cache is None:
            cache = _caches[db] = IndexCache(db, _data_dirs.get(db) or data_dir)
        return cache
