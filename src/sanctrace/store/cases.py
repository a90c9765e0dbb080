"""Repository for cases and the decision memory (suppressions).

Functions take an open connection, so the caller owns the transaction.

``attach_alert`` puts a newly stored alert into its case: one open (not closed) case per
customer, or per counterparty address (the alert's subject) when no customer is known. The
case's severity is the highest of its alerts'; its due date comes from the SLA of that severity.
An alert muted by an active suppression (decision memory) is marked ``suppressed`` (with the
suppression's id) and joins no case.

``active_suppression`` is the decision memory's look-up: a false-positive decision on (customer,
listed entity) holds until the listed entity's record changes (a new snapshot with a different
fingerprint, or no active snapshot lists it), the customer's screened data changes, or it
expires. These are checked lazily, here, at look-up time; a suppression found ended is marked
``expired`` or ``invalidated`` with the reason.

The ends of suppressions, the cases opened and the alerts muted go to the audit log in the same
transaction (``store.audit.record``, or the ``audit`` callable given).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sanctrace.store.audit import record as audit_record
from sanctrace.store.snapshots import now
from sanctrace.store.tables import (
    active_snapshots,
    alerts,
    case_alerts,
    case_notes,
    cases,
    customer_names,
    customers,
    entities,
    suppressions,
)

__all__ = [
    "CLOSED",
    "DEFAULT_SLA_HOURS",
    "OPEN_STATES",
    "SEVERITY_RANK",
    "STATES",
    "active_suppression",
    "add_note",
    "add_suppression",
    "alert_entity_id",
    "alerts_of",
    "attach_alert",
    "case_row",
    "customer_fingerprint",
    "due_for",
    "end_suppression",
    "entity_fingerprint",
    "find_cases",
    "max_severity",
    "notes_of",
    "open_case_of",
    "set_alert_status",
    "set_suppression",
    "suppressions_of",
    "transition",
]

AuditFn = Callable[..., Any]

STATES = ("open", "in_review", "pending_approval", "closed", "reopened")
CLOSED = "closed"
OPEN_STATES = tuple(s for s in STATES if s != CLOSED)
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
DEFAULT_SLA_HOURS: dict[str, int] = {"critical": 24, "high": 72, "medium": 168, "low": 336}
SYSTEM = "system"


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def max_severity(*severities: str) -> str:
    """The highest of ``severities`` (an unknown name ranks below ``low``)."""
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, -1))


def due_for(severity: str, start: datetime, sla_hours: Mapping[str, int] | None = None) -> datetime:
    """When a case of ``severity`` opened at ``start`` is due: the SLA hours of that severity
    (``sla_hours`` merged over ``DEFAULT_SLA_HOURS``; an unknown severity gets ``medium``'s)."""
    sla = {**DEFAULT_SLA_HOURS, **(sla_hours or {})}
    hours = sla.get(severity, sla["medium"])
    return _aware(start) + timedelta(hours=hours)


def alert_entity_id(values: Mapping[str, Any]) -> str | None:
    """The listed entity an alert is about: its ``entity_id``, else the one its evidence names
    (``match``, ``hit``, the first of ``hits`` or ``matches`` that names one)."""
    if values.get("entity_id"):
        return str(values["entity_id"])
    evidence = values.get("evidence")
    if isinstance(evidence, str):
        try:
            evidence = json.loads(evidence)
        except ValueError:
            return None
    if not isinstance(evidence, Mapping):
        return None
    for key in ("match", "hit"):
        item = evidence.get(key)
        if isinstance(item, Mapping) and item.get("entity_id"):
            return str(item["entity_id"])
    for key in ("hits", "matches"):
        items = evidence.get(key)
        if isinstance(items, Sequence) and not isinstance(items, str):
            for item in items:
                if isinstance(item, Mapping) and item.get("entity_id"):
                    return str(item["entity_id"])
    return None


# --- fingerprints -----------------------------------------------------------------------------
def entity_fingerprint(conn: sa.Connection, entity_id: str) -> str | None:
    """The fingerprint of ``entity_id`` in the active snapshot that lists it (the newest, if
    several do); None when no active snapshot lists it."""
    query = (
        sa.select(entities.c.fingerprint)
        .join(active_snapshots, active_snapshots.c.snapshot_id == entities.c.snapshot_id)
        .where(entities.c.entity_id == entity_id)
        .order_by(entities.c.snapshot_id.desc())
        .limit(1)
    )
    return conn.execute(query).scalar_one_or_none()


def customer_fingerprint(conn: sa.Connection, customer_id: str) -> str | None:
    """SHA-256 over what screening reads of a customer: kind, dates, countries and every name
    (sorted). None when the customer is not stored."""
    row = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
    if row is None:
        return None
    names = sorted(
        [str(kind), str(name)]
        for kind, name in conn.execute(
            sa.select(customer_names.c.kind, customer_names.c.name).where(
                customer_names.c.customer_id == customer_id
            )
        )
    )
    data = {
        "kind": row.kind,
        "country": row.country,
        "birth_date": row.birth_date,
        "nationality": row.nationality,
        "residence": row.residence,
        "incorporated": row.incorporated,
        "names": names,
    }
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- suppressions (decision memory) -----------------------------------------------------------
def add_suppression(conn: sa.Connection, values: Mapping[str, Any]) -> int:
    """Store a suppression: ``customer_id``, ``entity_id``, ``entity_fingerprint``,
    ``customer_fingerprint``, ``case_id``, ``decided_by``, ``state``, ``expires_at`` and
    optionally ``approved_by``."""
    row = {"created_at": now(), "approved_by": None, "ended_reason": None, **values}
    key = conn.execute(suppressions.insert().values(**row)).inserted_primary_key
    assert key is not None
    return int(key[0])


def suppressions_of(conn: sa.Connection, case_id: int) -> list[sa.Row[Any]]:
    return list(
        conn.execute(
            sa.select(suppressions)
            .where(suppressions.c.case_id == case_id)
            .order_by(suppressions.c.id)
        )
    )


def set_suppression(conn: sa.Connection, suppression_id: int, **values: Any) -> None:
    """Set ``values`` (state, approved_by, expires_at …) on one suppression."""
    conn.execute(suppressions.update().where(suppressions.c.id == suppression_id).values(**values))


def end_suppression(
    conn: sa.Connection,
    row: Any,
    state: str,
    reason: str,
    *,
    audit: AuditFn | None = None,
    actor: str = SYSTEM,
) -> None:
    """End suppression ``row`` (``expired`` or ``invalidated``) and record why."""
    audit = audit or audit_record
    conn.execute(
        suppressions.update()
        .where(suppressions.c.id == row.id)
        .values(state=state, ended_reason=reason)
    )
    if audit is not None:
        audit(
            conn,
            actor=actor,
            action=f"suppression.{state}",
            object_type="suppression",
            object_id=row.id,
            before={"state": row.state},
            after={"state": state, "customer_id": row.customer_id, "entity_id": row.entity_id},
            reason=reason,
        )


def _why_ended(conn: sa.Connection, row: Any, at: datetime) -> tuple[str, str] | None:
    """(state, reason) when suppression ``row`` no longer holds at ``at``; None while it does."""
    if _aware(row.expires_at) <= at:
        return "expired", f"expired at {_aware(row.expires_at).isoformat(timespec='seconds')}"
    listed = entity_fingerprint(conn, row.entity_id)
    if listed is None:
        return "invalidated", f"entity {row.entity_id} is no longer on an active list snapshot"
    if row.entity_fingerprint is not None and listed != row.entity_fingerprint:
        return "invalidated", f"entity {row.entity_id} changed in a new list snapshot"
    screened = customer_fingerprint(conn, row.customer_id)
    if row.customer_fingerprint is not None and screened != row.customer_fingerprint:
        return "invalidated", f"customer {row.customer_id}'s screened data changed"
    return None


def active_suppression(
    conn: sa.Connection,
    customer_id: str | None,
    entity_id: str | None,
    *,
    at: datetime | None = None,
    audit: AuditFn | None = None,
) -> sa.Row[Any] | None:
    """The active suppression of alerts on (``customer_id``, ``entity_id``), or None.

    Suppressions found expired, or whose entity or customer changed since the decision, are
    ended here (state and ``ended_reason`` written, and an audit record when ``audit`` is
    given) and do not count."""
    audit = audit or audit_record
    if not customer_id or not entity_id:
        return None
    when = _aware(at or now())
    rows = conn.execute(
        sa.select(suppressions)
        .where(
            suppressions.c.customer_id == customer_id,
            suppressions.c.entity_id == entity_id,
            suppressions.c.state == "active",
        )
        .order_by(suppressions.c.id.desc())
    ).all()
    found = None
    for row in rows:
        ended = _why_ended(conn, row, when)
        if ended is not None:
            end_suppression(conn, row, ended[0], ended[1], audit=audit)
        elif found is None:
            found = row
    return found


# --- cases ------------------------------------------------------------------------------------
def _lock_subject(conn: sa.Connection, subject_type: str, subject: str) -> None:
    """Serialise the look-up-or-create of a subject's open case across writers."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(7261002, hashtext(:s))"),
            {"s": f"{subject_type}:{subject}"},
        )
    # SQLite: the alert's insert already holds the database's write lock.


def open_case_of(conn: sa.Connection, subject_type: str, subject: str) -> sa.Row[Any] | None:
    """The subject's case that is not closed (the newest, should there be several)."""
    return conn.execute(
        sa.select(cases)
        .where(
            cases.c.subject_type == subject_type,
            cases.c.subject == subject,
            cases.c.state != CLOSED,
        )
        .order_by(cases.c.id.desc())
        .limit(1)
    ).first()


def attach_alert(
    conn: sa.Connection,
    alert_id: int,
    values: Mapping[str, Any],
    *,
    sla_hours: Mapping[str, int] | None = None,
    audit: AuditFn | None = None,
) -> int | None:
    """Put a newly stored alert into its case; returns the case id, or None when an active
    suppression mutes the alert (it is then marked ``suppressed`` with ``suppressed_by``).

    ``values`` are the alert's (``customer_id``, ``severity``, ``subject``, ``evidence``, and
    ``entity_id`` when known; the entity is otherwise read from the evidence). The case is the
    customer's open case, else the counterparty address's (the subject) when no customer is
    known; a new one is opened when there is none. Calling it again for an alert already in an
    open case changes nothing."""
    audit = audit or audit_record
    alert = conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).first()
    if alert is None:
        raise LookupError(f"alert {alert_id} is not stored")
    customer_id = values.get("customer_id", alert.customer_id)
    entity_id = alert_entity_id(values) or alert.entity_id
    if alert.status == "suppressed":
        return None
    muted = active_suppression(conn, customer_id, entity_id, audit=audit)
    if muted is not None:
        conn.execute(
            alerts.update()
            .where(alerts.c.id == alert_id)
            .values(status="suppressed", suppressed_by=muted.id, entity_id=entity_id)
        )
        if audit is not None:
            audit(
                conn,
                actor=SYSTEM,
                action="alert.suppressed",
                object_type="alert",
                object_id=alert_id,
                after={"status": "suppressed", "suppressed_by": int(muted.id)},
                reason=f"decision memory: suppression {muted.id} (case {muted.case_id})",
            )
        return None
    if entity_id and alert.entity_id != entity_id:
        conn.execute(alerts.update().where(alerts.c.id == alert_id).values(entity_id=entity_id))

    already = conn.execute(
        sa.select(cases.c.id)
        .join(case_alerts, case_alerts.c.case_id == cases.c.id)
        .where(case_alerts.c.alert_id == alert_id, cases.c.state != CLOSED)
    ).first()
    if already is not None:
        return int(already.id)

    if customer_id:
        subject_type, subject = "customer", str(customer_id)
    else:
        subject_type, subject = "counterparty", str(values.get("subject", alert.subject))
    severity = str(values.get("severity", alert.severity))
    stamp = now()
    _lock_subject(conn, subject_type, subject)
    case = open_case_of(conn, subject_type, subject)
    if case is None:
        key = conn.execute(
            cases.insert().values(
                subject_type=subject_type,
                subject=subject,
                customer_id=customer_id or None,
                state="open",
                severity=severity,
                assignee=None,
                due=due_for(severity, stamp, sla_hours),
                opened_at=stamp,
                updated_at=stamp,
            )
        ).inserted_primary_key
        assert key is not None
        case_id = int(key[0])
        if audit is not None:
            audit(
                conn,
                actor=SYSTEM,
                action="case.open",
                object_type="case",
                object_id=case_id,
                after={"state": "open", "subject": subject, "severity": severity},
                reason=f"alert {alert_id}",
            )
    else:
        case_id = int(case.id)
        raised = max_severity(case.severity, severity)
        changes: dict[str, Any] = {"updated_at": stamp}
        if raised != case.severity:
            changes["severity"] = raised
            changes["due"] = min(_aware(case.due), due_for(raised, stamp, sla_hours))
        conn.execute(cases.update().where(cases.c.id == case_id).values(**changes))
    conn.execute(case_alerts.insert().values(case_id=case_id, alert_id=alert_id, added_at=stamp))
    if audit is not None:
        audit(
            conn,
            actor=SYSTEM,
            action="case.alert_added",
            object_type="case",
            object_id=case_id,
            after={"alert_id": alert_id, "severity": severity},
        )
    return case_id


