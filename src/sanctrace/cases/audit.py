"""The audit trail: an append-only, hash-chained log of every action and decision.

Each record stores the hash of the record before it (``prev_hash``; the first record's is 64
zeros) and its own ``hash``: SHA-256 over ``prev_hash`` and the record's canonical content
(``canonical``: sorted keys, no spaces, UTF-8, times in ISO 8601 UTC). Changing, deleting or
inserting a row behind the service's back breaks the chain at that row. The service never
updates or deletes a record; a purge under a retention policy blanks a record's content and
keeps its hashes (``purged``), so the chain still verifies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace.errors import BadRequest, Conflict, NotFound
from sanctrace.services.context import Context

# The chain's append and hashing live in storage, so every transaction can audit itself.
from sanctrace.store.audit import (
    CONTENT,
    GENESIS,
    canonical,
    lock_chain,
    record,
    record_hash,
)
from sanctrace.store.audit import iso_utc as _iso
from sanctrace.store.snapshots import now
from sanctrace.store.tables import audit_log, legal_holds

__all__ = [
    "DEFAULT_RETENTION",
    "GENESIS",
    "AuditQuery",
    "Failure",
    "LegalHold",
    "PurgeAnswer",
    "Retention",
    "RetentionPolicy",
    "VerifyAnswer",
    "canonical",
    "end_relationship",
    "export",
    "export_lines",
    "grant_statements",
    "legal_hold",
    "legal_holds_list",
    "list_records",
    "purge",
    "record",
    "record_dict",
    "record_hash",
    "release_legal_hold",
    "verify",
]


def content_of(row: Any) -> dict[str, Any]:
    """The hashed content of a stored row."""
    return {k: getattr(row, k) for k in CONTENT}


def record_dict(row: Any) -> dict[str, Any]:
    """One record as JSON (``audit export``, ``GET /v1/audit``), with its hashes."""
    data = content_of(row)
    data["time"] = _iso(row.time)
    return {
        "id": int(row.id),
        **data,
        "purged": bool(row.purged),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def _rows(conn: sa.Connection, query: sa.Select, page: int = 2000) -> Iterator[Any]:
    """The rows of ``query`` in id order, a page at a time (keyset paging: constant memory)."""
    after = 0
    while True:
        rows = conn.execute(
            query.where(audit_log.c.id > after).order_by(audit_log.c.id).limit(page)
        ).all()
        yield from rows
        if len(rows) < page:
            return
        after = int(rows[-1].id)


def _moment(value: date | datetime | str | None, *, end: bool = False) -> datetime | None:
    """A bound as an aware datetime: a date is its whole day (UTC), ``end`` the next day."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            raise BadRequest(f"{value!r}: not an ISO date or date-time") from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    start = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


MAX_LIMIT = 1000  # records per page of GET /v1/audit


@dataclass(frozen=True)
class AuditQuery:
    """Filters of ``GET /v1/audit``: each one narrows; ``until`` is exclusive (a date: that
    whole day included)."""

    actor: str | None = None
    action: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    record_type: str | None = None
    since: date | datetime | str | None = None
    until: date | datetime | str | None = None
    after_id: int = 0
    limit: int = 100

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise BadRequest(f"limit: must be between 1 and {MAX_LIMIT}")

    def where(self) -> list[Any]:
        c = audit_log.c
        clauses: list[Any] = []
        for name in ("actor", "action", "object_type", "object_id", "record_type"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(c[name] == value)
        since, until = _moment(self.since), _moment(self.until, end=True)
        if since is not None:
            clauses.append(c.time >= since)
        if until is not None:
            clauses.append(c.time < until)
        if self.after_id:
            clauses.append(c.id > self.after_id)
        return clauses


def list_records(ctx: Context, query: AuditQuery) -> list[dict[str, Any]]:
    """Records matching ``query`` in id order (page on with ``after_id``)."""
    select = sa.select(audit_log).where(*query.where()).order_by(audit_log.c.id).limit(query.limit)
    with ctx.db.connect() as conn:
        return [record_dict(r) for r in conn.execute(select)]


def export(
    ctx: Context,
    since: date | datetime | str | None = None,
    until: date | datetime | str | None = None,
) -> Iterator[dict[str, Any]]:
    """Every record from ``since`` until ``until`` (a date: its whole day included) in id
    order, with its hashes: one JSON object per line of ``audit export``."""
    where = AuditQuery(since=since, until=until).where()
    with ctx.db.connect() as conn:
        for row in _rows(conn, sa.select(audit_log).where(*where)):
            yield record_dict(row)


def export_lines(ctx: Context, since: Any = None, until: Any = None) -> Iterator[str]:
    """``export`` as JSON lines (sorted keys, UTF-8)."""
    for item in export(ctx, since, until):
        yield json.dumps(item, sort_keys=True, ensure_ascii=False, default=str) + "\n"


# --- verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """The first record that does not verify, and why."""

    id: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason}


