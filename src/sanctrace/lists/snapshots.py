"""Loading list files into immutable, versioned snapshots; status and deltas.

A load is one transaction: the snapshot row, every entity, the delta against the previous
active snapshot and the switch of the active snapshot commit together or not at all. A
malformed file, a full disk or a killed process leaves the previous snapshot active.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sanctrace.errors import SanctraceError
from sanctrace.lists.base import ListFormat, ParseError, ParseReport
from sanctrace.lists.registry import detect_format, get_format
from sanctrace.model import Entity, changed_fields, comparable
from sanctrace.store import Database
from sanctrace.store import snapshots as repo

BATCH = 1000
MAX_STORED_WARNINGS = 1000
LIST_SUFFIXES = {".csv", ".xml", ".json", ".jsonl", ".ndjson", ".txt", ".xlsx", ".gz", ".bz2"}


@dataclass
class LoadResult:
    """What one load did."""

    snapshot_id: int
    source: str
    format: str
    version: str | None
    sha256: str
    created: bool  # False when the same files were loaded before
    entities: int = 0
    names: int = 0
    addresses: int = 0
    invalid_addresses: int = 0
    warnings: list[str] = field(default_factory=list)
    delta: dict[str, int] = field(default_factory=dict)


@dataclass
class Delta:
    """Differences between two snapshots of one source."""

    source: str
    old_snapshot: int | None
    new_snapshot: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # entity id -> fields

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
        }

    def rows(self) -> list[tuple[str, str, list[str]]]:
        return (
            [(e, "added", []) for e in self.added]
            + [(e, "removed", []) for e in self.removed]
            + [(e, "changed", f) for e, f in self.changed.items()]
        )


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named directly, plus the list files inside named folders."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.iterdir())
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in LIST_SUFFIXES
            )
        elif path.exists():
            files.append(path)
        else:
            raise ParseError(path, None, "no such file or folder")
    if not files:
        raise ParseError(paths[0] if paths else "PATH", None, "no list files found")
    return files


def group_files(files: list[Path], fmt_name: str | None) -> list[tuple[ListFormat, list[Path]]]:
    """Files grouped into loadable sets: one per format (a multi-file set stays together)."""
    if fmt_name:
        return [(get_format(fmt_name), files)]
    groups: dict[str, tuple[ListFormat, list[Path]]] = {}
    for path in files:
        fmt = detect_format(path)
        groups.setdefault(fmt.name, (fmt, []))[1].append(path)
    return list(groups.values())


def files_sha256(files: list[Path]) -> str:
    """One digest over the set: each file's name and bytes, in name order."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def load_lists(
    db: Database,
    paths: list[Path],
    source: str | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[LoadResult]:
    """Load files (or folders of files) as snapshots, one per format found."""
    files = expand_paths(paths)
    return [
        load_set(db, group, fmt_obj, source, progress) for fmt_obj, group in group_files(files, fmt)
    ]


