"""On-demand history: a deposit's ancestors fetched from a node, cached in a chain store.

Bitcoin (a node with ``txindex``): the deposit and its ancestors up to ``hops`` levels, level by
level, with batched ``getrawtransaction <txid> 2`` calls (verbosity 2 gives each input's
prevout, so the last level's input values are known too). Transactions already in the cache
are not fetched again. Ethereum: the ``Transfer`` logs into the address and, level by level,
into the senders found, through ``eth_getLogs`` with the receivers as a topic filter (one call
per level), with the blocks' timestamps.

The cache is a chain store of its own (``<chain store>/ondemand``), so the exposure service can
screen on it exactly as on a followed chain; each fetch that found something new is one load.
Transactions are grouped into their blocks there, so its ``blocks`` rows list only the
fetched transactions, and a transaction's ``index`` is its place among them.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sanctrace import filesets
from sanctrace.chain.records import Block, Transfer, Tx
from sanctrace.chain.sources.btc_core_json import _tx as tx_from_json
from sanctrace.chainstore.store import ChainStore
from sanctrace.errors import NotFound, SanctraceError
from sanctrace.nodes.rpc import RpcClient, RpcError
from sanctrace.nodes.sources import TRANSFER_TOPIC, transfer_of_log

__all__ = ["BATCH", "ConeFetch", "fetch_btc_cone", "fetch_eth_history", "ondemand_store"]

BATCH = 100  # calls per JSON-RPC batch
_NOT_FOUND = -5  # Core: "No such mempool or blockchain transaction"


def ondemand_store(store: ChainStore) -> ChainStore:
    """The cache of fetched histories beside the followed chain store."""
    return ChainStore(store.root / "ondemand")


@dataclass
class ConeFetch:
    """What one on-demand fetch did."""

    chain: str
    subject: str
    hops: int
    fetched: int = 0  # transactions (or transfers) new to the cache
    cached: int = 0  # found in the cache
    missing: list[str] = field(default_factory=list)  # ancestors the node does not have
    levels: int = 0
    http_requests: int = 0
    rpc_calls: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def fetch_btc_cone(client: RpcClient, cache: ChainStore, txid: str, hops: int) -> ConeFetch:
    """Fetch transaction ``txid`` and its ancestors up to ``hops`` levels into ``cache``.

    ``NotFound`` when the node does not know the transaction itself."""
    txid = txid.lower()
    started, calls0, methods0 = time.perf_counter(), client.calls, client.methods
    result = ConeFetch("btc", txid, hops)
    parents = _cached_parents(cache)
    tip: int | None = None
    fetched: dict[str, tuple[Tx, str, int | None, int]] = {}
    level, seen = {txid}, {txid}
    for depth in range(hops + 1):
        if not level:
            break
        result.levels = depth + 1
        wanted = sorted(t for t in level if t not in parents)
        result.cached += len(level) - len(wanted)
        if wanted and tip is None:
            tip = int(client.call("getblockcount"))
        for chunk in _chunks(wanted, BATCH):
            answers = client.batch([("getrawtransaction", [t, 2]) for t in chunk])
            for t, doc in zip(chunk, answers, strict=True):
                if isinstance(doc, RpcError):
                    if doc.code != _NOT_FOUND:
                        raise doc
                    if depth == 0:
                        raise NotFound(
                            f"transaction {t}: the btc node does not know it (is txindex on?)"
                        )
                    result.missing.append(t)
                    continue
                tx, block_hash, height, when = _tx_of(doc, t, tip)
                fetched[t] = (tx, block_hash, height, when)
                parents[t] = [i.prev_txid for i in tx.inputs if not i.coinbase]
        following: set[str] = set()
        for t in level:
            for parent in parents.get(t, []):
                if parent not in seen:
                    seen.add(parent)
                    following.add(parent)
        level = following
    result.fetched = len(fetched)
    if fetched:
        _write(cache, "btc", txid, hops, _blocks(fetched))
    result.http_requests = client.calls - calls0
    result.rpc_calls = client.methods - methods0
    result.seconds = time.perf_counter() - started
    return result


def _tx_of(doc: Any, txid: str, tip: int | None) -> tuple[Tx, str, int | None, int]:
    try:
        tx, got = tx_from_json(doc)
    except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
        raise SanctraceError(f"btc transaction {txid}: {exc}") from None
    if got != txid:
        raise SanctraceError(f"btc transaction {txid}: the node answered {got}")
    block_hash = str(doc.get("blockhash") or "")
    confirmations = doc.get("confirmations")
    height = None
    if tip is not None and isinstance(confirmations, int) and confirmations > 0:
        height = tip - confirmations + 1
    when = doc.get("blocktime") or doc.get("time") or 0
    return tx, block_hash, height, int(when)


def _blocks(fetched: dict[str, tuple[Tx, str, int | None, int]]) -> list[Block]:
    grouped: dict[str, list[tuple[Tx, int | None, int]]] = defaultdict(list)
    for tx, block_hash, height, when in fetched.values():
        grouped[block_hash].append((tx, height, when))
    blocks = []
    for block_hash, items in sorted(grouped.items(), key=lambda kv: kv[1][0][1] or 0):
        _tx0, height, when = items[0]
        txs = [tx for tx, _h, _w in items]
        blocks.append(Block("btc", height, block_hash, "", "", when, txs))
    return blocks


def _cached_parents(cache: ChainStore) -> dict[str, list[str]]:
    """txid → the txids its inputs spend, of every transaction in the cache."""
    if not cache.loads("btc"):
        return {}
    known: dict[str, list[str]] = {
        t: [] for t in cache.table("btc", "transactions", ["txid"])["txid"].to_pylist()
    }
    inputs = cache.table("btc", "inputs", ["txid", "prev_txid", "coinbase"])
    for t, prev, coinbase in zip(
        inputs["txid"].to_pylist(),
        inputs["prev_txid"].to_pylist(),
        inputs["coinbase"].to_pylist(),
        strict=True,
    ):
        if not coinbase:
            known.setdefault(t, []).append(prev)
    return known


def fetch_eth_history(
    client: RpcClient,
    cache: ChainStore,
    address: str,
    hops: int,
    *,
    chain: str = "eth",
    from_block: int = 0,
    to_block: int | None = None,
) -> ConeFetch:
    """Fetch the token transfers into ``address`` and, up to ``hops`` levels, into their
    senders, between ``from_block`` and ``to_block`` (default: the node's tip), into ``cache``."""
    address = address.lower()
    started, calls0, methods0 = time.perf_counter(), client.calls, client.methods
    result = ConeFetch(chain, address, hops)
    have = _cached_transfers(cache, chain)
    last = to_block if to_block is not None else int(str(client.call("eth_blockNumber")), 16)
    logs: list[dict[str, Any]] = []
    level, seen = {address}, {address}
    for depth in range(max(1, hops)):
        if not level:
            break
        result.levels = depth + 1
        receivers = ["0x" + "0" * 24 + a.removeprefix("0x") for a in sorted(level)]
        found = (
            client.call(
                "eth_getLogs",
                {
                    "fromBlock": hex(from_block),
                    "toBlock": hex(last),
                    "topics": [TRANSFER_TOPIC, None, receivers],
                },
            )
            or []
        )
        following: set[str] = set()
        for entry in found:
            topics = entry.get("topics") or []
            if len(topics) < 3 or entry.get("removed"):
                continue
            logs.append(entry)
            sender = "0x" + str(topics[1])[-40:].lower()
            if sender not in seen:
                seen.add(sender)
                following.add(sender)
        level = following
    numbers = sorted({str(e.get("blockNumber")) for e in logs})
    times: dict[str, int] = {}
    for chunk in _chunks(numbers, BATCH):
        for number, block in zip(
            chunk, client.batch([("eth_getBlockByNumber", [n, False]) for n in chunk]), strict=True
        ):
            if isinstance(block, RpcError) or block is None:
                raise SanctraceError(f"{chain} block {number}: the node has none")
            times[number] = int(str(block["timestamp"]), 16)
    transfers: list[Transfer] = []
    for entry in logs:
        transfer = transfer_of_log(chain, entry, times[str(entry.get("blockNumber"))])
        if transfer is None:
            continue
        key = (transfer.tx_hash, transfer.log_index)
        if key in have:
            result.cached += 1
            continue
        have.add(key)
        transfers.append(transfer)
    result.fetched = len(transfers)
    if transfers:
        _write(cache, chain, address, hops, transfers)
    result.http_requests = client.calls - calls0
    result.rpc_calls = client.methods - methods0
    result.seconds = time.perf_counter() - started
    return result


def _cached_transfers(cache: ChainStore, chain: str) -> set[tuple[str, int]]:
    if not cache.loads(chain):
        return set()
    table = cache.table(chain, "transfers", ["tx_hash", "log_index"])
    return set(zip(table["tx_hash"].to_pylist(), table["log_index"].to_pylist(), strict=True))


def _write(cache: ChainStore, chain: str, subject: str, hops: int, records: list[Any]) -> None:
    """One load of what a fetch found, identified by its transactions (or transfers)."""
    keys: list[str] = []
    for record in records:
        if isinstance(record, Transfer):
            keys.append(f"{record.tx_hash}:{record.log_index}")
        else:
            keys.extend(tx.txid for tx in record.txs)
    digest = hashlib.sha256("\0".join(sorted(keys)).encode()).hexdigest()
    sha = filesets.identity("chain-ondemand", [chain, subject, str(hops)], [digest])
    cache.write(chain, records, [], sha, fmt=f"{chain}_ondemand", extra={"source": "ondemand"})


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
