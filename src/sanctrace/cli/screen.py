"""``sanctrace screen …``: names, a CSV of names, customers, addresses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.text import Text

from sanctrace.cli._console import HIT, context, err, out, print_json, progress_bar, say
from sanctrace.errors import Unavailable
from sanctrace.services import names

# As ``api.names.ScreenSchema`` (the API's, kept equal by tests/test_fail_closed.py): an
# unknown schema is a usage error (exit 2), never a silent "no match".
ScreenSchema = Literal[
    "Person", "Company", "Organization", "LegalEntity", "PublicBody", "Vessel", "Airplane"
]

screen_app = typer.Typer(
    help="Screen names and addresses against the active lists.", no_args_is_help=True
)


@screen_app.command("address")
def screen_address(
    address: Annotated[str, typer.Argument(help="A crypto address, any supported chain.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Screen an address: list hits, attribution tags and its cluster's tags (exit 1 when
    anything sanctioned is found, 2 when it is not an address of any supported chain)."""
    from sanctrace.cli._render import address_findings, address_summary
    from sanctrace.services.addresses import screen_address

    answer = screen_address(context().db, address, context().chain_store)
    from dataclasses import replace

    from sanctrace.services.lists import staleness_notice

    answer = replace(answer, warnings=staleness_notice(context()))
    for warning in answer.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        print_json(answer.to_dict())
    else:
        out.print(address_summary(answer), markup=False, highlight=False, soft_wrap=True)
        for bad, line in address_findings(answer):
            label = ("HIT ", "bold red") if bad else ("INFO ", "bold")
            out.print(Text.assemble(label, line), highlight=False, soft_wrap=True)
    if answer.hit:
        raise typer.Exit(HIT)


@screen_app.command("name")
def screen_name(
    text: Annotated[str, typer.Argument(help="The name to screen, in any script.")],
    schema: Annotated[
        ScreenSchema | None, typer.Option(help="The party's schema (exactly as written).")
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
    request = names.NameScreenRequest(
        name=text,
        schema=schema,
        birth_date=birth_date,
        country=country,
        name_kana=kana,
        top=top,
        threshold=threshold,
    )
    answer = names.screen_name(context(), request)
    if as_json:
        print_json(answer.to_dict())
    else:
        for warning in answer.warnings:
            err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
        if not answer.matches:
            out.print(f"no match at or above {answer.threshold:.2f}")
        for m in answer.matches:
            out.print(
                Text.assemble(
                    (f"{m.score:.2f}", "bold"),
                    f" {m.entity_name} [{m.source} {m.entity_id}, {m.schema}]"
                    f" via '{m.matched_name}': "
                    f"{m.explanation}",
                ),
                soft_wrap=True,
                highlight=False,
            )
    if answer.matches:
        raise typer.Exit(HIT)


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
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Processes sharing the index (default: every core)."
        ),
    ] = None,
) -> None:
    """Screen a CSV of names; one output row per match at or above the threshold (the same
    output for any --jobs)."""
    request = names.BulkRequest(
        input=input_csv, output=out_csv, top=top, threshold=threshold, jobs=jobs
    )
    with progress_bar("screening names") as advance:
        answer = names.screen_names(context(), request, progress=advance)
    say(f"{answer.names} names screened, {answer.matches} matches written to {answer.output}")


@screen_app.command("index")
def screen_index(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Build or open the name index of the active lists (done by every list load) and say
    where it is: the folder the Spark job takes (exit 3 when no list is loaded)."""
    info = names.prepare_index(context())
    if not info.snapshots:
        raise Unavailable(names.NO_LISTS)
    if as_json:
        print_json(info.to_dict())
    else:
        where = info.folder or "memory (the data folder cannot be written)"
        say(f"name index: {info.entries} entries, {info.names} names, in {where}")


@screen_app.command("customers")
def screen_customers_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Screen every stored customer and store the matches."""
    with progress_bar("screening customers") as advance:
        run = names.screen_stored_customers(context(), progress=advance)
    if as_json:
        print_json(run.to_dict())
    else:
        say(f"{run.customers} customers screened: {run.matches} matches ({run.new} new)")
