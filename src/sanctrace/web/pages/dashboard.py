"""The console's dashboard: what needs attention now — stale lists first, then open alerts and
cases by severity and SLA, holds waiting, and today's decisions by outcome.

Everything is counted in the database by the services (``cases.open_case_counts``,
``alerts.open_alert_counts``, ``alerts.decision_counts``, ``lists.freshness``); "today" is the
calendar day in the configured zone (``SANCTRACE_TIMEZONE``, JST by default). A list is stale
after ``services.lists.STALE_AFTER`` without a load or a good fetch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sanctrace.cases import cases, holds
from sanctrace.cases.auth import Permission
from sanctrace.monitor import alerts
from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.web.render import page
from sanctrace.web.session import page_requires

__all__ = ["WAITING_HOLD_STATES", "router", "today_range"]

WAITING_HOLD_STATES = ("held", "release_pending")
HOLDS_SHOWN = 1000  # counted up to here ("1000+" beyond)


def today_range(tz: str, at: datetime | None = None) -> tuple[datetime, datetime]:
    """Today in zone ``tz`` as a UTC interval [midnight, next midnight)."""
    zone = ZoneInfo(tz)
    local = (at or datetime.now(UTC)).astimezone(zone)
    start = datetime.combine(local.date(), time(0), tzinfo=zone)
    end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class HoldsWaiting:
    state: str
    count: int
    capped: bool
    oldest: str | None  # ISO time of the oldest waiting hold


def _holds_waiting(ctx: Context) -> list[HoldsWaiting]:
    out = []
    for state in WAITING_HOLD_STATES:
        found = holds.list_holds(ctx, holds.HoldQuery(state=state, limit=HOLDS_SHOWN))
        oldest = min((h.created_at for h in found if h.created_at), default=None)
        out.append(HoldsWaiting(state, len(found), len(found) >= HOLDS_SHOWN, oldest))
    return out


def router(ctx: Context) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse, dependencies=[page_requires(Permission.READ)])
    def show(request: Request) -> HTMLResponse:
        at = datetime.now(UTC)
        since, until = today_range(ctx.settings.timezone, at)
        sources = lists.freshness(ctx, at=at)
        case_counts = cases.open_case_counts(ctx)
        alert_counts = alerts.open_alert_counts(ctx)
        severities = [c.severity for c in case_counts]
        severities += sorted(set(alert_counts) - set(severities))
        return page(
            request,
            "dashboard.html",
            sources=sources,
            stale=[s for s in sources if s.stale],
            stale_hours=lists.STALE_AFTER.total_seconds() / 3600,
            severities=severities,
            case_counts={c.severity: c for c in case_counts},
            alert_counts=alert_counts,
            holds_waiting=_holds_waiting(ctx),
            decisions=alerts.decision_counts(ctx, since, until),
            today=since.astimezone(ZoneInfo(ctx.settings.timezone)).date().isoformat(),
        )

    return router
