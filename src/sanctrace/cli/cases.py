"""``sanctrace cases list|show|assign|comment|attach|close|approve|reopen``: alerts grouped
into cases and worked to a disposition. Changes name the acting user (``--user`` or
``$SANCTRACE_USER``); closing as ``true_match`` or as a suppressing ``false_positive`` waits for
a second approver (four-eyes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from sanctrace.cases import cases
from sanctrace.cases.auth import Forbidden
from sanctrace.cli._console import HIT, UserOption, acting_user, context, err, out, print_json
from sanctrace.errors import BadRequest

cases_app = typer.Typer(help="Cases: alerts grouped per customer, worked to a decision.")
cases_app.info.no_args_is_help = True

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": ""}
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
CaseId = Annotated[int, typer.Argument(help="Case id.")]


def _show(case: cases.CaseOut, as_json: bool) -> None:
    """A case as JSON, or as a block for the analyst (labels in English and Japanese)."""
    if as_json:
        print_json(case.to_dict())
        return
    head = Text.assemble(
        (f"case {case.case_id} ", "bold"),
        f"{case.subject_type} {case.subject} — ",
        (case.state, "bold"),
        f" ({case.state_ja}), ",
        (case.severity, SEVERITY_STYLE.get(case.severity, "")),
        f", due/期限 {case.due}" + (" OVERDUE/期限超過" if case.overdue else ""),
    )
    out.print(head, soft_wrap=True, highlight=False)
    lines = [f"  assignee / 担当者: {case.assignee or '-'}"]
    if case.disposition:
        ja = cases.DISPOSITION_JA.get(case.disposition, case.disposition)
        lines.append(f"  disposition / 判定: {case.disposition} ({ja}) — {case.reason}")
        lines.append(
            f"  closed by / 起票者: {case.closed_by}"
            + (f"; approved by / 承認者: {case.approved_by}" if case.approved_by else "")
        )
    lines.append(f"  alerts / アラート ({len(case.alerts)}, {case.alert_count} in all/合計):")
    for a in case.alerts:
        times = f" ×{a.count}" if a.count > 1 else ""
        lines.append(f"    #{a.alert_id} {a.rule} ({a.severity}, {a.status}){times}: {a.subject}")
        lines.append(f"      {a.summary}")
        lines.append(f"      {a.summary_ja}")
    for c in case.comments:
        lines.append(f"  comment / コメント {c.time} {c.author}: {c.text}")
    for at in case.attachments:
        lines.append(f"  attachment / 添付 {at.time} {at.author}: {at.name}")
    for s in case.suppressions:
        ended = f" ({s.ended_reason})" if s.ended_reason else ""
        lines.append(
            f"  suppression / 抑止 {s.suppression_id}: {s.customer_id} × {s.entity_id} "
            f"{s.state}{ended}, expires/期限 {s.expires_at}"
        )
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@cases_app.command("list")
def cases_list(
    as_json: JsonOption = False,
    state: Annotated[
        str | None, typer.Option("--state", help=f"One of: {', '.join(cases.STATES)}.")
    ] = None,
    assignee: Annotated[str | None, typer.Option("--assignee", help="Assigned user.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Customer id.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 1000,
) -> None:
    """Cases, the earliest due first."""
    found = cases.list_cases(
        context(),
        cases.CaseQuery(state=state, assignee=assignee, customer_id=customer, limit=limit),
    )
    if as_json:
        print_json([c.to_dict() for c in found])
        return
    if not found:
        out.print("No cases. / 案件はありません。")
        return
    table = Table("id", "subject / 対象", "state / 状態", "severity / 重大度", "assignee / 担当")
    table.add_column("due / 期限")
    table.add_column("alerts")
    for c in found:
        table.add_row(
            str(c.case_id),
            f"{c.subject_type}: {c.subject}",
            f"{c.state} ({c.state_ja})",
            Text(c.severity, SEVERITY_STYLE.get(c.severity, "")),
            c.assignee or "-",
            (c.due or "") + (" !" if c.overdue else ""),
            str(c.alert_count),
        )
    out.print(table)


@cases_app.command("show")
def cases_show(case_id: CaseId, as_json: JsonOption = False) -> None:
    """One case with its alerts, comments, attachments and suppressions."""
    _show(cases.show_case(context(), case_id), as_json)


@cases_app.command("assign")
def cases_assign(
    case_id: CaseId,
    to: Annotated[str, typer.Option("--to", help="The user who works it.")],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Assign the case (an open case goes in_review)."""
    _show(cases.assign_case(context(), acting_user(user), case_id, to), as_json)


@cases_app.command("comment")
def cases_comment(
    case_id: CaseId,
    text: Annotated[str, typer.Option("--text", help="The comment.")],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Comment on the case (the first comment on an open case puts it in_review)."""
    _show(cases.comment_case(context(), acting_user(user), case_id, text), as_json)


@cases_app.command("attach")
def cases_attach(
    case_id: CaseId,
    file: Annotated[Path, typer.Option("--file", help="A JSON file of evidence.")],
    name: Annotated[str | None, typer.Option("--name", help="Its name (default: file's).")] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Attach evidence (a JSON file), captured into the case as it is now."""
    try:
        content = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadRequest(f"--file {file}: not a readable JSON file ({exc})") from exc
    chosen = name or file.name
    _show(cases.attach_evidence(context(), acting_user(user), case_id, chosen, content), as_json)


@cases_app.command("close")
def cases_close(
    case_id: CaseId,
    disposition: Annotated[
        str, typer.Option("--disposition", help=f"One of: {', '.join(cases.DISPOSITIONS)}.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (required; audited).")],
    no_suppress: Annotated[
        bool,
        typer.Option(
            "--no-suppress",
            help="false_positive: record the decision without suppressing the same alerts.",
        ),
    ] = False,
    suppress_days: Annotated[
        int | None,
        typer.Option("--suppress-days", help="Days a false-positive suppression lasts (365)."),
    ] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close with a disposition. true_match, and a false_positive that suppresses future
    alerts, wait in pending_approval for another approver."""
    case = cases.close_case(
        context(),
        acting_user(user),
        case_id,
        disposition,
        reason,
        suppress=not no_suppress,
        suppression_days=suppress_days,
    )
    if case.state == "pending_approval" and not as_json:
        err.print(
            f"case {case_id} waits for a second approver: sanctrace cases approve {case_id} "
            f"--user OTHER (別の承認者による承認待ち)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    _show(case, as_json)


@cases_app.command("approve")
def cases_approve(
    case_id: CaseId,
    reason: Annotated[str | None, typer.Option("--reason", help="A note (audited).")] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a closing (four-eyes). Exit 1 when the acting user closed the case or is not
    an approver."""
    ctx = context()
    try:
        case = cases.approve_case(ctx, acting_user(user), case_id, reason)
    except Forbidden as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(HIT) from None
    _show(case, as_json)


@cases_app.command("reopen")
def cases_reopen(
    case_id: CaseId,
    reason: Annotated[str, typer.Option("--reason", help="Why (required; audited).")],
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reopen a closed case, or send a pending one back (its suppressions end)."""
    _show(cases.reopen_case(context(), acting_user(user), case_id, reason), as_json)
