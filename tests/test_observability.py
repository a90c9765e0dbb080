"""Observability: request ids in and out, one JSON access log line per request (no bodies,
names or addresses), Prometheus metrics with route templates and list ages, who may read
them, and the probes (alive; ready only with a reachable database and loaded lists)."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import key_headers, serving, user_headers
from sanctrace.api.app import create_app
from sanctrace.api.health import add_ready_check
from sanctrace.api.logs import ACCESS_LOGGER, JsonFormatter, RequestIdFilter, request_id_from
from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.settings import Settings

NAME = "Arkady Pavlovich Kornevsky"
ADDRESS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"


def _context(folder) -> Context:
    return Context(Settings(db=f"sqlite:///{folder / 'obs.db'}", metrics_token="m-token-123456"))


@pytest.fixture(scope="module")
def ctx(tmp_path_factory, fixtures):
    """A database with the small OFAC list loaded, shared by the tests that only read."""
    context = _context(tmp_path_factory.mktemp("obs"))
    lists.load(context, lists.LoadRequest(paths=(fixtures / "lists" / "ofac_csv",)))
    yield context
    context.db.dispose()


@pytest.fixture(scope="module")
def auditor(ctx) -> dict[str, str]:
    return user_headers(ctx, "auditor")


def _access_lines(caplog) -> list[dict]:
    formatter = JsonFormatter()
    request_ids = RequestIdFilter()
    lines = []
    for record in caplog.records:
        if record.name == ACCESS_LOGGER:
            request_ids.filter(record)
            lines.append(json.loads(formatter.format(record)))
    return lines


def test_request_ids_and_the_access_log(ctx, auditor, caplog):
    headers = key_headers(ctx)
    caplog.set_level(logging.INFO)
    with TestClient(create_app(ctx)) as client:
        mine = client.post(
            "/v1/screen/name", json={"name": NAME}, headers={**headers, "X-Request-ID": "abc-123"}
        )
        assert mine.status_code == 200 and mine.json()["matches"]
        assert mine.headers["x-request-id"] == "abc-123"
        # A forged id (a new log line inside it) is replaced by a fresh one.
        forged = client.post(
            "/v1/screen/address",
            json={"address": ADDRESS},
            headers={**headers, "X-Request-ID": "x\nlevel=error"},
        )
        assert forged.status_code == 200
        assert "\n" not in forged.headers["x-request-id"]
        assert len(forged.headers["x-request-id"]) == 32
        client.get("/v1/cases/42", headers=auditor)
    lines = _access_lines(caplog)
    assert [(e["method"], e["route"]) for e in lines] == [
        ("POST", "/v1/screen/name"),
        ("POST", "/v1/screen/address"),
        ("GET", "/v1/cases/{case_id}"),  # the template, not the path
    ]
    first = lines[0]
    assert first["request_id"] == "abc-123" and first["status"] == 200
    assert first["key"].startswith("test-") and first["latency_ms"] >= 0
    assert lines[2]["status"] == 404 and "key" not in lines[2]
    everything = caplog.text + json.dumps(lines)
    assert NAME not in everything and "Kornevsky" not in everything and ADDRESS not in everything


def test_request_id_from():
    assert request_id_from("f00d") == "f00d"
    assert len(request_id_from(None)) == 32
    assert request_id_from("a" * 500) != "a" * 500


def test_metrics_route_templates_list_ages_and_access(ctx, auditor):
    with TestClient(create_app(ctx)) as client:
        client.get("/v1/cases/7", headers=auditor)
        client.get("/v1/cases/8", headers=auditor)
        text = client.get("/metrics").text  # the test client counts as this machine
    assert (
        'sanctrace_http_requests_total{method="GET",route="/v1/cases/{case_id}",status="404"} 2.0'
        in text
    )
    assert (
        'sanctrace_http_request_duration_seconds_bucket{le="0.5",method="GET",route="/v1/cases/{case_id}"}'
        in text
    )
    ages = [line for line in text.splitlines() if line.startswith("sanctrace_list_age_seconds{")]
    assert len(ages) == 1, text  # one source loaded, seconds old
    assert 0 <= float(ages[0].rsplit(" ", 1)[1]) < 3600
    assert "sanctrace_index_build_seconds" in text
    assert "/v1/cases/7" not in text


def test_metrics_are_not_for_everyone(ctx):
    app = create_app(ctx)
    with serving(app) as base, httpx.Client(base_url=base) as http:
        assert http.get("/metrics").status_code == 200  # 127.0.0.1
        through_proxy = http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert through_proxy.status_code == 404
        with_token = http.get(
            "/metrics",
            headers={"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer m-token-123456"},
        )
        assert with_token.status_code == 200
    with TestClient(app, client=("198.51.100.7", 40000)) as remote:
        assert remote.get("/metrics").status_code == 404
        assert remote.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
        assert (
            remote.get("/metrics", headers={"Authorization": "Bearer m-token-123456"}).status_code
            == 200
        )
    assert "/metrics" not in json.dumps(app.openapi()["paths"])


def test_health_and_ready(tmp_path, fixtures):
    ctx = _context(tmp_path)
    app = create_app(ctx)
    with TestClient(app) as client:
        assert client.get("/v1/health").json()["status"] == "ok"
        empty = client.get("/v1/ready")
        assert empty.status_code == 503
        checks = {c["name"]: c for c in empty.json()["checks"]}
        assert checks["database"]["ok"] and checks["lists"]["reason"] == "no lists loaded"
        lists.load(ctx, lists.LoadRequest(paths=(fixtures / "lists" / "ofac_csv",)))
        assert client.get("/v1/ready").status_code == 200
        # A check plugged in by the server (the index, freshness …) counts as well.
        add_ready_check(app, "index", lambda _ctx: "index not built")
        answer = client.get("/v1/ready")
        assert answer.status_code == 503
        assert {"name": "index", "ok": False, "reason": "index not built"} in answer.json()[
            "checks"
        ]


def test_serve_builds_the_index_before_it_listens(ctx):
    """``sanctrace serve``'s app: the name index is built before the first request (its time
    is a metric) and readiness includes it."""
    from sanctrace.cli.serve import _ready_app

    app = _ready_app(ctx, warm=False)
    with TestClient(app) as client:
        text = client.get("/metrics").text
        ready = client.get("/v1/ready").json()
    (line,) = [x for x in text.splitlines() if x.startswith("sanctrace_index_build_seconds ")]
    assert float(line.split()[1]) > 0
    assert {"name": "index", "ok": True, "reason": None} in ready["checks"]
