"""``sanctrace lists …``: load, status, diff, show, warnings, activate, fetch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sanctrace.cli._console import acting_user, context, out, print_json, progress_bar, say
from sanctrace.services import lists

lists_app = typer.Typer(
    help="Sanctions lists: load, status, diff, show, warnings, activate, fetch.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@lists_app.command("load")
def lists_load(
    paths: Annotated[
        list[Path], typer.Argument(help="List files or folders (a CSV set by folder).")
    ],
    source: Annotated[str | None, typer.Option(help="Source name, e.g. us_ofac_sdn.")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="Format (detected when absent).")
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            help="Version of files that print none (OFAC CSV): best the publication date, "
            "YYYY-MM-DD, which keeps loads in order.",
        ),
    ] = None,
    allow_older: Annotated[
        bool,
        typer.Option(
            "--allow-older", help="Load a file published before the active snapshot anyway."
        ),
    ] = False,
) -> None:
    """Load sanctions list files as new snapshots (same files twice: nothing new); new
    snapshots re-screen the stored customers. A file older than the active snapshot is
    refused unless --allow-older."""
    request = lists.LoadRequest(
        paths=tuple(paths), source=source, format=fmt, version=version, allow_older=allow_older
    )
    with progress_bar("loading entities") as advance:
        answers = lists.load(context(), request, progress=advance)
    _say_rescreens(answers)
    for a in answers:
        state_word = "loaded" if a.created else "re-activated" if a.reactivated else "unchanged"
        delta = ", ".join(f"{k} {v}" for k, v in a.delta.items()) if a.delta else "first snapshot"
        published = f", published {a.published}" if a.published else ""
        say(
            f"{a.source}: {state_word} snapshot {a.snapshot_id} ({a.format}, version "
            f"{a.version or 'unknown'}{published}): {a.entities} entities, {a.names} names, "
            f"{a.addresses} addresses, {a.invalid_addresses} invalid; {len(a.warnings)} warnings; "
            f"delta: {delta}"
        )
        if a.warnings:
            say(f"{a.source}: see the warnings with: sanctrace lists warnings {a.source}")


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
def lists_status(as_json: JsonOption = False) -> None:
    """The active snapshot of each source, with counts, age and staleness (first finishing
    any customer re-screen an interrupted load left)."""
    answer = lists.status(context(), resume=True)
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
        "age (h)",
        "fresh",
        "entities",
        "names",
        "addresses",
        "invalid",
        "warnings",
    )
    for source, info in answer.sources.items():
        snap = info.snapshot
        age = answer.freshness_of(source)
        table.add_row(
            source,
            str(snap.id),
            snap.version or "?",
            snap.loaded_at[:19],
            f"{age.age_hours:.1f}" if age else "?",
            ("STALE" if age.stale else "ok") + f" (max {age.max_age_hours:.0f})" if age else "?",
            str(info.entities),
            str(info.names),
            str(sum(info.addresses.values())),
            str(info.invalid_addresses),
            str(info.warnings),
        )
    out.print(table)
    for line in lists.stale_warnings(context()):
        say(f"warning: {line}")


@lists_app.command("diff")
def lists_diff(
    source: Annotated[str, typer.Argument(help="Source name.")],
    old: Annotated[int | None, typer.Argument(help="Old snapshot id.")] = None,
    new: Annotated[int | None, typer.Argument(help="New snapshot id.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Entities added, removed and changed between two snapshots (default: the latest load),
    by name, with each changed field's old and new values."""
    ctx = context()
    view = lists.delta_view(ctx, lists.diff(ctx, source, old, new))
    if as_json:
        print_json(view.to_dict())
        return
    delta = view.delta
    out.print(
        f"{source}: snapshot {delta.old_snapshot} → {delta.new_snapshot}: "
        f"{len(delta.added)} added, {len(delta.removed)} removed, {len(delta.changed)} changed",
        markup=False,
    )
    marks = {"added": "+", "removed": "-", "changed": "~"}
    for entry in view.entries:
        out.print(
            f"{marks[entry.change]} {entry.entity_id} {entry.caption} ({entry.schema})",
            markup=False,
            highlight=False,
        )
        for name, (before, after) in entry.fields.items():
            out.print(
                f"    {name}: {_values(before)} → {_values(after)}", markup=False, highlight=False
            )


def _values(values: list[str], limit: int = 6) -> str:
    if not values:
        return "(none)"
    shown = "; ".join(values[:limit])
    return shown + (f"; … {len(values) - limit} more" if len(values) > limit else "")


