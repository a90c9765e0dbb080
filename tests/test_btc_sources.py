"""Bitcoin chain readers: raw blocks, Core getblock JSON, the BigQuery layout; script types."""

from __future__ import annotations

import bz2
import csv
import dataclasses
import datetime as dt
import functools
import gzip
import hashlib
import json
import random
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanctrace.chain import _codecs, script
from sanctrace.chain.records import Block
from sanctrace.chain.script import base58check, classify, hash160, segwit_address
from sanctrace.chain.sources import btc_bigquery, btc_core_json, btc_raw
from sanctrace.chain.sources.base import ChainParseError, open_chain_file, read_head
from sanctrace.chain.sources.btc_raw import GENESIS_HASH, merkle_root, parse_block
from sanctrace.errors import SanctraceError

RAW = "chain/btc/raw_blocks"
BLOCK_574200 = "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"
BLOCK_540107 = "block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk"
CSV_2009 = "chain/btc/chain_2009_csv/sampledata_2009"
GENESIS_KEY = (
    "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb6"
    "49f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f"
)
G_COMPRESSED = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"


def counts(blocks: list[Block]) -> tuple[int, int, int]:
    txs = [tx for block in blocks for tx in block.txs]
    return len(txs), sum(len(t.inputs) for t in txs), sum(len(t.outputs) for t in txs)


@pytest.fixture(scope="module")
def raw_dir(shared_data: Path) -> Path:
    return shared_data / RAW


@pytest.fixture(scope="module")
def block_574200(raw_dir: Path) -> Block:
    return parse_block((raw_dir / BLOCK_574200).read_bytes(), BLOCK_574200)


@pytest.fixture(scope="module")
def block_540107(raw_dir: Path) -> Block:
    return parse_block((raw_dir / BLOCK_540107).read_bytes(), BLOCK_540107)


@pytest.fixture(scope="module")
def blocks_1_255(raw_dir: Path) -> list[Block]:
    return list(btc_raw.FORMAT.read([raw_dir / "blocks1-256.bz2"]))


# ------------------------------------------------------------------------------ base


def test_chain_parse_error_message(tmp_path):
    assert str(ChainParseError("a.blk", 12, "bad")) == "a.blk:offset 12: bad"
    assert str(ChainParseError("a.json", "line 3", "bad")) == "a.json:line 3: bad"
    assert str(ChainParseError("a.json", None, "bad")) == "a.json: bad"
    assert isinstance(ChainParseError("a", 0, "x"), SanctraceError)


def test_open_chain_file_decompresses(tmp_path):
    for name, opener in (("x.gz", gzip.open), ("x.bz2", bz2.open), ("x", open)):
        with opener(tmp_path / name, "wb") as fh:
            fh.write(b"payload")
        with open_chain_file(tmp_path / name) as fh:
            assert fh.read() == b"payload"
    with pytest.raises(ChainParseError, match="cannot open"):
        open_chain_file(tmp_path / "missing.blk")


# ---------------------------------------------------------------------------- script

