"""Name screening: one name, a CSV of names, the stored customers, and re-screening when a list
changes.

Persons are screened by their Latin name and their katakana reading (a kanji name is read
through its reading: kanji alone says nothing about how a foreign name sounds); companies by
their legal name (whose Japanese words are also translated) and their reading. Matches are
stored; a new list snapshot re-screens every customer against the added and changed entries
only, and retires matches to entries that were removed or no longer match.

With no list snapshot active there is nothing to screen against: every screening raises
``Unavailable`` rather than answer "no match".
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace.customer_dates import parse_customer_date
from sanctrace.errors import BadRequest, Unavailable
from sanctrace.lists.snapshots import Delta
from sanctrace.model import Match, NameQuery
from sanctrace.names import Screener
from sanctrace.services._bulk_csv import read_queries, write_matches
from sanctrace.services._bulk_jobs import screen_all
from sanctrace.services._list_views import staleness_notice
from sanctrace.services._name_index import index_cache, open_or_build, remember_data_dir
from sanctrace.services._snapshot_cache import active_snapshot_ids
from sanctrace.services.context import Context
from sanctrace.store import Database
from sanctrace.store.snapshots import now
from sanctrace.store.tables import customer_names, customers, screening_matches

__all__ = [
    "NO_LISTS",
    "BulkAnswer",
    "BulkRequest",
    "IndexInfo",
    "NameAnswer",
    "NameScreenRequest",
    "ScreeningRun",
    "build_screener",
    "customer_queries",
    "open_matches",
    "prepare_index",
    "rescreen_delta",
    "retire_matches",
    "retired_matches",
    "screen_customers",
    "screen_name",
    "screen_names",
    "screen_stored_customers",
    "shared_screener",
]

NO_LISTS = "no sanctions list loaded; load one with: sanctrace lists load PATH"
MAX_NAME = 500
MAX_TOP = 50
MAX_IDENTIFIERS = 20

SCHEMAS = {"person": "Person", "company": "Company"}


@dataclass
class ScreeningRun:
    """What one screening pass over the stored customers did."""

    customers: int = 0
    matches: int = 0
    new: int = 0
    retired: int = 0
    by_customer: dict[str, list[Match]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, int]:
        """The ``screen customers --json`` object."""
        return {"customers": self.customers, "matches": self.matches, "new": self.new}


@dataclass(frozen=True, kw_only=True)
class NameScreenRequest:
    """One name to screen, with its optional evidence; validated on creation."""

    name: str
    schema: str | None = None
    birth_date: str | None = None
    country: str | None = None
    name_kana: str | None = None
    identifiers: tuple[str, ...] = ()
    top: int = 5
    threshold: float | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise BadRequest("name: must not be empty")
        if len(self.name) > MAX_NAME:
            raise BadRequest(f"name: at most {MAX_NAME} characters")
        if not 1 <= self.top <= MAX_TOP:
            raise BadRequest(f"top: must be between 1 and {MAX_TOP}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise BadRequest("threshold: must be between 0 and 1")
        if len(self.identifiers) > MAX_IDENTIFIERS:
            raise BadRequest(f"identifiers: at most {MAX_IDENTIFIERS}")
        if self.birth_date is not None:  # 昭和63年5月5日, S63.5.5 … become ISO, or are refused
            object.__setattr__(self, "birth_date", parse_customer_date(self.birth_date))

    def query(self) -> NameQuery:
        """The engine's query for this request."""
        return NameQuery(
            name=self.name,
            schema=self.schema,
            birth_date=self.birth_date,
            country=self.country,
            name_kana=self.name_kana,
            identifiers=tuple(self.identifiers),
        )


@dataclass(frozen=True)
class NameAnswer:
    """The matches of one name, the threshold applied and the snapshots screened against."""

    query: str
    threshold: float
    snapshots: dict[str, int]
    matches: list[Match]
    warnings: list[str] = field(default_factory=list)  # stale lists (English / Japanese)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``screen name --json`` and ``POST /v1/screen/name``."""
        return {
            "query": self.query,
            "threshold": self.threshold,
            "snapshots": dict(self.snapshots),
            "matches": [asdict(m) for m in self.matches],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, kw_only=True)
