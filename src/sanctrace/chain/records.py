"""Lean records that chain readers stream and the chain store writes as Parquet.

UTXO chains (btc and its forks): ``Block`` → ``Tx`` → ``TxIn`` / ``TxOut``. Account chains
(eth, trx, …): ``Transfer``, one per native-coin or token movement. Amounts are exact integers
in the chain's base unit (satoshi, wei, sun, token base units); token amounts can exceed 64
bits, so they travel as Python ints and are stored as decimal text.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class TxIn:
    prev_txid: str  # hex, display order; "00…00" for a coinbase
    prev_index: int  # 0xFFFFFFFF for a coinbase
    sequence: int
    coinbase: bool = False
    value: int | None = None  # known when the source says (BigQuery, getblock v3) or resolved
    address: str | None = None


@dataclass(slots=True)
class TxOut:
    value: int  # satoshi
    script_type: str  # p2pkh p2sh p2wpkh p2wsh p2tr p2pk multisig nulldata nonstandard
    address: str | None  # None for nulldata / nonstandard / bare multisig
    script_hex: str = ""


@dataclass(slots=True)
class Tx:
    txid: str  # hex, display order, computed from the bytes when the source has them
    inputs: list[TxIn] = field(default_factory=list)
    outputs: list[TxOut] = field(default_factory=list)
    version: int = 1
    locktime: int = 0
    size: int = 0
    vsize: int = 0
    segwit: bool = False

    @property
    def coinbase(self) -> bool:
        return bool(self.inputs) and self.inputs[0].coinbase


@dataclass(slots=True)
class Block:
    chain: str  # "btc"
    height: int | None  # None when the source does not say (raw blocks before linking)
    hash: str  # hex, display order
    prev_hash: str
    merkle_root: str
    time: int  # unix seconds
    txs: list[Tx] = field(default_factory=list)


@dataclass(slots=True)
class Transfer:
    """One movement of value on an account chain."""

    chain: str  # eth, trx, bsc …
    token: str  # token contract address (canonical), or "" for the native coin
    sender: str
    receiver: str
    amount: int  # base units, exact
    tx_hash: str
    log_index: int  # -1 for native-coin transfers
    block_number: int
    time: int  # unix seconds
