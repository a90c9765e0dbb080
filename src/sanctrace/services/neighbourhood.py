"""The neighbourhood of an address or transaction in the chain store, one step at a time.

The console's transaction graph (``/graph``) and ``GET /v1/graph`` ask for the nodes around a
subject and grow the picture on demand. A request names its subject (an address or a txid)
and what to expand:

* a **transaction**'s ``inputs`` are the addresses it spends from (edge address → tx, the
  amount spent) and its ``outputs`` the addresses it pays (edge tx → address, per output);
* an **address**'s ``inputs`` are the transactions that paid it (tx → address) and its
  ``outputs`` the transactions that spent its coins (address → tx);
* an address's ``cluster`` are the other addresses of its multi-input cluster, when the chain
  store holds a cluster map (``sanctrace chain cluster``);
* on an account chain an address's ``inputs`` and ``outputs`` are its counterparties (edge
  sender → receiver, the transfers between them summed).

``all`` expands inputs, outputs and cluster. Each expansion returns at most ``limit`` edges,
largest amounts first (``offset`` pages on); what is left is summarised as ``more`` ("N more,
worth X") so a hub with a million transactions answers as fast as a leaf. Every address node is
marked ``listed`` (named by an active list snapshot) and ``tagged`` (an attribution tag), with
the list entries and tag labels. Amounts are base units; ``amount_text`` says them for people.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pyarrow.parquet as pq

from sanctrace.chain.addresses import normalise, parse_any
from sanctrace.chain.graph import AccountGraph, UtxoGraph
from sanctrace.chainstore.clusters import ClusterFiles
from sanctrace.chainstore.store import ChainStore
from sanctrace.errors import BadRequest, NotFound
from sanctrace.services.addresses import is_sanctioned, tag_dict
from sanctrace.services.context import Context
from sanctrace.services.exposure import ExposureService, Unit, unit_of
from sanctrace.store import Database
from sanctrace.store import tags as repo

__all__ = [
    "EXPANSIONS",
    "MAX_LIMIT",
    "Edge",
    "More",
    "Neighbourhood",
    "NeighbourhoodRequest",
    "NeighbourhoodService",
    "Node",
    "neighbourhood_service",
]

EXPANSIONS = ("none", "inputs", "outputs", "cluster", "all")
DEFAULT_LIMIT = 25
MAX_LIMIT = 200
MAX_OFFSET = 1_000_000

Expand = Literal["none", "inputs", "outputs", "cluster", "all"]


@dataclass(frozen=True, kw_only=True)
class NeighbourhoodRequest:
    """The subject (exactly one of ``address`` or ``txid``), what to expand, and the cap."""

    address: str | None = None
    txid: str | None = None
    chain: str | None = None  # detected from the address when absent; else "btc"
    expand: str = "all"
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    def __post_init__(self) -> None:
        if (self.txid is None) == (self.address is None):
            raise BadRequest("address, txid: give exactly one of an address or a transaction id")
        if not (self.address or self.txid or "").strip():
            raise BadRequest("address, txid: must not be empty")
        if self.expand not in EXPANSIONS:
            raise BadRequest(f"expand: {self.expand!r} is not one of {', '.join(EXPANSIONS)}")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise BadRequest(f"limit: must be between 1 and {MAX_LIMIT}")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise BadRequest(f"offset: must be between 0 and {MAX_OFFSET}")


@dataclass
class Node:
    """An address or a transaction. ``listed``: named by an active list snapshot (``lists``
    says by which entries); ``tagged``: has attribution tags (``tags``: their labels and
    categories); ``sanctioned``: either of them says sanctioned."""

    id: str  # "address:<address>" or "tx:<txid>"
    kind: Literal["address", "tx"]
    label: str
    address: str | None = None
    txid: str | None = None
    listed: bool = False
    tagged: bool = False
    sanctioned: bool = False
    lists: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    height: int | None = None  # tx: block height
    time: int | None = None  # tx: unix seconds
    value: int | None = None  # tx: total output value (base units)
    inputs: int | None = None  # tx: input count
    outputs: int | None = None  # tx: output count


@dataclass(frozen=True)
class Edge:
    """Funds moving (``input``: an address spends into a tx; ``output``: a tx pays an
    address; ``transfer``: account-chain transfers summed) or a ``cluster`` link."""

    id: str
    source: str
    target: str
    kind: Literal["input", "output", "transfer", "cluster"]
    amount: int | None  # base units; None for a cluster link
    amount_text: str
    index: int | None = None  # the output's or input's position in its transaction
    count: int = 1  # transfers summed into this edge


@dataclass(frozen=True)
class More:
    """What one expansion left out: ``count`` more edges worth ``amount`` in all."""

    node: str
    expand: str
    shown: int
    total: int
    count: int
    amount: int | None
    amount_text: str
    next_offset: int


@dataclass(frozen=True)
class Neighbourhood:
    """One step of the graph around ``center``."""

    center: str
    chain: str
    unit: Unit
    expand: str
    limit: int
    offset: int
    nodes: list[Node]
    edges: list[Edge]
    more: list[More]
    notes: list[str]
    cluster: dict[str, Any] | None = None  # {id, size, build} of the subject address

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of ``GET /v1/graph``."""
        return asdict(self)


