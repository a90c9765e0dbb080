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
    from sanctrace.chain import exposure, exposure_account

    # The exposure kernels compile on first use (about 20 s, cached afterwards): not on a request.
    with err.status("preparing the exposure engine"):
        exposure.warm_up()
        exposure_account.warm_up()
    uvicorn.run(create_app(context()), host=host, port=port, log_level="warning")
