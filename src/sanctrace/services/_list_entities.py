"""One listed entity in full, and deltas with names and values: what ``lists show``,
``lists diff``, the console's entity page and ``GET /v1/lists/entities/{id}`` show.
Re-exported by ``services.lists``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from sanctrace.errors import NotFound
from sanctrace.lists.snapshots import Delta
from sanctrace.model import Entity, comparable
from sanctrace.services.context import Context
from sanctrace.store import snapshots as snapshot_repo
from sanctrace.store.tables import entities as entity_table

__all__ = [
    "RELATION_SCHEMAS",
    "DeltaEntry",
    "DeltaView",
    "EntityLink",
    "EntityView",
    "delta_view",
    "entity",
]

RELATION_SCHEMAS = frozenset(
    {"Ownership", "Directorship", "Representation", "UnknownLink", "Family", "Associate"}
)
# FtM relation property → what the other side is to the entity shown.
_RELATION_ROLES = {
    "owner": "owner",
    "asset": "owned",
    "director": "director",
    "organization": "directed",
    "agent": "agent",
    "client": "client",
    "subject": "linked",
    "object": "linked",
    "person": "relative",
    "relative": "relative",
    "associate": "associate",
}


@dataclass(frozen=True)
class EntityLink:
    """A relation (FtM ``Ownership``, ``Directorship`` …) of an entity to another party of
    the same snapshot."""

    relation: str  # the relation's schema
    role: str  # what the other party is to the entity: owner, owned, director …
    other_id: str
    other_caption: str | None  # None when the other party is not in the snapshot
    details: dict[str, list[str]]  # the relation's own properties: percentage, dates …


@dataclass(frozen=True)
class EntityView:
    """One listed entity in full: its FtM data parsed (names with their scripts, wallets),
    the snapshot it was read from and its relations."""

    snapshot_id: int
    source: str
    active: bool  # read from the source's active snapshot
    entity: Entity
    data: dict[str, Any]  # the FtM object as stored
    links: list[EntityLink]

    def to_dict(self) -> dict[str, Any]:
        """The ``lists show --json`` and ``GET /v1/lists/entities/{id}`` object."""
        ent = self.entity
        return {
            "id": ent.id,
            "schema": ent.schema,
            "caption": ent.caption,
            "source": self.source,
            "snapshot_id": self.snapshot_id,
            "active": self.active,
            "names": [
                {"value": n.value, "kind": n.kind.value, "script": n.script, "lang": n.lang}
                for n in ent.names
            ],
            "properties": {k: list(v) for k, v in sorted(ent.properties.items())},
            "crypto": [
                {
                    "asset": c.asset,
                    "chain": c.chain,
                    "address": c.address,
                    "valid": c.valid,
                    "reason": c.reason,
                }
                for c in ent.crypto
            ],
            "links": [
                {
                    "relation": link.relation,
                    "role": link.role,
                    "other_id": link.other_id,
                    "other_caption": link.other_caption,
                    "details": {k: list(v) for k, v in link.details.items()},
                }
                for link in self.links
            ],
        }


def entity(ctx: Context, entity_id: str) -> EntityView:
    """A listed entity by id: from the active snapshot holding it, else from the newest
    snapshot that held it (a removed entity). ``NotFound`` when no snapshot has it."""
    with ctx.db.connect() as conn:
        active_ids = {int(r.id) for r in snapshot_repo.active(conn)}
        held = [
            int(i)
            for i in conn.execute(
                sa.select(entity_table.c.snapshot_id)
                .where(entity_table.c.entity_id == entity_id)
                .order_by(entity_table.c.snapshot_id.desc())
            ).scalars()
        ]
        if not held:
            raise NotFound(f"entity {entity_id!r} is not in any loaded list")
        chosen = next((i for i in held if i in active_ids), held[0])
        snap = snapshot_repo.get_snapshot(conn, chosen)
        assert snap is not None
        data = snapshot_repo.entity_data(conn, chosen, [entity_id])[entity_id]
        links = _links(conn, chosen, entity_id)
    return EntityView(
        snapshot_id=chosen,
        source=snap.source,
        active=chosen in active_ids,
        entity=Entity.from_ftm(data, source=snap.source),
        data=data,
        links=links,
    )


def _links(conn: sa.Connection, snapshot_id: int, entity_id: str) -> list[EntityLink]:
    """The relations of the snapshot naming ``entity_id``, and the captions of the other side."""
    needle = json.dumps(entity_id)  # as the id appears in the stored JSON
    rows = conn.execute(
        sa.select(entity_table.c.data).where(
            entity_table.c.snapshot_id == snapshot_id,
            entity_table.c.schema.in_(sorted(RELATION_SCHEMAS)),
            sa.cast(entity_table.c.data, sa.Text).contains(needle, autoescape=True),
        )
    ).scalars()
    found: list[tuple[str, str, str, dict[str, list[str]]]] = []
    for data in rows:
        props: dict[str, list[str]] = {
            k: [str(v) for v in (vs if isinstance(vs, list) else [vs])]
            for k, vs in (data.get("properties") or {}).items()
        }
        ends = {k: v for k, v in props.items() if k in _RELATION_ROLES}
        if not any(entity_id in v for v in ends.values()):
            continue
        details = {k: v for k, v in props.items() if k not in _RELATION_ROLES}
        for prop, values in ends.items():
            for other in values:
                if other != entity_id:
                    found.append((str(data.get("schema")), _RELATION_ROLES[prop], other, details))
    names = snapshot_repo.entity_data(conn, snapshot_id, {f[2] for f in found})
    return [
        EntityLink(
            relation=schema,
            role=role,
            other_id=other,
            other_caption=(names[other].get("caption") or other) if other in names else None,
            details=details,
        )
        for schema, role, other, details in found
    ]


@dataclass(frozen=True)
class DeltaEntry:
    """One entity of a delta, named: for a change, each field's old and new values."""

    entity_id: str
    change: str  # added | removed | changed
    caption: str
    schema: str
    fields: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "change": self.change,
            "caption": self.caption,
            "schema": self.schema,
            "fields": {k: {"old": old, "new": new} for k, (old, new) in self.fields.items()},
        }


