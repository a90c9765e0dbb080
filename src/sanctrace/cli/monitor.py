"""``sanctrace monitor lookback``: re-screen the stored history against the lists in force."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from sanctrace.cli._console import HIT, context, print_json, say
from sanctrace.errors import BadRequest
from sanctrace.services.lookback import LookbackRequest, lookback

monitor_app = typer.Typer(help="Monitoring: lookback.", no_args_is_help=True)


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"--since: {text!r} is not an ISO date or date-time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@monitor_app.command("lookback")
def monitor_lookback(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only events at or after this ISO date (default: all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Re-screen the stored deposits, withdrawals and customers against the full content of
    the active list snapshots; every new finding is an alert naming its snapshot (exit 1 when
    there is one)."""
    answer = lookback(context(), LookbackRequest(since=_since(since)))
    if as_json:
        print_json(answer.to_dict())
    else:
        rules = ", ".join(f"{k} {v}" for k, v in sorted(answer.by_rule.items())) or "none"
        say(
            f"lookback against snapshots {', '.join(map(str, answer.snapshots))}: "
            f"{answer.events} events, {answer.addresses} listed addresses; "
            f"{answer.alerts} new alerts ({rules})"
        )
    if answer.alerts:
        raise typer.Exit(HIT)
