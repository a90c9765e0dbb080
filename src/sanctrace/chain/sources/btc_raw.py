"""Bitcoin blocks in wire format: single raw blocks and ``blk*.dat`` framed files.

A single raw block file holds one serialised block (binary, or the hex text that
``getblock <hash> 0`` prints). A framed file holds ``magic(4) | length(4, LE) | block`` records,
as Bitcoin Core's ``blk*.dat`` files do. Either may be bzip2- or gzip-compressed; offsets in
errors count decompressed bytes.

Every txid is recomputed from the bytes, every block's merkle root checked against its header,
and the BIP-141 witness commitment checked when the block carries witness data.

Raw blocks do not carry their height. ``read`` takes it from the parent when the parent was
read earlier in the same file set (the genesis block counts as read, so a file starting at
block 1 links), else from the BIP-34 height in the coinbase of version 2+ blocks; otherwise it
is None. Blocks are streamed: memory is one block plus a window of recent block hashes.
Addresses are derived for mainnet whatever the magic says.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Iterator
from pathlib import Path
from struct import error as StructError
from struct import unpack_from

from sanctrace.chain.records import Block, Transfer, Tx, TxIn, TxOut
from sanctrace.chain.script import NO_ADDRESS_TYPES, classify, derive_addresses, sha256d
from sanctrace.chain.sources.base import ChainFile, ChainParseError, open_chain_file

MAGICS = {
    bytes.fromhex("f9beb4d9"): "mainnet",
    bytes.fromhex("0b110907"): "testnet3",
    bytes.fromhex("1c163f28"): "testnet4",
    bytes.fromhex("0a03cf40"): "signet",
    bytes.fromhex("fabfb5da"): "regtest",
}
GENESIS_HASH = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
MAX_BLOCK_BYTES = 8_000_000  # twice the 4 MB weight limit: anything larger is corrupt framing
MAX_MONEY = 21_000_000 * 100_000_000
MAX_BIP34_HEIGHT = 10_000_000
LINK_WINDOW = 20_000  # block hashes remembered for linking: Core writes blocks nearly in order

_NULL_TXID = bytes(32)
_NULL_TXID_HEX = "00" * 32
_COMMITMENT_PREFIX = "6a24aa21a9ed"  # OP_RETURN, push 36, the BIP-141 commitment header
_COINBASE_INDEX = 0xFFFFFFFF
_HEX_DIGITS = frozenset(string.hexdigits.encode() + string.whitespace.encode())
_sha256 = hashlib.sha256


def merkle_root(txids: list[bytes]) -> bytes:
    """Merkle root (internal byte order) of txids in internal byte order."""
    level = txids
    if not level:
        return _NULL_TXID
    while len(level) > 1:
        if len(level) & 1:
            level = level + [level[-1]]
        level = [
            _sha256(_sha256(level[i] + level[i + 1]).digest()).digest()
            for i in range(0, len(level), 2)
        ]
    return level[0]


def bip34_height(version: int, coinbase_script: bytes) -> int | None:
    """Height pushed first in a version 2+ coinbase scriptSig (BIP-34), when plausible."""
    if version < 2 or not coinbase_script:
        return None
    op = coinbase_script[0]
    if 0x51 <= op <= 0x60:  # OP_1 … OP_16 encode heights 1 … 16
        return op - 0x50
    if 1 <= op <= 4 and len(coinbase_script) > op:
        raw = coinbase_script[1 : 1 + op]
        if raw[-1] & 0x80:  # script numbers are signed: negative is no height
            return None
        height = int.from_bytes(raw, "little")
        return height if height <= MAX_BIP34_HEIGHT else None
    return None


def parse_block(data: bytes, path: Path | str = "<bytes>", offset: int = 0) -> Block:
    """Parse one serialised block; ``offset`` is where it starts in ``path`` (for errors).

    The block must use all of ``data``. Its height is None unless BIP-34 or the genesis hash
    says; ``read`` links heights across a file set.
    """
    buf = bytes(data)
    size = len(buf)
    if size < 81:
        raise ChainParseError(path, offset, f"block truncated: {size} bytes, a header needs 80")
    version, prev_raw, merkle_raw, time = unpack_from("<i32s32sI", buf, 0)
    block_hash = sha256d(buf[:80])[::-1].hex()
    view = memoryview(buf)
    txs: list[Tx] = []
    txids: list[bytes] = []
    wtxids: list[bytes] = []
    any_witness = False
    coinbase_script = b""
    coinbase_witness: list[bytes] = []
    # Addresses are encoded in one batch at the end: several times faster per address.
    pending: list[bytes] = []
    pending_outputs: list[TxOut] = []
    pos = 80
    tx_index = -1
    try:
        count = buf[pos]
        pos += 1
        if count >= 0xFD:
            count, pos = _wide_varint(buf, pos, count)
        if count == 0:
            raise ChainParseError(path, offset + pos, "block has no transactions")
        if count > (size - pos) // 60:  # 60 bytes: the smallest possible transaction
            raise ChainParseError(
                path, offset + 80, f"transaction count {count} cannot fit in {size} bytes"
            )
        for tx_index in range(count):
            start = pos
            tx_version = unpack_from("<i", buf, pos)[0]
            pos += 4
            segwit = buf[pos] == 0
            if segwit:
                if buf[pos + 1] != 1:
                    raise ChainParseError(
                        path, offset + pos, f"transaction {tx_index}: no inputs or bad segwit flag"
                    )
                pos += 2
            body_start = pos
            n_in = buf[pos]
            pos += 1
            if n_in >= 0xFD:
                n_in, pos = _wide_varint(buf, pos, n_in)
            if n_in == 0 or n_in > (size - pos) // 41:
                raise ChainParseError(
                    path, offset + pos, f"transaction {tx_index}: bad input count {n_in}"
                )
            inputs: list[TxIn] = []
            for _ in range(n_in):
                prev = buf[pos : pos + 32]
                prev_index = unpack_from("<I", buf, pos + 32)[0]
                slen = buf[pos + 36]
                pos += 37
                if slen >= 0xFD:
                    slen, pos = _wide_varint(buf, pos, slen)
                script_start = pos
                pos += slen
                sequence = unpack_from("<I", buf, pos)[0]
                pos += 4
                if tx_index == 0 and prev == _NULL_TXID and prev_index == _COINBASE_INDEX:
                    coinbase_script = buf[script_start : script_start + slen]
                    inputs.append(TxIn(_NULL_TXID_HEX, prev_index, sequence, True))
                else:
                    inputs.append(TxIn(prev[::-1].hex(), prev_index, sequence))
            n_out = buf[pos]
            pos += 1
            if n_out >= 0xFD:
                n_out, pos = _wide_varint(buf, pos, n_out)
            if n_out == 0 or n_out > (size - pos) // 9:
                raise ChainParseError(
                    path, offset + pos, f"transaction {tx_index}: bad output count {n_out}"
                )
            outputs: list[TxOut] = []
            for _ in range(n_out):
                value = unpack_from("<q", buf, pos)[0]
                slen = buf[pos + 8]
                pos += 9
                if slen >= 0xFD:
                    slen, pos = _wide_varint(buf, pos, slen)
                if not 0 <= value <= MAX_MONEY:
                    raise ChainParseError(
                        path,
                        offset + pos - 9,
                        f"transaction {tx_index}: output value {value} out of range",
                    )
                script = buf[pos : pos + slen]
                pos += slen
                script_type, address = classify(script, pending)
                out = TxOut(value, script_type, address, script.hex())
                outputs.append(out)
                if address is None and script_type not in NO_ADDRESS_TYPES:
                    pending_outputs.append(out)
            body_end = pos
            if segwit:
                for _ in range(n_in):
                    items = buf[pos]
                    pos += 1
                    if items >= 0xFD:
                        items, pos = _wide_varint(buf, pos, items)
                    if items > size - pos:
                        raise ChainParseError(
                            path,
                            offset + pos,
                            f"transaction {tx_index}: bad witness item count {items}",
                        )
                    for _ in range(items):
                        ilen = buf[pos]
                        pos += 1
                        if ilen >= 0xFD:
                            ilen, pos = _wide_varint(buf, pos, ilen)
                        if tx_index == 0:
                            coinbase_witness.append(buf[pos : pos + ilen])
                        pos += ilen
            locktime = unpack_from("<I", buf, pos)[0]
            pos += 4
            total = pos - start
            if segwit:
                stripped = (
                    view[start : start + 4].tobytes()
                    + view[body_start:body_end].tobytes()
                    + buf[pos - 4 : pos]
                )
                txid_raw = sha256d(stripped)
                weight = len(stripped) * 3 + total
                wtxids.append(_sha256(_sha256(view[start:pos]).digest()).digest())
                any_witness = True
            else:
                txid_raw = _sha256(_sha256(view[start:pos]).digest()).digest()
                weight = total * 4
                wtxids.append(txid_raw)
            txids.append(txid_raw)
            txs.append(
                Tx(
                    txid_raw[::-1].hex(),
                    inputs,
                    outputs,
                    tx_version,
                    locktime,
                    total,
                    (weight + 3) // 4,
                    segwit,
                )
            )
    except (StructError, IndexError, OverflowError):
        where = f"transaction {tx_index}" if tx_index >= 0 else "transaction count"
        raise ChainParseError(
            path, offset + min(pos, size), f"block truncated or malformed: data ends inside {where}"
        ) from None
    if pos != size:
        raise ChainParseError(
            path, offset + pos, f"{size - pos} bytes left over after the block's last transaction"
        )
    computed = merkle_root(txids)
    if computed != merkle_raw:
        raise ChainParseError(
            path,
            offset + 36,
            f"merkle root mismatch in block {block_hash}: header says {merkle_raw[::-1].hex()}, "
            f"transactions give {computed[::-1].hex()}",
        )
    if any_witness:
        _check_witness_commitment(path, offset, block_hash, txs[0], wtxids, coinbase_witness)
    for out, address in zip(pending_outputs, derive_addresses(pending), strict=True):
        out.address = address
    height = 0 if block_hash == GENESIS_HASH else bip34_height(version, coinbase_script)
    return Block("btc", height, block_hash, prev_raw[::-1].hex(), merkle_raw[::-1].hex(), time, txs)


def _check_witness_commitment(
    path: Path | str,
    offset: int,
    block_hash: str,
    coinbase: Tx,
    wtxids: list[bytes],
    coinbase_witness: list[bytes],
) -> None:
    """BIP-141: the coinbase commits to the witness data, which the merkle root does not cover."""
    commitment = None
    for out in reversed(coinbase.outputs):  # the last matching output counts
        if len(out.script_hex) >= 76 and out.script_hex.startswith(_COMMITMENT_PREFIX):
            commitment = bytes.fromhex(out.script_hex[12:76])
            break
    where = offset + 80
    if commitment is None:
        raise ChainParseError(
            path, where, f"block {block_hash} has witness data but no witness commitment"
        )
    if len(coinbase_witness) != 1 or len(coinbase_witness[0]) != 32:
        raise ChainParseError(
            path, where, f"block {block_hash}: coinbase witness is not one 32-byte value"
        )
    wtxids[0] = _NULL_TXID  # the coinbase's own wtxid counts as zero
    if sha256d(merkle_root(wtxids) + coinbase_witness[0]) != commitment:
        raise ChainParseError(path, where, f"witness commitment mismatch in block {block_hash}")


def _wide_varint(buf: bytes, pos: int, first: int) -> tuple[int, int]:
    """The value of a CompactSize whose first byte (already read) is 0xFD, 0xFE or 0xFF."""
    if first == 0xFD:
        return unpack_from("<H", buf, pos)[0], pos + 2
    if first == 0xFE:
        return unpack_from("<I", buf, pos)[0], pos + 4
    return unpack_from("<Q", buf, pos)[0], pos + 8


_MIN_SNIFF = 80 + 9 + 4 + 2 + 1 + 36  # header, count, version, marker, inputs, prevout


def _looks_like_block(data: bytes) -> bool:
    """A block header followed by a transaction count and a coinbase input."""
    if len(data) < _MIN_SNIFF:
        return False
    pos = 81 if data[80] < 0xFD else 83 if data[80] == 0xFD else 85
    pos += 4
    if data[pos] == 0 and data[pos + 1] == 1:
        pos += 2
    return data[pos] == 1 and data[pos + 1 : pos + 37] == _NULL_TXID + b"\xff\xff\xff\xff"


def _hex_prefix(head: bytes) -> bytes | None:
    """The bytes that hex text at the start of ``head`` encodes, or None when it is not hex."""
    text = bytes(head).strip()
    if len(text) < 2 or not _HEX_DIGITS.issuperset(text):
        return None
    digits = bytes(c for c in text if chr(c) in string.hexdigits)
    return bytes.fromhex(digits[: len(digits) & ~1].decode())


class BtcRawFormat:
    """Raw Bitcoin blocks (single ``.blk`` files, hex text, or ``blk*.dat`` framing)."""

    name = "btc_raw"
    chain = "btc"
    description = "Bitcoin blocks in wire format: raw or hex single blocks, blk*.dat framed files"

    def sniff(self, path: Path, head: bytes) -> bool:
        if head[:4] in MAGICS:
            return True
        if _looks_like_block(head):
            return True
        decoded = _hex_prefix(head[:1024])
        return decoded is not None and _looks_like_block(decoded)

    def read(self, paths: list[Path]) -> Iterator[Block | Transfer]:
        # The genesis block is the parent of block 1 even when a file set starts at block 1.
        heights: dict[str, int] = {GENESIS_HASH: 0}
        for path in paths:
            for block in _read_file(Path(path)):
                parent = heights.get(block.prev_hash)
                if parent is not None and block.hash != GENESIS_HASH:
                    block.height = parent + 1
                if block.height is not None:
                    heights[block.hash] = block.height
                    if len(heights) > LINK_WINDOW:
                        del heights[next(iter(heights))]
                yield block


def _read_file(path: Path) -> Iterator[Block]:
    with open_chain_file(path) as fh:
        first = _read(fh, 4, path, 0)
        if first in MAGICS:
            yield from _read_framed(path, fh, first)
        else:
            rest = _read(fh, 2 * MAX_BLOCK_BYTES + 4, path, 4)
            data = first + rest
            if len(data) > 2 * MAX_BLOCK_BYTES:
                raise ChainParseError(path, 0, "not a block: file too large for one raw block")
            if data and _HEX_DIGITS.issuperset(data[:4096]) and not _looks_like_block(data):
                try:
                    data = bytes.fromhex(data.decode("ascii"))
                except ValueError as exc:
                    raise ChainParseError(path, None, f"bad hex block text: {exc}") from None
            if len(data) >= _MIN_SNIFF and not _looks_like_block(data):
                raise ChainParseError(
                    path, 0, f"unknown magic {first.hex()}, and no block header with a coinbase"
                )
            yield parse_block(data, path, 0)


def _read(fh: ChainFile, size: int, path: Path, offset: int) -> bytes:
    try:
        return fh.read(size)
    except (OSError, EOFError, ValueError) as exc:
        raise ChainParseError(path, offset, f"cannot decompress or read: {exc}") from None


def _read_framed(path: Path, fh: ChainFile, magic: bytes) -> Iterator[Block]:
    offset = 0
    frame = magic + _read(fh, 4, path, 4)
    while frame:
        if len(frame) < 8:
            if not frame.strip(b"\x00"):
                break
            raise ChainParseError(
                path, offset, f"file ends inside a block frame header ({len(frame)} bytes)"
            )
        if frame[:4] != magic:
            if not frame.strip(b"\x00"):
                _expect_zeros(path, fh, offset + 8)  # Core preallocates blk files with zeros
                return
            raise ChainParseError(
                path,
                offset,
                f"wrong magic {frame[:4].hex()}, expected {magic.hex()} ({MAGICS[magic]})"
                + ("" if frame[:4] in MAGICS else "; an obfuscated (xor.dat) blocks directory?"),
            )
        length = int.from_bytes(frame[4:8], "little")
        if not 81 <= length <= MAX_BLOCK_BYTES:
            raise ChainParseError(path, offset + 4, f"absurd block length {length}")
        data = _read(fh, length, path, offset + 8)
        if len(data) < length:
            raise ChainParseError(
                path,
                offset + 4,
                f"block length {length} runs past the end of the file ({len(data)} bytes left)",
            )
        yield parse_block(data, path, offset + 8)
        offset += 8 + length
        frame = _read(fh, 8, path, offset)


def _expect_zeros(path: Path, fh: ChainFile, offset: int) -> None:
    while chunk := _read(fh, 1 << 20, path, offset):
        if chunk.strip(b"\x00"):
            nonzero = len(chunk) - len(chunk.lstrip(b"\x00"))
            raise ChainParseError(
                path, offset + nonzero, "data after the zero padding that ends the blocks"
            )
        offset += len(chunk)


FORMAT = BtcRawFormat()
