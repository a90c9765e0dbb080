"""Users, platform API keys and console sessions: who may act, and proof of it.

- **Passwords** are hashed with Argon2id (``argon2-cffi``, its RFC 9106 low-memory profile):
  memory-hard, because people choose guessable passwords. A password is given (at least
  ``MIN_PASSWORD`` characters) or generated; a generated one is shown once and never stored.
- **API keys** are ``st_<prefix>_<secret>``: 8 hex characters that name the key in listings
  and find its row, then 256 random bits. A random 256-bit secret cannot be guessed, so a slow
  hash adds nothing: the key is stored as its SHA-256 and compared in constant time. The key
  is shown once, when created.
- **Sessions** (the console) are random tokens stored as SHA-256, with an expiry and a CSRF
  token the console sends back on every change.

Nothing here logs or returns a secret except the one-time answer of ``add_user``,
``reset_password``, ``create_key`` and ``login``. Every change goes to the audit trail, without
the secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sanctrace.cases import audit
from sanctrace.cases.auth import (
    KEY_SCOPES,
    Forbidden,
    Permission,
    Principal,
    Role,
    Unauthenticated,
)
from sanctrace.errors import BadRequest, Conflict, NotFound
from sanctrace.services.context import Context
from sanctrace.store import users as repo
from sanctrace.store.snapshots import now

__all__ = [
    "KEY_PREFIX",
    "MIN_PASSWORD",
    "SESSION_TTL",
    "KeyOut",
    "NewKey",
    "NewUser",
    "SessionInfo",
    "UserOut",
    "acting_user",
    "add_user",
    "authenticate_key",
    "create_key",
    "has_users",
    "list_keys",
    "list_users",
    "login",
    "logout",
    "reset_password",
    "revoke_key",
    "session_info",
    "session_principal",
    "set_disabled",
]

KEY_PREFIX = "st"
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
SESSION_TTL = timedelta(hours=8)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_KEY = re.compile(r"^st_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")

_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


@cache
def _dummy_hash() -> str:
    """Verified when the name is unknown, so a login takes as long whether or not the user
    exists (made on first use: hashing costs 64 MiB and a few dozen milliseconds)."""
    return _hasher.hash(secrets.token_urlsafe(16))


# --- answers --------------------------------------------------------------------------------
def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return _utc(value).isoformat(timespec="seconds")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class UserOut:
    name: str
    role: str
    created_at: str
    disabled: bool

    @classmethod
    def of(cls, row: Any) -> UserOut:
        return cls(row.name, row.role, _iso(row.created_at) or "", bool(row.disabled))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at,
            "disabled": self.disabled,
        }


@dataclass(frozen=True)
class NewUser:
    """A user just added (or whose password was reset). ``password`` is set only when it was
    generated: show it once, it is not kept."""

    user: UserOut
    password: str | None = None


@dataclass(frozen=True)
class KeyOut:
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None

    @classmethod
    def of(cls, row: Any) -> KeyOut:
        return cls(
            row.name,
            row.prefix,
            tuple(sorted(row.scopes)),
            _iso(row.created_at) or "",
            _iso(row.revoked_at),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "prefix": self.prefix,
            "scopes": list(self.scopes),
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }


@dataclass(frozen=True)
class NewKey:
    """A key just created; ``token`` is shown once and only its hash is kept."""

    key: KeyOut
    token: str


@dataclass(frozen=True)
class SessionInfo:
    principal: Principal
    csrf_token: str
    expires_at: datetime


# --- helpers --------------------------------------------------------------------------------
def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _check_name(name: str, what: str) -> str:
    if not NAME.match(name or ""):
        raise BadRequest(
            f"bad {what} name {name!r}: 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return name


def _role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise BadRequest(
            f"unknown role {role!r}; one of: {', '.join(r.value for r in Role)}"
        ) from None


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"the password is too short: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"the password is too long: at most {MAX_PASSWORD} characters")
    return password


def _generate_password() -> str:
    return secrets.token_urlsafe(18)  # 144 bits, 24 characters


def _user(conn: sa.Connection, name: str) -> Any:
    row = repo.find_user(conn, name)
    if row is None:
        raise NotFound(f"no user named {name!r}; add one with: sanctrace users add NAME --role R")
    return row


def _principal(row: Any) -> Principal:
    return Principal(name=row.name, kind="user", role=Role(row.role))


# --- users ----------------------------------------------------------------------------------
def add_user(
    ctx: Context,
    name: str,
    role: str | Role,
    password: str | None = None,
    *,
    actor: str = "cli",
) -> NewUser:
    """Add a user with ``role``. Without ``password`` one is generated and returned (once)."""
    _check_name(name, "user")
    chosen = _role(role)
    generated = password is None
    secret = _generate_password() if password is None else _check_password(password)
    digest = _hasher.hash(secret)
    with ctx.db.begin() as conn:
        if repo.find_user(conn, name) is not None:
            raise Conflict(f"a user named {name!r} exists")
        repo.add_user(conn, name, chosen.value, digest)
        audit.record(
            conn,
            actor=actor,
            action="user.add",
            object_type="user",
            object_id=name,
            after={"name": name, "role": chosen.value, "disabled": False},
        )
        row = _user(conn, name)
    return NewUser(UserOut.of(row), secret if generated else None)


def reset_password(
    ctx: Context, name: str, password: str | None = None, *, actor: str = "cli"
) -> NewUser:
    """Set a user's password (generated when not given) and end their sessions."""
    secret = _generate_password() if password is None else _check_password(password)
    digest = _hasher.hash(secret)
    with ctx.db.begin() as conn:
        row = _user(conn, name)
        repo.set_password(conn, row.id, digest)
        repo.delete_sessions_of(conn, row.id)
        audit.record(conn, actor=actor, action="user.password", object_type="user", object_id=name)
    return NewUser(UserOut.of(row), secret if password is None else None)


