"""Authentication and permissions for every route: one way to declare them, ``requires``.

A request proves who it is with a platform API key (``Authorization: Bearer st_…``) or a
console session (the ``sanctrace_session`` cookie); without either it is 401, and with a
principal that lacks the route's permission it is 403 (``cases.auth``). A request on a session
that changes something (any method but GET, HEAD and OPTIONS) must also send the session's CSRF
token in ``X-CSRF-Token``.

Declare a route's permission where the route is declared::

    @router.get("/v1/cases", response_model=..., dependencies=[requires(Permission.READ)])

or, when the endpoint needs to know who acts::

    def close(case_id: int, who: Annotated[Principal, requires(Permission.WORK)]) -> ...:

``create_app`` refuses to build an application with a route that declares no permission (only
``PUBLIC`` paths are open), so a new router cannot be served unprotected by mistake.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from sanctrace.api.limits import RateLimiter
from sanctrace.api.middleware import KEY_STATE
from sanctrace.cases import users
from sanctrace.cases.auth import Forbidden, Permission, Principal, Unauthenticated
from sanctrace.services.context import Context

__all__ = [
    "CSRF_HEADER",
    "PUBLIC",
    "SESSION_COOKIE",
    "Endpoint",
    "check_routes",
    "endpoints",
    "install_auth",
    "principal_of",
    "requires",
]

SESSION_COOKIE = "sanctrace_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Open to anyone: the health check and FastAPI's own documentation of the API (no data).
PUBLIC = frozenset(
    {
        "/v1/health",
        "/v1/ready",  # readiness: which checks fail, no data
        "/openapi.json",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/login",  # the console's sign-in page and language switch
        "/lang/{code}",
    }
)

_bearer = HTTPBearer(
    auto_error=False, description="A platform API key: `Authorization: Bearer st_…`."
)
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="A console session (log in first)."
)


def install_auth(app: FastAPI, ctx: Context) -> None:
    """Give ``requires`` the context it checks credentials against, and the API keys' rate
    limit (``SANCTRACE_RATE_LIMIT`` requests a minute per key; 0: none)."""
    app.state.auth_context = ctx
    app.state.rate_limiter = RateLimiter(ctx.settings.rate_limit)


def _within_rate(request: Request, key: str) -> None:
    """429 with ``Retry-After`` when the key has spent its requests for now."""
    limiter = getattr(request.app.state, "rate_limiter", None)
    if not isinstance(limiter, RateLimiter):
        return
    wait = limiter.take(key)
    if wait > 0:
        raise HTTPException(
            status_code=429,
            detail=f"rate limit: at most {limiter.per_minute} requests a minute per API key",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


def _context(request: Request) -> Context:
    ctx = getattr(request.app.state, "auth_context", None)
    if not isinstance(ctx, Context):
        raise RuntimeError("api.auth.install_auth(app, ctx) was not called for this app")
    return ctx


def principal_of(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None,
    session: str | None,
) -> Principal:
    """Who sent ``request``: its API key, else its session; ``Unauthenticated`` otherwise."""
    ctx = _context(request)
    if bearer is not None:
        who = users.authenticate_key(ctx, bearer.credentials)
        request.scope.setdefault("state", {})[KEY_STATE] = who.name  # for the access log
        _within_rate(request, who.name)
        return who
    if request.headers.get("authorization"):  # present, but not "Bearer <token>"
        raise Unauthenticated("use Authorization: Bearer <API key>")
    if session:
        info = users.session_info(ctx, session)
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), info.csrf_token.encode()):
                raise Forbidden(f"missing or wrong {CSRF_HEADER} header for this session")
        return info.principal
    raise Unauthenticated(
        "authentication required: an API key (Authorization: Bearer …) or a console session"
    )


def requires(permission: Permission) -> Any:
    """The dependency that authenticates the request and requires ``permission``; its value is
    the ``Principal``. Use it in ``dependencies=[...]`` or as an endpoint parameter's
    ``Annotated[Principal, requires(...)]``."""

    def dependency(
        request: Request,
        bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
        session: str | None = Depends(_cookie),  # noqa: B008
    ) -> Principal:
        who = principal_of(request, bearer, session)
        who.require(permission)
        return who

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"requires_{permission.value}"
    return Depends(dependency)


def _permissions(call: Callable[..., Any] | None, dependant: Any) -> set[Permission]:
    found: set[Permission] = set()
    perm = getattr(call, "permission", None)
    if isinstance(perm, Permission):
        found.add(perm)
    for sub in dependant.dependencies:
        found |= _permissions(sub.call, sub)
    return found


@dataclass(frozen=True)
class Endpoint:
    """One route of an application as served: its path, methods and the permissions it
    requires (all of them must be held; none means open)."""

    path: str
    methods: frozenset[str]
    permissions: frozenset[Permission]


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every API route of ``app``, with the dependencies given at include time as well."""
    try:  # FastAPI 0.16x includes routers lazily; this walks them as they are served
        from fastapi.routing import iter_route_contexts

        routes: Iterable[Any] = iter_route_contexts(app.routes)
    except ImportError:  # older FastAPI: included routes are copied into app.routes
        routes = app.routes
    found = []
    for route in routes:
        dependant = getattr(route, "dependant", None)
        if dependant is None:  # a plain Starlette route: the docs pages
            continue
        found.append(
            Endpoint(
                path=route.path,
                methods=frozenset(route.methods or ()),
                permissions=frozenset(_permissions(None, dependant)),
            )
        )
    return found


def check_routes(app: FastAPI) -> None:
    """Refuse an application with a route outside ``PUBLIC`` that declares no permission."""
    bare = [
        f"{'|'.join(sorted(e.methods))} {e.path}"
        for e in endpoints(app)
        if e.path not in PUBLIC and not e.permissions
    ]
    if bare:
        raise RuntimeError(
            "routes without a permission (add dependencies=[requires(Permission.X)] from "
            f"sanctrace.api.auth): {', '.join(bare)}"
        )
