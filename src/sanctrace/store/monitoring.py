"""Repository for monitoring: exchange events, decisions and alerts.

Functions take an open connection, so the caller owns the transaction. Events are stored once
per ``event_id``; an alert that repeats an open one (same rule, subject and evidence key) adds
to its count instead of a new row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from sanctrace.store.cases import attach_alert
from sanctrace.store.snapshots import now
from sanctrace.store.tables import alerts, decisions, events

__all__ = [
    "EVENT_COLUMNS",
    "add_alert",
    "evidence_key",
    "event_rows",
    "find_alerts",
    "find_decision",
    "insert_decision",
    "insert_events",
    "known_event_ids",
    "utc",
]

# The columns copied out of an event's payload (besides id, type, time and customer).
EVENT_COLUMNS = ("chain", "asset", "amount", "address")
BATCH = 1000


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC: SQLite keeps a datetime's wall time and drops its offset, so every
    stored or compared time is brought to UTC first (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def evidence_key(*parts: object) -> str:
    """A short stable key over the parts that identify a finding (txid, address, entity …):
    an open alert with the same rule, subject and key is counted, not repeated."""
    text = json.dumps([str(p) for p in parts], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def known_event_ids(conn: sa.Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are stored already."""
    found: set[str] = set()
    for start in range(0, len(ids), BATCH):
        chunk = list(ids[start : start + BATCH])
        found.update(
            conn.execute(sa.select(events.c.event_id).where(events.c.event_id.in_(chunk))).scalars()
        )
    return found


def insert_events(
    conn: sa.Connection, records: Iterable[Mapping[str, Any]], *, check: bool = True
) -> list[str]:
    """Store events not stored before; returns the ids stored now (a repeated id is skipped).

    Each record: ``event_id``, ``type``, ``time``, ``customer_id``, ``payload`` and optionally
    the ``EVENT_COLUMNS``. ``check=False`` skips the look-up of stored ids (the caller checked):
    an id stored meanwhile is then an ``IntegrityError``."""
    rows = list(records)
    seen = known_event_ids(conn, [r["event_id"] for r in rows]) if check else set()
    stamp = now()
    fresh: list[dict[str, Any]] = []
    for r in rows:
        if r["event_id"] in seen:
            continue
        seen.add(r["event_id"])  # the same id twice in one batch stores once
        fresh.append(
            {
                "event_id": r["event_id"],
                "type": r["type"],
                "time": utc(r["time"]),
                "customer_id": r["customer_id"],
                "payload": r["payload"],
                "stored_at": stamp,
                **{c: r.get(c) for c in EVENT_COLUMNS},
            }
        )
    for start in range(0, len(fresh), BATCH):
        conn.execute(events.insert(), fresh[start : start + BATCH])
    return [r["event_id"] for r in fresh]


def event_rows(
    conn: sa.Connection,
    *,
    customer_id: str | None = None,
    types: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    addresses: Sequence[str] | None = None,
) -> list[sa.Row[Any]]:
    """Stored events in time order, filtered by customer, type, time range (``since`` <= time
    <= ``until``) and address."""
    query = sa.select(events)
    if customer_id is not None:
        query = query.where(events.c.customer_id == customer_id)
    if types:
        query = query.where(events.c.type.in_(list(types)))
    if since is not None:
        query = query.where(events.c.time >= utc(since))
    if until is not None:
        query = query.where(events.c.time <= utc(until))
    if addresses is not None:
        query = query.where(events.c.address.in_(list(addresses)))
    return list(conn.execute(query.order_by(events.c.time, events.c.id)))


def insert_decision(conn: sa.Connection, values: Mapping[str, Any]) -> None:
    """Store one decision (``decision_id``, ``event_id``, ``kind``, ``customer_id``,
    ``decided_at``, ``decision``, ``reasons``, ``inputs``, ``snapshots``, ``rules_version``,
    ``engine_version``)."""
    conn.execute(decisions.insert().values(**values))


def find_decision(conn: sa.Connection, decision_id: str) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(decisions).where(decisions.c.decision_id == decision_id)
    ).one_or_none()


def add_alert(
    conn: sa.Connection, values: Mapping[str, Any], *, sla_hours: Mapping[str, int] | None = None
) -> tuple[int, bool]:
    """Store an alert, or count it on the open (or suppressed) alert it repeats; returns
    (alert id, new). A new alert joins its case, or is muted by an active suppression
    (``store.cases.attach_alert``; ``sla_hours`` sets a new case's due date)."""
    same = conn.execute(
        sa.select(alerts.c.id).where(
            alerts.c.rule == values["rule"],
            alerts.c.subject == values["subject"],
            alerts.c.evidence_key == values["evidence_key"],
            alerts.c.status.in_(("open", "suppressed")),
        )
    ).first()
    if same is not None:
        conn.execute(alerts.update().where(alerts.c.id == same.id).values(count=alerts.c.count + 1))
        return int(same.id), False
    row = {"time": now(), "count": 1, "status": "open", **values}
    key = conn.execute(alerts.insert().values(**row)).inserted_primary_key
    assert key is not None
    attach_alert(conn, int(key[0]), row, sla_hours=sla_hours)
    return int(key[0]), True


def find_alerts(
    conn: sa.Connection,
    *,
    customer_id: str | None = None,
    rule: str | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> list[sa.Row[Any]]:
    """Alerts, newest first, filtered by customer, rule and status."""
    query = sa.select(alerts)
    if customer_id is not None:
        query = query.where(alerts.c.customer_id == customer_id)
    if rule is not None:
        query = query.where(alerts.c.rule == rule)
    if status is not None:
        query = query.where(alerts.c.status == status)
    query = query.order_by(alerts.c.time.desc(), alerts.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query))
