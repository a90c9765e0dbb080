"""Backup and restore: the SQLite database and the chain store, into one folder and back.

A backup folder holds ``database.sqlite`` (SQLite's online backup API, run through the live
database: writers keep working, the copy is one consistent state), ``chain/`` (the chain store:
its committed parts, the cluster maps in use, then its ``manifest.json``), and
``sanctrace-backup.json``, the backup's own manifest: versions (sanctrace, schema revision,
SQLite) and the SHA-256 and size of every file. That manifest is written last and atomically,
so a folder without it is an unfinished backup, and ``restore`` refuses it.

``restore`` verifies every checksum before it touches anything, refuses a target database or
chain store that is not empty unless ``force``, and puts each in place by a rename (a reader
sees the old state or the new one, never a mixture). Stop ``serve`` and other writers first.

PostgreSQL is backed up with ``pg_dump`` (docs/deploy.md): ``backup`` refuses a PostgreSQL
database unless ``chain_only``, which copies the chain store alone, to keep beside the dump.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace import __version__
from sanctrace.errors import BadRequest, Conflict, NotFound
from sanctrace.fileio import write_atomic
from sanctrace.services.context import Context
from sanctrace.store.db import resolve_url

__all__ = [
    "BACKUP_MANIFEST",
    "BackupAnswer",
    "BackupRequest",
    "RestoreAnswer",
    "RestoreRequest",
    "backup",
    "restore",
]

BACKUP_MANIFEST = "sanctrace-backup.json"
FORMAT = "sanctrace-backup"
FORMAT_VERSION = 1
DATABASE_FILE = "database.sqlite"
CHAIN = "chain"
CHAIN_MANIFEST = "manifest.json"  # the chain store's commit point (chainstore.store)
CLUSTERS, CURRENT = "clusters", "CURRENT.json"  # the cluster maps' pointer (chainstore.clusters)
COPY_TRIES = 3  # a chain load or cluster build may remove a file between manifest and copy
PG_DUMP_HINT = (
    "back up a PostgreSQL database with pg_dump (see docs/deploy.md), and its chain store "
    "with: sanctrace backup --chain-only DIR"
)


@dataclass(frozen=True)
class BackupRequest:
    """Where the backup goes (a new or empty folder); ``chain_only``: the chain store alone."""

    folder: Path
    chain_only: bool = False


@dataclass(frozen=True)
class RestoreRequest:
    """The backup folder to restore; ``force`` replaces a database or chain store not empty."""

    folder: Path
    force: bool = False


@dataclass(frozen=True)
class BackupAnswer:
    """What a backup wrote: the folder, its files and bytes, and the versions recorded."""

    folder: str
    database: str | None  # the database file in the folder, None for --chain-only
    schema_revision: str | None
    chain_loads: int
    files: int
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RestoreAnswer:
    """What a restore put in place, after verifying ``files`` checksums."""

    folder: str
    database: str | None  # the restored database file, None when the backup has none
    chain_dir: str | None
    files: int
    replaced: list[str] = field(default_factory=list)  # what --force replaced

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------ helpers


def _sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database (PostgreSQL)."""
    try:
        parsed = sa.make_url(resolve_url(url))
    except (sa.exc.ArgumentError, ValueError):
        raise BadRequest("--db: not a usable database URL") from None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    if database in ("", ":memory:"):
        raise BadRequest("--db: an in-memory database cannot be backed up or restored")
    return Path(database)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _empty(folder: Path) -> bool:
    return not folder.exists() or (folder.is_dir() and not any(folder.iterdir()))


def _copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


# ------------------------------------------------------------------------------ backup


def _backup_sqlite(ctx: Context, target: Path) -> str | None:
    """Copy the live database with SQLite's online backup API; its schema revision."""
    raw = ctx.db.engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # one consistent state, while writers go on
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            copy.close()
    finally:
        raw.close()
    return str(row[0]) if row else None


@dataclass
class _ChainCopy:
    """What to copy of a chain store, read before copying: the files (relative), and the
    commit points' contents as read (written last, so they name only what was copied)."""

    files: list[Path]
    manifest: dict[str, Any] | None
    pointers: dict[Path, str]  # <chain>/clusters/CURRENT.json -> its text


