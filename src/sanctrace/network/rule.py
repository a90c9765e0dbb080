"""The 50% rule over an ``OwnershipGraph``: verdicts with the chains that explain them.

OFAC: an entity is blocked when blocked persons hold 50% or more of it, directly or through
blocked entities, aggregated; a blocked intermediate counts with its whole holding (not
multiplied down the chain). Shares are intervals, so each verdict is computed twice: with
lower bounds (*blocked*) and with upper bounds (*possibly blocked*). EU: the same
aggregation with "more than 50%". Control (directors, UBOs, control links, parents) gives a
separate ``controlled`` flag. See docs/network.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypedDict

import numpy as np

from sanctrace.network.arrays import Explainer, ShareArrays, build, effective_bounds
from sanctrace.network.graph import Control, Holding, OwnershipGraph
from sanctrace.network.shares import Share, same_pair
from sanctrace.network.verdicts import BLOCKED, POSSIBLY, VERDICT_NAMES, Verdicts, compute

Verdict = Literal["blocked", "possibly_blocked", "not_blocked"]
MAX_PATHS = 20


class Step(TypedDict):
    """One edge of an explaining path."""

    owner: str
    owner_name: str
    asset: str
    asset_name: str
    link: str
    share: str | None
    share_low: float | None
    share_high: float | None
    role: str | None
    origin: str
    records: list[str]
    owner_blocked_because: str


@dataclass
class Assessment:
    """The verdict on one entity and why."""

    entity_id: str
    name: str
    verdict: Verdict
    eu_verdict: Verdict
    controlled: bool
    listed: bool  # listed itself (input said so)
    blocked_low: float  # aggregate % held by blocked persons, lower bound (OFAC rule)
    blocked_high: float  # upper bound
    # JSON objects: {"kind": "listed" | "ownership" | "control", ...}
    paths: list[dict[str, Any]] = field(default_factory=list)
    control_paths: list[dict[str, Any]] = field(default_factory=list)
    schema: str = ""
    input_id: str | None = None  # the id in the KYB input, when it came from there
    reason: str | None = None  # the listing reason when ``listed`` (or possibly listed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "input_id": self.input_id,
            "name": self.name,
            "schema": self.schema,
            "verdict": self.verdict,
            "eu_verdict": self.eu_verdict,
            "controlled": self.controlled,
            "listed": self.listed,
            "reason": self.reason,
            "blocked_low": round(self.blocked_low, 6),
            "blocked_high": round(self.blocked_high, 6),
            "paths": self.paths,
            "control_paths": self.control_paths,
        }


@dataclass(slots=True)
class _Edges:
    """The graph's active links as integer arrays (records kept to explain edges)."""

    ids: list[str]
    pos: dict[str, int]
    share_records: list[Holding | Control]  # input index of ``shares`` -> record
    control_records: list[Holding | Control]  # input index of ``control`` -> record
    shares: ShareArrays  # holdings + UBO declarations (0–100, upper bound only)
    control: ShareArrays  # holdings (lower bounds) + every control link at 100
    control_edges: np.ndarray  # bool per merged edge of ``control``: carries a control link


def _edges(graph: OwnershipGraph, as_of: str) -> _Edges:
    ids = list(graph.nodes)
    pos = {node_id: i for i, node_id in enumerate(ids)}
    holdings = [h for h in graph.holdings if h.owner in pos and h.asset in pos and h.active(as_of)]
    controls = [
        c for c in graph.controls if c.controller in pos and c.company in pos and c.active(as_of)
    ]
    ubos = [c for c in controls if c.kind == "ubo"]
    share_recs: list[Holding | Control] = [*holdings, *ubos]
    lows = [h.share.low for h in holdings] + [0.0] * len(ubos)
    highs = [h.share.high for h in holdings] + [100.0] * len(ubos)
    lopen = [h.share.low_open for h in holdings] + [False] * len(ubos)
    hopen = [h.share.high_open for h in holdings] + [False] * len(ubos)
    lo, hi = effective_bounds(
        np.array(lows), np.array(highs), np.array(lopen, bool), np.array(hopen, bool)
    )
    own = np.array([pos[h.owner] for h in holdings] + [pos[c.controller] for c in ubos], np.int64)
    ast = np.array([pos[h.asset] for h in holdings] + [pos[c.company] for c in ubos], np.int64)
    shares = build(len(ids), own, ast, lo, hi)
    # Control graph: holdings at their lower bound, then every control link at 100%.
    nh = len(holdings)
    c_own = np.concatenate([own[:nh], np.array([pos[c.controller] for c in controls], np.int64)])
    c_ast = np.concatenate([ast[:nh], np.array([pos[c.company] for c in controls], np.int64)])
    c_w = np.concatenate([lo[:nh], np.full(len(controls), 100.0)])
    control = build(len(ids), c_own, c_ast, c_w, c_w)
    is_ctl_input = np.zeros(nh + len(controls), bool)
    is_ctl_input[nh:] = True
    ctl_edges = (
        np.logical_or.reduceat(is_ctl_input[control.member_idx], control.member_ptr[:-1])
        if control.m
        else np.zeros(0, bool)
    )
    ctl_recs: list[Holding | Control] = [*holdings, *controls]
    return _Edges(ids, pos, share_recs, ctl_recs, shares, control, ctl_edges)


