"""The list side of corporate customer screening: what the active list snapshots contribute.

``ListSide`` is built once per set of active snapshots (``services._snapshot_cache``): a name screener
over every party, the ownership graph of every party and relation, which parties are listed
(with the reason and designation date), and an index of the listed parties' contact details.
A check copies only the part of the graph it needs (``ListSide.list_part``).

Which list parties are listed: every party of a list in an official format (OFAC, UN, EU, UK,
Japan …); in FtM snapshots, the parties that a ``Sanction`` record names or whose topics
include ``sanction`` (``network.listing``), so the unsanctioned companies of an
OpenSanctions-style file are graph nodes, not listings; an FtM snapshot with neither marks
every party as listed (a hand-made list).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sanctrace.errors import Unavailable
from sanctrace.lists.snapshots import PARTY_SCHEMAS
from sanctrace.model import Entity
from sanctrace.names import Screener
from sanctrace.network.graph import NODE_SCHEMAS, Control, Holding, OwnershipGraph
from sanctrace.network.listing import designations_from_ftm, listed_from_ftm
from sanctrace.network.signal_values import CONTACTS, split_values
from sanctrace.services.names import build_screener
from sanctrace.store import Database
from sanctrace.store import snapshots as repo

GRAPH_SCHEMAS = NODE_SCHEMAS | {"Ownership", "Directorship", "UnknownLink", "Representation"}
GRAPH_SCHEMAS |= {"Address"}
FTM_FORMATS = frozenset({"ftm_json"})
SCREENED = PARTY_SCHEMAS | NODE_SCHEMAS


class NoListsError(Unavailable):
    """No list snapshot is active: there is nothing to screen against."""


@dataclass
class ListSide:
    """What the active list snapshots contribute: a name screener and the list's graph.

    ``graph`` holds every party and relation of the active snapshots; a check copies only the
    part it needs (``list_part``). ``contacts`` indexes the listed parties' addresses, phones
    and e-mails as the shared-contact signals compare them.
    """

    snapshots: dict[str, int]
    screener: Screener = field(default_factory=Screener)
    graph: OwnershipGraph = field(default_factory=OwnershipGraph)
    listed: dict[str, str] = field(default_factory=dict)  # list party id -> reason
    designations: dict[str, str] = field(default_factory=dict)  # party id -> ISO date
    entity_snapshot: dict[str, tuple[str, int]] = field(default_factory=dict)
    contacts: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, db: Database) -> ListSide:
        """Read every entity of the active snapshots once (parties, relations, sanctions)."""
        with db.connect() as conn:
            meta = {row.id: (row.source, row.format) for row in repo.active(conn)}
            by_snapshot: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for snapshot_id, entity in repo.active_entity_data(conn):
                by_snapshot[snapshot_id].append(entity)
        side = cls({s: i for i, (s, _) in meta.items()})
        seen: set[str] = set()
        for snapshot_id, data in by_snapshot.items():
            source, fmt = meta[snapshot_id]
            # First snapshot wins for an id that two FtM files share.
            fresh = [d for d in data if str(d.get("id")) not in seen]
            seen.update(str(d.get("id")) for d in fresh)
            side._add_snapshot(snapshot_id, source, fmt, fresh)
        # The name index is the one every screening of these snapshots shares (persisted).
        side.screener = build_screener(db, side.snapshots)
        side.graph.validate()
        side.graph.problems.clear()  # the lists' own defects are not a customer input's
        for node_id in side.listed:
            for key in contact_keys(side.graph, node_id):
                side.contacts.setdefault(key, set()).add(node_id)
        return side

    def _add_snapshot(
        self, snapshot_id: int, source: str, fmt: str, data: list[dict[str, Any]]
    ) -> None:
        listed = listed_from_ftm(data) if fmt in FTM_FORMATS else {}
        marked = bool(listed) or any(
            d.get("schema") == "Sanction" or (d.get("properties") or {}).get("topics") for d in data
        )
        dates = designations_from_ftm(data)
        origin = f"{source} snapshot {snapshot_id}"
        self.graph.add_ftm(
            ({**d, "origin": origin} for d in data if d.get("schema") in GRAPH_SCHEMAS), origin
        )
        for d in data:
            if d.get("schema") not in SCREENED:
                continue
            rid = str(d["id"])
            entity = Entity.from_ftm(d, source)
            self.entity_snapshot[rid] = (source, snapshot_id)
            if entity.schema not in NODE_SCHEMAS:
                continue  # vessels and aircraft: screened (the same index as name screening)
            if fmt in FTM_FORMATS and marked:
                if rid not in listed:
                    continue
                why = listed[rid]
            else:
                programs = ", ".join(entity.get("program")[:3])
                why = source + (f" {programs}" if programs else "")
            self.listed[rid] = f"{entity.caption} [{rid}], {why} (snapshot {snapshot_id})"
            created = sorted(entity.get("createdAt"))
            when = dates.get(rid) or (created[0][:10] if created else None)
            if when:
                self.designations[rid] = when

    def list_part(self, graph: OwnershipGraph, seeds: Iterable[str]) -> None:
        """Copy into ``graph`` the list parties ``seeds`` and everything above them: owners,
        controllers, their owners … with the links between them."""
        base = self.graph
        todo = [s for s in dict.fromkeys(seeds) if s in base.nodes and s not in graph.nodes]
        for node_id in todo:
            graph.add_node(replace(base.nodes[node_id], names=list(base.nodes[node_id].names)))
        while todo:
            current = todo.pop()
            for ref in base.nodes[current].properties.get("addressEntity", []):
                if ref in base.addresses:
                    graph.addresses.setdefault(ref, base.addresses[ref])
            links: list[tuple[str, Holding | Control]] = [
                (h.owner, h) for h in base.owners_of(current)
            ]
            links += [(c.controller, c) for c in base.controllers_of(current)]
            for party, link in links:
                if party not in graph.nodes:
                    graph.add_node(replace(base.nodes[party], names=list(base.nodes[party].names)))
                    todo.append(party)
                if isinstance(link, Holding):
                    graph.add_holding(link)
                else:
                    graph.add_control(link)


def contact_keys(graph: OwnershipGraph, node_id: str) -> set[tuple[str, str]]:
    """(signal code, normalised value) of a party's addresses, phones and e-mails."""
    node = graph.nodes[node_id]
    keys: set[tuple[str, str]] = set()
    for code, (prop, norm) in CONTACTS.items():
        raw = (
            graph.node_addresses(node_id)
            if prop == "address"
            else split_values(node.properties.get(prop, []))
        )
        keys.update((code, k) for k in map(norm, raw) if k)
    return keys
