"""The ``sanctrace`` command line: one module per command group; the contract (commands,
options, output, exit codes) is docs/cli.md."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from sanctrace import __version__
from sanctrace.cli._console import err as _err
from sanctrace.cli._console import out as _out
from sanctrace.cli._console import state as _state
from sanctrace.cli.alerts import alerts_app as _alerts_app
from sanctrace.cli.audit import audit_app as _audit_app
from sanctrace.cli.backup import register as _register_backup
from sanctrace.cli.cases import cases_app as _cases_app
from sanctrace.cli.chain import chain_app as _chain_app
from sanctrace.cli.decide import decide_app as _decide_app
from sanctrace.cli.decisions import decisions_app as _decisions_app
from sanctrace.cli.demo import demo as _demo
from sanctrace.cli.events import events_app as _events_app
from sanctrace.cli.holds import holds_app as _holds_app
from sanctrace.cli.keys import keys_app as _keys_app
from sanctrace.cli.lists import lists_app as _lists_app
from sanctrace.cli.monitor import monitor_app as _monitor_app
from sanctrace.cli.network import network_app as _network_app
from sanctrace.cli.reports import reports_app as _reports_app
from sanctrace.cli.rules import rules_app as _rules_app
from sanctrace.cli.screen import screen_app as _screen_app
from sanctrace.cli.serve import serve as _serve
from sanctrace.cli.users import users_app as _users_app
from sanctrace.cli.webhooks import webhooks_app as _webhooks_app
from sanctrace.errors import SanctraceError

__all__ = ["app", "main"]

app = typer.Typer(
    name="sanctrace",
    help="Sanctions-compliance engine for crypto-asset exchanges.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(_lists_app, name="lists")
app.add_typer(_screen_app, name="screen")
app.add_typer(_chain_app, name="chain")
app.add_typer(_network_app, name="network")
app.add_typer(_events_app, name="events")
app.add_typer(_decide_app, name="decide")
app.add_typer(_decisions_app, name="decisions")
app.add_typer(_alerts_app, name="alerts")
app.add_typer(_audit_app, name="audit")
app.add_typer(_monitor_app, name="monitor")
app.add_typer(_rules_app, name="rules")
app.add_typer(_reports_app, name="reports")
app.add_typer(_users_app, name="users")
app.add_typer(_keys_app, name="keys")
app.add_typer(_cases_app, name="cases")
app.add_typer(_holds_app, name="holds")
app.add_typer(_webhooks_app, name="webhooks")
app.command("serve")(_serve)
app.command("demo")(_demo)
_register_backup(app)  # backup, restore


def _version(value: bool) -> None:
    if value:
        _out.print(f"sanctrace {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
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
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="Monitoring rules merged over the defaults (default: $SANCTRACE_RULES).",
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="Who acts, in commands that change cases, holds and decisions "
            "(default: $SANCTRACE_USER).",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log details and tracebacks.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    _state.db_url = db
    _state.data_dir = data_dir
    _state.rules = rules
    _state.user = user
    _state.verbose = verbose
    _state._context = None
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
        if _state.verbose:
            _err.print_exception()
        _err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _err.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
