"""Sanctions lists: load files, fetch from the official addresses, status and deltas.

Every new snapshot, whichever way it came in, re-screens the stored customers against its
added and changed entries (``services.names.rescreen_delta``), so a list change never waits
for a separate command.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from sanctrace.errors import BadRequest, NotFound
from sanctrace.lists import fetch as fetching
from sanctrace.lists import snapshots
from sanctrace.lists.snapshots import Delta, LoadResult, SourceStatus
from sanctrace.model import Entity
from sanctrace.services.context import Context
from sanctrace.services.lookback import LookbackAnswer, after_loads
from sanctrace.services.names import ScreeningRun, build_screener, rescreen_delta
from sanctrace.store import customers as customer_repo
from sanctrace.store import snapshots as snapshot_repo
from sanctrace.store.tables import entities as entity_table
from sanctrace.store.tables import fetches as fetch_log

__all__ = [
    "STALE_AFTER",
    "EntityLink",
    "EntityView",
    "FetchAnswer",
    "FetchRequest",
    "LoadAnswer",
    "LoadRequest",
    "SnapshotSummary",
    "SourceFreshness",
    "StatusAnswer",
    "diff",
    "entity",
    "fetch",
    "freshness",
    "load",
    "snapshot_delta",
    "snapshot_history",
    "status",
]


@dataclass(frozen=True, kw_only=True)
class LoadRequest:
    """List files or folders to load; source and format are found when absent."""

    paths: tuple[Path, ...]
    source: str | None = None
    format: str | None = None

    def __post_init__(self) -> None:
        if not self.paths:
            raise BadRequest("paths: name at least one list file or folder")


@dataclass
class LoadAnswer(LoadResult):
    """One snapshot a load made or found (``LoadResult``), and what its changes caused."""

    # None when nothing was re-screened: the snapshot is not new, or no customers are stored.
    rescreen: ScreeningRun | None = None
    # The lookback over the stored events (services.lookback); None when the snapshot is not new.
    lookback: LookbackAnswer | None = None

    @classmethod
    def of(
        cls,
        result: LoadResult,
        rescreen: ScreeningRun | None,
        lookback: LookbackAnswer | None = None,
    ) -> LoadAnswer:
        known = {f.name: getattr(result, f.name) for f in fields(LoadResult)}
        return cls(**known, rescreen=rescreen, lookback=lookback)


@dataclass(frozen=True, kw_only=True)
class FetchRequest:
    """Sources to fetch (default: every configured one) and an optional TOML of their URLs."""

    sources: tuple[str, ...] = ()
    config: Path | None = None


@dataclass(frozen=True)
class FetchAnswer:
    """What fetching one source did: its downloads and the load of its files."""

    source: str
    downloaded: int  # files fetched anew
    unchanged: int  # files the server answered "not modified"
    load: LoadAnswer


@dataclass(frozen=True)
class StatusAnswer:
    """The active snapshot of each source, with its counts."""

    sources: dict[str, SourceStatus] = field(default_factory=dict)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The ``lists status --json`` and ``GET /v1/lists`` object."""
        return {source: info.to_dict() for source, info in self.sources.items()}


def load(
    ctx: Context, request: LoadRequest, progress: Callable[[int], None] | None = None
) -> list[LoadAnswer]:
    """Load files as snapshots, one per format found, and re-screen customers on new ones."""
    results = snapshots.load_lists(
        ctx.db, request.paths, source=request.source, fmt=request.format, progress=progress
    )
    return _answers(ctx, results)


def fetch(
    ctx: Context,
    request: FetchRequest,
    client: httpx.Client | None = None,
    backoff: float = 2.0,
) -> list[FetchAnswer]:
    """Download the sources into the data folder, load them, and re-screen on new snapshots."""
    settings = ctx.settings
    results = fetching.fetch_sources(
        ctx.db,
        settings.lists_dir,
        list(request.sources) or None,
        request.config or settings.sources,
        client=client,
        backoff=backoff,
    )
    loads = _answers(ctx, [r.load for r in results])
    return [
        FetchAnswer(source=r.source, downloaded=r.downloaded, unchanged=r.unchanged, load=a)
        for r, a in zip(results, loads, strict=True)
    ]


def diff(ctx: Context, source: str, old: int | None = None, new: int | None = None) -> Delta:
    """Entities added, removed and changed between two snapshots of ``source`` (default: the
    active one and the one it replaced)."""
    if (old is None) != (new is None):
        raise BadRequest("give both OLD and NEW, or neither")
    return snapshots.diff(ctx.db, source, old, new)


