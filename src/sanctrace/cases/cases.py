"""Cases: alerts grouped per customer (or counterparty address), worked by analysts and closed
with a disposition; four-eyes on the decisions that matter; the decision memory.

States: ``open`` → ``in_review`` (on assignment or the first comment) → ``pending_approval`` →
``closed``, and ``reopened`` (worked like ``open``). A case closes with a disposition
(``true_match``, ``false_positive``, ``not_sanctions_related``, ``escalated`` — to the
money-laundering reporting officer) and a required reason.

Four-eyes, enforced here and not only in an interface: closing as ``true_match``, and closing
as ``false_positive`` when the decision will suppress future alerts, wait in
``pending_approval`` until a different user with the ``approve`` permission approves. The one
who closed it may not approve it (``Forbidden``). The other dispositions close at once.

Decision memory: an approved ``false_positive`` on (customer, listed entity) becomes an active
suppression (``store.cases.active_suppression``) with the entity's fingerprint in the active
snapshot, the customer's screened-data fingerprint and an expiry (365 days unless configured);
alerts it mutes are still stored, marked ``suppressed``, and join no case.

Every action appends an audit record (``cases.audit``) in its own transaction.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sanctrace.cases import audit
from sanctrace.cases.auth import ROLE_PERMISSIONS, Forbidden, Permission, Principal, Role
from sanctrace.errors import BadRequest, Conflict, NotFound
from sanctrace.services.context import Context
from sanctrace.store import cases as repo
from sanctrace.store import users as users_repo
from sanctrace.store.snapshots import now

__all__ = [
    "DEFAULT_SUPPRESSION_DAYS",
    "DISPOSITIONS",
    "MAX_LIMIT",
    "STATES",
    "AttachmentOut",
    "CaseAlertOut",
    "CaseOut",
    "CaseQuery",
    "CommentOut",
    "SuppressionOut",
    "approve_case",
    "assign_case",
    "attach_evidence",
    "close_case",
    "comment_case",
    "list_cases",
    "reopen_case",
    "show_case",
    "sla_hours",
]

STATES = repo.STATES
DISPOSITIONS = ("true_match", "false_positive", "not_sanctions_related", "escalated")
DEFAULT_SUPPRESSION_DAYS = 365
MAX_LIMIT = 10_000
MAX_TEXT = 10_000
MAX_ATTACHMENT = 1_000_000  # bytes of JSON
WORKABLE = ("open", "in_review", "reopened")

STATE_JA = {
    "open": "未着手",
    "in_review": "調査中",
    "pending_approval": "承認待ち",
    "closed": "完了",
    "reopened": "再調査",
}
DISPOSITION_JA = {
    "true_match": "真の一致",
    "false_positive": "誤検知",
    "not_sanctions_related": "制裁と無関係",
    "escalated": "MLRO へエスカレーション",
}


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite gives back naive datetimes; they were stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def sla_hours(ctx: Context) -> dict[str, int]:
    """Hours to resolve a case by severity: the configured ones merged over the defaults (an
    override may name only some severities)."""
    return dict(ctx.settings.sla_hours)


def _suppression_days(ctx: Context, days: int | None) -> int:
    chosen = days if days is not None else ctx.settings.suppression_days
    if not 1 <= chosen <= 3650:
        raise BadRequest("suppression days: between 1 and 3650")
    return chosen


# --- answers ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseAlertOut:
    alert_id: int
    time: str | None
    customer_id: str | None
    rule: str
    severity: str
    action: str
    subject: str
    summary: str
    summary_ja: str
    evidence: dict[str, Any]
    evidence_key: str
    decision_id: str | None
    event_id: str | None
    snapshot_id: int | None
    count: int
    status: str
    entity_id: str | None
    suppressed_by: int | None

    @classmethod
    def of(cls, row: Any) -> CaseAlertOut:
        evidence = row.evidence
        if isinstance(evidence, str):
            evidence = json.loads(evidence)
        return cls(
            alert_id=int(row.id),
            time=_iso(row.time),
            customer_id=row.customer_id,
            rule=row.rule,
            severity=row.severity,
            action=row.action,
            subject=row.subject,
            summary=row.summary,
            summary_ja=row.summary_ja,
            evidence=dict(evidence or {}),
            evidence_key=row.evidence_key,
            decision_id=row.decision_id,
            event_id=row.event_id,
            snapshot_id=row.snapshot_id,
            count=int(row.count),
            status=row.status,
            entity_id=row.entity_id or repo.alert_entity_id(dict(row._mapping)),
            suppressed_by=row.suppressed_by,
        )


@dataclass(frozen=True)
class CommentOut:
    note_id: int
    author: str
    time: str | None
    text: str


@dataclass(frozen=True)
class AttachmentOut:
    note_id: int
    author: str
    time: str | None
    name: str
    content: Any


@dataclass(frozen=True)
class SuppressionOut:
    suppression_id: int
    customer_id: str
    entity_id: str
    state: str
    decided_by: str
    approved_by: str | None
    created_at: str | None
    expires_at: str | None
    ended_reason: str | None
    entity_fingerprint: str | None
    customer_fingerprint: str | None

    @classmethod
    def of(cls, row: Any) -> SuppressionOut:
        return cls(
            suppression_id=int(row.id),
            customer_id=row.customer_id,
            entity_id=row.entity_id,
            state=row.state,
            decided_by=row.decided_by,
            approved_by=row.approved_by,
            created_at=_iso(row.created_at),
            expires_at=_iso(row.expires_at),
            ended_reason=row.ended_reason,
            entity_fingerprint=row.entity_fingerprint,
            customer_fingerprint=row.customer_fingerprint,
        )


@dataclass(frozen=True)
class CaseOut:
    """A case with its alerts, comments, attachments and the suppressions it decided; the JSON
    of ``cases show --json`` and ``GET /v1/cases/{id}`` (``to_dict``)."""

    case_id: int
    subject: str
    subject_type: str
    customer_id: str | None
    state: str
    severity: str
    assignee: str | None
    due: str | None
    overdue: bool
    disposition: str | None
    reason: str | None
    opened_at: str | None
    updated_at: str | None
    closed_by: str | None
    closed_at: str | None
    approved_by: str | None
    approved_at: str | None
    alert_count: int  # alerts merged in, duplicates counted
    alerts: list[CaseAlertOut] = field(default_factory=list)
    comments: list[CommentOut] = field(default_factory=list)
    attachments: list[AttachmentOut] = field(default_factory=list)
    suppressions: list[SuppressionOut] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def state_ja(self) -> str:
        return STATE_JA.get(self.state, self.state)


def _case_out(
    row: Any,
    alert_rows: list[Any],
    note_rows: list[Any],
    suppression_rows: list[Any],
    at: datetime,
) -> CaseOut:
    alerts = [CaseAlertOut.of(a) for a in alert_rows]
    due = _aware(row.due) if row.due is not None else None
    return CaseOut(
        case_id=int(row.id),
        subject=row.subject,
        subject_type=row.subject_type,
        customer_id=row.customer_id,
        state=row.state,
        severity=row.severity,
        assignee=row.assignee,
        due=_iso(due),
        overdue=bool(due is not None and row.state != repo.CLOSED and due < at),
        disposition=row.disposition,
        reason=row.reason,
        opened_at=_iso(row.opened_at),
        updated_at=_iso(row.updated_at),
        closed_by=row.closed_by,
        closed_at=_iso(row.closed_at),
        approved_by=row.approved_by,
        approved_at=_iso(row.approved_at),
        alert_count=sum(a.count for a in alerts),
        alerts=alerts,
        comments=[
            CommentOut(int(n.id), n.author, _iso(n.time), n.text)
            for n in note_rows
            if n.kind == "comment"
        ],
        attachments=[
            AttachmentOut(int(n.id), n.author, _iso(n.time), n.text, n.content)
            for n in note_rows
            if n.kind == "attachment"
        ],
        suppressions=[SuppressionOut.of(s) for s in suppression_rows],
    )


def _load(conn: sa.Connection, rows: list[Any]) -> list[CaseOut]:
    ids = [int(r.id) for r in rows]
    alerts = repo.alerts_of(conn, ids)
    notes = repo.notes_of(conn, ids)
    at = now()
    return [
        _case_out(r, alerts[int(r.id)], notes[int(r.id)], repo.suppressions_of(conn, int(r.id)), at)
        for r in rows
    ]


def _brief(row: Any) -> dict[str, Any]:
    """What the audit record keeps of a case around an action."""
    return {
        "state": row.state,
        "severity": row.severity,
        "assignee": row.assignee,
        "due": _iso(row.due),
        "disposition": row.disposition,
        "reason": row.reason,
        "closed_by": row.closed_by,
        "approved_by": row.approved_by,
    }


# --- queries ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CaseQuery:
    """Filters of ``cases list`` and ``GET /v1/cases``."""

    state: str | None = None
    assignee: str | None = None
    customer_id: str | None = None
    limit: int = 1000

    def __post_init__(self) -> None:
        if self.state is not None and self.state not in STATES:
            raise BadRequest(f"state: one of {', '.join(STATES)}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise BadRequest(f"limit: must be between 1 and {MAX_LIMIT}")


def list_cases(ctx: Context, query: CaseQuery | None = None) -> list[CaseOut]:
    """Cases, the most urgent (earliest due) first, filtered."""
    q = query or CaseQuery()
    with ctx.db.connect() as conn:
        rows = repo.find_cases(
            conn, state=q.state, assignee=q.assignee, customer_id=q.customer_id, limit=q.limit
        )
        return _load(conn, rows)


def _row(conn: sa.Connection, case_id: int) -> Any:
    row = repo.case_row(conn, case_id)
    if row is None:
        raise NotFound(f"case {case_id} is not known")
    return row


def show_case(ctx: Context, case_id: int) -> CaseOut:
    with ctx.db.connect() as conn:
        return _load(conn, [_row(conn, case_id)])[0]


# --- actions ----------------------------------------------------------------------------------
def _text(value: str | None, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise BadRequest(f"{what}: required")
    if len(text) > MAX_TEXT:
        raise BadRequest(f"{what}: at most {MAX_TEXT} characters")
    return text


def _worker(actor: Principal) -> None:
    if actor.kind != "user":
        raise Forbidden("cases are worked by users, not API keys")
    actor.require(Permission.WORK)


def _set(
    conn: sa.Connection,
    row: Any,
    actor: Principal,
    action: str,
    values: dict[str, Any],
    *,
    from_states: tuple[str, ...] | None = None,
    reason: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Any:
    """Change the case (a compare-and-set on its state) and record the action."""
    states = from_states or (row.state,)
    if not repo.transition(conn, int(row.id), states, values):
        raise Conflict(f"case {row.id} was changed meanwhile; try again")
    after = _row(conn, int(row.id))
    audit.record(
        conn,
        actor=actor.name,
        action=f"case.{action}",
        object_type="case",
        object_id=int(row.id),
        before=_brief(row),
        after={**_brief(after), **(extra or {})},
        reason=reason,
    )
    return after


def _start_review(row: Any) -> dict[str, Any]:
    return {"state": "in_review"} if row.state in ("open", "reopened") else {}


def assign_case(ctx: Context, actor: Principal, case_id: int, to: str) -> CaseOut:
    """Give the case to a user who works cases; an open case goes ``in_review``."""
    _worker(actor)
    name = _text(to, "assignee")
    with ctx.db.begin() as conn:
        user = users_repo.find_user(conn, name)
        if user is None or user.disabled:
            raise BadRequest(f"assignee: {name!r} is not a known, enabled user")
        if Permission.WORK not in ROLE_PERMISSIONS.get(Role(user.role), frozenset()):
            raise BadRequest(f"assignee: {name!r} ({user.role}) does not work cases")
        row = _row(conn, case_id)
        if row.state == repo.CLOSED:
            raise Conflict(f"case {case_id} is closed: reopen it first")
        _set(conn, row, actor, "assign", {"assignee": name, **_start_review(row)})
    return show_case(ctx, case_id)


def comment_case(ctx: Context, actor: Principal, case_id: int, text: str) -> CaseOut:
    """Add a comment; the first on an open case puts it ``in_review``."""
    _worker(actor)
    body = _text(text, "text")
    with ctx.db.begin() as conn:
        row = _row(conn, case_id)
        note_id = repo.add_note(conn, case_id, "comment", actor.name, body)
        _set(conn, row, actor, "comment", _start_review(row), extra={"note_id": note_id})
    return show_case(ctx, case_id)


def attach_evidence(
    ctx: Context, actor: Principal, case_id: int, name: str, content: Any
) -> CaseOut:
    """Attach evidence captured now as JSON (``content``) under ``name``."""
    _worker(actor)
    label = _text(name, "name")
    try:
        text = json.dumps(content, ensure_ascii=False, default=str)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"content: not JSON ({exc})") from exc
    if len(text.encode()) > MAX_ATTACHMENT:
        raise BadRequest(f"content: at most {MAX_ATTACHMENT} bytes of JSON")
    with ctx.db.begin() as conn:
        row = _row(conn, case_id)
        note_id = repo.add_note(conn, case_id, "attachment", actor.name, label, json.loads(text))
        _set(
            conn,
            row,
            actor,
            "attach",
            _start_review(row),
            extra={"note_id": note_id, "attachment": label},
        )
    return show_case(ctx, case_id)


def _suppression_pairs(conn: sa.Connection, row: Any) -> list[tuple[str, str]]:
    """(customer, listed entity) of the case's alerts that a false positive would suppress."""
    if not row.customer_id:
        return []
    pairs = set()
    for alert in repo.alerts_of(conn, [int(row.id)])[int(row.id)]:
        entity = alert.entity_id or repo.alert_entity_id(dict(alert._mapping))
        if entity:
            pairs.add((str(alert.customer_id or row.customer_id), str(entity)))
    return sorted(pairs)


