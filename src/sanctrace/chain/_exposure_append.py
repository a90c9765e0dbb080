"""Incremental graphs: new blocks (UTXO) or transfers (account chains) appended to a graph
without building it again, and exposure engines carried over to the longer graph.

An appended graph answers exactly as ``UtxoGraph.from_tables`` (``AccountGraph.from_table``)
over all the tables would, except for the numbering of addresses (ids follow first appearance
block by block here, outputs before inputs in the whole store there), which no answer shows.
When that cannot be guaranteed the functions answer None and the caller builds the graph
again:

* UTXO: a delta whose transactions are not all of known heights above every height in the
  graph (an earlier transaction might then spend one of its outputs, and that input would have
  to be found again), a txid the graph holds already (BIP 30 duplicates), an output or input of
  a transaction the delta does not hold, or a ``coinjoin`` column in only one of the two;
* account chains: a transfer that sorts before the graph's last one (time, block, log index).

Arrays grow in place (``_exposure_grow``), so the older graph and its engine keep answering,
unchanged, while the longer one is made; ``spent_by`` is the one array whose old entries
change (outputs spent by the new transactions), so it is copied.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pyarrow as pa

from sanctrace.chain import _taint as k
from sanctrace.chain._exposure_grow import grow
from sanctrace.chain.addresses import normalise
from sanctrace.chain.cluster import extend_labels
from sanctrace.chain.exposure import ExposureEngine
from sanctrace.chain.exposure_account import AccountExposure
from sanctrace.chain.flags import Flag, FlagIndex
from sanctrace.chain.graph import (
    AccountGraph,
    TableLike,
    UtxoGraph,
    _amounts,
    _batches,
    _bools,
    _ints,
    id_dtype,
)

__all__ = [
    "append_account",
    "append_utxo",
    "carry_engine",
    "extend_account_engine",
    "extend_engine",
]


def _table(data: TableLike | None, what: str, required: tuple[str, ...]) -> pa.Table | None:
    if data is None:
        return None
    batches = list(_batches(data, what, required))
    return pa.Table.from_batches(batches) if batches else None


def _column(table: pa.Table | None, name: str) -> pa.Array:
    return table.column(name).combine_chunks() if table is not None else pa.array([], pa.string())


# ------------------------------------------------------------------------------ UTXO graph


def append_utxo(
    graph: UtxoGraph,
    transactions: TableLike | None,
    inputs: TableLike,
    outputs: TableLike,
) -> UtxoGraph | None:
    """``graph`` with the delta tables' transactions appended (see the module docstring), or
    None when only a full build gives the same graph."""
    txs = _table(transactions, "transactions", ("txid",))
    outs = _table(outputs, "outputs", ("txid", "index", "value", "address"))
    ins = _table(inputs, "inputs", ("txid", "index", "prev_txid", "prev_index"))
    if all(t is None or not t.num_rows for t in (txs, outs, ins)):
        return graph  # a load without transactions (blocks only) changes nothing
    if txs is None or "block_height" not in txs.schema.names:
        return None
    if (graph.tx_coinjoin is not None) != ("coinjoin" in txs.schema.names) and graph.n_tx:
        return None
    if graph.n_tx and int(graph.tx_height.min()) < 0:
        return None
    n_tx0, n_out0 = graph.n_tx, graph.n_outputs
    txids, addresses = graph.txids.copy(), graph.addresses.copy()
    batch = txs.combine_chunks().to_batches()[0] if txs.num_rows else None
    t_id = txids.intern(txs.column("txid"))
    if (t_id < n_tx0).any() or batch is None:
        return None  # a txid the graph holds already, or an empty delta
    heights = _ints(batch, "block_height", -1)
    if heights.min() < 0 or (n_tx0 and heights.min() <= int(graph.tx_height.max())):
        return None
    o_tx = txids.intern(_column(outs, "txid"))
    i_tx = txids.intern(_column(ins, "txid"))
    n_tx = len(txids)
    if len(np.unique(t_id)) != n_tx - n_tx0 or (o_tx < n_tx0).any() or (i_tx < n_tx0).any():
        return None  # outputs or inputs of transactions the delta does not list
    new = n_tx - n_tx0
    tx_height = np.full(new, -1, np.int32)
    tx_time = np.zeros(new, np.int64)
    tx_coinbase = np.zeros(new, bool)
    local = t_id - n_tx0
    tx_height[local] = heights
    tx_time[local] = _ints(batch, "time", 0)
    tx_coinbase[local] = _bools(batch, "coinbase")
    coinjoin = None
    if graph.tx_coinjoin is not None or "coinjoin" in txs.schema.names:
        coinjoin = np.zeros(new, bool)
        coinjoin[local] = _bools(batch, "coinjoin")

    # outputs: sorted by (tx, index), the last of duplicates kept, as ``from_tables`` does
    ob = outs.combine_chunks().to_batches() if outs is not None and outs.num_rows else []
    otx = o_tx.astype(np.int64)
    oidx = np.concatenate([_ints(b, "index", 0) for b in ob]) if ob else np.zeros(0, np.int64)
    oval = np.concatenate([_ints(b, "value", 0) for b in ob]) if ob else np.zeros(0, np.int64)
    oaddr = addresses.intern(_column(outs, "address"))
    order = np.lexsort((oidx, otx))
    last = np.ones(len(order), bool)
    last[:-1] = (otx[order][1:] != otx[order][:-1]) | (oidx[order][1:] != oidx[order][:-1])
    order = order[last]
    otx, oidx, oval, oaddr = otx[order], oidx[order], oval[order], oaddr[order]
    out_ptr_new = n_out0 + np.cumsum(np.bincount(otx - n_tx0, minlength=new))
    out_ptr = grow(graph.out_ptr, out_ptr_new)
    out_index = grow(graph.out_index, oidx.astype(np.int32))
    out_value = grow(graph.out_value, oval)
    addr_t = id_dtype(len(addresses))
    out_address = grow(graph.out_address, oaddr.astype(addr_t))

    # inputs: coinbase inputs mark their transaction; the others, sorted by (tx, index), find
    # the output they spend among the graph's and the delta's
    ib = ins.combine_chunks().to_batches() if ins is not None and ins.num_rows else []
    icb = np.concatenate([_bools(b, "coinbase") for b in ib]) if ib else np.zeros(0, bool)
    itx = i_tx.astype(np.int64)
    tx_coinbase[itx[icb] - n_tx0] = True
    keep = np.flatnonzero(~icb)
    iidx = np.concatenate([_ints(b, "index", 0) for b in ib]) if ib else np.zeros(0, np.int64)
    order = keep[np.lexsort((iidx[keep], itx[keep]))]
    itx = itx[order]
    prev = txids.lookup(_column(ins, "prev_txid"))[order] if ib else np.zeros(0, np.int64)
    pidx = np.concatenate([_ints(b, "prev_index", -1) for b in ib])[order] if ib else prev
    if ins is not None and ib and "address" in ins.schema.names:
        given_addr = addresses.intern(_column(ins, "address"))[order]
    else:
        given_addr = np.full(len(order), -1, np.int64)
    given_val = np.concatenate([_ints(b, "value", -1) for b in ib])[order] if ib else prev
    pos = _find_outputs(out_ptr, out_index, prev, pidx)
    found = pos >= 0
    spent_by = np.empty(len(out_value), graph.spent_by.dtype if n_tx < 2**31 - 1 else np.int64)
    spent_by[:n_out0] = graph.spent_by
    spent_by[n_out0:] = -1
    spent_by[pos[found]] = itx[found]
    in_output = grow(graph.in_output, pos.astype(id_dtype(len(out_value))))
    in_addr = np.where(found, out_address[np.maximum(pos, 0)], given_addr).astype(addr_t)
    in_val = np.where(found, out_value[np.maximum(pos, 0)], given_val)
    n_in0 = graph.n_inputs
    in_ptr = grow(graph.in_ptr, n_in0 + np.cumsum(np.bincount(itx - n_tx0, minlength=new)))
    return UtxoGraph(
        graph.chain,
        txids,
        addresses,
        grow(graph.tx_height, tx_height),
        grow(graph.tx_time, tx_time),
        grow(graph.tx_coinbase, tx_coinbase),
        None if coinjoin is None else grow(_or_empty(graph.tx_coinjoin, n_tx0), coinjoin),
        out_ptr,
        out_index,
        out_value,
        out_address,
        spent_by,
        in_ptr,
        in_output,
        grow(graph.in_address, in_addr),
        grow(graph.in_value, in_val),
    )


def _or_empty(array: np.ndarray | None, n: int) -> np.ndarray:
    return array if array is not None else np.zeros(n, bool)


def _find_outputs(
    out_ptr: np.ndarray, out_index: np.ndarray, prev: np.ndarray, pidx: np.ndarray
) -> np.ndarray:
    """The output id of each (transaction, position), -1 when the graph has none."""
    pos = np.full(len(prev), -1, np.int64)
    known = np.flatnonzero((prev >= 0) & (pidx >= 0))
    if not known.size:
        return pos
    lo, hi = out_ptr[prev[known]], out_ptr[prev[known] + 1]
    guess = lo + pidx[known]  # positions are dense in nearly every transaction
    inside = guess < hi
    hit = np.zeros(len(known), bool)
    hit[inside] = out_index[guess[inside]] == pidx[known][inside]
    pos[known[hit]] = guess[hit]
    for j in np.flatnonzero(~hit).tolist():  # gaps in a transaction's output positions
        a, b = int(lo[j]), int(hi[j])
        match = np.flatnonzero(out_index[a:b] == pidx[known[j]])
        if match.size:
            pos[known[j]] = a + int(match[-1])
    return pos


# --------------------------------------------------------------------------- account graph


def append_account(graph: AccountGraph, transfers: TableLike) -> AccountGraph | None:
    """``graph`` with the delta's transfers appended, or None when one sorts before the
    graph's last transfer (time, block, log index)."""
    required = ("token", "sender", "receiver", "amount", "time")
    table = _table(transfers, "transfers", required)
    if table is None or not table.num_rows:
        return graph
    batch = table.combine_chunks().to_batches()[0]
    time, block = _ints(batch, "time", 0), _ints(batch, "block_number", 0)
    log = _ints(batch, "log_index", -1)
    order = np.lexsort((log, block, time))
    if graph.n_edges:
        tail = graph.transfers.slice(graph.n_edges - 1, 1).to_pylist()[0]
        last = tuple(
            _or(tail.get(c), d) for c, d in (("time", 0), ("block_number", 0), ("log_index", -1))
        )
        first = (int(time[order[0]]), int(block[order[0]]), int(log[order[0]]))
        if first < last:
            return None
    table = table.take(pa.array(order)) if (order != np.arange(len(order))).any() else table
    addresses, tokens = graph.addresses.copy(), graph.tokens.copy()
    src = addresses.intern(table.column("sender"))
    dst = addresses.intern(table.column("receiver"))
    if (src < 0).any() or (dst < 0).any():
        return None  # ``from_table`` names the problem
    tok = tokens.intern(table.column("token"))
    n_addr, n_edges = len(addresses), graph.n_edges + table.num_rows
    addr_t = id_dtype(n_addr)
    new_src, new_dst = grow(graph.src, src.astype(addr_t)), grow(graph.dst, dst.astype(addr_t))
    try:
        transfers_all = pa.concat_tables(
            [graph.transfers, table.select(graph.transfers.schema.names)]
        )
    except (pa.ArrowInvalid, KeyError):
        return None
    out_ptr, out_edges = _csr_append(
        graph.out_ptr, graph.out_edges, src, n_addr, graph.n_edges, n_edges
    )
    in_ptr, in_edges = _csr_append(
        graph.in_ptr, graph.in_edges, dst, n_addr, graph.n_edges, n_edges
    )
    return AccountGraph(
        graph.chain,
        addresses,
        tokens,
        transfers_all,
        new_src,
        new_dst,
        grow(graph.amount, _amounts(table.column("amount").combine_chunks())),
        grow(graph.time, time[order]),
        grow(graph.token, tok.astype(id_dtype(len(tokens)))),
        out_ptr,
        out_edges,
        in_ptr,
        in_edges,
    )


