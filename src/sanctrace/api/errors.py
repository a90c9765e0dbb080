"""One mapping of service errors to HTTP statuses for every router (``sanctrace.errors``), and
what an error body may say: never a file path, an SQL statement or the input that failed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sanctrace.errors import SanctraceError

__all__ = ["ERROR_RESPONSES", "ErrorOut", "error_response", "install_error_handler", "scrub"]

# An absolute path of two parts or more (``/srv/data/chain``, ``C:\\data\\x``), which services
# name in their messages for the CLI (where the user chose it) but an API client must not see.
# The API's own routes (``/v1/…``) are left as they are.
_PATH = re.compile(r"(?<![\w.:/])(?:/(?!v1/)[\w.@+-]+(?:/[\w.@+-]*)+|[A-Za-z]:\\[^\s'\"]+)")
# The statement SQLAlchemy appends to a driver's message.
_SQL = re.compile(r"\s*\[SQL:.*", re.DOTALL)


class ErrorOut(BaseModel):
    """The body of every 401, 403, 404, 409, 413, 422 (from a service), 429 and 503 answer."""

    detail: str
    problems: list[str] | None = None  # the single findings behind ``detail``, when there are


def scrub(message: str, hidden: Iterable[str] = ()) -> str:
    """``message`` without file paths (``hidden`` ones first: the data folder, relative or
    not) or an appended SQL statement."""
    text = _SQL.sub("", message)
    for path in sorted((p for p in hidden if p), key=len, reverse=True):
        text = text.replace(path, "<data>")
    return _PATH.sub("<path>", text)


# The data folders of the applications built in this process (``install_error_handler``):
# every JSON error leaves them out, whichever handler (the API's, the console's) answers.
_HIDDEN: set[str] = set()


def error_response(exc: SanctraceError, hidden: Iterable[str] = ()) -> JSONResponse:
    """The JSON answer of ``exc``: its status, ``detail`` and ``problems`` (paths removed)."""
    hidden = (*hidden, *_HIDDEN)
    content: dict[str, object] = {"detail": scrub(str(exc), hidden)}
    if exc.problems:
        content["problems"] = [scrub(p, hidden) for p in exc.problems]
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    return JSONResponse(status_code=exc.http_status, content=content, headers=headers)


def _validation_detail(errors: Iterable[Any]) -> list[dict[str, Any]]:
    """FastAPI's validation errors without ``input`` (it echoes the request) or ``ctx``."""
    return [
        {"type": e.get("type"), "loc": list(e.get("loc", ())), "msg": e.get("msg")} for e in errors
    ]


def install_error_handler(app: FastAPI, data_dirs: Iterable[Path] = ()) -> None:
    """Answer every ``SanctraceError`` with its status and ``{"detail": message}`` (and
    ``problems`` when the error lists them), with no path of ``data_dirs`` or anywhere else;
    and a request FastAPI finds invalid with where and why, not what was sent."""
    hidden: list[str] = []
    for folder in data_dirs:
        hidden += [str(folder), str(folder.resolve())]
    _HIDDEN.update(h for h in hidden if h not in ("", "."))

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SanctraceError)
        return error_response(exc, hidden)

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(status_code=422, content={"detail": _validation_detail(exc.errors())})

    app.add_exception_handler(SanctraceError, handle)
    app.add_exception_handler(RequestValidationError, invalid)


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