@dataclass(frozen=True)
class DeltaView:
    """A delta (``lists.snapshots.Delta``) with every entity's name and changed values."""

    delta: Delta
    entries: list[DeltaEntry]

    def to_dict(self) -> dict[str, Any]:
        """The ``lists diff --json`` object: the ids as before, and ``entries`` in full."""
        return {**self.delta.to_dict(), "entries": [e.to_dict() for e in self.entries]}


def delta_view(ctx: Context, delta: Delta) -> DeltaView:
    """Name every entity of ``delta`` and spell out its changes (old → new values)."""
    with ctx.db.connect() as conn:
        new = snapshot_repo.entity_data(conn, delta.new_snapshot, [*delta.added, *delta.changed])
        old: dict[str, dict] = {}
        if delta.old_snapshot is not None:
            old = snapshot_repo.entity_data(
                conn, delta.old_snapshot, [*delta.removed, *delta.changed]
            )
    entries: list[DeltaEntry] = []
    for change, ids, data in (
        ("added", delta.added, new),
        ("removed", delta.removed, old),
    ):
        for entity_id in ids:
            item = data.get(entity_id, {})
            entries.append(
                DeltaEntry(
                    entity_id,
                    change,
                    str(item.get("caption") or entity_id),
                    str(item.get("schema", "")),
                )
            )
    for entity_id, names in delta.changed.items():
        before = comparable(old[entity_id]) if entity_id in old else {}
        after = comparable(new[entity_id]) if entity_id in new else {}
        item = new.get(entity_id) or old.get(entity_id) or {}
        entries.append(
            DeltaEntry(
                entity_id,
                "changed",
                str(item.get("caption") or entity_id),
                str(item.get("schema", "")),
                {name: (before.get(name, []), after.get(name, [])) for name in names},
            )
        )
    return DeltaView(delta, entries)