class BulkRequest:
    """A CSV of names to screen (docs/cli.md has its columns) and where the matches go."""

    input: Path
    output: Path
    top: int = 5
    threshold: float | None = None
    jobs: int | None = None  # processes; None: every core

    def __post_init__(self) -> None:
        if self.jobs is not None and self.jobs < 1:
            raise BadRequest("jobs: must be at least 1")
        if not 1 <= self.top <= MAX_TOP:
            raise BadRequest(f"top: must be between 1 and {MAX_TOP}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise BadRequest("threshold: must be between 0 and 1")


@dataclass(frozen=True)
class BulkAnswer:
    """What screening a CSV of names did."""

    names: int
    matches: int
    output: Path
    snapshots: dict[str, int]


def shared_screener(ctx: Context, wait: bool = False) -> tuple[Screener, dict[str, int]]:
    """The screener over this process's shared index and the snapshot ids it covers: the
    active ones, or the previous ones while a new index is built in the background (``wait``:
    the active ones, opened or built first). ``Unavailable`` when no list is active."""
    remember_data_dir(ctx.db, ctx.settings.data_dir)
    loaded = index_cache(ctx.db, ctx.settings.data_dir).get(wait=wait)
    if loaded.data is None:
        raise Unavailable(NO_LISTS)
    return Screener(data=loaded.data), loaded.snapshots


_screener = shared_screener


@dataclass(frozen=True)
class IndexInfo:
    """The name index of the active snapshots: where it lives and what it holds."""

    folder: Path | None  # None: kept in memory (the data folder cannot be written)
    snapshots: dict[str, int]
    entries: int
    names: int
    seconds: float  # to open or build it in this call

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``screen index --json``."""
        return {
            "folder": str(self.folder) if self.folder else None,
            "snapshots": dict(self.snapshots),
            "entries": self.entries,
            "names": self.names,
            "seconds": round(self.seconds, 3),
        }


def prepare_index(ctx: Context) -> IndexInfo:
    """Build or open the index of the active snapshots now, and make it the one this process
    answers with (after a list load; before a server listens). With no list active there is
    no index: no folder, no snapshots (screening then answers ``Unavailable``)."""
    start = time.perf_counter()
    remember_data_dir(ctx.db, ctx.settings.data_dir)
    loaded = index_cache(ctx.db, ctx.settings.data_dir).get(wait=True)
    data = loaded.data
    if data is None:
        return IndexInfo(None, {}, 0, 0, time.perf_counter() - start)
    return IndexInfo(
        data.folder,
        loaded.snapshots,
        len(data.entries),
        len(data.names),
        time.perf_counter() - start,
    )


def screen_name(ctx: Context, request: NameScreenRequest) -> NameAnswer:
    """Screen one name against the active lists."""
    screener, snapshots = _screener(ctx)
    matches = screener.screen(request.query(), top=request.top, threshold=request.threshold)
    threshold = request.threshold
    if threshold is None:
        threshold = screener.threshold_for(request.schema)
    return NameAnswer(
        query=request.name,
        threshold=threshold,
        snapshots=snapshots,
        matches=matches,
        warnings=staleness_notice(ctx),
    )


def screen_names(
    ctx: Context, request: BulkRequest, progress: Callable[[int], None] | None = None
) -> BulkAnswer:
    """Screen every name of a CSV; one output row per match, written atomically.

    ``request.jobs`` processes share the mapped index; the output is the same for any number."""
    queries = read_queries(request.input)
    screener, snapshots = _screener(ctx)
    found = screen_all(
        screener, queries, request.top, request.threshold, jobs=request.jobs, progress=progress
    )
    written = write_matches(request.output, list(zip(queries, found, strict=True)))
    return BulkAnswer(
        names=len(queries), matches=written, output=request.output, snapshots=snapshots
    )


def screen_stored_customers(
    ctx: Context, progress: Callable[[int], None] | None = None
) -> ScreeningRun:
    """Screen every stored customer against the active lists and store the matches."""
    screener, _ = _screener(ctx)
    return screen_customers(ctx.db, screener, progress=progress)


def build_screener(
    db: Database, snapshots: Mapping[str, int] | None = None, **options: Any
) -> Screener:
    """A screener over every party of the active list snapshots, or of ``snapshots``
    ({source: snapshot id}, a stored decision's: ``cases.replay``), through the persisted
    index (opened when it exists, built and saved otherwise)."""
    active = active_snapshot_ids(db)
    if snapshots is None:
        snapshots = active
    cache = index_cache(db)
    current = cache.current
    if current is not None and current.snapshots == dict(snapshots):
        data = current.data
    elif snapshots:
        # A replay's older snapshots get their folder too, without pruning the active one.
        data = open_or_build(db, cache.data_dir, snapshots, prune=dict(snapshots) == active)
    else:
        data = None
    if data is None:
        return Screener(**options)
    return Screener(data=data, **options)


def customer_queries(db: Database, ids: Iterable[str] | None = None) -> list[NameQuery]:
    """One query per customer from the names the exchange holds."""
    names: dict[str, dict[str, str]] = defaultdict(dict)
    with db.connect() as conn:
        for cid, kind, name in conn.execute(
            sa.select(customer_names.c.customer_id, customer_names.c.kind, customer_names.c.name)
        ):
            names[cid].setdefault(kind, name)
        rows = list(
            conn.execute(
                sa.select(
                    customers.c.id,
                    customers.c.kind,
                    customers.c.birth_date,
                    customers.c.nationality,
                    customers.c.country,
                )
            )
        )
    wanted = set(ids) if ids is not None else None
    queries: list[NameQuery] = []
    for cid, kind, birth, nationality, country in rows:
        if wanted is not None and cid not in wanted:
            continue
        held = names.get(cid, {})
        reading = held.get("reading")
        if kind == "person":
            main = held.get("latin") or held.get("alias") or reading
        else:
            main = held.get("legal") or held.get("latin") or reading
        if not main:
            continue
        queries.append(
            NameQuery(
                name=main,
                schema=SCHEMAS.get(kind),
                birth_date=birth,
                country=nationality or country,
                name_kana=reading if reading != main else None,
                id=cid,
            )
        )
    return queries


def screen_customers(
    db: Database,
    screener: Screener,
    only: set[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ScreeningRun:
    """Screen every stored customer; store new matches and refresh known ones."""
    run = ScreeningRun()
    for query in customer_queries(db):
        run.customers += 1
        matches = screener.screen(query, top=5, only=only)
        if matches and query.id is not None:
            run.by_customer[query.id] = matches
            run.matches += len(matches)
        if progress:
            progress(1)
    with db.begin() as conn:
        run.new = _store(conn, run.by_customer)
    return run


def retire_matches(db: Database, delta: Delta, run: ScreeningRun) -> int:
    """Retire the open matches of entries the delta removed, and of changed entries that no
    longer match in ``run``; how many (none on a second pass)."""
    still = {(cid, m.entity_id) for cid, ms in run.by_customer.items() for m in ms}
    retired = 0
    with db.begin() as conn:
        open_rows = conn.execute(
            sa.select(
                screening_matches.c.id,
                screening_matches.c.customer_id,
                screening_matches.c.entity_id,
            ).where(screening_matches.c.status == "open")
        ).all()
        for row_id, cid, entity_id in open_rows:
            reason = None
            if entity_id in delta.removed:
                reason = f"removed from {delta.source} in snapshot {delta.new_snapshot}"
            elif entity_id in delta.changed and (cid, entity_id) not in still:
                reason = f"no longer matches after the change in snapshot {delta.new_snapshot}"
            if reason:
                conn.execute(
                    screening_matches.update()
                    .where(screening_matches.c.id == row_id)
                    .values(status="retired", retired_reason=reason, updated_at=now())
                )
                retired += 1
    return retired


def rescreen_delta(db: Database, delta: Delta, screener: Screener | None = None) -> ScreeningRun:
    """Screen customers against the added and changed entries of a delta; retire the rest."""
    screener = screener or build_screener(db)
    touched = set(delta.added) | set(delta.changed)
    run = screen_customers(db, screener, only=touched) if touched else ScreeningRun()
    run.retired += retire_matches(db, delta, run)
    return run


def _store(conn: sa.Connection, found: dict[str, list[Match]]) -> int:
    """Insert new open matches, refresh open ones; returns how many are new."""
    existing = {
        (cid, eid): row_id
        for row_id, cid, eid in conn.execute(
            sa.select(
                screening_matches.c.id,
                screening_matches.c.customer_id,
                screening_matches.c.entity_id,
            ).where(screening_matches.c.status == "open")
        )
    }
    fresh = 0
    stamp = now()
    for cid, matches in found.items():
        for m in matches:
            values = {
                "source": m.source,
                "snapshot_id": m.snapshot_id,
                "score": m.score,
                "query_name": m.query_name,
                "matched_name": m.matched_name,
                "explanation": m.explanation,
                "updated_at": stamp,
            }
            row_id = existing.get((cid, m.entity_id))
            if row_id is None:
                conn.execute(
                    screening_matches.insert().values(
                        customer_id=cid,
                        entity_id=m.entity_id,
                        status="open",
                        created_at=stamp,
                        **values,
                    )
                )
                fresh += 1
            else:
                conn.execute(
                    screening_matches.update()
                    .where(screening_matches.c.id == row_id)
                    .values(**values)
                )
    return fresh


def open_matches(db: Database) -> list[sa.Row]:
    """Every open customer match, best score first."""
    with db.connect() as conn:
        return list(
            conn.execute(
                sa.select(screening_matches)
                .where(screening_matches.c.status == "open")
                .order_by(screening_matches.c.score.desc(), screening_matches.c.customer_id)
            )
        )


def retired_matches(db: Database) -> list[sa.Row]:
    """Matches retired by list changes, newest first."""
    with db.connect() as conn:
        return list(
            conn.execute(
                sa.select(screening_matches)
                .where(screening_matches.c.status == "retired")
                .order_by(screening_matches.c.updated_at.desc(), screening_matches.c.id)
            )
        )
