"""Holds: the deposits and withdrawals a ``hold`` decision stopped, and what becomes of them.

    held ──request_release──▶ release_pending ──approve_release (another approver)──▶ released
      │                              │
      └──────────reject──────────────┴──────────▶ rejected (funds stay frozen)

Releasing takes two people (four-eyes): an analyst asks (``request_release``), and a different
user with the ``approve`` permission approves; maker ≠ checker is enforced here. ``reject``
keeps the funds frozen; when the subject is an asset-freeze target of the FSA request
(``target=True``), it also opens an ``asset_freeze_report`` task for the report to the FSA and
the MOF. Any other move is a ``Conflict``. Every change writes an audit record and queues a
webhook delivery in its own transaction.

No tipping off: ``Hold.to_dict()`` — what the API answers and the webhook carries — holds only
the hold id, state, event id, decision id, kind, asset, amount and times; never reasons, rules,
reports or case notes (those stay in the audit trail and the case).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sanctrace.cases import audit, webhooks
from sanctrace.cases.auth import Forbidden, Permission, Principal, Role
from sanctrace.errors import BadRequest, Conflict, NotFound
from sanctrace.services.context import Context
from sanctrace.store import holds as repo
from sanctrace.store import monitoring as monitoring_repo
from sanctrace.store.snapshots import now
from sanctrace.store.tables import decisions, users

__all__ = [
    "review_details",
    "STATES",
    "Hold",
    "HoldQuery",
    "approve_release",
    "get_hold",
    "list_holds",
    "reject",
    "request_release",
]

STATES = repo.STATES
FREEZE_REPORT = "asset_freeze_report"


@dataclass(frozen=True)
class Hold:
    """A hold as the platform may see it (``to_dict``), and, for the compliance team, who
    acted on it."""

    hold_id: int
    state: str
    event_id: str
    decision_id: str
    kind: str
    asset: str | None
    amount: str | None
    created_at: str | None
    updated_at: str | None
    # internal: never in ``to_dict`` (the API and the webhook)
    customer_id: str
    case_id: int | None
    requested_by: str | None
    decided_by: str | None

    @classmethod
    def of_row(cls, row: Any) -> Hold:
        shown = repo.public(row)
        return cls(
            **shown,
            customer_id=row.customer_id,
            case_id=row.case_id,
            requested_by=row.requested_by,
            decided_by=row.decided_by,
        )

    def to_dict(self) -> dict[str, Any]:
        """The public view (``store.holds.PUBLIC_FIELDS``): nothing that could tip off."""
        return {name: getattr(self, name) for name in repo.PUBLIC_FIELDS}

    def internal(self) -> dict[str, Any]:
        """The compliance team's view (the CLI's table): the public one and who acted."""
        return {
            **self.to_dict(),
            "customer_id": self.customer_id,
            "case_id": self.case_id,
            "requested_by": self.requested_by,
            "decided_by": self.decided_by,
        }


@dataclass(frozen=True)
class HoldQuery:
    state: str | None = None
    customer_id: str | None = None
    limit: int = 1000

    def __post_init__(self) -> None:
        if self.state is not None and self.state not in STATES:
            raise BadRequest(f"state: {self.state!r} is not one of {', '.join(STATES)}")
        if not 1 <= self.limit <= 10_000:
            raise BadRequest("limit: must be between 1 and 10000")


def list_holds(ctx: Context, query: HoldQuery | None = None) -> list[Hold]:
    """Holds, newest first."""
    q = query or HoldQuery()
    with ctx.db.connect() as conn:
        rows = repo.query(conn, state=q.state, customer_id=q.customer_id, limit=q.limit)
    return [Hold.of_row(r) for r in rows]


def get_hold(ctx: Context, hold_id: int) -> Hold:
    with ctx.db.connect() as conn:
        row = repo.find(conn, hold_id)
    if row is None:
        raise NotFound(f"hold {hold_id} is not known")
    return Hold.of_row(row)


def principal_of(conn: sa.Connection, user: Principal | str) -> Principal:
    """``user`` as a principal: a name is looked up among the users (unknown or disabled is
    ``Forbidden``)."""
    if isinstance(user, Principal):
        return user
    name = (user or "").strip()
    if not name:
        raise Forbidden("an acting user is required (--user or $SANCTRACE_USER)")
    row = conn.execute(
        sa.select(users.c.role, users.c.disabled).where(users.c.name == name)
    ).one_or_none()
    if row is None or row.disabled:
        raise Forbidden(f"user {name!r} is not known or is disabled")
    return Principal(name=name, kind="user", role=Role(row.role))


def _require_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise BadRequest("reason: a reason is required")
    if len(text) > 10_000:
        raise BadRequest("reason: at most 10000 characters")
    return text


def _state_snapshot(row: Any) -> dict[str, Any]:
    """What the audit record keeps of a hold around an action."""
    return {**Hold.of_row(row).internal()}


def _change(
    ctx: Context,
    hold_id: int,
    who: Principal | str,
    *,
    action: str,
    permission: Permission,
    from_states: tuple[str, ...],
    to_state: str,
    reason: str | None,
    checks: Any = None,
    extra: Any = None,
) -> Hold:
    with ctx.db.begin() as conn:
        actor = principal_of(conn, who)
        actor.require(permission)
        row = repo.find(conn, hold_id)
        if row is None:
            raise NotFound(f"hold {hold_id} is not known")
        if row.state not in from_states:
            raise Conflict(
                f"hold {hold_id} is {row.state}: {action} needs it {' or '.join(from_states)}"
            )
        if checks is not None:
            checks(row, actor)
        values: dict[str, Any] = {"state": to_state, "updated_at": now()}
        if row.case_id is None:
            case_id = repo.case_for_decision(conn, row.decision_id)
            if case_id is not None:
                values["case_id"] = case_id
        if to_state == "release_pending":
            values["requested_by"] = actor.name
            values["reason"] = reason
        else:
            values["decided_by"] = actor.name
            if reason is not None:
                values["reason"] = reason
        if not repo.transition(conn, hold_id, (row.state,), values):
            raise Conflict(f"hold {hold_id} was changed meanwhile; try again")
        after = repo.find(conn, hold_id)
        audit.record(
            conn,
            actor=actor.name,
            action=f"hold.{action}",
            object_type="hold",
            object_id=hold_id,
            before=_state_snapshot(row),
            after=_state_snapshot(after),
            reason=reason,
        )
        if extra is not None:
            extra(conn, after, actor)
        hold = Hold.of_row(after)
        webhooks.enqueue(conn, f"hold.{to_state}", {"hold": hold.to_dict()})
    return hold


def request_release(ctx: Context, hold_id: int, user: Principal | str, reason: str) -> Hold:
    """The maker's half of a release: ``held`` → ``release_pending`` (needs ``work``)."""
    text = _require_reason(reason)
    return _change(
        ctx,
        hold_id,
        user,
        action="release_requested",
        permission=Permission.WORK,
        from_states=("held",),
        to_state="release_pending",
        reason=text,
    )


