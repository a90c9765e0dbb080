"""Sanctions lists: load files, fetch from the official addresses, status and deltas.

Every new snapshot, whichever way it came in, re-screens the stored customers against its
added and changed entries (``services.names.rescreen_delta``), so a list change never waits
for a separate command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import httpx

from sanctrace.errors import BadRequest
from sanctrace.lists import fetch as fetching
from sanctrace.lists import snapshots
from sanctrace.lists.snapshots import Delta, LoadResult, SourceStatus
from sanctrace.services.context import Context
from sanctrace.services.lookback import LookbackAnswer, after_loads
from sanctrace.services.names import ScreeningRun, build_screener, rescreen_delta
from sanctrace.store import customers as customer_repo

__all__ = [
    "FetchAnswer",
    "FetchRequest",
    "LoadAnswer",
    "LoadRequest",
    "StatusAnswer",
    "diff",
    "fetch",
    "load",
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
