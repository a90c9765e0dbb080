"""TRON TRC-20 (and native TRX) transfers, one row per transfer: format ``trx_trc20``.

No standard export exists, so sanctrace defines this layout. Files are JSON lines, CSV or
Parquet (told from the first bytes, as in ``eth_etl``; ``.gz``/``.bz2`` are decompressed).
Columns, with accepted alternative names in brackets:

============================  =====================================================================
``transaction_id``            transaction hash: 64 hex digits, ``0x`` optional (``transaction_hash``,
                              ``tx_hash``, ``hash``); stored lower case without ``0x``
``block_number``              block height, integer (``block``, ``block_num``)
``block_timestamp``           block time: integer milliseconds (TRON's convention; integers below
                              10**11 are taken as seconds) or an ISO time (``timestamp``)
``contract_address``          TRC-20 token contract (``token_address``); empty for a native TRX
                              transfer, whose amount is in sun
``from_address``              sender (``from``)
``to_address``                receiver (``to``)
``value``                     exact integer amount in the token's base units: a JSON integer or a
                              decimal string, never a float (``amount``)
``log_index``                 position of the Transfer event in the transaction (``event_index``);
                              may be omitted only for native TRX transfers (then -1)
============================  =====================================================================

Addresses may be base58check (``T…``), hex with the ``41`` prefix (``41…``, 42 digits) or EVM-style
hex of the 20-byte account (``0x…``, as TRON event logs print them); all are stored as base58
(``chain.addresses.normalise("trx", …)``). A malformed address, hash or amount stops the load
with the file and line. Example (JSON lines)::

    {"transaction_id": "9f3c…", "block_number": 51234567, "block_timestamp": 1684000000000,
     "contract_address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "from_address": "T…",
     "to_address": "41…", "value": "1500000", "log_index": 0}
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sanctrace.chain.addresses import parse_address
from sanctrace.chain.records import Transfer
from sanctrace.chain.sources.base import ChainParseError
from sanctrace.chain.sources.eth_etl import (
    Row,
    get,
    iter_rows,
    parse_amount,
    parse_int,
    parse_time,
    peek_row,
)

TX_ID = ("transaction_id", "transaction_hash", "tx_hash", "hash")
BLOCK = ("block_number", "block", "block_num")
TIME = ("block_timestamp", "timestamp")
TOKEN = ("contract_address", "token_address")
SENDER = ("from_address", "from")
RECEIVER = ("to_address", "to")
VALUE = ("value", "amount")
LOG_INDEX = ("log_index", "event_index")

_TX_ID = re.compile(r"[0-9a-f]{64}")
_EVM_STYLE = re.compile(r"0[xX][0-9a-fA-F]{40}")


@lru_cache(maxsize=1 << 16)
def tron_address(raw: str) -> str | None:
    """The base58check form of a TRON address (``T…``, ``41…`` or ``0x…``); None if invalid."""
    text = raw.strip()
    if _EVM_STYLE.fullmatch(text):
        text = "41" + text[2:]
    parsed = parse_address("TRX", text)
    return parsed.address if parsed.valid and parsed.chain == "trx" else None


def _address(row: Row, names: tuple[str, ...], path: Path, where: str) -> str:
    value = get(row, names)
    if value is None or value == "":
        raise ChainParseError(path, where, f"{names[0]} is missing")
    address = tron_address(str(value))
    if address is None:
        raise ChainParseError(path, where, f"{names[0]} {str(value)[:50]!r} is not a TRON address")
    return address


def _tx_id(value: object, path: Path, where: str) -> str:
    text = str(value).strip().lower() if value is not None else ""
    text = text.removeprefix("0x")
    if not _TX_ID.fullmatch(text):
        raise ChainParseError(
            path, where, f"{TX_ID[0]} {str(value)[:70]!r} is not a 64-digit hex hash"
        )
    return text


def _has(keys: set[str], names: tuple[str, ...]) -> bool:
    return any(name in keys for name in names)


@dataclass(frozen=True)
class TronTransfers:
    """TRC-20 / TRX transfers in the layout of this module's docstring."""

    chain: str = "trx"
    name: str = "trx_trc20"
    description: str = "TRON TRC-20 / TRX transfers (JSON lines, CSV, Parquet; see tron.py)"

    def sniff(self, path: Path, head: bytes) -> bool:
        keys, row = peek_row(path, head)
        needed = (TX_ID, BLOCK, TIME, TOKEN, SENDER, RECEIVER, VALUE)
        if not all(_has(keys, names) for names in needed):
            return False
        if row is not None:
            # Native forms only: an EVM export's 0x addresses would also convert.
            sender = str(get(row, SENDER) or "").strip()
            native = sender[:1] == "T" or sender[:2] == "41"
            return native and tron_address(sender) is not None
        # Without a first row, only TRON's own column names tell it from an EVM export.
        return "transaction_id" in keys or "contract_address" in keys

    def read(self, paths: list[Path]) -> Iterator[Transfer]:
        for path in paths:
            for where, row in iter_rows(path):
                token_raw = get(row, TOKEN)
                token = "" if token_raw in (None, "") else _address(row, TOKEN, path, where)
                index = get(row, LOG_INDEX)
                if index in (None, "") and not token:
                    log_index = -1
                else:
                    log_index = parse_int(index, path, where, LOG_INDEX[0])
                yield Transfer(
                    chain=self.chain,
                    token=token,
                    sender=_address(row, SENDER, path, where),
                    receiver=_address(row, RECEIVER, path, where),
                    amount=parse_amount(get(row, VALUE), path, where, VALUE[0]),
                    tx_hash=_tx_id(get(row, TX_ID), path, where),
                    log_index=log_index,
                    block_number=parse_int(get(row, BLOCK), path, where, BLOCK[0]),
                    time=parse_time(get(row, TIME), path, where, TIME[0], millis=True),
                )


FORMAT = TronTransfers()
