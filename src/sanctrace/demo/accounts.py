"""The demo's people and platform: an analyst, an approver and a platform API key, with
credentials made fresh on every run (never written in the code or the report)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sanctrace.cases import users
from sanctrace.cases.auth import Role
from sanctrace.errors import NotFound
from sanctrace.services.context import Context

ANALYST = "demo-analyst"
APPROVER = "demo-approver"
KEY = "demo-platform"
ACTOR = "demo"


@dataclass(frozen=True)
class Credential:
    kind: str  # "user (analyst)" | "API key (screen, decide, events)"
    name: str
    secret: str


def _user(ctx: Context, name: str, role: Role) -> Credential:
    """Add the user, or give an existing one a new password (a second run on one database)."""
    try:
        users.acting_user(ctx, name)
    except NotFound:
        added = users.add_user(ctx, name, role, actor=ACTOR)
    else:
        users.set_disabled(ctx, name, False, actor=ACTOR)
        added = users.reset_password(ctx, name, actor=ACTOR)
    assert added.password is not None
    return Credential(f"user ({added.user.role})", name, added.password)


def demo_accounts(ctx: Context) -> list[Credential]:
    """The demo's analyst, approver and platform key; an earlier run's keys are revoked."""
    found = [_user(ctx, ANALYST, Role.ANALYST), _user(ctx, APPROVER, Role.APPROVER)]
    for key in users.list_keys(ctx):
        if key.name.startswith(KEY) and key.revoked_at is None:
            users.revoke_key(ctx, key.name, actor=ACTOR)
    scopes = ("screen", "decide", "events")
    created = users.create_key(ctx, f"{KEY}-{secrets.token_hex(3)}", scopes, actor=ACTOR)
    found.append(Credential(f"API key ({', '.join(scopes)})", created.key.name, created.token))
    return found
