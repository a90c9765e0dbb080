"""The console's alert queue: the cases (each grouping a customer's or counterparty's alerts)
filtered by state, severity, rule, assignee, list source, SLA and opening date, sorted and
paged in the database (``cases.queue_page``); "take next" and bulk assignment for those who work
cases (``Permission.WORK``; CSRF-checked by ``page_requires``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sanctrace.cases import cases
from sanctrace.cases.auth import Permission, Principal
from sanctrace.cases.cases import SEVERITY_RANK
from sanctrace.errors import BadRequest, SanctraceError
from sanctrace.monitor import alerts
from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.web.render import page
from sanctrace.web.session import page_requires

__all__ = ["FILTERS", "router"]

FILTERS = ("state", "severity", "rule", "assignee", "source", "overdue", "from", "to")
MAX_BULK = 500


def _text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value or None


def _int(request: Request, name: str, default: int) -> int:
    value = _text(request, name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name}: a whole number") from None


def _day(request: Request, name: str, tz: str, plus: int = 0) -> datetime | None:
    value = _text(request, name)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value) + timedelta(days=plus)
    except ValueError:
        raise BadRequest(f"{name}: a date as YYYY-MM-DD") from None
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _query(request: Request, tz: str) -> cases.QueueQuery:
    return cases.QueueQuery(
        state=_text(request, "state"),
        severity=_text(request, "severity"),
        rule=_text(request, "rule"),
        assignee=_text(request, "assignee"),
        source=_text(request, "source"),
        overdue=_text(request, "overdue") in ("1", "true", "on"),
        opened_from=_day(request, "from", tz),
        opened_to=_day(request, "to", tz, plus=1),  # the "to" day is included
        sort=_text(request, "sort") or "due",
        page=_int(request, "page", 1),
        page_size=_int(request, "size", 50),
    )


def _link(kept: dict[str, str], **changes: object) -> str:
    """The queue's URL with the current filters and ``changes`` (None drops one)."""
    values = {**kept, **{k: str(v) for k, v in changes.items() if v is not None}}
    for k, v in changes.items():
        if v is None:
            values.pop(k, None)
    return "/queue" + (f"?{urlencode(values)}" if values else "")


def _back(target: str) -> str:
    return target if target.startswith("/queue") and not target.startswith("//") else "/queue"


def router(ctx: Context) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/queue", response_class=HTMLResponse)
    def show(
        request: Request, user: Annotated[Principal, page_requires(Permission.READ)]
    ) -> HTMLResponse:
        tz = ctx.settings.timezone
        query = _query(request, tz)
        found = cases.queue_page(ctx, query)
        kept = {k: v for k in (*FILTERS, "sort", "size") if (v := _text(request, k))}
        template = (
            "queue_results.html"
            if request.headers.get("HX-Target") == "queue-results"
            else "queue.html"
        )
        return page(
            request,
            template,
            query=query,
            found=found,
            kept=kept,
            link=lambda **changes: _link(kept, **changes),
            current=_link(kept, page=query.page if query.page > 1 else None),
            values={k: _text(request, k) or "" for k in FILTERS},
            states=cases.STATES,
            severities=sorted(SEVERITY_RANK, key=lambda s: -SEVERITY_RANK[s]),
            rules=alerts.alert_rules(ctx),
            sources=sorted(lists.status(ctx).sources),
            assignees=cases.assignees(ctx),
            page_sizes=cases.PAGE_SIZES,
            sorts=cases.QUEUE_SORTS,
            can_work=Permission.WORK in user.permissions,
            unassigned=cases.UNASSIGNED,
            message=_text(request, "msg"),
            assigned=_int(request, "assigned", -1),
            failed=_int(request, "failed", 0),
        )

    @router.post("/queue/take-next", response_model=None)
    def take_next(user: Annotated[Principal, page_requires(Permission.WORK)]) -> Response:
        taken = cases.take_next(ctx, user)
        if taken is None:
            return RedirectResponse("/queue?msg=empty", status_code=303)
        return RedirectResponse(f"/cases/{taken.case_id}", status_code=303)

    @router.post("/queue/assign", response_model=None)
    def bulk_assign(
        user: Annotated[Principal, page_requires(Permission.WORK)],
        assignee: Annotated[str, Form()] = "",
        case_id: Annotated[list[int] | None, Form()] = None,
        back: Annotated[str, Form()] = "/queue",
    ) -> Response:
        ids = sorted(set(case_id or []))
        if not ids:
            raise BadRequest("choose at least one case")
        if len(ids) > MAX_BULK:
            raise BadRequest(f"at most {MAX_BULK} cases at once")
        if assignee not in cases.assignees(ctx):
            raise BadRequest(f"assignee: {assignee!r} is not a user who works cases")
        done = failed = 0
        for one in ids:
            try:
                cases.assign_case(ctx, user, one, assignee)
                done += 1
            except SanctraceError:
                failed += 1  # closed meanwhile, or unknown: counted and shown
        target = _back(back)
        sep = "&" if "?" in target else "?"
        return RedirectResponse(
            f"{target}{sep}{urlencode({'assigned': done, 'failed': failed})}", status_code=303
        )

    return router