@dataclass(frozen=True)
class VerifyAnswer:
    """What ``verify`` found: ``ok``, the records checked (purged ones among them), the head
    of the chain (its last id and hash: keep it outside the database to detect a truncated
    tail, which a chain alone cannot show), or the first record that does not verify."""

    ok: bool
    records: int
    purged: int
    head_id: int | None
    head_hash: str
    failure: Failure | None = None

    @property
    def hit(self) -> bool:
        return not self.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "purged": self.purged,
            "head_id": self.head_id,
            "head_hash": self.head_hash,
            "failure": self.failure.to_dict() if self.failure else None,
        }


_BLANK = {"actor": "", "object_id": "", "before": None, "after": None, "reason": None}


def _ranges(ids: Iterable[int]) -> list[list[int]]:
    """Sorted ids as [first, last] runs: how a purge record names what it purged."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def _in_ranges(runs: Sequence[Sequence[int]], i: int) -> bool:
    return any(a <= i <= b for a, b in runs)


def verify(ctx: Context) -> VerifyAnswer:
    """Walk the chain in id order; the first record that does not verify ends the walk.

    A record does not verify when its content no longer gives its hash (changed), when its
    ``prev_hash`` is not the hash of the record before it (a record between them deleted, or
    the one before rewritten), when the record before it is skipped by its ``prev_hash``
    (that one was inserted), or when it is marked purged without a later purge record naming
    it (or still holds content). A purged record's hash is trusted: its content is gone."""
    with ctx.db.connect() as conn:
        return _verify(conn)


def _broken_link(conn: sa.Connection, row: Any, prev: Any, before_prev_hash: str) -> Failure:
    """Why ``row`` does not chain onto ``prev`` (the record before it in id order)."""
    rid = int(row.id)
    if prev is not None and row.prev_hash == before_prev_hash:
        return Failure(
            int(prev.id),
            f"inserted: record {rid} chains onto the record before {prev.id}, "
            f"so record {prev.id} is not part of the chain",
        )
    if row.prev_hash == GENESIS:
        return Failure(
            rid, f"inserted or out of order: it starts the chain, after record {prev.id}"
        )
    target = conn.execute(
        sa.select(audit_log.c.id).where(audit_log.c.hash == row.prev_hash).limit(1)
    ).scalar_one_or_none()
    if target is not None and int(target) > rid:
        return Failure(rid, f"out of order: it chains onto record {target}, which comes after it")
    if target is not None:
        return Failure(
            rid,
            f"inserted or out of order: it chains onto record {target}, "
            f"not onto record {prev.id}, the record before it",
        )
    if prev is None:
        return Failure(
            rid, "the first record does not start the chain: records before it were deleted"
        )
    gap = f" (ids {prev.id + 1}..{rid - 1} are missing)" if rid > prev.id + 1 else ""
    return Failure(
        rid,
        f"prev_hash is not the hash of record {prev.id}: a record between them was deleted"
        f"{gap}, or record {prev.id} was rewritten",
    )


