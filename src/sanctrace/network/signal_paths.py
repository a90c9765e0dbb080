"""Ownership cycles: strongly connected components and one cycle through a given company."""

from __future__ import annotations

from collections import defaultdict, deque

from sanctrace.network.graph import Holding, OwnershipGraph


def _successors(graph: OwnershipGraph, as_of: str) -> dict[str, list[Holding]]:
    out: dict[str, list[Holding]] = defaultdict(list)
    for h in graph.holdings:
        if h.active(as_of):
            out[h.owner].append(h)
    return out


def ownership_cycles(graph: OwnershipGraph, as_of: str) -> dict[str, int]:
    """Node id -> component number, for nodes on an ownership cycle (links in force)."""
    succ = _successors(graph, as_of)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: dict[str, int] = {}
    counter = component = 0
    for root in list(succ):
        if root in index:
            continue
        # Iterative Tarjan: (node, iterator position) frames instead of recursion.
        work = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            edges = succ.get(node, [])
            if pos < len(edges):
                work.append((node, pos + 1))
                nxt = edges[pos].asset
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                members = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    members.append(top)
                    if top == node:
                        break
                if len(members) > 1:
                    for m in members:
                        out[m] = component
                    component += 1
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def cycle_through(
    graph: OwnershipGraph, start: str, members: set[str], as_of: str
) -> list[Holding]:
    """The shortest cycle of holdings from ``start`` back to it, inside ``members`` (its
    strongly connected component)."""
    succ = _successors(graph, as_of)
    back: dict[str, Holding] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for h in succ.get(node, []):
            if h.asset not in members or h.asset in back:
                continue
            back[h.asset] = h
            if h.asset == start:
                cycle = [h]
                while cycle[0].owner != start:
                    cycle.insert(0, back[cycle[0].owner])
                return cycle
            queue.append(h.asset)
    return []
