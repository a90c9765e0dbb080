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
    "SEVERITY_RANK",
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

SEVERITY_RANK = repo.SEVERITY_RANK  # severities, least to most (for sorting queues)


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


# --- the console's queue and dashboard ----------------------------------------------------------
# Paged, sorted and counted in the database: the console never loads every case.
from sanctrace.store import tables as _t  # noqa: E402 - kept with the section it serves

QUEUE_SORTS = ("due", "severity", "opened", "opened_desc", "updated")
PAGE_SIZES = (25, 50, 100, 200)
COUNT_CAP = 10_000  # counted exactly up to here; beyond, "10,000+"
UNASSIGNED = "-"  # the assignee filter's "nobody"
TAKEABLE = ("open", "reopened")


def _severity_rank() -> Any:
    return sa.case(repo.SEVERITY_RANK, value=_t.cases.c.severity, else_=-1)


@dataclass(frozen=True, kw_only=True)
class QueueQuery:
    """The console queue's filters, sort and page. ``state`` None: every state but closed;
    ``"all"``: any. ``assignee`` ``"-"``: unassigned. ``source``: a list source (cases with an
    alert about an entity of that list). ``opened_from``/``opened_to``: UTC instants (the page
    turns dates of the configured zone into them); ``opened_to`` is exclusive."""

    state: str | None = None
    severity: str | None = None
    rule: str | None = None
    assignee: str | None = None
    source: str | None = None
    overdue: bool = False
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    sort: str = "due"
    page: int = 1
    page_size: int = 50

    def __post_init__(self) -> None:
        if self.state is not None and self.state != "all" and self.state not in STATES:
            raise BadRequest(f"state: all or one of {', '.join(STATES)}")
        if self.severity is not None and self.severity not in repo.SEVERITY_RANK:
            raise BadRequest(f"severity: one of {', '.join(repo.SEVERITY_RANK)}")
        if self.sort not in QUEUE_SORTS:
            raise BadRequest(f"sort: one of {', '.join(QUEUE_SORTS)}")
        if not 1 <= self.page_size <= max(PAGE_SIZES):
            raise BadRequest(f"page size: between 1 and {max(PAGE_SIZES)}")
        if not 1 <= self.page <= 1_000_000:
            raise BadRequest("page: between 1 and 1000000")


@dataclass(frozen=True)
class QueueRow:
    """One case of the queue, with what the list shows of it."""

    case_id: int
    subject: str
    subject_type: str
    customer_id: str | None
    customer_name: str | None
    state: str
    severity: str
    assignee: str | None
    due: str | None
    overdue: bool
    opened_at: str | None
    updated_at: str | None
    alert_count: int
    rules: list[str]


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    page: int
    page_size: int
    total: int  # exact up to COUNT_CAP
    total_capped: bool  # more than COUNT_CAP
    has_next: bool

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _queue_where(conn: sa.Connection, q: QueueQuery, at: datetime) -> list[Any]:
    c = _t.cases.c
    where: list[Any] = []
    if q.state is None:
        where.append(c.state.in_(repo.OPEN_STATES))
    elif q.state != "all":
        where.append(c.state == q.state)
    if q.severity is not None:
        where.append(c.severity == q.severity)
    if q.assignee == UNASSIGNED:
        where.append(c.assignee.is_(None))
    elif q.assignee:
        where.append(c.assignee == q.assignee)
    if q.overdue:
        where += [c.due < at, c.state != repo.CLOSED]
    if q.opened_from is not None:
        where.append(c.opened_at >= q.opened_from)
    if q.opened_to is not None:
        where.append(c.opened_at < q.opened_to)
    if q.rule or q.source:
        where.append(_alert_filter(conn, q))
    return where


SELECTIVE = 20_000  # alerts: fewer matching ones are looked up from the alert side