def _verify(conn: sa.Connection) -> VerifyAnswer:
    count = purged = 0
    prev: Any = None  # the record before
    before_prev_hash = GENESIS  # the hash the record before chained onto
    purged_pending: dict[int, Any] = {}  # purged ids not yet named by a purge record

    def answer(failure: Failure | None) -> VerifyAnswer:
        return VerifyAnswer(
            ok=failure is None,
            records=count,
            purged=purged,
            head_id=int(prev.id) if prev is not None else None,
            head_hash=prev.hash if prev is not None else GENESIS,
            failure=failure,
        )

    for row in _rows(conn, sa.select(audit_log)):
        rid = int(row.id)
        expected = prev.hash if prev is not None else GENESIS
        if row.prev_hash != expected:
            return answer(_broken_link(conn, row, prev, before_prev_hash))
        if row.purged:
            if any(getattr(row, k) != v for k, v in _BLANK.items()):
                return answer(Failure(rid, "marked purged but still holds content"))
            purged_pending[rid] = row
            purged += 1
        elif record_hash(row.prev_hash, content_of(row)) != row.hash:
            return answer(Failure(rid, "changed: its content does not give its hash"))
        if row.action == PURGE_ACTION and isinstance(row.after, dict) and not row.purged:
            runs = row.after.get("purged") or []
            for pid in [p for p in purged_pending if _in_ranges(runs, p)]:
                del purged_pending[pid]
        count += 1
        before_prev_hash = row.prev_hash
        prev = row
    if purged_pending:
        first = min(purged_pending)
        return answer(Failure(first, "marked purged, but no purge record names it"))
    return answer(None)


# --- retention ---------------------------------------------------------------------------------

PURGE_ACTION = "purge"
RELATIONSHIP_ENDED = "relationship_ended"


@dataclass(frozen=True)
class Retention:
    """How long records of one type are kept: ``years`` after the record's time, or after the
    end of the customer relationship (``after="relationship_end"``); ``years=None`` keeps
    them for ever."""

    years: int | None
    after: str = "record"  # record | relationship_end

    def __post_init__(self) -> None:
        if self.after not in ("record", "relationship_end"):
            raise BadRequest(f"retention: after: {self.after!r} is not record or relationship_end")
        if self.years is not None and self.years < 0:
            raise BadRequest("retention: years: must not be negative")


# Record types (``record(..., record_type=...)``):
#   verification — identity verification of a customer (取引時確認: customer data, name
#                  screening of the customer); the record's object is the customer.
#   transaction  — a deposit or withdrawal and what was decided about it (decisions, holds).
#   case         — the work on alerts and cases, dispositions, reports.
#   audit        — everything else: users, keys, roles, rules, lists, legal holds, purges.
DEFAULT_RETENTION: dict[str, Retention] = {
    "verification": Retention(7, "relationship_end"),  # 犯罪収益移転防止法: 7 years after the end
    "transaction": Retention(7),  # transaction records: 7 years
    "case": Retention(7),
    "audit": Retention(7),
}


@dataclass(frozen=True)
class RetentionPolicy:
    """Retention per record type; a type the policy does not name is kept for ever."""

    rules: dict[str, Retention] = field(default_factory=lambda: dict(DEFAULT_RETENTION))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RetentionPolicy:
        """``{type: {"years": 7, "after": "record"|"relationship_end"}}`` (or ``null`` to
        keep for ever) over the defaults."""
        rules = dict(DEFAULT_RETENTION)
        for name, spec in data.items():
            if spec is None:
                rules[str(name)] = Retention(None)
            elif isinstance(spec, Mapping):
                years = spec.get("years")
                rules[str(name)] = Retention(
                    None if years is None else int(years), str(spec.get("after", "record"))
                )
            else:
                raise BadRequest(f"retention: {name}: expected a mapping with years and after")
        return cls(rules)

    @classmethod
    def load(cls, path: Path) -> RetentionPolicy:
        """A YAML or JSON file of ``from_mapping``'s shape."""
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise BadRequest(f"{path}: cannot read the retention policy: {exc}") from None
        if not isinstance(data, Mapping):
            raise BadRequest(f"{path}: the retention policy is a mapping of record types")
        return cls.from_mapping(data)

    def to_dict(self) -> dict[str, Any]:
        return {k: {"years": v.years, "after": v.after} for k, v in sorted(self.rules.items())}


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def end_relationship(
    ctx: Context, customer_id: str, user: str, ended: date | datetime | str | None = None
) -> int:
    """Record that the relationship with a customer ended (``ended``, default now): the
    clock of its verification records' retention starts then. Returns the record id."""
    moment = _moment(ended) if ended is not None else now()
    assert moment is not None
    with ctx.db.begin() as conn:
        return record(
            conn,
            actor=user,
            action=RELATIONSHIP_ENDED,
            object_type="customer",
            object_id=customer_id,
            after={"ended": _iso(moment)},
            record_type="verification",
        )


