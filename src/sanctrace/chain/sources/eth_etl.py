"""Ethereum-etl and BigQuery ``crypto_ethereum`` exports: token and native-coin transfers.

Two formats, one per exported table, each read from JSON lines (``.json``/``.jsonl``/``.ndjson``,
optionally ``.gz``/``.bz2``), CSV (``.csv``, ``.tsv``) or Parquet; the container is told from the
file's first bytes, not its name:

* ``eth_token_transfers`` — the ``token_transfers`` table (``token_address, from_address,
  to_address, value, transaction_hash, log_index, block_number, block_timestamp`` …): one
  ``Transfer`` per row. ``value`` is the exact token amount in base units (ERC-721 rows carry
  the token id there: ethereum-etl does not tell them apart).
* ``eth_transactions`` — the ``transactions`` table (``hash, from_address, to_address, value,
  block_number, block_timestamp, receipt_status`` …): one native-coin ``Transfer`` (token ``""``,
  ``log_index`` -1) per transaction that moved value (``value`` > 0) and did not fail
  (``receipt_status`` 0; exports without receipts cannot say, so every row counts). A contract
  creation (no ``to_address``) pays ``receipt_contract_address``, or ``""`` when absent.

Amounts must be exact integers: JSON numbers without fraction or exponent, decimal (or
``0x`` hex) strings, Parquet integers or integral decimals; floats are refused.
``block_timestamp`` is unix seconds or an ISO time (``2023-05-02 12:34:56 UTC``). Addresses
become lower-case ``0x`` hex, hashes lower case. The chain is ``eth`` unless set with
``with_chain`` (``sanctrace chain load --chain bsc``): other EVM chains export the same tables.

The tabular helpers here (``iter_rows``, ``peek_row``, ``parse_amount``, ``parse_time`` …) are
shared with the other exports of account chains (``tron``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from sanctrace.chain.addresses import normalise
from sanctrace.chain.records import Transfer
from sanctrace.chain.sources.base import ChainFile, ChainParseError, open_chain_file, read_head

Row = dict[str, Any]

MAX_AMOUNT_DIGITS = 100  # uint256 has 78; anything longer is not an amount
_DIGITS = re.compile(r"[0-9]+")
_INTEGRAL_DECIMAL = re.compile(r"([0-9]+)\.0*")
_HEX_AMOUNT = re.compile(r"0[xX][0-9a-fA-F]{1,64}")
_EVM_ADDRESS = re.compile(r"0x[0-9a-f]{40}")
_EVM_HASH = re.compile(r"0x[0-9a-f]{64}")
_JSON_KEY = re.compile(rb'"([A-Za-z_][A-Za-z0-9_.]*)"\s*:')


class FloatText(str):
    """A JSON number with a fraction or exponent, kept as its text so nothing is rounded."""


# ------------------------------------------------------------------------- reading tables


def container(head: bytes) -> str:
    """``parquet``, ``jsonl``, ``json_array`` or ``csv``, from a file's first bytes."""
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "jsonl"
    if text.startswith(b"["):
        return "json_array"
    return "csv"


def iter_rows(path: Path, columns: Iterable[str] | None = None) -> Iterator[tuple[str, Row]]:
    """Stream ``(where, row)`` from a JSON-lines, CSV or Parquet file.

    ``where`` is ``"line N"`` (JSON lines, CSV) or ``"row N"`` (Parquet). Empty CSV cells
    read as None. ``columns`` limits what Parquet decodes (unknown names are ignored).
    """
    kind = container(read_head(path))
    with open_chain_file(path) as fh:
        if kind == "parquet":
            yield from _parquet_rows(path, fh, columns)
        elif kind == "json_array":
            raise ChainParseError(path, "line 1", "a JSON array; export JSON lines instead")
        else:
            text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="strict", newline="")
            try:
                if kind == "jsonl":
                    yield from _json_rows(path, text)
                else:
                    yield from _csv_rows(path, text)
            except UnicodeDecodeError as exc:
                raise ChainParseError(path, None, f"not UTF-8 text ({exc.reason})") from exc
            except (OSError, EOFError, zlib.error) as exc:
                raise ChainParseError(path, None, f"cannot read: {exc}") from exc


def _json_rows(path: Path, text: io.TextIOWrapper) -> Iterator[tuple[str, Row]]:
    for number, line in enumerate(text, 1):
        if not line.strip():
            continue
        try:
            row = _DECODER.decode(line)
        except (json.JSONDecodeError, ValueError) as exc:
            message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise ChainParseError(path, f"line {number}", f"bad JSON: {message}") from exc
        if not isinstance(row, dict):
            raise ChainParseError(path, f"line {number}", "expected a JSON object")
        yield f"line {number}", row


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


_DECODER = json.JSONDecoder(parse_float=FloatText, parse_constant=_no_constant)


