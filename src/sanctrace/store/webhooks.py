"""Repository of the webhook outbox (``webhook_deliveries``).

A change enqueues its delivery on the change's own connection, so the delivery exists exactly
when the change was committed (the transactional outbox). The sender (``cases.webhooks``)
claims a due row by bumping its attempt count, posts it, and records the outcome; the row keeps
a log entry per attempt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sanctrace.store.snapshots import now as _now
from sanctrace.store.tables import webhook_deliveries

__all__ = [
    "claim",
    "due",
    "enqueue",
    "find",
    "find_since",
    "record_attempt",
    "rearm",
    "rows",
    "failing",
]


def enqueue(
    conn: sa.Connection, event_type: str, payload: Mapping[str, Any], *, at: datetime | None = None
) -> int:
    """Queue one delivery of ``payload`` (due at once); returns its id."""
    when = at or _now()
    key = conn.execute(
        webhook_deliveries.insert().values(
            event_type=event_type,
            payload=dict(payload),
            created_at=when,
            attempts=0,
            next_attempt_at=when,
            delivered_at=None,
            log=[],
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def due(conn: sa.Connection, now: datetime, limit: int = 100) -> list[sa.Row[Any]]:
    """Undelivered rows whose next attempt is due at ``now``, oldest first."""
    return list(
        conn.execute(
            sa.select(webhook_deliveries)
            .where(
                webhook_deliveries.c.delivered_at.is_(None),
                webhook_deliveries.c.next_attempt_at <= now,
            )
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
            .limit(limit)
        )
    )


def claim(conn: sa.Connection, row: Any, lease_until: datetime) -> bool:
    """Take ``row`` for one attempt: bump its attempt count and push its next attempt to
    ``lease_until`` unless another sender took it first (the count moved). True when taken."""
    result = conn.execute(
        webhook_deliveries.update()
        .where(
            webhook_deliveries.c.id == row.id,
            webhook_deliveries.c.attempts == row.attempts,
            webhook_deliveries.c.delivered_at.is_(None),
        )
        .values(attempts=row.attempts + 1, next_attempt_at=lease_until)
    )
    return result.rowcount == 1


def record_attempt(
    conn: sa.Connection,
    delivery_id: int,
    entry: Mapping[str, Any],
    *,
    delivered_at: datetime | None,
    next_attempt_at: datetime,
) -> None:
    """Append ``entry`` to the row's log and store the attempt's outcome."""
    log = conn.execute(
        sa.select(webhook_deliveries.c.log).where(webhook_deliveries.c.id == delivery_id)
    ).scalar_one()
    conn.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.id == delivery_id)
        .values(
            log=[*(log or []), dict(entry)],
            delivered_at=delivered_at,
            next_attempt_at=next_attempt_at,
            last_status=entry.get("status"),
            last_error=entry.get("error"),
        )
    )


def rearm(conn: sa.Connection, delivery_id: int, now: datetime, note: Mapping[str, Any]) -> None:
    """Make a row due again at ``now`` (a replay), noting it in the log."""
    log = conn.execute(
        sa.select(webhook_deliveries.c.log).where(webhook_deliveries.c.id == delivery_id)
    ).scalar_one()
    conn.execute(
        webhook_deliveries.update()
        .where(webhook_deliveries.c.id == delivery_id)
        .values(log=[*(log or []), dict(note)], delivered_at=None, next_attempt_at=now)
    )


def find(conn: sa.Connection, delivery_id: int) -> sa.Row[Any] | None:
    return conn.execute(
        sa.select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
    ).one_or_none()


def find_since(conn: sa.Connection, since: datetime) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(webhook_deliveries)
            .where(webhook_deliveries.c.created_at >= since)
            .order_by(webhook_deliveries.c.id)
        )
    )


def rows(
    conn: sa.Connection,
    *,
    pending: bool | None = None,
    ids: Sequence[int] | None = None,
    limit: int = 1000,
) -> list[sa.Row[Any]]:
    """Deliveries, newest first; ``pending`` True for the undelivered, False for the
    delivered."""
    query = sa.select(webhook_deliveries).order_by(webhook_deliveries.c.id.desc()).limit(limit)
    if pending is True:
        query = query.where(webhook_deliveries.c.delivered_at.is_(None))
    elif pending is False:
        query = query.where(webhook_deliveries.c.delivered_at.is_not(None))
    if ids is not None:
        query = query.where(webhook_deliveries.c.id.in_(list(ids)))
    return list(conn.execute(query))


def failing(conn: sa.Connection) -> tuple[int, datetime | None]:
    """How many undelivered rows have failed at least once, and the oldest one's creation."""
    row = conn.execute(
        sa.select(sa.func.count(), sa.func.min(webhook_deliveries.c.created_at)).where(
            webhook_deliveries.c.delivered_at.is_(None), webhook_deliveries.c.attempts > 0
        )
    ).one()
    return int(row[0]), row[1]
