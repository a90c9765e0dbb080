"""The chain store (Parquet dataset + manifest), chain loads and the ``chain`` commands."""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import run
from sanctrace.chain.records import Block, Transfer, Tx, TxIn, TxOut
from sanctrace.chain.sources.base import ChainParseError
from sanctrace.chainstore import store as store_module
from sanctrace.chainstore.load import load_chain
from sanctrace.chainstore.store import SCHEMAS, ChainStore
from sanctrace.errors import SanctraceError

FIXTURES = Path(__file__).parent / "fixtures" / "chain"
ETH_DIR = Path("chain/eth/blocks_17173049_17173050")
BLOCK_574200 = Path(
    "chain/btc/raw_blocks/"
    "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"
)
SHA = "ab" * 32


def _transfers(n: int, chain: str = "eth", start: int = 0) -> Iterator[Transfer]:
    for i in range(start, start + n):
        yield Transfer(
            chain=chain,
            token="0x" + "11" * 20,
            sender="0x" + f"{i % 7:040x}",
            receiver="0x" + f"{i % 5 + 100:040x}",
            amount=2**70 + i,
            tx_hash="0x" + f"{i:064x}",
            log_index=i,
            block_number=1000 + i,
            time=1_700_000_000 + i,
        )


def _block(height: int | None, n_tx: int = 2) -> Block:
    txs = []
    for i in range(n_tx):
        coinbase = i == 0
        txs.append(
            Tx(
                txid=f"{height}-{i}",
                inputs=[TxIn("00" * 32, 0xFFFFFFFF, 0, coinbase=True)]
                if coinbase
                else [
                    TxIn("aa" * 32, 1, 0xFFFFFFFE, value=500, address="1A"),
                    TxIn("bb" * 32, 0, 1),
                ],
                outputs=[
                    TxOut(300, "p2pkh", "1A"),
                    TxOut(200, "p2wpkh", "bc1q"),
                    TxOut(0, "nulldata", None),
                ],
                size=200,
                vsize=150,
            )
        )
    return Block("btc", height, f"hash{height}", "prev", "merkle", 1_600_000_000, txs)


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


# ------------------------------------------------------------------------------ store.write


def test_write_status_and_read(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "chain")
    assert store.status() == {}
    summary = store.write("eth", _transfers(10), [Path("a.json")], SHA, fmt="test")
    assert summary.created and summary.counts["transfers"] == 10
    assert summary.parts == [f"eth/transfers/part-{SHA[:16]}.parquet"]
    store.write("btc", [_block(5), _block(6, 3)], [Path("b.blk")], "cd" * 32, fmt="test")
    status = store.status()
    assert status["eth"] == {
        "blocks": 0,
        "transactions": 0,
        "inputs": 0,
        "outputs": 0,
        "transfers": 10,
        "addresses": 12,  # 7 senders + 5 receivers
        "min_height": 1000,
        "max_height": 1009,
    }
    assert status["btc"] == {
        "blocks": 2,
        "transactions": 5,
        "inputs": 8,
        "outputs": 15,
        "transfers": 0,
        "addresses": 2,
        "min_height": 5,
        "max_height": 6,
    }
    transfers = store.table("eth", "transfers")
    assert transfers.schema == SCHEMAS["transfers"]
    assert transfers.column("amount").to_pylist() == [str(2**70 + i) for i in range(10)]
    txs = store.table("btc", "transactions").to_pylist()
    assert txs[1]["output_value"] == 500 and txs[1]["coinbase"] is False and txs[0]["coinbase"]
    assert txs[3]["index"] == 1 and txs[3]["block_height"] == 6
    inputs = store.table("btc", "inputs")
    assert inputs.column("value").to_pylist()[1:3] == [500, None]
    assert store.table("trx", "transfers").num_rows == 0


def test_relative_root(tmp_path: Path, monkeypatch) -> None:
    # The default data directory is relative (./sanctrace-data).
    monkeypatch.chdir(tmp_path)
    store = ChainStore(Path("data") / "chain")
    summary = store.write("eth", _transfers(3), [Path("a.json")], SHA, fmt="test")
    assert summary.parts == [f"eth/transfers/part-{SHA[:16]}.parquet"]
    assert store.table("eth", "transfers").num_rows == 3


def test_unknown_heights_are_null(tmp_path: Path) -> None:
    store = ChainStore(tmp_path)
    store.write("btc", [_block(None)], [Path("x.blk")], SHA)
    assert store.status()["btc"]["min_height"] is None
    assert store.status()["btc"]["max_height"] is None


