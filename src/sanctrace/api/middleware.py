"""The one ASGI layer around every request (API, console, docs): a request id, the body's
limits, a time limit, security headers, the access log line and the latency metrics; and a
JSON answer, never a plain-text page, when something unforeseen breaks.

Pure ASGI (not ``BaseHTTPMiddleware``): it adds a few microseconds, buffers only the bodies it
must check, and leaves streamed answers alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders

from sanctrace.api.limits import BodyRefused, check_json, is_json
from sanctrace.api.logs import ACCESS_LOGGER, REQUEST_ID, request_id_from
from sanctrace.api.metrics import Metrics

__all__ = ["CONTENT_SECURITY_POLICY", "KEY_STATE", "Guard", "security_headers"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access = logging.getLogger(ACCESS_LOGGER)
log = logging.getLogger("sanctrace.api")

# Where ``api.auth`` leaves the authenticated API key's name for the access log (scope state).
KEY_STATE = "sanctrace_key"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The console's pages load only this site's scripts (htmx, cytoscape, graph.js); its templates
# use style attributes, and JSON data islands (<script type="application/json">), which
# script-src does not govern. The docs pages send their own, looser policy (web.docs).
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def security_headers(path: str) -> list[tuple[str, str]]:
    """The headers every answer carries (unless the endpoint set its own); API answers and
    pages are not cached (they hold personal data), the vendored static files may be."""
    headers = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("cross-origin-opener-policy", "same-origin"),
    ]
    if not path.startswith("/static/"):
        headers.append(("cache-control", "no-store"))
    return headers


def _route_of(scope: Scope) -> str:
    """The route template that answered (``/v1/cases/{case_id}``), never the raw path: the
    path may hold an address or a name, and raw paths would make the metrics unbounded."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if scope.get("path", "").startswith("/static/"):
        return "/static"
    if scope.get("endpoint") is not None and not scope.get("path_params"):
        return str(scope.get("path", ""))  # a plain route (/metrics): its path is its template
    return "unmatched"


class Guard:
    """The middleware: see the module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_records: int,
        timeout: float,
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_records = max_records
        self.timeout = timeout
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = request_id_from(headers.get("x-request-id"))
        token = REQUEST_ID.set(request_id)
        path = scope.get("path", "")
        answer = {"status": 500, "started": False, "closed": False}

        async def guarded_send(message: Message) -> None:
            if answer["closed"]:
                return  # the time limit answered already; a late endpoint is dropped
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["started"] = True
                out = MutableHeaders(scope=message)
                for name, value in security_headers(path):
                    if name not in out:
                        out[name] = value
                out["x-request-id"] = request_id
            await send(message)

        try:
            body_receive = await self._checked_body(scope, receive, headers)
            await asyncio.wait_for(self.app(scope, body_receive, guarded_send), self.timeout)
        except BodyRefused as refused:
            await self._json(guarded_send, refused.status, refused.detail, answer)
        except TimeoutError:
            log.warning("request timed out after %.0f s", self.timeout)
            await self._json(
                guarded_send,
                504,
                f"the request took longer than {self.timeout:g} s and was abandoned",
                answer,
            )
        except OverflowError:  # an integer too large for the database (a path id, say)
            await self._json(guarded_send, 422, "a number out of range", answer)
        except Exception:  # the last line: a JSON 500 that says nothing of the input
            log.error("unhandled error", exc_info=True)
            await self._json(guarded_send, 500, "internal error (see the server log)", answer)
        finally:
            self._record(scope, answer["status"], time.perf_counter() - began, request_id)
            REQUEST_ID.reset(token)

    async def _checked_body(
        self, scope: Scope, receive: Receive, headers: dict[str, str]
    ) -> Receive:
        """The body within its limits, replayed to the app; ``BodyRefused`` otherwise."""
        if scope.get("method") not in BODY_METHODS:
            return receive
        declared = headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > self.max_body_bytes:
                    raise BodyRefused(413, self._too_large())
            except ValueError:
                raise BodyRefused(400, "Content-Length is not a number") from None
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return receive
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyRefused(413, self._too_large())
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if is_json(headers.get("content-type")):
            check_json(body, self.max_records)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as Starlette does

        return replay

    def _too_large(self) -> str:
        return f"request body larger than {self.max_body_bytes} bytes"

    async def _json(self, send: Send, status: int, detail: str, answer: dict[str, Any]) -> None:
        if answer["started"]:
            answer["closed"] = True  # too late for a status; the client sees a cut answer
            return
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        answer["closed"] = True

    def _record(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        method = scope.get("method", "")
        route = _route_of(scope)
        key = (scope.get("state") or {}).get(KEY_STATE)
        if self.metrics is not None:
            self.metrics.observe(method, route, status, seconds)
        access.info(
            "%s %s %s",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "latency_ms": round(seconds * 1000, 1),
                "key": key,
                "request_id": request_id,
            },
        )