KNOWN_SCRIPTS = [
    # the genesis coinbase pays to an uncompressed key (P2PK)
    ("41" + GENESIS_KEY + "ac", "p2pk", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
    (
        "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac",
        "p2pkh",
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    ),
    # the generator point, compressed: the address of private key 1
    ("21" + G_COMPRESSED + "ac", "p2pk", "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH"),
    # BIP-173 and BIP-350 test vectors
    (
        "0014751e76e8199196d454941c45d1b3a323f1433bd6",
        "p2wpkh",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    ),
    (
        "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
        "p2wsh",
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",
    ),
    (
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
        "p2tr",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ),
    ("6002751e", "witness_unknown", "bc1sw50qgdz25j"),
    (
        "5210751e76e8199196d454941c45d1b3a323",
        "witness_unknown",
        "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs",
    ),
    ("6a", "nulldata", None),
    ("6a0b68656c6c6f20776f726c64", "nulldata", None),
    ("6a4c0401020304", "nulldata", None),
    ("6aac", "nonstandard", None),  # OP_RETURN followed by a non-push
    ("6a4c05010203", "nonstandard", None),  # push runs past the end
    ("5121" + G_COMPRESSED + "21" + G_COMPRESSED + "52ae", "multisig", None),
    ("5221" + G_COMPRESSED + "21" + G_COMPRESSED + "51ae", "nonstandard", None),  # m > n
    ("0015" + "00" * 21, "nonstandard", None),  # v0 program of the wrong length
    ("2105" + G_COMPRESSED[2:] + "ac", "nonstandard", None),  # not a public key prefix
    ("", "nonstandard", None),
    ("52534b424c4f434b3a", "nonstandard", None),
]


@pytest.mark.parametrize(("script_hex", "kind", "address"), KNOWN_SCRIPTS)
def test_classify_known_scripts(script_hex, kind, address):
    assert classify(bytes.fromhex(script_hex)) == (kind, address)


def test_p2sh_address():
    h = bytes.fromhex("f815b036d9bbbce5e9f2a00abd1bf3dc91e95510")
    kind, address = classify(b"\xa9\x14" + h + b"\x87")
    assert kind == "p2sh" and address.startswith("3")
    assert _codecs.b58check_decode(address) == b"\x05" + h


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=40), st.integers(0, 16), st.binary(min_size=0, max_size=4))
def test_fast_encoders_match_codecs(payload, version, zeros):
    payload = b"\x00" * len(zeros) + payload
    assert base58check(b"\x00", payload) == _codecs.b58check_encode(b"\x00" + payload)
    if 2 <= len(payload) <= 40:
        assert segwit_address(version, payload) == _codecs.segwit_encode("bc", version, payload)
        assert segwit_address(version, payload, "tb") == _codecs.segwit_encode(
            "tb", version, payload
        )


