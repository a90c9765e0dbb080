"""Exposure of UTXO outputs, transactions and addresses to flagged parties (taint analysis).

Sources, propagation (haircut, poison, FIFO), the hop limit, stop entities and the two
directions are defined in ``docs/exposure.md``. This module is the public API: the records
(from ``_exposure_records``), ``ExposureEngine`` with its set-up, bulk sweep and bulk output
(table, CSV), and graphs built straight from arrays. The engine's one-subject queries are in
``_exposure_query``; the compiled kernels in ``_taint`` (bulk sweep) and ``_taint_query``.

* **In** (source of funds): one bulk sweep over every transaction in topological order gives
  each output its tainted fraction, tainted value and hop count (``run``); the per-category and
  per-entity breakdown and the evidence paths of one subject are re-computed on its tainted
  ancestor cone only.
* **Out** (destination of funds): forward propagation from the subject's outputs alone, over
  the transactions within the hop limit, flagged outputs terminal; the exposure is the tainted
  value that lands on flagged outputs.

Tainted values are float64 satoshi. The engine is not re-entrant per instance (queries share
scratch arrays); a lock serialises them.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path as FilePath

import numpy as np
import pyarrow as pa

from sanctrace.chain import _taint as k
from sanctrace.chain._exposure_query import SubjectQueries
from sanctrace.chain._exposure_records import (
    Direction,
    Exposure,
    ExposureError,
    Model,
    Path,
    Step,
    UnknownSubject,
)
from sanctrace.chain.addresses import normalise
from sanctrace.chain.exposure_options import DEFAULT_HOPS, MAX_HOPS, MODELS, check_options
from sanctrace.chain.flags import Flag, FlagIndex, FlagSet
from sanctrace.chain.graph import UtxoGraph
from sanctrace.chain.interner import id_dtype

__all__ = [
    "DEFAULT_HOPS",
    "MAX_HOPS",
    "MODELS",
    "TABLE_SCHEMA",
    "Direction",
    "Exposure",
    "ExposureEngine",
    "ExposureError",
    "Model",
    "NumberedNames",
    "Path",
    "Step",
    "UnknownSubject",
    "graph_from_arrays",
    "warm_up",
]

_KERNEL_MODEL: dict[str, int] = {"haircut": k.HAIRCUT, "poison": k.POISON, "fifo": k.FIFO}
TABLE_SCHEMA = pa.schema(
    [
        ("txid", pa.string()),
        ("output_index", pa.int32()),
        ("address", pa.string()),
        ("value", pa.int64()),
        ("tainted_value", pa.float64()),
        ("fraction", pa.float64()),
        ("hops", pa.int8()),
    ]
)


# ------------------------------------------------------------------- graphs from arrays


class NumberedNames:
    """A stand-in for ``Interner`` over generated ids: id ``i`` is ``prefix`` + ``i`` in hex
    (``width`` digits) or decimal (``width`` 0); nothing is stored per id."""

    def __init__(self, size: int, prefix: str = "", width: int = 0) -> None:
        self.size, self.prefix, self.width = size, prefix, width

    def __len__(self) -> int:
        return self.size

    def string(self, ident: int) -> str:
        if not 0 <= ident < self.size:
            raise IndexError(f"id {ident} out of range 0..{self.size - 1}")
        return f"{self.prefix}{ident:0{self.width}x}" if self.width else f"{self.prefix}{ident}"

    def id_of(self, text: str) -> int:
        body = text[len(self.prefix) :] if text.startswith(self.prefix) else None
        try:
            ident = int(body, 16 if self.width else 10) if body else -1
        except ValueError:
            return -1
        return ident if 0 <= ident < self.size and self.string(ident) == text else -1

    def lookup(self, values: pa.Array | Iterable[str | None]) -> np.ndarray:
        texts = values.to_pylist() if isinstance(values, pa.Array) else list(values)
        return np.array([self.id_of(t) if t is not None else -1 for t in texts], np.int64)

    def strings(self) -> pa.Array:
        return pa.array([self.string(i) for i in range(self.size)], pa.string())

    @property
    def nbytes(self) -> int:
        return 0


def graph_from_arrays(
    out_ptr: np.ndarray,
    out_value: np.ndarray,
    out_address: np.ndarray,
    in_ptr: np.ndarray,
    in_output: np.ndarray,
    *,
    n_addresses: int | None = None,
    chain: str = "btc",
) -> UtxoGraph:
    """A ``UtxoGraph`` straight from CSR arrays (generated graphs, benchmarks): txid ``i`` is
    ``i`` as 64 hex digits, address ``a`` is ``"addr<a>"``; input values come from the outputs
    they spend (0 for inputs outside the graph, ``in_output`` -1)."""
    out_ptr, in_ptr = np.asarray(out_ptr, np.int64), np.asarray(in_ptr, np.int64)
    n_tx, n_out = len(out_ptr) - 1, int(out_ptr[-1])
    n_addr = int(out_address.max()) + 1 if n_addresses is None and n_out else n_addresses or 0
    tx_t, out_t = id_dtype(n_tx), id_dtype(n_out)
    in_output = np.asarray(in_output).astype(out_t, copy=False)
    known = in_output >= 0
    spender = np.repeat(np.arange(n_tx, dtype=tx_t), np.diff(in_ptr))
    spent_by = np.full(n_out, -1, tx_t)
    spent_by[in_output[known]] = spender[known]
    out_tx = np.empty(n_out, tx_t)
    k.fill_creating_tx(out_ptr, out_tx)
    out_index = (np.arange(n_out, dtype=np.int64) - out_ptr[:-1][out_tx]).astype(np.int32)
    address = np.asarray(out_address).astype(id_dtype(n_addr), copy=False)
    in_value = np.where(known, np.asarray(out_value, np.int64)[np.maximum(in_output, 0)], 0)
    in_address = np.where(known, address[np.maximum(in_output, 0)], -1).astype(address.dtype)
    return UtxoGraph(
        chain,
        # NumberedNames stands in for Interner structurally; UtxoGraph (graph.py) names the
        # class instead of a protocol.
        NumberedNames(n_tx, "", 64),  # type: ignore[arg-type]
        NumberedNames(n_addr, "addr"),  # type: ignore[arg-type]
        np.full(n_tx, -1, np.int32),
        np.zeros(n_tx, np.int64),
        np.diff(in_ptr) == 0,
        None,
        out_ptr,
        out_index,
        np.asarray(out_value, np.int64),
        address,
        spent_by,
        in_ptr,
        in_output,
        in_address,
        in_value,
    )


# ------------------------------------------------------------------------------ the engine


class ExposureEngine(SubjectQueries):
    """Exposure queries over one ``UtxoGraph`` with one ``FlagSet``, model and hop limit."""

    def __init__(
        self,
        graph: UtxoGraph,
        flags: FlagSet,
        *,
        model: Model = "haircut",
        hops: int = DEFAULT_HOPS,
        clusters: np.ndarray | None = None,
        propagate_stops: bool = False,
    ) -> None:
        check_options(model, hops)
        if clusters is not None and len(clusters) != graph.n_addresses:
            raise ExposureError(
                f"clusters: {len(clusters)} labels for {graph.n_addresses} addresses"
            )
        self.graph, self.flags, self.model, self.hops_limit = graph, flags, model, int(hops)
        self.clusters, self.propagate_stops = clusters, propagate_stops
        self._model = _KERNEL_MODEL[model]
        self._lock = threading.RLock()
        stop_kind = k.NORMAL if propagate_stops else k.TERMINAL
        self._kmap_in = np.array([k.NORMAL, k.SOURCE, stop_kind, k.SOURCE], np.uint8)
        self._kmap_out = np.array([k.NORMAL, k.TERMINAL, stop_kind, k.TERMINAL], np.uint8)
        self._kmap_cone = np.array([k.NORMAL, k.NORMAL, stop_kind, stop_kind], np.uint8)
        self.unit_flags = self._units(flags.flagged)
        self.unit_stops = self._units(flags.stops)
        self._index = FlagIndex(self.unit_flags)
        units = graph.out_address  # the unit of an output: its address, or its cluster
        if clusters is not None:
            labels = np.asarray(clusters)[np.maximum(units, 0)]
            units = np.where(units >= 0, labels, -1).astype(id_dtype(graph.n_addresses))
        self._out_unit = units
        self.out_class = np.zeros(graph.n_outputs, np.uint8)
        for bit, found in ((k.FLAGGED, self.unit_flags), (k.STOP, self.unit_stops)):
            if found:
                hit = np.isin(units, np.fromiter(found, np.int64, len(found)))
                self.out_class[hit] |= bit
        self._out_tx: np.ndarray | None = None
        self._rank: np.ndarray | None = None
        self._order: np.ndarray | None = None
        self._by_address: tuple[np.ndarray, np.ndarray, int] | None = None
        self._scratch: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.fraction = np.zeros(0)
        self.tainted = np.zeros(0)
        self.hops = np.zeros(0, np.int8)
        self.stats: dict[str, float] = {}
        self._ran = False

    # ---- set-up
    def _units(self, flagged: dict[str, list[Flag]]) -> dict[int, list[Flag]]:
        """Flags per address id (or cluster id), for the addresses the graph knows."""
        found: dict[int, list[Flag]] = {}
        if not flagged:
            return found
        keys = list(flagged)
        ids = np.asarray(self.graph.addresses.lookup(pa.array(keys, pa.string())), np.int64)
        for key, ident in zip(keys, ids.tolist(), strict=True):
            if ident < 0 or self.graph.addresses.string(ident) != key:
                ident = self.graph.addresses.id_of(normalise(self.graph.chain, key))
            if ident < 0:
                continue
            unit = int(self.clusters[ident]) if self.clusters is not None else ident
            bucket = found.setdefault(unit, [])
            bucket.extend(f for f in flagged[key] if f not in bucket)
        return found

    def _structure(self) -> None:
        """The topological order and rank of the transactions."""
        if self._rank is not None:
            return
        g = self.graph
        if k.is_topological(g.in_ptr, g.in_output, g.out_ptr):
            order = np.arange(g.n_tx, dtype=np.int64)
            rank = order
        else:
            order = np.empty(g.n_tx, np.int64)
            written = k.topo_dfs(g.in_ptr, g.in_output, self._creating_tx(), order)
            if written < 0:
                raise ExposureError(f"graph: transaction {g.txid(-written - 1)} is on a cycle")
            rank = np.empty(g.n_tx, np.int64)
            rank[order] = np.arange(g.n_tx)
        self._order, self._rank = order, rank

    def _creating_tx(self) -> np.ndarray:
        if self._out_tx is None:
            g = self.graph
            self._out_tx = np.empty(g.n_outputs, id_dtype(g.n_tx))
            k.fill_creating_tx(g.out_ptr, self._out_tx)
        return self._out_tx

    def _query_structure(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Scratch arrays for one query (slot per output, marks per output and tx), kept
        reset between queries."""
        self._structure()
        self._creating_tx()
        if self._scratch is None:
            g = self.graph
            # np.full writes every page now, so that queries do not pay the first touch
            self._scratch = (
                np.full(g.n_outputs, -1, id_dtype(g.n_outputs)),
                np.full(g.n_outputs, 0, np.uint8),
                np.full(g.n_tx, 0, np.uint8),
            )
        return self._scratch

    @property
    def order(self) -> np.ndarray:
        """The transactions in the topological order the engine sweeps (tx ids)."""
        self._structure()
        assert self._order is not None
        return self._order

    def run(self) -> None:
        """The bulk source-of-funds sweep over all outputs (once; later calls return)."""
        with self._lock:
            if self._ran:
                return
            start = time.perf_counter()
            self._structure()
            g = self.graph
            # np.full writes the pages here, so that the sweep does not stall on first touches
            fraction = np.full(g.n_outputs, 0.0)
            tainted = np.full(g.n_outputs, 0.0)
            hops = np.full(g.n_outputs, -1, np.int8)
            ready = time.perf_counter()
            k.sweep(
                self._model,
                self.order,
                self.hops_limit,
                g.out_ptr,
                g.out_value,
                g.in_ptr,
                g.in_output,
                g.in_value,
                self.out_class,
                self._kmap_in,
                fraction,
                tainted,
                hops,
            )
            done = time.perf_counter()
            self.fraction, self.tainted, self.hops = fraction, tainted, hops
            self.stats = {
                "prepare_seconds": ready - start,
                "sweep_seconds": done - ready,
                "output_visits": float(g.n_inputs + g.n_outputs),
            }
            self._ran = True

    # ---- lookups
    def _tx(self, txid: str) -> int:
        try:
            return self.graph.tx_id(txid)
        except KeyError:
            raise UnknownSubject(f"txid: unknown transaction {txid}") from None

    def address_index(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Outputs by address (CSR pointers, output ids) over the first ``covered`` outputs.
        Outputs appended since (``_exposure_append``) are scanned by the queries, until they
        are an eighth of the graph: then the index is made again."""
        g = self.graph
        if self._by_address is None or 8 * (g.n_outputs - self._by_address[2]) > g.n_outputs:
            addr = g.out_address.astype(np.int64)
            order = np.argsort(addr, kind="stable")
            ptr = np.zeros(g.n_addresses + 1, np.int64)
            np.cumsum(np.bincount(addr[addr >= 0], minlength=g.n_addresses), out=ptr[1:])
            self._by_address = (ptr, order[np.count_nonzero(addr < 0) :], g.n_outputs)
        return self._by_address

    def _address_outputs(self, address: str) -> tuple[str, np.ndarray]:
        g = self.graph
        try:
            ident = g.address_id(address)
        except KeyError:
            raise UnknownSubject(f"address: unknown address {address}") from None
        ptr, order, covered = self.address_index()
        found = order[ptr[ident] : ptr[ident + 1]] if ident < len(ptr) - 1 else order[:0]
        if covered < g.n_outputs:
            later = np.flatnonzero(g.out_address[covered:] == ident) + covered
            found = np.concatenate([found, later])
        return str(g.address(ident)), found

    # ---- public queries
    def output(
        self, txid: str, index: int, direction: Direction = "in", paths: int = 5
    ) -> Exposure:
        """The exposure of one output: its taint (in) or where its value goes (out)."""
        tx = self._tx(txid)
        lo, hi = int(self.graph.out_ptr[tx]), int(self.graph.out_ptr[tx + 1])
        hit = np.flatnonzero(self.graph.out_index[lo:hi] == index)
        if not hit.size:
            raise UnknownSubject(f"output: unknown output {txid}:{index}")
        subject = f"output:{self.graph.txid(tx)}:{index}"
        return self._exposure(subject, np.array([lo + int(hit[0])]), direction, paths)

    def transaction(self, txid: str, direction: Direction = "in", paths: int = 5) -> Exposure:
        """In: the taint of the transaction's outputs (what it received); out: where they go."""
        tx = self._tx(txid)
        outs = np.arange(self.graph.out_ptr[tx], self.graph.out_ptr[tx + 1])
        return self._exposure(f"tx:{self.graph.txid(tx)}", outs, direction, paths)

    def address(self, address: str, direction: Direction = "in", paths: int = 5) -> Exposure:
        """In: the taint of all outputs paid to it; out: the share of its outputs' value that
        reaches flagged addresses within the hop limit."""
        canonical, outs = self._address_outputs(address)
        return self._exposure(f"address:{canonical}", outs, direction, paths)

    def _exposure(self, subject: str, outs: np.ndarray, direction: str, paths: int) -> Exposure:
        check_options(direction=direction)
        with self._lock:
            outs = np.asarray(outs, np.int64)
            if direction == "in":
                return self._in(subject, outs, max(int(paths), 0))
            return self._out(subject, outs, max(int(paths), 0))

    # ---- bulk output
    def table(self) -> pa.Table:
        """One row per tainted output (sources included, at hop 0), in the engine's
        topological transaction order, then output position; see ``TABLE_SCHEMA``."""
        self.run()
        g = self.graph
        out_tx = self._creating_tx()
        assert self._rank is not None
        idx = np.flatnonzero(self.hops >= 0)
        idx = idx[np.lexsort((idx, self._rank[out_tx[idx]]))]
        txids = _strings(g.txids, out_tx[idx])
        addr = g.out_address[idx]
        columns = [
            txids,
            pa.array(g.out_index[idx], pa.int32()),
            _strings(g.addresses, addr),
            pa.array(g.out_value[idx], pa.int64()),
            pa.array(self.tainted[idx]),
            pa.array(self.fraction[idx]),
            pa.array(self.hops[idx], pa.int8()),
        ]
        return pa.Table.from_arrays(columns, schema=TABLE_SCHEMA)

    def write_csv(self, path: str | os.PathLike[str]) -> int:
        """Write ``table()`` as CSV atomically (temporary file, then rename); the row count."""
        import pyarrow.csv as pacsv

        table = self.table()
        target = FilePath(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        os.close(fd)
        try:
            pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="needed"))
            os.replace(tmp, target)
        except BaseException:
            FilePath(tmp).unlink(missing_ok=True)
            raise
        return int(table.num_rows)


