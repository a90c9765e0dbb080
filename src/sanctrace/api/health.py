"""``/v1/health`` (the process is alive; touches nothing) and ``/v1/ready`` (it can answer:
every readiness check passes; 503 with the reasons otherwise).

Readiness is a list of named checks, each a function of the context that returns ``None``
when ready or a one-line reason when not. ``add_ready_check(app, name, check)`` plugs in more
(list freshness, the persistent index …); the defaults are the database and the lists.
Reasons name what is missing, never a path, URL or driver message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sanctrace import __version__
from sanctrace.errors import SanctraceError
from sanctrace.services import lists
from sanctrace.services.context import Context

__all__ = [
    "DEFAULT_CHECKS",
    "CheckOut",
    "Health",
    "ReadyCheck",
    "Readiness",
    "add_ready_check",
    "database_reachable",
    "health_router",
    "lists_loaded",
]

log = logging.getLogger("sanctrace.api")

# A check: the context in, ``None`` (ready) or a one-line reason out.
ReadyCheck = Callable[[Context], str | None]


class Health(BaseModel):
    status: str
    version: str


class CheckOut(BaseModel):
    name: str
    ok: bool
    reason: str | None = None


class Readiness(BaseModel):
    status: str  # "ready" | "not ready"
    version: str
    checks: list[CheckOut]


def database_reachable(ctx: Context) -> str | None:
    """The database opens and answers ``SELECT 1``."""
    try:
        ctx.db.ping()
    except SanctraceError:
        return "database unreachable"
    return None


def lists_loaded(ctx: Context) -> str | None:
    """At least one source has an active snapshot."""
    try:
        loaded = lists.freshness(ctx)
    except SanctraceError:
        return "database unreachable"
    return None if loaded else "no lists loaded"


DEFAULT_CHECKS: tuple[tuple[str, ReadyCheck], ...] = (
    ("database", database_reachable),
    ("lists", lists_loaded),
)


@dataclass
class _Checks:
    items: list[tuple[str, ReadyCheck]]


def _checks(app: FastAPI) -> _Checks:
    found = getattr(app.state, "ready_checks", None)
    if not isinstance(found, _Checks):
        found = app.state.ready_checks = _Checks(list(DEFAULT_CHECKS))
    return found


def add_ready_check(app: FastAPI, name: str, check: ReadyCheck) -> None:
    """Make ``/v1/ready`` also require ``check`` (replacing a check of the same name)."""
    checks = _checks(app)
    checks.items = [(n, c) for n, c in checks.items if n != name] + [(name, check)]


def _run(name: str, check: ReadyCheck, ctx: Context) -> CheckOut:
    try:
        reason = check(ctx)
    except Exception:  # a broken check is a failed one, and must not take the probe down
        log.exception("readiness check %s failed", name)
        reason = "check failed"
    return CheckOut(name=name, ok=reason is None, reason=reason)


def health_router(ctx: Context) -> APIRouter:
    """The two probes; both are open (``api.auth.PUBLIC``): they show no data."""
    router = APIRouter()

    @router.get("/v1/health", response_model=Health)
    def health() -> Health:
        """The process is alive. Touches neither the database nor the lists."""
        return Health(status="ok", version=__version__)

    @router.get(
        "/v1/ready",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready: see the checks."}},
    )
    def ready(request: Request) -> JSONResponse:
        """Ready to answer: the database is reachable, lists are loaded (and every check the
        server added passes); 503 with each failed check's reason otherwise."""
        results = [_run(name, check, ctx) for name, check in _checks(request.app).items]
        ok = all(r.ok for r in results)
        body = Readiness(status="ready" if ok else "not ready", version=__version__, checks=results)
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    return router
