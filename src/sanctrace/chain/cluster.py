"""Multi-input (common-input-ownership) clustering of UTXO addresses, every merge explained.

**Heuristic.** All input addresses of a non-coinbase transaction are controlled by one entity,
so they fall in one cluster. Inputs without an address (non-standard scripts, bare multisig)
are ignored, as GraphSense ignores inputs that do not carry exactly one address.

**CoinJoin rule** (``coinjoin_filter=True`` skips such transactions). We use GraphSense's rule,
which is BlockSci's ``isCoinjoin``: a transaction is a CoinJoin when

1. it has at least 2 inputs and at least 3 outputs;
2. with ``participants = (outputs + 1) // 2`` (each participant is assumed to take one mixed
   output and one change output), ``participants <= inputs`` and ``participants <=`` the number
   of distinct input addresses (inputs without an address count together as one);
3. the most frequent output value (ties: the lowest such value) occurs exactly
   ``participants`` times;
4. and that value is not a dust amount (546 or 2730 satoshi).

GraphSense computes the flag when it ingests a transaction and the clustering only reads it.
So a ``coinjoin`` column in the ``transactions`` table (``UtxoGraph.tx_coinjoin``), or flags
passed in, take precedence over the rule. Known limits of the rule: equal-output mixes with one
output per participant and no change (Whirlpool 5×5) and WabiSabi's varied denominations are
not caught.

**Cluster ids** are the smallest address id of the cluster (GraphSense's convention: address ids
follow first appearance, so the cluster is named after its oldest address).

**Union-find.** ``UnionFind`` keeps ``parent``/``size`` numpy arrays. ``union`` is the classic
one (union by size, path halving); ``union_pairs`` merges millions of pairs at once: rounds of
hooking each root under the smallest root it is paired with, each followed by full path
compression (pointer jumping). Each hook merges two distinct sets, and the pair that caused it
is kept as evidence: the evidence forms a spanning forest, so any two clustered addresses are
joined by a unique chain of "spent together in tx T" steps (``Clustering.path``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sanctrace.chain._exposure_grow import grow
from sanctrace.chain.graph import TableLike, UtxoGraph, id_dtype

DUST_VALUES = (546, 2730)


# ----------------------------------------------------------------------------- CoinJoin


def is_coinjoin(input_addresses: Sequence[str | None], output_values: Sequence[int]) -> bool:
    """The CoinJoin rule for one transaction (see the module docstring)."""
    inputs, outputs = len(input_addresses), len(output_values)
    if inputs < 2 or outputs < 3:
        return False
    participants = (outputs + 1) // 2
    if participants > inputs or participants > len(set(input_addresses)):
        return False
    counts: dict[int, int] = {}
    for value in output_values:
        counts[value] = counts.get(value, 0) + 1
    top = max(counts.values())
    value = min(v for v, c in counts.items() if c == top)
    return top == participants and value not in DUST_VALUES


def coinjoin_mask(graph: UtxoGraph) -> NDArray[np.bool_]:
    """The CoinJoin rule over every transaction of ``graph``, vectorised (bool per tx)."""
    n_tx = graph.n_tx
    n_in, n_out = graph.input_counts(), graph.output_counts()
    participants = (n_out + 1) // 2
    cand: NDArray[np.bool_] = (
        (n_in >= 2) & (n_out >= 3) & (participants <= n_in) & ~graph.tx_coinbase
    )
    if not cand.any():
        return cand
    tx_of_in = np.repeat(np.arange(n_tx), n_in)
    sel = cand[tx_of_in]
    t, a = tx_of_in[sel], graph.in_address[sel].astype(np.int64)
    order = np.lexsort((a, t))
    t, a = t[order], a[order]
    first = np.ones(len(t), bool)
    first[1:] = (t[1:] != t[:-1]) | (a[1:] != a[:-1])
    cand &= participants <= np.bincount(t[first], minlength=n_tx)

    tx_of_out = np.repeat(np.arange(n_tx), n_out)
    sel = cand[tx_of_out]
    t, v = tx_of_out[sel], graph.out_value[sel]
    order = np.lexsort((v, t))
    t, v = t[order], v[order]
    start = np.ones(len(t), bool)
    start[1:] = (t[1:] != t[:-1]) | (v[1:] != v[:-1])
    run_at = np.flatnonzero(start)
    run_t, run_v = t[run_at], v[run_at]
    run_len = np.diff(np.append(run_at, len(t)))
    order = np.lexsort((run_v, -run_len, run_t))  # per tx: most frequent, then lowest value
    run_t, run_v, run_len = run_t[order], run_v[order], run_len[order]
    best = np.ones(len(run_t), bool)
    best[1:] = run_t[1:] != run_t[:-1]
    bt, bv, bl = run_t[best], run_v[best], run_len[best]
    ok = (bl == participants[bt]) & ~np.isin(bv, DUST_VALUES)
    result = np.zeros(n_tx, bool)
    result[bt[ok]] = True
    both: NDArray[np.bool_] = result & cand
    return both


# ---------------------------------------------------------------------------- union-find


class UnionFind:
    """Disjoint sets over ``0..n-1`` on numpy arrays."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=id_dtype(n))
        self.size = np.ones(n, np.int64)

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return int(x)

    def union(self, a: int, b: int) -> bool:
        """Merge the sets of ``a`` and ``b`` (the smaller under the larger); False if one set."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return True

    def _roots(self, x: np.ndarray) -> NDArray[np.signedinteger[Any]]:
        r: NDArray[np.signedinteger[Any]] = self.parent[x]
        while True:
            up = self.parent[r]
            if np.array_equal(up, r):
                return r
            r = up

    def _flatten(self) -> None:
        parent = self.parent
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
        self.parent = parent

    def union_pairs(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Merge ``u[i]`` with ``v[i]`` for all ``i``; the indices of the pairs that merged two
        sets, in merge order (a spanning forest of the pairs)."""
        u, v = np.asarray(u), np.asarray(v)
        pair_t = id_dtype(len(u))
        active = np.arange(len(u), dtype=pair_t)
        merged: list[np.ndarray] = []
        while active.size:
            ru, rv = self._roots(u[active]), self._roots(v[active])
            cross = ru != rv
            active, ru, rv = active[cross], ru[cross], rv[cross]
            if not active.size:
                break
            hi, lo = np.maximum(ru, rv), np.minimum(ru, rv)
            # Each root hooks under the smallest root it is paired with; hooks only go from a
            # root to a smaller root, so no cycle can form.
            np.minimum.at(self.parent, hi, lo)
            won = self.parent[hi] == lo
            winner = np.full(len(self.parent), -1, pair_t)
            winner[hi[won]] = active[won]  # one pair per hooked root is its evidence
            merged.append(winner[winner >= 0])
            self._flatten()
        self._flatten()
        self.size = np.bincount(self.parent, minlength=len(self.parent)).astype(np.int64)
        return np.concatenate(merged) if merged else np.zeros(0, pair_t)

    def labels(self) -> np.ndarray:
        """Per element, the smallest element of its set."""
        self._flatten()
        n, dtype = len(self.parent), self.parent.dtype
        smallest = np.full(n, n, dtype)
        np.minimum.at(smallest, self.parent, np.arange(n, dtype=dtype))
        return smallest[self.parent]


