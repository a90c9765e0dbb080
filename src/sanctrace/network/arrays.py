"""The array core of the 50% rule: integer-indexed edges, CSR adjacency, fixed points.

Nodes are ``0..n-1``; an edge says that ``owner`` holds between ``low`` and ``high`` percent
of ``asset``. ``fixed_point`` grows the set of blocked nodes from the listed ones, round by
round: a node joins when the share held by members of the set adds up to the threshold.
Each node records the round it joined (its *level*); a member is explained by owners of a
lower level only, so explanations never loop even when the ownership does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sanctrace.network.shares import EPS

# Added to an open lower bound (subtracted from an open upper bound) so that "more than
# 50%" passes a strict "> 50" test and "less than 50%" fails a "≥ 50" one.
OPEN_NUDGE = 1e-6
NOT_REACHED = -1


@dataclass(slots=True)
class ShareArrays:
    """Edges merged per (owner, asset) pair, with CSR indexes both ways."""

    n: int
    owner: np.ndarray  # int32, per merged edge
    asset: np.ndarray  # int32
    low: np.ndarray  # float64, percent (open bounds already nudged)
    high: np.ndarray  # float64
    out_ptr: np.ndarray  # int64, n + 1: edges of owner i are out_idx[out_ptr[i]:out_ptr[i+1]]
    out_idx: np.ndarray  # int64 edge ids
    in_ptr: np.ndarray  # int64, n + 1: edges into asset i
    in_idx: np.ndarray
    total_low: np.ndarray  # float64 per node: sum of the lower bounds of all its owners
    member_ptr: np.ndarray  # int64: input edges merged into edge g are
    member_idx: np.ndarray  # member_idx[member_ptr[g]:member_ptr[g+1]]

    @property
    def m(self) -> int:
        return len(self.owner)

    def members(self, edge: int) -> np.ndarray:
        """Indexes (into the input arrays of ``build``) of the records merged into ``edge``."""
        return self.member_idx[self.member_ptr[edge] : self.member_ptr[edge + 1]]

    def in_edges(self, node: int) -> np.ndarray:
        return self.in_idx[self.in_ptr[node] : self.in_ptr[node + 1]]

    def nbytes(self) -> int:
        return sum(getattr(self, f).nbytes for f in self.__slots__ if f != "n")


def effective_bounds(
    low: np.ndarray, high: np.ndarray, low_open: np.ndarray, high_open: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds with open ends nudged inwards (see ``OPEN_NUDGE``)."""
    lo = np.asarray(low, np.float64) + np.where(low_open, OPEN_NUDGE, 0.0)
    hi = np.asarray(high, np.float64) - np.where(high_open, OPEN_NUDGE, 0.0)
    return lo, np.maximum(hi, lo)


def _ptr(keys: np.ndarray, n: int) -> np.ndarray:
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr


def build(
    n: int, owner: np.ndarray, asset: np.ndarray, low: np.ndarray, high: np.ndarray
) -> ShareArrays:
    """Merge duplicate (owner, asset) records and index the edges.

    Records of one pair merge as in ``shares.same_pair``: the largest lower bound, the
    capped sum of upper bounds. Self-loops are dropped (graph.py reports them).
    """
    owner = np.asarray(owner, np.int64)
    asset = np.asarray(asset, np.int64)
    low = np.asarray(low, np.float64)
    high = np.asarray(high, np.float64)
    keep = np.flatnonzero(owner != asset)
    key = owner[keep] * n + asset[keep]
    # Sorting is the cost of the whole build; the default (unstable) sort is deterministic
    # and twice as fast as a stable one, and the order inside a pair does not matter.
    sort = np.argsort(key)
    order = keep[sort]
    skey = key[sort]
    head = np.ones(len(order), bool)
    head[1:] = skey[1:] != skey[:-1]
    starts = np.flatnonzero(head)
    if len(order):
        m_low = np.maximum.reduceat(low[order], starts)
        m_high = np.minimum(np.add.reduceat(high[order], starts), 100.0)
    else:
        m_low = m_high = np.zeros(0)
    m_owner = owner[order[starts]].astype(np.int32)
    m_asset = asset[order[starts]].astype(np.int32)
    member_ptr = np.append(starts, len(order)).astype(np.int64)
    # Merged edges are sorted by owner already: the out-index is the identity.
    out_ptr, out_idx = _ptr(m_owner, n), np.arange(len(m_owner), dtype=np.int64)
    in_ptr, in_idx = _ptr(m_asset, n), np.argsort(m_asset).astype(np.int64)
    total_low = np.bincount(m_asset, weights=m_low, minlength=n)
    return ShareArrays(
        n,
        m_owner,
        m_asset,
        m_low,
        m_high,
        out_ptr,
        out_idx,
        in_ptr,
        in_idx,
        total_low,
        member_ptr,
        order.astype(np.int64),
    )