def case_row(conn: sa.Connection, case_id: int) -> sa.Row[Any] | None:
    return conn.execute(sa.select(cases).where(cases.c.id == case_id)).first()


def find_cases(
    conn: sa.Connection,
    *,
    state: str | None = None,
    assignee: str | None = None,
    customer_id: str | None = None,
    limit: int | None = None,
) -> list[sa.Row[Any]]:
    """Cases, the most urgent first (due date, then id), filtered."""
    query = sa.select(cases)
    if state is not None:
        query = query.where(cases.c.state == state)
    if assignee is not None:
        query = query.where(cases.c.assignee == assignee)
    if customer_id is not None:
        query = query.where(cases.c.customer_id == customer_id)
    query = query.order_by(cases.c.due, cases.c.id)
    if limit is not None:
        query = query.limit(limit)
    return list(conn.execute(query))


def alerts_of(conn: sa.Connection, case_ids: Sequence[int]) -> dict[int, list[sa.Row[Any]]]:
    """The alerts of each case, oldest first."""
    found: dict[int, list[sa.Row[Any]]] = {int(i): [] for i in case_ids}
    if not found:
        return found
    ids = list(found)
    for start in range(0, len(ids), 500):
        query = (
            sa.select(case_alerts.c.case_id, alerts)
            .join(alerts, alerts.c.id == case_alerts.c.alert_id)
            .where(case_alerts.c.case_id.in_(ids[start : start + 500]))
            .order_by(alerts.c.time, alerts.c.id)
        )
        for row in conn.execute(query):
            found[int(row.case_id)].append(row)
    return found


