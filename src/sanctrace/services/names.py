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

import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace.errors import BadRequest, Unavailable
from sanctrace.lists.snapshots import Delta, active_entities
from sanctrace.model import Match, NameQuery
from sanctrace.names import Screener
from sanctrace.services._bulk_csv import read_queries, write_matches
from sanctrace.services._snapshot_cache import SnapshotCache
from sanctrace.services.context import Context
from sanctrace.store import Database
from sanctrace.store.snapshots import now
from sanctrace.store.tables import customer_names, customers, screening_matches

__all__ = [
    "NO_LISTS",
    "BulkAnswer",
    "BulkRequest",
    "NameAnswer",
    "NameScreenRequest",
    "ScreeningRun",
    "build_screener",
    "customer_queries",
    "open_matches",
    "rescreen_delta",
    "retired_matches",
    "screen_customers",
    "screen_name",
    "screen_names",
    "screen_stored_customers",
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

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``screen name --json`` and ``POST /v1/screen/name``."""
        return {
            "query": self.query,
            "threshold": self.threshold,
            "snapshots": dict(self.snapshots),
            "matches": [asdict(m) for m in self.matches],
        }


@dataclass(frozen=True, kw_only=True)
class BulkRequest:
    """A CSV of names to screen (docs/cli.md has its columns) and where the matches go."""

    input: Path
    output: Path
    top: int = 5
    threshold: float | None = None

    def __post_init__(self) -> None:
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


# One screener cache per context: the CLI builds once, the API reuses it across requests.
_caches: weakref.WeakKeyDictionary[Context, SnapshotCache[Screener]] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _screener(ctx: Context) -> tuple[Screener, dict[str, int]]:
    """The screener over the active snapshots and their ids; ``Unavailable`` when none."""
    with _caches_lock:
        cache = _caches.get(ctx)
        if cache is None:
            cache = _caches[ctx] = SnapshotCache(ctx.db, build_screener)
    screener, snapshots = cache.get()
    if not snapshots:
        raise Unavailable(NO_LISTS)
    return screener, snapshots


def screen_name(ctx: Context, request: NameScreenRequest) -> NameAnswer:
    """Screen one name against the active lists."""
    screener, snapshots = _screener(ctx)
    matches = screener.screen(request.query(), top=request.top, threshold=request.threshold)
    threshold = request.threshold
    if threshold is None:
        threshold = screener.threshold_for(request.schema)
    return NameAnswer(query=request.name, threshold=threshold, snapshots=snapshots, matches=matches)


def screen_names(
    ctx: Context, request: BulkRequest, progress: Callable[[int], None] | None = None
) -> BulkAnswer:
    """Screen every name of a CSV; one output row per match, written atomically."""
    queries = read_queries(request.input)
    screener, snapshots = _screener(ctx)
    rows = []
    for query in queries:
        rows.append((query, screener.screen(query, top=request.top, threshold=request.threshold)))
        if progress:
            progress(1)
    written = write_matches(request.output, rows)
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
    ({source: snapshot id}, a stored decision's: ``cases.replay``)."""
    screener = Screener(**options)
    ids = None if snapshots is None else set(snapshots.values())
    for snapshot_id, entity in active_entities(db, snapshot_ids=ids):
        screener.add(entity, snapshot_id)
    screener.freeze()
    return screener


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


def rescreen_delta(db: Database, delta: Delta, screener: Screener | None = None) -> ScreeningRun:
    """Screen customers against the added and changed entries of a delta; retire the rest."""
    screener = screener or build_screener(db)
    touched = set(delta.added) | set(delta.changed)
    run = screen_customers(db, screener, only=touched) if touched else ScreeningRun()
    still = {(cid, m.entity_id) for cid, ms in run.by_customer.items() for m in ms}
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
                run.retired += 1
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