def assess(
    graph: OwnershipGraph,
    listed: Mapping[str, str],
    possibly_listed: Mapping[str, str] | None = None,
    ids: Iterable[str] | None = None,
    as_of: str | None = None,
    max_paths: int = MAX_PATHS,
) -> dict[str, Assessment]:
    """Verdicts for ``ids`` (default: every company that is not listed itself).

    ``listed``: node id -> reason ("OFAC SDN 12345: IVANOV, Ivan"); ``possibly_listed``:
    weaker matches that count toward the upper bound only. ``as_of`` (ISO date, default
    today) selects the holdings and links in force: started on or before it, not ended.
    """
    possibly_listed = possibly_listed or {}
    as_of = as_of or date.today().isoformat()
    e = _edges(graph, as_of)
    n = len(e.ids)
    listed_mask = np.zeros(n, bool)
    possibly_mask = np.zeros(n, bool)
    for node_id in listed:
        if node_id in e.pos:
            listed_mask[e.pos[node_id]] = True
    for node_id in possibly_listed:
        if node_id in e.pos:
            possibly_mask[e.pos[node_id]] = True
    v = compute(e.shares, listed_mask, possibly_mask, e.control, e.control_edges)
    if ids is None:
        wanted = [i for i in e.ids if graph.nodes[i].is_company and i not in listed]
    else:
        wanted = [i for i in dict.fromkeys(ids) if i in e.pos]
    paths = _PathWriter(graph, e, v, listed, possibly_listed, max_paths)
    out: dict[str, Assessment] = {}
    for node_id in wanted:
        i = e.pos[node_id]
        node = graph.nodes[node_id]
        is_listed = node_id in listed
        out[node_id] = Assessment(
            entity_id=node_id,
            name=node.name,
            verdict=VERDICT_NAMES[int(v.ofac[i])],  # type: ignore[arg-type]
            eu_verdict=VERDICT_NAMES[int(v.eu[i])],  # type: ignore[arg-type]
            controlled=bool(v.controlled[i]),
            listed=is_listed,
            # Rounded so that the nudges of open band ends (1e-6) do not show.
            blocked_low=round(float(v.blocked_low[i]), 4),
            blocked_high=round(float(v.blocked_high[i]), 4),
            paths=paths.ownership(i),
            control_paths=paths.control(i),
            schema=node.schema,
            input_id=node.input_id,
            reason=listed.get(node_id) or possibly_listed.get(node_id),
        )
    return out


