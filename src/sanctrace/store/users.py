"""Repository for users, platform API keys and console sessions.

Only hashes are stored: a user's password as Argon2id, a key and a session token as SHA-256
(``cases.users`` makes and checks them). Functions take an open connection; the caller owns the
transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from sanctrace.store.snapshots import now
from sanctrace.store.tables import api_keys, sessions, users

__all__ = [
    "add_key",
    "add_session",
    "add_user",
    "count_users",
    "delete_session",
    "delete_sessions_of",
    "find_key",
    "find_user",
    "keys_with_prefix",
    "list_keys",
    "list_users",
    "purge_expired_sessions",
    "revoke_key",
    "session_with_user",
    "set_password",
    "set_user_disabled",
]


# --- users ----------------------------------------------------------------------------------
def add_user(conn: sa.Connection, name: str, role: str, password_hash: str) -> int:
    key = conn.execute(
        users.insert().values(
            name=name, role=role, password_hash=password_hash, created_at=now(), disabled=False
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def find_user(conn: sa.Connection, name: str) -> sa.Row | None:
    return conn.execute(sa.select(users).where(users.c.name == name)).first()


def list_users(conn: sa.Connection) -> list[sa.Row]:
    return list(conn.execute(sa.select(users).order_by(users.c.name)))


def count_users(conn: sa.Connection, *, role: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(users)
    if role is not None:
        query = query.where(users.c.role == role, users.c.disabled.is_(False))
    return int(conn.execute(query).scalar_one())


def set_password(conn: sa.Connection, user_id: int, password_hash: str) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))


def set_user_disabled(conn: sa.Connection, user_id: int, disabled: bool) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(disabled=disabled))


# --- API keys -------------------------------------------------------------------------------
def add_key(
    conn: sa.Connection, name: str, prefix: str, key_hash: str, scopes: Iterable[str]
) -> int:
    key = conn.execute(
        api_keys.insert().values(
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            scopes=sorted(scopes),
            created_at=now(),
            revoked_at=None,
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def find_key(conn: sa.Connection, name: str) -> sa.Row | None:
    return conn.execute(sa.select(api_keys).where(api_keys.c.name == name)).first()


def keys_with_prefix(conn: sa.Connection, prefix: str) -> list[sa.Row]:
    """The keys (revoked ones too) whose public prefix is ``prefix``."""
    return list(conn.execute(sa.select(api_keys).where(api_keys.c.prefix == prefix)))


def list_keys(conn: sa.Connection) -> list[sa.Row]:
    return list(conn.execute(sa.select(api_keys).order_by(api_keys.c.name)))


def revoke_key(conn: sa.Connection, key_id: int, when: datetime) -> None:
    conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=when)
    )


# --- sessions -------------------------------------------------------------------------------
def add_session(
    conn: sa.Connection, token_hash: str, user_id: int, expires_at: datetime, csrf_token: str
) -> int:
    key = conn.execute(
        sessions.insert().values(
            token_hash=token_hash,
            user_id=user_id,
            created_at=now(),
            expires_at=expires_at,
            csrf_token=csrf_token,
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def session_with_user(conn: sa.Connection, token_hash: str) -> sa.Row | None:
    """The session whose token hashes to ``token_hash``, with its user's name, role and
    ``disabled`` flag."""
    query = (
        sa.select(
            sessions.c.id,
            sessions.c.expires_at,
            sessions.c.csrf_token,
            users.c.id.label("user_id"),
            users.c.name,
            users.c.role,
            users.c.disabled,
        )
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == token_hash)
    )
    return conn.execute(query).first()


def delete_session(conn: sa.Connection, token_hash: str) -> bool:
    result = conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash))
    return bool(result.rowcount)


def delete_sessions_of(conn: sa.Connection, user_id: int) -> int:
    return int(conn.execute(sessions.delete().where(sessions.c.user_id == user_id)).rowcount)


def purge_expired_sessions(conn: sa.Connection, when: datetime) -> int:
    return int(conn.execute(sessions.delete().where(sessions.c.expires_at <= when)).rowcount)
