"""The REST API: screening of names, addresses, transactions and companies; list status.
Every answer names its snapshots; every error is mapped once (``api.errors``); every route but
the probes requires an API key or a console session and a permission (``api.auth``); every
request passes the limits, headers, access log and metrics of ``api.middleware``."""

from __future__ import annotations

from fastapi import FastAPI

from sanctrace import __version__
from sanctrace.api.addresses import addresses_router
from sanctrace.api.audit import audit_router
from sanctrace.api.auth import check_routes, install_auth
from sanctrace.api.cases import cases_router
from sanctrace.api.companies import company_router
from sanctrace.api.errors import install_error_handler
from sanctrace.api.exposure import exposure_router
from sanctrace.api.graph import graph_router
from sanctrace.api.health import health_router
from sanctrace.api.holds import holds_router, webhook_lifespan
from sanctrace.api.lists import lists_router
from sanctrace.api.metrics import install_metrics
from sanctrace.api.middleware import Guard
from sanctrace.api.monitoring import monitoring_router
from sanctrace.api.names import names_router
from sanctrace.services.context import Context
from sanctrace.settings import Settings

__all__ = ["create_app"]


def create_app(ctx: Context | Settings | str | None = None) -> FastAPI:
    """The application over a service context (or settings, or a database URL; default: the
    environment's settings)."""
    if not isinstance(ctx, Context):
        ctx = (
            Context(ctx) if isinstance(ctx, Settings) or ctx is None else Context(Settings(db=ctx))
        )
    app = FastAPI(
        title="sanctrace",
        version=__version__,
        lifespan=webhook_lifespan(ctx),
        docs_url=None,  # served from the package's own assets instead (web.docs): offline
        redoc_url=None,
    )
    settings = ctx.settings
    install_error_handler(app, data_dirs=(settings.data_dir,))
    install_auth(app, ctx)
    metrics = install_metrics(app, ctx)
    app.add_middleware(
        Guard,
        max_body_bytes=settings.max_body_bytes,
        max_records=settings.max_records,
        timeout=settings.request_timeout,
        metrics=metrics,
    )
    for router in (
        health_router(ctx),
        lists_router(ctx),
        names_router(ctx),
        addresses_router(ctx),
        exposure_router(ctx),
        graph_router(ctx),
        company_router(ctx),
        monitoring_router(ctx),
        holds_router(ctx),
        cases_router(ctx),
        audit_router(ctx),
    ):
        app.include_router(router)
    from sanctrace.web import install_console  # the console builds on this package's auth

    install_console(app, ctx)
    from sanctrace.web.docs import install_docs

    install_docs(app)
    check_routes(app)  # fail closed: a route without a permission is a bug
    return app
