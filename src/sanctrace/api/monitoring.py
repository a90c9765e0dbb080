"""Monitoring routes: events in (``POST /v1/events``), decisions out (``POST /v1/decide/…``)
and the alerts (``GET /v1/alerts``). Bodies are the event records of docs/events.md."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel

from sanctrace.api.auth import requires
from sanctrace.api.errors import ERROR_RESPONSES, ErrorOut
from sanctrace.cases.auth import Permission
from sanctrace.errors import BadRequest
from sanctrace.monitor.alerts import MAX_LIMIT, AlertOut, AlertQuery, list_alerts
from sanctrace.monitor.decisions import decide
from sanctrace.monitor.events import BadEvent, Event, parse_event
from sanctrace.monitor.pipeline import process
from sanctrace.services.context import Context

__all__ = ["MAX_BATCH", "monitoring_router"]

MAX_BATCH = 10_000
RESPONSES: dict[int | str, dict] = {
    **ERROR_RESPONSES,
    422: {"model": ErrorOut, "description": "Bad event records: the problems list each one."},
}


class FindingOut(BaseModel):
    rule: str
    severity: str
    action: str
    subject: str
    summary: str
    summary_ja: str
    evidence: dict[str, Any]
    error: bool


class EventOut(BaseModel):
    event_id: str
    type: str
    status: Literal["stored", "duplicate", "rejected"]
    findings: list[FindingOut]
    alerts: list[int]


class EventsResponse(BaseModel):
    stored: int
    duplicates: int
    alerts: int
    new_alerts: int
    rules_version: str
    events: list[EventOut]


class ReasonOut(BaseModel):
    rule: str
    severity: str
    action: str
    summary: str
    summary_ja: str
    evidence: dict[str, Any]
    error: bool = False


class DecisionResponse(BaseModel):
    decision_id: str
    event_id: str
    kind: str
    decision: Literal["allow", "hold", "block"]
    reasons: list[ReasonOut]
    snapshots: dict[str, int]
    rules_version: str
    engine_version: str


def _events_of(body: Any) -> list[Event]:
    """One event, or ``{"events": [...]}``; every bad record is one problem."""
    if isinstance(body, dict) and "events" in body and "type" not in body:
        records = body["events"]
        if not isinstance(records, list) or not records:
            raise BadRequest("events: a non-empty list of event objects")
        if len(records) > MAX_BATCH:
            raise BadRequest(f"events: at most {MAX_BATCH} in one batch")
        labelled = [(f"events[{i}]", r) for i, r in enumerate(records)]
    else:
        labelled = [("event", body)]
    parsed: list[Event] = []
    problems: list[str] = []
    for where, record in labelled:
        try:
            parsed.append(parse_event(record, where))
        except BadEvent as exc:
            problems.append(str(exc))
    if problems:
        raise BadRequest(f"{len(problems)} bad event record(s): {problems[0]}", problems=problems)
    return parsed


def _decide_route(ctx: Context, kind: str, body: dict[str, Any]) -> DecisionResponse:
    return DecisionResponse(**decide(ctx, kind, body).to_dict())


def monitoring_router(ctx: Context) -> APIRouter:
    """The monitoring routes over the context's database and rules."""
    router = APIRouter()

    @router.post(
        "/v1/events",
        response_model=EventsResponse,
        responses=RESPONSES,
        dependencies=[requires(Permission.EVENTS)],
    )
    def post_events(body: Any = Body(...)) -> EventsResponse:  # noqa: B008
        """Store one event or a batch (``{"events": [...]}``) and evaluate it; a batch with a
        bad record is refused whole (422, ``problems`` lists each)."""
        result = process(ctx, _events_of(body), strict=True)
        return EventsResponse(**result.to_dict())

    @router.post(
        "/v1/decide/withdrawal",
        response_model=DecisionResponse,
        responses=RESPONSES,
        dependencies=[requires(Permission.DECIDE)],
    )
    def decide_withdrawal(body: dict[str, Any] = Body(...)) -> DecisionResponse:  # noqa: B008
        """Decide a withdrawal request before it is sent: allow, hold or block."""
        return _decide_route(ctx, "withdrawal", body)

    @router.post(
        "/v1/decide/deposit",
        response_model=DecisionResponse,
        responses=RESPONSES,
        dependencies=[requires(Permission.DECIDE)],
    )
    def decide_deposit(body: dict[str, Any] = Body(...)) -> DecisionResponse:  # noqa: B008
        """Decide a deposit before it is credited: allow, hold or block."""
        return _decide_route(ctx, "deposit", body)

    @router.get(
        "/v1/alerts",
        response_model=list[AlertOut],
        responses=ERROR_RESPONSES,
        dependencies=[requires(Permission.READ)],
    )
    def get_alerts(
        customer: str | None = None,
        rule: str | None = None,
        status: Literal["open", "closed"] | None = None,
        limit: int = Query(default=1000, ge=1, le=MAX_LIMIT),  # noqa: B008
    ) -> list[AlertOut]:
        """Alerts, newest first, filtered by customer, rule and status."""
        found = list_alerts(
            ctx, AlertQuery(customer_id=customer, rule=rule, status=status, limit=limit)
        )
        return found

    return router
