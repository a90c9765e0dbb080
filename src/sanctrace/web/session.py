"""Console sign-in: the session cookie, CSRF on every form, and the pages' permission rule.

A page declares what it needs with ``page_requires(Permission.X)``: without a live session the
browser is sent to the sign-in page, outside the role it gets a 403 page. Every request that
changes something (any method but GET and HEAD) must carry the session's CSRF token, as the
``csrf_token`` form field or the ``X-CSRF-Token`` header (htmx sends the header). Signing in
always opens a new session (a session id planted before sign-in is never adopted).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sanctrace.api.auth import CSRF_HEADER, SESSION_COOKIE
from sanctrace.cases import users
from sanctrace.cases.auth import Forbidden, Permission, Principal, Unauthenticated
from sanctrace.services.context import Context
from sanctrace.web.i18n import LANG_COOKIE, LANGUAGES
from sanctrace.web.render import page

__all__ = ["ConsoleRedirect", "page_requires", "session_router"]

SAFE = frozenset({"GET", "HEAD"})


class ConsoleRedirect(Exception):
    """Send the browser to the sign-in page (no live session)."""

    def __init__(self, target: str) -> None:
        self.target = target


def _context(request: Request) -> Context:
    ctx = request.app.state.auth_context
    assert isinstance(ctx, Context)
    return ctx


def page_requires(permission: Permission) -> Any:
    """The dependency of a console page: a live session whose user has ``permission``; its
    value is the ``Principal``. Changes need the CSRF token."""

    async def dependency(request: Request) -> Principal:
        token = request.cookies.get(SESSION_COOKIE, "")
        try:
            info = users.session_info(_context(request), token)
        except Unauthenticated:
            raise ConsoleRedirect(f"/login?next={quote(request.url.path)}") from None
        request.state.console = info
        if request.method not in SAFE:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent:
                form = await request.form()
                value = form.get("csrf_token", "")
                sent = value if isinstance(value, str) else ""
            if not hmac.compare_digest(sent.encode(), info.csrf_token.encode()):
                raise Forbidden("missing or wrong CSRF token for this session")
        info.principal.require(permission)
        return info.principal

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"page_requires_{permission.value}"
    return Depends(dependency)


def _safe_next(target: str | None) -> str:
    # Only a path of this site: never an absolute URL (an open redirect).
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def session_router(ctx: Context) -> APIRouter:
    """Sign in, sign out and the language switch."""
    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002
        return page(request, "login.html", next=_safe_next(next), error=None)

    @router.post("/login", response_model=None)
    def login(
        request: Request,
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/",  # noqa: A002
    ) -> Response:
        try:
            token, _csrf = users.login(ctx, username.strip(), password)
        except Unauthenticated:
            return page(
                request, "login.html", status_code=401, next=_safe_next(next), error="wrong"
            )
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=int(users.SESSION_TTL.total_seconds()),
        )
        return response

    @router.post("/logout", response_model=None, dependencies=[page_requires(Permission.READ)])
    def logout(request: Request) -> Response:
        users.logout(ctx, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @router.get("/lang/{code}", response_model=None)
    def switch_language(request: Request, code: str, next: str = "/") -> Response:  # noqa: A002
        response = RedirectResponse(_safe_next(next), status_code=303)
        if code in LANGUAGES:
            response.set_cookie(LANG_COOKIE, code, samesite="lax", max_age=365 * 86400)
        return response

    return router
