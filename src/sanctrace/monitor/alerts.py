"""Alerts: what the rules, the decisions and the lookback raised, for analysts and cases.

An alert names its customer, the rule, severity and action, the subject (an address, a name, an
IP), a summary in English and Japanese, its evidence, the decision and event it came from and,
for the lookback, the list snapshot that caused it. A finding that repeats an open alert counts
on it (``count``) instead of a new row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sanctrace.errors import BadRequest
from sanctrace.services.context import Context
from sanctrace.store import monitoring as repo

__all__ = ["MAX_LIMIT", "AlertOut", "AlertQuery", "list_alerts"]

MAX_LIMIT = 10_000


@dataclass(frozen=True, kw_only=True)
class AlertQuery:
    """Filters of ``alerts list`` and ``GET /v1/alerts``."""

    customer_id: str | None = None
    rule: str | None = None
    status: str | None = None
    limit: int = 1000

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise BadRequest(f"limit: must be between 1 and {MAX_LIMIT}")
        if self.status is not None and self.status not in ("open", "closed", "suppressed"):
            raise BadRequest("status: open, closed or suppressed")


@dataclass(frozen=True)
class AlertOut:
    alert_id: int
    time: str
    customer_id: str | None
    rule: str
    severity: str
    action: str
    subject: str
    summary: str
    summary_ja: str
    evidence: dict[str, Any]
    decision_id: str | None
    event_id: str | None
    snapshot_id: int | None
    count: int
    status: str
    entity_id: str | None = None  # the listed entity it is about, when one
    suppressed_by: int | None = None  # the suppression (decision memory) that muted it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _out(row: Any) -> AlertOut:
    time = row.time
    return AlertOut(
        alert_id=int(row.id),
        time=time.isoformat() if hasattr(time, "isoformat") else str(time),
        customer_id=row.customer_id,
        rule=row.rule,
        severity=row.severity,
        action=row.action,
        subject=row.subject,
        summary=row.summary,
        summary_ja=row.summary_ja,
        evidence=dict(row.evidence or {}),
        decision_id=row.decision_id,
        event_id=row.event_id,
        snapshot_id=row.snapshot_id,
        count=int(row.count),
        status=row.status,
        entity_id=row.entity_id,
        suppressed_by=row.suppressed_by,
    )


def list_alerts(ctx: Context, query: AlertQuery | None = None) -> list[AlertOut]:
    """Alerts, newest first, filtered."""
    query = query or AlertQuery()
    with ctx.db.connect() as conn:
        rows = repo.find_alerts(
            conn,
            customer_id=query.customer_id,
            rule=query.rule,
            status=query.status,
            limit=query.limit,
        )
    return [_out(r) for r in rows]


# --- the console's dashboard and queue filters ---------------------------------------------------
from datetime import datetime  # noqa: E402 - kept with the section it serves

import sqlalchemy as sa  # noqa: E402

from sanctrace.store.tables import alerts as _alerts  # noqa: E402
from sanctrace.store.tables import decisions as _decisions  # noqa: E402

DECISION_OUTCOMES = ("allow", "hold", "block")


def open_alert_counts(ctx: Context) -> dict[str, int]:
    """Open alerts by severity, counted in the database."""
    query = (
        sa.select(_alerts.c.severity, sa.func.count())
        .where(_alerts.c.status == "open")
        .group_by(_alerts.c.severity)
    )
    with ctx.db.connect() as conn:
        return {str(sev): int(n) for sev, n in conn.execute(query)}


def alert_rules(ctx: Context) -> list[str]:
    """The rules that raised any stored alert: one index seek per rule, not a scan."""
    found: list[str] = []
    with ctx.db.connect() as conn:
        while True:
            query = sa.select(sa.func.min(_alerts.c.rule))
            if found:
                query = query.where(_alerts.c.rule > found[-1])
            rule = conn.execute(query).scalar()
            if rule is None or len(found) >= 500:
                return found
            found.append(str(rule))


def decision_counts(ctx: Context, since: datetime, until: datetime) -> dict[str, int]:
    """Decisions made in [``since``, ``until``) by outcome (``allow``, ``hold``, ``block``;
    each present, zero when none)."""
    query = (
        sa.select(_decisions.c.decision, sa.func.count())
        .where(_decisions.c.decided_at >= since, _decisions.c.decided_at < until)
        .group_by(_decisions.c.decision)
    )
    with ctx.db.connect() as conn:
        found = {str(d): int(n) for d, n in conn.execute(query)}
    return {**dict.fromkeys(DECISION_OUTCOMES, 0), **found}


__all__ += [  # noqa: PLE0605 - the console's additions
    "DECISION_OUTCOMES",
    "alert_rules",
    "decision_counts",
    "open_alert_counts",
]
