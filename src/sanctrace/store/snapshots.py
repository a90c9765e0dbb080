"""Repository for list snapshots: their entities, names, addresses, activation and deltas.

Every function takes an open connection so the caller decides the transaction.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace.errors import Unavailable
from sanctrace.model import Entity, fingerprint_of
from sanctrace.store.tables import (
    active_snapshots,
    crypto_addresses,
    deltas,
    entities,
    entity_names,
    rescreen_jobs,
    snapshot_activations,
    snapshots,
)


def now() -> datetime:
    return datetime.now(UTC)


def find_snapshot(conn: sa.Connection, source: str, sha256: str) -> sa.Row | None:
    query = sa.select(snapshots).where(snapshots.c.source == source, snapshots.c.sha256 == sha256)
    return conn.execute(query).first()


def get_snapshot(conn: sa.Connection, snapshot_id: int) -> sa.Row | None:
    return conn.execute(sa.select(snapshots).where(snapshots.c.id == snapshot_id)).first()


def create_snapshot(
    conn: sa.Connection, source: str, fmt: str, sha256: str, files: list[str]
) -> int:
    """A new, not yet active snapshot row with zero counts."""
    result = conn.execute(
        snapshots.insert().values(
            source=source,
            format=fmt,
            sha256=sha256,
            files=files,
            loaded_at=now(),
            entity_count=0,
            name_count=0,
            address_count=0,
            invalid_address_count=0,
            stats={},
            warnings=[],
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row
    return int(key[0])


def insert_entities(conn: sa.Connection, snapshot_id: int, batch: Sequence[Entity]) -> None:
    """Write a batch of entities with their names and crypto addresses."""
    if not batch:
        return
    rows = []
    for e in batch:
        data = e.to_ftm()
        rows.append(
            {
                "snapshot_id": snapshot_id,
                "entity_id": e.id,
                "schema": e.schema,
                "source_id": e.source_id,
                "caption": e.caption,
                "fingerprint": fingerprint_of(data),
                "data": data,
            }
        )
    conn.execute(entities.insert(), rows)
    names = [
        {
            "snapshot_id": snapshot_id,
            "entity_id": e.id,
            "name": n.value,
            "kind": n.kind.value,
            "script": n.script,
            "lang": n.lang,
        }
        for e in batch
        for n in e.names
    ]
    if names:
        conn.execute(entity_names.insert(), names)
    addrs = [
        {
            "snapshot_id": snapshot_id,
            "entity_id": e.id,
            "asset": a.asset,
            "chain": a.chain,
            "address": a.address[:255],
            "raw": a.raw[:255],
            "valid": a.valid,
            "reason": a.reason,
        }
        for e in batch
        for a in e.crypto
    ]
    if addrs:
        conn.execute(crypto_addresses.insert(), addrs)


def finish_snapshot(conn: sa.Connection, snapshot_id: int, **values: Any) -> None:
    conn.execute(snapshots.update().where(snapshots.c.id == snapshot_id).values(**values))


def activate(conn: sa.Connection, source: str, snapshot_id: int) -> None:
    """Make ``snapshot_id`` the active snapshot of ``source``."""
    updated = conn.execute(
        active_snapshots.update()
        .where(active_snapshots.c.source == source)
        .values(snapshot_id=snapshot_id, activated_at=now())
    )
    if updated.rowcount == 0:
        conn.execute(
            active_snapshots.insert().values(
                source=source, snapshot_id=snapshot_id, activated_at=now()
            )
        )


def active_snapshot_id(conn: sa.Connection, source: str) -> int | None:
    query = sa.select(active_snapshots.c.snapshot_id).where(active_snapshots.c.source == source)
    return conn.execute(query).scalar()


def active(conn: sa.Connection) -> list[sa.Row]:
    """Active snapshots of every source, by source name."""
    query = (
        sa.select(snapshots)
        .join(active_snapshots, active_snapshots.c.snapshot_id == snapshots.c.id)
        .order_by(snapshots.c.source)
    )
    return list(conn.execute(query))


def snapshots_of(conn: sa.Connection, source: str) -> list[sa.Row]:
    query = sa.select(snapshots).where(snapshots.c.source == source).order_by(snapshots.c.id)
    return list(conn.execute(query))


def fingerprints(conn: sa.Connection, snapshot_id: int) -> dict[str, str]:
    query = sa.select(entities.c.entity_id, entities.c.fingerprint).where(
        entities.c.snapshot_id == snapshot_id
    )
    return {k: v for k, v in conn.execute(query)}


def entity_data(conn: sa.Connection, snapshot_id: int, ids: Iterable[str]) -> dict[str, dict]:
    """FtM data of the named entities of one snapshot."""
    out: dict[str, dict] = {}
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = sa.select(entities.c.entity_id, entities.c.data).where(
            entities.c.snapshot_id == snapshot_id, entities.c.entity_id.in_(chunk)
        )
        out.update({k: v for k, v in conn.execute(query)})
    return out


def schema_counts(conn: sa.Connection, snapshot_id: int) -> dict[str, int]:
    query = (
        sa.select(entities.c.schema, sa.func.count())
        .where(entities.c.snapshot_id == snapshot_id)
        .group_by(entities.c.schema)
    )
    return {k: v for k, v in conn.execute(query)}


def address_counts(conn: sa.Connection, snapshot_id: int) -> dict[str, int]:
    """Valid addresses per asset."""
    query = (
        sa.select(crypto_addresses.c.asset, sa.func.count())
        .where(crypto_addresses.c.snapshot_id == snapshot_id, crypto_addresses.c.valid.is_(True))
        .group_by(crypto_addresses.c.asset)
    )
    return {k: v for k, v in conn.execute(query)}


def entities_of(conn: sa.Connection, snapshot_id: int) -> list[sa.Row]:
    query = (
        sa.select(entities.c.entity_id, entities.c.schema, entities.c.caption, entities.c.data)
        .where(entities.c.snapshot_id == snapshot_id)
        .order_by(entities.c.entity_id)
    )
    return list(conn.execute(query))


def save_delta(
    conn: sa.Connection,
    source: str,
    old_id: int | None,
    new_id: int,
    rows: Sequence[tuple[str, str, list[str]]],
) -> None:
    """Store the delta ``old_id`` → ``new_id``: rows of (entity_id, change, fields)."""
    if rows:
        conn.execute(
            deltas.insert(),
            [
                {
                    "source": source,
                    "old_snapshot_id": old_id,
                    "new_snapshot_id": new_id,
                    "entity_id": entity_id,
                    "change": change,
                    "fields": fields,
                }
                for entity_id, change, fields in rows
            ],
        )


def load_delta(
    conn: sa.Connection, old_id: int | None, new_id: int
) -> list[tuple[str, str, list[str]]] | None:
    """A stored delta, or None when none was stored for this pair."""
    old_match = (
        deltas.c.old_snapshot_id.is_(None) if old_id is None else deltas.c.old_snapshot_id == old_id
    )
    query = (
        sa.select(deltas.c.entity_id, deltas.c.change, deltas.c.fields)
        .where(old_match, deltas.c.new_snapshot_id == new_id)
        .order_by(deltas.c.id)
    )
    rows = [tuple(r) for r in conn.execute(query)]
    if rows:
        return rows
    # An empty delta is still a stored delta when the snapshot recorded it.
    snap = get_snapshot(conn, new_id)
    if snap is not None and snap.stats.get("delta_from", -1) == old_id:
        return []
    return None


# Addresses of the active snapshots with the entity that holds them.
_LISTED_COLUMNS = (
    crypto_addresses.c.address,
    crypto_addresses.c.asset,
    crypto_addresses.c.chain,
    crypto_addresses.c.entity_id,
    crypto_addresses.c.snapshot_id,
    snapshots.c.source,
    snapshots.c.version,
    entities.c.caption,
    entities.c.schema,
)
_ENTITY_OF_ADDRESS = sa.and_(
    entities.c.snapshot_id == crypto_addresses.c.snapshot_id,
    entities.c.entity_id == crypto_addresses.c.entity_id,
)
LISTED_ADDRESSES = (
    sa.select(*_LISTED_COLUMNS)
    .join(active_snapshots, active_snapshots.c.snapshot_id == crypto_addresses.c.snapshot_id)
    .join(snapshots, snapshots.c.id == crypto_addresses.c.snapshot_id)
    .join(entities, _ENTITY_OF_ADDRESS)
)


def listed_addresses_in(snapshot_ids: Collection[int] | None) -> sa.Select:
    """``LISTED_ADDRESSES`` of the active snapshots (``None``), or of the snapshots named
    (a stored decision's, replayed: ``cases.replay``)."""
    if snapshot_ids is None:
        return LISTED_ADDRESSES
    return (
        sa.select(*_LISTED_COLUMNS)
        .join(snapshots, snapshots.c.id == crypto_addresses.c.snapshot_id)
        .join(entities, _ENTITY_OF_ADDRESS)
        .where(crypto_addresses.c.snapshot_id.in_(sorted(snapshot_ids)))
    )


def find_address(
    conn: sa.Connection, address: str, snapshot_ids: Collection[int] | None = None
) -> list[sa.Row]:
    """Listed entities holding ``address`` (canonical form) in the active snapshots (or in
    ``snapshot_ids``)."""
    query = (
        listed_addresses_in(snapshot_ids)
        .where(crypto_addresses.c.address == address)
        .order_by(snapshots.c.source, crypto_addresses.c.entity_id)
    )
    return list(conn.execute(query))


def active_entity_data(
    conn: sa.Connection,
    entity_ids: Iterable[str] | None = None,
    snapshot_ids: Collection[int] | None = None,
) -> Iterator[tuple[int, dict]]:
    """(snapshot id, FtM data) of the entities of every active snapshot (or the named ones);
    with ``snapshot_ids``, of those snapshots instead of the active ones."""
    query = sa.select(entities.c.snapshot_id, entities.c.data)
    if snapshot_ids is None:
        query = query.join(
            active_snapshots, active_snapshots.c.snapshot_id == entities.c.snapshot_id
        )
    else:
        query = query.where(entities.c.snapshot_id.in_(sorted(snapshot_ids)))
    if entity_ids is None:
        yield from conn.execute(query.order_by(entities.c.snapshot_id, entities.c.entity_id))
        return
    ids = sorted(set(entity_ids))
    for start in range(0, len(ids), 500):
        chunk = query.where(entities.c.entity_id.in_(ids[start : start + 500]))
        yield from conn.execute(chunk)


# --- serialised loads, activations and re-screen jobs ------------------------------------------


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock named ``name``."""
    digest = hashlib.sha256(f"sanctrace:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock_file(engine: sa.Engine, name: str) -> Path | None:
    """The lock file beside a SQLite database file (None for other databases, in memory)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return Path(database).with_name(f"{Path(database).name}.{safe}.lock")


@contextmanager
def _file_lock(engine: sa.Engine, name: str) -> Iterator[None]:
    path = _lock_file(engine, name)
    if path is None:
        yield
        return
    try:
        handle = open(path, "a+b")  # noqa: SIM115 - closed below, after the unlock
    except OSError as exc:
        raise Unavailable(f"cannot open the lock file {path}: {exc.strerror or exc}") from exc
    with handle:
        # Blocks until the holder ends; the kernel drops the lock when its process dies.
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextmanager
def source_transaction(engine: sa.Engine, source: str) -> Iterator[sa.Connection]:
    """One transaction holding ``source``'s load lock: on PostgreSQL a transaction-scoped
    advisory lock, on SQLite a file lock beside the database, taken before the transaction so
    a waiting load holds no database lock. Whatever the transaction reads after the lock (the
    active snapshot) is what the previous holder committed."""
    with _file_lock(engine, f"list-{source}"), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key("list:" + source)}
            )
        yield conn


