"""``sanctrace serve``: the REST API on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

from typing import Annotated

import typer

from sanctrace.cli._console import context, err


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Run the REST API (docs at /docs)."""
    import uvicorn

    from sanctrace.api.app import create_app
    from sanctrace.services.exposure import warm_up

    with err.status("preparing the exposure engine"):
        warm_up()
    uvicorn.run(create_app(context()), host=host, port=port, log_level="warning")
