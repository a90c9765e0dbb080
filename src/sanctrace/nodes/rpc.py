"""A JSON-RPC 1.0/2.0 client over HTTP for the exchange's own nodes (Bitcoin Core, Ethereum).

One keep-alive connection per client (one client per thread). Credentials come from the
caller (the services read them from the settings): HTTP basic auth, or a Bitcoin Core cookie
file read on each (re)connection, because Core writes a new cookie when it restarts. A URL
with a user or password in it is refused: credentials never travel on a command line. Every
text that names the node uses ``mask_url``.

A call that cannot reach the node (refused, reset, cut off mid-answer, timed out, HTTP 5xx)
is retried ``retries`` times with exponential back-off, then raises ``NodeUnreachable``; an
error the node answers raises ``RpcError`` at once.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sanctrace.errors import BadRequest, SanctraceError, Unavailable

__all__ = ["Backoff", "NodeRefused", "NodeUnreachable", "RpcClient", "RpcError", "mask_url"]

_TRANSIENT = (OSError, http.client.HTTPException, socket.timeout, EOFError)


class RpcError(SanctraceError):
    """The node answered with an error (``code`` as the node gives it)."""

    def __init__(self, method: str, code: int | None, message: str) -> None:
        self.method, self.code, self.reason = method, code, message
        super().__init__(f"{method}: node error {code}: {message}")


class NodeUnreachable(Unavailable):
    """The node did not answer (after the retries)."""


class NodeRefused(NodeUnreachable):
    """The node refused the credentials (HTTP 401 or 403)."""


def mask_url(url: str) -> str:
    """``scheme://host:port`` of a node URL: no user, password, path or query (an API key
    often sits in the path)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<bad URL>"
    more = "/…" if parts.path not in ("", "/") or parts.query else ""
    return f"{parts.scheme or 'http'}://{host}{port}{more}"


class Backoff:
    """Exponential back-off delays: ``base``, doubled up to ``limit``; ``reset`` after a success."""

    def __init__(self, base: float = 1.0, limit: float = 60.0) -> None:
        self.base, self.limit = base, limit
        self.delay = base

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.limit, self.delay * 2)
        return delay

    def reset(self) -> None:
        self.delay = self.base


class RpcClient:
    """JSON-RPC calls to one node; ``calls`` counts HTTP requests, ``methods`` calls made."""

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        cookie_file: Path | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: Backoff | None = None,
        wait: Callable[[float], Any] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.username or parts.password:
            raise BadRequest(
                f"{mask_url(url)}: the node URL carries credentials; give them in the settings "
                "(SANCTRACE_<CHAIN>_RPC_USER / _PASSWORD or _COOKIE), never in the URL"
            )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequest(f"{mask_url(url)}: not an http(s) URL of a node")
        self.url = url
        self.shown = mask_url(url)
        self._parts = parts
        self._user, self._password, self._cookie = user, password, cookie_file
        self.timeout, self.retries = timeout, retries
        self.backoff = backoff or Backoff(0.5, 8.0)
        self._wait = wait
        self._conn: http.client.HTTPConnection | None = None
        self._ids = 0
        self._lock = threading.Lock()
        self.calls = 0
        self.methods = 0

    # ------------------------------------------------------------------------ calls

    def call(self, method: str, *params: Any) -> Any:
        """One call's result."""
        answer = self._post(
            {"jsonrpc": "2.0", "id": self._next_id(), "method": method, "params": list(params)},
            method,
        )
        self.methods += 1
        return _result(method, answer)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several calls in one request; each item is its result or its ``RpcError``."""
        if not calls:
            return []
        first = self._ids + 1
        body = [
            {"jsonrpc": "2.0", "id": self._next_id(), "method": m, "params": list(p)}
            for m, p in calls
        ]
        answers = self._post(body, f"batch of {len(calls)} {calls[0][0]}")
        self.methods += len(calls)
        if not isinstance(answers, list):  # a node without batches answers one error
            raise RpcError(calls[0][0], None, f"batch refused: {str(answers)[:200]}")
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        results: list[Any] = []
        for n, (method, _params) in enumerate(calls):
            answer = by_id.get(first + n)
            if answer is None:
                results.append(RpcError(method, None, "no answer in the batch"))
                continue
            try:
                results.append(_result(method, answer))
            except RpcError as exc:
                results.append(exc)
        return results

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --------------------------------------------------------------------- transport

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        user, password = self._user, self._password
        if self._cookie is not None:
            try:
                user, _, password = self._cookie.read_text(encoding="utf-8").strip().partition(":")
            except OSError as exc:
                raise NodeUnreachable(
                    f"{self.shown}: cannot read the cookie file: {exc.strerror}"
                ) from None
        if user is not None or password is not None:
            token = base64.b64encode(f"{user or ''}:{password or ''}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return headers

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._parts.scheme == "https"
                else http.client.HTTPConnection
            )
            self._conn = cls(self._parts.hostname or "", self._parts.port, timeout=self.timeout)
        return self._conn

    def _post(self, body: Any, what: str) -> Any:
        data = json.dumps(body).encode()
        path = self._parts.path or "/"
        if self._parts.query:
            path += "?" + self._parts.query
        last = ""
        with self._lock:
            for attempt in range(self.retries + 1):
                if attempt:
                    self._wait(self.backoff.next())
                try:
                    conn = self._connection()
                    self.calls += 1
                    conn.request("POST", path, data, self._headers())
                    response = conn.getresponse()
                    raw = response.read()
                except _TRANSIENT as exc:
                    self.close()
                    last = _describe(exc)
                    continue
                if response.status in (401, 403):
                    self.close()
                    raise NodeRefused(
                        f"{self.shown}: the node refused the credentials (HTTP {response.status})"
                    )
                if response.status >= 500 and not raw.lstrip().startswith((b"{", b"[")):
                    self.close()
                    last = f"HTTP {response.status}"
                    continue
                self.backoff.reset()
                try:
                    return json.loads(raw, parse_float=Decimal)
                except ValueError:
                    raise RpcError(what, None, f"not JSON (HTTP {response.status})") from None
        raise NodeUnreachable(f"{self.shown}: {what}: node unreachable: {last}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed in the middle of an answer"
    text = str(exc) or type(exc).__name__
    return text[:200]


def _result(method: str, answer: Any) -> Any:
    if not isinstance(answer, dict):
        raise RpcError(method, None, "the answer is not a JSON-RPC object")
    error = answer.get("error")
    if error:
        if isinstance(error, dict):
            raise RpcError(method, error.get("code"), str(error.get("message", ""))[:300])
        raise RpcError(method, None, str(error)[:300])
    return answer.get("result")
