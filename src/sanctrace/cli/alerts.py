"""``sanctrace alerts list``: the alerts raised by rules, decisions and the lookback."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from sanctrace.cli._console import context, out, print_json
from sanctrace.monitor.alerts import AlertQuery, list_alerts

alerts_app = typer.Typer(help="Monitoring alerts.", no_args_is_help=True)


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
    table = Table()
    for name, options in (
        ("id", {"no_wrap": True}),
        ("time", {"no_wrap": True}),
        ("customer", {"no_wrap": True}),
        ("rule", {"no_wrap": True}),
        ("severity", {}),
        ("action", {}),
        ("subject", {"overflow": "fold"}),
        ("count", {}),
        ("summary", {"overflow": "fold", "ratio": 1}),
    ):
        table.add_column(name, **options)
    for a in found:
        table.add_row(
            str(a.alert_id),
            a.time[:16],
            a.customer_id or "",
            a.rule,
            a.severity,
            a.action,
            a.subject,
            str(a.count),
            a.summary,
        )
    out.print(table)
