"""Binary-to-text codecs used by crypto addresses: base58(check), Monero base58, bech32(m), cashaddr.

Every decoder raises ``CodecError`` with a short, human reason; nothing else escapes for any
``str`` input.
"""

from __future__ import annotations

import hashlib
from enum import Enum

BTC_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
RIPPLE_ALPHABET = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(BECH32_CHARSET)}


class CodecError(ValueError):
    """Input is not a well-formed encoding; the message is the reason."""


# ---------------------------------------------------------------------------------- base58


def b58decode(text: str, alphabet: str = BTC_ALPHABET) -> bytes:
    """Decode base58 text; each leading ``alphabet[0]`` is one leading zero byte."""
    if not text:
        raise CodecError("empty address")
    num = 0
    for ch in text:
        digit = alphabet.find(ch)
        if digit < 0:
            raise CodecError(f"invalid base58 character {ch!r}")
        num = num * 58 + digit
    zeros = len(text) - len(text.lstrip(alphabet[0]))
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    return b"\x00" * zeros + body


def b58encode(data: bytes, alphabet: str = BTC_ALPHABET) -> str:
    num = int.from_bytes(data, "big")
    out = []
    while num:
        num, rem = divmod(num, 58)
        out.append(alphabet[rem])
    zeros = len(data) - len(data.lstrip(b"\x00"))
    return alphabet[0] * zeros + "".join(reversed(out))


def _double_sha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def b58check_decode(text: str, alphabet: str = BTC_ALPHABET) -> bytes:
    """Decode base58check text to its payload (version bytes included, checksum removed)."""
    raw = b58decode(text, alphabet)
    if len(raw) < 5:
        raise CodecError("wrong length")
    payload, check = raw[:-4], raw[-4:]
    if _double_sha256(payload)[:4] != check:
        raise CodecError("bad base58check checksum")
    return payload


def b58check_encode(payload: bytes, alphabet: str = BTC_ALPHABET) -> str:
    return b58encode(payload + _double_sha256(payload)[:4], alphabet)


# ---------------------------------------------------------------------------- Monero base58

# Monero encodes 8-byte blocks as 11 characters; a shorter final block of n bytes uses
# _XMR_ENCODED[n] characters.
_XMR_ENCODED = [0, 2, 3, 5, 6, 7, 9, 10, 11]
_XMR_DECODED = {size: n for n, size in enumerate(_XMR_ENCODED)}


def xmr_b58decode(text: str) -> bytes:
    """Decode Monero's block-wise base58."""
    if not text:
        raise CodecError("empty address")
    full, rest = divmod(len(text), 11)
    if rest not in _XMR_DECODED:
        raise CodecError("wrong length")
    out = bytearray()
    for start in range(0, len(text), 11):
        block = text[start : start + 11]
        size = _XMR_DECODED[len(block)]
        num = 0
        for ch in block:
            digit = BTC_ALPHABET.find(ch)
            if digit < 0:
                raise CodecError(f"invalid base58 character {ch!r}")
            num = num * 58 + digit
        if num >= 1 << (8 * size):
            raise CodecError("base58 block overflow")
        out += num.to_bytes(size, "big")
    return bytes(out)


def xmr_b58encode(data: bytes) -> str:
    out = []
    for start in range(0, len(data), 8):
        block = data[start : start + 8]
        num = int.from_bytes(block, "big")
        chars = []
        for _ in range(_XMR_ENCODED[len(block)]):
            num, rem = divmod(num, 58)
            chars.append(BTC_ALPHABET[rem])
        out.append("".join(reversed(chars)))
    return "".join(out)


# ----------------------------------------------------------------------------- bech32(m)


class Bech32Variant(Enum):
    BECH32 = 1
    BECH32M = 0x2BC830A3


_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _bech32_polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_BECH32_GEN):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _split_case(text: str) -> str:
    """Lower-case ``text``, refusing mixed case (BIP-173)."""
    if text.lower() != text and text.upper() != text:
        raise CodecError("mixed case")
    return text.lower()