def random_scripts(count: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    out = []
    for _ in range(count):
        # hashes with many zero bytes, to exercise base58's leading "1"s
        h = bytes(rnd.randrange(256) if rnd.randrange(3) else 0 for _ in range(32))
        size = rnd.randrange(2, 41)
        out.append(
            rnd.choice(
                [
                    b"\x76\xa9\x14" + h[:20] + b"\x88\xac",
                    b"\xa9\x14" + h[:20] + b"\x87",
                    b"\x00\x14" + h[:20],
                    b"\x00\x20" + h,
                    b"\x51\x20" + h,
                    bytes([0x51 + rnd.randrange(16), size]) + rnd.randbytes(size),
                    b"\x21\x02" + h + b"\xac",
                    b"\x6a\x04" + h[:4],
                ]
            )
        )
    return out


def test_bulk_address_derivation_matches_single():
    scripts = random_scripts(3000, seed=7)
    pending: list[bytes] = []
    deferred = [classify(s, pending) for s in scripts]
    derived = iter(script.derive_addresses(pending))
    resolved = [(k, next(derived) if k not in script.NO_ADDRESS_TYPES else a) for k, a in deferred]
    assert resolved == [classify(s) for s in scripts]
    assert next(derived, None) is None
    programs = [random.Random(i).randbytes(32) for i in range(200)]
    for version in (0, 1, 16):
        expected = [_codecs.segwit_encode("tb", version, p) for p in programs]
        assert script.segwit_many(version, programs, "tb") == expected
    raws = [b"\x05" + bytes(i % 3) + random.Random(i).randbytes(20 - i % 3) for i in range(200)]
    assert script.base58check_many(raws) == [_codecs.b58check_encode(r) for r in raws]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_classify_never_fails(data):
    kind, address = classify(data)
    assert kind in {"p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "p2pk", "multisig", "nulldata"} | {
        "nonstandard",
        "witness_unknown",
    }
    assert (address is None) == (kind in {"multisig", "nulldata", "nonstandard"})


def test_ripemd160_fallback(monkeypatch):
    key = bytes.fromhex(G_COMPRESSED)
    expected = hash160(key)
    assert expected.hex() == "751e76e8199196d454941c45d1b3a323f1433bd6"
    real_new = hashlib.new

    def no_ripemd(name, *args, **kwargs):
        if name == "ripemd160":
            raise ValueError("unsupported hash type ripemd160")
        return real_new(name, *args, **kwargs)

    monkeypatch.setattr(hashlib, "new", no_ripemd)
    fallback = script._ripemd160_factory()
    assert fallback(hashlib.sha256(key).digest()) == expected


def test_normalize_type():
    assert script.normalize_type("witness_v0_keyhash") == "p2wpkh"
    assert script.normalize_type("pubkey") == "p2pk"
    assert script.normalize_type("p2tr") == "p2tr"
    assert script.normalize_type(None) == "nonstandard"


# ------------------------------------------------------------------------ raw blocks


@pytest.mark.shared_data
def test_block_574200(block_574200):
    block = block_574200
    assert counts([block]) == (3315, 5055, 8150)
    assert block.hash == "0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2"
    assert block.height == 574200  # from the BIP-34 coinbase height
    assert block.txs[0].coinbase and block.txs[0].inputs[0].prev_index == 0xFFFFFFFF
    assert not any(tx.coinbase for tx in block.txs[1:])
    assert (
        merkle_root([bytes.fromhex(t.txid)[::-1] for t in block.txs])[::-1].hex()
        == block.merkle_root
    )
    assert sum(t.segwit for t in block.txs) == 1341
    assert all(t.vsize < t.size for t in block.txs if t.segwit)
    assert all(t.vsize == t.size for t in block.txs if not t.segwit)


@pytest.mark.shared_data
def test_block_540107(block_540107, raw_dir):
    assert counts([block_540107]) == (230, 7033, 472)
    assert block_540107.height == 540107
    size = (raw_dir / BLOCK_540107).stat().st_size
    assert 80 + 1 + sum(t.size for t in block_540107.txs) == size


@pytest.mark.shared_data
def test_framed_277647(raw_dir):
    blocks = list(btc_raw.FORMAT.read([raw_dir / "277647.dat.bz2"]))
    assert len(blocks) == 1 and blocks[0].height == 277647
    assert blocks[0].hash == "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8"
    assert counts(blocks) == (213, 733, 769)


@pytest.mark.shared_data
def test_blocks_1_to_255_linked(blocks_1_255):
    assert len(blocks_1_255) == 255
    assert blocks_1_255[0].prev_hash == GENESIS_HASH
    assert [b.height for b in blocks_1_255] == list(range(1, 256))
    for parent, child in zip(blocks_1_255, blocks_1_255[1:], strict=False):
        assert child.prev_hash == parent.hash
    assert counts(blocks_1_255) == (262, 262, 267)
    block_170 = blocks_1_255[169]
    assert block_170.hash == "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
    assert (
        block_170.txs[1].txid == "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
    )
    assert block_170.txs[1].outputs[0].address == "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"


@pytest.mark.shared_data
def test_blk_0_to_4(raw_dir):
    blocks = list(btc_raw.FORMAT.read([raw_dir / "blk_0_to_4.dat.bz2"]))
    assert [b.height for b in blocks] == [0, 1, 2, 3, 4]
    genesis = blocks[0]
    assert genesis.hash == GENESIS_HASH and genesis.prev_hash == "00" * 32
    assert genesis.txs[0].txid == "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
    out = genesis.txs[0].outputs[0]
    assert (out.value, out.script_type, out.address) == (
        5_000_000_000,
        "p2pk",
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    )


@pytest.mark.shared_data
def test_sniff(raw_dir, fixtures):
    for name in (
        BLOCK_574200,
        BLOCK_540107,
        "277647.dat.bz2",
        "blocks1-256.bz2",
        "blk_0_to_4.dat.bz2",
    ):
        head = read_head(raw_dir / name)
        assert btc_raw.FORMAT.sniff(raw_dir / name, head)
        assert not btc_core_json.FORMAT.sniff(raw_dir / name, head)
        assert not btc_bigquery.FORMAT.sniff(raw_dir / name, head)
    assert not btc_raw.FORMAT.sniff(raw_dir, read_head(raw_dir / "277647.utxostore.bz2"))
    sample = fixtures / "chain/btc/bigquery_block170.jsonl"
    assert btc_bigquery.FORMAT.sniff(sample, read_head(sample))
    assert not btc_raw.FORMAT.sniff(sample, read_head(sample))
    assert not btc_core_json.FORMAT.sniff(sample, read_head(sample))


def frame(data: bytes, magic: str = "f9beb4d9") -> bytes:
    return bytes.fromhex(magic) + len(data).to_bytes(4, "little") + data


@pytest.mark.shared_data
def test_hex_text_and_framed_copies(raw_dir, tmp_path, block_540107, block_574200):
    a, b = (raw_dir / BLOCK_540107).read_bytes(), (raw_dir / BLOCK_574200).read_bytes()
    (tmp_path / "540107.hex").write_text(a.hex() + "\n")
    assert btc_raw.FORMAT.sniff(tmp_path / "540107.hex", read_head(tmp_path / "540107.hex"))
    assert list(btc_raw.FORMAT.read([tmp_path / "540107.hex"])) == [block_540107]
    with gzip.open(tmp_path / "blk00000.dat.gz", "wb") as fh:
        fh.write(frame(a) + frame(b) + bytes(1000))  # Core pads blk files with zeros
    assert list(btc_raw.FORMAT.read([tmp_path / "blk00000.dat.gz"])) == [block_540107, block_574200]
    (tmp_path / "regtest.dat").write_bytes(frame(a, "fabfb5da"))
    assert list(btc_raw.FORMAT.read([tmp_path / "regtest.dat"])) == [block_540107]


# ------------------------------------------------------------------------ bad input


def read_raw(path: Path) -> list[Block]:
    return list(btc_raw.FORMAT.read([path]))


@pytest.mark.shared_data
def test_bad_raw_input(raw_dir, tmp_path):
    data = (raw_dir / BLOCK_540107).read_bytes()
    cases = {
        "truncated.blk": (data[:-100], r"offset \d+: block truncated or malformed"),
        "header.blk": (data[:50], r"offset 0: block truncated: 50 bytes"),
        "trailing.blk": (data + b"\x01", rf"offset {len(data)}: 1 bytes left over"),
        # the last byte of the first input's prevout in the second transaction
        "flipped.blk": (
            data[:200] + bytes([data[200] ^ 1]) + data[201:],
            r"offset 36: merkle root mismatch",
        ),
        "magic.dat": (
            frame(data) + frame(data, "deadbeef"),
            rf"offset {len(data) + 8}: wrong magic deadbeef",
        ),
        "first-magic.dat": (frame(data, "deadbeef"), r"offset 0: unknown magic deadbeef"),
        "length.dat": (
            frame(data)[:4] + (9_000_000).to_bytes(4, "little") + data,
            r"offset 4: absurd block length 9000000",
        ),
        "short.dat": (frame(data)[:-10], r"offset 4: block length \d+ runs past the end"),
        "padding.dat": (
            frame(data) + bytes(20) + b"\x01",
            r"offset \d+: data after the zero padding",
        ),
        "empty.blk": (b"", r"offset 0: block truncated: 0 bytes"),
    }
    for name, (content, pattern) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ChainParseError, match=re.escape(str(tmp_path / name)) + ":" + pattern):
            read_raw(tmp_path / name)
    (tmp_path / "bad.dat.bz2").write_bytes(b"BZh91AY&SY" + b"\x00" * 50)
    with pytest.raises(ChainParseError, match="bad.dat.bz2"):
        read_raw(tmp_path / "bad.dat.bz2")


