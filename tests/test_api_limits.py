"""What a request may cost and what an answer carries: the body-size and records limits,
JSON the services cannot take (NaN, infinities, lone surrogates), the per-key rate limit,
validation errors without the input, and the security headers on every kind of answer."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import key_headers, serving, user_headers
from sanctrace.api.app import create_app
from sanctrace.api.limits import RateLimiter
from sanctrace.services.context import Context
from sanctrace.settings import Settings

MARK = "Zqxjvorpal Wibblethwaite"  # a name that must never reach a log or an error body


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    folder = tmp_path_factory.mktemp("limits")
    context = Context(
        Settings(
            db=f"sqlite:///{folder / 'limits.db'}",
            data_dir=folder / "data",
            max_body_bytes=4096,
            max_records=3,
            rate_limit=5,
        )
    )
    yield context
    context.db.dispose()


@pytest.fixture(scope="module")
def client(ctx):
    with TestClient(create_app(ctx)) as test_client:
        yield test_client


def _json(client: TestClient, path: str, raw: bytes, headers: dict[str, str]):
    return client.post(path, content=raw, headers={**headers, "Content-Type": "application/json"})


def test_an_oversized_body_is_413_json(client, ctx):
    headers = key_headers(ctx)
    big = b'{"name": "' + b"a" * 5000 + b'"}'
    answer = _json(client, "/v1/screen/name", big, headers)
    assert answer.status_code == 413
    assert answer.json()["detail"] == "request body larger than 4096 bytes"
    # Sent in chunks without a length, it is cut off as it arrives.
    chunked = client.post(
        "/v1/screen/name",
        content=iter([big[:3000], big[3000:]]),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert chunked.status_code == 413


def test_too_many_records_is_413(client, ctx):
    headers = key_headers(ctx)
    records = [
        {"id": f"c{i}", "schema": "Company", "properties": {"name": ["x"]}} for i in range(4)
    ]
    answer = client.post("/v1/screen/company", json={"records": records}, headers=headers)
    assert answer.status_code == 413
    assert "at most 3" in answer.json()["detail"]
    events = client.post("/v1/events", json={"events": [{}] * 4}, headers=headers)
    assert events.status_code == 413


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "x", "threshold": NaN}',
        b'{"name": "x", "threshold": Infinity}',
        b'{"name": "x", "threshold": -Infinity}',
        b'{"name": "x", "threshold": 1e999}',
        ('{"name": "' + MARK + '\\ud800"}').encode(),
        ('{"name": "' + MARK + '", "country": "\\udfff"}').encode(),
    ],
    ids=["nan", "inf", "-inf", "1e999", "lone-high", "lone-low"],
)
def test_unrepresentable_json_is_422_without_echo(client, ctx, raw, caplog):
    caplog.set_level(logging.DEBUG)
    answer = _json(client, "/v1/screen/name", raw, key_headers(ctx))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("JSON body: ")
    assert MARK not in answer.text and MARK not in caplog.text


def test_a_surrogate_pair_is_text(client, ctx):
    """An escaped emoji (a valid pair) is not a lone surrogate: it reaches the service (503:
    no lists loaded)."""
    answer = _json(client, "/v1/screen/name", b'{"name": "x \\ud83d\\ude00"}', key_headers(ctx))
    assert answer.status_code == 503


def test_validation_errors_do_not_echo_the_input(client, ctx):
    answer = client.post("/v1/screen/name", json={"name": {"x": MARK}}, headers=key_headers(ctx))
    assert answer.status_code == 422
    assert MARK not in answer.text
    assert answer.json()["detail"][0]["loc"] == ["body", "name"]


def test_the_rate_limit_is_per_key_with_retry_after(client, ctx):
    first, second = key_headers(ctx), key_headers(ctx)
    body = {"name": "x y"}
    codes = [client.post("/v1/screen/name", json=body, headers=first).status_code for _ in range(6)]
    assert codes[:5] == [503] * 5  # through (no lists loaded)
    assert codes[5] == 429
    refused = client.post("/v1/screen/name", json=body, headers=first)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert "rate limit" in refused.json()["detail"]
    assert client.post("/v1/screen/name", json=body, headers=second).status_code == 503


def test_the_token_bucket_refills():
    limiter = RateLimiter(60)  # one a second
    assert all(limiter.take("k", now=100.0) == 0 for _ in range(60))
    assert limiter.take("k", now=100.0) == pytest.approx(1.0)
    assert limiter.take("k", now=101.0) == 0
    assert RateLimiter(0).take("k") == 0  # off


def test_security_headers_on_every_kind_of_answer(client, ctx):
    admin = user_headers(ctx, "admin")
    answers = {
        "api": client.get("/v1/lists", headers=admin),
        "error": client.get("/v1/lists"),
        "unknown": client.get("/no/such/page"),
        "console": client.get("/login"),
        "docs": client.get("/docs"),
        "static": client.get("/static/app.css"),
        "refused": _json(client, "/v1/screen/name", b"[NaN]", {}),
    }
    # An id beyond what the database stores is the input's fault: 422, not 500.
    assert client.get("/v1/cases/" + "9" * 30, headers=admin).status_code == 422
    for kind, answer in answers.items():
        headers = answer.headers
        assert headers["x-content-type-options"] == "nosniff", kind
        assert headers["x-frame-options"] == "DENY", kind
        assert headers["referrer-policy"] == "no-referrer", kind
        assert "frame-ancestors 'none'" in headers["content-security-policy"], kind
        assert headers["x-request-id"], kind
        if kind != "static":
            assert headers["cache-control"] == "no-store", kind
    # The docs keep their own policy (Swagger UI starts from an inline script).
    assert (
        "'unsafe-inline'"
        in answers["docs"]
        .headers["content-security-policy"]
        .split("script-src", 1)[1]
        .split(";", 1)[0]
    )
    assert "script-src 'self';" in answers["console"].headers["content-security-policy"]


def test_limits_hold_on_a_real_server(ctx):
    """Over real HTTP: the declared length is refused before the body is read."""
    with serving(create_app(ctx)) as base, httpx.Client(base_url=base) as http:
        answer = http.post(
            "/v1/screen/name",
            content=b"x" * 100_000,
            headers={**key_headers(ctx), "Content-Type": "application/json"},
        )
        assert answer.status_code == 413
        assert answer.headers["content-type"] == "application/json"