def close_case(
    ctx: Context,
    actor: Principal,
    case_id: int,
    disposition: str,
    reason: str,
    *,
    suppress: bool = True,
    suppression_days: int | None = None,
) -> CaseOut:
    """Close with a disposition and a reason. ``true_match``, and ``false_positive`` on a
    customer's alerts about listed entities (which will suppress the same alerts; ``suppress``
    False records the decision without that), go to ``pending_approval``; the rest close."""
    _worker(actor)
    if disposition not in DISPOSITIONS:
        raise BadRequest(f"disposition: one of {', '.join(DISPOSITIONS)}")
    why = _text(reason, "reason")
    days = _suppression_days(ctx, suppression_days)
    with ctx.db.begin() as conn:
        row = _row(conn, case_id)
        if row.state not in WORKABLE:
            raise Conflict(
                f"case {case_id} is {row.state}: only an open, in_review or reopened case closes"
            )
        pairs = (
            _suppression_pairs(conn, row) if disposition == "false_positive" and suppress else []
        )
        pending = disposition == "true_match" or bool(pairs)
        stamp = now()
        after = _set(
            conn,
            row,
            actor,
            "close",
            {
                "state": "pending_approval" if pending else repo.CLOSED,
                "disposition": disposition,
                "reason": why,
                "closed_by": actor.name,
                "closed_at": stamp,
                "approved_by": None,
                "approved_at": None,
            },
            reason=why,
            extra={"suppressions": [list(p) for p in pairs]},
        )
        for customer_id, entity_id in pairs:
            values: dict[str, Any] = {
                "customer_id": customer_id,
                "entity_id": entity_id,
                "entity_fingerprint": repo.entity_fingerprint(conn, entity_id),
                "customer_fingerprint": repo.customer_fingerprint(conn, customer_id),
                "case_id": case_id,
                "decided_by": actor.name,
                "state": "pending_approval",
                "expires_at": stamp + timedelta(days=days),
            }
            sid = repo.add_suppression(conn, values)
            audit.record(
                conn,
                actor=actor.name,
                action="suppression.create",
                object_type="suppression",
                object_id=sid,
                after={**values, "expires_at": _iso(values["expires_at"])},
                reason=why,
            )
        if after.state == repo.CLOSED:
            repo.set_alert_status(conn, case_id, "closed")
    return show_case(ctx, case_id)


