"""``sanctrace alerts list``: the alerts raised by rules, decisions and the lookback."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from sanctrace.cli._console import context, out, print_json
from sanctrace.monitor.alerts import AlertQuery, list_alerts

alerts_app = typer.Typer(help="Monitoring alerts.", no_args_is_help=True)

ACTION_STYLE = {"block": "bold red", "hold": "bold yellow", "alert": "bold"}


@alerts_app.command("list")
def alerts_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    customer: Annotated[str | None, typer.Option("--customer", help="Customer id.")] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Rule id.")] = None,
    status: Annotated[str | None, typer.Option("--status", help="open or closed.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 1000,
) -> None:
    """Alerts, newest first."""
    found = list_alerts(
        context(), AlertQuery(customer_id=customer, rule=rule, status=status, limit=limit)
    )
    if as_json:
        print_json([a.to_dict() for a in found])
        return
    if not found:
        out.print("No alerts.")
        return
    # One block per alert rather than a table: summaries are long and must stay readable on a
    # narrow terminal; the Japanese summary follows the English one.
    for a in found:
        times = f" ×{a.count}" if a.count > 1 else ""
        head = Text.assemble(
            (f"#{a.alert_id} ", "bold"),
            f"{a.time[:16]} {a.customer_id or '-'} {a.rule} ",
            (a.action.upper(), ACTION_STYLE.get(a.action, "")),
            f" ({a.severity}, {a.status}){times}: {a.subject}",
        )
        out.print(head, soft_wrap=True, highlight=False)
        out.print(f"    {a.summary}", markup=False, highlight=False, soft_wrap=True)
        out.print(f"    {a.summary_ja}", markup=False, highlight=False, soft_wrap=True)
