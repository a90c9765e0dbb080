"""``sanctrace decisions replay ID [--json]``: recompute a stored decision with the list
snapshots, rules and inputs it recorded (``cases.replay``); exit 1 when the outcome differs."""

from __future__ import annotations

from typing import Annotated

import typer

from sanctrace.cases.replay import replay
from sanctrace.cli._console import HIT, context, print_json, say

decisions_app = typer.Typer(help="Stored decisions: replay them.")
decisions_app.info.no_args_is_help = True


@decisions_app.command("replay")
def decisions_replay(
    decision_id: Annotated[str, typer.Argument(help="The decision id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recompute a stored decision with the snapshots, rules and inputs it recorded: exit 0
    when the outcome is the same, 1 when it differs."""
    answer = replay(context(), decision_id)
    if as_json:
        print_json(answer.to_dict())
    else:
        verdict = (
            "same" if answer.same else ("same decision" if answer.same_decision else "DIFFERS")
        )
        snaps = ", ".join(f"{s} {i}" for s, i in sorted(answer.snapshots.items())) or "none"
        say(
            f"decision {answer.decision_id}: stored {answer.stored_decision}, replayed "
            f"{answer.replayed_decision} — {verdict} (snapshots: {snaps})"
        )
        for diff in answer.differences:
            before = ", ".join(r["action"] for r in diff.stored) or "nothing"
            after = ", ".join(r["action"] for r in diff.replayed) or "nothing"
            say(f"  rule {diff.rule}: stored {before}; replayed {after}")
        for note in answer.notes:
            say(f"  note: {note}")
    if answer.hit:
        raise typer.Exit(HIT)
