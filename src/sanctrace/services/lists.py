"""Sanctions lists: load files, fetch from the official addresses, status, deltas, rollback.

Every switch of a source's active snapshot, whichever way it came in (a load, a fetch, a
re-load, ``lists activate``), writes a re-screen job in its own transaction; the job runs
after the commit (``resume_rescreens``: the stored customers against the added and changed
entries, then the lookback) and is marked done at the end. Unfinished jobs, left by a process
that died, run at the next load, at ``lists status`` and when ``serve`` starts. Loads of one
source are serialised and monotonic (``lists.snapshots.load_set``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx

from sanctrace.errors import BadRequest, NotFound
from sanctrace.lists import fetch as fetching
from sanctrace.lists import snapshots
from sanctrace.lists.snapshots import Delta, LoadResult, SourceStatus
from sanctrace.services._list_entities import (
    RELATION_SCHEMAS,
    DeltaEntry,
    DeltaView,
    EntityLink,
    EntityView,
    delta_view,
    entity,
)
from sanctrace.services._list_views import (
    STALE_AFTER,
    SnapshotSummary,
    SourceFreshness,
    WarningsAnswer,
    freshness,
    load_warnings,
    snapshot_delta,
    snapshot_history,
    stale_warnings,
    staleness_notice,
)
from sanctrace.services._rescreen import RescreenAnswer, Step, resume_rescreens
from sanctrace.services.context import Context
from sanctrace.services.lookback import LookbackAnswer
from sanctrace.services.names import ScreeningRun
from sanctrace.store import audit as audit_repo
from sanctrace.store import snapshots as snapshot_repo

__all__ = [
    "RELATION_SCHEMAS",
    "STALE_AFTER",
    "ActivateAnswer",
    "ActivateRequest",
    "DeltaEntry",
    "DeltaView",
    "EntityLink",
    "EntityView",
    "FetchAnswer",
    "FetchRequest",
    "LoadAnswer",
    "LoadRequest",
    "RescreenAnswer",
    "SnapshotSummary",
    "SourceFreshness",
    "StatusAnswer",
    "WarningsAnswer",
    "activate",
    "delta_view",
    "diff",
    "entity",
    "fetch",
    "freshness",
    "load",
    "load_warnings",
    "resume_rescreens",
    "snapshot_delta",
    "snapshot_history",
    "stale_warnings",
    "staleness_notice",
    "status",
]


@dataclass(frozen=True, kw_only=True)
class LoadRequest:
    """List files or folders to load; source and format are found when absent."""

    paths: tuple[Path, ...]
    source: str | None = None
    format: str | None = None
    # The version (ideally the publication date, YYYY-MM-DD) of files that print none.
    version: str | None = None
    # Load a file published before the active snapshot (a deliberate step back).
    allow_older: bool = False

    def __post_init__(self) -> None:
        if not self.paths:
            raise BadRequest("paths: name at least one list file or folder")
        if self.version is not None and not (0 < len(self.version.strip()) <= 64):
            raise BadRequest("--version: give 1 to 64 characters, e.g. 2024-05-03")


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
    """The active snapshot of each source, with its counts, age and staleness."""

    sources: dict[str, SourceStatus] = field(default_factory=dict)
    fresh: list[SourceFreshness] = field(default_factory=list)

    def freshness_of(self, source: str) -> SourceFreshness | None:
        return next((f for f in self.fresh if f.source == source), None)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The ``lists status --json`` and ``GET /v1/lists`` object."""
        out = {}
        for source, info in self.sources.items():
            item = info.to_dict()
            age = self.freshness_of(source)
            if age is not None:
                item["freshness"] = {
                    "checked_at": age.checked_at.isoformat(),
                    "age_hours": age.age_hours,
                    "max_age_hours": age.max_age_hours,
                    "stale": age.stale,
                }
            out[source] = item
        return out


