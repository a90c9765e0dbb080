"""``sanctrace screen …``: names, a CSV of names, customers, addresses."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from sanctrace.cli._console import context, err, out, print_json, progress_bar

screen_app = typer.Typer(
    help="Screen names and addresses against the active lists.", no_args_is_help=True
)


@screen_app.command("address")
def screen_address(
    address: Annotated[str, typer.Argument(help="A crypto address, any supported chain.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Screen an address: list hits, attribution tags and its cluster's tags (exit 1 when
    anything sanctioned is found)."""
    from rich.text import Text

    from sanctrace.services.addresses import finding_lines, screen_address, summary_line

    result = screen_address(context().db, address, context().chain_store)
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
    from sanctrace.services.names import build_screener

    db = context().db
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
    from sanctrace.services._bulk_csv import read_queries, write_matches
    from sanctrace.services.names import build_screener

    queries = read_queries(input_csv)
    screener = build_screener(context().db)
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
    from sanctrace.services.names import build_screener, screen_customers

    db = context().db
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
