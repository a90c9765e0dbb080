"""Repository of holds: the deposits and withdrawals a ``hold`` decision stopped.

Functions take an open connection, so the caller owns the transaction. ``create_hold`` is
self-contained: called where a ``hold`` decision is stored, it writes the hold (state
``held``) and queues its ``hold.created`` webhook in the same transaction. State changes go
through ``transition``, a compare-and-set on the state, so two concurrent changes of one hold
cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from sanctrace.store import webhooks
from sanctrace.store.snapshots import now as _now
from sanctrace.store.tables import alerts, case_alerts, holds, tasks

__all__ = [
    "PUBLIC_FIELDS",
    "STATES",
    "add_task",
    "case_for_decision",
    "create_hold",
    "find",
    "find_by_decision",
    "public",
    "query",
    "transition",
]

STATES = ("held", "release_pending", "released", "rejected")
# What may leave the compliance team about a hold (the webhook, the API): no reasons, rules,
# reports, case notes, customer or reviewer. See docs/holds.md ("No tipping off").
PUBLIC_FIELDS = (
    "hold_id",
    "state",
    "event_id",
    "decision_id",
    "kind",
    "asset",
    "amount",
    "created_at",
    "updated_at",
)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives back naive datetimes; they were stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def public(row: Any) -> dict[str, Any]:
    """The hold as the platform may see it: ``PUBLIC_FIELDS`` only."""
    return {
        "hold_id": int(row.id),
        "state": row.state,
        "event_id": row.event_id,
        "decision_id": row.decision_id,
        "kind": row.kind,
        "asset": row.asset,
        "amount": row.amount,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def case_for_decision(conn: sa.Connection, decision_id: str) -> int | None:
    """The case an alert of ``decision_id`` joined, if any (the lowest id)."""
    return conn.execute(
        sa.select(sa.func.min(case_alerts.c.case_id))
        .select_from(case_alerts.join(alerts, alerts.c.id == case_alerts.c.alert_id))
        .where(alerts.c.decision_id == decision_id)
    ).scalar()


def create_hold(
    conn: sa.Connection, decision: Mapping[str, Any], event_payload: Mapping[str, Any]
) -> int:
    """Hold the deposit or withdrawal of a ``hold`` decision; returns the hold's id.

    ``decision`` is the stored decision's values (``decision_id``, ``event_id``, ``kind``,
    ``customer_id``, ``decision`` …), ``event_payload`` the event (``chain``, ``asset``,
    ``amount``). The same decision again answers its hold. Queues ``hold.created``."""
    if decision.get("decision") not in (None, "hold"):
        raise ValueError(f"decision {decision.get('decision_id')}: only a hold decision is held")
    decision_id = str(decision["decision_id"])
    existing = find_by_decision(conn, decision_id)
    if existing is not None:
        return int(existing.id)
    when = _now()
    amount = event_payload.get("amount")
    values = {
        "decision_id": decision_id,
        "event_id": str(decision.get("event_id") or event_payload["event_id"]),
        "customer_id": str(decision.get("customer_id") or event_payload.get("customer_id") or ""),
        "kind": str(decision.get("kind") or event_payload.get("type")),
        "chain": event_payload.get("chain"),
        "asset": event_payload.get("asset"),
        "amount": None if amount is None else str(amount),
        "case_id": case_for_decision(conn, decision_id),
        "state": "held",
        "created_at": when,
        "updated_at": when,
    }
    key = conn.execute(holds.insert().values(**values)).inserted_primary_key
    assert key is not None
    hold_id = int(key[0])
    row = find(conn, hold_id)
    webhooks.enqueue(conn, "hold.created", {"hold": public(row)}, at=when)
    return hold_id


def find(conn: sa.Connection, hold_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(holds).where(holds.c.id == hold_id)).one_or_none()


def find_by_decision(conn: sa.Connection, decision_id: str) -> sa.Row[Any] | None:
    return conn.execute(sa.select(holds).where(holds.c.decision_id == decision_id)).one_or_none()


def query(
    conn: sa.Connection,
    *,
    state: str | None = None,
    customer_id: str | None = None,
    limit: int = 1000,
) -> list[sa.Row[Any]]:
    """Holds, newest first."""
    select = sa.select(holds).order_by(holds.c.id.desc()).limit(limit)
    if state is not None:
        select = select.where(holds.c.state == state)
    if customer_id is not None:
        select = select.where(holds.c.customer_id == customer_id)
    return list(conn.execute(select))


def transition(
    conn: sa.Connection, hold_id: int, from_states: tuple[str, ...], values: Mapping[str, Any]
) -> bool:
    """Set ``values`` (a new ``state`` among them) when the hold is in one of ``from_states``;
    False when it is not (or was changed meanwhile)."""
    result = conn.execute(
        holds.update()
        .where(holds.c.id == hold_id, holds.c.state.in_(from_states))
        .values({"updated_at": _now(), **values})
    )
    return result.rowcount == 1


def add_task(
    conn: sa.Connection, kind: str, subject: str, payload: Mapping[str, Any], case_id: int | None
) -> int:
    """Open a task (for example the report of frozen assets of a target); returns its id."""
    key = conn.execute(
        tasks.insert().values(
            kind=kind,
            subject=subject,
            case_id=case_id,
            state="open",
            created_at=_now(),
            payload=dict(payload),
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])