@pytest.mark.shared_data
def test_corrupted_witness_is_caught(raw_dir, block_574200):
    data = bytearray((raw_dir / BLOCK_574200).read_bytes())
    # A witness byte changes no txid, only the BIP-141 commitment: flip the byte before the
    # locktime of the last segwit transaction (its last witness byte).
    end = 80 + 3  # 3,315 transactions: a 3-byte count
    for tx in block_574200.txs:
        end += tx.size
        if tx.segwit:
            pos = end - 5
    assert end == len(data)
    data[pos] ^= 0xFF
    with pytest.raises(ChainParseError, match="witness commitment mismatch"):
        parse_block(bytes(data), "x.blk")


MUTATIONS = st.tuples(
    st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 255)), max_size=4),
    st.integers(0, 10**7),
    st.booleans(),
)


@functools.cache
def block_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return bz2.decompress(data)[8:] if path.suffix == ".bz2" else data


def check_mutation(original: bytes, mutation) -> None:
    """A mutated block fails with ChainParseError, or parses with a verified merkle root."""
    flips, cut, truncate = mutation
    buf = bytearray(original)
    for pos, value in flips:
        buf[pos % len(buf)] = value
    if truncate:
        buf = buf[: cut % (len(buf) + 1)]
    try:
        block = parse_block(bytes(buf), "mutated.blk")
    except ChainParseError as exc:
        assert str(exc).startswith("mutated.blk:offset ")
        return
    txids = [bytes.fromhex(t.txid)[::-1] for t in block.txs]
    assert merkle_root(txids)[::-1].hex() == block.merkle_root
    assert bytes.fromhex(block.merkle_root)[::-1] == bytes(buf[36:68])


@pytest.mark.shared_data
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(MUTATIONS)
def test_mutated_real_block(raw_dir, mutation):
    check_mutation(block_bytes(raw_dir / "277647.dat.bz2"), mutation)