def _short(text: str, keep: int = 8) -> str:
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep:]}"


@dataclass
class _Step:
    """One candidate edge and the node it leads to, before the cap."""

    amount: int
    key: str
    edges: list[Edge]
    node: Node


class _AddressIndex:
    """Outputs by address (CSR over the UTXO graph's ``out_address``), built once per graph."""

    def __init__(self, graph: UtxoGraph) -> None:
        owner = graph.out_address.astype(np.int64)
        self.order = np.argsort(owner, kind="stable")
        self.ptr = np.zeros(graph.n_addresses + 1, np.int64)
        known = owner[owner >= 0]
        np.cumsum(np.bincount(known, minlength=graph.n_addresses), out=self.ptr[1:])
        self.skip = int((owner < 0).sum())  # outputs without an address sort first

    def outputs_of(self, address: int) -> np.ndarray:
        lo, hi = self.ptr[address] + self.skip, self.ptr[address + 1] + self.skip
        return self.order[lo:hi]


class NeighbourhoodService:
    """Neighbourhoods over the chain store (the transfer graphs of ``ExposureService``, cached
    per chain load) and the database's lists and tags; safe to share between threads."""

    def __init__(self, db: Database, store: ChainStore) -> None:
        self.db = db
        self.store = store
        self._graphs = ExposureService(db, store)
        self._lock = threading.Lock()
        self._index: dict[str, tuple[UtxoGraph, _AddressIndex]] = {}

    @property
    def exposure(self) -> ExposureService:
        """The exposure service whose transfer graphs this one reads (the console's screen
        page shares it, so a chain's graph is held once)."""
        return self._graphs

    # ---- data
    def _graph(self, chain: str) -> tuple[UtxoGraph | AccountGraph, _AddressIndex | None]:
        """The chain's transfer graph and, for a UTXO chain, its outputs-by-address index."""
        with self._lock:
            graph, _ = self._graphs.graph(chain)
            if not isinstance(graph, UtxoGraph):
                return graph, None
            cached = self._index.get(chain)
            if cached is None or cached[0] is not graph:
                cached = self._index[chain] = (graph, _AddressIndex(graph))
            return graph, cached[1]

    # ---- the answer
    def around(self, request: NeighbourhoodRequest) -> Neighbourhood:
        """The subject's node and one step of ``request.expand`` from it.

        ``NotFound``: the chain data holds no such address or transaction; ``Unavailable``:
        nothing is loaded for the chain; ``BadRequest``: a txid on an account chain."""
        chain, address = request.chain, request.address
        if address is not None:
            address = address.strip()
            parsed = parse_any(address)
            if parsed.valid:
                chain = chain or parsed.chain
                if parsed.chain == chain:
                    address = parsed.address
        chain = (chain or "btc").strip().lower()
        graph, index = self._graph(chain)
        unit = unit_of(chain)
        modes = (
            ("inputs", "outputs", "cluster")
            if request.expand == "all"
            else (() if request.expand == "none" else (request.expand,))
        )
        nodes: dict[str, Node] = {}
        edges: dict[str, Edge] = {}
        more: list[More] = []
        notes: list[str] = []
        cluster_info: dict[str, Any] | None = None

        if isinstance(graph, AccountGraph):
            if address is None:
                raise BadRequest(f"txid: chain {chain} is an account chain: give an address")
            try:
                node_id = graph.address_id(address)
            except KeyError:
                raise NotFound(f"unknown address {address} on chain {chain}") from None
            center = _address_node(graph.address(node_id))
            nodes[center.id] = center
            for mode in modes:
                if mode == "cluster":
                    notes.append("account chains have no multi-input clusters")
                    continue
                steps = _account_steps(graph, node_id, center.id, mode, unit)
                self._keep(steps, center.id, mode, request, unit, nodes, edges, more)
        elif address is not None:
            try:
                ident = graph.address_id(address)
            except KeyError:
                raise NotFound(f"unknown address {address} on chain {chain}") from None
            center = _address_node(graph.address(ident) or address)
            nodes[center.id] = center
            assert index is not None
            outs = index.outputs_of(ident)
            for mode in modes:
                if mode == "cluster":
                    steps, cluster_info, note = self._cluster_steps(chain, center)
                    notes += [note] if note else []
                else:
                    steps = _utxo_address_steps(graph, outs, center.id, mode, unit)
                self._keep(steps, center.id, mode, request, unit, nodes, edges, more)
        else:
            assert request.txid is not None
            try:
                tx = graph.tx_id(request.txid)
            except KeyError:
                raise NotFound(f"unknown transaction {request.txid} on chain {chain}") from None
            center = _tx_node(graph, tx)
            nodes[center.id] = center
            for mode in modes:
                if mode == "cluster":
                    continue  # a transaction has no cluster; its input addresses do
                steps = _utxo_tx_steps(graph, tx, center.id, mode, unit)
                self._keep(steps, center.id, mode, request, unit, nodes, edges, more)

        self._mark(chain, list(nodes.values()))
        return Neighbourhood(
            center=center.id,
            chain=chain,
            unit=unit,
            expand=request.expand,
            limit=request.limit,
            offset=request.offset,
            nodes=list(nodes.values()),
            edges=list(edges.values()),
            more=more,
            notes=notes,
            cluster=cluster_info,
        )

    @staticmethod
    def _keep(
        steps: list[_Step],
        center: str,
        mode: str,
        request: NeighbourhoodRequest,
        unit: Unit,
        nodes: dict[str, Node],
        edges: dict[str, Edge],
        more: list[More],
    ) -> None:
        """The cap: the largest ``limit`` steps from ``offset``; the rest summarised."""
        steps.sort(key=lambda s: (-s.amount, s.key))
        start, stop = request.offset, request.offset + request.limit
        for step in steps[start:stop]:
            nodes.setdefault(step.node.id, step.node)
            for edge in step.edges:
                edges.setdefault(edge.id, edge)
        left = steps[stop:]
        if left:
            amount = sum(s.amount for s in left) if mode != "cluster" else None
            more.append(
                More(
                    node=center,
                    expand=mode,
                    shown=len(steps[start:stop]),
                    total=len(steps),
                    count=len(left),
                    amount=amount,
                    amount_text=unit.format(amount) if amount is not None else "",
                    next_offset=stop if stop < len(steps) else 0,
                )
            )

    def _cluster_steps(
        self, chain: str, center: Node
    ) -> tuple[list[_Step], dict[str, Any] | None, str | None]:
        assert center.address is not None
        files = ClusterFiles.open(self.store.root, chain)
        if files is None:
            return [], None, f"no cluster map for {chain}; build one with: sanctrace chain cluster"
        place = files.locate(center.address)
        if place is None:
            return [], None, f"{center.address} is not in the cluster map of {chain}"
        cluster, size = place
        info = {"id": cluster, "size": size, "build": files.build}
        table = pq.read_table(
            files.addresses_path, columns=["address"], filters=[("cluster", "==", cluster)]
        )
        members = [a for a in table["address"].to_pylist() if a != center.address]
        with self.db.connect() as conn:
            known = repo.tagged_addresses(conn, chain) | repo.listed_addresses(conn, chain)
        steps = []
        for other in members:
            # Tagged and listed members first, then by address: the cap keeps what matters.
            weight = 1 if other in known else 0
            node = _address_node(other)
            edge = Edge(
                id=f"cluster:{center.address}:{other}",
                source=center.id,
                target=node.id,
                kind="cluster",
                amount=None,
                amount_text="",
            )
            steps.append(_Step(weight, other, [edge], node))
        return steps, info, None

    def _mark(self, chain: str, nodes: list[Node]) -> None:
        """Mark address nodes listed and tagged (one query each for all of them)."""
        forms: dict[str, str] = {}
        for node in nodes:
            if node.address is None:
                continue
            forms[node.address] = node.address
            canonical = normalise(chain, node.address)
            forms.setdefault(canonical, node.address)
        if not forms:
            return
        lists: dict[str, list[dict[str, Any]]] = {}
        tags: dict[str, list[dict[str, Any]]] = {}
        with self.db.connect() as conn:
            for row in repo.listed(conn, list(forms)):
                owner = forms[row.address]
                hit = {
                    "source": row.source,
                    "entity_id": row.entity_id,
                    "caption": row.caption,
                    "snapshot_id": row.snapshot_id,
                }
                if hit not in lists.setdefault(owner, []):
                    lists[owner].append(hit)
            for row in repo.find_tags(conn, list(forms)):
                d = tag_dict(row)
                tag = {
                    "label": d["label"],
                    "category": d["category"],
                    "abuse": d["abuse"],
                    "source": d["source"],
                    "sanctioned": is_sanctioned(d),
                }
                if tag not in tags.setdefault(forms[row.address], []):
                    tags[forms[row.address]].append(tag)
        for node in nodes:
            if node.address is None:
                continue
            node.lists = lists.get(node.address, [])
            node.tags = tags.get(node.address, [])
            node.listed, node.tagged = bool(node.lists), bool(node.tags)
            node.sanctioned = node.listed or any(t["sanctioned"] for t in node.tags)