def _alert_filter(conn: sa.Connection, q: QueueQuery) -> Any:
    """Cases with an alert of rule ``q.rule`` about an entity of list ``q.source``. A rare
    match is gathered from the alerts' indexes (``IN``); a common one is checked case by case
    as the queue is walked (``EXISTS``), which stops at the page."""
    a, ca, c = _t.alerts.c, _t.case_alerts.c, _t.cases.c
    conditions = []
    if q.rule:
        conditions.append(a.rule == q.rule)
    if q.source:  # entity ids are "<source>:<id>": a range of the index, ";" follows ":"
        conditions += [a.entity_id >= f"{q.source}:", a.entity_id < f"{q.source};"]
    matching = conn.execute(
        sa.select(sa.func.count()).select_from(
            sa.select(a.id).where(*conditions).limit(SELECTIVE + 1).subquery()
        )
    ).scalar_one()
    if matching <= SELECTIVE:
        ids = (
            sa.select(ca.case_id)
            .select_from(_t.case_alerts.join(_t.alerts, a.id == ca.alert_id))
            .where(*conditions)
        )
        return c.id.in_(ids)
    return (
        sa.select(sa.literal(1))
        .select_from(_t.case_alerts.join(_t.alerts, a.id == ca.alert_id))
        .where(ca.case_id == c.id, *conditions)
        .exists()
    )


def _queue_order(sort: str) -> list[Any]:
    c = _t.cases.c
    return {
        "due": [c.due, c.id],
        "severity": [_severity_rank().desc(), c.due, c.id],
        "opened": [c.opened_at, c.id],
        "opened_desc": [c.opened_at.desc(), c.id.desc()],
        "updated": [c.updated_at.desc(), c.id.desc()],
    }[sort]


def _display_names(conn: sa.Connection, customer_ids: set[str]) -> dict[str, str]:
    """Each customer's first stored name (its legal name, as stored first)."""
    if not customer_ids:
        return {}
    n = _t.customer_names.c
    found: dict[str, str] = {}
    for cid, name in conn.execute(
        sa.select(n.customer_id, n.name)
        .where(n.customer_id.in_(sorted(customer_ids)))
        .order_by(n.customer_id, n.id)
    ):
        found.setdefault(cid, name)
    return found


def queue_page(ctx: Context, query: QueueQuery | None = None) -> QueuePage:
    """One page of the case queue, filtered and sorted, with a bounded count."""
    q = query or QueueQuery()
    at = now()
    c = _t.cases.c
    offset = (q.page - 1) * q.page_size
    with ctx.db.connect() as conn:
        where = _queue_where(conn, q, at)
        rows = list(
            conn.execute(
                sa.select(_t.cases)
                .where(*where)
                .order_by(*_queue_order(q.sort))
                .limit(q.page_size + 1)
                .offset(offset)
            )
        )
        has_next = len(rows) > q.page_size
        rows = rows[: q.page_size]
        counted = conn.execute(
            sa.select(sa.func.count()).select_from(
                sa.select(c.id).where(*where).limit(COUNT_CAP + 1).subquery()
            )
        ).scalar_one()
        ids = [int(r.id) for r in rows]
        rules: dict[int, dict[str, int]] = {i: {} for i in ids}
        if ids:
            a, ca = _t.alerts.c, _t.case_alerts.c
            for case_id, rule, total in conn.execute(
                sa.select(ca.case_id, a.rule, sa.func.sum(a.count))
                .select_from(_t.case_alerts.join(_t.alerts, a.id == ca.alert_id))
                .where(ca.case_id.in_(ids))
                .group_by(ca.case_id, a.rule)
            ):
                rules[int(case_id)][rule] = int(total or 0)
        names = _display_names(conn, {r.customer_id for r in rows if r.customer_id})
    out = []
    for r in rows:
        due = _aware(r.due) if r.due is not None else None
        out.append(
            QueueRow(
                case_id=int(r.id),
                subject=r.subject,
                subject_type=r.subject_type,
                customer_id=r.customer_id,
                customer_name=names.get(r.customer_id) if r.customer_id else None,
                state=r.state,
                severity=r.severity,
                assignee=r.assignee,
                due=_iso(due),
                overdue=bool(due is not None and r.state != repo.CLOSED and due < at),
                opened_at=_iso(r.opened_at),
                updated_at=_iso(r.updated_at),
                alert_count=sum(rules[int(r.id)].values()),
                rules=sorted(rules[int(r.id)]),
            )
        )
    capped = counted > COUNT_CAP
    total = min(counted, COUNT_CAP)
    if capped:  # a page beyond the cap still knows it exists
        total = max(total, offset + len(out) + (1 if has_next else 0))
    return QueuePage(out, q.page, q.page_size, total, capped, has_next)


