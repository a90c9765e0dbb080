"""The ``sanctrace`` command line (contract in docs/cli.md and the README)."""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sanctrace import __version__
from sanctrace.cli_chain import chain_app
from sanctrace.cli_network import network_app
from sanctrace.cli_support import err, open_db, out, print_json, progress_bar, state
from sanctrace.model import SanctraceError

app = typer.Typer(
    name="sanctrace",
    help="Sanctions-compliance engine for crypto-asset exchanges.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
lists_app = typer.Typer(help="Sanctions lists: load, status, diff, fetch.", no_args_is_help=True)
screen_app = typer.Typer(
    help="Screen names and addresses against the active lists.", no_args_is_help=True
)
app.add_typer(lists_app, name="lists")
app.add_typer(screen_app, name="screen")
app.add_typer(chain_app, name="chain")
app.add_typer(network_app, name="network")


def _version(value: bool) -> None:
    if value:
        out.print(f"sanctrace {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: $SANCTRACE_DB, then ./sanctrace.db)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log details and tracebacks.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    state.db_url = db
    state.verbose = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


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

    db = open_db()
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
    from sanctrace.monitor.screening import build_screener, rescreen_delta
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

    data = status(open_db())
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
    delta = diff(open_db(), source, old, new)
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

    db = open_db()
    for result in fetch_sources(db, sources or None, config):
        err.print(result.summary(), soft_wrap=True)


# --- screen -------------------------------------------------------------------------------------
@screen_app.command("address")
def screen_address(
    address: Annotated[str, typer.Argument(help="A crypto address, any supported chain.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Screen an address: list hits, attribution tags and its cluster's tags (exit 1 when
    anything sanctioned is found)."""
    from rich.text import Text

    from sanctrace.monitor.addresses import finding_lines, screen_address, summary_line

    result = screen_address(open_db(), address)
    if as_json:
        print_json(result)
    else:
        out.print(summary_line(result), markup=False, highlight=False, soft_wrap=True)
        for bad, line in finding_lines(result):
            label = ("HIT ", "bold red") if bad else ("INFO ", "bold")
            out.print(Text.assemble(label, line), highlight=False, soft_wrap=True)
    if result["sanctioned"]:
        raise typer.Exit(1)


@screen_app.command("name")
def screen_name(
    text: Annotated[str, typer.Argument(help="The name to screen, in any script.")],
    schema: Annotated[
        str | None, typer.Option(help="Person, Company, Organization, Vessel …")
    ] = None,
    birth_date: Annotated[str | None, typer.Option(help="Birth date or year (ISO).")] = None,
    country: Annotated[str | None, typer.Option(help="Nationality or country.")] = None,
    kana: Annotated[
        str | None, typer.Option(help="The katakana reading held for the name.")
    ] = None,
    top: Annotated[int, typer.Option(help="At most this many matches.")] = 5,
    threshold: Annotated[
        float | None, typer.Option(help="Minimum score (default per schema).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Screen one name against the active lists (exit 1 when it matches)."""
    from sanctrace.model import NameQuery
    from sanctrace.monitor.screening import build_screener

    db = open_db()
    screener = build_screener(db)
    query = NameQuery(text, schema, birth_date, country, kana)
    matches = screener.screen(query, top=top, threshold=threshold)
    if as_json:
        print_json({"query": text, "matches": [asdict(m) for m in matches]})
    else:
        if not matches:
            out.print(f"no match at or above {threshold or screener.threshold:.2f}")
        for m in matches:
            out.print(
                f"[bold]{m.score:.2f}[/] {m.entity_name} [{m.entity_id}, {m.schema}] "
                f"via '{m.matched_name}': {m.explanation}",
                soft_wrap=True,
                highlight=False,
            )
    if matches:
        raise typer.Exit(1)


@screen_app.command("names")
def screen_names(
    input_csv: Annotated[
        Path, typer.Argument(help="CSV with id,name [,schema,birth_date,country,name_kana].")
    ],
    out_csv: Annotated[Path, typer.Option("--out", help="Where the matches go (CSV).")],
    threshold: Annotated[
        float | None, typer.Option(help="Minimum score (default per schema).")
    ] = None,
    top: Annotated[int, typer.Option(help="At most this many matches per name.")] = 5,
) -> None:
    """Screen a CSV of names; one output row per match at or above the threshold."""
    from sanctrace.monitor.bulk import read_queries, write_matches
    from sanctrace.monitor.screening import build_screener

    queries = read_queries(input_csv)
    screener = build_screener(open_db())
    rows = []
    with progress_bar("screening names", total=len(queries)) as advance:
        for query in queries:
            rows.append((query, screener.screen(query, top=top, threshold=threshold)))
            advance(1)
    written = write_matches(out_csv, rows)
    err.print(
        f"{len(queries)} names screened, {written} matches written to {out_csv}", soft_wrap=True
    )


@screen_app.command("customers")
def screen_customers_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Screen every stored customer and store the matches."""
    from sanctrace.monitor.screening import build_screener, screen_customers

    db = open_db()
    screener = build_screener(db)
    with progress_bar("screening customers") as advance:
        run = screen_customers(db, screener, progress=advance)
    summary = {"customers": run.customers, "matches": run.matches, "new": run.new}
    if as_json:
        print_json(summary)
    else:
        err.print(
            f"{run.customers} customers screened: {run.matches} matches ({run.new} new)",
            soft_wrap=True,
        )


# --- chain ---------------------------------------------------------------------------------------
@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Run the REST API (docs at /docs)."""
    import uvicorn

    from sanctrace.api.app import create_app
    from sanctrace.chain import exposure, exposure_account

    # The exposure kernels compile on first use (about 20 s, cached afterwards): not on a request.
    with err.status("preparing the exposure engine"):
        exposure.warm_up()
        exposure_account.warm_up()
    uvicorn.run(create_app(state.db_url), host=host, port=port, log_level="warning")


# --- demo ------------------------------------------------------------------------------------------
@app.command("demo")
def demo(
    folder: Annotated[Path, typer.Option(help="Where the demo world and report go.")] = Path(
        "demo-world"
    ),
    report: Annotated[Path, typer.Option(help="Report folder.")] = Path("demo-report"),
    customers: Annotated[int, typer.Option(help="Number of exchange customers.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 2022,
) -> None:
    """Generate the synthetic exchange, run every step on it and write the HTML report."""
    from sanctrace.demo.run import run_demo

    db = open_db()
    summary = run_demo(db, folder, report, customers=customers, seed=seed, console=err)
    table = Table("step", "result", title="sanctrace demo")
    for step, result in summary.steps:
        table.add_row(step, result)
    out.print(table)
    out.print(f"Report: [bold]{summary.report.resolve()}[/]")


def main() -> None:
    """Entry point: one line for user errors (exit 1), usage errors exit 2."""
    try:
        app()
    except SanctraceError as exc:
        if state.verbose:
            err.print_exception()
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