@contextmanager
def rescreen_lock(engine: sa.Engine) -> Iterator[None]:
    """One re-screen pass at a time across processes (a session advisory lock on PostgreSQL,
    held on its own connection; a file lock on SQLite). A killed holder's lock goes with it."""
    if engine.dialect.name != "postgresql":
        with _file_lock(engine, "rescreen"):
            yield
        return
    key = _lock_key("rescreen")
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()


def record_activation(
    conn: sa.Connection,
    source: str,
    snapshot_id: int,
    previous_id: int | None,
    *,
    reason: str,
    actor: str = "system",
    note: str | None = None,
) -> None:
    """Activate ``snapshot_id`` and record the switch (why and by whom)."""
    activate(conn, source, snapshot_id)
    conn.execute(
        snapshot_activations.insert().values(
            source=source,
            snapshot_id=snapshot_id,
            previous_id=previous_id,
            activated_at=now(),
            actor=actor[:64],
            reason=reason,
            note=note,
        )
    )


def activations_of(conn: sa.Connection, source: str) -> list[sa.Row]:
    """The activations of ``source``, oldest first."""
    query = (
        sa.select(snapshot_activations)
        .where(snapshot_activations.c.source == source)
        .order_by(snapshot_activations.c.id)
    )
    return list(conn.execute(query))


def add_rescreen_job(conn: sa.Connection, source: str, old_id: int | None, new_id: int) -> int:
    """The re-screen a switch of ``source`` from ``old_id`` to ``new_id`` owes."""
    result = conn.execute(
        rescreen_jobs.insert().values(
            source=source, old_snapshot_id=old_id, new_snapshot_id=new_id, created_at=now()
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def pending_rescreens(conn: sa.Connection) -> list[sa.Row]:
    """Re-screen jobs not finished, oldest first."""
    query = (
        sa.select(rescreen_jobs)
        .where(rescreen_jobs.c.finished_at.is_(None))
        .order_by(rescreen_jobs.c.id)
    )
    return list(conn.execute(query))


def finish_rescreens(conn: sa.Connection, job_ids: Sequence[int], result: dict) -> None:
    """Mark jobs done, with what the pass found."""
    if job_ids:
        conn.execute(
            rescreen_jobs.update()
            .where(rescreen_jobs.c.id.in_(list(job_ids)))
            .values(finished_at=now(), result=result)
        )
