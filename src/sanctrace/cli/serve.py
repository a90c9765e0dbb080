"""``sanctrace serve``: the REST API on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sanctrace.cli._console import context, err, state
from sanctrace.settings import export_to_environment

if TYPE_CHECKING:
    from fastapi import FastAPI

    from sanctrace.services.context import Context


def _warm(ctx: Context) -> None:
    """Compile the exposure kernels (cached on disk after the first time) and build the
    screeners and exposure engines a first decision would build."""
    from sanctrace.errors import SanctraceError
    from sanctrace.monitor.pipeline import warm
    from sanctrace.services.exposure import warm_up

    warm_up()
    try:
        warm(ctx)
    except SanctraceError:  # no lists, no chain data …: the requests will say so
        pass


def _build_index(ctx: Context) -> float | None:
    """Finish any re-screen a killed list load left behind, then build (or open) the name
    screening index so the first request does not pay for it; its seconds, or ``None`` when
    there is nothing to build (no lists: the requests say so, and /v1/ready too)."""
    import time

    from sanctrace.errors import SanctraceError
    from sanctrace.services import lists, names

    try:
        lists.resume_rescreens(ctx)
    except SanctraceError as exc:  # the server still answers; readiness and the log say so
        err.print(f"re-screen not resumed: {exc}", markup=False, highlight=False)
    began = time.perf_counter()
    info = names.prepare_index(ctx)
    if not info.snapshots:
        return None
    return time.perf_counter() - began


def _fresh_lists(ctx: Context) -> str | None:
    """Readiness: every active list younger than its maximum age."""
    from sanctrace.services import lists

    stale = lists.stale_warnings(ctx, lang="en")
    return "; ".join(stale) if stale else None


def _ready_app(ctx: Context, warm: bool = True) -> FastAPI:
    """The app over ``ctx``, its index built (and, with ``warm``, the exposure engines and
    the decision path warmed) before it listens."""
    from sanctrace.api.app import create_app
    from sanctrace.api.health import add_ready_check
    from sanctrace.api.metrics import metrics_of

    seconds = _build_index(ctx)
    if warm:
        _warm(ctx)
    app = create_app(ctx)
    metrics = metrics_of(app)
    if metrics is not None and seconds is not None:
        metrics.index_build.set(seconds)
    add_ready_check(app, "index", lambda _ctx: None)  # built above, before listening
    add_ready_check(app, "fresh", _fresh_lists)
    return app


def worker_app() -> FastAPI:
    """The app of one ``--workers`` process: settings from the environment the parent set,
    warmed before it listens."""
    from sanctrace.api.logs import configure_logging
    from sanctrace.services.context import Context
    from sanctrace.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_format)
    return _ready_app(Context(settings, create=False))


def _start_followers(ctx: Context, chains: list[str]) -> None:
    """One follower thread per chain, in this (the parent) process: the workers see the
    blocks it appends through the chain store's manifest."""
    from sanctrace.services import chain_data

    for chain in chains:
        chain_data.follow_in_background(ctx, chain_data.FollowRequest(chain=chain))


def _first_admin_hint(ctx: Context) -> None:
    """On a database without users, say how to create the first admin (the API still serves:
    platform API keys may exist)."""
    from sanctrace.cases.users import has_users

    if not has_users(ctx):
        err.print(
            "No users yet: create the first admin with\n"
            "  sanctrace users add NAME --role admin\n"
            "(it prints a one-time password; --password-stdin reads one). Serving anyway: "
            "every route but /v1/health needs an API key (sanctrace keys create) or a session.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes (each warms its own exposure engines and screeners; "
            "about one per CPU core).",
        ),
    ] = 1,
    follow: Annotated[
        list[str] | None,
        typer.Option(
            help="Also follow this chain's node (btc or eth; repeatable) in the background, "
            "from $SANCTRACE_BTC_RPC_URL / $SANCTRACE_ETH_RPC_URL.",
        ),
    ] = None,
) -> None:
    """Run the REST API (docs at /docs)."""
    import logging

    import uvicorn

    from sanctrace.api.logs import configure_logging
    from sanctrace.services.exposure import warm_up

    ctx = context()
    _first_admin_hint(ctx)  # opens the database: a missing or unreachable one stops here
    with err.status("building the name index, preparing the exposure engine and the screeners"):
        if workers == 1:
            app = _ready_app(ctx)
        else:  # compile the kernels once, here; each worker warms its own engines
            warm_up()
    configure_logging(ctx.settings.log_format, logging.DEBUG if state.verbose else logging.WARNING)
    _start_followers(ctx, follow or [])
    # uvicorn keeps its hands off logging (log_config=None): its lines go through ours, and the
    # access log is ours (api.middleware: route templates, no query strings).
    quiet = {"log_level": "warning", "log_config": None, "access_log": False}
    if workers == 1:
        uvicorn.run(app, host=host, port=port, **quiet)  # type: ignore[arg-type]
        return
    # The workers are new processes: they read the global options from the environment.
    export_to_environment(ctx.settings)
    uvicorn.run(
        "sanctrace.cli.serve:worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        **quiet,  # type: ignore[arg-type]
    )