def approve_case(
    ctx: Context, actor: Principal, case_id: int, reason: str | None = None
) -> CaseOut:
    """The second pair of eyes: a user with ``approve`` who did not close the case approves
    the closing (``pending_approval`` → ``closed``); its suppressions become active."""
    if actor.kind != "user":
        raise Forbidden("approvals are made by users, not API keys")
    actor.require(Permission.APPROVE)
    note = (reason or "").strip() or None
    if note is not None and len(note) > MAX_TEXT:
        raise BadRequest(f"reason: at most {MAX_TEXT} characters")
    with ctx.db.begin() as conn:
        row = _row(conn, case_id)
        if row.state != "pending_approval":
            raise Conflict(f"case {case_id} is {row.state}: nothing waits for approval")
        if row.closed_by == actor.name:
            raise Forbidden(
                f"four-eyes: {actor.name!r} closed case {case_id} and may not approve it; "
                "another approver must (四つの目: 起票者は自分の判断を承認できません。"
                "別の承認者が承認してください)"
            )
        stamp = now()
        _set(
            conn,
            row,
            actor,
            "approve",
            {"state": repo.CLOSED, "approved_by": actor.name, "approved_at": stamp},
            from_states=("pending_approval",),
            reason=note,
        )
        for s in repo.suppressions_of(conn, case_id):
            if s.state != "pending_approval":
                continue
            # The expiry runs from the approval: the decision holds from then on.
            expires = stamp + (_aware(s.expires_at) - _aware(s.created_at))
            repo.set_suppression(
                conn, int(s.id), state="active", approved_by=actor.name, expires_at=expires
            )
            audit.record(
                conn,
                actor=actor.name,
                action="suppression.activate",
                object_type="suppression",
                object_id=int(s.id),
                before={"state": s.state},
                after={
                    "state": "active",
                    "customer_id": s.customer_id,
                    "entity_id": s.entity_id,
                    "expires_at": _iso(expires),
                },
                reason=note,
            )
        repo.set_alert_status(conn, case_id, "closed")
    return show_case(ctx, case_id)


