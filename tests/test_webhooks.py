"""Webhooks against a real HTTP receiver on 127.0.0.1 that fails the first attempts: the
signature, retries with capped exponential back-off (driven by an explicit ``now``), the
per-attempt log, replay, the CLI and the serve loop — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from helpers import run
from hold_helpers import add_users, held_withdrawal, hold_context
from sanctrace.api.app import create_app
from sanctrace.cases import holds, webhooks
from sanctrace.errors import BadRequest, NotFound, Unavailable
from sanctrace.store.tables import webhook_deliveries

SECRET = "whsec-test-0123456789"
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


class Receiver:
    """What the platform's endpoint received; answers 500 to the first ``failures`` posts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[dict] = []
        self.lock = threading.Lock()


@contextmanager
def receiver(failures: int = 2) -> Iterator[tuple[str, Receiver]]:
    state = Receiver(failures)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.received.append({"headers": dict(self.headers), "body": body})
                failing = len(state.received) <= state.failures
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/sanctrace", state
    finally:
        server.shutdown()
        server.server_close()


def _row(ctx, delivery_id: int):
    with ctx.db.connect() as conn:
        return conn.execute(
            sa.select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
        ).one()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def test_signature_helpers():
    body = b'{"id":1}'
    signature = webhooks.sign(SECRET, 1700000000, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert webhooks.verify_signature(SECRET, "1700000000", body, signature, now=1700000100)
    assert not webhooks.verify_signature("other", "1700000000", body, signature, tolerance=None)
    assert not webhooks.verify_signature(SECRET, "1700000001", body, signature, tolerance=None)
    assert not webhooks.verify_signature(SECRET, "1700000000", b'{"id":2}', signature, now=1.7e9)
    assert not webhooks.verify_signature(SECRET, "1700000000", body, signature, now=1700000301)
    assert not webhooks.verify_signature(SECRET, "soon", body, signature)
    assert [webhooks.backoff(n).total_seconds() for n in range(1, 5)] == [30, 60, 120, 240]
    assert webhooks.backoff(8) == webhooks.BACKOFF_CAP == webhooks.backoff(500)


def test_retries_backoff_log_and_replay(db_url, tmp_path):
    with receiver(failures=2) as (url, got):
        ctx = hold_context(db_url, tmp_path, webhook_url=url, webhook_secret=SECRET)
        hold_id = held_withdrawal(ctx, "w-1")
        (delivery,) = webhooks.list_deliveries(ctx)
        assert delivery.event_type == "hold.created" and delivery.attempts == 0
        # queued "now"; drive the clock from T0 onwards
        first = webhooks.deliver_due(ctx, now=T0)
        assert (first.attempted, first.delivered, first.failed, first.failing) == (1, 0, 1, 1)
        row = _row(ctx, delivery.delivery_id)
        assert row.attempts == 1 and row.last_status == 500 and row.delivered_at is None
        assert _utc(row.next_attempt_at) == T0 + timedelta(seconds=30)

        early = webhooks.deliver_due(ctx, now=T0 + timedelta(seconds=29))
        assert early.attempted == 0 and early.failing == 1  # not due yet, still reported
        second = webhooks.deliver_due(ctx, now=T0 + timedelta(seconds=30))
        assert second.failed == 1
        assert _utc(_row(ctx, delivery.delivery_id).next_attempt_at) == T0 + timedelta(seconds=90)
        assert webhooks.deliver_due(ctx, now=T0 + timedelta(seconds=89)).attempted == 0
        third = webhooks.deliver_due(ctx, now=T0 + timedelta(seconds=90))
        assert (third.attempted, third.delivered, third.failing) == (1, 1, 0)
        assert webhooks.deliver_due(ctx, now=T0 + timedelta(days=1)).attempted == 0

        row = _row(ctx, delivery.delivery_id)
        assert row.attempts == 3 and row.last_status == 200
        assert _utc(row.delivered_at) == T0 + timedelta(seconds=90)
        log = row.log
        assert [e["attempt"] for e in log] == [1, 2, 3]
        assert [e["status"] for e in log] == [500, 500, 200]
        assert [e["time"] for e in log] == [
            "2030-01-02T03:04:05Z",
            "2030-01-02T03:04:35Z",
            "2030-01-02T03:05:35Z",
        ]
        assert log[0]["error"] == "HTTP 500" and log[2]["error"] is None
        assert log[0]["next_attempt_at"] == "2030-01-02T03:04:35Z"

        # three posts, each signed, the same body and delivery id every time
        assert len(got.received) == 3
        bodies = {r["body"] for r in got.received}
        assert len(bodies) == 1
        for post, when in zip(got.received, (0, 30, 90), strict=True):
            headers = post["headers"]
            stamp = headers["X-Sanctrace-Timestamp"]
            assert int(stamp) == int((T0 + timedelta(seconds=when)).timestamp())
            assert headers["X-Sanctrace-Delivery"] == str(delivery.delivery_id)
            assert headers["Content-Type"] == "application/json"
            signature = headers["X-Sanctrace-Signature"]
            assert webhooks.verify_signature(SECRET, stamp, post["body"], signature, tolerance=None)
            assert not webhooks.verify_signature(
                "wrong", stamp, post["body"], signature, tolerance=None
            )
        envelope = json.loads(got.received[0]["body"])
        assert envelope["id"] == delivery.delivery_id and envelope["type"] == "hold.created"
        assert envelope["data"]["hold"]["hold_id"] == hold_id
        assert envelope["data"]["hold"]["state"] == "held"

        # replay of one delivered delivery: posted again at once, logged as a replay
        replayed = webhooks.replay(ctx, delivery.delivery_id, now=T0 + timedelta(hours=1))
        assert (replayed.attempted, replayed.delivered) == (1, 1)
        assert len(got.received) == 4 and got.received[3]["body"] == got.received[0]["body"]
        log = _row(ctx, delivery.delivery_id).log
        assert log[-2] == {"replay_requested": "2030-01-02T04:04:05Z"}
        assert log[-1]["replay"] is True and log[-1]["status"] == 200 and log[-1]["attempt"] == 4

        # replay --since: every delivery queued since then
        add_users(ctx)
        holds.request_release(ctx, hold_id, "ana", "verified")
        since = webhooks.replay(ctx, since=datetime.now(UTC) - timedelta(hours=1))
        assert since.attempted == 2 and since.delivered == 2
        types = [json.loads(r["body"])["type"] for r in got.received[4:]]
        assert sorted(types) == ["hold.created", "hold.release_pending"]
        assert webhooks.replay(ctx, since=datetime.now(UTC) + timedelta(days=1)).attempted == 0
        with pytest.raises(NotFound):
            webhooks.replay(ctx, 999)
        with pytest.raises(BadRequest):
            webhooks.replay(ctx)


def test_unreachable_receiver_is_retried_and_reported(db_url, tmp_path):
    with receiver(failures=0) as (url, _got):
        pass  # closed: nothing listens there any more
    ctx = hold_context(db_url, tmp_path, webhook_url=url, webhook_secret=SECRET)
    held_withdrawal(ctx, "w-1")
    held_withdrawal(ctx, "w-2")
    report = webhooks.deliver_due(ctx, now=T0)
    assert (report.attempted, report.failed, report.failing) == (2, 2, 2)
    assert report.oldest_failing is not None
    for result in report.results:
        assert result["status"] is None and "Connect" in result["error"]
    # after many failures the wait is capped, and the delivery is still queued
    for n in range(12):
        webhooks.deliver_due(ctx, now=T0 + timedelta(days=n + 1))
    (d1, d2) = sorted(webhooks.list_deliveries(ctx, pending=True), key=lambda d: d.delivery_id)
    assert d1.attempts == 13 and len(d1.log) == 13 and not d1.delivered
    last = d1.log[-1]
    assert last["next_attempt_at"] == "2030-01-14T04:04:05Z"  # + the one-hour cap


def test_not_configured(db_url, tmp_path):
    ctx = hold_context(db_url, tmp_path)
    with pytest.raises(Unavailable, match="webhook_url"):
        webhooks.deliver_due(ctx)
    ctx = hold_context(db_url, tmp_path / "b", webhook_url="http://127.0.0.1:9/")
    with pytest.raises(Unavailable, match="webhook_secret"):
        webhooks.deliver_due(ctx)


def test_cli_deliver_list_replay(db_url, tmp_path, monkeypatch):
    with receiver(failures=1) as (url, got):
        ctx = hold_context(db_url, tmp_path)
        held_withdrawal(ctx, "w-1")
        monkeypatch.setenv("SANCTRACE_WEBHOOK_URL", url)
        monkeypatch.setenv("SANCTRACE_WEBHOOK_SECRET", SECRET)
        failed = run("webhooks", "deliver", "--json", db=db_url)
        assert failed.returncode == 1, failed.stderr  # one failing
        assert json.loads(failed.stdout)["failing"] == 1
        listed = run("webhooks", "list", "--json", db=db_url)
        assert listed.returncode == 0, listed.stderr
        (entry,) = json.loads(listed.stdout)
        assert entry["attempts"] == 1 and entry["last_status"] == 500
        assert entry["log"][0]["status"] == 500 and entry["next_attempt_at"]
        # the retry is not due yet: replay sends it now
        replayed = run("webhooks", "replay", str(entry["delivery_id"]), db=db_url)
        assert replayed.returncode == 0, replayed.stderr
        assert "1 delivered" in replayed.stderr
        since = run("webhooks", "replay", "--since", "2000-01-01", db=db_url)
        assert since.returncode == 0 and len(got.received) == 3
        assert run("webhooks", "replay", "--since", "soon", db=db_url).returncode == 2
        table = run("webhooks", "list", db=db_url)
        assert table.returncode == 0 and "hold.created" in table.stdout


def test_serve_lifespan_delivers_in_background(db_url, tmp_path):
    with receiver(failures=0) as (url, got):
        ctx = hold_context(db_url, tmp_path, webhook_url=url, webhook_secret=SECRET)
        held_withdrawal(ctx, "w-1")
        with TestClient(create_app(ctx)) as client:
            assert client.get("/v1/health").status_code == 200
            deadline = time.monotonic() + 20
            while not got.received and time.monotonic() < deadline:
                time.sleep(0.1)
        assert len(got.received) == 1
        (delivery,) = webhooks.list_deliveries(ctx)
        assert delivery.delivered
