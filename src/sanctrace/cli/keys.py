"""``sanctrace keys``: the exchange platform's API keys. A key is shown once; only its hash is
kept."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from sanctrace.cases import users
from sanctrace.cases.auth import KEY_SCOPES
from sanctrace.cli._console import context, out, print_json, say
from sanctrace.cli.users import admin_actor

keys_app = typer.Typer(help="API keys of the exchange's platform.", no_args_is_help=True)

SCOPES = ", ".join(sorted(s.value for s in KEY_SCOPES))


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="A name for the key (the client it is for).")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", help=f"What the key may call, repeatable: {SCOPES}."),
    ],
) -> None:
    """Create a key with its scopes; prints the key once on standard output."""
    created = users.create_key(context(), name, scope, actor=admin_actor())
    say(
        f"created API key {created.key.name} (st_{created.key.prefix}_…, scopes "
        f"{', '.join(created.key.scopes)}); shown once, send it as Authorization: Bearer KEY:"
    )
    sys.stdout.write(created.token + "\n")


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke a key: from now on it is refused (401)."""
    users.revoke_key(context(), name, actor=admin_actor())
    say(f"revoked API key {name}")


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The keys: name, prefix, scopes, when created and revoked (never the key)."""
    found = users.list_keys(context())
    if as_json:
        print_json([k.to_dict() for k in found])
        return
    if not found:
        out.print("No API keys. Create one with: sanctrace keys create NAME --scope screen")
        return
    table = Table("name", "prefix", "scopes", "created", "revoked")
    for k in found:
        table.add_row(k.name, k.prefix, ", ".join(k.scopes), k.created_at, k.revoked_at or "")
    out.print(table)
