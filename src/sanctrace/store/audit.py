"""Appending to the hash-chained audit log (the chain's rules: ``cases.audit``).

Kept in storage so every layer that writes a change in a transaction (the alert → case
grouping, hold creation, decisions, the case service) appends its audit record in that same
transaction.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from sanctrace.store.snapshots import now
from sanctrace.store.tables import audit_log

__all__ = ["CONTENT", "GENESIS", "canonical", "iso_utc", "lock_chain", "record", "record_hash"]

GENESIS = "0" * 64
CONTENT = (
    "time",
    "actor",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "reason",
    "record_type",
)


def iso_utc(value: datetime) -> str:
    if value.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(content: dict[str, Any]) -> str:
    """The text a record's hash covers."""
    data = {k: content.get(k) for k in CONTENT}
    data["time"] = iso_utc(data["time"]) if isinstance(data["time"], datetime) else data["time"]
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(content)).encode()).hexdigest()


def lock_chain(conn: sa.Connection) -> None:
    """Serialise appends, so two writers never chain onto the same record."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7261001)"))
    else:  # SQLite: a write statement takes the database's write lock for the transaction
        conn.execute(audit_log.update().where(sa.false()).values(actor=audit_log.c.actor))


def record(
    conn: sa.Connection,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
    record_type: str = "audit",
) -> int:
    """Append one record in ``conn``'s transaction; returns its id. ``before``/``after`` are
    JSON values (the object's state around the action)."""
    lock_chain(conn)
    last = conn.execute(
        sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
    ).scalar_one_or_none()
    prev = last or GENESIS
    content: dict[str, Any] = {
        "time": now(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        # A JSON round trip now, so the hash covers exactly what the database gives back.
        "before": json.loads(json.dumps(before, default=str)),
        "after": json.loads(json.dumps(after, default=str)),
        "reason": reason,
        "record_type": record_type,
    }
    digest = record_hash(prev, content)
    key = conn.execute(
        audit_log.insert().values(**content, purged=False, prev_hash=prev, hash=digest)
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


# --- reading -----------------------------------------------------------------------------------