def _or(value: object, default: int) -> int:
    return default if value is None else int(value)  # type: ignore[call-overload]


def _csr_append(
    ptr: np.ndarray, edges: np.ndarray, owner: np.ndarray, n_addr: int, first: int, total: int
) -> tuple[np.ndarray, np.ndarray]:
    """CSR over old and new edges: each node's old edges, then its new ones (ids ``first``
    on, in order), as a stable sort by owner over all edges gives; linear time."""
    old_counts = np.zeros(n_addr, np.int64)
    old_counts[: len(ptr) - 1] = np.diff(ptr)
    new_counts = np.bincount(owner, minlength=n_addr)
    new_ptr = np.zeros(n_addr + 1, np.int64)
    np.cumsum(old_counts + new_counts, out=new_ptr[1:])
    out = np.empty(total, id_dtype(total))
    shift = new_ptr[:-1] - np.concatenate([ptr[:-1], np.full(n_addr - len(ptr) + 1, ptr[-1])])
    out[np.arange(len(edges)) + np.repeat(shift[: len(ptr) - 1], old_counts[: len(ptr) - 1])] = (
        edges
    )
    by_owner = np.argsort(owner, kind="stable")
    sorted_owner = owner[by_owner]
    start = np.searchsorted(sorted_owner, sorted_owner, side="left")
    rank = np.arange(len(owner)) - start
    out[new_ptr[sorted_owner] + old_counts[sorted_owner] + rank] = first + by_owner
    return new_ptr, out