def _chain_files(root: Path) -> _ChainCopy:
    """The parts the manifest lists, the cluster maps in use, and the rest of the folder;
    never temporary files, the lock, parts not (or no longer) committed, or cluster builds
    not in use."""
    manifest_path = root / CHAIN_MANIFEST
    if not manifest_path.is_file():
        return _ChainCopy([], None, {})
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    listed = {Path(p) for e in manifest.get("loads", []) for p in e.get("parts", {}).values()}
    chains = {str(e.get("chain")) for e in manifest.get("loads", [])}
    in_use: set[Path] = set()
    pointers: dict[Path, str] = {}
    for chain in sorted(chains | {p.name for p in root.iterdir() if p.is_dir()}):
        current = Path(chain) / CLUSTERS / CURRENT
        if (root / current).is_file():
            text = (root / current).read_text(encoding="utf-8")
            pointers[current] = text
            in_use.add(Path(chain) / CLUSTERS / str(json.loads(text).get("build")))
    files: list[Path] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        if rel == Path(CHAIN_MANIFEST) or rel in pointers:
            continue  # written last, from the copies read above
        top = rel.parts[0]
        if top in chains and len(rel.parts) == 3 and rel.name.startswith("part-"):
            if rel not in listed:
                continue  # not committed: a load in progress, or a part being removed
        if len(rel.parts) >= 4 and rel.parts[1] == CLUSTERS:
            if Path(*rel.parts[:3]) not in in_use:
                continue  # a build being written, or one left for removal
        files.append(rel)
    return _ChainCopy(files, manifest, pointers)


def _backup_chain(root: Path, target: Path) -> int:
    """Copy the chain store under ``target``, its manifest last; the loads it holds."""
    for attempt in range(COPY_TRIES):
        if target.exists():
            shutil.rmtree(target)
        plan = _chain_files(root)
        try:
            for rel in plan.files:
                _copy(root / rel, target / rel)
        except FileNotFoundError:
            if attempt == COPY_TRIES - 1:
                raise
            continue  # the store changed under the copy: start again from its manifest
        target.mkdir(parents=True, exist_ok=True)
        for rel, text in plan.pointers.items():
            write_atomic(target / rel, text)
        if plan.manifest is None:
            return 0
        write_atomic(target / CHAIN_MANIFEST, json.dumps(plan.manifest, indent=2) + "\n")
        return len(plan.manifest.get("loads", []))
    return 0  # pragma: no cover - the loop returns or raises


def backup(ctx: Context, request: BackupRequest) -> BackupAnswer:
    """Back up the database (SQLite) and the chain store into ``request.folder``."""
    folder = request.folder
    if folder.exists() and not folder.is_dir():
        raise BadRequest(f"{folder}: not a folder")
    if not _empty(folder):
        raise Conflict(f"{folder}: not empty; back up into a new or empty folder")
    db_file = None if request.chain_only else _sqlite_path(ctx.settings.db)
    if not request.chain_only and db_file is None:
        raise BadRequest(PG_DUMP_HINT)
    if db_file is not None and not db_file.is_file():
        raise NotFound(f"--db: no database at {db_file}; nothing to back up")
    folder.mkdir(parents=True, exist_ok=True)
    revision = None
    if db_file is not None:
        revision = _backup_sqlite(ctx, folder / DATABASE_FILE)
    loads = _backup_chain(ctx.settings.chain_dir, folder / CHAIN)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != BACKUP_MANIFEST)
    entries: dict[str, dict[str, Any]] = {
        p.relative_to(folder).as_posix(): {"sha256": _sha256(p), "size": p.stat().st_size}
        for p in files
    }
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "sanctrace": __version__,
        "database": None
        if db_file is None
        else {
            "kind": "sqlite",
            "file": DATABASE_FILE,
            "schema_revision": revision,
            "sqlite": sqlite3.sqlite_version,
        },
        "chain": {"folder": CHAIN, "loads": loads},
        "files": entries,
    }
    write_atomic(folder / BACKUP_MANIFEST, json.dumps(manifest, indent=2) + "\n")
    _fsync_dir(folder)
    return BackupAnswer(
        folder=str(folder),
        database=str(folder / DATABASE_FILE) if db_file is not None else None,
        schema_revision=revision,
        chain_loads=loads,
        files=len(entries),
        bytes=sum(int(e["size"]) for e in entries.values()),
    )


