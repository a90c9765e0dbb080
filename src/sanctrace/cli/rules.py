"""``sanctrace rules …``: backtest a rules file against the stored events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sanctrace.cli._console import context, out, print_json, say
from sanctrace.monitor.backtest import BacktestAnswer, backtest, day_range

rules_app = typer.Typer(help="Monitoring rules: backtest a rules file.", no_args_is_help=True)


@rules_app.command("backtest")
def rules_backtest(
    rules: Annotated[Path, typer.Option("--rules", help="The rules file to try (YAML).")],
    since: Annotated[
        datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First day (UTC) of events replayed."),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option("--to", formats=["%Y-%m-%d"], help="Last day (UTC) of events replayed."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replay the stored events through a rules file: findings per rule, and the alerts that
    would appear (new) or disappear (gone) against the rules in force."""
    start, end = day_range(since.date() if since else None, until.date() if until else None)
    answer = backtest(context(), rules, start, end)
    if as_json:
        print_json(answer.to_dict())
        return
    _render(answer)


def _render(answer: BacktestAnswer) -> None:
    table = Table(title=f"backtest of {answer.rules_file} over {answer.events:,} events")
    for column in ("rule", "hits", "alerts", "in force", "new", "gone", "bulk"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for r in answer.rules:
        table.add_row(
            r.rule,
            f"{r.hits:,}",
            f"{r.alerts:,}",
            f"{r.in_force_alerts:,}",
            f"{r.new:,}",
            f"{r.gone:,}",
            "yes" if r.columnar else "",
        )
    out.print(table)
    say(
        f"rules {answer.rules_version[:12]} against in force {answer.in_force_version[:12]}: "
        f"{len(answer.new)} alerts would appear, {len(answer.gone)} would disappear"
    )