def test_batches_bound_rows_per_row_group(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(store_module, "BATCH_ROWS", 7)
    store = ChainStore(tmp_path)
    seen: list[int] = []
    monkeypatch.setattr(store_module, "PROGRESS_EVERY", 10)
    store.write(None, _transfers(50), [Path("a")], SHA, progress=seen.append)
    [part] = store.parts("eth", "transfers")
    meta = pq.read_metadata(part)
    assert meta.num_rows == 50 and meta.num_row_groups == 8
    assert sum(seen) == 50
    assert store.table("eth", "transfers").column("log_index").to_pylist() == list(range(50))


def test_same_sha_writes_nothing(tmp_path: Path) -> None:
    store = ChainStore(tmp_path)
    store.write("eth", _transfers(3), [Path("a")], SHA)
    before = store.manifest_path.read_bytes()
    again = store.write("eth", _transfers(3), [Path("a")], SHA)
    assert not again.created
    assert store.manifest_path.read_bytes() == before
    assert store.status()["eth"]["transfers"] == 3


def _failing(after: int, chain: str = "eth") -> Iterator[Transfer]:
    yield from _transfers(after, chain)
    raise ChainParseError("bad.json", "line 99", "broken")


def test_failed_read_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(store_module, "BATCH_ROWS", 5)  # parts are on disk when it fails
    store = ChainStore(tmp_path)
    store.write("eth", _transfers(4), [Path("good")], SHA)
    files, manifest = _files(tmp_path), store.manifest_path.read_bytes()
    with pytest.raises(ChainParseError, match="line 99"):
        store.write("eth", _failing(23), [Path("bad.json")], "ef" * 32)
    with pytest.raises(ChainParseError):
        store.write("trx", _failing(12, "trx"), [Path("bad.json")], "ef" * 32)
    assert _files(tmp_path) == files
    assert not (tmp_path / "trx").exists()
    assert store.manifest_path.read_bytes() == manifest
    assert store.status()["eth"]["transfers"] == 4


def test_failed_manifest_write_removes_parts(tmp_path: Path, monkeypatch) -> None:
    store = ChainStore(tmp_path)

    def broken(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module, "write_atomic", broken)
    with pytest.raises(SanctraceError, match="No space left"):
        store.write("eth", _transfers(4), [Path("a")], SHA)
    assert _files(tmp_path) <= {".lock"}


def test_mixed_chains_and_bad_amounts_refused(tmp_path: Path) -> None:
    store = ChainStore(tmp_path)
    records = [*_transfers(2), *_transfers(1, chain="bsc")]
    with pytest.raises(SanctraceError, match="bsc record"):
        store.write("eth", records, [Path("a")], SHA)
    bad = next(_transfers(1))
    bad.amount = 1.5  # type: ignore[assignment]
    with pytest.raises(SanctraceError, match="amount"):
        store.write("eth", [bad], [Path("a")], SHA)
    assert store.status() == {}


def test_missing_part_is_reported(tmp_path: Path) -> None:
    store = ChainStore(tmp_path)
    store.write("eth", _transfers(2), [Path("a")], SHA)
    store.parts("eth", "transfers")[0].unlink()
    with pytest.raises(SanctraceError, match="missing"):
        store.status()


# ----------------------------------------------------------------------------- load_chain


def test_load_twice_writes_nothing(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "store")
    first = load_chain([FIXTURES / "trx" / "trc20_base58.jsonl"], store=store)
    assert [(s.chain, s.format, s.created, s.counts["transfers"]) for s in first] == [
        ("trx", "trx_trc20", True, 4)
    ]
    files, manifest = _files(store.root), store.manifest_path.read_bytes()
    again = load_chain([FIXTURES / "trx" / "trc20_base58.jsonl"], store=store)
    assert [s.created for s in again] == [False]
    assert _files(store.root) == files and store.manifest_path.read_bytes() == manifest
    # A copy under another name is the same data: skipped too.
    copy = tmp_path / "renamed.jsonl"
    shutil.copy(FIXTURES / "trx" / "trc20_base58.jsonl", copy)
    assert [s.created for s in load_chain([copy], store=store)] == [False]


def test_grown_folder_loads_only_new_files(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(FIXTURES / "trx" / "trc20_base58.jsonl", folder / "a.jsonl")
    store = ChainStore(tmp_path / "store")
    load_chain([folder], store=store)
    (folder / "b.jsonl").write_text(
        (FIXTURES / "trx" / "trc20_base58.jsonl").read_text().replace("51234567", "51234599")
    )
    [summary] = load_chain([folder], store=store)
    assert summary.created and summary.files == ["b.jsonl"] and summary.skipped_files == ["a.jsonl"]
    assert summary.counts["transfers"] == 4
    assert store.status()["trx"]["transfers"] == 8


def test_folder_skips_unknown_files_named_file_does_not(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(FIXTURES / "eth" / "transactions_bigquery.csv", folder)
    (folder / "notes.txt").write_text("not chain data\n")
    (folder / "LICENSE").write_text("MIT\n")
    skipped: list[Path] = []
    store = ChainStore(tmp_path / "store")
    [summary] = load_chain([folder], store=store, on_skip=lambda p, why: skipped.append(p))
    assert summary.format == "eth_transactions" and summary.counts["transfers"] == 3
    assert skipped == [folder / "notes.txt"]
    with pytest.raises(ChainParseError, match="unrecognised chain format"):
        load_chain([folder / "notes.txt"], store=store)
    with pytest.raises(ChainParseError, match="no such file"):
        load_chain([folder / "missing.json"], store=store)


def test_chain_option_and_forced_format(tmp_path: Path) -> None:
    store = ChainStore(tmp_path)
    path = FIXTURES / "eth" / "transactions_bigquery.csv"
    [bsc] = load_chain([path], store=store, chain="bsc")
    [eth] = load_chain([path], store=store, fmt="eth_transactions")
    assert (bsc.chain, bsc.created, eth.chain, eth.created) == ("bsc", True, "eth", True)
    assert set(store.status()) == {"bsc", "eth"}
    with pytest.raises(ChainParseError, match="unknown chain format"):
        load_chain([path], store=store, fmt="nope")


def test_load_failure_keeps_store_unchanged(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "store")
    load_chain([FIXTURES / "trx" / "trc20_base58.jsonl"], store=store)
    files, manifest = _files(store.root), store.manifest_path.read_bytes()
    with pytest.raises(ChainParseError, match="line 2"):
        load_chain([FIXTURES / "trx" / "trc20_bad_address.jsonl"], store=store)
    assert _files(store.root) == files and store.manifest_path.read_bytes() == manifest


def test_real_eth_blocks_into_store(shared_data: Path, tmp_path: Path) -> None:
    store = ChainStore(tmp_path)
    results = load_chain([shared_data / ETH_DIR], store=store)
    assert {s.format: s.counts["transfers"] for s in results} == {
        "eth_token_transfers": 291,
        "eth_transactions": 127,
    }
    amounts = store.table("eth", "transfers", columns=["amount"]).column("amount").to_pylist()
    assert "150188698577042438264952193024" in amounts
    assert store.status()["eth"]["transfers"] == 418


# ------------------------------------------------------------------------------------ CLI


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("SANCTRACE_DATA_DIR", str(folder))
    return folder


def test_cli_load_and_status(shared_data: Path, data_dir: Path, tmp_path: Path) -> None:
    empty = run("chain", "status", "--json", cwd=tmp_path)
    assert empty.returncode == 0 and json.loads(empty.stdout) == {}
    assert "No chain data" in run("chain", "status", cwd=tmp_path).stdout
    result = run("chain", "load", str(shared_data / ETH_DIR), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("eth:")]
    assert len(lines) == 2 and "291 transfers" in lines[0] and "127 transfers" in lines[1]
    trx = run("chain", "load", str(FIXTURES / "trx" / "trc20_hex.csv"), cwd=tmp_path)
    assert trx.returncode == 0, trx.stderr
    status = json.loads(run("chain", "status", "--json", cwd=tmp_path).stdout)
    assert set(status) == {"eth", "trx"}
    assert status["eth"]["transfers"] == 418
    assert (status["eth"]["min_height"], status["eth"]["max_height"]) == (17173049, 17173050)
    assert status["trx"]["transfers"] == 4 and status["trx"]["addresses"] == 4
    for info in status.values():
        assert set(info) == {
            "blocks",
            "transactions",
            "inputs",
            "outputs",
            "transfers",
            "addresses",
            "min_height",
            "max_height",
        }
    again = run("chain", "load", str(shared_data / ETH_DIR), cwd=tmp_path)
    assert again.returncode == 0 and again.stderr.count("unchanged") == 2
    table = run("chain", "status", cwd=tmp_path)
    assert table.returncode == 0 and "eth" in table.stdout and "trx" in table.stdout


def test_cli_bad_input_one_line_nothing_written(
    shared_data: Path, data_dir: Path, tmp_path: Path
) -> None:
    lines = (shared_data / ETH_DIR / "expected_token_transfers.json").read_text().splitlines()
    bad = tmp_path / "token_transfers.json"
    bad.write_text("\n".join([*lines[:200], "{not json", *lines[200:]]) + "\n")
    result = run("chain", "load", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}:line 201: bad JSON: Expecting property name enclosed in double quotes"
    ]
    assert not (data_dir / "chain" / "manifest.json").exists()
    assert not list((data_dir / "chain").rglob("*.parquet"))
    unknown = run("chain", "load", "--format", "nope", str(bad), cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown chain format" in unknown.stderr


def test_cli_real_bitcoin_block(shared_data: Path, data_dir: Path, tmp_path: Path) -> None:
    """Block 574,200 (raw, SegWit) through ``chain load``; needs the btc_raw reader."""
    if importlib.util.find_spec("sanctrace.chain.sources.btc_raw") is None:
        pytest.skip("the btc_raw reader is not there yet")
    result = run("chain", "load", str(shared_data / BLOCK_574200), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    status = json.loads(run("chain", "status", "--json", cwd=tmp_path).stdout)["btc"]
    assert status["blocks"] == 1
    assert status["transactions"] == 3315
    assert status["inputs"] == 5055
    assert status["outputs"] == 8150
    assert status["transfers"] == 0
    assert status["min_height"] == status["max_height"] == 574200
    assert status["addresses"] > 0