def load(
    ctx: Context,
    request: LoadRequest,
    progress: Callable[[int], None] | None = None,
    step: Step | None = None,
) -> list[LoadAnswer]:
    """Load files as snapshots, one per format and source found, then run the re-screens the
    new snapshots owe (and any a killed process left). ``step`` hears the stages: ``loaded``
    once the loads committed, then those of ``resume_rescreens``."""
    resume_rescreens(ctx, step)
    results = snapshots.load_lists(
        ctx.db,
        request.paths,
        source=request.source,
        fmt=request.format,
        progress=progress,
        version=request.version,
        allow_older=request.allow_older,
    )
    if step:
        step("loaded")
    return _answers(ctx, results, step)


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


def status(ctx: Context, resume: bool = False) -> StatusAnswer:
    """The active snapshot of each source, with counts; ``resume`` first runs the re-screens
    a killed process left (``lists status`` does)."""
    if resume:
        resume_rescreens(ctx)
    return StatusAnswer(snapshots.source_status(ctx.db), freshness(ctx))


@dataclass(frozen=True, kw_only=True)
class ActivateRequest:
    """Make an earlier (or later) snapshot of its source active again: a deliberate rollback."""

    snapshot_id: int
    actor: str = "cli"
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.snapshot_id < 1:
            raise BadRequest("SNAPSHOT_ID: a snapshot id from: sanctrace lists status")
        if not self.actor.strip() or len(self.actor) > 64:
            raise BadRequest("actor: 1 to 64 characters")


@dataclass
class ActivateAnswer:
    """The switch ``activate`` made, and the re-screen it caused."""

    source: str
    snapshot_id: int
    previous_id: int | None
    changed: bool  # False when the snapshot was active already
    rescreen: RescreenAnswer | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "snapshot_id": self.snapshot_id,
            "previous_id": self.previous_id,
            "changed": self.changed,
            "rescreen": None if self.rescreen is None else self.rescreen.to_dict(),
        }


def activate(ctx: Context, request: ActivateRequest, step: Step | None = None) -> ActivateAnswer:
    """Activate ``request.snapshot_id`` under its source's load lock, recorded as a rollback
    (activation history and audit trail); the customers are re-screened against the change."""
    with ctx.db.connect() as conn:
        row = snapshot_repo.get_snapshot(conn, request.snapshot_id)
    if row is None:
        raise NotFound(
            f"snapshot {request.snapshot_id} is not loaded (see: sanctrace lists status)"
        )
    source = row.source
    with snapshot_repo.source_transaction(ctx.db.engine, source) as conn:
        previous = snapshot_repo.active_snapshot_id(conn, source)
        if previous == row.id:
            return ActivateAnswer(source, int(row.id), previous, changed=False)
        snapshot_repo.record_activation(
            conn,
            source,
            int(row.id),
            previous,
            reason="rollback",
            actor=request.actor,
            note=request.reason,
        )
        snapshot_repo.add_rescreen_job(conn, source, previous, int(row.id))
        audit_repo.record(
            conn,
            actor=request.actor,
            action="lists.activate",
            object_type="list_source",
            object_id=source,
            before={"snapshot_id": previous},
            after={"snapshot_id": int(row.id), "version": row.version, "published": row.published},
            reason=request.reason,
        )
    runs = resume_rescreens(ctx, step)
    run = next((r for r in runs if r.source == source), None)
    return ActivateAnswer(source, int(row.id), previous, changed=True, rescreen=run)


def _answers(
    ctx: Context, results: Sequence[LoadResult], step: Step | None = None
) -> list[LoadAnswer]:
    """The load answers, with the re-screen and lookback of each snapshot that became active."""
    switched = [r for r in results if r.created or r.reactivated]
    runs = resume_rescreens(ctx, step) if switched else []
    by_snapshot = {r.new_snapshot: r for r in runs if r.new_snapshot is not None}
    answers = []
    for r in results:
        run = by_snapshot.get(r.snapshot_id) if (r.created or r.reactivated) else None
        answers.append(LoadAnswer.of(r, run.run if run else None, run.lookback if run else None))
    return answers