def _strings(names: object, ids: np.ndarray) -> pa.Array:
    """The strings of ``ids`` (null where -1) from an ``Interner`` or ``NumberedNames``."""
    ids = np.asarray(ids, np.int64)
    if isinstance(names, NumberedNames):
        return pa.array([names.string(i) if i >= 0 else None for i in ids.tolist()], pa.string())
    strings = names.strings()  # type: ignore[attr-defined]
    return strings.take(pa.array(ids, mask=ids < 0))


def warm_up() -> float:
    """Compile (or load from numba's cache) every UTXO kernel on a tiny graph; the seconds."""
    start = time.perf_counter()
    graph = graph_from_arrays(
        np.array([0, 1, 3, 4]),
        np.array([10, 6, 3, 8]),
        np.array([0, 1, 2, 3]),
        np.array([0, 0, 1, 3]),
        np.array([0, 1, 2]),
    )
    flags = FlagSet(
        {"addr0": [Flag("sanctioned", "e", "e")], "addr1": [Flag("sanctioned", "f", "f")]},
        {"addr2": [Flag("exchange", None, "x")]},
    )
    out_tx = np.empty(graph.n_outputs, id_dtype(graph.n_tx))
    k.fill_creating_tx(graph.out_ptr, out_tx)
    k.is_topological(graph.in_ptr, graph.in_output, graph.out_ptr)
    k.topo_dfs(graph.in_ptr, graph.in_output, out_tx, np.empty(graph.n_tx, np.int64))
    for model in MODELS:
        engine = ExposureEngine(graph, flags, model=model)  # type: ignore[arg-type]
        engine.run()
        engine.output(graph.txid(2), 0, "in")
        engine.output(graph.txid(0), 0, "out")
    return time.perf_counter() - start
