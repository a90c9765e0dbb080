"""``sanctrace webhooks deliver|list|replay``: the signed notifications of hold changes to
the exchange's platform (docs/holds.md)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from sanctrace.cases import webhooks
from sanctrace.cli._console import HIT, context, out, print_json, say
from sanctrace.errors import BadRequest

webhooks_app = typer.Typer(help="Webhook deliveries: send what is due, list, replay.")
webhooks_app.info.no_args_is_help = True


def _report(report: webhooks.DeliveryReport, as_json: bool) -> None:
    if as_json:
        print_json(report.to_dict())
    else:
        line = f"{report.attempted} attempted, {report.delivered} delivered, {report.failed} failed"
        if report.failing:
            line += f"; {report.failing} failing (oldest queued {report.oldest_failing})"
        say(line)


@webhooks_app.command("deliver")
def webhooks_deliver(
    loop: Annotated[
        bool, typer.Option("--loop", help="Keep delivering until interrupted.")
    ] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between rounds.")] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Post the due deliveries (exit 1 when some are failing)."""
    ctx = context()
    while True:
        report = webhooks.deliver_due(ctx)
        if not loop:
            _report(report, as_json)
            if report.failing:
                raise typer.Exit(HIT)
            return
        if report.attempted or report.failing:
            _report(report, as_json)
        time.sleep(max(interval, 0.1))


@webhooks_app.command("list")
def webhooks_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (with attempt logs).")
    ] = False,
    pending: Annotated[bool, typer.Option("--pending", help="Only the undelivered.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 100,
) -> None:
    """Deliveries, newest first."""
    found = webhooks.list_deliveries(context(), pending=True if pending else None, limit=limit)
    if as_json:
        print_json([d.to_dict() for d in found])
        return
    if not found:
        out.print("No deliveries.")
        return
    # One line per delivery, not a table: it must stay readable on a narrow terminal.
    for d in found:
        outcome = (
            f"delivered {d.delivered_at}"
            if d.delivered
            else f"next attempt {d.next_attempt_at or '-'}"
        )
        status = d.last_status if d.last_status is not None else (d.last_error or "-")
        out.print(
            f"#{d.delivery_id} {d.event_type} queued {d.created_at}: {d.attempts} attempts, "
            f"last {status}, {outcome}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"--since: {text!r} is not an ISO date or time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@webhooks_app.command("replay")
def webhooks_replay(
    delivery_id: Annotated[int | None, typer.Argument(help="Delivery id.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Every delivery queued since this date.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Send deliveries again, delivered or not (exit 1 when one fails)."""
    report = webhooks.replay(
        context(), delivery_id, since=_date(since) if since is not None else None
    )
    _report(report, as_json)
    if report.failed:
        raise typer.Exit(HIT)