def status(ctx: Context) -> StatusAnswer:
    """The active snapshot of each source, with counts."""
    return StatusAnswer(snapshots.source_status(ctx.db))


def _answers(ctx: Context, results: Sequence[LoadResult]) -> list[LoadAnswer]:
    created = [r for r in results if r.created]
    runs = _rescreen(ctx, created)
    # Then the stored history against what the new snapshots list (services.lookback).
    looks = after_loads(ctx, created) if created else {}
    return [LoadAnswer.of(r, runs.get(r.snapshot_id), looks.get(r.snapshot_id)) for r in results]


def _rescreen(ctx: Context, created: Sequence[LoadResult]) -> dict[int, ScreeningRun]:
    """Re-screen the stored customers against each new snapshot's changes (by snapshot id)."""
    if not created:
        return {}
    db = ctx.db
    with db.connect() as conn:
        if customer_repo.count(conn)["customers"] == 0:
            return {}
    # One screener over all the active snapshots, after every load of this request.
    screener = build_screener(db)
    return {
        r.snapshot_id: rescreen_delta(db, snapshots.diff(db, r.source), screener) for r in created
    }


# --- the console's views: freshness, a source's snapshots, one entity -------------------------
# (appended for the analyst console, web/pages/lists.py and the dashboard)

# A source not checked for this long is stale: the official lists change without notice, and a
# screening on an old list misses the new designations. Checked: the active snapshot loaded, or
# a fetch of the source answered 200 or 304 (unchanged) after that.
STALE_AFTER = timedelta(hours=48)
RELATION_SCHEMAS = frozenset(
    {"Ownership", "Directorship", "Representation", "UnknownLink", "Family", "Associate"}
)
# FtM relation property → what the other side is to the entity shown.
_RELATION_ROLES = {
    "owner": "owner",
    "asset": "owned",
    "director": "director",
    "organization": "directed",
    "agent": "agent",
    "client": "client",
    "subject": "linked",
    "object": "linked",
    "person": "relative",
    "relative": "relative",
    "associate": "associate",
}


def _aware_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SourceFreshness:
    """One source as the console shows it: the active snapshot, when it was last checked,
    its age and whether it is stale."""

    source: str
    snapshot_id: int
    version: str | None
    format: str
    loaded_at: datetime
    checked_at: datetime  # the later of the load and the last good fetch
    age_hours: float
    stale: bool
    entities: int
    warnings: list[str]


def freshness(
    ctx: Context, at: datetime | None = None, stale_after: timedelta = STALE_AFTER
) -> list[SourceFreshness]:
    """Every source with an active snapshot, by name, with its age at ``at`` (default now)."""
    moment = _aware_utc(at or datetime.now(UTC))
    out: list[SourceFreshness] = []
    with ctx.db.connect() as conn:
        fetched = dict(
            conn.execute(
                sa.select(fetch_log.c.source, sa.func.max(fetch_log.c.fetched_at))
                .where(fetch_log.c.status.in_((200, 304)))
                .group_by(fetch_log.c.source)
            ).all()
        )
        for row in snapshot_repo.active(conn):
            loaded = _aware_utc(row.loaded_at)
            last_fetch = fetched.get(row.source)
            checked = max(loaded, _aware_utc(last_fetch)) if last_fetch is not None else loaded
            age = moment - checked
            out.append(
                SourceFreshness(
                    source=row.source,
                    snapshot_id=int(row.id),
                    version=row.version,
                    format=row.format,
                    loaded_at=loaded,
                    checked_at=checked,
                    age_hours=round(age.total_seconds() / 3600, 1),
                    stale=age > stale_after,
                    entities=int(row.entity_count),
                    warnings=[str(w) for w in row.warnings],
                )
            )
    return out


@dataclass(frozen=True)
class SnapshotSummary:
    """One snapshot of a source and the delta that made it (from ``delta_from``)."""

    id: int
    source: str
    format: str
    version: str | None
    sha256: str
    loaded_at: datetime
    files: list[str]
    entities: int
    names: int
    addresses: int
    invalid_addresses: int
    warnings: list[str]
    active: bool
    delta_from: int | None
    delta: dict[str, int]  # added / removed / changed counts


