"""Blocks from a node, as the records the chain store writes.

``BitcoinNode``: ``getblockchaininfo``, ``getblockhash`` and ``getblock <hash> 3`` (verbosity 3
names the address and value of every spent output), converted by the Core JSON reader
(``chain.sources.btc_core_json``), which also checks the merkle root. ``EthereumNode``:
``eth_blockNumber``, ``eth_getBlockByNumber`` with full transactions (native-coin transfers,
failed ones left out through ``eth_getBlockReceipts`` where the node has it) and
``eth_getLogs`` for ERC-20/721 ``Transfer`` events, decoded as ethereum-etl does: topics and
data words together must make four 32-byte words.

``fetch(first, count)`` answers ``FetchedBlock``s in height order, each with its hash and its
parent's hash, so the follower can check that they link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sanctrace.chain.records import Block, Transfer
from sanctrace.chain.sources.btc_core_json import block_from_json
from sanctrace.errors import SanctraceError
from sanctrace.nodes.rpc import RpcClient, RpcError

__all__ = [
    "TRANSFER_TOPIC",
    "BitcoinNode",
    "ChainNode",
    "EthereumNode",
    "FetchedBlock",
    "NodeChanged",
    "transfer_of_log",
]

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


class NodeChanged(SanctraceError):
    """The node's chain changed while a batch was fetched (a reorganisation in progress)."""


@dataclass
class FetchedBlock:
    """One block of a batch: height, hash, parent hash and its records."""

    height: int
    hash: str
    prev_hash: str
    records: list[Block | Transfer] = field(default_factory=list)
    txids: list[str] = field(default_factory=list)


class ChainNode(Protocol):
    """What the follower needs of a node."""

    chain: str
    fmt: str
    client: RpcClient

    def tip(self) -> int:
        """The node's best height."""
        ...

    def block_hash(self, height: int) -> str | None:
        """The hash of the node's block at ``height``; None above its tip."""
        ...

    def fetch(self, first: int, count: int) -> list[FetchedBlock]:
        """Blocks ``first`` … ``first + count - 1``, linked, in height order."""
        ...


_OUT_OF_RANGE = (-8, -1)  # Core: "Block height out of range"


class BitcoinNode:
    """Bitcoin Core (or a compatible node) through its JSON-RPC."""

    chain = "btc"
    fmt = "btc_rpc"

    def __init__(self, client: RpcClient) -> None:
        self.client = client

    def tip(self) -> int:
        info = self.client.call("getblockchaininfo")
        return int(info["blocks"])

    def block_hash(self, height: int) -> str | None:
        try:
            return str(self.client.call("getblockhash", height))
        except RpcError as exc:
            if exc.code in _OUT_OF_RANGE:
                return None
            raise

    def fetch(self, first: int, count: int) -> list[FetchedBlock]:
        hashes = self.client.batch([("getblockhash", [h]) for h in range(first, first + count)])
        blocks: list[FetchedBlock] = []
        for offset, block_hash in enumerate(hashes):
            if isinstance(block_hash, RpcError):
                raise NodeChanged(f"block {first + offset}: {block_hash.reason}")
            doc = self.client.call("getblock", block_hash, 3)
            try:
                block = block_from_json(doc)
            except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
                raise SanctraceError(f"btc block {first + offset}: {exc}") from None
            if block.hash != block_hash:
                raise NodeChanged(f"block {first + offset}: asked {block_hash}, got {block.hash}")
            block.height = first + offset
            blocks.append(
                FetchedBlock(
                    block.height, block.hash, block.prev_hash, [block], [t.txid for t in block.txs]
                )
            )
        return blocks


