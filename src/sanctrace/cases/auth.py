"""Who may do what: users with roles, API keys with scopes, and the permissions of each.

Roles: ``analyst`` works alerts and cases; ``approver`` is also an analyst and is the second
pair of eyes (four-eyes); ``admin`` manages users, keys, rules and lists; ``auditor`` reads
everything and changes nothing. API keys belong to the exchange's platform and carry scopes
(``screen``, ``decide``, ``events``): they may call the screening, decision and event
endpoints only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sanctrace.errors import SanctraceError

__all__ = [
    "KEY_SCOPES",
    "ROLE_PERMISSIONS",
    "Forbidden",
    "Permission",
    "Principal",
    "Role",
    "Unauthenticated",
]


class Unauthenticated(SanctraceError):
    """No valid credentials (HTTP 401)."""

    http_status = 401


class Forbidden(SanctraceError):
    """Valid credentials without the right (HTTP 403; CLI exit 2)."""

    http_status = 403


class Role(StrEnum):
    ANALYST = "analyst"
    APPROVER = "approver"
    ADMIN = "admin"
    AUDITOR = "auditor"


class Permission(StrEnum):
    SCREEN = "screen"  # screening endpoints
    DECIDE = "decide"  # decision endpoints
    EVENTS = "events"  # event intake
    READ = "read"  # alerts, cases, holds, audit, reports, lists
    WORK = "work"  # assign, comment, close cases; request releases
    APPROVE = "approve"  # the second pair of eyes
    ADMIN = "admin"  # users, keys, rules, lists


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.AUDITOR: frozenset({Permission.READ}),
    Role.ANALYST: frozenset({Permission.READ, Permission.WORK, Permission.SCREEN}),
    Role.APPROVER: frozenset(
        {Permission.READ, Permission.WORK, Permission.SCREEN, Permission.APPROVE}
    ),
    Role.ADMIN: frozenset(
        {Permission.READ, Permission.SCREEN, Permission.ADMIN, Permission.DECIDE}
    ),
}
KEY_SCOPES = frozenset({Permission.SCREEN, Permission.DECIDE, Permission.EVENTS})


@dataclass(frozen=True)
class Principal:
    """Who is acting: a user (with a role) or a platform API key (with scopes)."""

    name: str
    kind: str  # "user" | "key"
    role: Role | None = None
    scopes: frozenset[Permission] = field(default_factory=frozenset)

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.kind == "user" and self.role is not None:
            return ROLE_PERMISSIONS[self.role]
        return self.scopes & KEY_SCOPES

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        """Raise ``Forbidden`` unless this principal has ``permission``."""
        if not self.can(permission):
            who = f"user {self.name!r} ({self.role})" if self.kind == "user" else "this API key"
            raise Forbidden(f"{who} may not {permission.value}")