# ------------------------------------------------------------------------------ steps


def _address_node(address: str) -> Node:
    return Node(id=f"address:{address}", kind="address", label=_short(address), address=address)


def _tx_node(graph: UtxoGraph, tx: int) -> Node:
    txid = graph.txid(tx)
    lo, hi = int(graph.out_ptr[tx]), int(graph.out_ptr[tx + 1])
    height = int(graph.tx_height[tx])
    return Node(
        id=f"tx:{txid}",
        kind="tx",
        label=_short(txid),
        txid=txid,
        height=height if height >= 0 else None,
        time=int(graph.tx_time[tx]) or None,
        value=int(graph.out_value[lo:hi].sum()),
        inputs=int(graph.in_ptr[tx + 1] - graph.in_ptr[tx]),
        outputs=hi - lo,
    )


def _utxo_tx_steps(graph: UtxoGraph, tx: int, center: str, mode: str, unit: Unit) -> list[_Step]:
    steps = []
    txid = graph.txid(tx)
    if mode == "outputs":
        for out in range(int(graph.out_ptr[tx]), int(graph.out_ptr[tx + 1])):
            address = graph.address(int(graph.out_address[out]))
            index, value = int(graph.out_index[out]), int(graph.out_value[out])
            node = (
                _address_node(address)
                if address
                else Node(id=f"output:{txid}:{index}", kind="address", label=f"#{index}")
            )
            edge = Edge(f"out:{txid}:{index}", center, node.id, "output", value, unit.format(value))
            edge = _with_index(edge, index)
            steps.append(_Step(value, f"{index:010d}", [edge], node))
    elif mode == "inputs":
        lo, hi = int(graph.in_ptr[tx]), int(graph.in_ptr[tx + 1])
        for position, row in enumerate(range(lo, hi)):
            address = graph.address(int(graph.in_address[row]))
            value = max(int(graph.in_value[row]), 0)
            node = (
                _address_node(address)
                if address
                else Node(id=f"input:{txid}:{position}", kind="address", label=f"in #{position}")
            )
            edge = Edge(f"in:{txid}:{position}", node.id, center, "input", value, "")
            edge = _with_index(_with_text(edge, unit), position)
            steps.append(_Step(value, f"{position:010d}", [edge], node))
    return steps