def snapshot_history(ctx: Context, source: str) -> list[SnapshotSummary]:
    """The snapshots of ``source``, newest first (``NotFound`` when none was loaded)."""
    with ctx.db.connect() as conn:
        rows = snapshot_repo.snapshots_of(conn, source)
        active_id = snapshot_repo.active_snapshot_id(conn, source)
    if not rows:
        raise NotFound(f"source {source!r}: no snapshots loaded")
    return [
        SnapshotSummary(
            id=int(r.id),
            source=r.source,
            format=r.format,
            version=r.version,
            sha256=r.sha256,
            loaded_at=_aware_utc(r.loaded_at),
            files=[str(f) for f in r.files],
            entities=int(r.entity_count),
            names=int(r.name_count),
            addresses=int(r.address_count),
            invalid_addresses=int(r.invalid_address_count),
            warnings=[str(w) for w in r.warnings],
            active=int(r.id) == active_id,
            delta_from=r.stats.get("delta_from"),
            delta={k: int(v) for k, v in (r.stats.get("delta") or {}).items()},
        )
        for r in reversed(rows)
    ]


def snapshot_delta(ctx: Context, source: str, snapshot_id: int) -> Delta:
    """The delta that made ``snapshot_id`` (against the snapshot it replaced; the first
    snapshot of a source adds everything)."""
    found = {s.id: s for s in snapshot_history(ctx, source)}
    if snapshot_id not in found:
        raise NotFound(f"snapshot {snapshot_id} is not a snapshot of {source!r}")
    return snapshots.diff(ctx.db, source, found[snapshot_id].delta_from, snapshot_id)


@dataclass(frozen=True)
class EntityLink:
    """A relation (FtM ``Ownership``, ``Directorship`` …) of an entity to another party of
    the same snapshot."""

    relation: str  # the relation's schema
    role: str  # what the other party is to the entity: owner, owned, director …
    other_id: str
    other_caption: str | None  # None when the other party is not in the snapshot
    details: dict[str, list[str]]  # the relation's own properties: percentage, dates …


@dataclass(frozen=True)
class EntityView:
    """One listed entity in full: its FtM data parsed (names with their scripts, wallets),
    the snapshot it was read from and its relations."""

    snapshot_id: int
    source: str
    active: bool  # read from the source's active snapshot
    entity: Entity
    data: dict[str, Any]  # the FtM object as stored
    links: list[EntityLink]


def entity(ctx: Context, entity_id: str) -> EntityView:
    """A listed entity by id: from the active snapshot holding it, else from the newest
    snapshot that held it (a removed entity). ``NotFound`` when no snapshot has it."""
    with ctx.db.connect() as conn:
        active_ids = {int(r.id) for r in snapshot_repo.active(conn)}
        held = [
            int(i)
            for i in conn.execute(
                sa.select(entity_table.c.snapshot_id)
                .where(entity_table.c.entity_id == entity_id)
                .order_by(entity_table.c.snapshot_id.desc())
            ).scalars()
        ]
        if not held:
            raise NotFound(f"entity {entity_id!r} is not in any loaded list")
        chosen = next((i for i in held if i in active_ids), held[0])
        snap = snapshot_repo.get_snapshot(conn, chosen)
        assert snap is not None
        data = snapshot_repo.entity_data(conn, chosen, [entity_id])[entity_id]
        links = _links(conn, chosen, entity_id)
    return EntityView(
        snapshot_id=chosen,
        source=snap.source,
        active=chosen in active_ids,
        entity=Entity.from_ftm(data, source=snap.source),
        data=data,
        links=links,
    )


def _links(conn: sa.Connection, snapshot_id: int, entity_id: str) -> list[EntityLink]:
    """The relations of the snapshot naming ``entity_id``, and the captions of the other side."""
    needle = json.dumps(entity_id)  # as the id appears in the stored JSON
    rows = conn.execute(
        sa.select(entity_table.c.data).where(
            entity_table.c.snapshot_id == snapshot_id,
            entity_table.c.schema.in_(sorted(RELATION_SCHEMAS)),
            sa.cast(entity_table.c.data, sa.Text).contains(needle, autoescape=True),
        )
    ).scalars()
    found: list[tuple[str, str, str, dict[str, list[str]]]] = []
    for data in rows:
        props: dict[str, list[str]] = {
            k: [str(v) for v in (vs if isinstance(vs, list) else [vs])]
            for k, vs in (data.get("properties") or {}).items()
        }
        ends = {k: v for k, v in props.items() if k in _RELATION_ROLES}
        if not any(entity_id in v for v in ends.values()):
            continue
        details = {k: v for k, v in props.items() if k not in _RELATION_ROLES}
        for prop, values in ends.items():
            for other in values:
                if other != entity_id:
                    found.append((str(data.get("schema")), _RELATION_ROLES[prop], other, details))
    names = snapshot_repo.entity_data(conn, snapshot_id, {f[2] for f in found})
    return [
        EntityLink(
            relation=schema,
            role=role,
            other_id=other,
            other_caption=(names[other].get("caption") or other) if other in names else None,
            details=details,
        )
        for schema, role, other, details in found
    ]