# ---------------------------------------------------------------------------------- engines


def extend_engine(
    engine: ExposureEngine, graph: UtxoGraph, clusters: np.ndarray | None = None
) -> ExposureEngine:
    """The engine of ``graph`` (``engine.graph`` with transactions appended), with the same
    flags, model and hop limit. Without clusters only the new transactions are swept: taint
    runs forward, so no older output changes. With clusters (a new transaction may merge a
    cluster into a flagged one) the new engine sweeps everything again."""
    if clusters is not None or engine.clusters is not None:
        fresh = ExposureEngine(
            graph,
            engine.flags,
            model=engine.model,
            hops=engine.hops_limit,
            clusters=clusters,
            propagate_stops=engine.propagate_stops,
        )
        fresh.run()
        return fresh
    # ``stats`` says which: ``appended_transactions`` when only they were swept.
    with engine._lock:  # a consistent view of the older engine's lazily made arrays
        state = dict(engine.__dict__)
    old = engine.graph
    n_tx0, n_out0 = old.n_tx, old.n_outputs
    new: ExposureEngine = object.__new__(type(engine))
    new.__dict__.update(state)
    new.graph, new._lock = graph, threading.RLock()
    new._scratch = None  # per engine: queries of both engines may run at once
    keys = state.get("_flag_keys") or _flag_keys(engine)
    new._flag_keys = keys  # type: ignore[attr-defined]
    new.unit_flags = _more_units(engine.unit_flags, engine.flags.flagged, keys[0], graph, old)
    new.unit_stops = _more_units(engine.unit_stops, engine.flags.stops, keys[1], graph, old)
    if new.unit_flags is not engine.unit_flags:
        new._index = FlagIndex(new.unit_flags)
    new._out_unit = graph.out_address
    tail_units = graph.out_address[n_out0:]
    tail_class = np.zeros(len(tail_units), np.uint8)
    for bit, found in ((k.FLAGGED, new.unit_flags), (k.STOP, new.unit_stops)):
        if found:
            tail_class[np.isin(tail_units, np.fromiter(found, np.int64, len(found)))] |= bit
    new.out_class = grow(engine.out_class, tail_class)
    if engine._out_tx is not None:
        counts = np.diff(graph.out_ptr[n_tx0:])
        made = np.repeat(np.arange(n_tx0, graph.n_tx), counts)
        new._out_tx = grow(engine._out_tx, made.astype(engine._out_tx.dtype))
    appended = k.is_topological(graph.in_ptr[n_tx0:], graph.in_output, graph.out_ptr[n_tx0:])
    new._rank = new._order = None
    if appended and engine._order is not None and engine._rank is not None:
        ids = np.arange(n_tx0, graph.n_tx, dtype=np.int64)
        new._order = grow(engine._order, ids)
        new._rank = new._order if engine._rank is engine._order else grow(engine._rank, ids)
    new._ran = False
    if engine._ran and new._order is not None:
        size = graph.n_outputs - n_out0
        new.fraction = grow(engine.fraction, np.zeros(size))
        new.tainted = grow(engine.tainted, np.zeros(size))
        new.hops = grow(engine.hops, np.full(size, -1, np.int8))
        start = time.perf_counter()
        k.sweep(
            new._model,
            new._order[n_tx0:],
            new.hops_limit,
            graph.out_ptr,
            graph.out_value,
            graph.in_ptr,
            graph.in_output,
            graph.in_value,
            new.out_class,
            new._kmap_in,
            new.fraction,
            new.tainted,
            new.hops,
        )
        new._ran = True
        new.stats = {
            **engine.stats,
            "appended_transactions": float(graph.n_tx - n_tx0),
            "appended_sweep_seconds": time.perf_counter() - start,
        }
    elif engine._ran:
        new.run()
    if engine._by_address is not None:
        new.address_index()  # made again here, in the merge, when the appended part is large
    return new