@pytest.mark.shared_data
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(MUTATIONS)
def test_mutated_real_segwit_block(raw_dir, mutation):
    check_mutation(block_bytes(raw_dir / BLOCK_574200), mutation)


# ------------------------------------------------------------------- Core getblock JSON


def to_btc(sats: int) -> str:
    return f"{Decimal(sats) / 100_000_000:.8f}"


def getblock_v2(block: Block) -> dict:
    """Bitcoin Core's getblock <hash> 2 layout for a parsed block (values as BTC marks)."""
    txs = []
    for tx in block.txs:
        vin = []
        for txin in tx.inputs:
            item = (
                {"coinbase": "04ffff001d0104"}
                if txin.coinbase
                else {"txid": txin.prev_txid, "vout": txin.prev_index}
            )
            if tx.segwit:
                item["txinwitness"] = ["00"]
            vin.append({**item, "sequence": txin.sequence})
        vout = [
            {"value": f"@{o.value}@", "n": n, "scriptPubKey": {"hex": o.script_hex, "type": "x"}}
            for n, o in enumerate(tx.outputs)
        ]
        txs.append(
            {
                "txid": tx.txid,
                "hash": ("ff" * 32) if tx.segwit else tx.txid,
                "version": tx.version,
                "size": tx.size,
                "vsize": tx.vsize,
                "weight": tx.vsize * 4,
                "locktime": tx.locktime,
                "vin": vin,
                "vout": vout,
            }
        )
    doc = {"hash": block.hash, "confirmations": 1, "height": block.height, "version": 1}
    doc |= {"merkleroot": block.merkle_root, "time": block.time, "nTx": len(txs), "tx": txs}
    if block.prev_hash != "00" * 32:
        doc["previousblockhash"] = block.prev_hash
    return doc


def dump_core(doc, indent=None) -> str:
    """JSON with exact decimal BTC values, as Core prints them."""
    return re.sub(r'"@(\d+)@"', lambda m: to_btc(int(m.group(1))), json.dumps(doc, indent=indent))


def read_core(path: Path) -> list[Block]:
    return list(btc_core_json.FORMAT.read([path]))


@pytest.mark.shared_data
def test_core_json_round_trip(tmp_path, block_540107, block_574200, blocks_1_255):
    single = tmp_path / "540107.json"
    single.write_text(dump_core(getblock_v2(block_540107), indent=2))
    assert btc_core_json.FORMAT.sniff(single, read_head(single))
    assert read_core(single) == [block_540107]
    lines = tmp_path / "blocks.jsonl.gz"
    with gzip.open(lines, "wt") as fh:
        for block in (block_574200, *blocks_1_255[:3]):
            fh.write(dump_core(getblock_v2(block)) + "\n")
    assert read_core(lines) == [block_574200, *blocks_1_255[:3]]
    rpc = tmp_path / "rpc.json"
    rpc.write_text(dump_core({"result": getblock_v2(blocks_1_255[169]), "error": None, "id": 1}))
    assert read_core(rpc) == [blocks_1_255[169]]


@pytest.mark.shared_data
def test_core_json_errors(tmp_path, blocks_1_255):
    doc = getblock_v2(blocks_1_255[169])
    good = dump_core(doc)
    cases = {
        "badjson.json": (good[:-5], r"line 1: bad JSON"),
        "fraction.json": (
            good.replace("10.00000000", "10.000000001"),
            r"tx 1: vout 0: value 10.000000001 is not a whole number of satoshi",
        ),
        "merkle.json": (good.replace(doc["tx"][1]["txid"], "ab" * 32), r"merkle root mismatch"),
        "missing.json": (
            good.replace('"vout": 0', '"vout_": 0'),
            r"tx 1: vin 0: missing or non-integer 'vout'",
        ),
        "verbosity1.json": (
            json.dumps({**doc, "tx": [t["txid"] for t in doc["tx"]]}),
            r"verbosity 2",
        ),
        "lines.jsonl": (good + "\n" + good + "\n{oops\n", r"line 3: bad JSON"),
        "array.json": ("[" + good + ", 5]", r":line 1 block 1: expected a JSON object"),
    }
    for name, (content, pattern) in cases.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(ChainParseError, match=re.escape(str(tmp_path / name)) + ".*" + pattern):
            read_core(tmp_path / name)


