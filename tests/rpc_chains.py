"""The test node's chains: real blocks as Bitcoin Core and Ethereum JSON-RPC documents, and
synthetic blocks, forks and ancestor trees built on them (served by ``tests/rpc_node.py``)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sanctrace.chain.records import Block
from sanctrace.chain.sources.btc_raw import FORMAT as RAW
from sanctrace.chain.sources.btc_raw import merkle_root

COIN = 100_000_000
_NUMBER = re.compile(r'"@num:([0-9.]+)"')


def btc(sats: int) -> str:
    """A satoshi amount as Core prints it (a placeholder turned into a JSON number)."""
    return f"@num:{Decimal(sats) / COIN:.8f}"


def dumps(doc: Any) -> bytes:
    return _NUMBER.sub(r"\1", json.dumps(doc)).encode()


def fake_hash(*parts: object) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()


def p2pkh_script(seed: object) -> str:
    """The output script of a pay-to-pubkey-hash address derived from ``seed``."""
    return "76a914" + hashlib.sha256(f"addr{seed}".encode()).hexdigest()[:40] + "88ac"


# --------------------------------------------------------------------------- bitcoin


@dataclass
class BtcChain:
    """The node's best chain (block documents at verbosity 3) and its transaction index."""

    blocks: list[dict[str, Any]] = field(default_factory=list)  # by height - base
    base: int = 0  # height of blocks[0]
    outputs: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    @property
    def tip(self) -> int:
        return self.base + len(self.blocks) - 1

    def at(self, height: int) -> dict[str, Any] | None:
        i = height - self.base
        return self.blocks[i] if 0 <= i < len(self.blocks) else None

    def by_hash(self, block_hash: str) -> dict[str, Any] | None:
        return next((b for b in self.blocks if b["hash"] == block_hash), None)

    def tx(self, txid: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        for block in self.blocks:
            for tx in block["tx"]:
                if tx["txid"] == txid:
                    return tx, block
        return None

    def append(self, doc: dict[str, Any]) -> None:
        """Add a block on the tip, filling its inputs' prevouts from the chain's outputs."""
        if not self.blocks:
            self.base = doc["height"]
        else:
            doc["previousblockhash"] = self.blocks[-1]["hash"]
            doc["height"] = self.tip + 1
        for tx in doc["tx"]:
            for vin in tx["vin"]:
                spent = self.outputs.get((vin.get("txid", ""), vin.get("vout", -1)))
                if spent is not None and "prevout" not in vin:
                    vin["prevout"] = spent
            for vout in tx["vout"]:
                self.outputs[(tx["txid"], vout["n"])] = {
                    "value": vout["value"],
                    "scriptPubKey": vout["scriptPubKey"],
                }
        self.blocks.append(doc)

    def fork(self, height: int, docs: list[dict[str, Any]]) -> None:
        """Replace the blocks from ``height`` on by ``docs`` (a reorganisation)."""
        del self.blocks[height - self.base :]
        for doc in docs:
            self.append(doc)


def block_doc(block: Block) -> dict[str, Any]:
    """A sanctrace block record as ``getblock <hash> 3`` prints it (without prevouts)."""
    txs = []
    for tx in block.txs:
        vin: list[dict[str, Any]] = []
        for i in tx.inputs:
            if i.coinbase:
                vin.append({"coinbase": "00", "sequence": i.sequence})
            else:
                vin.append({"txid": i.prev_txid, "vout": i.prev_index, "sequence": i.sequence})
        vout = [
            {"value": btc(o.value), "n": n, "scriptPubKey": {"hex": o.script_hex}}
            for n, o in enumerate(tx.outputs)
        ]
        txs.append(
            {
                "txid": tx.txid,
                "hash": tx.txid,
                "version": tx.version,
                "locktime": tx.locktime,
                "size": tx.size,
                "vsize": tx.vsize,
                "vin": vin,
                "vout": vout,
            }
        )
    return {
        "hash": block.hash,
        "height": block.height,
        "previousblockhash": block.prev_hash,
        "merkleroot": block.merkle_root,
        "time": block.time,
        "nTx": len(txs),
        "tx": txs,
    }


def read_raw(path: Path) -> list[Block]:
    return [b for b in RAW.read([path]) if isinstance(b, Block)]


def synthetic_tx(
    salt: object, spends: list[tuple[str, int]], values: list[int], coinbase: bool = False
) -> dict[str, Any]:
    """A transaction document (its txid made up from ``salt``)."""
    vin: list[dict[str, Any]] = (
        [{"coinbase": "00", "sequence": 0xFFFFFFFF}]
        if coinbase
        else [{"txid": t, "vout": n, "sequence": 0xFFFFFFFF} for t, n in spends]
    )
    vout = [
        {"value": btc(v), "n": n, "scriptPubKey": {"hex": p2pkh_script(f"{salt}/{n}")}}
        for n, v in enumerate(values)
    ]
    txid = fake_hash("tx", salt)
    return {
        "txid": txid,
        "hash": txid,
        "version": 1,
        "locktime": 0,
        "size": 200,
        "vsize": 200,
        "vin": vin,
        "vout": vout,
    }


def synthetic_block(salt: object, txs: list[dict[str, Any]], time: int = 1_300_000_000) -> dict:
    """A block document over ``txs`` (a coinbase is put first), its merkle root computed."""
    coinbase = synthetic_tx(f"cb-{salt}", [], [50 * COIN], coinbase=True)
    every = [coinbase, *txs]
    root = merkle_root([bytes.fromhex(t["txid"])[::-1] for t in every])[::-1].hex()
    return {
        "hash": fake_hash("block", salt),
        "height": 0,
        "previousblockhash": "00" * 32,
        "merkleroot": root,
        "time": time,
        "nTx": len(every),
        "tx": every,
    }


# -------------------------------------------------------------------------- ethereum


@dataclass
class EthChain:
    """Blocks (full transactions), receipts and logs, by number."""

    blocks: dict[int, dict[str, Any]] = field(default_factory=dict)
    receipts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tip(self) -> int:
        return max(self.blocks)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def eth_chain(folder: Path) -> EthChain:
    """The ethereum-etl export of ``folder`` as the node would answer it."""
    chain = EthChain()
    txs = _lines(folder / "expected_transactions.json")
    for b in _lines(folder / "expected_blocks.json"):
        number = b["number"]
        mine = sorted(
            (t for t in txs if t["block_number"] == number), key=lambda t: t["transaction_index"]
        )
        chain.blocks[number] = {
            "number": hex(number),
            "hash": b["hash"],
            "parentHash": b["parent_hash"],
            "timestamp": hex(b["timestamp"]),
            "transactions": [
                {
                    "hash": t["hash"],
                    "from": t["from_address"],
                    "to": t["to_address"],
                    "value": hex(int(t["value"])),
                    "blockNumber": hex(number),
                    "blockHash": b["hash"],
                    "transactionIndex": hex(t["transaction_index"]),
                }
                for t in mine
            ],
        }
        chain.receipts[number] = [
            {
                "transactionHash": t["hash"],
                "status": hex(t["receipt_status"]) if t["receipt_status"] is not None else "0x1",
                "contractAddress": t["receipt_contract_address"],
            }
            for t in mine
        ]
    for log in _lines(folder / "expected_logs.json"):
        chain.logs.append(
            {
                "address": log["address"],
                "topics": log["topics"],
                "data": log["data"],
                "blockNumber": hex(log["block_number"]),
                "blockHash": log["block_hash"],
                "transactionHash": log["transaction_hash"],
                "transactionIndex": hex(log["transaction_index"]),
                "logIndex": hex(log["log_index"]),
                "removed": False,
            }
        )
    return chain


# ----------------------------------------------------------------------------- chains


def early_chain(shared_data: Path) -> BtcChain:
    """Genesis and mainnet blocks 1–255 (genesis is the first block of ``blk_0_to_4``)."""
    raw = shared_data / "chain" / "btc" / "raw_blocks"
    genesis = read_raw(raw / "blk_0_to_4.dat.bz2")[0]
    chain = BtcChain()
    for block in [genesis, *read_raw(raw / "blocks1-256.bz2")]:
        chain.append(block_doc(block))
    return chain


def single_block_chain(path: Path) -> BtcChain:
    """One real block (its BIP-34 height) as the whole served chain; its parents unknown."""
    (block,) = read_raw(path)
    chain = BtcChain()
    chain.append(block_doc(block))
    return chain


def address_of(script_hex: str) -> str:
    from sanctrace.chain.script import classify

    address = classify(bytes.fromhex(script_hex))[1]
    assert address is not None
    return address


def cone(
    chain: BtcChain, depth: int = 5, fan: int = 3, salt: str = "cone", pay_to: str | None = None
) -> tuple[str, dict[int, list[dict[str, Any]]]]:
    """Append an ancestor tree to ``chain``: a deposit (level 0) spending ``fan`` outputs of
    level 1, each of those ``fan`` of level 2 … down to ``depth``, funded by one transaction
    (level ``depth + 1``) that spends the coinbase of real block 100; one block per level.
    ``pay_to`` (an output script) replaces the script of level 1's first output. Answers the
    deposit's txid and the levels' transactions."""
    n = fan**depth
    unit = 50 * COIN // n
    coinbase = chain.at(100)["tx"][0]["txid"]
    fund = synthetic_tx(f"{salt}-fund", [(coinbase, 0)], [unit] * n)
    levels = {depth + 1: [fund]}
    level = [synthetic_tx(f"{salt}-{depth}-{i}", [(fund["txid"], i)], [unit]) for i in range(n)]
    levels[depth] = level
    for d in range(depth - 1, -1, -1):
        value = unit * fan ** (depth - d)
        level = [
            synthetic_tx(
                f"{salt}-{d}-{i}", [(t["txid"], 0) for t in level[i * fan : (i + 1) * fan]], [value]
            )
            for i in range(len(level) // fan)
        ]
        levels[d] = level
    if pay_to is not None:
        first = levels[1][0]
        first["vout"][0]["scriptPubKey"] = {"hex": pay_to}
        # The txid is made up, so changing the output keeps it: the chain stays consistent.
    for d in range(depth + 1, -1, -1):
        chain.append(synthetic_block(f"{salt}-block-{d}", levels[d], 1_300_000_000 + depth - d))
    return levels[0][0]["txid"], levels


def p2pkh_of(address: str) -> str:
    """The output script paying a base58 P2PKH address."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    number = 0
    for char in address:
        number = number * 58 + alphabet.index(char)
    raw = number.to_bytes(25, "big")
    return "76a914" + raw[1:21].hex() + "88ac"
