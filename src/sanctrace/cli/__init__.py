"""The ``sanctrace`` command line: one module per command group; the contract (commands,
options, output, exit codes) is docs/cli.md."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from sanctrace import __version__
from sanctrace.cli._console import err, out, state
from sanctrace.cli.chain import chain_app
from sanctrace.cli.demo import demo
from sanctrace.cli.lists import lists_app
from sanctrace.cli.network import network_app
from sanctrace.cli.screen import screen_app
from sanctrace.cli.serve import serve
from sanctrace.errors import SanctraceError

__all__ = ["app", "main"]

app = typer.Typer(
    name="sanctrace",
    help="Sanctions-compliance engine for crypto-asset exchanges.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(lists_app, name="lists")
app.add_typer(screen_app, name="screen")
app.add_typer(chain_app, name="chain")
app.add_typer(network_app, name="network")
app.command("serve")(serve)
app.command("demo")(demo)


def _version(value: bool) -> None:
    if value:
        out.print(f"sanctrace {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: $SANCTRACE_DB, then ./sanctrace.db)."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Downloaded lists and the chain store (default: $SANCTRACE_DATA_DIR, "
            "then ./sanctrace-data).",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log details and tracebacks.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    state.db_url = db
    state.data_dir = data_dir
    state.verbose = verbose
    state._context = None
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def main() -> None:
    """Entry point: a failure is one line and the exit code of its kind (docs/cli.md)."""
    try:
        app()
    except SanctraceError as exc:
        if state.verbose:
            err.print_exception()
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
