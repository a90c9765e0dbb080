"""Repository for attribution tags: tag sets (one per loaded file set) and their tags.

Every function takes an open connection so the caller decides the transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

import sqlalchemy as sa

from sanctrace.store.snapshots import listed_addresses_in, now
from sanctrace.store.tables import (
    active_snapshots,
    crypto_addresses,
    snapshots,
    tag_sets,
    tags,
)


class TagRecord(Protocol):
    """What the repository reads of a tag (``sanctrace.chain.tags.Tag`` has it); storage
    sits below the engines, so it names the fields instead of importing the record."""

    @property
    def address(self) -> str: ...
    @property
    def chain(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def abuse(self) -> str | None: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def confidence(self) -> int | None: ...
    @property
    def jurisdiction(self) -> str | None: ...
    @property
    def valid(self) -> bool | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def origin(self) -> str | None: ...


BATCH = 5_000
CHUNK = 500  # values per IN (...) list

TAG_COLUMNS = (
    tags.c.address,
    tags.c.chain,
    tags.c.label,
    tags.c.category,
    tags.c.abuse,
    tags.c.actor,
    tags.c.source,
    tags.c.confidence,
    tags.c.jurisdiction,
    tags.c.valid,
    tags.c.reason,
    tags.c.origin,
    tags.c.tag_set_id,
)


def find_tag_set(conn: sa.Connection, sha256: str) -> sa.Row | None:
    return conn.execute(sa.select(tag_sets).where(tag_sets.c.sha256 == sha256)).first()


def create_tag_set(
    conn: sa.Connection,
    name: str,
    kind: str,
    sha256: str,
    files: list[str],
    problems: list[str],
) -> int:
    """A new tag set row (``tag_count`` 0 until ``insert_tags`` has run)."""
    result = conn.execute(
        tag_sets.insert().values(
            name=name,
            kind=kind,
            sha256=sha256,
            files=files,
            loaded_at=now(),
            tag_count=0,
            problems=problems,
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row
    return int(key[0])


def insert_tags(conn: sa.Connection, tag_set_id: int, items: Iterable[TagRecord]) -> int:
    """Insert the tags of a set, in batches; the number inserted (also stored as tag_count)."""
    count = 0
    batch: list[dict] = []
    for tag in items:
        batch.append(
            {
                "tag_set_id": tag_set_id,
                "address": tag.address,
                "chain": tag.chain,
                "label": tag.label,
                "category": tag.category,
                "abuse": tag.abuse,
                "actor": tag.actor,
                "source": tag.source,
                "confidence": tag.confidence,
                "jurisdiction": tag.jurisdiction,
                "valid": tag.valid,
                "reason": tag.reason,
                "origin": tag.origin,
            }
        )
        if len(batch) >= BATCH:
            conn.execute(tags.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(tags.insert(), batch)
        count += len(batch)
    conn.execute(tag_sets.update().where(tag_sets.c.id == tag_set_id).values(tag_count=count))
    return count


def tag_sets_list(conn: sa.Connection) -> list[sa.Row]:
    return list(conn.execute(sa.select(tag_sets).order_by(tag_sets.c.id)))


def tags_version(conn: sa.Connection) -> tuple[int, int]:
    """(number of tag sets, highest id): changes whenever a set is added or removed."""
    row = conn.execute(sa.select(sa.func.count(tag_sets.c.id), sa.func.max(tag_sets.c.id))).one()
    return int(row[0]), int(row[1] or 0)


def count_tags(conn: sa.Connection, tag_set_id: int | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(tags)
    if tag_set_id is not None:
        query = query.where(tags.c.tag_set_id == tag_set_id)
    return int(conn.execute(query).scalar_one())


def find_tags(conn: sa.Connection, addresses: Sequence[str]) -> list[sa.Row]:
    """The tags of any of ``addresses`` (canonical forms), by address then id."""
    rows: list[sa.Row] = []
    wanted = sorted(set(addresses))
    for start in range(0, len(wanted), CHUNK):
        query = (
            sa.select(*TAG_COLUMNS)
            .where(tags.c.address.in_(wanted[start : start + CHUNK]))
            .order_by(tags.c.address, tags.c.id)
        )
        rows.extend(conn.execute(query))
    return rows


def all_tags(conn: sa.Connection) -> list[sa.Row]:
    return list(conn.execute(sa.select(*TAG_COLUMNS).order_by(tags.c.address, tags.c.id)))


def tagged_addresses(conn: sa.Connection, chain: str) -> set[str]:
    """Every address with a tag on ``chain``."""
    query = sa.select(tags.c.address).where(tags.c.chain == chain).distinct()
    return set(conn.execute(query).scalars())


# --- list addresses of the active snapshots -------------------------------------------------


def listed(
    conn: sa.Connection,
    addresses: Sequence[str] | None = None,
    snapshot_ids: Collection[int] | None = None,
) -> list[sa.Row]:
    """Address rows of the active snapshots (the shape of ``snapshots.find_address``), for
    ``addresses`` or all of them; with ``snapshot_ids``, of those snapshots instead."""
    order = (crypto_addresses.c.address, snapshots.c.source, crypto_addresses.c.entity_id)
    query = listed_addresses_in(snapshot_ids)
    if addresses is None:
        return list(conn.execute(query.order_by(*order)))
    rows: list[sa.Row] = []
    wanted = sorted(set(addresses))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows.extend(
            conn.execute(query.where(crypto_addresses.c.address.in_(chunk)).order_by(*order))
        )
    return rows


def listed_addresses(
    conn: sa.Connection, chain: str, snapshot_ids: Collection[int] | None = None
) -> set[str]:
    """Every address on ``chain`` that an active snapshot (or one of ``snapshot_ids``) lists."""
    query = sa.select(crypto_addresses.c.address).where(crypto_addresses.c.chain == chain)
    if snapshot_ids is None:
        query = query.join(
            active_snapshots, active_snapshots.c.snapshot_id == crypto_addresses.c.snapshot_id
        )
    else:
        query = query.where(crypto_addresses.c.snapshot_id.in_(sorted(snapshot_ids)))
    query = query.distinct()
    return set(conn.execute(query).scalars())


_AGG = sa.select(
    sa.func.count(tag_sets.c.id).label("n"), sa.func.max(tag_sets.c.id).label("m")
).subquery()
_VERSION = (  # built once: this runs on every cached screening
    sa.select(_AGG.c.n, _AGG.c.m, active_snapshots.c.source, active_snapshots.c.snapshot_id)
    .select_from(_AGG.outerjoin(active_snapshots, sa.true()))
    .order_by(active_snapshots.c.source)
)


def data_version(conn: sa.Connection) -> tuple[tuple[tuple[str, int], ...], tuple[int, int]]:
    """(active snapshots as sorted (source, id) pairs, ``tags_version``) in one query: what a
    cache of lists and tags depends on."""
    rows = conn.execute(_VERSION).all()
    active = tuple((r.source, int(r.snapshot_id)) for r in rows if r.source is not None)
    return active, (int(rows[0].n), int(rows[0].m or 0))


def active_snapshot_ids(conn: sa.Connection) -> dict[str, int]:
    """{source: active snapshot id}."""
    query = sa.select(active_snapshots.c.source, active_snapshots.c.snapshot_id).order_by(
        active_snapshots.c.source
    )
    return {source: int(snapshot_id) for source, snapshot_id in conn.execute(query)}
