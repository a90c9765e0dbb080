"""Bitcoin output scripts: classify a scriptPubKey and derive its mainnet address.

Types follow Bitcoin Core's solver, with sanctrace's short names: ``p2pkh``, ``p2sh``,
``p2wpkh``, ``p2wsh``, ``p2tr``, ``p2pk`` (shown as the P2PKH address of its key),
``multisig`` (bare, no address), ``nulldata`` (OP_RETURN), ``witness_unknown`` (segwit v1+
programs other than taproot, bech32m address) and ``nonstandard`` (no address).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from sanctrace.chain._codecs import BECH32_CHARSET, BTC_ALPHABET

P2PKH_VERSION = b"\x00"
P2SH_VERSION = b"\x05"
SEGWIT_HRP = "bc"

OP_0 = 0x00
OP_PUSHDATA1 = 0x4C
OP_PUSHDATA2 = 0x4D
OP_PUSHDATA4 = 0x4E
OP_1 = 0x51
OP_16 = 0x60
OP_RETURN = 0x6A
OP_DUP = 0x76
OP_EQUAL = 0x87
OP_EQUALVERIFY = 0x88
OP_HASH160 = 0xA9
OP_CHECKSIG = 0xAC
OP_CHECKMULTISIG = 0xAE


def _ripemd160_factory() -> Callable[[bytes], bytes]:
    try:
        hashlib.new("ripemd160", b"")
    except ValueError:
        # OpenSSL 3 moved RIPEMD-160 to the legacy provider, often not loaded.
        from Crypto.Hash import RIPEMD160

        return lambda data: RIPEMD160.new(data).digest()
    return lambda data: hashlib.new("ripemd160", data).digest()


_ripemd160 = _ripemd160_factory()
_sha256 = hashlib.sha256


def hash160(data: bytes) -> bytes:
    """RIPEMD160(SHA256(data)), the hash inside P2PKH and P2WPKH scripts."""
    return _ripemd160(_sha256(data).digest())


def sha256d(data: bytes) -> bytes:
    """Double SHA-256, Bitcoin's hash for txids, block hashes and base58check."""
    return _sha256(_sha256(data).digest()).digest()


# ----------------------------------------------------------------------------- encoders
# Faster equivalents of the ``_codecs`` encoders for the few fixed shapes that outputs need;
# tests check they agree with ``_codecs``.


_B58_PAIRS = tuple(a + b for a in BTC_ALPHABET for b in BTC_ALPHABET)


def base58check(version: bytes, payload: bytes) -> str:
    """Base58check text of ``version + payload``."""
    raw = version + payload
    raw += sha256d(raw)[:4]
    num = int.from_bytes(raw, "big")
    pairs = _B58_PAIRS
    out: list[str] = []
    # Two digits per division, from a table: half the interpreter work of digit-by-digit.
    while num:
        num, rem = divmod(num, 3364)
        out.append(pairs[rem])
    out.reverse()
    text = "".join(out).lstrip("1")
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + text


_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _gen_table() -> tuple[int, ...]:
    """XOR of the generators selected by each 5-bit value of the checksum's top bits."""
    table = []
    for top in range(32):
        acc = 0
        for i, gen in enumerate(_GEN):
            if (top >> i) & 1:
                acc ^= gen
        table.append(acc)
    return tuple(table)


_GEN_TABLE = _gen_table()


def _gen_table2() -> tuple[int, ...]:
    """Two checksum steps at once: the effect of the top 10 bits after shifting in two zeros."""
    table = []
    for top in range(1024):
        chk = top << 20
        for _ in range(2):
            chk = ((chk & 0x1FFFFFF) << 5) ^ _GEN_TABLE[chk >> 25]
        table.append(chk)
    return tuple(table)


_GEN_TABLE2 = _gen_table2()


