"""``sanctrace reports``: the JAFIC STR pack, goAML XML, the regulator summary, the case file
export and the completed-transfer notification tasks (docs/reports.md)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from sanctrace.cases.reports.casefile import CasefileRequest, write_casefile
from sanctrace.cases.reports.goaml import GoamlRequest, write_goaml
from sanctrace.cases.reports.jafic import JaficRequest, write_pack
from sanctrace.cases.reports.notification import list_tasks
from sanctrace.cases.reports.summary import SummaryRequest, write_summary
from sanctrace.cli._console import context, out, print_json, say
from sanctrace.errors import BadRequest

reports_app = typer.Typer(help="Regulator reports for cases and periods.", no_args_is_help=True)

ReporterOpt = Annotated[
    Path | None,
    typer.Option(
        "--reporter",
        help="The reporting business (TOML; default: <data dir>/reporter.toml).",
    ),
]
UserOpt = Annotated[str | None, typer.Option("--user", help="Who writes the report (audit trail).")]


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{option}: {text!r} is not an ISO date (YYYY-MM-DD)") from None


@reports_app.command("jafic")
def reports_jafic(
    case_id: Annotated[int, typer.Argument(help="The case.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for STR-<case>.json/.html.")],
    reporter: ReporterOpt = None,
    user: UserOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The JAFIC suspicious-transaction report pack of a case (JSON + printable HTML)."""
    result = write_pack(
        context(), JaficRequest(case_id=case_id, out_dir=out_dir, reporter_file=reporter, user=user)
    )
    if as_json:
        print_json(result.to_dict())
        return
    say(f"wrote {result.json_path} and {result.html_path}")


@reports_app.command("goaml")
def reports_goaml(
    case_id: Annotated[int, typer.Argument(help="The case.")],
    out_file: Annotated[Path, typer.Option("--out", help="The XML file to write.")],
    xsd: Annotated[
        Path | None, typer.Option("--xsd", help="Your FIU's goAML schema: validate against it.")
    ] = None,
    reporter: ReporterOpt = None,
    user: UserOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """goAML XML of a case; with --xsd, validated (XSD 1.1) before it is written."""
    result = write_goaml(
        context(),
        GoamlRequest(case_id=case_id, out=out_file, xsd=xsd, reporter_file=reporter, user=user),
    )
    if as_json:
        print_json(result.to_dict())
        return
    checked = f", valid against {xsd.name}" if xsd else " (not validated: no --xsd)"
    say(f"wrote {result.path}: {result.transactions} transaction(s){checked}")


@reports_app.command("summary")
def reports_summary(
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, UTC).")],
    end: Annotated[str, typer.Option("--to", help="Last day, included (YYYY-MM-DD, UTC).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the CSV and HTML.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """The regulator summary of a period: holds, blocks, releases, reports, true matches."""
    result = write_summary(
        context(),
        SummaryRequest(start=_date("--from", start), end=_date("--to", end), out_dir=out_dir),
    )
    if as_json:
        print_json(result.summary)
        return
    totals = ", ".join(f"{k} {v}" for k, v in result.summary["totals"].items())
    say(f"wrote {result.csv_path} and {result.html_path}: {totals}")


@reports_app.command("casefile")
def reports_casefile(
    case_id: Annotated[int, typer.Argument(help="The case.")],
    out_file: Annotated[Path, typer.Option("--out", help="The ZIP file to write.")],
    user: UserOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The case file export: a ZIP of the case, alerts, evidence, decisions, notes, audit."""
    result = write_casefile(context(), CasefileRequest(case_id=case_id, out=out_file, user=user))
    if as_json:
        print_json(result.to_dict())
        return
    say(f"wrote {result.path}: {result.alerts} alert(s), {result.audit_records} audit record(s)")


@reports_app.command("tasks")
def reports_tasks(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    state: Annotated[
        str | None, typer.Option("--state", help="open or done (default: all).")
    ] = None,
) -> None:
    """Notifications of completed transfers to asset-freeze targets (to the FSA and the MOF)."""
    found = list_tasks(context(), state)
    if as_json:
        print_json([t.to_dict() for t in found])
        return
    if not found:
        out.print("No open notification tasks." if state != "done" else "No tasks.")
        return
    for t in found:
        transfer = t.payload.get("transfer") or {}
        listing = t.payload.get("listing") or {}
        case = f" case {t.case_id}" if t.case_id else ""
        out.print(
            f"#{t.task_id} {t.state}{case} {t.created_at[:19]}: {transfer.get('event_id')} "
            f"{transfer.get('amount')} {transfer.get('asset')} → {transfer.get('destination')} "
            f"({listing.get('source')} {listing.get('entity_id')})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        out.print(t.notice_ja, markup=False, highlight=False, soft_wrap=True)