def load_set(
    db: Database,
    files: list[Path],
    fmt: ListFormat,
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Load one file set of one format as a snapshot of ``source``, all or nothing."""
    suggest = getattr(fmt, "suggest_source", None)
    source = source or (suggest(files) if suggest else fmt.default_source)
    sha = files_sha256(files)
    with db.begin() as conn:
        existing = repo.find_snapshot(conn, source, sha)
        if existing is not None:
            if repo.active_snapshot_id(conn, source) != existing.id:
                repo.activate(conn, source, existing.id)
            return _result(existing, created=False)

        report = ParseReport()
        snapshot_id = repo.create_snapshot(conn, source, fmt.name, sha, [p.name for p in files])
        seen: set[str] = set()
        batch: list[Entity] = []
        counts: Counter[str] = Counter()
        for entity in fmt.parse(files, source, report):
            if entity.id in seen:
                report.warn(f"duplicate entity id {entity.id} skipped")
                continue
            seen.add(entity.id)
            batch.append(entity)
            counts["entities"] += 1
            counts["names"] += len(entity.names)
            for addr in entity.crypto:
                counts["addresses" if addr.valid else "invalid"] += 1
                if not addr.valid:
                    report.warn(f"{entity.id}: invalid {addr.asset} address ({addr.reason})")
            if len(batch) >= BATCH:
                repo.insert_entities(conn, snapshot_id, batch)
                if progress:
                    progress(len(batch))
                batch = []
        repo.insert_entities(conn, snapshot_id, batch)
        if progress and batch:
            progress(len(batch))
        if counts["entities"] == 0:
            raise ParseError(files[0], None, "no entities found")

        previous = repo.active_snapshot_id(conn, source)
        delta = compute_delta(conn, source, previous, snapshot_id)
        repo.save_delta(conn, source, previous, snapshot_id, delta.rows())
        repo.finish_snapshot(
            conn,
            snapshot_id,
            version=report.version,
            entity_count=counts["entities"],
            name_count=counts["names"],
            address_count=counts["addresses"],
            invalid_address_count=counts["invalid"],
            stats={
                "schemas": repo.schema_counts(conn, snapshot_id),
                "addresses": repo.address_counts(conn, snapshot_id),
                "delta_from": previous,
                "delta": delta.counts(),
            },
            warnings=report.warnings[:MAX_STORED_WARNINGS],
        )
        repo.activate(conn, source, snapshot_id)
        row = repo.get_snapshot(conn, snapshot_id)
    result = _result(row, created=True)
    result.warnings = report.warnings
    return result


def _result(row, created: bool) -> LoadResult:  # noqa: ANN001 - a snapshots row
    return LoadResult(
        snapshot_id=row.id,
        source=row.source,
        format=row.format,
        version=row.version,
        sha256=row.sha256,
        created=created,
        entities=row.entity_count,
        names=row.name_count,
        addresses=row.address_count,
        invalid_addresses=row.invalid_address_count,
        warnings=list(row.warnings),
        delta=dict(row.stats.get("delta", {})),
    )


def compute_delta(conn, source: str, old_id: int | None, new_id: int) -> Delta:  # noqa: ANN001
    """Compare two snapshots entity by entity (by id, then by content fingerprint)."""
    delta = Delta(source, old_id, new_id)
    new = repo.fingerprints(conn, new_id)
    old = repo.fingerprints(conn, old_id) if old_id is not None else {}
    delta.added = sorted(set(new) - set(old))
    delta.removed = sorted(set(old) - set(new))
    both = sorted(e for e in set(new) & set(old) if new[e] != old[e])
    if both:
        old_data = repo.entity_data(conn, old_id, both)
        new_data = repo.entity_data(conn, new_id, both)
        for entity_id in both:
            delta.changed[entity_id] = changed_fields(
                comparable(old_data[entity_id]), comparable(new_data[entity_id])
            )
    return delta


def diff(db: Database, source: str, old: int | None = None, new: int | None = None) -> Delta:
    """The delta between two snapshots of ``source`` (default: the active one and its predecessor)."""
    with db.begin() as conn:
        history = repo.snapshots_of(conn, source)
        if not history:
            raise SanctraceError(f"source {source!r}: no snapshots loaded")
        ids = {row.id: row for row in history}
        if new is None:
            new = repo.active_snapshot_id(conn, source)
            active = ids[new]
            old = active.stats.get("delta_from") if old is None else old
        for label, value in (("OLD", old), ("NEW", new)):
            if value is not None and value not in ids:
                raise SanctraceError(f"{label}: snapshot {value} is not a snapshot of {source!r}")
        stored = repo.load_delta(conn, old, new)
        if stored is not None:
            delta = Delta(source, old, new)
            for entity_id, change, fields in stored:
                if change == "changed":
                    delta.changed[entity_id] = list(fields)
                else:
                    getattr(delta, change).append(entity_id)
            return delta
        delta = compute_delta(conn, source, old, new)
        repo.save_delta(conn, source, old, new, delta.rows())
        return delta


def status(db: Database) -> dict[str, dict]:
    """Per source: the active snapshot and its counts (the ``lists status --json`` object)."""
    out: dict[str, dict] = {}
    with db.connect() as conn:
        for row in repo.active(conn):
            out[row.source] = {
                "snapshot": {
                    "id": row.id,
                    "version": row.version,
                    "sha256": row.sha256,
                    "loaded_at": row.loaded_at.isoformat(),
                    "format": row.format,
                },
                "entities": row.entity_count,
                "schemas": row.stats.get("schemas", {}),
                "names": row.name_count,
                "addresses": row.stats.get("addresses", {}),
                "invalid_addresses": row.invalid_address_count,
                "warnings": len(row.warnings),
            }
    return out


PARTY_SCHEMAS = frozenset(
    {"Person", "Company", "Organization", "LegalEntity", "PublicBody", "Vessel", "Airplane"}
)


def active_entities(db: Database, entity_ids: list[str] | None = None) -> list[tuple[int, Entity]]:
    """(snapshot id, entity) for the parties of the active snapshots: what screening uses."""
    with db.connect() as conn:
        return [
            (snapshot_id, Entity.from_ftm(data))
            for snapshot_id, data in repo.active_entity_data(conn, entity_ids)
            if data.get("schema") in PARTY_SCHEMAS
        ]