def _utxo_address_steps(
    graph: UtxoGraph, outs: np.ndarray, center: str, mode: str, unit: Unit
) -> list[_Step]:
    """Transactions paying the address (inputs) or spending its coins (outputs), one edge per
    transaction with the amounts summed."""
    by_tx: dict[int, list[int]] = {}
    if mode == "inputs":
        creators = np.searchsorted(graph.out_ptr, outs, side="right") - 1
        for out, tx in zip(outs.tolist(), creators.tolist(), strict=True):
            by_tx.setdefault(tx, []).append(out)
    elif mode == "outputs":
        spenders = graph.spent_by[outs] if len(outs) else np.zeros(0, np.int64)
        for out, tx in zip(outs.tolist(), spenders.tolist(), strict=True):
            if tx >= 0:
                by_tx.setdefault(tx, []).append(out)
    steps = []
    for tx, spent in by_tx.items():
        node = _tx_node(graph, tx)
        assert node.txid is not None
        edges = []
        for out in spent:
            value = int(graph.out_value[out])
            if mode == "inputs":  # the tx's output paying the address: as its outputs show it
                index = int(graph.out_index[out])
                edge = Edge(f"out:{node.txid}:{index}", node.id, center, "output", value, "")
            else:  # the tx's input spending the address's coin: as its inputs show it
                index = int(np.flatnonzero(graph.tx_inputs(tx) == out)[0])
                edge = Edge(f"in:{node.txid}:{index}", center, node.id, "input", value, "")
            edges.append(_with_index(_with_text(edge, unit), index))
        value = int(graph.out_value[spent].sum())
        steps.append(_Step(value, node.txid, edges, node))
    return steps


