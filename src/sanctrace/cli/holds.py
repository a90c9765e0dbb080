"""``sanctrace holds list|show|release|approve|reject``: the deposits and withdrawals a hold
decision stopped. Releasing takes two users (four-eyes); the acting user is ``--user`` or
``$SANCTRACE_USER``."""

from __future__ import annotations

from typing import Annotated

import typer

from sanctrace.cases import holds
from sanctrace.cases.auth import Forbidden
from sanctrace.cli._console import (
    HIT,
    UserOption,
    acting_user,
    context,
    err,
    out,
    print_json,
    say,
)

holds_app = typer.Typer(help="Held deposits and withdrawals: release (four-eyes) or reject.")
holds_app.info.no_args_is_help = True

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")]


def _show(hold: holds.Hold, as_json: bool) -> None:
    if as_json:
        print_json(hold.internal())
        return
    who = f" requested by {hold.requested_by}" if hold.requested_by else ""
    by = f", decided by {hold.decided_by}" if hold.decided_by else ""
    say(
        f"hold {hold.hold_id}: {hold.state} — {hold.kind} {hold.amount or '?'} "
        f"{hold.asset or ''} of customer {hold.customer_id} (event {hold.event_id}){who}{by}"
    )


@holds_app.command("list")
def holds_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    state: Annotated[
        str | None,
        typer.Option("--state", help="held, release_pending, released or rejected."),
    ] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="Customer id.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 1000,
) -> None:
    """Holds, newest first."""
    found = holds.list_holds(
        context(), holds.HoldQuery(state=state, customer_id=customer, limit=limit)
    )
    if as_json:
        print_json([h.internal() for h in found])
        return
    if not found:
        out.print("No holds.")
        return
    # One line per hold, not a table: it must stay readable on a narrow terminal.
    for h in found:
        who = "".join(
            f", {label} {name}"
            for label, name in (("requested by", h.requested_by), ("decided by", h.decided_by))
            if name
        )
        out.print(
            f"#{h.hold_id} {h.state} {(h.created_at or '')[:16]} {h.kind} "
            f"{h.amount or '?'} {h.asset or ''} customer {h.customer_id} "
            f"event {h.event_id}{who}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@holds_app.command("show")
def holds_show(
    hold_id: Annotated[int, typer.Argument(help="Hold id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One hold."""
    _show(holds.get_hold(context(), hold_id), as_json)


@holds_app.command("release")
def holds_release(
    hold_id: Annotated[int, typer.Argument(help="Hold id.")],
    reason: ReasonOption,
    user: UserOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Ask for a release (held → release_pending); another approver approves it."""
    ctx = context()
    hold = holds.request_release(ctx, hold_id, acting_user(user), reason)
    _show(hold, as_json)


@holds_app.command("approve")
def holds_approve(
    hold_id: Annotated[int, typer.Argument(help="Hold id.")],
    user: UserOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Approve a requested release (release_pending → released). Exit 1 when the acting
    user asked for it or is not an approver."""
    ctx = context()
    try:
        hold = holds.approve_release(ctx, hold_id, acting_user(user))
    except Forbidden as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(HIT) from None
    _show(hold, as_json)


@holds_app.command("reject")
def holds_reject(
    hold_id: Annotated[int, typer.Argument(help="Hold id.")],
    reason: ReasonOption,
    target: Annotated[
        bool,
        typer.Option(
            "--target",
            help="The subject is an asset-freeze target of the FSA request: "
            "open the report task for the FSA and the MOF.",
        ),
    ] = False,
    user: UserOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Reject (held or release_pending → rejected): the funds stay frozen."""
    ctx = context()
    hold = holds.reject(ctx, hold_id, acting_user(user), reason, target=target)
    _show(hold, as_json)