def _polymod_step(chk: int, values: bytes | list[int]) -> int:
    table, table2 = _GEN_TABLE, _GEN_TABLE2
    n = len(values)
    i = 0
    # The checksum is linear over GF(2), so two 5-bit steps fold into one 10-bit lookup.
    while i + 1 < n:
        chk = ((chk & 0xFFFFF) << 10 ^ values[i] << 5 ^ values[i + 1]) ^ table2[chk >> 20]
        i += 2
    if i < n:
        chk = ((chk & 0x1FFFFFF) << 5 ^ values[i]) ^ table[chk >> 25]
    return chk


def _hrp_state(hrp: str) -> int:
    return _polymod_step(1, [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp])


_BC_STATE = _hrp_state(SEGWIT_HRP)
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3


# RFC 4648 base32 groups bits exactly as bech32 does (5 at a time, most significant first,
# zero-padded), so the C encoder does the regrouping; translate maps its letters to values.
_B32_TO_VALUES = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", bytes(range(32)))
_B32_TO_BECH32 = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", BECH32_CHARSET.encode("ascii")
)


def segwit_address(version: int, program: bytes, hrp: str = SEGWIT_HRP) -> str:
    """Bech32 (v0) or bech32m (v1+) address of a witness program (BIP-173/350)."""
    b32 = base64.b32encode(program).rstrip(b"=")
    state = _BC_STATE if hrp == SEGWIT_HRP else _hrp_state(hrp)
    values = bytes([version]) + b32.translate(_B32_TO_VALUES) + b"\x00\x00\x00\x00\x00\x00"
    const = _polymod_step(state, values) ^ (_BECH32_CONST if version == 0 else _BECH32M_CONST)
    charset = BECH32_CHARSET
    return "".join(
        (
            hrp,
            "1",
            charset[version],
            b32.translate(_B32_TO_BECH32).decode("ascii"),
            charset[(const >> 25) & 31],
            charset[(const >> 20) & 31],
            charset[(const >> 15) & 31],
            charset[(const >> 10) & 31],
            charset[(const >> 5) & 31],
            charset[const & 31],
        )
    )


_BATCH_MIN = 64  # below this, numpy's fixed cost outweighs its speed
_SEGWIT_TAG = 0x80  # job tag bit: segwit (low bits: witness version), else base58 version
_ALPHABET_BYTES = BTC_ALPHABET.encode("ascii")


