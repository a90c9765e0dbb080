"""``sanctrace lists …``: load, status, diff, fetch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sanctrace.cli._console import context, out, print_json, progress_bar, say
from sanctrace.services import lists

lists_app = typer.Typer(help="Sanctions lists: load, status, diff, fetch.", no_args_is_help=True)


@lists_app.command("load")
def lists_load(
    paths: Annotated[
        list[Path], typer.Argument(help="List files or folders (a CSV set by folder).")
    ],
    source: Annotated[str | None, typer.Option(help="Source name, e.g. us_ofac_sdn.")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="Format (detected when absent).")
    ] = None,
) -> None:
    """Load sanctions list files as new snapshots (same files twice: nothing new); new
    snapshots re-screen the stored customers."""
    request = lists.LoadRequest(paths=tuple(paths), source=source, format=fmt)
    with progress_bar("loading entities") as advance:
        answers = lists.load(context(), request, progress=advance)
    _say_rescreens(answers)
    for a in answers:
        state_word = "loaded" if a.created else "unchanged"
        delta = ", ".join(f"{k} {v}" for k, v in a.delta.items()) if a.delta else "first snapshot"
        say(
            f"{a.source}: {state_word} snapshot {a.snapshot_id} ({a.format}, version "
            f"{a.version or 'unknown'}): {a.entities} entities, {a.names} names, "
            f"{a.addresses} addresses, {a.invalid_addresses} invalid; {len(a.warnings)} warnings; "
            f"delta: {delta}"
        )


def _say_rescreens(answers: list[lists.LoadAnswer]) -> None:
    for a in answers:
        if a.rescreen is not None:
            say(
                f"{a.source}: customers re-screened against the changes: "
                f"{a.rescreen.new} new matches, {a.rescreen.retired} retired"
            )
        if a.lookback is not None and a.lookback.events:
            rules = ", ".join(f"{r} {n}" for r, n in sorted(a.lookback.by_rule.items()))
            say(
                f"{a.source}: lookback over {a.lookback.events} stored transfers: "
                f"{a.lookback.alerts} new alerts" + (f" ({rules})" if rules else "")
            )


@lists_app.command("status")
def lists_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The active snapshot of each source, with counts."""
    answer = lists.status(context())
    if as_json:
        print_json(answer.to_dict())
        return
    if not answer.sources:
        out.print("No lists loaded. Load one with: sanctrace lists load PATH")
        return
    table = Table(
        "source",
        "snapshot",
        "version",
        "loaded",
        "entities",
        "names",
        "addresses",
        "invalid",
        "warnings",
    )
    for source, info in answer.sources.items():
        snap = info.snapshot
        table.add_row(
            source,
            str(snap.id),
            snap.version or "?",
            snap.loaded_at[:19],
            str(info.entities),
            str(info.names),
            str(sum(info.addresses.values())),
            str(info.invalid_addresses),
            str(info.warnings),
        )
    out.print(table)


@lists_app.command("diff")
def lists_diff(
    source: Annotated[str, typer.Argument(help="Source name.")],
    old: Annotated[int | None, typer.Argument(help="Old snapshot id.")] = None,
    new: Annotated[int | None, typer.Argument(help="New snapshot id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Entities added, removed and changed between two snapshots (default: the latest load)."""
    delta = lists.diff(context(), source, old, new)
    if as_json:
        print_json(delta.to_dict())
        return
    out.print(
        f"{source}: snapshot {delta.old_snapshot} → {delta.new_snapshot}: "
        f"{len(delta.added)} added, {len(delta.removed)} removed, {len(delta.changed)} changed"
    )
    for entity_id in delta.added:
        out.print(f"+ {entity_id}")
    for entity_id in delta.removed:
        out.print(f"- {entity_id}")
    for entity_id, fields in delta.changed.items():
        out.print(f"~ {entity_id}: {', '.join(fields)}")


@lists_app.command("fetch")
def lists_fetch(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Sources (default: all configured).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML file of source URLs.")] = None,
) -> None:
    """Download lists from their official addresses, then load them; new snapshots re-screen
    the stored customers."""
    request = lists.FetchRequest(sources=tuple(sources or ()), config=config)
    answers = lists.fetch(context(), request)
    _say_rescreens([a.load for a in answers])
    for a in answers:
        state_word = "loaded" if a.load.created else "unchanged"
        say(
            f"{a.source}: {a.downloaded} downloaded, {a.unchanged} not modified; "
            f"snapshot {a.load.snapshot_id} {state_word} ({a.load.entities} entities)"
        )
