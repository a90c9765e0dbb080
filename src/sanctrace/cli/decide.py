"""``sanctrace decide withdrawal|deposit --json FILE|-``: one synchronous decision."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sanctrace.cli._console import HIT, context, print_json
from sanctrace.errors import BadRequest
from sanctrace.monitor.decisions import decide

decide_app = typer.Typer(
    help="Decide a deposit or withdrawal: allow, hold or block.", no_args_is_help=True
)


def _read(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        name = "stdin" if source == "-" else source
        raise BadRequest(f"{name}:{exc.lineno}: not JSON ({exc.msg})") from None


def _decide(kind: str, source: str) -> None:
    answer = decide(context(), kind, _read(source))
    print_json(answer.to_dict())
    if answer.hit:
        raise typer.Exit(HIT)


JsonOption = Annotated[
    str, typer.Option("--json", help="The request as JSON: a file, or - for standard input.")
]


@decide_app.command("withdrawal")
def decide_withdrawal(source: JsonOption) -> None:
    """Decide a withdrawal request before it is sent (exit 1 for hold or block)."""
    _decide("withdrawal", source)


@decide_app.command("deposit")
def decide_deposit(source: JsonOption) -> None:
    """Decide a deposit before it is credited (exit 1 for hold or block)."""
    _decide("deposit", source)
