"""Bitcoin Core ``getblock <hash> 2`` (or 3) JSON: one block per file, a JSON array of blocks,
or JSON lines with one block per line. A JSON-RPC envelope (``{"result": …}``) is accepted.

Values are read as decimals and converted to exact satoshi; a value that is not a whole
number of satoshi is an error. Addresses are derived from ``scriptPubKey.hex`` when present
(the same rules as raw blocks), else taken from ``type`` and ``address``/``addresses``. The
merkle root is recomputed from the txids and checked against ``merkleroot``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from sanctrace.chain.records import Block, Transfer, Tx, TxIn, TxOut
from sanctrace.chain.script import NO_ADDRESS_TYPES, classify, normalize_type
from sanctrace.chain.sources.base import ChainParseError, open_chain_file
from sanctrace.chain.sources.btc_raw import MAX_MONEY, merkle_root

SATOSHI_PER_BTC = 100_000_000
MAX_BTC = MAX_MONEY // SATOSHI_PER_BTC
_NULL_TXID = "00" * 32
_HEX = frozenset("0123456789abcdef")


class _Bad(ValueError):
    """A malformed field; the caller adds file and location."""


def btc_to_satoshi(value: Any) -> int:
    """Exact satoshi of a BTC amount read as Decimal (or int); refuses fractions of a satoshi."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _Bad(f"value {value!r} is not a number")
    if not 0 <= value <= MAX_BTC:  # before any arithmetic: exponents can be huge
        raise _Bad(f"value {value} out of range")
    sats = value * SATOSHI_PER_BTC
    if isinstance(sats, Decimal):
        if sats != sats.to_integral_value():
            raise _Bad(f"value {value} is not a whole number of satoshi")
        sats = int(sats)
    return sats


