"""The list hits of a crypto address in the active list snapshots.

``hit_dict`` is the shape of one list hit that every address answer uses (CLI, API and
``monitor.addresses``): address, asset, chain, entity_id, caption, schema, source,
snapshot_id, version.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from sanctrace.store import snapshots as repo

HIT_FIELDS = (
    "address",
    "asset",
    "chain",
    "entity_id",
    "caption",
    "schema",
    "source",
    "snapshot_id",
    "version",
)


def hit_dict(row: Any) -> dict[str, Any]:
    """One list hit from a row of ``snapshots.find_address`` (or the same columns)."""
    return {name: getattr(row, name) for name in HIT_FIELDS}


def list_hits(
    conn: sa.Connection, keys: tuple[str, ...], snapshot_ids: Collection[int] | None = None
) -> list[dict[str, Any]]:
    """The hits of the first of ``keys`` (canonical form first, then as given) that has any,
    in the active snapshots (or in ``snapshot_ids``)."""
    for key in keys:
        rows = repo.find_address(conn, key, snapshot_ids)
        if rows:
            return [hit_dict(r) for r in rows]
    return []
