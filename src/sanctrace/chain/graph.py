"""Compact, integer-indexed chain graphs (CSR on numpy arrays) built from the chain store's tables.

Both graphs are built by streaming record batches (a ``pyarrow.Table``, a ``RecordBatch`` or an
iterable of either); no Python object is kept per edge. New blocks are appended to a built
graph by ``_exposure_append`` (same answers as building again; arrays grow in place).

**UtxoGraph** — the output graph of a UTXO chain. Nodes are outputs ``(txid, index)``, numbered
densely in ``(transaction, index)`` order; an edge runs from an output to the transaction that
spends it, and from a transaction to each of its outputs. Three CSR views:

* ``spent_by[output] -> tx`` (-1 unspent, or spent outside the loaded range);
* ``tx_inputs``: ``in_ptr[tx]:in_ptr[tx+1]`` slices ``in_output`` (the output each input spends,
  -1 when it lies outside the loaded range), ``in_address`` and ``in_value``;
* ``tx_outputs``: the outputs of ``tx`` are ``out_ptr[tx]:out_ptr[tx+1]``, so no index array.

Values are int64 satoshi, addresses dense int ids (``addresses``, an ``Interner``), and each
transaction has its block height (int32, -1 unknown), time (int64) and coinbase flag.

**AccountGraph** — an address → address multigraph (one edge per transfer, per token) sorted by
time, with out- and in-neighbour CSR. Amounts are float64 for graph math (values above 2**53 lose
precision); the exact decimal strings stay in ``transfers``, the source table reordered so that
row ``e`` is edge ``e`` (``exact_amount(e)``).

**Memory per edge** (ids are int32 while a count stays below 2**31, else int64):

* UTXO: an output costs 20 bytes (value 8, address 4, ``spent_by`` 4, ``out_index`` 4) and an
  input 16 to 20 (``in_output`` 4, or 8 past 2**31 outputs as on Bitcoin, ``in_address`` 4,
  ``in_value`` 8). Per transaction add 30 bytes (two int64 CSR pointers, height, time, flags)
  and the txid map (16-byte hash key + id + the arrow string, ~90 bytes); per address its map
  entry (~20 bytes + the string). Measured by ``bench/chain.py`` on a generated graph of 3.6
  million edges: 18.2 bytes per edge for the edge arrays, 26.3 with the per-transaction arrays,
  64.7 with both string maps.
* Account graph: 36 bytes per edge (src 4, dst 4, amount 8, time 8, token 4, and the two CSR
  permutations 4 + 4), 8 bytes per address per CSR pointer array, plus the source table.

**Whole-chain estimates.** The Bitcoin entity graph (clusters as nodes, ~1.1 billion edges) in
the account-graph layout needs ~1.1e9 × 36 bytes ≈ 40 GB, plus ~1e9 entities × 16 bytes of CSR
pointers ≈ 16 GB: about 56 GB, which one large server (256–512 GB RAM) holds. The full output
graph (~1.1e9 transactions, ~3e9 outputs, ~2.9e9 inputs) needs ~3e9×20 + 2.9e9×20 ≈ 120 GB of
edge arrays, ~33 GB per transaction and ~200 GB of txid and address maps: that size goes to
Spark (a later issue).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from sanctrace.chain.addresses import normalise
from sanctrace.chain.interner import Interner
from sanctrace.chain.interner import hash_strings as hash_strings  # re-exported
from sanctrace.chain.interner import id_dtype as id_dtype  # re-exported
from sanctrace.errors import SanctraceError

BATCH_ROWS = 1 << 18
_U64 = np.uint64

# pyarrow has no type information, so ``pa.Table`` and ``pa.RecordBatch`` are ``Any`` to mypy.
TableLike: TypeAlias = pa.Table | pa.RecordBatch | Iterable[pa.Table | pa.RecordBatch]


# ------------------------------------------------------------------------- batch helpers


def _batches(data: TableLike, what: str, required: tuple[str, ...]) -> Iterator[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        items: Iterable[pa.Table | pa.RecordBatch] = data.to_batches(BATCH_ROWS)
    elif isinstance(data, pa.RecordBatch):
        items = [data]
    else:
        items = data
    for item in items:
        if isinstance(item, pa.Table):
            yield from _batches(item, what, required)
            continue
        missing = [c for c in required if c not in item.schema.names]
        if missing:
            raise SanctraceError(f"{what} table: missing column {', '.join(missing)}")
        yield item


def _ints(batch: pa.RecordBatch, name: str, fill: int) -> NDArray[np.int64]:
    if name not in batch.schema.names:
        return np.full(batch.num_rows, fill, np.int64)
    col = batch.column(name)
    if col.null_count:
        col = pc.fill_null(col, fill)
    values: NDArray[np.int64] = col.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return values


def _bools(batch: pa.RecordBatch, name: str) -> NDArray[np.bool_]:
    if name not in batch.schema.names:
        return np.zeros(batch.num_rows, bool)
    column = pc.fill_null(batch.column(name), False)
    values: NDArray[np.bool_] = column.to_numpy(zero_copy_only=False).astype(bool)
    return values


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _ptr(owner: np.ndarray, count: int) -> np.ndarray:
    """CSR pointers for rows already sorted by ``owner``."""
    ptr = np.zeros(count + 1, np.int64)
    np.cumsum(np.bincount(owner, minlength=count), out=ptr[1:])
    return ptr


def _array_nbytes(graph: object) -> dict[str, int]:
    values = {f.name: getattr(graph, f.name) for f in fields(graph)}  # type: ignore[arg-type]
    return {k: v.nbytes for k, v in values.items() if isinstance(v, np.ndarray)}


def _lookup_address(interner: Interner, chain: str | None, text: str) -> int:
    found = interner.id_of(text)
    if found < 0 and chain:
        canonical = normalise(chain, text)
        if canonical != text:
            found = interner.id_of(canonical)
    return found


# ------------------------------------------------------------------------------ UTXO graph


@dataclass(eq=False)
class UtxoGraph:
    """The output graph of a UTXO chain; see the module docstring for the layout."""

    chain: str
    txids: Interner
    addresses: Interner
    tx_height: np.ndarray  # int32, -1 unknown
    tx_time: np.ndarray  # int64 unix seconds, 0 unknown
    tx_coinbase: np.ndarray  # bool
    tx_coinjoin: np.ndarray | None  # bool, when the transactions table had a ``coinjoin`` column
    out_ptr: np.ndarray  # int64 [n_tx + 1]
    out_index: np.ndarray  # int32 output position in its transaction
    out_value: np.ndarray  # int64 satoshi
    out_address: np.ndarray  # address id, -1 none (nulldata, nonstandard, bare multisig)
    spent_by: np.ndarray  # tx id, -1 unspent or spent outside the loaded range
    in_ptr: np.ndarray  # int64 [n_tx + 1]
    in_output: np.ndarray  # output id, -1 outside the loaded range
    in_address: np.ndarray  # address id, -1 unknown
    in_value: np.ndarray  # int64 satoshi, -1 unknown

    @classmethod
    def from_tables(
        cls,
        transactions: TableLike | None,
        inputs: TableLike,
        outputs: TableLike,
        chain: str = "btc",
    ) -> UtxoGraph:
        """Build from the ``transactions``, ``inputs`` and ``outputs`` tables of the chain store.

        Address ids follow first appearance in ``outputs`` (then ``inputs``), so tables in
        chain order give GraphSense's address order. A ``coinjoin`` column in ``transactions``
        is kept as ``tx_coinjoin``. A txid seen twice (BIP 30 duplicates) keeps its last rows.
        """
        txids, addresses = Interner(), Interner()
        t_id: list[NDArray[np.int64]] = []
        t_height: list[NDArray[np.int64]] = []
        t_time: list[NDArray[np.int64]] = []
        t_cb: list[NDArray[np.bool_]] = []
        t_cj: list[NDArray[np.bool_]] = []
        has_cj = False
        if transactions is not None:
            for b in _batches(transactions, "transactions", ("txid",)):
                t_id.append(txids.intern(b.column("txid")))
                t_height.append(_ints(b, "block_height", -1))
                t_time.append(_ints(b, "time", 0))
                t_cb.append(_bools(b, "coinbase"))
                t_cj.append(_bools(b, "coinjoin"))
                has_cj |= "coinjoin" in b.schema.names
        o_tx, o_idx, o_val, o_addr = [], [], [], []
        for b in _batches(outputs, "outputs", ("txid", "index", "value", "address")):
            o_tx.append(txids.intern(b.column("txid")))
            o_idx.append(_ints(b, "index", 0))
            o_val.append(_ints(b, "value", 0))
            o_addr.append(addresses.intern(b.column("address")))
        i_tx, i_idx, i_prev, i_pidx, i_addr, i_val, i_cb = [], [], [], [], [], [], []
        for b in _batches(inputs, "inputs", ("txid", "index", "prev_txid", "prev_index")):
            i_tx.append(txids.intern(b.column("txid")))
            i_idx.append(_ints(b, "index", 0))
            i_prev.append(txids.lookup(b.column("prev_txid")))
            i_pidx.append(_ints(b, "prev_index", -1))
            if "address" in b.schema.names:
                i_addr.append(addresses.intern(b.column("address")))
            else:
                i_addr.append(np.full(b.num_rows, -1, np.int64))
            i_val.append(_ints(b, "value", -1))
            i_cb.append(_bools(b, "coinbase"))
        txids.freeze()
        addresses.freeze()
        n_tx, tx_t, addr_t = len(txids), id_dtype(len(txids)), id_dtype(len(addresses))

        tx_height = np.full(n_tx, -1, np.int32)
        tx_time = np.zeros(n_tx, np.int64)
        tx_coinbase = np.zeros(n_tx, bool)
        tx_coinjoin = np.zeros(n_tx, bool) if has_cj else None
        if t_id:
            ids = np.concatenate(t_id)
            tx_height[ids] = np.concatenate(t_height)
            tx_time[ids] = np.concatenate(t_time)
            tx_coinbase[ids] = np.concatenate(t_cb)
            if tx_coinjoin is not None:
                tx_coinjoin[ids] = np.concatenate(t_cj)

        otx, oidx = _cat(o_tx, np.int64), _cat(o_idx, np.int64)
        order = np.lexsort((oidx, otx))
        last = np.ones(len(order), bool)
        last[:-1] = (otx[order][1:] != otx[order][:-1]) | (oidx[order][1:] != oidx[order][:-1])
        order = order[last]
        otx, oidx = otx[order], oidx[order]
        out_value = _cat(o_val, np.int64)[order]
        out_address = _cat(o_addr, np.int64)[order].astype(addr_t)
        out_ptr = _ptr(otx, n_tx)

        itx, icb = _cat(i_tx, np.int64), _cat(i_cb, bool)
        tx_coinbase[itx[icb]] = True
        keep = np.flatnonzero(~icb)
        order = keep[np.lexsort((_cat(i_idx, np.int64)[keep], itx[keep]))]
        itx = itx[order]
        prev, pidx = _cat(i_prev, np.int64)[order], _cat(i_pidx, np.int64)[order]
        out_key = (otx << 32) | oidx
        in_key = (np.maximum(prev, 0) << 32) | (pidx & 0xFFFFFFFF)
        pos = np.minimum(np.searchsorted(out_key, in_key), max(len(out_key) - 1, 0))
        found = (prev >= 0) & (pidx >= 0) & (out_key[pos] == in_key if len(out_key) else False)
        in_output = np.where(found, pos, -1).astype(id_dtype(len(out_key)))
        spent_by = np.full(len(out_key), -1, tx_t)
        spent_by[pos[found]] = itx[found]
        in_address = _cat(i_addr, np.int64)[order]
        in_value = _cat(i_val, np.int64)[order]
        if len(out_key):
            in_address = np.where(found, out_address[pos], in_address)
            in_value = np.where(found, out_value[pos], in_value)
        in_address, tx_index = in_address.astype(addr_t), oidx.astype(np.int32)
        return cls(
            chain,
            txids,
            addresses,
            tx_height,
            tx_time,
            tx_coinbase,
            tx_coinjoin,
            out_ptr,
            tx_index,
            out_value,
            out_address,
            spent_by,
            _ptr(itx, n_tx),
            in_output,
            in_address,
            in_value,
        )

    # ---- sizes
    @property
    def n_tx(self) -> int:
        return len(self.tx_height)

    @property
    def n_outputs(self) -> int:
        return len(self.out_value)

    @property
    def n_inputs(self) -> int:
        return len(self.in_output)

    @property
    def n_addresses(self) -> int:
        return len(self.addresses)

    @property
    def n_edges(self) -> int:
        """Edges of the output graph: output → spending tx, and tx → output."""
        return self.n_inputs + self.n_outputs

    def array_nbytes(self) -> dict[str, int]:
        return _array_nbytes(self)

    @property
    def nbytes(self) -> int:
        """All arrays plus both string maps."""
        return sum(self.array_nbytes().values()) + self.txids.nbytes + self.addresses.nbytes

    # ---- string <-> id
    def tx_id(self, txid: str) -> int:
        found = self.txids.id_of(txid.strip().lower())
        if found < 0:
            raise KeyError(f"unknown txid {txid}")
        return found

    def txid(self, tx: int) -> str:
        return self.txids.string(tx)

    def address_id(self, address: str) -> int:
        """The id of ``address`` (raw or canonical form); KeyError when absent."""
        found = _lookup_address(self.addresses, self.chain, address.strip())
        if found < 0:
            raise KeyError(f"unknown address {address}")
        return found

    def address(self, ident: int) -> str | None:
        return None if ident < 0 else self.addresses.string(ident)

    def output_id(self, txid: str, index: int) -> int:
        tx = self.tx_id(txid)
        lo, hi = int(self.out_ptr[tx]), int(self.out_ptr[tx + 1])
        hit = np.flatnonzero(self.out_index[lo:hi] == index)
        if not hit.size:
            raise KeyError(f"unknown output {txid}:{index}")
        return lo + int(hit[0])

    # ---- structure
    def tx_outputs(self, tx: int) -> np.ndarray:
        return np.arange(self.out_ptr[tx], self.out_ptr[tx + 1])

    def tx_inputs(self, tx: int) -> np.ndarray:
        """The outputs ``tx`` spends (-1 for those outside the loaded range)."""
        return self.in_output[self.in_ptr[tx] : self.in_ptr[tx + 1]]

    def tx_input_addresses(self, tx: int) -> np.ndarray:
        return self.in_address[self.in_ptr[tx] : self.in_ptr[tx + 1]]

    def creating_tx(self, output: int) -> int:
        return int(np.searchsorted(self.out_ptr, output, side="right")) - 1

    def out_neighbours(self, output: int) -> np.ndarray:
        """Outputs of the transaction that spends ``output`` (empty when unspent)."""
        tx = int(self.spent_by[output])
        return self.tx_outputs(tx) if tx >= 0 else np.zeros(0, np.int64)

    def in_neighbours(self, output: int) -> np.ndarray:
        """Outputs spent by the transaction that created ``output`` (known ones only)."""
        spent = self.tx_inputs(self.creating_tx(output))
        return spent[spent >= 0]

    def input_counts(self) -> np.ndarray:
        return np.diff(self.in_ptr)

    def output_counts(self) -> np.ndarray:
        return np.diff(self.out_ptr)


# --------------------------------------------------------------------------- account graph


@dataclass(eq=False)
class AccountGraph:
    """Address → address transfer multigraph of an account chain, edges sorted by time."""

    chain: str | None
    addresses: Interner
    tokens: Interner  # token contract, "" for the native coin
    transfers: pa.Table  # the source rows, row e = edge e (exact amounts, tx hashes)
    src: np.ndarray
    dst: np.ndarray
    amount: np.ndarray  # float64 base units (exact value: ``exact_amount``)
    time: np.ndarray  # int64
    token: np.ndarray  # token id
    out_ptr: np.ndarray
    out_edges: np.ndarray  # edge ids grouped by sender, time order within
    in_ptr: np.ndarray
    in_edges: np.ndarray  # edge ids grouped by receiver, time order within

    @classmethod
    def from_table(
        cls, transfers: TableLike, token: str | None = None, chain: str | None = None
    ) -> AccountGraph:
        """Build from a ``transfers`` table; ``token`` keeps one token ("" = native coin)."""
        addresses, tokens = Interner(), Interner()
        kept, src, dst, tok, amount, time, block, log = [], [], [], [], [], [], [], []
        required = ("token", "sender", "receiver", "amount", "time")
        for b in _batches(transfers, "transfers", required):
            if token is not None:
                b = b.filter(pc.equal(b.column("token"), pa.scalar(token, b.column("token").type)))
            if not b.num_rows:
                continue
            kept.append(b)
            src.append(addresses.intern(b.column("sender")))
            dst.append(addresses.intern(b.column("receiver")))
            tok.append(tokens.intern(b.column("token")))
            amount.append(_amounts(b.column("amount")))
            time.append(_ints(b, "time", 0))
            block.append(_ints(b, "block_number", 0))
            log.append(_ints(b, "log_index", -1))
        addresses.freeze()
        tokens.freeze()
        n_addr = len(addresses)
        t = _cat(time, np.int64)
        order = np.lexsort((_cat(log, np.int64), _cat(block, np.int64), t))
        if kept:
            table = pa.Table.from_batches(kept)
            if np.any(order != np.arange(len(order))):
                table = table.take(pa.array(order))
        else:
            table = pa.table({c: pa.array([], pa.string()) for c in required})
        addr_t, edge_t = id_dtype(n_addr), id_dtype(len(order))
        s = _cat(src, np.int64)[order].astype(addr_t)
        d = _cat(dst, np.int64)[order].astype(addr_t)
        if (s < 0).any() or (d < 0).any():
            raise SanctraceError("transfers table: null sender or receiver")
        by_src = np.argsort(s, kind="stable").astype(edge_t)
        by_dst = np.argsort(d, kind="stable").astype(edge_t)
        amounts, token_ids = _cat(amount, np.float64)[order], _cat(tok, np.int64)[order]
        return cls(
            chain,
            addresses,
            tokens,
            table,
            s,
            d,
            amounts,
            t[order],
            token_ids.astype(id_dtype(len(tokens))),
            _ptr(s[by_src], n_addr),
            by_src,
            _ptr(d[by_dst], n_addr),
            by_dst,
        )

    @property
    def n_edges(self) -> int:
        return len(self.src)

    @property
    def n_addresses(self) -> int:
        return len(self.addresses)

    def array_nbytes(self) -> dict[str, int]:
        return _array_nbytes(self)

    def address_id(self, address: str) -> int:
        found = _lookup_address(self.addresses, self.chain, address.strip())
        if found < 0:
            raise KeyError(f"unknown address {address}")
        return found

    def address(self, ident: int) -> str:
        return self.addresses.string(ident)

    def out_edges_of(self, node: int) -> NDArray[np.signedinteger[Any]]:
        return self.out_edges[self.out_ptr[node] : self.out_ptr[node + 1]]

    def in_edges_of(self, node: int) -> NDArray[np.signedinteger[Any]]:
        return self.in_edges[self.in_ptr[node] : self.in_ptr[node + 1]]

    def out_neighbours(self, node: int) -> NDArray[np.signedinteger[Any]]:
        """Receivers of ``node``'s transfers, one per transfer, in time order."""
        receivers: NDArray[np.signedinteger[Any]] = self.dst[self.out_edges_of(node)]
        return receivers

    def in_neighbours(self, node: int) -> NDArray[np.signedinteger[Any]]:
        """Senders of the transfers ``node`` received, one per transfer, in time order."""
        senders: NDArray[np.signedinteger[Any]] = self.src[self.in_edges_of(node)]
        return senders

    def exact_amount(self, edge: int) -> int:
        return int(self.transfers.column("amount")[edge].as_py())

    def edge(self, edge: int) -> dict[str, Any]:
        row = {k: v[0] for k, v in self.transfers.slice(edge, 1).to_pydict().items()}
        return {**row, "amount": self.exact_amount(edge)}


def _amounts(col: pa.Array) -> NDArray[np.float64]:
    try:
        values = pc.cast(col, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SanctraceError(f"transfers table: column amount: {exc}") from None
    if values.null_count:
        raise SanctraceError("transfers table: column amount: null amount")
    out: NDArray[np.float64] = values.to_numpy(zero_copy_only=False)
    return out