def input_pairs(
    in_ptr: np.ndarray, in_address: np.ndarray, skip_tx: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs the heuristic merges: (first input address, other input address, tx) for each
    transaction not in ``skip_tx``; inputs without an address (-1) are ignored."""
    counts = np.diff(in_ptr)
    tx_of_in = np.repeat(np.arange(len(counts), dtype=id_dtype(len(counts))), counts)
    keep = in_address >= 0
    if skip_tx is not None:
        keep &= ~skip_tx[tx_of_in]
    t, a = tx_of_in[keep], in_address[keep]
    head = np.ones(len(t), bool)
    head[1:] = t[1:] != t[:-1]
    first = a[head][np.cumsum(head, dtype=id_dtype(len(t))) - 1]
    pair = ~head & (a != first)
    return first[pair], a[pair], t[pair]


# ---------------------------------------------------------------------------- clustering


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of evidence: ``a`` and ``b`` were inputs of transaction ``txid``."""

    a: str
    b: str
    txid: str

    def __str__(self) -> str:
        return f"{self.a} and {self.b} were spent together in tx {self.txid}"


class Clustering:
    """Address clusters of a ``UtxoGraph``, with the evidence for every merge."""

    def __init__(
        self,
        graph: UtxoGraph,
        labels: np.ndarray,
        evidence: tuple[np.ndarray, np.ndarray, np.ndarray],
        coinjoin: np.ndarray,
        coinjoin_filter: bool,
    ) -> None:
        self.graph = graph
        self.labels = labels  # per address id: cluster id (smallest address id)
        self.ev_a, self.ev_b, self.ev_tx = evidence
        self.coinjoin = coinjoin  # per tx: detected (and, with the filter, skipped) CoinJoin
        self.coinjoin_filter = coinjoin_filter
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        self._adj: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def chain(self) -> str:
        return self.graph.chain

    @property
    def n_clusters(self) -> int:
        return int(np.count_nonzero(self.labels == np.arange(len(self.labels))))

    def cluster_of(self, address: str) -> int:
        """The cluster id of ``address``; KeyError when the graph does not know it."""
        return int(self.labels[self.graph.address_id(address)])

    def _members_index(self) -> tuple[np.ndarray, np.ndarray]:
        if self._sorted is None:
            order = np.argsort(self.labels, kind="stable")
            self._sorted = (order, self.labels[order])
        return self._sorted

    def member_ids(self, cluster_id: int) -> np.ndarray:
        order, sorted_labels = self._members_index()
        lo = np.searchsorted(sorted_labels, cluster_id, "left")
        hi = np.searchsorted(sorted_labels, cluster_id, "right")
        return order[lo:hi]

    def members(self, cluster_id: int) -> list[str]:
        """The addresses of a cluster, oldest first."""
        return [self.graph.addresses.string(int(i)) for i in self.member_ids(cluster_id)]

    def size(self, cluster_id: int) -> int:
        return len(self.member_ids(cluster_id))

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """(cluster ids, their sizes), by cluster id."""
        return np.unique(self.labels, return_counts=True)

    def coinjoin_txids(self) -> list[str]:
        return [self.graph.txid(int(t)) for t in np.flatnonzero(self.coinjoin)]

    # ---- evidence
    def _adjacency(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._adj is None:
            src = np.concatenate([self.ev_a, self.ev_b])
            dst = np.concatenate([self.ev_b, self.ev_a])
            edge = np.concatenate([np.arange(len(self.ev_a))] * 2)
            order = np.argsort(src, kind="stable")
            ptr = np.zeros(len(self.labels) + 1, np.int64)
            np.cumsum(np.bincount(src, minlength=len(self.labels)), out=ptr[1:])
            self._adj = (ptr, dst[order], edge[order])
        return self._adj

    def paths_from(self, source: int, targets: Sequence[int]) -> dict[int, list[Hop]]:
        """Evidence chains from address id ``source`` to each target id in its cluster."""
        ptr, dst, edge = self._adjacency()
        wanted = {int(t) for t in targets if self.labels[t] == self.labels[source]}
        prev: dict[int, tuple[int, int]] = {source: (-1, -1)}
        queue, left = deque([source]), wanted - {source}
        while queue and left:
            node = queue.popleft()
            for k in range(ptr[node], ptr[node + 1]):
                nxt = int(dst[k])
                if nxt not in prev:
                    prev[nxt] = (node, int(edge[k]))
                    left.discard(nxt)
                    queue.append(nxt)
        paths = {}
        for target in wanted:
            hops, node = [], target
            while node != source:
                parent, e = prev[node]
                hops.append(Hop(self._name(parent), self._name(node), self._txid(e)))
                node = parent
            paths[target] = hops[::-1]
        return paths

    def _name(self, ident: int) -> str:
        return self.graph.addresses.string(ident)

    def _txid(self, evidence: int) -> str:
        return self.graph.txid(int(self.ev_tx[evidence]))

    def path(self, a: str, b: str) -> list[Hop]:
        """Why ``a`` and ``b`` share a cluster: hops from ``a`` to ``b``; ValueError if they
        do not."""
        ia, ib = self.graph.address_id(a), self.graph.address_id(b)
        if self.labels[ia] != self.labels[ib]:
            raise ValueError(f"{a} and {b} are not in the same cluster")
        return self.paths_from(ia, [ib])[ib]

    def explain(self, a: str, b: str) -> str:
        hops = self.path(a, b)
        head = f"{a} is in cluster {self.cluster_of(a)} with {b}"
        return head + (": " + "; ".join(str(h) for h in hops) if hops else " (same address)")


def cluster_addresses(
    graph_or_tables: UtxoGraph
    | tuple[TableLike | None, TableLike, TableLike]
    | dict[str, TableLike | None],
    coinjoin_filter: bool = True,
    coinjoin_flags: np.ndarray | None = None,
) -> Clustering:
    """Multi-input clusters of every address of a UTXO graph.

    ``graph_or_tables`` is a ``UtxoGraph`` or its tables (``(transactions, inputs, outputs)`` or a
    dict with those keys). CoinJoins are flagged by ``coinjoin_flags`` if given, else by the
    graph's ``tx_coinjoin`` (a ``coinjoin`` column), else by the rule of the module docstring.
    """
    if isinstance(graph_or_tables, UtxoGraph):
        graph = graph_or_tables
    elif isinstance(graph_or_tables, dict):
        graph = UtxoGraph.from_tables(**graph_or_tables)
    else:
        graph = UtxoGraph.from_tables(*graph_or_tables)
    if coinjoin_flags is not None:
        coinjoin = np.asarray(coinjoin_flags, bool)
    elif graph.tx_coinjoin is not None:
        coinjoin = graph.tx_coinjoin
    else:
        coinjoin = coinjoin_mask(graph)
    skip = graph.tx_coinbase | coinjoin if coinjoin_filter else graph.tx_coinbase
    u, v, tx = input_pairs(graph.in_ptr, graph.in_address, skip)
    forest = UnionFind(graph.n_addresses)
    merged = forest.union_pairs(u, v)
    evidence = (u[merged], v[merged], tx[merged])
    return Clustering(graph, forest.labels(), evidence, coinjoin, coinjoin_filter)


def _new_pairs(
    graph: UtxoGraph, first_tx: int, coinjoin_filter: bool, coinjoin: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of the transactions from ``first_tx`` on (tx ids of the whole graph) and
    their CoinJoin flags (``coinjoin``, else the graph's column, else the rule)."""
    first_in, first_out = int(graph.in_ptr[first_tx]), int(graph.out_ptr[first_tx])
    in_ptr = graph.in_ptr[first_tx:] - first_in
    in_address = graph.in_address[first_in:]
    if coinjoin is None and graph.tx_coinjoin is not None:
        coinjoin = graph.tx_coinjoin[first_tx:]
    if coinjoin is None:
        tail = UtxoGraph(
            graph.chain,
            graph.txids,
            graph.addresses,
            graph.tx_height[first_tx:],
            graph.tx_time[first_tx:],
            graph.tx_coinbase[first_tx:],
            None,
            graph.out_ptr[first_tx:] - first_out,
            graph.out_index[first_out:],
            graph.out_value[first_out:],
            graph.out_address[first_out:],
            graph.spent_by[first_out:],
            in_ptr,
            graph.in_output[first_in:],
            in_address,
            graph.in_value[first_in:],
        )
        coinjoin = coinjoin_mask(tail)
    coinbase = graph.tx_coinbase[first_tx:]
    u, v, tx = input_pairs(in_ptr, in_address, coinbase | coinjoin if coinjoin_filter else coinbase)
    return u, v, tx.astype(np.int64) + first_tx, coinjoin


def _merge_labels(
    labels: np.ndarray, u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``labels`` (one distinct id per cluster, every address) after merging ``u[i]`` with
    ``v[i]``: a merged cluster takes the smallest of its ids. Only the clusters the pairs touch
    go through a union-find; one vectorised pass relabels their members. Also answers the
    pairs that merged two clusters (a spanning forest, as ``UnionFind.union_pairs``)."""
    lu, lv = labels[u], labels[v]
    ids, local = np.unique(np.concatenate([lu, lv]), return_inverse=True)
    forest = UnionFind(len(ids))
    merged = forest.union_pairs(local[: len(u)], local[len(u) :])
    target = ids[forest.labels()]  # sorted ids: the smallest local index is the smallest id
    changed = target != ids
    if not changed.any():
        return labels, merged
    labels = labels.copy()  # older clusterings keep theirs
    moved = np.flatnonzero(np.isin(labels, ids[changed]))
    labels[moved] = target[np.searchsorted(ids, labels[moved])]
    return labels, merged


def extend_clustering(previous: Clustering, graph: UtxoGraph) -> Clustering:
    """The clusters of ``graph``, a graph with transactions appended to ``previous.graph``
    (``_exposure_append``): only the new transactions' inputs are paired, and only the
    clusters they touch are merged. The labels equal a full ``cluster_addresses`` over the
    same graph (a cluster's id is its smallest address id either way)."""
    n_tx0, n_addr0, n = previous.graph.n_tx, len(previous.labels), graph.n_addresses
    u, v, tx, coinjoin = _new_pairs(graph, n_tx0, previous.coinjoin_filter)
    labels = grow(previous.labels, np.arange(n_addr0, n, dtype=previous.labels.dtype))
    labels, merged = _merge_labels(labels, u, v)
    evidence = (
        grow(previous.ev_a, u[merged]),
        grow(previous.ev_b, v[merged]),
        grow(previous.ev_tx, tx[merged]),
    )
    coinjoins = grow(previous.coinjoin, coinjoin)
    return Clustering(graph, labels, evidence, coinjoins, previous.coinjoin_filter)


def extend_labels(
    labels: np.ndarray, graph: UtxoGraph, first_tx: int, coinjoin_filter: bool = True
) -> np.ndarray:
    """Cluster labels for every address of ``graph`` from ``labels`` (a stored cluster map's
    ids for the first ``len(labels)`` addresses, -1 where the map does not know one) and the
    multi-input merges of the transactions from ``first_tx`` on. Merged clusters take the
    smallest of their ids (the map's convention: a cluster is named after its oldest
    address); an address in no labelled cluster counts as a cluster of its own, with an id
    above all of the map's (that plus its address id)."""
    n = graph.n_addresses
    given = np.full(n, -1, np.int64)
    given[: len(labels)] = labels
    fresh = given < 0
    given[fresh] = (int(given.max()) + 1 if n else 0) + np.flatnonzero(fresh)
    u, v, _, _ = _new_pairs(graph, first_tx, coinjoin_filter)
    return _merge_labels(given, u, v)[0]