def approve_release(ctx: Context, hold_id: int, user: Principal | str) -> Hold:
    """The checker's half: ``release_pending`` → ``released`` by a user with ``approve`` who
    is not the one who asked (four-eyes)."""

    def four_eyes(row: Any, actor: Principal) -> None:
        if actor.kind != "user":
            raise Forbidden("a release is approved by a user, not an API key")
        if row.requested_by and row.requested_by == actor.name:
            raise Forbidden(
                f"user {actor.name!r} asked for this release: another approver must approve it"
            )

    return _change(
        ctx,
        hold_id,
        user,
        action="released",
        permission=Permission.APPROVE,
        from_states=("release_pending",),
        to_state="released",
        reason=None,
        checks=four_eyes,
    )


def reject(
    ctx: Context, hold_id: int, user: Principal | str, reason: str, *, target: bool = False
) -> Hold:
    """``held`` or ``release_pending`` → ``rejected``: the funds stay frozen. ``target``: the
    subject is an asset-freeze target of the FSA request, so an ``asset_freeze_report`` task
    is opened (the report of the frozen assets to the FSA and the MOF; internal only)."""
    text = _require_reason(reason)

    def report(conn: sa.Connection, row: Any, actor: Principal) -> None:
        if not target:
            return
        reasons = conn.execute(
            sa.select(decisions.c.reasons).where(decisions.c.decision_id == row.decision_id)
        ).scalar()
        task_id = repo.add_task(
            conn,
            FREEZE_REPORT,
            f"hold:{row.id}",
            {
                "hold": Hold.of_row(row).internal(),
                "chain": row.chain,
                "decision_reasons": reasons or [],
                "rejected_by": actor.name,
                "reason": text,
            },
            row.case_id,
        )
        audit.record(
            conn,
            actor=actor.name,
            action="task.opened",
            object_type="task",
            object_id=task_id,
            after={"kind": FREEZE_REPORT, "subject": f"hold:{row.id}", "state": "open"},
            reason=text,
        )

    return _change(
        ctx,
        hold_id,
        user,
        action="rejected",
        permission=Permission.WORK,
        from_states=("held", "release_pending"),
        to_state="rejected",
        reason=text,
        extra=report,
    )


def review_details(
    ctx: Context, found: list[Hold]
) -> dict[int, tuple[list[dict[str, Any]], str | None]]:
    """For the compliance team only (the console, never the platform): per hold id, the
    reasons of the decision that held it and the note of its release request or rejection."""
    details: dict[int, tuple[list[dict[str, Any]], str | None]] = {}
    with ctx.db.connect() as conn:
        for hold in found:
            decision = monitoring_repo.find_decision(conn, hold.decision_id)
            stored = repo.find(conn, hold.hold_id)
            reasons = list(decision.reasons) if decision is not None else []
            details[hold.hold_id] = (reasons, stored.reason if stored is not None else None)
    return details
