"""The lists as an analyst and the console see them: freshness (per-source maximum ages,
the stale warnings that go on screening answers), a source's snapshots and activations, the
warnings of the last load. Re-exported by ``services.lists``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sanctrace.errors import NotFound
from sanctrace.lists import snapshots
from sanctrace.lists.fetch import max_ages
from sanctrace.lists.snapshots import Delta
from sanctrace.services.context import Context
from sanctrace.store import snapshots as snapshot_repo
from sanctrace.store.tables import fetches as fetch_log

__all__ = [
    "STALE_AFTER",
    "SnapshotSummary",
    "SourceFreshness",
    "WarningsAnswer",
    "freshness",
    "load_warnings",
    "snapshot_delta",
    "snapshot_history",
    "stale_warnings",
]

# The default maximum age (``[max_age_hours] default`` in lists/sources.toml): a source not
# checked for this long is stale, since the official lists change without notice and a
# screening on an old list misses the new designations. Checked: the active snapshot loaded, or
# a fetch of the source answered 200 or 304 (unchanged) after that.
STALE_AFTER = timedelta(hours=48)


def _aware_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class SourceFreshness:
    """One active source: when it was last checked, its age, its maximum age, whether it is
    stale."""

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
    max_age_hours: float = STALE_AFTER.total_seconds() / 3600
    published: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["loaded_at"] = self.loaded_at.isoformat()
        data["checked_at"] = self.checked_at.isoformat()
        data["warnings"] = len(self.warnings)
        return data


def freshness(
    ctx: Context, at: datetime | None = None, stale_after: timedelta | None = None
) -> list[SourceFreshness]:
    """Every source with an active snapshot, by name, with its age at ``at`` (default now)
    against its maximum age (``[max_age_hours]`` of lists/sources.toml and $SANCTRACE_SOURCES;
    ``stale_after`` instead, for every source, when given)."""
    moment = _aware_utc(at or datetime.now(UTC))
    limits = max_ages(ctx.settings.sources)
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
            limit = stale_after or timedelta(hours=limits.get(row.source, limits["default"]))
            out.append(
                SourceFreshness(
                    source=row.source,
                    snapshot_id=int(row.id),
                    version=row.version,
                    format=row.format,
                    loaded_at=loaded,
                    checked_at=checked,
                    age_hours=round(age.total_seconds() / 3600, 1),
                    stale=age > limit,
                    entities=int(row.entity_count),
                    warnings=[str(w) for w in row.warnings],
                    max_age_hours=limit.total_seconds() / 3600,
                    published=row.published,
                )
            )
    return out


def _stale_text(item: SourceFreshness, lang: str) -> str:
    age, limit = round(item.age_hours), round(item.max_age_hours)
    if lang == "ja":
        return (
            f"{item.source}: リストが古くなっています。最終確認から{age}時間経過"
            f"（上限{limit}時間）。新たな指定を見落とすおそれがあります"
        )
    return (
        f"{item.source}: the list is stale: last checked {age} hours ago (maximum {limit} "
        "hours); new designations may be missed"
    )


def stale_warnings(ctx: Context, lang: str | None = None, at: datetime | None = None) -> list[str]:
    """One warning per stale source, for screening answers and readiness: English (``lang``
    "en"), Japanese ("ja"), or both joined by " / " (None, the default)."""
    out = []
    for item in freshness(ctx, at=at):
        if not item.stale:
            continue
        if lang in ("en", "ja"):
            out.append(_stale_text(item, lang))
        else:
            out.append(f"{_stale_text(item, 'en')} / {_stale_text(item, 'ja')}")
    return out


_NOTICE_SECONDS = 30.0
_notices: dict[int, tuple[float, list[str]]] = {}


def staleness_notice(ctx: Context) -> list[str]:
    """``stale_warnings(ctx)`` read at most every 30 seconds per database: what every
    screening answer carries (one query per request would cost the hot path)."""
    import time

    now = time.monotonic()
    key = id(ctx.db)
    cached = _notices.get(key)
    if cached is not None and now - cached[0] < _NOTICE_SECONDS:
        return list(cached[1])
    found = stale_warnings(ctx)
    _notices[key] = (now, found)
    return list(found)


@dataclass(frozen=True)
class WarningsAnswer:
    """The warnings kept from the load of a source's active snapshot."""

    source: str
    snapshot_id: int
    version: str | None
    loaded_at: datetime
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "snapshot_id": self.snapshot_id,
            "version": self.version,
            "loaded_at": self.loaded_at.isoformat(),
            "warnings": list(self.warnings),
        }


def load_warnings(ctx: Context, source: str) -> WarningsAnswer:
    """The warnings of the load that made ``source``'s active snapshot (the first
    ``lists.snapshots.MAX_STORED_WARNINGS`` of them)."""
    with ctx.db.connect() as conn:
        active_id = snapshot_repo.active_snapshot_id(conn, source)
        row = snapshot_repo.get_snapshot(conn, active_id) if active_id is not None else None
    if row is None:
        raise NotFound(f"source {source!r}: no active snapshot (see: sanctrace lists status)")
    return WarningsAnswer(
        source=source,
        snapshot_id=int(row.id),
        version=row.version,
        loaded_at=_aware_utc(row.loaded_at),
        warnings=[str(w) for w in row.warnings],
    )


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
    published: str | None = None


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
            published=r.published,
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
