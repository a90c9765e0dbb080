"""What the command modules share: consoles, global options, the service context, progress,
JSON, and the exit codes (docs/cli.md)."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sanctrace.cases.auth import Principal
from sanctrace.errors import BadRequest
from sanctrace.services.context import Context
from sanctrace.settings import load_settings

out = Console()
err = Console(stderr=True)

# Exit codes, one scheme for every command (docs/cli.md); errors carry their own.
DONE = 0  # done, nothing found
HIT = 1  # a match, a listed address, a block or hold verdict


class State:
    db_url: str | None = None
    data_dir: Path | None = None
    rules: Path | None = None
    user: str | None = None
    verbose: bool = False
    _context: Context | None = None


state = State()


# The commands that may create the database (a SQLite file that is not there yet): they bring
# data in. Every other command refuses a missing file (exit 3) instead of answering from a new,
# empty database, where a mistyped --db would read as "nothing listed".
CREATING_COMMANDS = frozenset(
    {
        "demo",
        "lists load",
        "lists fetch",
        "users add",
        "keys create",
        "events load",
        "chain load",
        "chain follow",
        "chain tags",
        "restore",
    }
)


def command_name() -> str | None:
    """The running command without the program's name (``lists load``), if there is one."""
    # Typer 0.2x carries its own copy of click (``typer._click``); older ones use click's.
    for module in ("typer._click.globals", "click.globals"):
        try:
            current = importlib.import_module(module).get_current_context(silent=True)
        except ImportError:
            continue
        if current is not None:
            names = []  # from the command up to the program, whose name is left out
            while current.parent is not None:
                names.append(current.info_name or "")
                current = current.parent
            return " ".join(reversed(names)) or None
    return None


def creates_database(name: str | None) -> bool:
    """Whether the command ``name`` may create a missing database (outside a command: yes)."""
    return name is None or name in CREATING_COMMANDS


def context() -> Context:
    """The services' context for this command: the environment's settings under the global
    ``--db``, ``--data-dir``, ``--rules`` and ``--user`` options. A command outside
    ``CREATING_COMMANDS`` refuses a database that does not exist."""
    if state._context is None:
        settings = load_settings(
            db=state.db_url, data_dir=state.data_dir, rules=state.rules, user=state.user
        )
        state._context = Context(settings, create=creates_database(command_name()))
    return state._context


# A command that changes a case, hold or decision takes ``user: UserOption = None`` and calls
# ``acting_user(user)``; ``sanctrace --user NAME …`` and $SANCTRACE_USER work as well.
UserOption = Annotated[
    str | None,
    typer.Option("--user", help="The acting user (default: the global --user, $SANCTRACE_USER)."),
]


def acting_user(name: str | None = None) -> Principal:
    """The user acting in this command: ``name`` (a command's own ``--user``), else the global
    ``--user``, else $SANCTRACE_USER. Refused (exit 2) without one, or when the user is unknown
    or disabled."""
    from sanctrace.cases import users

    chosen = name or context().settings.user
    if not chosen:
        raise BadRequest(
            "this command changes a case, hold or decision: name the acting user with "
            "--user NAME (or set $SANCTRACE_USER)"
        )
    return users.acting_user(context(), chosen)


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar on a terminal; a silent counter when output is piped."""
    if not err.is_terminal:
        yield lambda n: None
        return
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def say(text: str) -> None:
    """A plain line on stderr (what a command did), never read as markup."""
    err.print(text, markup=False, highlight=False, soft_wrap=True)