def notes_of(conn: sa.Connection, case_ids: Sequence[int]) -> dict[int, list[sa.Row[Any]]]:
    """The comments and attachments of each case, oldest first."""
    found: dict[int, list[sa.Row[Any]]] = {int(i): [] for i in case_ids}
    ids = list(found)
    for start in range(0, len(ids), 500):
        query = (
            sa.select(case_notes)
            .where(case_notes.c.case_id.in_(ids[start : start + 500]))
            .order_by(case_notes.c.time, case_notes.c.id)
        )
        for row in conn.execute(query):
            found[int(row.case_id)].append(row)
    return found


def add_note(
    conn: sa.Connection,
    case_id: int,
    kind: str,
    author: str,
    text: str,
    content: Any = None,
) -> int:
    """A comment, or an attachment (``text`` its name, ``content`` the evidence as JSON)."""
    key = conn.execute(
        case_notes.insert().values(
            case_id=case_id, kind=kind, author=author, time=now(), text=text, content=content
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def transition(
    conn: sa.Connection, case_id: int, from_states: Sequence[str], values: Mapping[str, Any]
) -> bool:
    """Set ``values`` on the case when its state is one of ``from_states`` (a compare-and-set:
    of two concurrent changes one wins); False when the state was another."""
    result = conn.execute(
        cases.update()
        .where(cases.c.id == case_id, cases.c.state.in_(list(from_states)))
        .values(updated_at=now(), **values)
    )
    return bool(result.rowcount)


def set_alert_status(
    conn: sa.Connection, case_id: int, status: str, *, from_status: str | None = None
) -> None:
    """Set the status of the case's alerts (suppressed ones stay as they are)."""
    ids = sa.select(case_alerts.c.alert_id).where(case_alerts.c.case_id == case_id)
    query = alerts.update().where(alerts.c.id.in_(ids), alerts.c.status != "suppressed")
    if from_status is not None:
        query = query.where(alerts.c.status == from_status)
    conn.execute(query.values(status=status))
