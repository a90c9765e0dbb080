"""Address screening: list hits, attribution tags, and the tags a cluster lends its addresses.

``screen_address`` (one shot) and ``AddressScreener.screen`` (cached) answer, for an address
canonicalised by ``chain.addresses.parse_any``:

* ``hits`` — the active list snapshots that name it (the shape of ``lists.lookup.hit_dict``);
* ``tags`` — its attribution tags, each with a ``reason``;
* ``cluster`` — when the chain store holds a cluster map for its chain (``sanctrace chain
  cluster``) and the map knows the address: its cluster id and size, and every other address
  of that cluster that is tagged or listed, with the evidence path (``a`` and ``b`` were
  inputs of ``txid``) and, per tag, a reason such as "address X is in cluster N with Y via tx
  T (X with Y), which is tagged 'L' [sanctioned] by S";
* ``sanctioned`` — true when anything found is sanctioned: a list hit, or a tag (own or
  inherited) of category ``sanctioned`` or GraphSense abuse ``sanction``;
* ``snapshots`` — {source: active snapshot id} the answer was computed against.

The answer is an ``AddressAnswer``; ``to_dict()`` is the JSON of the CLI and the API. A string
that no chain accepts as an address, and that no list or tag names as given, is a
``BadRequest`` (a list or tag set may hold a malformed address: screening it finds it).

With no list snapshot active and no tag set loaded there is nothing to screen against: both
raise ``Unavailable`` (``NO_LISTS``) rather than answer ``sanctioned: false`` (fail closed). A
replay pinned to the snapshots of a stored decision answers as it did then.

The cached screener keeps list addresses, tags and cluster maps in memory; each call checks the
active snapshots and tag sets (one small query, read once per request inside
``services._snapshot_cache.pinned``) and the cluster map's ``CURRENT.json``
(a stat) and reloads what changed, so a warm answer costs about a millisecond.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace.chain.addresses import parse_any
from sanctrace.chain.cluster import Hop
from sanctrace.chain.tags import SANCTIONED, ClusterPath, Tag, fold, tags_from_snapshot_rows
from sanctrace.chainstore.clusters import CURRENT, ClusterFiles, ClusterIndex, clusters_dir
from sanctrace.chainstore.store import ChainStore
from sanctrace.errors import BadRequest, Unavailable
from sanctrace.lists.lookup import hit_dict, list_hits
from sanctrace.model import CryptoAddress
from sanctrace.services._snapshot_cache import data_version, reader
from sanctrace.store import Database
from sanctrace.store import tags as repo

__all__ = [
    "NO_LISTS",
    "AddressAnswer",
    "AddressScreener",
    "ClusterAnswer",
    "ClusterMember",
    "is_sanctioned",
    "screen_address",
    "tag_dict",
    "tag_of",
]

SANCTION_ABUSE = frozenset({"sanction", "sanctions", "sanctioned"})
NO_LISTS = (
    "no lists loaded: no sanctions list and no tag set to screen against; "
    "load one with: sanctrace lists load PATH"
)


def _require_data(version: tuple) -> None:
    """Fail closed: ``Unavailable`` when no list snapshot is active and no tag set stored
    (``version`` is ``store.tags.data_version``'s)."""
    snapshots, (tag_sets, _) = version
    if not snapshots and not tag_sets:
        raise Unavailable(NO_LISTS)


@dataclass(frozen=True)
class ClusterMember:
    """Another address of the cluster that is tagged or listed: how it joins the screened
    address (``path``: hops ``{a, b, txid}``, a and b inputs of txid) and its tags."""

    address: str
    path: list[dict[str, str]]
    tags: list[dict[str, Any]]


@dataclass(frozen=True)
class ClusterAnswer:
    """The screened address's cluster in the chain's cluster map."""

    id: int
    size: int
    build: str
    tagged: list[ClusterMember]


@dataclass(frozen=True)
class AddressAnswer:
    """What is known of one address: list hits (``lists.lookup.hit_dict`` shape), own tags
    (``tag_dict`` shape with a ``reason``), its cluster, and the snapshots consulted."""

    address: str
    chain: str | None
    valid: bool
    reason: str | None
    sanctioned: bool
    hits: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    cluster: ClusterAnswer | None
    snapshots: dict[str, int]
    warnings: list[str] = field(default_factory=list)  # stale lists (English / Japanese)

    @property
    def hit(self) -> bool:
        """True when anything found is sanctioned."""
        return self.sanctioned

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of the CLI (``--json``) and the API."""
        return asdict(self)


# ------------------------------------------------------------------------------ answers


def is_sanctioned(tag: dict) -> bool:
    return tag.get("category") == SANCTIONED or (tag.get("abuse") or "") in SANCTION_ABUSE


def tag_of(d: dict) -> Tag:
    return Tag(
        d["address"],
        d["chain"],
        d["label"],
        d["category"],
        d["actor"],
        d["source"],
        d["confidence"],
        d["jurisdiction"],
        abuse=d.get("abuse"),
    )


def tag_dict(row: Any) -> dict:
    """A stored tag as the answer shows it."""
    return {
        "address": row.address,
        "chain": row.chain,
        "label": row.label,
        "category": row.category,
        "abuse": row.abuse,
        "actor": row.actor,
        "source": row.source,
        "confidence": row.confidence,
        "jurisdiction": row.jurisdiction,
        "valid": row.valid,
        "tag_set_id": row.tag_set_id,
        "origin": row.origin,
    }


def _listed_tag(hit: dict) -> dict:
    """A list hit of a cluster member, as a tag of category ``sanctioned``."""
    keys = ("entity_id", "caption", "asset", "chain", "address", "source", "snapshot_id")
    tag = tags_from_snapshot_rows([{k: hit[k] for k in keys}])[0]
    return {
        "address": hit["address"],
        "chain": tag.chain,
        "label": tag.label,
        "category": tag.category,
        "abuse": None,
        "actor": None,
        "source": tag.source,
        "confidence": tag.confidence,
        "jurisdiction": tag.jurisdiction,
        "valid": tag.valid,
        "entity_id": hit["entity_id"],
        "snapshot_id": hit["snapshot_id"],
        "origin": tag.origin,
    }


def _reason(route: ClusterPath, tag: dict) -> str:
    text = route.describe(tag_of(tag))
    return text + (f" (abuse: {tag['abuse']})" if tag.get("abuse") else "")


def _hop(h: Hop) -> dict:
    return {"a": h.a, "b": h.b, "txid": h.txid}


class _Live:
    """One-shot lookups: SQL per question, the cluster map read from Parquet with filters.
    With ``snapshots`` ({source: id}) the lists are those snapshots, not the active ones."""

    def __init__(
        self, conn: sa.Connection, root: Path, snapshots: Mapping[str, int] | None = None
    ) -> None:
        self.conn, self.root = conn, root
        self.pinned = None if snapshots is None else dict(snapshots)
        self.ids = None if snapshots is None else set(snapshots.values())

    def snapshots(self) -> dict[str, int]:
        if self.pinned is not None:
            return dict(self.pinned)
        return repo.active_snapshot_ids(self.conn)

    def hits(self, keys: tuple[str, ...]) -> list[dict]:
        return list_hits(self.conn, keys, self.ids)

    def tags(self, keys: tuple[str, ...]) -> list[dict]:
        return [tag_dict(r) for r in repo.find_tags(self.conn, list(keys))]

    def hits_of(self, addresses: list[str]) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for row in repo.listed(self.conn, addresses, self.ids):
            found.setdefault(row.address, []).append(hit_dict(row))
        return found

    def tags_of(self, addresses: list[str]) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for row in repo.find_tags(self.conn, addresses):
            found.setdefault(row.address, []).append(tag_dict(row))
        return found

    def cluster_map(self, chain: str) -> ClusterFiles | None:
        return ClusterFiles.open(self.root, chain)

    def tagged_in(self, chain: str, cmap: Any, cluster: int) -> list[str]:
        candidates = repo.tagged_addresses(self.conn, chain)
        candidates |= repo.listed_addresses(self.conn, chain, self.ids)
        return cmap.members_among(cluster, candidates)


class _Memory:
    """Everything a screening needs from the database, held in dicts (one per data version)."""

    def __init__(self, conn: sa.Connection, key: tuple) -> None:
        self.key = key
        self._snapshots = dict(key[0])
        self.hits_by: dict[str, list[dict]] = {}
        for row in repo.listed(conn):
            self.hits_by.setdefault(row.address, []).append(hit_dict(row))
        self.tags_by: dict[str, list[dict]] = {}
        for row in repo.all_tags(conn):
            self.tags_by.setdefault(row.address, []).append(tag_dict(row))
        self.by_chain: dict[str, set[str]] = {}
        for address, hits in self.hits_by.items():
            for hit in hits:
                self.by_chain.setdefault(hit["chain"], set()).add(address)
        for address, tags in self.tags_by.items():
            for tag in tags:
                self.by_chain.setdefault(tag["chain"], set()).add(address)
        # per chain: (cluster map build, {cluster: tagged addresses})
        self.tagged: dict[str, tuple[str, dict[int, list[str]]]] = {}
        self.maps: dict[str, ClusterIndex | None] = {}

    def snapshots(self) -> dict[str, int]:
        return self._snapshots

    def hits(self, keys: tuple[str, ...]) -> list[dict]:
        for key in keys:
            if key in self.hits_by:
                return list(self.hits_by[key])
        return []

    def tags(self, keys: tuple[str, ...]) -> list[dict]:
        return [t for key in dict.fromkeys(keys) for t in self.tags_by.get(key, ())]

    def hits_of(self, addresses: list[str]) -> dict[str, list[dict]]:
        return {a: self.hits_by[a] for a in addresses if a in self.hits_by}

    def tags_of(self, addresses: list[str]) -> dict[str, list[dict]]:
        return {a: self.tags_by[a] for a in addresses if a in self.tags_by}

    def cluster_map(self, chain: str) -> ClusterIndex | None:
        return self.maps.get(chain)

    def tagged_in(self, chain: str, cmap: ClusterIndex, cluster: int) -> list[str]:
        build, groups = self.tagged.get(chain, ("", {}))
        if build != cmap.build:
            groups = {}
            for address, c in cmap.clusters_of(self.by_chain.get(chain, ())).items():
                groups.setdefault(c, []).append(address)
            for members in groups.values():
                members.sort()
            self.tagged[chain] = (cmap.build, groups)
        return groups.get(cluster, [])


def _lookup_keys(
    address: str, parsed: CryptoAddress | None = None
) -> tuple[str, str | None, bool, str | None, tuple[str, ...]]:
    parsed = parsed or parse_any(address)
    raw = address.strip()
    canonical = parsed.address if parsed.valid else raw
    keys = tuple(dict.fromkeys(k for k in (canonical, raw, fold(raw)) if k))
    return canonical, parsed.chain if parsed.valid else None, parsed.valid, parsed.reason, keys


def _screen(
    view: _Live | _Memory, address: str, parsed: CryptoAddress | None = None
) -> AddressAnswer:
    canonical, chain, valid, reason, keys = _lookup_keys(address, parsed)
    hits = view.hits(keys) if keys else []
    own = ClusterPath(canonical, None, canonical)
    tags = [{**t, "reason": _reason(own, t)} for t in (view.tags(keys) if keys else [])]
    cluster = None
    cmap = view.cluster_map(chain) if chain else None
    place = cmap.locate(canonical) if cmap is not None else None
    if chain is not None and cmap is not None and place is not None:
        cluster_id, size = place
        others = []
        if size > 1:
            tagged_in = view.tagged_in(chain, cmap, cluster_id)  # type: ignore[arg-type]
            others = [a for a in tagged_in if a != canonical]
        paths = cmap.paths(cluster_id, canonical, others) if others else {}
        hits_of, tags_of = view.hits_of(others), view.tags_of(others)
        tagged = []
        for other in others:
            hops = paths.get(other)
            if hops is None:  # not joined by the evidence: a damaged map; say nothing
                continue
            route = ClusterPath(canonical, cluster_id, other, tuple(hops))
            found = [_listed_tag(h) for h in hits_of.get(other, ())] + tags_of.get(other, [])
            tagged.append(
                ClusterMember(
                    address=other,
                    path=[_hop(h) for h in hops],
                    tags=[{**t, "reason": _reason(route, t)} for t in found],
                )
            )
        cluster = ClusterAnswer(id=cluster_id, size=size, build=cmap.build, tagged=tagged)
    inherited = [t for entry in (cluster.tagged if cluster else []) for t in entry.tags]
    if not valid and not hits and not tags:
        raise BadRequest(
            f"{address.strip() or repr(address)}: not a valid address for any supported chain"
            f" ({reason or 'unrecognised'})"
        )
    sanctioned = bool(hits) or any(is_sanctioned(t) for t in tags + inherited)
    return AddressAnswer(
        address=canonical,
        chain=chain,
        valid=valid,
        reason=reason,
        sanctioned=sanctioned,
        hits=hits,
        tags=tags,
        cluster=cluster,
        snapshots=view.snapshots(),
    )


def screen_address(
    db: Database, address: str, store: ChainStore, snapshots: Mapping[str, int] | None = None
) -> AddressAnswer:
    """Screen one address with one-shot lookups (see the module docstring for the answer);
    ``Unavailable`` when nothing is loaded (unless pinned).
    ``snapshots`` ({source: snapshot id}) pins the lists to those snapshots instead of the
    active ones (a stored decision, replayed: ``cases.replay``); tags stay the stored ones."""
    root = store.root
    with db.connect() as conn:
        if snapshots is None:
            _require_data(repo.data_version(conn))
        return _screen(_Live(conn, root, snapshots), address)


class AddressScreener:
    """Screens addresses from memory, reloading what changed; safe to share between threads.

    ``max_age`` (seconds, default 0: every call) lets a screener reuse the data version it
    read that recently instead of asking the database on every call: the API's screener, where
    that query is most of a warm answer's cost. An answer may then lag a list load by up to
    ``max_age`` (it names the snapshots it used); a version with nothing loaded is never
    reused, so a first load is seen at once."""

    def __init__(self, db: Database, store: ChainStore, max_age: float = 0.0) -> None:
        self.db = db
        self.root = store.root
        self.max_age = max_age
        self._lock = threading.Lock()
        self._memory: _Memory | None = None
        self._version: tuple[float, tuple] | None = None  # (monotonic time read, version)
        self._stats: dict[str, tuple | None] = {}
        self._current_paths: dict[str, Path] = {}

    def _data_version(self) -> tuple:
        if self.max_age <= 0:
            return data_version(self.db)
        now = time.monotonic()
        seen = self._version
        if seen is not None and now - seen[0] < self.max_age:
            return seen[1]
        key = data_version(self.db)
        snapshots, (tag_sets, _) = key
        self._version = (now, key) if snapshots or tag_sets else None
        return key

    def _current(self) -> _Memory:
        # The data version is read once per request inside ``_snapshot_cache.pinned`` (a
        # decision); alone, it is one small query (or none, within ``max_age``).
        key = self._data_version()
        _require_data(key)
        memory = self._memory
        if memory is None or memory.key != key:
            with self._lock:
                memory = self._memory
                if memory is None or memory.key != key:
                    with reader(self.db) as conn:
                        memory = _Memory(conn, key)
                    memory.maps = dict(self._memory.maps) if self._memory else {}
                    self._memory = memory
        return memory

    def _refresh_map(self, memory: _Memory, chain: str) -> None:
        path = self._current_paths.get(chain)
        if path is None:
            path = self._current_paths[chain] = clusters_dir(self.root, chain) / CURRENT
        try:
            st = os.stat(path)
            stat = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stat = None
        if chain in memory.maps and self._stats.get(chain) == stat:
            return
        with self._lock:
            files = ClusterFiles.open(self.root, chain) if stat is not None else None
            memory.maps[chain] = ClusterIndex(files) if files is not None else None
            self._stats[chain] = stat

    def screen(self, address: str) -> AddressAnswer:
        """Screen one address from memory (see the module docstring for the answer);
        ``Unavailable`` when nothing is loaded to screen against."""
        memory = self._current()
        parsed = parse_any(address)
        if parsed.valid and parsed.chain:
            self._refresh_map(memory, parsed.chain)
        return _screen(memory, address, parsed)
