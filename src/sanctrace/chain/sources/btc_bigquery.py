"""The public BigQuery ``crypto_bitcoin.transactions`` layout, as JSON lines or Parquet.

One row per transaction with nested ``inputs`` and ``outputs`` (bitcoin-etl's layout). Values
are satoshi; NUMERIC columns may arrive as integers, decimal strings, integral floats or
Parquet decimals, and a value that is not a whole number is an error. Rows are grouped into
one ``Block`` per ``block_hash`` in file order; a block is emitted after its last row (a
first pass over the block hashes finds it), so memory stays per block when the file is
ordered by block. The table has no parent hash or merkle root: those stay "". BigQuery drops
the coinbase input; a coinbase transaction gets one back (sequence 0xFFFFFFFF unless given).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sanctrace.chain.records import Block, Transfer, Tx, TxIn, TxOut
from sanctrace.chain.script import NO_ADDRESS_TYPES, classify, normalize_type
from sanctrace.chain.sources.base import ChainFile, ChainParseError, open_chain_file
from sanctrace.chain.sources.btc_raw import MAX_MONEY

if TYPE_CHECKING:
    import pyarrow.parquet as pq

REQUIRED_COLUMNS = ("hash", "block_hash", "block_number", "inputs", "outputs")
_NULL_TXID = "00" * 32
_HEX = frozenset("0123456789abcdef")
_BLOCK_HASH_RE = re.compile(rb'"block_hash"\s*:\s*"([0-9A-Fa-f]{64})"')


class _Bad(ValueError):
    """A malformed field; the caller adds file and row."""


def to_satoshi(value: Any, field: str) -> int:
    """An exact integer from an int, decimal text, integral float or Decimal."""
    if isinstance(value, bool):
        raise _Bad(f"{field} {value!r} is not a number")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise _Bad(f"{field} {value!r} is not a whole number of satoshi")
        result = int(value)
    elif isinstance(value, str | Decimal):
        try:
            dec = Decimal(value.strip()) if isinstance(value, str) else value
        except InvalidOperation:
            raise _Bad(f"{field} {value!r} is not a number") from None
        if not dec.is_finite() or abs(dec) > MAX_MONEY:  # before int(): exponents can be huge
            raise _Bad(f"{field} {value!r} out of range")
        if dec != dec.to_integral_value():
            raise _Bad(f"{field} {value!r} is not a whole number of satoshi")
        result = int(dec)
    else:
        raise _Bad(f"{field} {value!r} is not a number")
    if not 0 <= result <= MAX_MONEY:
        raise _Bad(f"{field} {value!r} out of range")
    return result


def _int(value: Any, field: str, default: int | None = None) -> int:
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        raise _Bad(f"{field} {value!r} is not an integer")
    return value


def _hex32(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not _HEX.issuperset(value.lower()):
        raise _Bad(f"{field} {str(value)[:80]!r} is not a 32-byte hex hash")
    return value.lower()


def to_unix(value: Any) -> int:
    """Unix seconds of a BigQuery TIMESTAMP: int seconds, datetime, or text."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        if text.endswith(" UTC"):
            text = text[:-4] + "+00:00"
        try:
            return to_unix(datetime.fromisoformat(text))
        except ValueError:
            pass
    raise _Bad(f"block_timestamp {value!r} is not a timestamp")


def _address(kind: str, addresses: Any) -> str | None:
    if kind in NO_ADDRESS_TYPES or not isinstance(addresses, list) or len(addresses) != 1:
        return None
    address = addresses[0]
    return address if isinstance(address, str) else None


def _ordered(items: Any, field: str) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise _Bad(f"{field} is not a list of records")
    if all(isinstance(i.get("index"), int) for i in items):
        return sorted(items, key=lambda i: i["index"])
    return items


def tx_from_row(row: Any) -> tuple[Tx, str, int, int]:
    """(Tx, block hash, block number, block time) of one transactions row."""
    if not isinstance(row, dict):
        raise _Bad("row is not a JSON object")
    txid = _hex32(row.get("hash"), "hash")
    block_hash = _hex32(row.get("block_hash"), "block_hash")
    number = _int(row.get("block_number"), "block_number")
    time = to_unix(row.get("block_timestamp"))
    coinbase = bool(row.get("is_coinbase"))
    inputs: list[TxIn] = []
    for i, item in enumerate(_ordered(row.get("inputs"), "inputs")):
        where = f"input {i}"
        sequence = _int(item.get("sequence"), f"{where} sequence", 0xFFFFFFFF)
        spent = item.get("spent_transaction_hash")
        if spent is None and coinbase:
            inputs.append(TxIn(_NULL_TXID, 0xFFFFFFFF, sequence, True))
            continue
        value = item.get("value")
        inputs.append(
            TxIn(
                _hex32(spent, f"{where} spent_transaction_hash"),
                _int(item.get("spent_output_index"), f"{where} spent_output_index"),
                sequence,
                False,
                None if value is None else to_satoshi(value, f"{where} value"),
                _address(normalize_type(item.get("type")), item.get("addresses")),
            )
        )
    if coinbase and not (inputs and inputs[0].coinbase):
        inputs.insert(0, TxIn(_NULL_TXID, 0xFFFFFFFF, 0xFFFFFFFF, True))
    outputs: list[TxOut] = []
    for n, item in enumerate(_ordered(row.get("outputs"), "outputs")):
        where = f"output {n}"
        script_hex = item.get("script_hex")
        if isinstance(script_hex, str) and script_hex:
            try:
                kind, address = classify(bytes.fromhex(script_hex))
            except ValueError:
                raise _Bad(f"{where} script_hex is not hex") from None
            script_hex = script_hex.lower()
        else:
            kind = normalize_type(item.get("type"))
            address = _address(kind, item.get("addresses"))
            script_hex = ""
        outputs.append(
            TxOut(to_satoshi(item.get("value"), f"{where} value"), kind, address, script_hex)
        )
    if not inputs or not outputs:
        raise _Bad(f"transaction {txid} has no inputs or no outputs")
    size = _int(row.get("size"), "size", 0)
    vsize = _int(row.get("virtual_size"), "virtual_size", size)
    tx = Tx(
        txid,
        inputs,
        outputs,
        _int(row.get("version"), "version", 1),
        _int(row.get("lock_time"), "lock_time", 0),
        size,
        vsize,
        bool(size and vsize and size != vsize),
    )
    return tx, block_hash, number, time