def _hex32(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise _Bad(f"missing or non-text {key!r}")
    value = value.lower()
    if len(value) != 64 or not _HEX.issuperset(value):
        raise _Bad(f"{key} {value[:80]!r} is not a 32-byte hex hash")
    return value


def _int(obj: dict[str, Any], key: str, default: int | None = None) -> int:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad(f"missing or non-integer {key!r}")
    return value


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise _Bad(f"missing or non-list {key!r}")
    return value


def script_pubkey_address(spk: Any) -> tuple[str, str | None]:
    """(type, address) of a Core ``scriptPubKey`` object: from its hex when present."""
    if not isinstance(spk, dict):
        raise _Bad("scriptPubKey is not an object")
    script_hex = spk.get("hex")
    if isinstance(script_hex, str):
        try:
            return classify(bytes.fromhex(script_hex))
        except ValueError:
            raise _Bad(f"scriptPubKey hex {script_hex[:80]!r} is not hex") from None
    kind = normalize_type(spk.get("type"))
    if kind in NO_ADDRESS_TYPES:
        return kind, None
    address = spk.get("address")
    if address is None:
        addresses = spk.get("addresses")
        if isinstance(addresses, list) and len(addresses) == 1:
            address = addresses[0]
    return kind, address if isinstance(address, str) else None


def _tx(doc: Any) -> tuple[Tx, str]:
    if not isinstance(doc, dict):
        raise _Bad(
            "is not an object (getblock verbosity 1 lists txids only; use verbosity 2)"
            if isinstance(doc, str)
            else "is not an object"
        )
    txid = _hex32(doc, "txid")
    inputs: list[TxIn] = []
    witness = False
    for i, vin in enumerate(_list(doc, "vin")):
        try:
            if not isinstance(vin, dict):
                raise _Bad("is not an object")
            sequence = _int(vin, "sequence", 0xFFFFFFFF)
            witness = witness or bool(vin.get("txinwitness"))
            if "coinbase" in vin:
                inputs.append(TxIn(_NULL_TXID, 0xFFFFFFFF, sequence, True))
                continue
            txin = TxIn(_hex32(vin, "txid"), _int(vin, "vout"), sequence)
            prevout = vin.get("prevout")  # verbosity 3
            if isinstance(prevout, dict):
                txin.value = btc_to_satoshi(prevout.get("value"))
                txin.address = script_pubkey_address(prevout.get("scriptPubKey"))[1]
            inputs.append(txin)
        except _Bad as exc:
            raise _Bad(f"vin {i}: {exc}") from None
    outputs: list[TxOut] = []
    for n, vout in enumerate(_list(doc, "vout")):
        try:
            if not isinstance(vout, dict):
                raise _Bad("is not an object")
            if vout.get("n", n) != n:
                raise _Bad(f"n is {vout.get('n')!r}, expected {n}")
            spk = vout.get("scriptPubKey")
            kind, address = script_pubkey_address(spk)
            script_hex = spk.get("hex") if isinstance(spk, dict) else None
            script_hex = script_hex.lower() if isinstance(script_hex, str) else ""
            outputs.append(TxOut(btc_to_satoshi(vout.get("value")), kind, address, script_hex))
        except _Bad as exc:
            raise _Bad(f"vout {n}: {exc}") from None
    if not inputs or not outputs:
        raise _Bad("has no inputs or no outputs")
    size = _int(doc, "size", 0)
    vsize = doc.get("vsize")
    if not isinstance(vsize, int):
        vsize = (_int(doc, "weight", size * 4) + 3) // 4
    wtxid = doc.get("hash", txid)
    segwit = witness or (isinstance(wtxid, str) and wtxid.lower() != txid)
    tx = Tx(
        txid,
        inputs,
        outputs,
        _int(doc, "version", 1),
        _int(doc, "locktime", 0),
        size,
        vsize,
        segwit,
    )
    return tx, txid


def block_from_json(doc: Any) -> Block:
    """A Block from one parsed getblock result; raises ValueError naming the bad field."""
    if isinstance(doc, dict) and "tx" not in doc and isinstance(doc.get("result"), dict):
        doc = doc["result"]
    if not isinstance(doc, dict):
        raise _Bad("expected a JSON object (a getblock result)")
    block_hash = _hex32(doc, "hash")
    merkle = _hex32(doc, "merkleroot")
    prev = _hex32(doc, "previousblockhash") if doc.get("previousblockhash") else _NULL_TXID
    height = doc.get("height")
    if height is not None and (isinstance(height, bool) or not isinstance(height, int)):
        raise _Bad(f"height {height!r} is not an integer")
    txs: list[Tx] = []
    txids: list[bytes] = []
    for i, tx_doc in enumerate(_list(doc, "tx")):
        try:
            tx, txid = _tx(tx_doc)
        except _Bad as exc:
            raise _Bad(f"block {block_hash} tx {i}: {exc}") from None
        txs.append(tx)
        txids.append(bytes.fromhex(txid)[::-1])
    if not txs:
        raise _Bad(f"block {block_hash} has no transactions")
    if "nTx" in doc and doc["nTx"] != len(txs):
        raise _Bad(f"block {block_hash}: nTx is {doc['nTx']!r} but {len(txs)} transactions listed")
    computed = merkle_root(txids)[::-1].hex()
    if computed != merkle:
        raise _Bad(
            f"block {block_hash}: merkle root mismatch: merkleroot says {merkle}, txids give {computed}"
        )
    return Block("btc", height, block_hash, prev, merkle, _int(doc, "time"), txs)


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


class BtcCoreJsonFormat:
    """Bitcoin Core getblock verbosity 2/3 JSON (single document, array, or JSON lines)."""

    name = "btc_core_json"
    chain = "btc"
    description = "Bitcoin Core getblock <hash> 2 JSON: one block per file or JSON lines of blocks"

    def sniff(self, path: Path, head: bytes) -> bool:
        start = head.lstrip()[:1]
        return start in (b"{", b"[") and b'"merkleroot"' in head

    def read(self, paths: list[Path]) -> Iterator[Block | Transfer]:
        for path in paths:
            yield from _read_file(Path(path))


def _read_file(path: Path) -> Iterator[Block]:
    with open_chain_file(path) as raw:
        fh = io.TextIOWrapper(raw, encoding="utf-8-sig", newline=None)
        lineno = 0
        try:
            for line in fh:
                lineno += 1
                if line.strip():
                    break
            else:
                raise ChainParseError(path, None, "empty file")
            try:
                first = _loads(line)
            except (ValueError, RecursionError):
                first = None
            if first is None:
                # Not one document per line: the whole file is one document.
                text = line + fh.read()
                try:
                    doc = _loads(text)
                except json.JSONDecodeError as exc:
                    raise ChainParseError(
                        path, f"line {lineno + exc.lineno - 1}", f"bad JSON: {exc.msg}"
                    ) from None
                except (ValueError, RecursionError) as exc:
                    raise ChainParseError(path, None, f"bad JSON: {exc}") from None
                docs = doc if isinstance(doc, list) else [doc]
                for i, item in enumerate(docs):
                    yield _block(path, f"block {i}" if isinstance(doc, list) else None, item)
                return
            if isinstance(first, list):  # a JSON array of blocks on one line
                for i, item in enumerate(first):
                    yield _block(path, f"line {lineno} block {i}", item)
            else:
                yield _block(path, f"line {lineno}", first)
            for line in fh:
                lineno += 1
                if not line.strip():
                    continue
                try:
                    doc = _loads(line)
                except json.JSONDecodeError as exc:
                    raise ChainParseError(
                        path, f"line {lineno}", f"bad JSON: {exc.msg} (column {exc.colno})"
                    ) from None
                except (ValueError, RecursionError) as exc:
                    raise ChainParseError(path, f"line {lineno}", f"bad JSON: {exc}") from None
                yield _block(path, f"line {lineno}", doc)
        except UnicodeDecodeError as exc:
            raise ChainParseError(
                path, f"line {lineno + 1}", f"not UTF-8 text: {exc.reason}"
            ) from None
        except (OSError, EOFError) as exc:
            raise ChainParseError(
                path, f"line {lineno + 1}", f"cannot decompress or read: {exc}"
            ) from None


def _block(path: Path, where: str | None, doc: Any) -> Block:
    try:
        return block_from_json(doc)
    except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
        raise ChainParseError(path, where, str(exc)) from None


FORMAT = BtcCoreJsonFormat()