def _account_steps(
    graph: AccountGraph, node: int, center: str, mode: str, unit: Unit
) -> list[_Step]:
    """Counterparties of an account-chain address, the transfers with each summed."""
    edges = graph.in_edges_of(node) if mode == "inputs" else graph.out_edges_of(node)
    others = graph.src[edges] if mode == "inputs" else graph.dst[edges]
    summed: dict[int, tuple[float, int]] = {}
    for other, amount in zip(others.tolist(), graph.amount[edges].tolist(), strict=True):
        total, count = summed.get(other, (0.0, 0))
        summed[other] = (total + amount, count + 1)
    steps = []
    for other, (total, count) in summed.items():
        peer = _address_node(graph.address(other))
        value = int(total)
        source, target = (peer.id, center) if mode == "inputs" else (center, peer.id)
        edge = Edge(
            f"transfer:{source}>{target}",
            source,
            target,
            "transfer",
            value,
            unit.format(value),
            count=count,
        )
        steps.append(_Step(value, peer.id, [edge], peer))
    return steps


def _with_index(edge: Edge, index: int) -> Edge:
    return Edge(**{**asdict(edge), "index": index})


def _with_text(edge: Edge, unit: Unit) -> Edge:
    text = unit.format(edge.amount) if edge.amount else ""
    return Edge(**{**asdict(edge), "amount_text": text})


# One service per context: the console page and the API share its graphs.
_services: weakref.WeakKeyDictionary[Context, NeighbourhoodService] = weakref.WeakKeyDictionary()
_services_lock = threading.Lock()


def neighbourhood_service(ctx: Context) -> NeighbourhoodService:
    """The shared ``NeighbourhoodService`` of ``ctx``."""
    with _services_lock:
        found = _services.get(ctx)
        if found is None:
            found = _services[ctx] = NeighbourhoodService(ctx.db, ctx.chain_store)
        return found