# ------------------------------------------------------------------------------ restore


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / BACKUP_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadRequest(
            f"{folder}: no {BACKUP_MANIFEST}: not a backup, or one that did not finish"
        ) from None
    except (OSError, ValueError) as exc:
        raise BadRequest(f"{path}: unreadable backup manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadRequest(f"{path}: not a sanctrace backup manifest")
    if manifest.get("version") != FORMAT_VERSION:
        raise BadRequest(f"{path}: backup format {manifest.get('version')!r} is not supported")
    return manifest


def _verify(folder: Path, manifest: dict[str, Any]) -> int:
    """Check every file's size and SHA-256 against the manifest; the files checked."""
    entries: dict[str, dict[str, Any]] = manifest.get("files") or {}
    for rel, entry in entries.items():
        path = folder / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise BadRequest(f"{folder / BACKUP_MANIFEST}: {rel!r} is outside the backup")
        if not path.is_file():
            raise BadRequest(f"{path}: missing from the backup")
        if path.stat().st_size != entry.get("size") or _sha256(path) != entry.get("sha256"):
            raise BadRequest(f"{path}: checksum mismatch; the backup is damaged")
    return len(entries)


def _restore_database(backup_file: Path, target: Path) -> None:
    """Put the database file in place by a rename, after checking it opens whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.restore-")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        shutil.copyfile(backup_file, tmp)
        check = sqlite3.connect(tmp)
        try:
            (result,) = check.execute("PRAGMA integrity_check").fetchone()
        finally:
            check.close()
        if result != "ok":
            raise BadRequest(f"{backup_file}: the database does not pass integrity_check")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # A log left by the replaced database would be replayed into the restored one.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _restore_chain(source: Path, target: Path) -> None:
    """Copy the chain store beside ``target``, then swap it in by renames."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.restore-"))
    old = None
    try:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        if target.exists():
            old = target.with_name(f".{target.name}.replaced-{os.getpid()}")
            os.replace(target, old)
        os.replace(staging, target)
        _fsync_dir(target.parent)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def restore(ctx: Context, request: RestoreRequest) -> RestoreAnswer:
    """Verify the backup in ``request.folder``, then restore it to the context's database
    (SQLite) and chain store. Never opens the target database before it is in place."""
    folder = request.folder
    manifest = _read_manifest(folder)
    checked = _verify(folder, manifest)
    database = manifest.get("database")
    db_target = None
    replaced: list[str] = []
    if database is not None:
        db_target = _sqlite_path(ctx.settings.db)
        if db_target is None:
            raise BadRequest(
                "restore a PostgreSQL database with pg_restore (see docs/deploy.md); "
                "this backup holds a SQLite database"
            )
        if db_target.exists() and db_target.stat().st_size > 0:
            if not request.force:
                raise Conflict(
                    f"--db: {db_target} exists; restore into a new place, or replace it "
                    "with --force (stop sanctrace serve first)"
                )
            replaced.append(str(db_target))
    chain_target = ctx.settings.chain_dir
    chain_source = folder / str((manifest.get("chain") or {}).get("folder") or CHAIN)
    if not _empty(chain_target):
        if not request.force:
            raise Conflict(
                f"chain store {chain_target} is not empty; restore into a new --data-dir, "
                "or replace it with --force"
            )
        replaced.append(str(chain_target))
    if database is not None and db_target is not None:
        _restore_database(folder / str(database["file"]), db_target)
    if chain_source.is_dir():
        _restore_chain(chain_source, chain_target)
    return RestoreAnswer(
        folder=str(folder),
        database=str(db_target) if db_target is not None else None,
        chain_dir=str(chain_target) if chain_source.is_dir() else None,
        files=checked,
        replaced=replaced,
    )
