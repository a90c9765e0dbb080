"""``sanctrace lists …``: load, status, diff, fetch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sanctrace.cli._console import context, err, out, print_json, progress_bar

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
    """Load sanctions list files as new snapshots (same files twice: nothing new)."""
    from sanctrace.lists.snapshots import load_lists

    db = context().db
    with progress_bar("loading entities") as advance:
        results = load_lists(db, paths, source=source, fmt=fmt, progress=advance)
    _rescreen_after_load(db, [r for r in results if r.created])
    for r in results:
        state_word = "loaded" if r.created else "unchanged"
        delta = ", ".join(f"{k} {v}" for k, v in r.delta.items()) if r.delta else "first snapshot"
        err.print(
            f"{r.source}: {state_word} snapshot {r.snapshot_id} ({r.format}, version "
            f"{r.version or 'unknown'}): {r.entities} entities, {r.names} names, "
            f"{r.addresses} addresses, {r.invalid_addresses} invalid; {len(r.warnings)} warnings; "
            f"delta: {delta}",
            soft_wrap=True,
        )


def _rescreen_after_load(db, created) -> None:  # noqa: ANN001
    """New snapshots re-screen the stored customers against their added and changed entries."""
    if not created:
        return
    from sanctrace.lists.snapshots import diff
    from sanctrace.services.names import build_screener, rescreen_delta
    from sanctrace.store import customers as customer_repo

    with db.connect() as conn:
        if customer_repo.count(conn)["customers"] == 0:
            return
    screener = build_screener(db)
    for result in created:
        run = rescreen_delta(db, diff(db, result.source), screener)
        err.print(
            f"{result.source}: customers re-screened against the changes: "
            f"{run.new} new matches, {run.retired} retired",
            soft_wrap=True,
        )


@lists_app.command("status")
def lists_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The active snapshot of each source, with counts."""
    from sanctrace.lists.snapshots import status

    data = status(context().db)
    if as_json:
        print_json(data)
        return
    if not data:
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
    for source, info in data.items():
        snap = info["snapshot"]
        table.add_row(
            source,
            str(snap["id"]),
            snap["version"] or "?",
            snap["loaded_at"][:19],
            str(info["entities"]),
            str(info["names"]),
            str(sum(info["addresses"].values())),
            str(info["invalid_addresses"]),
            str(info["warnings"]),
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
    from sanctrace.lists.snapshots import diff

    if (old is None) != (new is None):
        raise typer.BadParameter("give both OLD and NEW, or neither")
    delta = diff(context().db, source, old, new)
    if as_json:
        print_json(
            {
                "source": delta.source,
                "old_snapshot": delta.old_snapshot,
                "new_snapshot": delta.new_snapshot,
                "added": delta.added,
                "removed": delta.removed,
                "changed": delta.changed,
            }
        )
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
    """Download lists from their official addresses, then load them."""
    from sanctrace.lists.fetch import fetch_sources

    db = context().db
    settings = context().settings
    for result in fetch_sources(
        db, settings.lists_dir, sources or None, config or settings.sources
    ):
        err.print(result.summary(), soft_wrap=True)
