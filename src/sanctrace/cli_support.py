"""What the command modules share: consoles, global options, the database, progress, JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

out = Console()
err = Console(stderr=True)


class State:
    db_url: str | None = None
    verbose: bool = False


state = State()


def open_db():  # noqa: ANN201 - returns sanctrace.store.Database
    from sanctrace.store import open_database

    return open_database(state.db_url)


@contextmanager
def progress_bar(label: str, total: int | None = None) -> Iterator:
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


# --- lists -------------------------------------------------------------------------------------