class BtcBigQueryFormat:
    """BigQuery ``crypto_bitcoin.transactions`` rows as JSON lines or Parquet."""

    name = "btc_bigquery"
    chain = "btc"
    description = (
        "Bitcoin transactions in the BigQuery crypto_bitcoin layout (JSON lines or Parquet)"
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        if head[:4] == b"PAR1":
            try:
                names = set(_parquet_file(path).schema_arrow.names)
            except ChainParseError:
                return False
            return names.issuperset(REQUIRED_COLUMNS)
        return (
            head.lstrip()[:1] == b"{"
            and b'"block_hash"' in head
            and (b'"is_coinbase"' in head or b'"inputs"' in head or b'"outputs"' in head)
        )

    def read(self, paths: list[Path]) -> Iterator[Block | Transfer]:
        for path in paths:
            path = Path(path)
            with open_chain_file(path) as fh:
                magic = _read(fh, path, 4)
            if magic == b"PAR1":
                yield from _group(path, _parquet_rows(path), _parquet_last_rows(path))
            else:
                yield from _group(path, _jsonl_rows(path), _jsonl_last_rows(path))


def _read(fh: ChainFile, path: Path, size: int = -1) -> bytes:
    try:
        return fh.read(size)
    except (OSError, EOFError, ValueError) as exc:
        raise ChainParseError(path, None, f"cannot decompress or read: {exc}") from None


def _group(path: Path, rows: Iterable[tuple[str, Any]], last: dict[str, int]) -> Iterator[Block]:
    pending: dict[str, Block] = {}
    for i, (where, row) in enumerate(rows):
        try:
            tx, block_hash, number, time = tx_from_row(row)
        except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
            raise ChainParseError(path, where, str(exc)) from None
        block = pending.get(block_hash)
        if block is None:
            block = pending[block_hash] = Block("btc", number, block_hash, "", "", time, [])
        elif block.height != number:
            raise ChainParseError(
                path, where, f"block {block_hash} has block_number {block.height} and {number}"
            )
        block.txs.append(tx)
        if last.get(block_hash) == i:
            yield pending.pop(block_hash)
    yield from pending.values()


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of the non-blank lines of a (compressed) text file."""
    with open_chain_file(path) as reader:
        lineno = 0
        while True:
            try:
                line = reader.readline()
            except (OSError, EOFError, ValueError) as exc:
                raise ChainParseError(
                    path, f"line {lineno + 1}", f"cannot decompress or read: {exc}"
                ) from None
            if not line:
                return
            lineno += 1
            if line.strip():
                yield lineno, line


def _jsonl_last_rows(path: Path) -> dict[str, int]:
    """Block hash → index of its last row (non-blank line), by a quick scan without JSON."""
    last: dict[str, int] = {}
    for i, (_, line) in enumerate(_lines(path)):
        match = _BLOCK_HASH_RE.search(line)
        if match:
            last[match.group(1).decode().lower()] = i
    return last


def _jsonl_rows(path: Path) -> Iterator[tuple[str, Any]]:
    for lineno, line in _lines(path):
        where = f"line {lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ChainParseError(
                path, where, f"bad JSON: {exc.msg} (column {exc.colno})"
            ) from None
        except UnicodeDecodeError as exc:
            raise ChainParseError(path, where, f"not UTF-8 text: {exc.reason}") from None
        except (ValueError, RecursionError) as exc:
            raise ChainParseError(path, where, f"bad JSON: {exc}") from None
        yield where, row


def _parquet_file(path: Path) -> pq.ParquetFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ChainParseError(path, None, f"cannot read Parquet: {exc}") from None


def _parquet_batches(path: Path, columns: list[str] | None) -> Iterator[list[dict[str, Any]]]:
    import pyarrow as pa

    pf = _parquet_file(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in pf.schema_arrow.names]
    if missing:
        raise ChainParseError(
            path, None, f"not a crypto_bitcoin.transactions table: no column {', '.join(missing)}"
        )
    try:
        for batch in pf.iter_batches(batch_size=4096, columns=columns):
            yield batch.to_pylist()
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise ChainParseError(path, None, f"cannot read Parquet: {exc}") from None


def _parquet_last_rows(path: Path) -> dict[str, int]:
    last: dict[str, int] = {}
    i = 0
    for rows in _parquet_batches(path, ["block_hash"]):
        for row in rows:
            value = row["block_hash"]
            if isinstance(value, str):
                last[value.lower()] = i
            i += 1
    return last


def _parquet_rows(path: Path) -> Iterator[tuple[str, Any]]:
    i = 0
    for rows in _parquet_batches(path, None):
        for row in rows:
            i += 1
            yield f"row {i}", row


FORMAT = BtcBigQueryFormat()
