"""``sanctrace events load FILE...``: exchange activity in (docs/events.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sanctrace.cli._console import context, progress_bar, say
from sanctrace.monitor.pipeline import BATCH, process, rules_for
from sanctrace.monitor.readers import read_event_files

events_app = typer.Typer(help="Exchange activity: load event files.", no_args_is_help=True)

BAD_INPUT = 2


@events_app.command("load")
def events_load(
    paths: Annotated[
        list[Path], typer.Argument(help="Event files (JSON lines or CSV, .gz ok) or folders.")
    ],
) -> None:
    """Store events (the same event_id twice: once), apply customers and wallets, evaluate the
    rules in time order and raise alerts. Bad records are reported with file, line and field;
    the rest is stored (exit 2 when any was bad)."""
    read = read_event_files(paths)
    for problem in read.problems:
        say(f"error: {problem}")
    ctx = context()
    ruleset = rules_for(ctx)
    ordered = sorted(read.events, key=lambda item: item[1].time)
    where = {event.event_id: place for place, event in ordered}
    stored = duplicates = alerts = rejected = 0
    with progress_bar("events", total=len(ordered)) as advance:
        for start in range(0, len(ordered), BATCH):
            chunk = [event for _, event in ordered[start : start + BATCH]]
            result = process(ctx, chunk, ruleset=ruleset)
            stored += result.stored
            duplicates += result.duplicates
            alerts += result.alerts
            for outcome in result.outcomes:
                if outcome.status == "rejected":
                    rejected += 1
                    say(f"error: {where.get(outcome.event_id, '?')}: {outcome.problem}")
            advance(len(chunk))
    bad = len(read.problems) + rejected
    say(
        f"events: {stored} stored, {duplicates} duplicates, {bad} bad, "
        f"{alerts} alerts raised (rules {ruleset.version[:12]})"
    )
    if bad:
        raise typer.Exit(BAD_INPUT)
