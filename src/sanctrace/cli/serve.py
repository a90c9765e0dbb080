"""``sanctrace serve``: the REST API on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sanctrace.cli._console import context, err
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


def worker_app() -> FastAPI:
    """The app of one ``--workers`` process: settings from the environment the parent set,
    warmed before it listens."""
    from sanctrace.api.app import create_app
    from sanctrace.services.context import Context
    from sanctrace.settings import load_settings

    ctx = Context(load_settings())
    _warm(ctx)
    return create_app(ctx)


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
) -> None:
    """Run the REST API (docs at /docs)."""
    import uvicorn

    from sanctrace.api.app import create_app
    from sanctrace.services.exposure import warm_up

    ctx = context()
    _first_admin_hint(ctx)
    with err.status("preparing the exposure engine and the screeners"):
        if workers == 1:
            _warm(ctx)
        else:  # compile the kernels once, here; each worker warms its own engines
            warm_up()
    if workers == 1:
        uvicorn.run(create_app(ctx), host=host, port=port, log_level="warning")
        return
    # The workers are new processes: they read the global options from the environment.
    export_to_environment(ctx.settings)
    uvicorn.run(
        "sanctrace.cli.serve:worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="warning",
    )
