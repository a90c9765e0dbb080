"""Loading list files into immutable, versioned snapshots; status and deltas.

A load is one transaction: the snapshot row, every entity, the delta against the previous
active snapshot and the switch of the active snapshot commit together or not at all. A
malformed file, a full disk or a killed process leaves the previous snapshot active.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace import filesets
from sanctrace.errors import Conflict, NotFound
from sanctrace.lists.base import ListFormat, ParseError, ParseReport
from sanctrace.lists.publication import publication_date
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
    published: str | None = None  # ISO publication date, when known
    reactivated: bool = False  # an earlier snapshot of the same files became active again


@dataclass
class Delta:
    """Differences between two snapshots of one source."""

    source: str
    old_snapshot: int | None
    new_snapshot: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # entity id -> fields

    def to_dict(self) -> dict[str, Any]:
        """The ``lists diff --json`` object."""
        return {
            "source": self.source,
            "old_snapshot": self.old_snapshot,
            "new_snapshot": self.new_snapshot,
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": {k: list(v) for k, v in self.changed.items()},
        }

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


def _parse_error(where: Path | str, message: str) -> ParseError:
    return ParseError(where, None, message)


def expand_paths(paths: Sequence[Path]) -> list[filesets.SourceFile]:
    """Files named directly, plus the list files inside named folders."""
    return filesets.expand(paths, LIST_SUFFIXES, error=_parse_error)


def group_files(
    files: Sequence[filesets.SourceFile], fmt_name: str | None
) -> list[tuple[ListFormat, list[Path]]]:
    """Files grouped into loadable sets: one per format (a multi-file set stays together)."""
    if fmt_name:
        return [(get_format(fmt_name), [f.path for f in files])]
    # Every file must be in a known format, also inside a folder: a list set is never partial.
    return filesets.group(files, detect_format, lambda fmt: fmt.name)


def files_sha256(files: Sequence[Path], fmt: str) -> str:
    """The identity of a list file set of format ``fmt`` (content only, names do not count)."""
    digests = [filesets.file_sha256(p, error=_parse_error) for p in files]
    return filesets.identity("lists", [fmt], digests)


def load_lists(
    db: Database,
    paths: Sequence[Path],
    source: str | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    version: str | None = None,
    allow_older: bool = False,
) -> list[LoadResult]:
    """Load files (or folders of files) as snapshots, one per format and source found."""
    files = expand_paths(paths)
    return [
        load_set(db, group, fmt_obj, source, progress, version=version, allow_older=allow_older)
        for fmt_obj, group in split_by_source(group_files(files, fmt), source)
    ]


def split_by_source(
    groups: list[tuple[ListFormat, list[Path]]], source: str | None
) -> list[tuple[ListFormat, list[Path]]]:
    """Split a format's files by the source each one names (METI's three lists in one folder
    are three sources); with ``source`` given, or a format that names none, as they are."""
    out: list[tuple[ListFormat, list[Path]]] = []
    for fmt, files in groups:
        suggest = getattr(fmt, "suggest_source", None)
        if source or suggest is None or len(files) < 2:
            out.append((fmt, files))
            continue
        by_source: dict[str, list[Path]] = {}
        for path in files:
            by_source.setdefault(suggest([path]), []).append(path)
        if len(by_source) == 1:
            out.append((fmt, files))  # one source: a multi-file set stays together
        else:
            out.extend((fmt, group) for group in by_source.values())
    return out


def load_set(
    db: Database,
    files: list[Path],
    fmt: ListFormat,
    source: str | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    version: str | None = None,
    published: str | None = None,
    allow_older: bool = False,
) -> LoadResult:
    """Load one file set of one format as a snapshot of ``source``, all or nothing.

    One load per source at a time (``repo.source_transaction``); the delta is against the
    snapshot active inside that lock. A file published before the active snapshot is refused
    (``Conflict``) unless ``allow_older``. ``version`` names the version of files that print
    none; ``published`` is the server's Last-Modified of a fetched file. The transaction also
    writes the customer re-screen the new snapshot owes (``rescreen_jobs``)."""
    suggest = getattr(fmt, "suggest_source", None)
    source = source or (suggest(files) if suggest else fmt.default_source)
    sha = files_sha256(files, fmt.name)
    with repo.source_transaction(db.engine, source) as conn:
        previous = repo.active_snapshot_id(conn, source)
        active_row = repo.get_snapshot(conn, previous) if previous is not None else None
        existing = repo.find_snapshot(conn, source, sha)
        if existing is not None:
            return _reload(conn, existing, active_row, allow_older)

        report = ParseReport()
        snapshot_id = repo.create_snapshot(conn, source, fmt.name, sha, [p.name for p in files])
        counts = _insert_parsed(conn, fmt, files, source, snapshot_id, report, progress)
        if counts["entities"] == 0:
            raise ParseError(files[0], None, "no entities found")
        if version and report.version and version != report.version:
            report.warn(f"--version {version} ignored: the file says {report.version}")
        stated = report.version or version
        date = publication_date(stated) or published
        _check_order(source, date, active_row, allow_older, files[0].name)
        if date is None:
            report.warn(
                "publication date unknown: the load could not be checked against the active "
                "snapshot (give --version YYYY-MM-DD)"
            )
        delta = compute_delta(conn, source, previous, snapshot_id)
        repo.save_delta(conn, source, previous, snapshot_id, delta.rows())
        repo.finish_snapshot(
            conn,
            snapshot_id,
            version=stated,
            published=date,
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
        repo.record_activation(conn, source, snapshot_id, previous, reason="load")
        repo.add_rescreen_job(conn, source, previous, snapshot_id)
        row = repo.get_snapshot(conn, snapshot_id)
    result = _result(row, created=True)
    result.warnings = report.warnings
    return result


def _insert_parsed(
    conn: sa.Connection,
    fmt: ListFormat,
    files: list[Path],
    source: str,
    snapshot_id: int,
    report: ParseReport,
    progress: Callable[[int], None] | None,
) -> Counter[str]:
    """Parse the files into the snapshot in batches; the counts of what was written."""
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
    return counts


def _older(date: str | None, than: Any) -> bool:
    """True when ``date`` is known and before the publication date of snapshot row ``than``."""
    return bool(date and than is not None and than.published and date < than.published)


def _check_order(
    source: str, date: str | None, active_row: Any, allow_older: bool, name: str
) -> None:
    if _older(date, active_row) and not allow_older:
        raise Conflict(
            f"{name}: published {date}, older than the active snapshot {active_row.id} of "
            f"{source} (published {active_row.published}); nothing loaded. Load it anyway "
            "with --allow-older"
        )


def _reload(conn: sa.Connection, existing: Any, active_row: Any, allow_older: bool) -> LoadResult:
    """The same files again: nothing new when they are the active snapshot. An older snapshot
    is not reactivated silently: refused unless ``allow_older``; one published after the
    active snapshot (after a rollback) becomes active again, and says so."""
    if active_row is not None and active_row.id == existing.id:
        return _result(existing, created=False)
    newer = bool(
        existing.published
        and (
            active_row is None
            or (active_row.published and existing.published > active_row.published)
        )
    )
    if not newer and not allow_older:
        active = f"snapshot {active_row.id}" if active_row is not None else "none"
        raise Conflict(
            f"{existing.source}: these files are snapshot {existing.id} (published "
            f"{existing.published or 'unknown'}), not the active one ({active}); nothing "
            f"changed. To go back to it on purpose: sanctrace lists activate {existing.id}"
        )
    previous = active_row.id if active_row is not None else None
    repo.record_activation(conn, existing.source, existing.id, previous, reason="reload")
    repo.add_rescreen_job(conn, existing.source, previous, existing.id)
    result = _result(existing, created=False)
    result.reactivated = True
    return result


def _result(row: Any, created: bool) -> LoadResult:
    """The result of a load from its snapshots row."""
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
        published=row.published,
    )


def compute_delta(conn: sa.Connection, source: str, old_id: int | None, new_id: int) -> Delta:
    """Compare two snapshots entity by entity (by id, then by content fingerprint)."""
    delta = Delta(source, old_id, new_id)
    new = repo.fingerprints(conn, new_id)
    old = repo.fingerprints(conn, old_id) if old_id is not None else {}
    delta.added = sorted(set(new) - set(old))
    delta.removed = sorted(set(old) - set(new))
    both = sorted(e for e in set(new) & set(old) if new[e] != old[e])
    if both and old_id is not None:
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
            raise NotFound(f"source {source!r}: no snapshots loaded")
        ids = {row.id: row for row in history}
        if new is None:
            new = repo.active_snapshot_id(conn, source)
            if new is None:
                raise NotFound(f"source {source!r}: no active snapshot")
            active = ids[new]
            old = active.stats.get("delta_from") if old is None else old
        for label, value in (("OLD", old), ("NEW", new)):
            if value is not None and value not in ids:
                raise NotFound(f"{label}: snapshot {value} is not a snapshot of {source!r}")
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


@dataclass(frozen=True)
class SnapshotInfo:
    """The identity of an active snapshot."""

    id: int
    version: str | None
    sha256: str
    loaded_at: str  # ISO 8601
    format: str
    published: str | None = None  # ISO publication date, when known


@dataclass(frozen=True)
class SourceStatus:
    """The active snapshot of one source and its counts."""

    snapshot: SnapshotInfo
    entities: int
    schemas: dict[str, int]
    names: int
    addresses: dict[str, int]  # asset -> valid addresses
    invalid_addresses: int
    warnings: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_status(db: Database) -> dict[str, SourceStatus]:
    """Per source: the active snapshot and its counts."""
    with db.connect() as conn:
        return {
            row.source: SourceStatus(
                snapshot=SnapshotInfo(
                    id=row.id,
                    version=row.version,
                    sha256=row.sha256,
                    loaded_at=row.loaded_at.isoformat(),
                    format=row.format,
                    published=row.published,
                ),
                entities=row.entity_count,
                schemas=dict(row.stats.get("schemas", {})),
                names=row.name_count,
                addresses=dict(row.stats.get("addresses", {})),
                invalid_addresses=row.invalid_address_count,
                warnings=len(row.warnings),
            )
            for row in repo.active(conn)
        }


def status(db: Database) -> dict[str, dict[str, Any]]:
    """Per source: the active snapshot and its counts (the ``lists status --json`` object)."""
    return {source: info.to_dict() for source, info in source_status(db).items()}


PARTY_SCHEMAS = frozenset(
    {"Person", "Company", "Organization", "LegalEntity", "PublicBody", "Vessel", "Airplane"}
)


def active_entities(
    db: Database,
    entity_ids: list[str] | None = None,
    snapshot_ids: Collection[int] | None = None,
) -> list[tuple[int, Entity]]:
    """(snapshot id, entity) for the parties of the active snapshots: what screening uses.
    ``snapshot_ids`` names other snapshots instead (a stored decision's, replayed)."""
    with db.connect() as conn:
        return [
            (snapshot_id, Entity.from_ftm(data))
            for snapshot_id, data in repo.active_entity_data(conn, entity_ids, snapshot_ids)
            if data.get("schema") in PARTY_SCHEMAS
        ]
