"""The stored cluster map of a UTXO chain, beside the chain store.

**Cluster map** (``build_clusters``): the multi-input clusters of one UTXO chain of the chain
store, with the evidence for every merge, under the chain store root::

    <root>/<chain>/clusters/CURRENT.json                  # the build in use, and its summary
    <root>/<chain>/clusters/<build>/addresses.parquet     # address, cluster, size (by address)
    <root>/<chain>/clusters/<build>/evidence.parquet      # cluster, a, b, txid (by cluster)

``<root>`` is the chain store's root (``settings.chain_dir``). ``<build>`` is 16 hex of the SHA-256 over the
chain's loads (manifest ``sha256``s, in load order) and the CoinJoin setting, so rebuilding an
unchanged store writes nothing. Cluster ids are ``Clustering``'s (the smallest address id, in
order of first appearance in the store). Evidence rows are the spanning forest of
``cluster_addresses``: ``a`` and ``b`` were inputs of ``txid``; each cluster of k addresses has
k - 1 rows. A build is written into a hidden temporary folder, renamed to ``<build>``, then
``CURRENT.json`` is replaced atomically; older builds are removed afterwards.

Readers: ``ClusterFiles`` answers one-shot questions by reading Parquet with filters;
``ClusterIndex`` holds a build in memory (a dict of addresses, about 100 bytes each, and the
evidence forest rooted once so that a path costs its length), for services that answer many
questions. ``cluster_ids`` maps a graph's addresses to a build's cluster ids, and
``cluster_labels`` carries a build over blocks loaded after it (their multi-input merges
applied in memory, no rebuild), as the exposure service does while a follower appends blocks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sanctrace.chain.cluster import Hop, cluster_addresses, extend_labels
from sanctrace.chain.graph import UtxoGraph
from sanctrace.chainstore.store import ChainStore
from sanctrace.errors import SanctraceError, Unavailable
from sanctrace.fileio import write_atomic

CLUSTERS = "clusters"
CURRENT = "CURRENT.json"
ROW_GROUP = 65_536

# --------------------------------------------------------------------------- cluster map


@dataclass
class ClusterBuild:
    """What ``build_clusters`` did (also the content of ``CURRENT.json``)."""

    chain: str
    build: str
    coinjoin_filter: bool
    addresses: int
    clusters: int
    multi_address_clusters: int
    largest_cluster: int
    largest_cluster_id: int | None
    transactions: int
    coinjoin_detected: int
    coinjoin_skipped: int
    evidence_edges: int
    built_at: str
    loads: list[str] = field(default_factory=list)
    created: bool = True


def clusters_dir(root: Path, chain: str) -> Path:
    return Path(root) / chain / CLUSTERS


def read_current(folder: Path) -> dict | None:
    """``CURRENT.json`` of a clusters folder, or None when there is none."""
    try:
        data = json.loads((folder / CURRENT).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SanctraceError(f"{folder / CURRENT}: damaged cluster map: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("build"), str):
        raise SanctraceError(f"{folder / CURRENT}: damaged cluster map: no build")
    return data


def build_clusters(
    store: ChainStore, chain: str = "btc", coinjoin_filter: bool = True
) -> ClusterBuild:
    """Cluster the addresses of ``chain`` in the chain store and write the cluster map."""
    loads = [e["sha256"] for e in store.loads(chain)]
    if not store.parts(chain, "inputs"):
        raise Unavailable(
            f"chain {chain}: no UTXO inputs in the chain store {store.root}; "
            "load blocks first (sanctrace chain load)"
        )
    key = json.dumps({"loads": loads, "coinjoin_filter": coinjoin_filter}).encode()
    build = hashlib.sha256(b"sanctrace-clusters\0" + key).hexdigest()[:16]
    folder = clusters_dir(store.root, chain)
    current = read_current(folder)
    if current and current["build"] == build and (folder / build).is_dir():
        known = {k: current[k] for k in ClusterBuild.__dataclass_fields__ if k in current}
        return ClusterBuild(**{**known, "created": False})

    def batches(table: str) -> Iterable[pa.RecordBatch]:
        return store.dataset(chain, table).to_batches()

    graph = UtxoGraph.from_tables(
        batches("transactions"), batches("inputs"), batches("outputs"), chain=chain
    )
    clustering = cluster_addresses(graph, coinjoin_filter=coinjoin_filter)
    labels = clustering.labels.astype(np.int64)
    counts = np.bincount(labels, minlength=len(labels)) if len(labels) else np.zeros(0, np.int64)
    names = graph.addresses.strings()
    order = pc.sort_indices(names)
    addresses = pa.table(
        {
            "address": names.take(order),
            "cluster": pa.array(labels).take(order),
            "size": pa.array(counts[labels] if len(labels) else labels).take(order),
        }
    )
    ev_cluster = labels[clustering.ev_a] if len(clustering.ev_a) else np.zeros(0, np.int64)
    ev_order = np.argsort(ev_cluster, kind="stable")
    evidence = pa.table(
        {
            "cluster": pa.array(ev_cluster[ev_order], pa.int64()),
            "a": names.take(pa.array(clustering.ev_a[ev_order], pa.int64())),
            "b": names.take(pa.array(clustering.ev_b[ev_order], pa.int64())),
            "txid": graph.txids.strings().take(pa.array(clustering.ev_tx[ev_order], pa.int64())),
        }
    )
    largest = int(counts.argmax()) if len(counts) else None
    coinjoins = int(np.count_nonzero(clustering.coinjoin))
    summary = ClusterBuild(
        chain=chain,
        build=build,
        coinjoin_filter=coinjoin_filter,
        addresses=graph.n_addresses,
        clusters=clustering.n_clusters,
        multi_address_clusters=int(np.count_nonzero(counts > 1)),
        largest_cluster=int(counts[largest]) if largest is not None else 0,
        largest_cluster_id=largest,
        transactions=graph.n_tx,
        coinjoin_detected=coinjoins,
        coinjoin_skipped=coinjoins if coinjoin_filter else 0,
        evidence_edges=len(clustering.ev_a),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        loads=loads,
    )
    _write_build(folder, build, addresses, evidence, summary)
    return summary


def _write_build(
    folder: Path, build: str, addresses: pa.Table, evidence: pa.Table, summary: ClusterBuild
) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".{build}."))
        try:
            pq.write_table(addresses, tmp / "addresses.parquet", row_group_size=ROW_GROUP)
            pq.write_table(evidence, tmp / "evidence.parquet", row_group_size=ROW_GROUP)
            target = folder / build
            if target.exists():  # left by a build that died before switching CURRENT
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        info = {k: v for k, v in asdict(summary).items() if k != "created"}
        write_atomic(folder / CURRENT, json.dumps(info, indent=2) + "\n")
        for old in folder.iterdir():
            if old.is_dir() and old.name != build and not old.name.startswith("."):
                shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise SanctraceError(f"{folder}: cannot write the cluster map: {exc}") from exc


# ------------------------------------------------------------------------------ readers


def _bfs_hops(
    edges: Iterable[tuple[str, str, str]], source: str, targets: Iterable[str]
) -> dict[str, list[Hop]]:
    """Paths through evidence edges from ``source`` to each reachable target."""
    adjacent: dict[str, list[tuple[str, str]]] = {}
    for a, b, txid in edges:
        adjacent.setdefault(a, []).append((b, txid))
        adjacent.setdefault(b, []).append((a, txid))
    left = set(targets) - {source}
    prev: dict[str, tuple[str, str]] = {source: ("", "")}
    queue = deque([source])
    while queue and left:
        node = queue.popleft()
        for nxt, txid in adjacent.get(node, ()):
            if nxt not in prev:
                prev[nxt] = (node, txid)
                left.discard(nxt)
                queue.append(nxt)
    paths = {}
    for target in set(targets) - left - {source}:
        hops, node = [], target
        while node != source:
            parent, txid = prev[node]
            hops.append(Hop(parent, node, txid))
            node = parent
        paths[target] = hops[::-1]
    return paths


class ClusterFiles:
    """One build of a cluster map on disk; each question is one filtered Parquet read."""

    def __init__(self, folder: Path, info: dict) -> None:
        self.folder = folder
        self.info = info
        self.build: str = info["build"]
        self.addresses_path = folder / info["build"] / "addresses.parquet"
        self.evidence_path = folder / info["build"] / "evidence.parquet"

    @property
    def coinjoin_filter(self) -> bool:
        return bool(self.info.get("coinjoin_filter", True))

    @classmethod
    def open(cls, root: Path, chain: str) -> ClusterFiles | None:
        """The current build for ``chain`` under the chain store ``root``; None without one."""
        folder = clusters_dir(root, chain)
        info = read_current(folder)
        if info is None:
            return None
        files = cls(folder, info)
        if not files.addresses_path.is_file() or not files.evidence_path.is_file():
            raise SanctraceError(f"{folder / files.build}: cluster map files missing")
        return files

    def locate(self, address: str) -> tuple[int, int] | None:
        """(cluster id, cluster size) of ``address``; None when the map does not know it."""
        table = pq.read_table(
            self.addresses_path, columns=["cluster", "size"], filters=[("address", "==", address)]
        )
        if not table.num_rows:
            return None
        return int(table["cluster"][0].as_py()), int(table["size"][0].as_py())

    def members_among(self, cluster: int, candidates: Iterable[str]) -> list[str]:
        """The addresses of ``candidates`` that are in ``cluster``, sorted."""
        wanted = sorted(set(candidates))
        if not wanted:
            return []
        table = pq.read_table(
            self.addresses_path,
            columns=["address"],
            filters=[("cluster", "==", cluster), ("address", "in", wanted)],
        )
        return sorted(table["address"].to_pylist())

    def paths(self, cluster: int, source: str, targets: Iterable[str]) -> dict[str, list[Hop]]:
        """Evidence paths from ``source`` to each target of the same cluster."""
        table = pq.read_table(
            self.evidence_path, columns=["a", "b", "txid"], filters=[("cluster", "==", cluster)]
        )
        rows = zip(*(table[c].to_pylist() for c in ("a", "b", "txid")), strict=True)
        return _bfs_hops(rows, source, targets)


def cluster_ids(graph: UtxoGraph, files: ClusterFiles) -> np.ndarray:
    """Cluster id per graph address id (-1 when the cluster map does not know the address)."""
    table = pq.read_table(files.addresses_path, columns=["address", "cluster"])
    at = pc.index_in(graph.addresses.strings(), value_set=table["address"])
    clusters = pc.take(table["cluster"], at).to_numpy(zero_copy_only=False)
    return np.where(at.is_null().to_numpy(zero_copy_only=False), -1, clusters).astype(np.int64)


def cluster_labels(graph: UtxoGraph, loads: Sequence[str], files: ClusterFiles) -> np.ndarray:
    """Cluster id per graph address from the cluster map; when the graph holds loads after
    the map's (a follower's new blocks), their multi-input merges are applied on top
    (``chain.cluster.extend_labels``): the map is carried forward without a rebuild."""
    labels = cluster_ids(graph, files)
    mapped = list(files.info.get("loads") or [])
    first = int(files.info.get("transactions", graph.n_tx))
    if mapped and list(loads[: len(mapped)]) == mapped and first < graph.n_tx:
        labels = extend_labels(labels, graph, first, files.coinjoin_filter)
    return labels


class ClusterIndex:
    """One build held in memory: ``locate`` is a hash lookup, a path costs its length."""

    def __init__(self, files: ClusterFiles) -> None:
        self.build = files.build
        self.info = files.info
        table = pq.read_table(files.addresses_path)
        self.names: list[str] = table["address"].to_pylist()
        self.ids = {name: i for i, name in enumerate(self.names)}
        self.cluster = table["cluster"].to_numpy()
        self.size = table["size"].to_numpy()
        evidence = pq.read_table(files.evidence_path, columns=["a", "b", "txid"])
        a = np.array([self.ids[x] for x in evidence["a"].to_pylist()], np.int64)
        b = np.array([self.ids[x] for x in evidence["b"].to_pylist()], np.int64)
        self.txids = evidence["txid"].combine_chunks()
        self._root_forest(a, b)

    def _root_forest(self, a: np.ndarray, b: np.ndarray) -> None:
        """Parent, parent edge and depth of every address, rooting each cluster's tree at its
        first address (level by level, vectorised)."""
        n = len(self.cluster)
        src, dst = np.concatenate([a, b]), np.concatenate([b, a])
        edge = np.concatenate([np.arange(len(a))] * 2)
        order = np.argsort(src, kind="stable")
        dst, edge = dst[order], edge[order]
        ptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
        self.parent = np.full(n, -1, np.int64)
        self.parent_edge = np.full(n, -1, np.int64)
        self.depth = np.full(n, -1, np.int64)
        _, roots = np.unique(self.cluster, return_index=True)
        self.depth[roots] = 0
        frontier, level = roots.astype(np.int64), 0
        while frontier.size:
            level += 1
            counts = ptr[frontier + 1] - ptr[frontier]
            total = int(counts.sum())
            if not total:
                break
            offsets = np.repeat(ptr[frontier] - (np.cumsum(counts) - counts), counts)
            pos = np.arange(total) + offsets
            nbr, via, par = dst[pos], edge[pos], np.repeat(frontier, counts)
            new = self.depth[nbr] < 0
            nbr, first = np.unique(nbr[new], return_index=True)
            self.depth[nbr] = level
            self.parent[nbr] = par[new][first]
            self.parent_edge[nbr] = via[new][first]
            frontier = nbr

    def _id(self, address: str) -> int:
        return self.ids.get(address, -1)

    def locate(self, address: str) -> tuple[int, int] | None:
        ident = self._id(address)
        if ident < 0:
            return None
        return int(self.cluster[ident]), int(self.size[ident])

    def clusters_of(self, addresses: Iterable[str]) -> dict[str, int]:
        """{address: cluster} for the addresses the map knows (one vectorised lookup)."""
        found = {}
        for name in addresses:
            ident = self.ids.get(name)
            if ident is not None:
                found[name] = int(self.cluster[ident])
        return found

    def members_among(self, cluster: int, candidates: Iterable[str]) -> list[str]:
        return sorted(a for a, c in self.clusters_of(candidates).items() if c == cluster)

    def _hop(self, a: int, b: int, via: int) -> Hop:
        return Hop(self.names[a], self.names[b], self.txids[int(self.parent_edge[via])].as_py())

    def paths(self, cluster: int, source: str, targets: Iterable[str]) -> dict[str, list[Hop]]:
        start = self._id(source)
        paths: dict[str, list[Hop]] = {}
        if start < 0:
            return paths
        for target in targets:
            end = self._id(target)
            if end < 0 or self.cluster[end] != self.cluster[start] or end == start:
                continue
            up, down, x, y = [], [], start, end
            while self.depth[x] > self.depth[y]:
                up.append(x)
                x = int(self.parent[x])
            while self.depth[y] > self.depth[x]:
                down.append(y)
                y = int(self.parent[y])
            while x != y:
                up.append(x)
                down.append(y)
                x, y = int(self.parent[x]), int(self.parent[y])
            hops = [self._hop(n, int(self.parent[n]), n) for n in up]
            hops += [self._hop(int(self.parent[n]), n, n) for n in reversed(down)]
            paths[target] = hops
        return paths