def test_core_json_exact_values_and_prevout(tmp_path):
    assert btc_core_json.btc_to_satoshi(Decimal("0.1")) == 10_000_000
    assert btc_core_json.btc_to_satoshi(Decimal("20999999.97690000")) == 2_099_999_997_690_000
    p2wpkh = "0014751e76e8199196d454941c45d1b3a323f1433bd6"
    tx = {
        "txid": "11" * 32,
        "vin": [
            {
                "txid": "22" * 32,
                "vout": 3,
                "sequence": 5,
                "prevout": {"value": 0.3, "scriptPubKey": {"hex": p2wpkh}},
            }
        ],
        "vout": [
            {
                "value": 0.29999,
                "n": 0,
                "scriptPubKey": {
                    "type": "pubkeyhash",
                    "address": "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH",
                },
            }
        ],
    }
    doc = {"hash": "33" * 32, "merkleroot": "11" * 32, "time": 7, "tx": [tx]}
    (tmp_path / "b.json").write_text(json.dumps(doc))
    [block] = read_core(tmp_path / "b.json")
    txin, out = block.txs[0].inputs[0], block.txs[0].outputs[0]
    assert (txin.value, txin.address) == (30_000_000, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    assert (out.value, out.script_type, out.address) == (
        29_999_000,
        "p2pkh",
        "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH",
    )
    assert block.height is None and block.prev_hash == "00" * 32


# ------------------------------------------------------------------------- BigQuery


def bigquery_rows(block: Block, timestamp=None) -> list[dict]:
    """The crypto_bitcoin.transactions rows of a parsed block (coinbase input dropped)."""
    rows = []
    for tx in block.txs:
        inputs = [
            {
                "index": i,
                "spent_transaction_hash": t.prev_txid,
                "spent_output_index": t.prev_index,
                "sequence": t.sequence,
                "type": None,
                "addresses": [],
                "value": None,
            }
            for i, t in enumerate(tx.inputs)
            if not t.coinbase
        ]
        outputs = [
            {
                "index": n,
                "script_hex": o.script_hex,
                "type": "nonstandard",
                "addresses": [],
                "value": o.value,
            }
            for n, o in enumerate(tx.outputs)
        ]
        rows.append(
            {
                "hash": tx.txid,
                "size": tx.size,
                "virtual_size": tx.vsize,
                "version": tx.version,
                "lock_time": tx.locktime,
                "block_hash": block.hash,
                "block_number": block.height,
                "block_timestamp": block.time if timestamp is None else timestamp(block.time),
                "input_count": len(inputs),
                "output_count": len(outputs),
                "is_coinbase": tx.coinbase,
                "inputs": inputs,
                "outputs": outputs,
            }
        )
    return rows


def without_header(block: Block) -> Block:
    """What the transactions table can say about a block: no parent hash, no merkle root."""
    return dataclasses.replace(block, prev_hash="", merkle_root="")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    with open(path, "w") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def read_bq(path: Path) -> list[Block]:
    return list(btc_bigquery.FORMAT.read([path]))


@pytest.mark.shared_data
def test_bigquery_jsonl_round_trip(tmp_path, block_574200, blocks_1_255):
    def utc_text(t: int) -> str:
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    rows = bigquery_rows(block_574200, utc_text) + bigquery_rows(blocks_1_255[0])
    rows[5]["outputs"][0]["value"] = str(rows[5]["outputs"][0]["value"])  # NUMERIC as text
    rows[6]["outputs"][0]["value"] = float(rows[6]["outputs"][0]["value"])
    write_jsonl(tmp_path / "tx.jsonl", rows)
    assert btc_bigquery.FORMAT.sniff(tmp_path / "tx.jsonl", read_head(tmp_path / "tx.jsonl"))
    blocks = read_bq(tmp_path / "tx.jsonl")
    assert blocks == [without_header(block_574200), without_header(blocks_1_255[0])]
    assert counts(blocks[:1]) == (3315, 5055, 8150)


@pytest.mark.shared_data
def test_bigquery_unordered_rows(tmp_path, blocks_1_255):
    a, b = bigquery_rows(blocks_1_255[169]), bigquery_rows(blocks_1_255[180])
    write_jsonl(tmp_path / "mixed.jsonl", [a[0], b[0], a[1], b[1]])
    blocks = read_bq(tmp_path / "mixed.jsonl")
    assert sorted(blocks, key=lambda x: x.height) == [
        without_header(blocks_1_255[169]),
        without_header(blocks_1_255[180]),
    ]


@pytest.mark.shared_data
def test_bigquery_parquet_round_trip(tmp_path, block_540107, block_574200):
    import pyarrow as pa
    import pyarrow.parquet as pq

    numeric = pa.decimal128(38, 9)  # BigQuery NUMERIC
    inp = pa.struct(
        [
            ("index", pa.int64()),
            ("spent_transaction_hash", pa.string()),
            ("spent_output_index", pa.int64()),
            ("sequence", pa.int64()),
            ("type", pa.string()),
            ("addresses", pa.list_(pa.string())),
            ("value", numeric),
        ]
    )
    out = pa.struct(
        [
            ("index", pa.int64()),
            ("script_hex", pa.string()),
            ("type", pa.string()),
            ("addresses", pa.list_(pa.string())),
            ("value", numeric),
        ]
    )
    schema = pa.schema(
        [("hash", pa.string()), ("size", pa.int64()), ("virtual_size", pa.int64())]
        + [("version", pa.int64()), ("lock_time", pa.int64()), ("block_hash", pa.string())]
        + [("block_number", pa.int64()), ("block_timestamp", pa.timestamp("us", tz="UTC"))]
        + [("input_count", pa.int64()), ("output_count", pa.int64()), ("is_coinbase", pa.bool_())]
        + [("inputs", pa.list_(inp)), ("outputs", pa.list_(out))]
    )

    def as_datetime(t: int) -> dt.datetime:
        return dt.datetime.fromtimestamp(t, dt.UTC)

    rows = bigquery_rows(block_540107, as_datetime) + bigquery_rows(block_574200, as_datetime)
    for row in rows:
        for o in row["outputs"]:
            o["value"] = Decimal(o["value"])
    path = tmp_path / "transactions.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=1000)
    assert btc_bigquery.FORMAT.sniff(path, read_head(path))
    assert not btc_raw.FORMAT.sniff(path, read_head(path))
    assert read_bq(path) == [without_header(block_540107), without_header(block_574200)]
    pq.write_table(pa.table({"hash": ["x"]}), tmp_path / "other.parquet")
    assert not btc_bigquery.FORMAT.sniff(
        tmp_path / "other.parquet", read_head(tmp_path / "other.parquet")
    )
    with pytest.raises(ChainParseError, match="no column block_hash"):
        read_bq(tmp_path / "other.parquet")


def test_bigquery_sample_fixture(fixtures):
    [block] = read_bq(fixtures / "chain/btc/bigquery_block170.jsonl")
    assert (block.height, block.time) == (170, 1231731025)
    coinbase, spend = block.txs
    assert coinbase.coinbase and len(coinbase.inputs) == 1
    assert spend.inputs[0].value == 5_000_000_000
    assert spend.inputs[0].address == "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
    assert [(o.value, o.script_type, o.address) for o in spend.outputs] == [
        (1_000_000_000, "p2pk", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"),
        (4_000_000_000, "p2pk", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"),
    ]


@pytest.mark.shared_data
def test_bigquery_sample_matches_raw_block(fixtures, blocks_1_255):
    [block] = read_bq(fixtures / "chain/btc/bigquery_block170.jsonl")
    raw = without_header(blocks_1_255[169])
    for tx in raw.txs:
        for o in tx.outputs:
            o.script_hex = ""
    raw.txs[1].inputs[0].value = 5_000_000_000
    raw.txs[1].inputs[0].address = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
    assert block == raw


def test_bigquery_errors(tmp_path, fixtures):
    lines = (fixtures / "chain/btc/bigquery_block170.jsonl").read_text().splitlines()
    row = json.loads(lines[1])
    cases = {
        "fraction.jsonl": (
            {"outputs": [{**row["outputs"][0], "value": "1.5"}]},
            r"line 2: output 0 value '1.5' is not a whole",
        ),
        "float.jsonl": (
            {"outputs": [{**row["outputs"][0], "value": 0.5}]},
            r"line 2: output 0 value 0.5 is not a whole",
        ),
        "hash.jsonl": ({"hash": "xyz"}, r"line 2: hash 'xyz' is not a 32-byte hex hash"),
        "time.jsonl": ({"block_timestamp": "yesterday"}, r"line 2: block_timestamp 'yesterday'"),
        "number.jsonl": ({"block_number": 171}, r"line 2: block .* has block_number 170 and 171"),
    }
    for name, (change, pattern) in cases.items():
        (tmp_path / name).write_text(lines[0] + "\n" + json.dumps({**row, **change}) + "\n")
        with pytest.raises(ChainParseError, match=re.escape(str(tmp_path / name)) + ":" + pattern):
            read_bq(tmp_path / name)
    (tmp_path / "bad.jsonl").write_text(lines[0] + "\n\n" + lines[1][:-3] + "\n")
    with pytest.raises(ChainParseError, match=r"bad.jsonl:line 3: bad JSON"):
        read_bq(tmp_path / "bad.jsonl")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1" + b"\x00" * 20)
    with pytest.raises(ChainParseError, match=r"bad.parquet: cannot read Parquet"):
        read_bq(tmp_path / "bad.parquet")


# -------------------------------------------------------------------------- 2009 CSV


def csv_2009_to_bigquery(folder: Path, out: Path) -> int:
    """Convert the tidy 2009 chain CSV into BigQuery transactions rows (JSON lines).

    ``output_index`` is ``tx_index * 10 + n``; ``tx_input.spent_index`` is the source
    transaction. The CSV has no block hashes or times: the rows get a stand-in hash from the
    height. Its txids lose a trailing "b" (a defect of that data set): it is put back; 38
    rows name an address index that adr_hash.csv lacks: they get no address.
    """

    def rows(name):
        with open(folder / name, newline="") as fh:
            yield from csv.DictReader(fh)

    hashes = {int(r["tx_index"]): r["tx_hash"] for r in rows("tx_hash.csv")}
    hashes = {i: h if len(h) == 64 else h + "b" for i, h in hashes.items()}
    addresses = {r["adr_index"]: r["adr_hash"] for r in rows("adr_hash.csv")}
    heights = {int(r["tx_index"]): int(r["block_index"]) for r in rows("tx_height.csv")}
    outputs: dict[int, list[dict]] = {}
    for r in rows("tx_output.csv"):
        tx = int(r["tx_index"])
        n = int(r["output_index"]) - 10 * tx
        known = [addresses[r["adr_index"]]] if r["adr_index"] in addresses else []
        outputs.setdefault(tx, []).append(
            {"index": n, "type": "pubkey", "addresses": known, "value": r["output_value"]}
        )
    inputs: dict[int, list[dict]] = {}
    for r in rows("tx_input.csv"):
        source = int(r["spent_index"])
        inputs.setdefault(int(r["tx_index"]), []).append(
            {
                "spent_transaction_hash": hashes[source],
                "spent_output_index": int(r["output_index"]) - 10 * source,
                "type": "pubkeyhash",
                "addresses": [addresses[r["adr_index"]]] if r["adr_index"] in addresses else [],
                "value": r["input_value"],
            }
        )
    with open(out, "w") as fh:
        for tx in sorted(hashes):
            height = heights[tx]
            row = {"hash": hashes[tx], "block_hash": f"{height:064x}", "block_number": height}
            row |= {"block_timestamp": 0, "is_coinbase": tx not in inputs}
            row |= {"inputs": inputs.get(tx, []), "outputs": outputs[tx]}
            fh.write(json.dumps(row) + "\n")
    return len(hashes)


@pytest.mark.shared_data
def test_chain_2009_csv(shared_data, tmp_path, blocks_1_255):
    out = tmp_path / "transactions_2009.jsonl"
    assert csv_2009_to_bigquery(shared_data / CSV_2009, out) == 32_709
    blocks = read_bq(out)
    assert sum(len(b.txs) for b in blocks) == 32_709
    assert [b.height for b in blocks] == list(range(len(blocks)))
    assert blocks[0].txs[0].outputs[0].address == "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    raw_txids = [t.txid for b in blocks_1_255 for t in b.txs]
    assert [t.txid for b in blocks[1:256] for t in b.txs] == raw_txids


# ------------------------------------------------------------------------ throughput


@pytest.mark.shared_data
def test_throughput_574200(raw_dir, capsys):
    data = (raw_dir / BLOCK_574200).read_bytes()
    start = time.perf_counter()
    for _ in range(10):
        block = parse_block(data)
    elapsed = time.perf_counter() - start
    rate = 10 * len(block.txs) / elapsed
    with capsys.disabled():
        print(f"\nbtc_raw: block 574,200 x10 in {elapsed:.2f}s = {rate:,.0f} tx/s")
    assert rate > 1000