FlagKeys = tuple[pa.Array, pa.Array]  # the flag set's addresses as given, and canonical


def _flag_keys(engine: ExposureEngine) -> tuple[FlagKeys, FlagKeys]:
    """The flagged and stop addresses as given and in canonical form (computed once per
    line of engines: carried over with them)."""
    chain = engine.graph.chain
    pairs = []
    for table in (engine.flags.flagged, engine.flags.stops):
        given = list(table)
        canon = [normalise(chain, key) for key in given]
        pairs.append((pa.array(given, pa.string()), pa.array(canon, pa.string())))
    return pairs[0], pairs[1]


def _more_units(
    units: dict[int, list[Flag]],
    table: dict[str, list[Flag]],
    keys: FlagKeys,
    graph: UtxoGraph,
    old: UtxoGraph,
) -> dict[int, list[Flag]]:
    """``units`` with the flagged addresses that first appear in the appended part of
    ``graph`` (``ExposureEngine._units``'s rule; one vectorised lookup per form); the same
    dict when there are none."""
    given, canon = keys
    if not len(given):
        return units
    first = old.n_addresses
    raw = np.asarray(graph.addresses.lookup(given), np.int64)
    canonical = np.asarray(graph.addresses.lookup(canon), np.int64)
    fresh = np.flatnonzero((raw >= first) | (canonical >= first))
    if not fresh.size:
        return units
    grown = {unit: list(flags) for unit, flags in units.items()}
    for i in fresh.tolist():
        key = given[i].as_py()
        ident = graph.addresses.id_of(key)
        if ident < 0:
            ident = graph.addresses.id_of(canon[i].as_py())
        if ident < first:
            continue  # known before (its flags are in ``units``) or a hash's false hit
        bucket = grown.setdefault(ident, [])
        bucket.extend(f for f in table[key] if f not in bucket)
    return grown