def set_disabled(ctx: Context, name: str, disabled: bool, *, actor: str = "cli") -> UserOut:
    """Disable (or enable again) a user; disabling ends their sessions."""
    with ctx.db.begin() as conn:
        row = _user(conn, name)
        repo.set_user_disabled(conn, row.id, disabled)
        if disabled:
            repo.delete_sessions_of(conn, row.id)
        audit.record(
            conn,
            actor=actor,
            action="user.disable" if disabled else "user.enable",
            object_type="user",
            object_id=name,
            before={"disabled": bool(row.disabled)},
            after={"disabled": disabled},
        )
        return UserOut.of(_user(conn, name))


def list_users(ctx: Context) -> list[UserOut]:
    with ctx.db.connect() as conn:
        return [UserOut.of(r) for r in repo.list_users(conn)]


def has_users(ctx: Context, role: Role | None = None) -> bool:
    """Whether any user (any enabled one with ``role``, when given) exists."""
    with ctx.db.connect() as conn:
        return repo.count_users(conn, role=role.value if role else None) > 0


def acting_user(ctx: Context, name: str) -> Principal:
    """The user named as acting in a command: refused when unknown or disabled."""
    if not name:
        raise BadRequest("name the acting user (--user NAME or $SANCTRACE_USER)")
    with ctx.db.connect() as conn:
        row = _user(conn, name)
    if row.disabled:
        raise Forbidden(f"user {name!r} is disabled")
    return _principal(row)


# --- API keys -------------------------------------------------------------------------------
def _scopes(scopes: Iterable[str | Permission]) -> frozenset[Permission]:
    chosen: set[Permission] = set()
    allowed = ", ".join(sorted(p.value for p in KEY_SCOPES))
    for scope in scopes:
        try:
            perm = Permission(scope)
        except ValueError:
            perm = None
        if perm not in KEY_SCOPES:
            raise BadRequest(f"unknown key scope {scope!r}; one of: {allowed}")
        assert perm is not None
        chosen.add(perm)
    if not chosen:
        raise BadRequest(f"a key needs at least one scope: {allowed}")
    return frozenset(chosen)


def create_key(
    ctx: Context, name: str, scopes: Iterable[str | Permission], *, actor: str = "cli"
) -> NewKey:
    """Create a platform API key with ``scopes``; the answer's ``token`` is shown once."""
    _check_name(name, "key")
    chosen = _scopes(scopes)
    prefix = secrets.token_hex(4)
    token = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with ctx.db.begin() as conn:
        if repo.find_key(conn, name) is not None:
            raise Conflict(f"a key named {name!r} exists (revoked keys keep their names)")
        repo.add_key(conn, name, prefix, _sha256(token), [s.value for s in chosen])
        audit.record(
            conn,
            actor=actor,
            action="key.create",
            object_type="api_key",
            object_id=name,
            after={"name": name, "prefix": prefix, "scopes": sorted(s.value for s in chosen)},
        )
        row = repo.find_key(conn, name)
    return NewKey(KeyOut.of(row), token)


