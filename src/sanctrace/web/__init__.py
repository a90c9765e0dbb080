"""The analyst console: server-rendered pages (Jinja2, htmx) next to the REST API, in English
and Japanese, over the same users, roles and services."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from sanctrace.api.errors import error_response
from sanctrace.errors import SanctraceError
from sanctrace.services.context import Context
from sanctrace.web import pages
from sanctrace.web.render import page as _page
from sanctrace.web.session import ConsoleRedirect as _Redirect
from sanctrace.web.session import session_router as _session_router

__all__ = ["CONSOLE_PUBLIC", "install_console"]

_STATIC = Path(__file__).resolve().parent / "static"
# Console paths anyone may open: the sign-in page, the language switch, static files.
CONSOLE_PUBLIC = frozenset({"/login", "/lang/{code}"})


async def _redirect(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Redirect)
    return RedirectResponse(exc.target, status_code=303)


async def _error(request: Request, exc: Exception) -> Response:
    """API paths answer JSON (``api.errors``); console pages answer an error page."""
    assert isinstance(exc, SanctraceError)
    if request.url.path.startswith("/v1/"):
        return error_response(exc)
    return _page(request, "error.html", status_code=exc.http_status, message=str(exc))


def install_console(app: FastAPI, ctx: Context) -> None:
    """Serve the console at ``/`` beside the API (``/v1/…``)."""
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    app.include_router(_session_router(ctx))
    for router in pages.routers(ctx):
        app.include_router(router)
    app.add_exception_handler(_Redirect, _redirect)
    app.add_exception_handler(SanctraceError, _error)