def extend_account_engine(engine: AccountExposure, graph: AccountGraph) -> AccountExposure:
    """The engine of the longer ``graph``, same flags, model and token (its sweeps are per
    question or cached per token, so there is nothing to carry over)."""
    return AccountExposure(
        graph,
        engine.flags,
        model=engine.model,
        token=engine.token,
        propagate_stops=engine.propagate_stops,
    )


def carry_engine(
    engine: ExposureEngine | AccountExposure,
    graph: UtxoGraph | AccountGraph,
    coinjoin_filter: bool = True,
) -> ExposureEngine | AccountExposure:
    """Either engine carried over to its longer graph; a UTXO engine's cluster labels (a
    stored map's, ``chainstore.clusters.cluster_labels``) get the new blocks' merges."""
    if graph is engine.graph:
        return engine  # the loads appended held no transactions
    if isinstance(engine, AccountExposure):
        if not isinstance(graph, AccountGraph):
            raise TypeError("an account-chain engine needs an AccountGraph")
        return extend_account_engine(engine, graph)
    if not isinstance(graph, UtxoGraph):
        raise TypeError("a UTXO engine needs a UtxoGraph")
    labels = None
    if engine.clusters is not None:
        labels = extend_labels(engine.clusters, graph, engine.graph.n_tx, coinjoin_filter)
    return extend_engine(engine, graph, labels)
