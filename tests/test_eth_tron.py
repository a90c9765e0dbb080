"""Account-chain readers: ethereum-etl / BigQuery exports (eth_etl) and TRON transfers (tron)."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sanctrace.chain.sources.base import ChainParseError
from sanctrace.chain.sources.eth_etl import (
    TOKEN_TRANSFERS,
    TRANSACTIONS,
    FloatText,
    parse_amount,
    parse_time,
)
from sanctrace.chain.sources.registry import detect_format, get_format
from sanctrace.chain.sources.tron import FORMAT as TRON
from sanctrace.chain.sources.tron import tron_address

ETH_DIR = Path("chain/eth/blocks_17173049_17173050")
TRX = Path(__file__).parent / "fixtures" / "chain" / "trx"
ETH = Path(__file__).parent / "fixtures" / "chain" / "eth"
TX0 = "0xeb107a40ba73a50c79a9f2026e902d758d1c5e5e211f7a7db1b294f88f118dd0"
TX1 = "0xec7cc4df1ff542793053335700f18d59c3f870e1e4820a42d558c76db832bd14"


def _json_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def token_file(shared_data: Path) -> Path:
    return shared_data / ETH_DIR / "expected_token_transfers.json"


@pytest.fixture(scope="module")
def tx_file(shared_data: Path) -> Path:
    return shared_data / ETH_DIR / "expected_transactions.json"


# ---------------------------------------------------------------------- ethereum-etl: real data


def test_token_transfers_real_blocks(token_file: Path) -> None:
    transfers = list(TOKEN_TRANSFERS.read([token_file]))
    assert len(transfers) == 291
    assert {t.block_number for t in transfers} == {17173049, 17173050}
    assert all(
        t.chain == "eth" and t.token.startswith("0x") and t.log_index >= 0 for t in transfers
    )
    by_key = {(t.tx_hash, t.log_index): t for t in transfers}
    # Three transfers checked against the file by hand, one far above 2**64.
    assert by_key[(TX0, 0)].amount == 7056176614974947328
    assert by_key[(TX0, 0)].token == "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
    assert by_key[(TX0, 0)].sender == "0x6b75d8af000000e20b7a7ddf000ba900b4009a80"
    assert by_key[(TX0, 0)].receiver == "0x7054b0f980a7eb5b3a6b3446f3c947d80162775c"
    assert by_key[(TX0, 0)].time == 1683029999
    big = by_key[(TX0, 1)].amount
    assert big == 150188698577042438264952193024 and big > 2**64 and isinstance(big, int)
    assert by_key[(TX1, 5)].amount == 7400000000000000000
    # Every amount is the file's integer, exactly.
    expected = {(r["transaction_hash"], r["log_index"]): r["value"] for r in _json_rows(token_file)}
    assert {k: t.amount for k, t in by_key.items()} == expected
    assert sum(t.amount > 2**64 for t in transfers) == 75


def test_transactions_real_blocks(tx_file: Path) -> None:
    rows = _json_rows(tx_file)
    moved = {r["hash"]: r for r in rows if r["value"] > 0 and r["receipt_status"] != 0}
    transfers = list(TRANSACTIONS.read([tx_file]))
    assert len(transfers) == len(moved) == 127
    for t in transfers:
        row = moved[t.tx_hash]
        assert (t.token, t.log_index, t.amount) == ("", -1, row["value"])
        assert (t.sender, t.block_number, t.time) == (
            row["from_address"],
            row["block_number"],
            row["block_timestamp"],
        )


def test_detect_ethereum_etl_tables(shared_data: Path) -> None:
    folder = shared_data / ETH_DIR
    assert detect_format(folder / "expected_token_transfers.json").name == "eth_token_transfers"
    assert detect_format(folder / "expected_transactions.json").name == "eth_transactions"
    for other in ("expected_blocks.json", "expected_logs.json"):
        with pytest.raises(ChainParseError, match="unrecognised chain format"):
            detect_format(folder / other)


def _write_csv(rows: list[dict], path: Path) -> Path:
    columns = list(rows[0])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row[c] is None else row[c] for c in columns])
    return path


def test_csv_parquet_gzip_give_identical_records(token_file: Path, tmp_path: Path) -> None:
    rows = _json_rows(token_file)
    reference = list(TOKEN_TRANSFERS.read([token_file]))
    csv_path = _write_csv(rows, tmp_path / "token_transfers.csv")
    # Parquet as BigQuery exports it: value a string, block_timestamp a timestamp.
    parquet_path = tmp_path / "token_transfers.parquet"
    table = pa.table(
        {
            "token_address": [r["token_address"] for r in rows],
            "from_address": [r["from_address"] for r in rows],
            "to_address": [r["to_address"] for r in rows],
            "value": [str(r["value"]) for r in rows],
            "transaction_hash": [r["transaction_hash"] for r in rows],
            "log_index": pa.array([r["log_index"] for r in rows], pa.int64()),
            "block_timestamp": pa.array(
                [datetime.fromtimestamp(r["block_timestamp"], UTC) for r in rows],
                pa.timestamp("us", tz="UTC"),
            ),
            "block_number": pa.array([r["block_number"] for r in rows], pa.int64()),
            "block_hash": [r["block_hash"] for r in rows],
        }
    )
    pq.write_table(table, parquet_path)
    # A NUMERIC (decimal) value column reads the same.
    decimal_path = tmp_path / "token_transfers_decimal.parquet"
    values = pa.array([Decimal(r["value"]) for r in rows], pa.decimal128(38, 0))
    pq.write_table(table.set_column(3, "value", values), decimal_path)
    gz_path = tmp_path / "token_transfers.json.gz"
    gz_path.write_bytes(gzip.compress(token_file.read_bytes()))
    for path in (csv_path, parquet_path, decimal_path, gz_path):
        assert detect_format(path).name == "eth_token_transfers", path
        assert list(TOKEN_TRANSFERS.read([path])) == reference, path


def test_transactions_csv_and_parquet_match_json(tx_file: Path, tmp_path: Path) -> None:
    rows = _json_rows(tx_file)
    reference = list(TRANSACTIONS.read([tx_file]))
    csv_path = _write_csv(rows, tmp_path / "transactions.csv")
    parquet_path = tmp_path / "transactions.parquet"
    columns = {k: [r[k] for r in rows] for k in rows[0] if k not in ("value", "receipt_status")}
    columns["value"] = pa.array([Decimal(r["value"]) for r in rows], pa.decimal128(38, 9))
    columns["receipt_status"] = pa.array([r["receipt_status"] for r in rows], pa.int64())
    pq.write_table(pa.table(columns), parquet_path)
    for path in (csv_path, parquet_path):
        assert detect_format(path).name == "eth_transactions", path
        assert list(TRANSACTIONS.read([path])) == reference, path


def test_bigquery_csv_transactions_fixture() -> None:
    path = ETH / "transactions_bigquery.csv"
    assert detect_format(path).name == "eth_transactions"
    transfers = list(TRANSACTIONS.read([path]))
    # zero-value and failed transactions move nothing
    assert [t.amount for t in transfers] == [10**20, 1, 2**64]
    first, creation, no_status = transfers
    assert first.sender == "0xae2fc483527b8ef99eb5d9b44875f005ba1fae13"  # EIP-55 dropped
    assert first.time == 1683029999  # "2023-05-02 12:19:59 UTC"
    assert creation.receiver == "0x7054b0f980a7eb5b3a6b3446f3c947d80162775c"
    assert no_status.sender == "0x6b75d8af000000e20b7a7ddf000ba900b4009a80"
    assert no_status.time == 1683030011  # "2023-05-02T12:20:11Z"


def test_other_evm_chain() -> None:
    bsc = get_format("eth_transactions", chain="bsc")
    assert {t.chain for t in bsc.read([ETH / "transactions_bigquery.csv"])} == {"bsc"}
    with pytest.raises(ChainParseError, match="--chain"):
        get_format("trx_trc20", chain="eth")


# ---------------------------------------------------------------------------- bad input


def test_bad_json_line_names_file_and_line(token_file: Path, tmp_path: Path) -> None:
    lines = token_file.read_text().splitlines()
    bad = tmp_path / "token_transfers.json"
    bad.write_text("\n".join(lines[:5] + ['{"token_address": "0x', *lines[5:]]) + "\n")
    with pytest.raises(ChainParseError) as info:
        list(TOKEN_TRANSFERS.read([bad]))
    assert str(info.value).startswith(f"{bad}:line 6: bad JSON")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("value", 1.5e21, "floating-point"),
        ("value", "1e18", "not an exact integer"),
        ("value", -5, "negative"),
        ("from_address", "0x1234", "not an address"),
        ("transaction_hash", "0xabc", "not a 32-byte hash"),
        ("block_timestamp", "yesterday", "not a time"),
        ("log_index", None, "log_index is missing"),
    ],
)
def test_bad_values(token_file: Path, tmp_path: Path, field: str, value: object, message: str):
    row = _json_rows(token_file)[0]
    row[field] = value
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(ChainParseError, match=message) as info:
        list(TOKEN_TRANSFERS.read([path]))
    assert f"{path}:line 1" in str(info.value)


def test_parse_amount_forms() -> None:
    where = (Path("f"), "line 1", "value")
    assert parse_amount(123, *where) == 123
    assert parse_amount("  00123 ", *where) == 123
    assert parse_amount("0xff", *where) == 255
    assert parse_amount("42.000", *where) == 42
    assert parse_amount(Decimal("7.000000000"), *where) == 7
    for bad in (1.0, FloatText("1.0"), Decimal("1.5"), "1.5", "abc", True, None, "9" * 200):
        with pytest.raises(ChainParseError):
            parse_amount(bad, *where)


def test_parse_time_forms() -> None:
    where = (Path("f"), "line 1", "block_timestamp")
    for value in (
        1683029999,
        "1683029999",
        "2023-05-02 12:19:59 UTC",
        "2023-05-02T12:19:59Z",
        "2023-05-02 12:19:59.000000+00:00",
        datetime(2023, 5, 2, 12, 19, 59),
        FloatText("1683029999.0"),
    ):
        assert parse_time(value, *where) == 1683029999, value
    assert parse_time(1683029999123, *where, millis=True) == 1683029999
    assert parse_time(1683029999, *where, millis=True) == 1683029999


@settings(max_examples=60, deadline=None)
@given(
    amount=st.integers(min_value=0, max_value=2**256 - 1),
    form=st.sampled_from(["int", "str", "csv"]),
)
def test_amounts_are_exact(tmp_path_factory, amount: int, form: str) -> None:
    folder = tmp_path_factory.mktemp("amount")
    row = {
        "token_address": "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
        "from_address": "0x6b75d8af000000e20b7a7ddf000ba900b4009a80",
        "to_address": "0x7054b0f980a7eb5b3a6b3446f3c947d80162775c",
        "value": amount if form == "int" else str(amount),
        "transaction_hash": TX0,
        "log_index": 0,
        "block_number": 1,
        "block_timestamp": 1,
    }
    if form == "csv":
        path = _write_csv([row], folder / "t.csv")
    else:
        path = folder / "t.json"
        path.write_text(json.dumps(row) + "\n")
    [transfer] = TOKEN_TRANSFERS.read([path])
    assert transfer.amount == amount


# ---------------------------------------------------------------------------------- TRON


def test_tron_base58_and_hex_fixtures_agree() -> None:
    base58 = list(TRON.read([TRX / "trc20_base58.jsonl"]))
    hexed = list(TRON.read([TRX / "trc20_hex.csv"]))
    assert base58 == hexed
    assert len(base58) == 4
    usdt, second, big, native = base58
    assert usdt.token == "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    assert usdt.sender == "TV4p3T72KLWxad7bsLWuqJMFtafHVTYkTY"
    assert usdt.amount == 1_500_000 and usdt.time == 1684000000 and usdt.block_number == 51234567
    assert second.receiver == "TV7DQ6tvgH35mkAt8cbsVMH98qoxxwVXch"  # given as 0x… hex
    assert big.amount == 2**64 + 12345
    assert big.tx_hash == "a1048dd429b6b7ddfb42f3f5c1b0f2866bd50d7d9dc6f99b8344c5962135157b"
    assert big.time == 1684000009
    assert (native.token, native.log_index, native.amount) == ("", -1, 7_000_000)
    for t in base58:
        assert t.chain == "trx"
        for address in (t.sender, t.receiver, t.token):
            assert address == "" or (address.startswith("T") and len(address) == 34)


def test_tron_detection() -> None:
    assert detect_format(TRX / "trc20_base58.jsonl").name == "trx_trc20"
    assert detect_format(TRX / "trc20_hex.csv").name == "trx_trc20"
    assert not TRON.sniff(ETH / "transactions_bigquery.csv", b"")


def test_tron_eth_export_not_taken_for_tron(token_file: Path) -> None:
    head = token_file.read_bytes()[:4096]
    assert not TRON.sniff(token_file, head)


def test_tron_bad_address() -> None:
    path = TRX / "trc20_bad_address.jsonl"
    with pytest.raises(ChainParseError, match="is not a TRON address") as info:
        list(TRON.read([path]))
    assert f"{path}:line 2: from_address" in str(info.value)


def test_tron_addresses() -> None:
    canonical = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    assert tron_address(canonical) == canonical
    assert tron_address("41a614f803b6fd780986a42c78ec9c7f77e6ded13c") == canonical
    assert tron_address("0xa614f803b6fd780986a42c78ec9c7f77e6ded13c") == canonical
    assert tron_address("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2") is not None  # any account
    assert tron_address("1BoatSLRHtKNngkdXEeobR76b53LETtpyT") is None
    assert tron_address(canonical[:-1] + "u") is None


def test_tron_column_aliases(tmp_path: Path) -> None:
    row = json.loads((TRX / "trc20_base58.jsonl").read_text().splitlines()[0])
    renamed = {
        "hash": row["transaction_id"],
        "block": row["block_number"],
        "timestamp": row["block_timestamp"],
        "token_address": row["contract_address"],
        "from": row["from_address"],
        "to": row["to_address"],
        "amount": row["value"],
        "event_index": row["log_index"],
    }
    path = tmp_path / "aliases.jsonl"
    path.write_text(json.dumps(renamed) + "\n")
    assert detect_format(path).name == "trx_trc20"
    assert list(TRON.read([path])) == list(TRON.read([TRX / "trc20_base58.jsonl"]))[:1]