def _edges_of(ptr: np.ndarray, idx: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """All edge ids in the CSR rows of ``nodes`` (vectorised concatenation of ranges)."""
    starts = ptr[nodes]
    counts = ptr[nodes + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return idx[offsets + np.arange(total)]


@dataclass(slots=True)
class FixedPoint:
    """Result of one fixed point: membership round per node and the aggregate held."""

    level: np.ndarray  # int32: 0 for seeds, the round a node joined, NOT_REACHED otherwise
    held: np.ndarray  # float64: share of each node held by members (capped at 100)
    rounds: int

    @property
    def members(self) -> np.ndarray:
        return self.level >= 0


def fixed_point(
    arr: ShareArrays,
    seeds: np.ndarray,
    threshold: float = 50.0,
    strict: bool = False,
    upper: bool = False,
) -> FixedPoint:
    """Grow ``seeds`` to the least set closed under "held by members ≥ threshold".

    ``upper=False`` sums lower bounds (what members certainly hold). ``upper=True`` sums
    upper bounds, capped by what the other owners leave: 100 minus the lower bounds of the
    owners outside the set. ``strict`` uses "> threshold" (EU) instead of "≥" (OFAC).
    Each round only touches the out-edges of the nodes that joined in the round before.
    """
    n = arr.n
    seeds = np.asarray(seeds, bool)
    level = np.where(seeds, 0, NOT_REACHED).astype(np.int32)
    member = seeds.copy()
    held = np.zeros(n, np.float64)
    side_low = np.zeros(n, np.float64) if upper else None
    weight = arr.high if upper else arr.low
    limit = threshold + EPS if strict else threshold - EPS
    frontier = np.flatnonzero(seeds)
    rounds = 0
    while frontier.size:
        edges = _edges_of(arr.out_ptr, arr.out_idx, frontier)
        if edges.size == 0:
            break
        rounds += 1
        targets = arr.asset[edges]
        np.add.at(held, targets, weight[edges])
        cand = np.unique(targets)
        cand = cand[~member[cand]]
        value = held[cand]
        if side_low is not None:  # the upper bound
            np.add.at(side_low, targets, arr.low[edges])
            cap = 100.0 - (arr.total_low[cand] - side_low[cand])
            value = np.minimum(value, cap)
        hit = value > limit if strict else value >= limit
        frontier = cand[hit]
        member[frontier] = True
        level[frontier] = rounds
    if side_low is not None:
        held = np.minimum(held, 100.0 - (arr.total_low - side_low))
    return FixedPoint(level, np.clip(held, 0.0, 100.0), rounds)


class Explainer:
    """Chains of edges from seeds down to a member, through members of lower level only."""

    def __init__(
        self,
        arr: ShareArrays,
        fp: FixedPoint,
        max_paths: int = 20,
        weight: np.ndarray | None = None,
    ) -> None:
        self.arr, self.level, self.max_paths = arr, fp.level, max_paths
        self.weight = arr.low if weight is None else weight
        self._memo: dict[int, list[tuple[int, ...]]] = {}

    def contributors(self, node: int) -> list[int]:
        """In-edges with a share from members of a lower level, largest share first.

        For a node outside the set: in-edges from any member (what members do hold of it).
        """
        lv = int(self.level[node])
        edges = self.arr.in_edges(node)
        if lv == 0 or edges.size == 0:
            return []
        olv = self.level[self.arr.owner[edges]]
        below = (olv >= 0) & (olv < lv) if lv > 0 else olv >= 0
        edges = edges[below & (self.weight[edges] > 0)]
        return [int(e) for e in edges[np.argsort(-self.weight[edges], kind="stable")]]

    def chains(self, node: int) -> list[tuple[int, ...]]:
        """Up to ``max_paths`` edge chains, each from a seed (first edge) to ``node``."""
        # Iterative: gather the ancestors that still need chains, then fill in level order.
        todo, stack = [], [node]
        while stack:
            v = stack.pop()
            if v in self._memo or self.level[v] == 0:
                continue
            todo.append(v)
            self._memo[v] = []  # placeholder, filled below
            stack.extend(int(self.arr.owner[e]) for e in self.contributors(v))
        # Non-members (level -1) come last: they are only ever the node asked about.
        todo.sort(key=lambda v: self.level[v] if self.level[v] >= 0 else np.iinfo(np.int32).max)
        for v in todo:
            out: list[tuple[int, ...]] = []
            for e in self.contributors(v):
                up = int(self.arr.owner[e])
                for chain in self._memo.get(up, [()]) if self.level[up] != 0 else [()]:
                    out.append((*chain, e))
                    if len(out) >= self.max_paths:
                        break
                if len(out) >= self.max_paths:
                    break
            self._memo[v] = out
        return self._memo.get(node, [])
