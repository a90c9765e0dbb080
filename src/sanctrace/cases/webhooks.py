"""Webhooks: the exchange's platform learns every hold change by a signed HTTP POST.

Changes queue their delivery in ``webhook_deliveries`` in their own transaction (an outbox:
``enqueue``); ``deliver_due`` posts what is due. Each POST carries the JSON body

    {"id": <delivery id>, "type": "hold.released", "created_at": "...Z", "data": {"hold": {...}}}

and the headers

    X-Sanctrace-Delivery:  <delivery id>            (the same on every retry and replay)
    X-Sanctrace-Timestamp: <unix seconds of this attempt>
    X-Sanctrace-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body bytes>")>

A receiver recomputes the HMAC over the timestamp header, a dot and the raw body with the shared
secret (``SANCTRACE_WEBHOOK_SECRET``), compares in constant time, refuses a timestamp more than
five minutes away from its clock, and treats the delivery id as an idempotency key
(``verify_signature`` does the first three). Any 2xx acknowledges; anything else, or no answer,
is retried with exponential back-off (30 s doubling, capped at one hour) until acknowledged:
a delivery is never dropped, and ``deliver_due`` reports how many are failing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sanctrace.errors import BadRequest, NotFound, Unavailable
from sanctrace.services.context import Context
from sanctrace.store import webhooks as repo

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "DeliveryOut",
    "DeliveryReport",
    "backoff",
    "deliver_due",
    "enqueue",
    "list_deliveries",
    "replay",
    "sign",
    "start_delivery_loop",
    "verify_signature",
]

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
LEASE = timedelta(minutes=2)  # a claimed row is not taken by another sender meanwhile
TIMEOUT_S = 10.0
TOLERANCE_S = 300


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return _utc(value).isoformat(timespec="seconds").replace("+00:00", "Z")


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 60 s, 120 s … at most 1 h."""
    if attempts <= 0:
        return timedelta(0)
    return min(BACKOFF_BASE * (2 ** min(attempts - 1, 20)), BACKOFF_CAP)


def enqueue(conn: sa.Connection, event_type: str, data: Mapping[str, Any]) -> int:
    """Queue a delivery in ``conn``'s transaction (the change's own); returns its id."""
    return repo.enqueue(conn, event_type, data)