def _csv_rows(path: Path, text: io.TextIOWrapper) -> Iterator[tuple[str, Row]]:
    # Transaction inputs (contract code) can be far longer than csv's default field limit.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    delimiter = "\t" if ".tsv" in path.suffixes else ","
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None:
            return
        header = [h.strip() for h in header]
        for record in reader:
            where = f"line {reader.line_num}"
            if not record or record == [""]:
                continue
            if len(record) != len(header):
                raise ChainParseError(
                    path, where, f"{len(record)} fields where the header has {len(header)}"
                )
            yield where, {k: (v if v != "" else None) for k, v in zip(header, record, strict=True)}
    except csv.Error as exc:
        raise ChainParseError(path, f"line {reader.line_num}", f"bad CSV: {exc}") from exc


def _parquet_rows(
    path: Path, fh: ChainFile, columns: Iterable[str] | None
) -> Iterator[tuple[str, Row]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(fh)
        keep = None if columns is None else set(columns)
        wanted = [c for c in pf.schema_arrow.names if keep is None or c in keep]
        number = 0
        for batch in pf.iter_batches(batch_size=10_000, columns=wanted):
            for row in batch.to_pylist():
                number += 1
                yield f"row {number}", row
    except (pa.ArrowException, OSError) as exc:
        raise ChainParseError(path, None, f"bad Parquet file: {exc}") from exc


def peek_row(path: Path, head: bytes) -> tuple[set[str], Row | None]:
    """The column names of a table file and its first row when cheaply known (for sniffing)."""
    kind = container(head)
    if kind == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        first = next(pf.iter_batches(batch_size=1), None)
        rows = first.to_pylist() if first is not None else []
        return set(pf.schema_arrow.names), (rows[0] if rows else None)
    if kind == "jsonl":
        first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
        try:
            row = json.loads(first, parse_float=FloatText)
        except ValueError:
            # A first line longer than the head (a transaction with a long input): its keys.
            return {k.decode() for k in _JSON_KEY.findall(first)}, None
        return (set(row), row) if isinstance(row, dict) else (set(), None)
    if kind == "csv":
        text = head.decode("utf-8-sig", errors="replace")
        lines = text.splitlines()
        delimiter = "\t" if ".tsv" in path.suffixes else ","
        records = list(csv.reader(lines[:2], delimiter=delimiter))
        if not records:
            return set(), None
        header = [h.strip() for h in records[0]]
        row = None
        if len(records) == 2 and len(records[1]) == len(header):
            row = {k: (v or None) for k, v in zip(header, records[1], strict=True)}
        return set(header), row
    return set(), None


def get(row: Row, names: tuple[str, ...]) -> Any:
    """The value of the first of ``names`` that ``row`` has (None when none does)."""
    for name in names:
        if name in row:
            return row[name]
    return None


# --------------------------------------------------------------------------------- values


def parse_amount(value: Any, path: Path, where: str, field: str) -> int:
    """An exact non-negative integer amount; floats and fractions are errors."""
    if isinstance(value, bool) or value is None:
        raise ChainParseError(path, where, f"{field} is missing")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise ChainParseError(path, where, f"{field} {value} is not an integer")
        amount = int(value)
    elif isinstance(value, str) and not isinstance(value, FloatText):
        text = value.strip()
        if len(text) > MAX_AMOUNT_DIGITS:
            raise ChainParseError(path, where, f"{field} is too long")
        if _DIGITS.fullmatch(text):
            amount = int(text)
        elif _HEX_AMOUNT.fullmatch(text):
            amount = int(text, 16)
        elif match := _INTEGRAL_DECIMAL.fullmatch(text):
            amount = int(match.group(1))
        else:
            raise ChainParseError(path, where, f"{field} {text[:40]!r} is not an exact integer")
    else:
        raise ChainParseError(
            path, where, f"{field} {value} is a floating-point number, not an exact integer"
        )
    if amount < 0:
        raise ChainParseError(path, where, f"{field} is negative")
    return amount


def parse_int(value: Any, path: Path, where: str, field: str) -> int:
    """A required integer (block number, log index); integral floats are accepted."""
    if isinstance(value, bool) or value is None or value == "":
        raise ChainParseError(path, where, f"{field} is missing")
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ChainParseError(
            path, where, f"{field} {str(value)[:40]!r} is not an integer"
        ) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise ChainParseError(path, where, f"{field} {value} is not an integer")
    return int(number)


def parse_time(value: Any, path: Path, where: str, field: str, millis: bool = False) -> int:
    """Unix seconds from an integer, an ISO time (``… UTC``, ``…Z``) or a datetime.

    With ``millis`` integers are milliseconds, except those below 10**11 (before 1973 in
    milliseconds), which are taken as seconds.
    """
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp())
    if isinstance(value, str) and not _looks_numeric(value):
        text = value.strip()
        if text.endswith(" UTC"):
            text = text[:-4]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ChainParseError(path, where, f"{field} {value[:40]!r} is not a time") from None
        return parse_time(moment, path, where, field)
    number = parse_int(value, path, where, field)
    if millis and number >= 10**11:
        return number // 1000
    return number


def _looks_numeric(text: str) -> bool:
    try:
        Decimal(text.strip())
    except InvalidOperation:
        return False
    return True


