"""The chain store's tables: their Arrow schemas (docs/chain-store.md), and the columns that
hold addresses and heights."""

from __future__ import annotations

import pyarrow as pa

_STR, _I64, _I32, _BOOL = pa.string(), pa.int64(), pa.int32(), pa.bool_()

SCHEMAS: dict[str, pa.Schema] = {
    "blocks": pa.schema(
        [
            ("height", _I64),
            ("hash", _STR),
            ("prev_hash", _STR),
            ("merkle_root", _STR),
            ("time", _I64),
            ("tx_count", _I32),
        ]
    ),
    "transactions": pa.schema(
        [
            ("txid", _STR),
            ("block_hash", _STR),
            ("block_height", _I64),
            ("index", _I32),
            ("time", _I64),
            ("coinbase", _BOOL),
            ("input_count", _I32),
            ("output_count", _I32),
            ("output_value", _I64),
            ("size", _I32),
            ("vsize", _I32),
        ]
    ),
    "inputs": pa.schema(
        [
            ("txid", _STR),
            ("index", _I32),
            ("prev_txid", _STR),
            ("prev_index", _I64),
            ("sequence", _I64),
            ("coinbase", _BOOL),
            ("value", _I64),
            ("address", _STR),
        ]
    ),
    "outputs": pa.schema(
        [
            ("txid", _STR),
            ("index", _I32),
            ("value", _I64),
            ("script_type", _STR),
            ("address", _STR),
        ]
    ),
    "transfers": pa.schema(
        [
            ("token", _STR),
            ("sender", _STR),
            ("receiver", _STR),
            ("amount", _STR),
            ("tx_hash", _STR),
            ("log_index", _I64),
            ("block_number", _I64),
            ("time", _I64),
        ]
    ),
}
TABLES = tuple(SCHEMAS)
ADDRESS_COLUMNS = (
    ("outputs", "address"),
    ("inputs", "address"),
    ("transfers", "sender"),
    ("transfers", "receiver"),
)
HEIGHT_COLUMNS = (("blocks", "height"), ("transfers", "block_number"))