def _hex_int(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        return int(value, 16)
    raise SanctraceError(f"{what}: {str(value)[:40]!r} is not a hex quantity")


def _evm_address(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) != 42 or not value.startswith("0x"):
        raise SanctraceError(f"{what}: {str(value)[:50]!r} is not an address")
    return value.lower()


def transfer_of_log(chain: str, log: dict[str, Any], time: int) -> Transfer | None:
    """The token transfer a ``Transfer`` log records, or None when its words do not make one."""
    topics = log.get("topics") or []
    if not topics or str(topics[0]).lower() != TRANSFER_TOPIC:
        return None
    data = str(log.get("data") or "0x").removeprefix("0x")
    words = [str(t).removeprefix("0x") for t in topics] + [
        data[i : i + 64] for i in range(0, len(data), 64)
    ]
    if len(words) != 4 or any(len(w) != 64 for w in words):
        return None
    return Transfer(
        chain=chain,
        token=_evm_address(log.get("address"), "log address"),
        sender="0x" + words[1][24:].lower(),
        receiver="0x" + words[2][24:].lower(),
        amount=int(words[3], 16),
        tx_hash=str(log.get("transactionHash", "")).lower(),
        log_index=_hex_int(log.get("logIndex"), "logIndex"),
        block_number=_hex_int(log.get("blockNumber"), "blockNumber"),
        time=time,
    )


class EthereumNode:
    """An Ethereum (or EVM) node through the standard JSON-RPC."""

    fmt = "eth_rpc"

    def __init__(self, client: RpcClient, chain: str = "eth") -> None:
        self.client = client
        self.chain = chain
        self._receipts = True  # eth_getBlockReceipts until the node says it has none

    def tip(self) -> int:
        return _hex_int(self.client.call("eth_blockNumber"), "eth_blockNumber")

    def block_hash(self, height: int) -> str | None:
        block = self.client.call("eth_getBlockByNumber", hex(height), False)
        return None if block is None else str(block["hash"]).lower()

    def fetch(self, first: int, count: int) -> list[FetchedBlock]:
        last = first + count - 1
        docs = self.client.batch(
            [("eth_getBlockByNumber", [hex(h), True]) for h in range(first, last + 1)]
        )
        logs = self.client.call(
            "eth_getLogs",
            {"fromBlock": hex(first), "toBlock": hex(last), "topics": [TRANSFER_TOPIC]},
        )
        blocks: list[FetchedBlock] = []
        by_hash: dict[str, FetchedBlock] = {}
        for offset, doc in enumerate(docs):
            height = first + offset
            if isinstance(doc, RpcError) or doc is None:
                raise NodeChanged(f"block {height}: the node has none")
            block = FetchedBlock(height, str(doc["hash"]).lower(), str(doc["parentHash"]).lower())
            block.records.extend(self._native(doc, height))
            block.txids = [str(t["hash"]).lower() for t in doc.get("transactions") or []]
            blocks.append(block)
            by_hash[block.hash] = block
        times = {
            b.hash: _hex_int(d["timestamp"], "timestamp") for b, d in zip(blocks, docs, strict=True)
        }
        for log in logs or []:
            if log.get("removed"):
                continue
            owner = by_hash.get(str(log.get("blockHash", "")).lower())
            if owner is None:
                raise NodeChanged(f"a log of block {log.get('blockNumber')} from another branch")
            transfer = transfer_of_log(self.chain, log, times[owner.hash])
            if transfer is not None:
                owner.records.append(transfer)
        for block in blocks:  # log order: native transfers first, then logs by index
            block.records.sort(key=lambda t: t.log_index if isinstance(t, Transfer) else -2)
        return blocks

    def _native(self, doc: dict[str, Any], height: int) -> list[Transfer]:
        time = _hex_int(doc["timestamp"], "timestamp")
        paying = [
            t for t in doc.get("transactions") or [] if _hex_int(t.get("value", "0x0"), "value")
        ]
        if not paying:
            return []
        status: dict[str, tuple[int, str | None]] = {}
        if self._receipts:
            try:
                for r in self.client.call("eth_getBlockReceipts", hex(height)) or []:
                    ok = _hex_int(r.get("status", "0x1"), "status")
                    status[str(r["transactionHash"]).lower()] = (ok, r.get("contractAddress"))
            except RpcError as exc:
                if exc.code != -32601:  # method not found: count every transfer
                    raise
                self._receipts = False
        found: list[Transfer] = []
        for tx in paying:
            tx_hash = str(tx["hash"]).lower()
            ok, contract = status.get(tx_hash, (1, None))
            if not ok:
                continue
            receiver = tx.get("to") or contract or ""
            found.append(
                Transfer(
                    chain=self.chain,
                    token="",
                    sender=_evm_address(tx.get("from"), "from"),
                    receiver=receiver.lower(),
                    amount=_hex_int(tx["value"], "value"),
                    tx_hash=tx_hash,
                    log_index=-1,
                    block_number=height,
                    time=time,
                )
            )
        return found