def revoke_key(ctx: Context, name: str, *, actor: str = "cli") -> KeyOut:
    """Revoke a key: it authenticates nothing from now on. Revoking twice changes nothing."""
    with ctx.db.begin() as conn:
        row = repo.find_key(conn, name)
        if row is None:
            raise NotFound(f"no API key named {name!r}")
        if row.revoked_at is None:
            repo.revoke_key(conn, row.id, now())
            audit.record(
                conn,
                actor=actor,
                action="key.revoke",
                object_type="api_key",
                object_id=name,
                before={"revoked": False},
                after={"revoked": True},
            )
        return KeyOut.of(repo.find_key(conn, name))


def list_keys(ctx: Context) -> list[KeyOut]:
    with ctx.db.connect() as conn:
        return [KeyOut.of(r) for r in repo.list_keys(conn)]


def authenticate_key(ctx: Context, token: str) -> Principal:
    """The principal of an API key; ``Unauthenticated`` when it is malformed, unknown or
    revoked (one message for all three)."""
    refused = Unauthenticated("invalid or revoked API key")
    match = _KEY.match(token or "")
    if match is None:
        raise refused
    digest = _sha256(token)
    with ctx.db.connect() as conn:
        rows = repo.keys_with_prefix(conn, match.group(1))
    for row in rows:
        if hmac.compare_digest(row.key_hash, digest) and row.revoked_at is None:
            return Principal(
                name=row.name,
                kind="key",
                scopes=frozenset(Permission(s) for s in row.scopes if s in KEY_SCOPES),
            )
    raise refused


# --- sessions -------------------------------------------------------------------------------
def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def login(
    ctx: Context, name: str, password: str, *, ttl: timedelta = SESSION_TTL
) -> tuple[str, str]:
    """Check a user's password and open a console session: ``(session token, CSRF token)``.
    A wrong name, a wrong password and a disabled user are one ``Unauthenticated``."""
    refused = Unauthenticated("wrong user name or password")
    if not name or not password or len(password) > MAX_PASSWORD:
        raise refused
    with ctx.db.connect() as conn:
        row = repo.find_user(conn, name)
    if row is None:
        _verify(_dummy_hash(), password)  # as slow as a real check
        raise refused
    if not _verify(row.password_hash, password) or row.disabled:
        raise refused
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    when = now()
    with ctx.db.begin() as conn:
        repo.purge_expired_sessions(conn, when)
        if _hasher.check_needs_rehash(row.password_hash):
            repo.set_password(conn, row.id, _hasher.hash(password))
        repo.add_session(conn, _sha256(token), row.id, when + ttl, csrf)
        audit.record(conn, actor=name, action="user.login", object_type="user", object_id=name)
    return token, csrf


def session_info(ctx: Context, token: str) -> SessionInfo:
    """The user, CSRF token and expiry of a live session; ``Unauthenticated`` otherwise."""
    refused = Unauthenticated("no valid session; log in again")
    if not token or len(token) > 256:
        raise refused
    with ctx.db.connect() as conn:
        row = repo.session_with_user(conn, _sha256(token))
    if row is None or row.disabled:
        raise refused
    expires = _utc(row.expires_at)
    if expires <= now():
        with ctx.db.begin() as conn:
            repo.delete_session(conn, _sha256(token))
        raise refused
    return SessionInfo(_principal(row), row.csrf_token, expires)


def session_principal(ctx: Context, token: str) -> Principal:
    """The user of a live console session; ``Unauthenticated`` when unknown or expired."""
    return session_info(ctx, token).principal


def logout(ctx: Context, token: str) -> None:
    """End a session (nothing happens when it is not one)."""
    with ctx.db.begin() as conn:
        row = repo.session_with_user(conn, _sha256(token or ""))
        if row is not None:
            repo.delete_session(conn, _sha256(token))
            audit.record(
                conn, actor=row.name, action="user.logout", object_type="user", object_id=row.name
            )