class _PathWriter:
    """Turns edge chains from the explainers into path dicts."""

    def __init__(
        self,
        graph: OwnershipGraph,
        e: _Edges,
        v: Verdicts,
        listed: Mapping[str, str],
        possibly: Mapping[str, str],
        max_paths: int,
    ) -> None:
        self.g, self.e, self.v, self.listed, self.possibly = graph, e, v, listed, possibly
        self.low = Explainer(e.shares, v.ofac_low, max_paths)
        self.high = Explainer(e.shares, v.ofac_high, max_paths, weight=e.shares.high)
        self.ctl = Explainer(e.control, v.control, max_paths) if v.control else None
        self.max_paths = max_paths

    def _because(self, i: int, certain: bool) -> str:
        node_id = self.e.ids[i]
        if node_id in self.listed:
            return f"listed: {self.listed[node_id]}"
        if self.v.ofac_low.level[i] >= 0:
            return f"blocked: {self.v.blocked_low[i]:g}% held by blocked owners"
        if not certain and node_id in self.possibly:
            return f"possibly listed: {self.possibly[node_id]}"
        if not certain and self.v.ofac_high.level[i] >= 0:
            return f"possibly blocked: up to {self.v.blocked_high[i]:g}% held by blocked owners"
        if self.v.control is not None and self.v.control.level[i] >= 0:
            return "controlled by a blocked party"
        return ""

    def _step(
        self, arr: ShareArrays, records: list[Holding | Control], edge: int, certain: bool
    ) -> Step:
        recs: list[Holding | Control] = [records[int(k)] for k in arr.members(edge)]
        owner, asset = self.e.ids[int(arr.owner[edge])], self.e.ids[int(arr.asset[edge])]
        holdings = [r for r in recs if isinstance(r, Holding)]
        controls = [r for r in recs if isinstance(r, Control)]
        share: Share | None = same_pair([h.share for h in holdings]) if holdings else None
        ubo_only = not holdings and any(c.kind == "ubo" for c in controls)
        label: str | None
        low: float | None
        high: float | None
        if share is not None:
            label, low, high = share.label(), share.low, share.high
        elif ubo_only and arr is self.e.shares:
            label, low, high = "unknown (UBO declaration)", 0.0, 100.0
        else:
            label = low = high = None
        return {
            "owner": owner,
            "owner_name": self.g.name_of(owner),
            "asset": asset,
            "asset_name": self.g.name_of(asset),
            "link": controls[0].kind
            if controls and (not holdings or arr is self.e.control)
            else "ownership",
            "share": label,
            "share_low": low,
            "share_high": high,
            "role": "; ".join(dict.fromkeys(r.role for r in recs if r.role)) or None,
            "origin": "; ".join(dict.fromkeys(r.origin for r in recs)),
            "records": [r.id for r in recs],
            "owner_blocked_because": self._because(int(arr.owner[edge]), certain),
        }

    def _path(self, chain: tuple[int, ...], certain: bool) -> dict[str, Any]:
        steps = [self._step(self.e.shares, self.e.share_records, edge, certain) for edge in chain]
        last = steps[-1]
        return {
            "kind": "ownership",
            "share_low": last["share_low"],
            "share_high": last["share_high"],
            "certain": certain,
            "steps": steps,
        }

    def ownership(self, i: int) -> list[dict[str, Any]]:
        code = int(self.v.ofac[i])
        if self.e.ids[i] in self.listed:
            return [
                {"kind": "listed", "entity_id": self.e.ids[i], "reason": self.listed[self.e.ids[i]]}
            ]
        if code == BLOCKED or (code != POSSIBLY and self.v.blocked_low[i] > 0):
            return [self._path(c, True) for c in self.low.chains(i)]
        if code == POSSIBLY or self.v.blocked_high[i] > 0:
            return self._possible(i)
        return []

    def _possible(self, i: int) -> list[dict[str, Any]]:
        """Upper-bound chains; a chain that starts at a certainly blocked entity is extended
        upwards with that entity's certain chain."""
        out: list[dict[str, Any]] = []
        for chain in self.high.chains(i):
            top = int(self.e.shares.owner[chain[0]])
            heads = self.low.chains(top) if self.v.ofac_low.level[top] > 0 else [()]
            for head in heads or [()]:
                full = (*head, *chain)
                out.append(self._path(full, False))
                if len(out) >= self.max_paths:
                    return out
        return out

    def control(self, i: int) -> list[dict[str, Any]]:
        """Chains through at least one control link; for a party that is blocked anyway,
        the control links into it from controlling parties."""
        if self.ctl is None or not self.v.controlled[i]:
            return []
        arr, recs, level = self.e.control, self.e.control_records, self.ctl.level
        chains = [c for c in self.ctl.chains(i) if any(self.e.control_edges[e] for e in c)]
        for edge in arr.in_edges(i):
            up = int(arr.owner[edge])
            if not self.e.control_edges[edge] or level[up] < 0:
                continue
            for head in (self.ctl.chains(up) or [()]) if level[up] > 0 else [()]:
                chain = (*head, int(edge))
                if chain not in chains and len(chains) < self.max_paths:
                    chains.append(chain)
        return [
            {"kind": "control", "steps": [self._step(arr, recs, edge, True) for edge in chain]}
            for chain in chains
        ]
