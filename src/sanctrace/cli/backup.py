"""``sanctrace backup DIR`` and ``sanctrace restore DIR``: the SQLite database and the chain
store into one folder, with checksums, and back (``services.backup``; docs/deploy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sanctrace.cli._console import context, print_json, say
from sanctrace.services import backup as service

__all__ = ["backup", "register", "restore"]

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def backup(
    folder: Annotated[Path, typer.Argument(help="A new or empty folder for the backup.")],
    chain_only: Annotated[
        bool,
        typer.Option(
            "--chain-only",
            help="The chain store alone (with PostgreSQL, whose database pg_dump backs up).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Back up the database (SQLite, online: serve may keep running) and the chain store."""
    answer = service.backup(context(), service.BackupRequest(folder, chain_only=chain_only))
    if as_json:
        print_json(answer.to_dict())
        return
    what = "chain store" if answer.database is None else "database and chain store"
    say(
        f"backed up the {what} to {answer.folder}: {answer.files} files, "
        f"{answer.bytes:,} bytes, {answer.chain_loads} chain loads"
        + (f", schema {answer.schema_revision}" if answer.schema_revision else "")
    )


def restore(
    folder: Annotated[Path, typer.Argument(help="A folder written by sanctrace backup.")],
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace a database or chain store that is not empty."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Verify a backup's checksums and restore it to --db and --data-dir (stop serve first)."""
    answer = service.restore(context(), service.RestoreRequest(folder, force=force))
    if as_json:
        print_json(answer.to_dict())
        return
    say(f"verified {answer.files} files of {answer.folder}")
    if answer.database:
        say(f"restored the database to {answer.database}")
    if answer.chain_dir:
        say(f"restored the chain store to {answer.chain_dir}")
    for path in answer.replaced:
        say(f"replaced {path}")


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the ``sanctrace`` command."""
    app.command("backup")(backup)
    app.command("restore")(restore)