def take_next(ctx: Context, actor: Principal) -> CaseOut | None:
    """Assign to ``actor`` the most severe, then oldest, unassigned open (or reopened) case;
    None when there is none. Two analysts taking at once never get the same case (the
    assignment is a compare-and-set on "still unassigned")."""
    _worker(actor)
    c = _t.cases.c
    for _attempt in range(10):
        with ctx.db.begin() as conn:
            candidate = None
            for severity in sorted(repo.SEVERITY_RANK, key=lambda s: -repo.SEVERITY_RANK[s]):
                candidate = conn.execute(
                    sa.select(_t.cases)
                    .where(c.severity == severity, c.assignee.is_(None), c.state.in_(TAKEABLE))
                    .order_by(c.opened_at, c.id)
                    .limit(1)
                ).first()
                if candidate is not None:
                    break
            if candidate is None:
                candidate = conn.execute(  # a severity outside the known ones
                    sa.select(_t.cases)
                    .where(c.assignee.is_(None), c.state.in_(TAKEABLE))
                    .order_by(c.opened_at, c.id)
                    .limit(1)
                ).first()
            if candidate is None:
                return None
            done = conn.execute(
                _t.cases.update()
                .where(c.id == candidate.id, c.assignee.is_(None), c.state.in_(TAKEABLE))
                .values(assignee=actor.name, state="in_review", updated_at=now())
            )
            if not done.rowcount:
                continue  # someone else took it meanwhile
            after = _row(conn, int(candidate.id))
            audit.record(
                conn,
                actor=actor.name,
                action="case.assign",
                object_type="case",
                object_id=int(candidate.id),
                before=_brief(candidate),
                after={**_brief(after), "take_next": True},
            )
            case_id = int(candidate.id)
        return show_case(ctx, case_id)
    raise Conflict("the queue changed too fast; try again")


def assignees(ctx: Context) -> list[str]:
    """The enabled users who work cases (whom a case may be assigned to), by name."""
    with ctx.db.connect() as conn:
        rows = users_repo.list_users(conn)
    return sorted(
        r.name
        for r in rows
        if not r.disabled
        and r.role in {x.value for x in Role}
        and Permission.WORK in ROLE_PERMISSIONS.get(Role(r.role), frozenset())
    )


@dataclass(frozen=True)
class SeverityCounts:
    """Cases not closed of one severity, by SLA: past due, due within a day, later."""

    severity: str
    total: int
    overdue: int
    due_soon: int
    unassigned: int


def open_case_counts(ctx: Context) -> list[SeverityCounts]:
    """Cases not closed, by severity (most severe first) and SLA, counted in the database."""
    at = now()
    c = _t.cases.c
    soon = at + timedelta(hours=24)

    def total(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    query = (
        sa.select(
            c.severity,
            sa.func.count(),
            total(c.due < at),
            total(sa.and_(c.due >= at, c.due < soon)),
            total(c.assignee.is_(None)),
        )
        .where(c.state.in_(repo.OPEN_STATES))
        .group_by(c.severity)
    )
    with ctx.db.connect() as conn:
        found = {
            sev: SeverityCounts(sev, int(n), int(o or 0), int(s or 0), int(u or 0))
            for sev, n, o, s, u in conn.execute(query)
        }
    known = sorted(repo.SEVERITY_RANK, key=lambda s: -repo.SEVERITY_RANK[s])
    extra = sorted(set(found) - set(known))
    return [found.get(s) or SeverityCounts(s, 0, 0, 0, 0) for s in known + extra]


__all__ += [  # noqa: PLE0605 - the console's additions
    "COUNT_CAP",
    "PAGE_SIZES",
    "QUEUE_SORTS",
    "QueuePage",
    "QueueQuery",
    "QueueRow",
    "SeverityCounts",
    "assignees",
    "open_case_counts",
    "queue_page",
    "take_next",
]