def bech32_decode(text: str, max_length: int | None = 90) -> tuple[str, list[int], Bech32Variant]:
    """Decode bech32 or bech32m text to (lower-case hrp, 5-bit data without checksum, variant)."""
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise CodecError("invalid character")
    if max_length is not None and len(text) > max_length:
        raise CodecError("too long")
    text = _split_case(text)
    pos = text.rfind("1")
    if pos < 1:
        raise CodecError("missing human-readable part")
    if pos + 7 > len(text):
        raise CodecError("checksum too short")
    hrp, tail = text[:pos], text[pos + 1 :]
    try:
        data = [_BECH32_INDEX[c] for c in tail]
    except KeyError as exc:
        raise CodecError(f"invalid bech32 character {exc.args[0]!r}") from None
    const = _bech32_polymod(_hrp_expand(hrp) + data)
    for variant in Bech32Variant:
        if const == variant.value:
            return hrp, data[:-6], variant
    raise CodecError("bad bech32 checksum")


def bech32_encode(hrp: str, data: list[int], variant: Bech32Variant) -> str:
    values = _hrp_expand(hrp) + data
    const = _bech32_polymod(values + [0] * 6) ^ variant.value
    checksum = [(const >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data + checksum)


def convertbits(data: list[int] | bytes, frombits: int, tobits: int, pad: bool) -> list[int]:
    """Regroup bits; without ``pad``, leftover bits must be fewer than ``frombits`` and zero."""
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    max_acc = (1 << (frombits + tobits - 1)) - 1
    for value in data:
        if value >> frombits:
            raise CodecError("value out of range")
        acc = ((acc << frombits) | value) & max_acc
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or (acc << (tobits - bits)) & maxv:
        raise CodecError("bad padding")
    return out


def segwit_decode(text: str) -> tuple[str, int, bytes]:
    """Decode a segwit address (BIP-173/350) to (hrp, witness version, program)."""
    hrp, data, variant = bech32_decode(text)
    if not data:
        raise CodecError("empty data")
    version = data[0]
    if version > 16:
        raise CodecError("bad witness version")
    program = bytes(convertbits(data[1:], 5, 8, pad=False))
    if not 2 <= len(program) <= 40:
        raise CodecError("wrong length")
    if version == 0 and len(program) not in (20, 32):
        raise CodecError("wrong length")
    expected = Bech32Variant.BECH32 if version == 0 else Bech32Variant.BECH32M
    if variant is not expected:
        raise CodecError(f"bad checksum variant (witness v{version} needs {expected.name.lower()})")
    return hrp, version, program


def segwit_encode(hrp: str, version: int, program: bytes) -> str:
    variant = Bech32Variant.BECH32 if version == 0 else Bech32Variant.BECH32M
    return bech32_encode(hrp, [version] + convertbits(program, 8, 5, pad=True), variant)


# ------------------------------------------------------------------------------- cashaddr

_CASH_GEN = (0x98F2BC8E61, 0x79B76D99E2, 0xF33E5FB3C4, 0xAE2EABE2A8, 0x1E4F43E470)
_CASH_SIZES = (20, 24, 28, 32, 40, 48, 56, 64)


def _cash_polymod(values: list[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 35
        chk = ((chk & 0x07FFFFFFFF) << 5) ^ value
        for i, gen in enumerate(_CASH_GEN):
            if (top >> i) & 1:
                chk ^= gen
    return chk ^ 1


def cashaddr_decode(text: str, default_prefix: str = "bitcoincash") -> tuple[str, int, bytes]:
    """Decode a cashaddr, prefixed or not, to (lower-case prefix, type, hash)."""
    text = _split_case(text)
    prefix, sep, payload = text.rpartition(":")
    if not sep:
        prefix = default_prefix
    if not prefix or not payload:
        raise CodecError("wrong length")
    try:
        data = [_BECH32_INDEX[c] for c in payload]
    except KeyError as exc:
        raise CodecError(f"invalid cashaddr character {exc.args[0]!r}") from None
    if len(data) < 9:
        raise CodecError("wrong length")
    if _cash_polymod([ord(c) & 31 for c in prefix] + [0] + data) != 0:
        raise CodecError("bad cashaddr checksum")
    raw = bytes(convertbits(data[:-8], 5, 8, pad=False))
    version, body = raw[0], raw[1:]
    if version & 0x80:
        raise CodecError("bad cashaddr version byte")
    if len(body) != _CASH_SIZES[version & 7]:
        raise CodecError("wrong length")
    return prefix, (version >> 3) & 0x0F, body