@lists_app.command("show")
def lists_show(
    entity_id: Annotated[str, typer.Argument(help="Listed entity id, e.g. us_ofac_sdn:10001.")],
    as_json: JsonOption = False,
) -> None:
    """A listed entity in full: names in every script, dates, nationalities, identifiers,
    addresses, programmes, remarks, crypto addresses and ownership links."""
    view = lists.entity(context(), entity_id)
    data = view.to_dict()
    if as_json:
        print_json(data)
        return
    state_word = "active" if view.active else "not in the active snapshot (removed)"
    lines = [
        f"{data['caption']} ({data['schema']}) {data['id']}",
        f"list: {view.source}, snapshot {view.snapshot_id}, {state_word}",
        "names:",
    ]
    lines += [
        f"  [{n['kind']}] {n['value']} ({n['script']}{', ' + n['lang'] if n['lang'] else ''})"
        for n in data["names"]
    ]
    labels = {
        "birthDate": "birth date",
        "nationality": "nationality",
        "program": "programme",
        "createdAt": "listing date",
        "notes": "remarks",
        "address": "address",
    }
    shown = set()
    for prop, label in labels.items():
        for value in data["properties"].get(prop, []):
            lines.append(f"{label}: {value}")
        shown.add(prop)
    for prop, values in data["properties"].items():
        if prop not in shown:
            lines += [f"{prop}: {value}" for value in values]
    for c in data["crypto"]:
        valid = "" if c["valid"] else f" (invalid: {c['reason']})"
        lines.append(f"crypto: {c['asset']} {c['address']}{valid}")
    for link in data["links"]:
        details = "; ".join(f"{k} {', '.join(v)}" for k, v in sorted(link["details"].items()))
        other = link["other_caption"] or "(not in this snapshot)"
        lines.append(
            f"link: {link['relation']}: {link['role']} {link['other_id']} {other}"
            + (f" ({details})" if details else "")
        )
    for line in lines:
        out.print(line, markup=False, highlight=False)


@lists_app.command("warnings")
def lists_warnings(
    source: Annotated[str, typer.Argument(help="Source name.")],
    as_json: JsonOption = False,
) -> None:
    """The warnings kept from the load of the source's active snapshot."""
    answer = lists.load_warnings(context(), source)
    if as_json:
        print_json(answer.to_dict())
        return
    out.print(
        f"{source}: snapshot {answer.snapshot_id} (version {answer.version or 'unknown'}): "
        f"{len(answer.warnings)} warnings",
        markup=False,
    )
    for line in answer.warnings:
        out.print(f"- {line}", markup=False, highlight=False)


@lists_app.command("activate")
def lists_activate(
    snapshot_id: Annotated[int, typer.Argument(help="Snapshot id (see: lists status, diff).")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Make a snapshot its source's active one again: the deliberate rollback (or roll
    forward), recorded in the audit trail; the customers are re-screened against it."""
    ctx = context()
    # A named user must be a known, enabled one; without one the audit says "cli".
    actor = acting_user().name if ctx.settings.user else "cli"
    answer = lists.activate(
        ctx, lists.ActivateRequest(snapshot_id=snapshot_id, actor=actor, reason=reason)
    )
    if as_json:
        print_json(answer.to_dict())
        return
    if not answer.changed:
        say(f"{answer.source}: snapshot {answer.snapshot_id} is active already; nothing changed")
        return
    say(
        f"{answer.source}: snapshot {answer.snapshot_id} is active (was "
        f"{answer.previous_id}); recorded in the audit trail"
    )
    run = answer.rescreen
    if run is not None and run.run is not None:
        say(
            f"{answer.source}: customers re-screened against the change: {run.run.new} new "
            f"matches, {run.run.retired} retired"
        )


@lists_app.command("fetch")
def lists_fetch(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Sources (default: all configured).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML file of source URLs.")] = None,
) -> None:
    """Download lists from their official addresses, then load them; new snapshots re-screen
    the stored customers. The server's Last-Modified dates files that print no date."""
    request = lists.FetchRequest(sources=tuple(sources or ()), config=config)
    answers = lists.fetch(context(), request)
    _say_rescreens([a.load for a in answers])
    for a in answers:
        state_word = "loaded" if a.load.created else "unchanged"
        say(
            f"{a.source}: {a.downloaded} downloaded, {a.unchanged} not modified; "
            f"snapshot {a.load.snapshot_id} {state_word} ({a.load.entities} entities)"
        )
