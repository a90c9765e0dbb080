"""The console's holds page: the deposits and withdrawals a ``hold`` decision stopped, waiting
for a person, and the four-eyes release (``cases.holds``).

The page shows analysts why a hold was made (the decision's reasons) and why a release was
asked: internal text, which the platform API never carries (``Hold.to_dict``). Every action is a
POST with the session's CSRF token, answered by a 303 back to the list with a message; a
service refusal (the maker approving their own request, a hold changed meanwhile) is that
message, not an error page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sanctrace.cases import holds as hold_service
from sanctrace.cases.auth import Forbidden, Permission, Principal
from sanctrace.errors import BadRequest, Conflict, NotFound, SanctraceError
from sanctrace.services.context import Context
from sanctrace.web.render import page
from sanctrace.web.session import page_requires

__all__ = ["FLASH_COOKIE", "age_text", "router"]

FLASH_COOKIE = "sanctrace_flash"
WAITING = ("held", "release_pending")
VIEWS = ("waiting", *hold_service.STATES, "all")


@dataclass(frozen=True)
class HoldRow:
    """A hold as the console lists it: the service's view and the internal reasons."""

    hold: hold_service.Hold
    reasons: list[dict[str, Any]]  # the decision's reasons (rule, severity, summary …)
    release_reason: str | None  # why a release was asked, or why it was rejected
    age_hours: float


def age_hours(created_at: str | None, at: datetime | None = None) -> float:
    if not created_at:
        return 0.0
    start = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return max(0.0, ((at or datetime.now(UTC)) - start).total_seconds() / 3600)


def age_text(hours: float, gettext: Any) -> str:
    """An age as the console writes it: minutes, hours, or days and hours."""
    if hours < 1:
        return str(gettext("%(n)d min", n=int(hours * 60)))
    if hours < 48:
        return str(gettext("%(n)d h", n=int(hours)))
    return str(gettext("%(d)d d %(h)d h", d=int(hours // 24), h=int(hours % 24)))


def _rows(ctx: Context, found: list[hold_service.Hold]) -> list[HoldRow]:
    details = hold_service.review_details(ctx, found)
    return [
        HoldRow(
            hold=hold,
            reasons=details[hold.hold_id][0],
            release_reason=details[hold.hold_id][1],
            age_hours=age_hours(hold.created_at),
        )
        for hold in found
    ]


def _holds(ctx: Context, view: str) -> list[hold_service.Hold]:
    if view == "waiting":
        found = [
            h
            for state in WAITING
            for h in hold_service.list_holds(ctx, hold_service.HoldQuery(state=state))
        ]
        return sorted(found, key=lambda h: h.hold_id)  # the oldest first: they waited longest
    state = None if view == "all" else view
    return hold_service.list_holds(ctx, hold_service.HoldQuery(state=state, limit=500))


def _back(kind: str, message: str, hold_id: int, view: str, code: str = "") -> Response:
    """303 to the list, the message in a short-lived cookie (never in the URL)."""
    view = view if view in VIEWS else "waiting"
    response = RedirectResponse(f"/holds?view={quote(view)}#hold-{hold_id}", status_code=303)
    value = quote(json.dumps({"kind": kind, "text": message, "hold": hold_id, "code": code}))
    response.set_cookie(
        FLASH_COOKIE, value, max_age=120, httponly=True, samesite="strict", path="/holds"
    )
    return response


def _flash(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("kind") not in ("ok", "error"):
        return None
    return {
        "kind": data["kind"],
        "text": str(data.get("text", "")),
        "hold": data.get("hold"),
        "code": str(data.get("code", "")),
    }


def _refused(exc: SanctraceError, hold_id: int, view: str) -> Response:
    codes = {
        Forbidden: "forbidden",
        Conflict: "conflict",
        NotFound: "not_found",
        BadRequest: "bad_request",
    }
    code = codes.get(type(exc), "refused")
    return _back("error", str(exc), hold_id, view, code)


def router(ctx: Context) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/holds", response_class=HTMLResponse)
    def show(
        request: Request,
        user: Annotated[Principal, page_requires(Permission.READ)],
        view: str = "waiting",
    ) -> HTMLResponse:
        if view not in VIEWS:
            view = "waiting"
        rows = _rows(ctx, _holds(ctx, view))
        response = page(
            request,
            "holds.html",
            rows=rows,
            view=view,
            views=VIEWS,
            flash=_flash(request),
            age_text=age_text,
            can_work=Permission.WORK in user.permissions,
            can_approve=Permission.APPROVE in user.permissions,
        )
        if FLASH_COOKIE in request.cookies:
            response.delete_cookie(FLASH_COOKIE, path="/holds")
        return response

    @router.post("/holds/{hold_id}/release", response_model=None)
    def request_release(
        hold_id: int,
        user: Annotated[Principal, page_requires(Permission.WORK)],
        reason: Annotated[str, Form()] = "",
        view: Annotated[str, Form()] = "waiting",
    ) -> Response:
        try:
            hold_service.request_release(ctx, hold_id, user, reason)
        except SanctraceError as exc:
            return _refused(exc, hold_id, view)
        return _back("ok", "release_requested", hold_id, view)

    @router.post("/holds/{hold_id}/approve", response_model=None)
    def approve(
        hold_id: int,
        user: Annotated[Principal, page_requires(Permission.APPROVE)],
        view: Annotated[str, Form()] = "waiting",
    ) -> Response:
        try:
            hold_service.approve_release(ctx, hold_id, user)
        except SanctraceError as exc:
            return _refused(exc, hold_id, view)
        return _back("ok", "released", hold_id, view)

    @router.post("/holds/{hold_id}/reject", response_model=None)
    def reject(
        hold_id: int,
        user: Annotated[Principal, page_requires(Permission.WORK)],
        reason: Annotated[str, Form()] = "",
        target: Annotated[str, Form()] = "",
        view: Annotated[str, Form()] = "waiting",
    ) -> Response:
        try:
            hold_service.reject(ctx, hold_id, user, reason, target=target == "on")
        except SanctraceError as exc:
            return _refused(exc, hold_id, view)
        return _back("ok", "rejected", hold_id, view)

    return router