def _relationship_ends(conn: sa.Connection) -> dict[str, datetime]:
    """{customer id: when the relationship ended} from the latest ``relationship_ended``
    records (a purged one no longer says, so the customer counts as current)."""
    ends: dict[str, datetime] = {}
    query = sa.select(audit_log.c.object_id, audit_log.c.after, audit_log.c.id).where(
        audit_log.c.action == RELATIONSHIP_ENDED,
        audit_log.c.object_type == "customer",
        audit_log.c.purged.is_(False),
    )
    for row in conn.execute(query.order_by(audit_log.c.id)):
        ended = (row.after or {}).get("ended")
        if ended:
            ends[row.object_id] = _aware(datetime.fromisoformat(ended))
    return ends


# --- legal holds -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LegalHold:
    id: int
    object_type: str
    object_id: str
    reason: str
    created_by: str
    created_at: str
    released_at: str | None

    @classmethod
    def of_row(cls, row: Any) -> LegalHold:
        return cls(
            id=int(row.id),
            object_type=row.object_type,
            object_id=row.object_id,
            reason=row.reason,
            created_by=row.created_by,
            created_at=_iso(row.created_at),
            released_at=_iso(row.released_at) if row.released_at is not None else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def legal_hold(ctx: Context, object_type: str, object_id: str, reason: str, user: str) -> LegalHold:
    """Stop the deletion of every record about an object (a ``customer``, ``case``,
    ``decision``, ``hold``…) until released: a hold on a customer or a case also covers the
    records that name it as ``customer_id`` or ``case_id``."""
    if not reason or not reason.strip():
        raise BadRequest("reason: a legal hold needs a reason")
    if not user:
        raise BadRequest("user: a legal hold names the acting user")
    with ctx.db.begin() as conn:
        values = {
            "object_type": object_type,
            "object_id": str(object_id),
            "reason": reason,
            "created_by": user,
            "created_at": now(),
        }
        key = conn.execute(legal_holds.insert().values(**values)).inserted_primary_key
        assert key is not None
        hold_id = int(key[0])
        record(
            conn,
            actor=user,
            action="legal_hold",
            object_type=object_type,
            object_id=str(object_id),
            after={"legal_hold": hold_id},
            reason=reason,
        )
        row = conn.execute(sa.select(legal_holds).where(legal_holds.c.id == hold_id)).one()
    return LegalHold.of_row(row)


def release_legal_hold(
    ctx: Context, hold_id: int, user: str, reason: str | None = None
) -> LegalHold:
    """End a legal hold (it stays listed, with ``released_at``)."""
    if not user:
        raise BadRequest("user: releasing a legal hold names the acting user")
    with ctx.db.begin() as conn:
        row = conn.execute(sa.select(legal_holds).where(legal_holds.c.id == hold_id)).first()
        if row is None:
            raise NotFound(f"legal hold {hold_id}: no such hold")
        if row.released_at is not None:
            raise Conflict(f"legal hold {hold_id}: released already")
        conn.execute(
            legal_holds.update().where(legal_holds.c.id == hold_id).values(released_at=now())
        )
        record(
            conn,
            actor=user,
            action="legal_hold_released",
            object_type=row.object_type,
            object_id=row.object_id,
            before={"legal_hold": hold_id},
            reason=reason,
        )
        row = conn.execute(sa.select(legal_holds).where(legal_holds.c.id == hold_id)).one()
    return LegalHold.of_row(row)


def legal_holds_list(ctx: Context, *, active_only: bool = True) -> list[LegalHold]:
    query = sa.select(legal_holds).order_by(legal_holds.c.id)
    if active_only:
        query = query.where(legal_holds.c.released_at.is_(None))
    with ctx.db.connect() as conn:
        return [LegalHold.of_row(r) for r in conn.execute(query)]


def _held(conn: sa.Connection) -> set[tuple[str, str]]:
    query = sa.select(legal_holds.c.object_type, legal_holds.c.object_id).where(
        legal_holds.c.released_at.is_(None)
    )
    return {(t, i) for t, i in conn.execute(query)}


def _is_held(row: Any, held: set[tuple[str, str]]) -> bool:
    if (row.object_type, row.object_id) in held:
        return True
    for side in (row.before, row.after):
        if isinstance(side, dict):
            if ("customer", str(side.get("customer_id"))) in held:
                return True
            if ("case", str(side.get("case_id"))) in held:
                return True
    return False


# --- purge -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeAnswer:
    as_of: str
    purged: int
    held: int  # past retention, kept by a legal hold
    record_id: int | None  # the purge's own audit record (none when nothing was purged)
    by_type: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def purge(
    ctx: Context,
    as_of: date | datetime | str | None,
    user: str,
    policy: RetentionPolicy | None = None,
) -> PurgeAnswer:
    """Blank the content of the records past retention on ``as_of`` (default now) that no
    legal hold covers.

    This is the one place the service updates audit rows: ``actor``, ``object_id``,
    ``before``, ``after`` and ``reason`` are blanked and ``purged`` set; ``time``,
    ``action``, ``object_type``, ``record_type`` and both hashes stay, so the chain still
    verifies (``verify`` trusts a purged record's stored hash and still checks the links).
    The purge is itself an audit record (action ``purge``) naming the purged ids, which
    ``verify`` requires of every purged record; purge records are never purged. On
    PostgreSQL it runs under the purge role (docs/audit.md), the only one with UPDATE."""
    if not user:
        raise BadRequest("user: a purge names the acting user")
    policy = policy or RetentionPolicy()
    moment = _moment(as_of, end=False) if as_of is not None else now()
    assert moment is not None
    counts: dict[str, int] = {}
    ids: list[int] = []
    held_count = 0
    with ctx.db.begin() as conn:
        lock_chain(conn)
        held = _held(conn)
        ends = _relationship_ends(conn)
        candidates = sa.select(audit_log).where(
            audit_log.c.purged.is_(False), audit_log.c.action != PURGE_ACTION
        )
        for row in _rows(conn, candidates):
            rule = policy.rules.get(row.record_type)
            if rule is None or rule.years is None:
                continue
            if rule.after == "relationship_end":
                if row.object_type != "customer" or row.object_id not in ends:
                    continue  # the relationship goes on (or its end is not recorded)
                start = ends[row.object_id]
            else:
                start = _aware(row.time)
            if start > _years_before(moment, rule.years):
                continue
            if _is_held(row, held):
                held_count += 1
                continue
            ids.append(int(row.id))
            counts[row.record_type] = counts.get(row.record_type, 0) + 1
        record_id: int | None = None
        if ids:
            for offset in range(0, len(ids), 500):
                chunk = ids[offset : offset + 500]
                conn.execute(
                    audit_log.update()
                    .where(audit_log.c.id.in_(chunk), audit_log.c.purged.is_(False))
                    .values(**_BLANK, purged=True)
                )
            record_id = record(
                conn,
                actor=user,
                action=PURGE_ACTION,
                object_type="audit_log",
                object_id=_iso(moment),
                after={
                    "as_of": _iso(moment),
                    "purged": _ranges(ids),
                    "count": len(ids),
                    "by_type": counts,
                    "held": held_count,
                    "policy": policy.to_dict(),
                },
            )
    return PurgeAnswer(
        as_of=_iso(moment), purged=len(ids), held=held_count, record_id=record_id, by_type=counts
    )


# --- the PostgreSQL grant ----------------------------------------------------------------------

PURGE_COLUMNS = ("actor", "object_id", "before", "after", "reason", "purged")


def grant_statements(
    schema: str = "public", app_role: str = "sanctrace_app", purge_role: str = "sanctrace_purge"
) -> list[str]:
    """The GRANT/REVOKE statements of docs/audit.md: the service's role reads and appends
    audit records but may not update or delete them; the purge role may only blank content
    (``PURGE_COLUMNS``) and append its own record. Run them as the tables' owner after the
    migrations (and again after a migration that adds tables)."""
    s = f'"{schema}"'
    return [
        f"GRANT USAGE ON SCHEMA {s} TO {app_role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {app_role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {app_role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {s}.audit_log FROM {app_role}",
        f"GRANT USAGE ON SCHEMA {s} TO {purge_role}",
        f"GRANT SELECT, INSERT ON {s}.audit_log TO {purge_role}",
        f"GRANT UPDATE ({', '.join(PURGE_COLUMNS)}) ON {s}.audit_log TO {purge_role}",
        f"GRANT USAGE, SELECT ON SEQUENCE {s}.audit_log_id_seq TO {purge_role}",
        f"GRANT SELECT ON {s}.legal_holds, {s}.alembic_version TO {purge_role}",
    ]