def base58check_many(raws: list[bytes]) -> list[str]:
    """Base58check text of each 21-byte ``version + hash``, in bulk (numpy) when there are many."""
    n = len(raws)
    if n < _BATCH_MIN or any(len(raw) != 21 for raw in raws):
        return [base58check(raw[:1], raw[1:]) for raw in raws]
    import numpy as np

    sha = _sha256
    data = b"".join([raw + sha(sha(raw).digest()).digest()[:4] for raw in raws])
    arr = np.frombuffer(data, dtype=np.uint8).reshape(n, 25)
    # The 200-bit numbers as limbs (8 bits, then six of 32) so that remainder * 2**32 + limb
    # stays below 2**64 when dividing by 58**5; seven divisions give 35 base-58 digits.
    words = arr[:, 1:].view(">u4").astype(np.uint64)
    limbs = [arr[:, 0].astype(np.uint64)] + [words[:, i] for i in range(6)]
    divisor, shift = np.uint64(58**5), np.uint64(32)
    chunks = np.empty((n, 7), dtype=np.uint64)
    for c in range(6, -1, -1):
        rem = np.zeros(n, dtype=np.uint64)
        for i, limb in enumerate(limbs):
            cur = (rem << shift) | limb
            limbs[i] = cur // divisor
            rem = cur - limbs[i] * divisor
        chunks[:, c] = rem
    powers = np.array([58**4, 58**3, 58**2, 58, 1], dtype=np.uint64)
    digits = (chunks[:, :, None] // powers) % np.uint64(58)
    alphabet = np.frombuffer(_ALPHABET_BYTES, dtype=np.uint8)
    text = alphabet[digits.reshape(n, 35).astype(np.intp)].tobytes().decode("ascii")
    zeros = (arr != 0).argmax(axis=1).tolist()  # leading zero bytes each become a "1"
    return [
        "1" * z + text[i : i + 35].lstrip("1")
        for z, i in zip(zeros, range(0, 35 * n, 35), strict=True)
    ]


def segwit_many(version: int, programs: list[bytes], hrp: str = SEGWIT_HRP) -> list[str]:
    """Segwit address of each witness program (one version), in bulk (numpy) when many."""
    n = len(programs)
    if n < _BATCH_MIN or len({len(p) for p in programs}) != 1:
        return [segwit_address(version, p, hrp) for p in programs]
    import numpy as np

    size = len(programs[0])
    bits = np.unpackbits(np.frombuffer(b"".join(programs), dtype=np.uint8).reshape(n, size), axis=1)
    groups = (size * 8 + 4) // 5
    if groups * 5 > size * 8:
        bits = np.concatenate([bits, np.zeros((n, groups * 5 - size * 8), np.uint8)], axis=1)
    values = bits.reshape(n, groups, 5).astype(np.int64) @ np.array([16, 8, 4, 2, 1])
    data = np.concatenate(
        [np.full((n, 1), version, np.int64), values, np.zeros((n, 6), np.int64)], axis=1
    )
    table, table2 = np.array(_GEN_TABLE, np.int64), np.array(_GEN_TABLE2, np.int64)
    chk = np.full(n, _BC_STATE if hrp == SEGWIT_HRP else _hrp_state(hrp), np.int64)
    width = data.shape[1]
    for j in range(0, width - 1, 2):  # the same two-step checksum as _polymod_step, per column
        chk = ((chk & 0xFFFFF) << 10) ^ (data[:, j] << 5) ^ data[:, j + 1] ^ table2[chk >> 20]
    if width & 1:
        chk = ((chk & 0x1FFFFFF) << 5) ^ data[:, -1] ^ table[chk >> 25]
    chk ^= _BECH32_CONST if version == 0 else _BECH32M_CONST
    checksum = (chk[:, None] >> np.array([25, 20, 15, 10, 5, 0])) & 31
    digits = np.concatenate([data[:, :-6], checksum], axis=1)
    charset = np.frombuffer(BECH32_CHARSET.encode("ascii"), dtype=np.uint8)
    text = charset[digits].tobytes().decode("ascii")
    step, prefix = groups + 7, hrp + "1"
    return [prefix + text[i : i + step] for i in range(0, n * step, step)]


def derive_addresses(jobs: list[bytes]) -> list[str]:
    """The addresses of the jobs that ``classify(script, pending)`` left, in order, in bulk."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, job in enumerate(jobs):
        key = (job[0], len(job))
        group = groups.get(key)
        if group is None:
            groups[key] = [i]
        else:
            group.append(i)
    out: list[str] = [""] * len(jobs)
    for (tag, _), indexes in groups.items():
        items = [jobs[i] for i in indexes]
        if tag & _SEGWIT_TAG:
            addresses = segwit_many(tag & 0x1F, [item[1:] for item in items])
        else:
            addresses = base58check_many(items)
        for i, address in zip(indexes, addresses, strict=True):
            out[i] = address
    return out


# ---------------------------------------------------------------------------- classify


def _valid_pubkey_size(key: bytes) -> bool:
    n = len(key)
    if n == 33:
        return key[0] in (2, 3)
    if n == 65:
        return key[0] in (4, 6, 7)
    return False


def _push_only(script: bytes, pos: int) -> bool:
    """True when ``script[pos:]`` is nothing but well-formed pushes (opcodes up to OP_16)."""
    end = len(script)
    while pos < end:
        op = script[pos]
        pos += 1
        if op > OP_16:
            return False
        if op < OP_PUSHDATA1:
            size = op
        elif op == OP_PUSHDATA1:
            if pos + 1 > end:
                return False
            size = script[pos]
            pos += 1
        elif op == OP_PUSHDATA2:
            if pos + 2 > end:
                return False
            size = int.from_bytes(script[pos : pos + 2], "little")
            pos += 2
        elif op == OP_PUSHDATA4:
            if pos + 4 > end:
                return False
            size = int.from_bytes(script[pos : pos + 4], "little")
            pos += 4
        else:
            size = 0
        pos += size
        if pos > end:
            return False
    return True


def _is_multisig(script: bytes) -> bool:
    n = len(script)
    if n < 37 or script[-1] != OP_CHECKMULTISIG:
        return False
    required, total = script[0], script[-2]
    if not (OP_1 <= required <= OP_16 and OP_1 <= total <= OP_16 and required <= total):
        return False
    pos, keys, end = 1, 0, n - 2
    while pos < end:
        size = script[pos]
        if size not in (33, 65) or pos + 1 + size > end:
            return False
        if not _valid_pubkey_size(script[pos + 1 : pos + 1 + size]):
            return False
        pos += 1 + size
        keys += 1
    return pos == end and keys == total - OP_1 + 1


def _base58(raw: bytes, pending: list[bytes] | None) -> str | None:
    if pending is None:
        return base58check(raw[:1], raw[1:])
    pending.append(raw)  # tagged by its version byte (0x00 or 0x05)
    return None


def _segwit(version: int, program: bytes, pending: list[bytes] | None) -> str | None:
    if pending is None:
        return segwit_address(version, program)
    pending.append(bytes((_SEGWIT_TAG | version,)) + program)
    return None


def classify(script: bytes, pending: list[bytes] | None = None) -> tuple[str, str | None]:
    """(script type, mainnet address or None) of an output script.

    With ``pending``, the address is left for later: it is returned as None and a job is
    appended to ``pending``; ``derive_addresses(pending)`` then encodes them all at once.
    """
    n = len(script)
    if n == 25 and script[0] == OP_DUP and script[1] == OP_HASH160 and script[2] == 20:
        if script[23] == OP_EQUALVERIFY and script[24] == OP_CHECKSIG:
            return "p2pkh", _base58(P2PKH_VERSION + script[3:23], pending)
    elif n == 23 and script[0] == OP_HASH160 and script[1] == 20 and script[22] == OP_EQUAL:
        return "p2sh", _base58(P2SH_VERSION + script[2:22], pending)
    if 4 <= n <= 42 and script[1] + 2 == n:
        first = script[0]
        if first == OP_0:
            if n == 22:
                return "p2wpkh", _segwit(0, script[2:], pending)
            if n == 34:
                return "p2wsh", _segwit(0, script[2:], pending)
            return "nonstandard", None
        if OP_1 <= first <= OP_16:
            version = first - OP_1 + 1
            kind = "p2tr" if version == 1 and n == 34 else "witness_unknown"
            return kind, _segwit(version, script[2:], pending)
    if n >= 1 and script[0] == OP_RETURN:
        return ("nulldata" if _push_only(script, 1) else "nonstandard"), None
    if (n == 35 or n == 67) and script[0] == n - 2 and script[-1] == OP_CHECKSIG:
        key = script[1:-1]
        if _valid_pubkey_size(key):
            return "p2pk", _base58(P2PKH_VERSION + hash160(key), pending)
    if _is_multisig(script):
        return "multisig", None
    return "nonstandard", None


# Script type names used by Bitcoin Core's RPC and the BigQuery tables (bitcoin-etl), mapped to
# sanctrace's; sanctrace's own names map to themselves.
_TYPE_NAMES = {
    "pubkeyhash": "p2pkh",
    "scripthash": "p2sh",
    "witness_v0_keyhash": "p2wpkh",
    "witness_v0_scripthash": "p2wsh",
    "witness_v1_taproot": "p2tr",
    "pubkey": "p2pk",
    "multisig": "multisig",
    "nulldata": "nulldata",
    "nonstandard": "nonstandard",
    "witness_unknown": "witness_unknown",
    "anchor": "witness_unknown",
}
_TYPE_NAMES.update({v: v for v in list(_TYPE_NAMES.values()) + ["p2pkh", "p2pk"]})
NO_ADDRESS_TYPES = frozenset({"multisig", "nulldata", "nonstandard"})


def normalize_type(name: str | None) -> str:
    """Sanctrace's name for a script type written by Bitcoin Core or BigQuery."""
    return _TYPE_NAMES.get((name or "").strip().lower(), "nonstandard")