def reopen_case(ctx: Context, actor: Principal, case_id: int, reason: str) -> CaseOut:
    """Reopen a closed case, or send one back from ``pending_approval`` (a declined
    approval): the disposition is withdrawn (the audit trail keeps it), the suppressions it
    decided end, its alerts are open again."""
    _worker(actor)
    why = _text(reason, "reason")
    with ctx.db.begin() as conn:
        row = _row(conn, case_id)
        if row.state not in ("closed", "pending_approval"):
            raise Conflict(f"case {case_id} is {row.state}: only a closed or pending case reopens")
        note_id = repo.add_note(conn, case_id, "comment", actor.name, f"reopened / 再調査: {why}")
        _set(
            conn,
            row,
            actor,
            "reopen",
            {
                "state": "reopened",
                "disposition": None,
                "reason": None,
                "closed_by": None,
                "closed_at": None,
                "approved_by": None,
                "approved_at": None,
            },
            reason=why,
            extra={"note_id": note_id},
        )
        for s in repo.suppressions_of(conn, case_id):
            if s.state in ("pending_approval", "active"):
                repo.end_suppression(
                    conn,
                    s,
                    "invalidated",
                    f"case {case_id} reopened by {actor.name}: {why}",
                    audit=audit.record,
                    actor=actor.name,
                )
        repo.set_alert_status(conn, case_id, "open", from_status="closed")
    return show_case(ctx, case_id)
