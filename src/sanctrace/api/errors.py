"""One mapping of service errors to HTTP statuses for every router (``sanctrace.errors``)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sanctrace.errors import SanctraceError

__all__ = ["ERROR_RESPONSES", "ErrorOut", "error_response", "install_error_handler"]


class ErrorOut(BaseModel):
    """The body of every 401, 403, 404, 409, 422 (from a service) and 503 answer."""

    detail: str
    problems: list[str] | None = None  # the single findings behind ``detail``, when there are


def error_response(exc: SanctraceError) -> JSONResponse:
    """The JSON answer of ``exc``: its status, ``detail`` and ``problems``."""
    content: dict[str, object] = {"detail": str(exc)}
    if exc.problems:
        content["problems"] = exc.problems
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return JSONResponse(status_code=exc.http_status, content=content, headers=headers)


async def _handle(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SanctraceError)
    return error_response(exc)


def install_error_handler(app: FastAPI) -> None:
    """Answer every ``SanctraceError`` with its status and ``{"detail": message}`` (and
    ``problems`` when the error lists them)."""
    app.add_exception_handler(SanctraceError, _handle)


ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorOut, "description": what}
    for status, what in (
        (401, "No valid API key (Authorization: Bearer …) or console session."),
        (403, "The key's scopes or the user's role do not allow this."),
        (404, "Not found: the subject is not known."),
        (409, "Conflict with the stored state."),
        (503, "Unavailable: no lists loaded, or the database cannot be reached."),
    )
}
