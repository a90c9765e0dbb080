"""``sanctrace users``: add, list, disable users; reset a password. Passwords are shown once."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from sanctrace.cases import users
from sanctrace.cases.auth import Permission, Role
from sanctrace.cli._console import acting_user, context, out, print_json, say, state
from sanctrace.errors import BadRequest

users_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)

ROLES = ", ".join(r.value for r in Role)


def admin_actor() -> str:
    """Who manages users: the named user (global --user or $SANCTRACE_USER), who must be an
    admin, else the operator at the database ("cli"), as when the first admin is created."""
    if not (state.user or context().settings.user) or not users.has_users(context()):
        return "cli"  # nobody named, or the first user: the operator at the database
    who = acting_user()
    who.require(Permission.ADMIN)
    return who.name


def _password_from_stdin() -> str:
    text = sys.stdin.readline().rstrip("\r\n")
    if not text:
        raise BadRequest("--password-stdin: no password on standard input")
    return text


def _show_once(name: str, password: str | None) -> None:
    if password is not None:
        say(f"the password of {name} (shown once; it is not stored):")
        sys.stdout.write(password + "\n")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's name (what --user names).")],
    role: Annotated[str, typer.Option("--role", help=f"One of: {ROLES}.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input (one line)."),
    ] = False,
) -> None:
    """Add a user with a role; prints a generated one-time password unless one is read from
    standard input."""
    password = _password_from_stdin() if password_stdin else None
    added = users.add_user(context(), name, role, password, actor=admin_actor())
    say(f"added user {added.user.name} ({added.user.role})")
    _show_once(added.user.name, added.password)


@users_app.command("list")
def users_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The users, their roles and whether they are disabled."""
    found = users.list_users(context())
    if as_json:
        print_json([u.to_dict() for u in found])
        return
    if not found:
        out.print("No users. Add the first admin with: sanctrace users add NAME --role admin")
        return
    table = Table("name", "role", "created", "disabled")
    for u in found:
        table.add_row(u.name, u.role, u.created_at, "yes" if u.disabled else "")
    out.print(table)


@users_app.command("password")
def users_password(
    name: Annotated[str, typer.Argument(help="The user.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input (one line)."),
    ] = False,
) -> None:
    """Set a new password (generated and shown once, unless read from standard input); the
    user's sessions end."""
    password = _password_from_stdin() if password_stdin else None
    changed = users.reset_password(context(), name, password, actor=admin_actor())
    say(f"new password set for {changed.user.name}")
    _show_once(changed.user.name, changed.password)


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Disable a user: no login, no acting in commands; their sessions end."""
    users.set_disabled(context(), name, True, actor=admin_actor())
    say(f"disabled user {name}")


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Enable a disabled user again."""
    users.set_disabled(context(), name, False, actor=admin_actor())
    say(f"enabled user {name}")