def sign(secret: str | bytes, timestamp: str | int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``"<timestamp>.<body>"``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str | bytes,
    timestamp: str | int,
    body: bytes | str,
    signature: str,
    *,
    tolerance: int | None = TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` (the ``X-Sanctrace-Signature`` header) signs ``body`` (the raw
    bytes received) at ``timestamp`` (``X-Sanctrace-Timestamp``) with ``secret``; with a
    ``tolerance``, the timestamp must also be within that many seconds of ``now``."""
    raw = body.encode() if isinstance(body, str) else body
    try:
        stamp = int(str(timestamp))
    except ValueError:
        return False
    if tolerance is not None:
        current = time.time() if now is None else now
        if abs(current - stamp) > tolerance:
            return False
    return hmac.compare_digest(sign(secret, stamp, raw), signature.strip())


@dataclass(frozen=True)
class DeliveryOut:
    """One queued delivery with its attempt log."""

    delivery_id: int
    event_type: str
    created_at: str | None
    attempts: int
    next_attempt_at: str | None
    delivered_at: str | None
    last_status: int | None
    last_error: str | None
    payload: dict[str, Any]
    log: list[dict[str, Any]]

    @property
    def delivered(self) -> bool:
        return self.delivered_at is not None

    @classmethod
    def of_row(cls, row: Any) -> DeliveryOut:
        return cls(
            delivery_id=int(row.id),
            event_type=row.event_type,
            created_at=_iso(row.created_at),
            attempts=int(row.attempts),
            next_attempt_at=None if row.delivered_at else _iso(row.next_attempt_at),
            delivered_at=_iso(row.delivered_at),
            last_status=row.last_status,
            last_error=row.last_error,
            payload=dict(row.payload),
            log=list(row.log or []),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "event_type": self.event_type,
            "created_at": self.created_at,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "delivered_at": self.delivered_at,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "payload": self.payload,
            "log": self.log,
        }


@dataclass
class DeliveryReport:
    """What one ``deliver_due`` (or ``replay``) did, and how many deliveries are failing."""

    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    failing: int = 0  # undelivered after at least one attempt, all told
    oldest_failing: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempted": self.attempted,
            "delivered": self.delivered,
            "failed": self.failed,
            "failing": self.failing,
            "oldest_failing": self.oldest_failing,
            "results": list(self.results),
        }


def body_of(row: Any) -> bytes:
    """The exact bytes posted for ``row`` (the same on every attempt)."""
    envelope = {
        "id": int(row.id),
        "type": row.event_type,
        "created_at": _iso(row.created_at),
        "data": row.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _target(ctx: Context) -> tuple[str, str]:
    url = ctx.settings.webhook_url
    secret = ctx.settings.webhook_secret
    if not url:
        raise Unavailable("webhook_url is not set (SANCTRACE_WEBHOOK_URL)")
    if secret is None or not secret.get_secret_value():
        raise Unavailable(
            "webhook_secret is not set (SANCTRACE_WEBHOOK_SECRET): deliveries are signed"
        )
    return url, secret.get_secret_value()


def _post(
    client: Any, url: str, secret: str, row: Any, at: datetime
) -> tuple[int | None, str | None]:
    body = body_of(row)
    stamp = int(at.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "sanctrace-webhook",
        "X-Sanctrace-Delivery": str(row.id),
        "X-Sanctrace-Timestamp": str(stamp),
        "X-Sanctrace-Signature": sign(secret, stamp, body),
    }
    import httpx

    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def _send(ctx: Context, rows: list[Any], now: datetime, *, replay: bool = False) -> DeliveryReport:
    import httpx

    url, secret = _target(ctx)
    report = DeliveryReport()
    with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False) as client:
        for row in rows:
            with ctx.db.begin() as conn:
                if not repo.claim(conn, row, now + LEASE):
                    continue  # another sender has it
            attempt = int(row.attempts) + 1
            started = time.monotonic()
            status, error = _post(client, url, secret, row, now)
            ok = error is None
            next_at = now if ok else now + backoff(attempt)
            entry: dict[str, Any] = {
                "attempt": attempt,
                "time": _iso(now),
                "status": status,
                "error": error,
                "ms": round((time.monotonic() - started) * 1000),
            }
            if replay:
                entry["replay"] = True
            if not ok:
                entry["next_attempt_at"] = _iso(next_at)
            with ctx.db.begin() as conn:
                repo.record_attempt(
                    conn,
                    int(row.id),
                    entry,
                    delivered_at=now if ok else None,
                    next_attempt_at=next_at,
                )
            report.attempted += 1
            report.delivered += ok
            report.failed += not ok
            report.results.append({"delivery_id": int(row.id), **entry})
    with ctx.db.connect() as conn:
        count, oldest = repo.failing(conn)
    report.failing = count
    report.oldest_failing = _iso(oldest)
    if count:
        log.warning(
            "webhooks: %d deliveries failing (oldest queued %s)", count, report.oldest_failing
        )
    return report


def deliver_due(ctx: Context, now: datetime | None = None, *, limit: int = 100) -> DeliveryReport:
    """Post every delivery due at ``now`` (default: the clock) to ``webhook_url``; a 2xx marks
    it delivered, anything else schedules the next attempt after ``backoff``."""
    when = _utc(now) if now is not None else datetime.now(UTC)
    _target(ctx)
    with ctx.db.connect() as conn:
        rows = repo.due(conn, when, limit)
    return _send(ctx, rows, when)


def replay(
    ctx: Context,
    delivery_id: int | None = None,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Send one delivery (``delivery_id``) or every one queued since ``since`` again, delivered
    or not, at once; one that fails stays queued with back-off."""
    if (delivery_id is None) == (since is None):
        raise BadRequest("replay: give a delivery id or --since, not both")
    when = _utc(now) if now is not None else datetime.now(UTC)
    _target(ctx)
    with ctx.db.begin() as conn:
        if delivery_id is not None:
            found = repo.find(conn, delivery_id)
            if found is None:
                raise NotFound(f"delivery {delivery_id} is not known")
            chosen = [found]
        else:
            assert since is not None
            chosen = repo.find_since(conn, _utc(since))
        for row in chosen:
            repo.rearm(conn, int(row.id), when, {"replay_requested": _iso(when)})
        ids = [int(r.id) for r in chosen]
    if not ids:
        return _send(ctx, [], when, replay=True)
    with ctx.db.connect() as conn:
        rows = sorted(repo.rows(conn, ids=ids, limit=len(ids)), key=lambda r: int(r.id))
    return _send(ctx, rows, when, replay=True)


def list_deliveries(
    ctx: Context, *, pending: bool | None = None, limit: int = 1000
) -> list[DeliveryOut]:
    """Queued deliveries, newest first, with their attempt logs."""
    with ctx.db.connect() as conn:
        return [DeliveryOut.of_row(r) for r in repo.rows(conn, pending=pending, limit=limit)]


def start_delivery_loop(
    ctx: Context, *, interval: float = 5.0, stop: threading.Event | None = None
) -> tuple[threading.Thread, threading.Event]:
    """A daemon thread that runs ``deliver_due`` every ``interval`` seconds until ``stop`` is
    set; errors are logged, never raised. Returns the thread and its stop event."""
    event = stop or threading.Event()

    def run() -> None:
        while not event.is_set():
            try:
                deliver_due(ctx)
            except Exception:  # noqa: BLE001 - the loop must outlive a bad round
                log.exception("webhooks: delivery round failed")
            event.wait(interval)

    thread = threading.Thread(target=run, name="sanctrace-webhooks", daemon=True)
    thread.start()
    return thread, event
