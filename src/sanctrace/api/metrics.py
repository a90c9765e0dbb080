"""Prometheus metrics at ``/metrics``: request latency per route template, list age per source,
index build time, and decisions by outcome once a counter is wired (``decision_made``).

Who may read them (docs/operations.md): a client on the loopback interface that did not come
through a proxy (no ``Forwarded`` / ``X-Forwarded-For``), or anyone with
``Authorization: Bearer <SANCTRACE_METRICS_TOKEN>``. Everyone else gets 404, as if the page
did not exist. The metrics hold no names, addresses or keys: route templates, counts, ages.

Each application has its own registry (several apps live in one test process); with
``serve --workers N`` each worker answers for itself.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from sanctrace.errors import SanctraceError
from sanctrace.services import lists
from sanctrace.services.context import Context

__all__ = ["METRICS_PATH", "Metrics", "install_metrics", "metrics_of"]

METRICS_PATH = "/metrics"
# Seconds: a screening answers in milliseconds, a batch of events or companies in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _ListAges:
    """Collected at each scrape: the age of every source's active snapshot (one query)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [self._family()]

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "sanctrace_list_age_seconds",
            "Age of each source's active snapshot (since its load or last good fetch).",
            labels=["source"],
        )

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = self._family()
        try:
            for source in lists.freshness(self.ctx):
                family.add_metric([source.source], source.age_hours * 3600)
        except SanctraceError:  # the database is down: the gauge is absent, /v1/ready says why
            pass
        yield family


class Metrics:
    """The metrics of one application."""

    def __init__(self, ctx: Context) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "sanctrace_http_requests",
            "Requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sanctrace_http_request_duration_seconds",
            "Time to answer, by method and route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.index_build = Gauge(
            "sanctrace_index_build_seconds",
            "Seconds the name screening index took to build or open at start.",
            registry=self.registry,
        )
        self.decisions = Counter(
            "sanctrace_decisions",
            "Decisions made by this process, by outcome (allow, hold, block).",
            ["outcome"],
            registry=self.registry,
        )
        self.registry.register(_ListAges(ctx))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def decision_made(self, outcome: str) -> None:
        """The hook for the decision counter: call with each decision's outcome."""
        self.decisions.labels(outcome).inc()


def _loopback(request: Request) -> bool:
    if request.headers.get("forwarded") or request.headers.get("x-forwarded-for"):
        return False  # came through a proxy: the peer address is the proxy's
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "testclient"  # Starlette's TestClient: the process itself


def _allowed(request: Request, token: str | None) -> bool:
    if token:
        sent = request.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    return _loopback(request)


def metrics_of(app: FastAPI) -> Metrics | None:
    """The metrics installed on ``app``, if any."""
    found = getattr(app.state, "metrics", None)
    return found if isinstance(found, Metrics) else None


def install_metrics(app: FastAPI, ctx: Context) -> Metrics:
    """Create the app's metrics and serve them at ``/metrics`` (outside the OpenAPI document:
    not an API endpoint, and not open to everyone)."""
    metrics = Metrics(ctx)
    app.state.metrics = metrics
    secret = ctx.settings.metrics_token
    token = secret.get_secret_value() if secret is not None else None

    def endpoint(request: Request) -> Response:  # sync: the list ages query the database
        if not _allowed(request, token):
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_route(METRICS_PATH, endpoint, methods=["GET"], include_in_schema=False)
    return metrics
