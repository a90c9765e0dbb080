"""``sanctrace audit verify|export|purge|hold|release|holds``: the hash-chained audit trail
(docs/audit.md). Purge and legal holds name the acting user (``--user`` or
``$SANCTRACE_USER``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sanctrace.cases import audit
from sanctrace.cases.auth import Forbidden, Permission, Principal
from sanctrace.cli._console import HIT, UserOption, acting_user, context, print_json, say
from sanctrace.fileio import write_atomic

audit_app = typer.Typer(help="The audit trail: verify the chain, export, retention and holds.")
audit_app.info.no_args_is_help = True

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _may(who: Principal, *permissions: Permission) -> None:
    if not any(who.can(p) for p in permissions):
        names = " or ".join(p.value for p in permissions)
        raise Forbidden(f"user {who.name!r} ({who.role}) may not do this: it needs {names}")


@audit_app.command("verify")
def audit_verify(as_json: JsonFlag = False) -> None:
    """Walk the chain: exit 0 when every record verifies, else exit 1 naming the first that
    does not."""
    answer = audit.verify(context())
    if as_json:
        print_json(answer.to_dict())
    elif answer.failure is None:
        say(
            f"audit trail verified: {answer.records} record(s), {answer.purged} purged; "
            f"head {answer.head_id} {answer.head_hash}"
        )
    else:
        say(f"audit record {answer.failure.id} does not verify: {answer.failure.reason}")
        say(f"(record {answer.failure.id}; {answer.records} record(s) before it verified)")
    if answer.hit:
        raise typer.Exit(HIT)


@audit_app.command("export")
def audit_export(
    since: Annotated[
        str | None, typer.Option("--from", help="From this date or ISO date-time (UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Until this date (included) or date-time.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """The records from --from to --to as JSON lines, with their hashes."""
    lines = audit.export_lines(context(), since, until)
    if output is None:
        for line in lines:
            sys.stdout.write(line)
        return
    text = "".join(lines)
    write_atomic(output, text)
    say(f"{text.count(chr(10))} record(s) written to {output}")


@audit_app.command("purge")
def audit_purge(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Retention measured on this date (default: now).")
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Retention per record type (YAML/JSON) over the defaults."),
    ] = None,
    user: UserOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Blank the content of records past retention and under no legal hold; hashes stay."""
    who = acting_user(user)
    _may(who, Permission.ADMIN)
    rules = audit.RetentionPolicy.load(policy) if policy is not None else None
    answer = audit.purge(context(), as_of, who.name, rules)
    if as_json:
        print_json(answer.to_dict())
        return
    say(
        f"purged {answer.purged} record(s) past retention on {answer.as_of}; "
        f"{answer.held} kept by legal holds"
    )


@audit_app.command("hold")
def audit_hold(
    object_type: Annotated[str, typer.Argument(help="customer, case, decision, hold, …")],
    object_id: Annotated[str, typer.Argument(help="The object's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (a court order, an inquiry).")],
    user: UserOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Put a legal hold on an object's records: no purge deletes them until released."""
    who = acting_user(user)
    _may(who, Permission.ADMIN, Permission.APPROVE)
    hold = audit.legal_hold(context(), object_type, object_id, reason, who.name)
    if as_json:
        print_json(hold.to_dict())
        return
    say(f"legal hold {hold.id} on {hold.object_type} {hold.object_id}")


@audit_app.command("release")
def audit_release(
    hold_id: Annotated[int, typer.Argument(help="The legal hold's id.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why.")] = None,
    user: UserOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Release a legal hold."""
    who = acting_user(user)
    _may(who, Permission.ADMIN, Permission.APPROVE)
    hold = audit.release_legal_hold(context(), hold_id, who.name, reason)
    if as_json:
        print_json(hold.to_dict())
        return
    say(f"legal hold {hold.id} on {hold.object_type} {hold.object_id} released")


@audit_app.command("holds")
def audit_holds(
    all_: Annotated[bool, typer.Option("--all", help="Released holds too.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The legal holds in force (or all)."""
    found = audit.legal_holds_list(context(), active_only=not all_)
    if as_json:
        print_json([h.to_dict() for h in found])
        return
    if not found:
        say("no legal holds")
    for h in found:
        state = f"released {h.released_at}" if h.released_at else "in force"
        say(f"{h.id}: {h.object_type} {h.object_id} — {h.reason} ({h.created_by}; {state})")
