"""Chain data: load chain files into the chain store, report what it holds, cluster a UTXO
chain's addresses, and load attribution tag sets into the database.

Loads are content-addressed (``filesets.identity``): the same files twice write nothing.

Live data (``sanctrace.nodes``): ``follow`` appends a node's new blocks to the chain store and
rolls back what a fork orphans, flagging for review the decisions made on the orphaned
transactions (``flag_orphaned``); ``follow_in_background`` runs it in a thread (``serve``);
``chain_status`` adds each follower's state. ``on_demand_exposure`` fetches a deposit's history
from the node into the chain store's on-demand cache and screens it there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace.chain.tagfiles import TagFileSet, read_tag_files
from sanctrace.chain.tags import TagError, TagProblem
from sanctrace.chainstore.clusters import ClusterBuild, build_clusters
from sanctrace.chainstore.load import load_chain as _load_chain
from sanctrace.chainstore.store import TABLES, ChainStore, LoadSummary
from sanctrace.nodes.follow import FollowState, read_state
from sanctrace.services._chain_live import (
    FOLLOWED_CHAINS,
    FollowRequest,
    OnDemandAnswer,
    flag_orphaned,
    follow,
    follow_in_background,
    follower,
    node_client,
    on_demand_exposure,
    ondemand_cache,
)
from sanctrace.store import Database
from sanctrace.store import tags as repo

__all__ = [
    "FOLLOWED_CHAINS",
    "ChainStatus",
    "ClusterBuild",
    "FollowRequest",
    "FollowState",
    "LoadSummary",
    "OnDemandAnswer",
    "TagLoad",
    "chain_status",
    "cluster_chain",
    "flag_orphaned",
    "follow",
    "follow_in_background",
    "follower",
    "load_chain",
    "load_tags",
    "node_client",
    "on_demand_exposure",
    "ondemand_cache",
]

_SHORT_FIELDS = ("chain", "category", "abuse")  # String(64) columns


def load_chain(
    store: ChainStore,
    paths: list[Path],
    *,
    fmt: str | None = None,
    chain: str | None = None,
    progress: Callable[[int], None] | None = None,
    on_skip: Callable[[Path, str], None] | None = None,
) -> list[LoadSummary]:
    """Load chain files or folders, one load per format found (files of no known format in
    a folder are reported to ``on_skip``); files loaded before are left out."""
    return _load_chain(paths, store=store, fmt=fmt, progress=progress, chain=chain, on_skip=on_skip)


@dataclass(frozen=True)
class ChainStatus:
    """What the chain store holds for one chain."""

    chain: str
    rows: dict[str, int]  # per table (``chainstore.store.TABLES``)
    addresses: int
    min_height: int | None
    max_height: int | None
    follow: FollowState | None = None  # the follower's state, when one ran

    def to_dict(self) -> dict[str, Any]:
        """The tables' row counts, addresses and the height range; ``follow`` (tip, lag
        behind the node, last error) when a follower ran."""
        found: dict[str, Any] = {
            **self.rows,
            "addresses": self.addresses,
            "min_height": self.min_height,
            "max_height": self.max_height,
        }
        if self.follow is not None:
            found["follow"] = self.follow.to_dict()
        return found


def chain_status(store: ChainStore) -> list[ChainStatus]:
    """Rows, distinct addresses and block height range of each chain in the store, and the
    state of its follower (a followed chain with nothing stored yet is listed too)."""
    found = []
    infos = store.status()
    for chain in sorted(set(infos) | set(FOLLOWED_CHAINS)):
        state = read_state(store, chain)
        info = infos.get(chain)
        if info is None and state is None:
            continue
        info = info or {}
        found.append(
            ChainStatus(
                chain=chain,
                rows={t: int(info.get(t) or 0) for t in TABLES},
                addresses=int(info.get("addresses") or 0),
                min_height=info.get("min_height"),
                max_height=info.get("max_height"),
                follow=state,
            )
        )
    return found


def cluster_chain(
    store: ChainStore, chain: str = "btc", coinjoin_filter: bool = True
) -> ClusterBuild:
    """Cluster ``chain``'s addresses by common-input ownership and store the map (the same
    chain loads and options again: nothing new)."""
    return build_clusters(store, chain=chain, coinjoin_filter=coinjoin_filter)


@dataclass
class TagLoad:
    """What loading one tag file set did."""

    tag_set_id: int
    name: str
    kind: str
    sha256: str
    files: list[str]
    created: bool
    tags: int
    invalid: int = 0
    problems: list[TagProblem] = field(default_factory=list)


def load_tags(
    db: Database, paths: list[Path], fmt: str | None = None, name: str | None = None
) -> TagLoad:
    """Read and store a tag file set, all or nothing (same files twice: nothing new)."""
    files: TagFileSet = read_tag_files(paths, fmt)
    for tag in files.result.tags:
        for fld in _SHORT_FIELDS:
            value = getattr(tag, fld)
            if value is not None and len(value) > 64:
                raise TagError(f"{tag.origin}: field {fld}: longer than 64 characters")
    problems = files.result.problems
    invalid = sum(1 for t in files.result.tags if t.valid is False)
    names = [str(p) for p in files.files]
    set_name = name or ", ".join(Path(p).name for p in paths)[:255]
    for attempt in (1, 2):
        try:
            with db.begin() as conn:
                existing = repo.find_tag_set(conn, files.sha256)
                if existing is not None:
                    return TagLoad(
                        tag_set_id=existing.id,
                        name=existing.name,
                        kind=existing.kind,
                        sha256=files.sha256,
                        files=names,
                        created=False,
                        tags=existing.tag_count,
                        invalid=invalid,
                        problems=problems,
                    )
                set_id = repo.create_tag_set(
                    conn, set_name, files.kind, files.sha256, names, [str(p) for p in problems]
                )
                count = repo.insert_tags(conn, set_id, files.result.tags)
            break
        except sa.exc.IntegrityError:
            if attempt == 2:  # not a concurrent load of the same files
                raise
    return TagLoad(
        tag_set_id=set_id,
        name=set_name,
        kind=files.kind,
        sha256=files.sha256,
        files=names,
        created=True,
        tags=count,
        invalid=invalid,
        problems=problems,
    )