@lru_cache(maxsize=1 << 16)
def evm_address(raw: str) -> str | None:
    """Lower-case ``0x`` hex of an EVM address, or None when ``raw`` is not one."""
    if _EVM_ADDRESS.fullmatch(raw):  # exports are already canonical
        return raw
    text = normalise("eth", raw)
    return text if _EVM_ADDRESS.fullmatch(text) else None


def evm_field(row: Row, names: tuple[str, ...], path: Path, where: str) -> str:
    """The canonical EVM address in the first of ``names``; missing or malformed is an error."""
    value = get(row, names)
    if value is None or value == "":
        raise ChainParseError(path, where, f"{names[0]} is missing")
    address = evm_address(str(value))
    if address is None:
        raise ChainParseError(path, where, f"{names[0]} {str(value)[:50]!r} is not an address")
    return address


def evm_hash(value: Any, path: Path, where: str, field: str) -> str:
    text = str(value).strip().lower() if value is not None else ""
    if not text.startswith("0x"):
        text = "0x" + text
    if not _EVM_HASH.fullmatch(text):
        raise ChainParseError(path, where, f"{field} {str(value)[:70]!r} is not a 32-byte hash")
    return text


# -------------------------------------------------------------------------------- formats

_TOKEN_KEYS = frozenset({"token_address", "transaction_hash", "log_index", "value"})
_TX_KEYS = frozenset({"hash", "from_address", "value", "block_number"})
_TX_HINTS = frozenset({"nonce", "transaction_index", "gas", "gas_price", "input", "to_address"})


@dataclass(frozen=True)
class EthTokenTransfers:
    """The ``token_transfers`` table of ethereum-etl / BigQuery."""

    chain: str = "eth"
    name: str = "eth_token_transfers"
    description: str = "ethereum-etl / BigQuery token_transfers (JSON lines, CSV, Parquet)"

    def with_chain(self, chain: str) -> EthTokenTransfers:
        return replace(self, chain=chain)

    def sniff(self, path: Path, head: bytes) -> bool:
        keys, row = peek_row(path, head)
        if not _TOKEN_KEYS <= keys:
            return False
        token = row.get("token_address") if row else None
        return token is None or evm_address(str(token)) is not None

    def read(self, paths: list[Path]) -> Iterator[Transfer]:
        for path in paths:
            for where, row in iter_rows(path):
                yield Transfer(
                    chain=self.chain,
                    token=evm_field(row, ("token_address",), path, where),
                    sender=evm_field(row, ("from_address",), path, where),
                    receiver=evm_field(row, ("to_address",), path, where),
                    amount=parse_amount(row.get("value"), path, where, "value"),
                    tx_hash=evm_hash(row.get("transaction_hash"), path, where, "transaction_hash"),
                    log_index=parse_int(row.get("log_index"), path, where, "log_index"),
                    block_number=parse_int(row.get("block_number"), path, where, "block_number"),
                    time=parse_time(row.get("block_timestamp"), path, where, "block_timestamp"),
                )


_TX_COLUMNS = (
    "hash",
    "from_address",
    "to_address",
    "value",
    "block_number",
    "block_timestamp",
    "receipt_status",
    "receipt_contract_address",
)


@dataclass(frozen=True)
class EthTransactions:
    """The ``transactions`` table of ethereum-etl / BigQuery: native-coin transfers."""

    chain: str = "eth"
    name: str = "eth_transactions"
    description: str = "ethereum-etl / BigQuery transactions, value > 0 (JSON lines, CSV, Parquet)"

    def with_chain(self, chain: str) -> EthTransactions:
        return replace(self, chain=chain)

    def sniff(self, path: Path, head: bytes) -> bool:
        keys, _row = peek_row(path, head)
        return _TX_KEYS <= keys and bool(keys & _TX_HINTS) and "token_address" not in keys

    def read(self, paths: list[Path]) -> Iterator[Transfer]:
        for path in paths:
            for where, row in iter_rows(path, _TX_COLUMNS):
                amount = parse_amount(row.get("value"), path, where, "value")
                if amount == 0 or _failed(row.get("receipt_status"), path, where):
                    continue
                receiver = ""
                for name in ("to_address", "receipt_contract_address"):
                    if row.get(name):
                        receiver = evm_field(row, (name,), path, where)
                        break
                yield Transfer(
                    chain=self.chain,
                    token="",
                    sender=evm_field(row, ("from_address",), path, where),
                    receiver=receiver,
                    amount=amount,
                    tx_hash=evm_hash(row.get("hash"), path, where, "hash"),
                    log_index=-1,
                    block_number=parse_int(row.get("block_number"), path, where, "block_number"),
                    time=parse_time(row.get("block_timestamp"), path, where, "block_timestamp"),
                )


def _failed(status: Any, path: Path, where: str) -> bool:
    if status is None or status == "":
        return False
    return parse_int(status, path, where, "receipt_status") == 0


TOKEN_TRANSFERS = EthTokenTransfers()
TRANSACTIONS = EthTransactions()
FORMAT = TOKEN_TRANSFERS
