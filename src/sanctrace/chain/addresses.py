"""Crypto-address parsing, validation and canonicalisation per chain.

``parse_address(asset, raw)`` checks an address against the chain of an OFAC-style asset code
("Digital Currency Address - XBT" → ``XBT``) and never raises: a bad address comes back with
``valid=False`` and a short reason, its raw text kept.

Canonical forms (what ``CryptoAddress.address`` holds and screening compares):

* EVM chains: ``0x`` + 40 lower-case hex digits (EIP-55 case is verified, then dropped; a
  missing ``0x`` is added);
* bech32/bech32m (Bitcoin, Litecoin, Bitcoin Gold segwit; Zcash Sapling and unified): lower case;
* Bitcoin Cash cashaddr: the payload without the ``bitcoincash:`` prefix, lower case. Legacy
  base58 Bitcoin Cash addresses stay as printed (they are not converted to cashaddr);
* TRON: base58check (``T…``); a hex ``41…`` form is converted to it;
* every other base58 form (Bitcoin, Litecoin, Dash, Zcash, Monero, XRP …): as printed, since
  base58 is case-sensitive.

Leading and trailing whitespace is always dropped.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

from Crypto.Hash import keccak

from sanctrace.chain._codecs import (
    BTC_ALPHABET,
    RIPPLE_ALPHABET,
    Bech32Variant,
    CodecError,
    b58check_decode,
    b58check_encode,
    bech32_decode,
    cashaddr_decode,
    convertbits,
    segwit_decode,
    xmr_b58decode,
)
from sanctrace.model import CryptoAddress

# Chain id → display name, used in reasons.
CHAIN_NAMES: dict[str, str] = {
    "btc": "Bitcoin",
    "eth": "Ethereum",
    "etc": "Ethereum Classic",
    "arb": "Arbitrum",
    "bsc": "BNB Smart Chain",
    "matic": "Polygon",
    "op": "Optimism",
    "trx": "TRON",
    "ltc": "Litecoin",
    "bch": "Bitcoin Cash",
    "bsv": "Bitcoin SV",
    "btg": "Bitcoin Gold",
    "dash": "Dash",
    "zec": "Zcash",
    "xmr": "Monero",
    "xrp": "XRP Ledger",
    "xvg": "Verge",
}

# Chains whose addresses are 20-byte EVM accounts: one address is the same on all of them.
EVM_CHAINS: frozenset[str] = frozenset({"eth", "etc", "arb", "bsc", "matic", "op"})

# OFAC asset code → chain. Tokens issued on several chains map to their main chain here, and
# TOKEN_CHAINS lists every chain whose address shape they accept.
ASSET_CHAINS: dict[str, str] = {
    "XBT": "btc",
    "BTC": "btc",
    "ETH": "eth",
    "ETC": "etc",
    "ARB": "arb",
    "BSC": "bsc",
    "BNB": "bsc",
    "MATIC": "matic",
    "POL": "matic",
    "OP": "op",
    "USDT": "eth",
    "USDC": "eth",
    "TRX": "trx",
    "LTC": "ltc",
    "BCH": "bch",
    "BSV": "bsv",
    "BTG": "btg",
    "DASH": "dash",
    "ZEC": "zec",
    "XMR": "xmr",
    "XRP": "xrp",
    "XVG": "xvg",
}

# Tether has lived on Ethereum (and other EVM chains), TRON and Bitcoin's Omni layer; OFAC lists
# all three shapes under USDT. An EVM address of a token is reported with chain "eth".
TOKEN_CHAINS: dict[str, tuple[str, ...]] = {
    "USDT": ("eth", "trx", "btc"),
    "USDC": ("eth", "trx"),
}

# Chain → the asset code ``parse_any`` reports.
CHAIN_ASSETS: dict[str, str] = {}
for _code, _chain in ASSET_CHAINS.items():
    if _code not in TOKEN_CHAINS:
        CHAIN_ASSETS.setdefault(_chain, _code)

_MAX_LENGTH = 400  # well above the longest real form (Zcash unified addresses, ~ 200 chars)
_OFAC_PREFIX = "DIGITAL CURRENCY ADDRESS -"
_HEX = frozenset(string.hexdigits)
_CASHADDR_RE = re.compile(r"(?i:[qpzr][qpzry9x8gf2tvdw0s3jn54khce6mua7l]{41,111})")


# ------------------------------------------------------------------------ chain validators
# Each takes trimmed text and returns the canonical form, or raises CodecError(reason).


def _keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def _evm(text: str) -> str:
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if len(digits) != 40:
        raise CodecError("wrong length")
    if not set(digits) <= _HEX:
        raise CodecError("invalid hex character")
    lower = digits.lower()
    # All-lower and all-upper carry no checksum; mixed case is an EIP-55 checksum.
    if lower != digits and digits.upper() != digits:
        hashed = _keccak256(lower.encode("ascii")).hex()
        for ch, nibble in zip(digits, hashed[:40], strict=True):
            if ch.isalpha() and ch.isupper() != (int(nibble, 16) >= 8):
                raise CodecError("bad EIP-55 checksum")
    return "0x" + lower


def _base58(
    text: str,
    versions: dict[bytes, int],
    testnet: frozenset[bytes] = frozenset(),
    alphabet: str = BTC_ALPHABET,
) -> str:
    """Check base58check ``text`` whose payload is a known version prefix + a body of set size."""
    payload = b58check_decode(text, alphabet)
    vlen = len(next(iter(versions)))
    version, body = payload[:vlen], payload[vlen:]
    if version in testnet:
        raise CodecError("testnet address")
    if version not in versions:
        raise CodecError(f"unexpected version byte 0x{version.hex()}")
    if len(body) != versions[version]:
        raise CodecError("wrong length")
    return text


def _segwit(text: str, hrp: str, test_hrps: tuple[str, ...]) -> str:
    found, _version, _program = segwit_decode(text)
    if found in test_hrps:
        raise CodecError("testnet address")
    if found != hrp:
        raise CodecError(f"wrong network prefix {found!r}")
    return text.lower()


def _bitcoin_like(
    versions: dict[bytes, int],
    testnet: frozenset[bytes],
    hrp: str | None = None,
    test_hrps: tuple[str, ...] = (),
) -> Callable[[str], str]:
    """A validator for a Bitcoin-family chain: base58check, plus segwit when it has an HRP."""
    prefixes = tuple(h + "1" for h in ((hrp,) if hrp else ()) + test_hrps)

    def validate(text: str) -> str:
        if prefixes and text.lower().startswith(prefixes):
            return _segwit(text, hrp or "", test_hrps)
        return _base58(text, versions, testnet)

    return validate


def _v(*versions: int, size: int = 20) -> dict[bytes, int]:
    return {bytes([v]): size for v in versions}


def _t(*versions: int) -> frozenset[bytes]:
    return frozenset(bytes([v]) for v in versions)


_BTC_TEST = _t(0x6F, 0xC4)
_btc = _bitcoin_like(_v(0x00, 0x05), _BTC_TEST, "bc", ("tb", "bcrt"))
_ltc = _bitcoin_like(_v(0x30, 0x32, 0x05), _t(0x6F, 0x3A, 0xC4), "ltc", ("tltc", "rltc"))
_bsv = _bitcoin_like(_v(0x00, 0x05), _BTC_TEST)
_btg = _bitcoin_like(_v(0x26, 0x17), _BTC_TEST, "btg", ("tbtg",))
_dash = _bitcoin_like(_v(0x4C, 0x10), _t(0x8C, 0x13))
_xvg = _bitcoin_like(_v(0x1E, 0x21), _t(0x6F, 0xC4))


def _bch(text: str) -> str:
    if ":" not in text and text[:1] in ("1", "3"):
        return _base58(text, _v(0x00, 0x05), _BTC_TEST)
    prefix, kind, _body = cashaddr_decode(text)
    if prefix in ("bchtest", "bchreg"):
        raise CodecError("testnet address")
    if prefix != "bitcoincash":
        raise CodecError(f"wrong network prefix {prefix!r}")
    # 0/1: P2PKH/P2SH; 2/3: their CashTokens-aware forms.
    if kind > 3:
        raise CodecError(f"unknown cashaddr type {kind}")
    return text.lower().rpartition(":")[2]


def _trx(text: str) -> str:
    if len(text) == 42 and text[:2] == "41" and set(text) <= _HEX:
        return b58check_encode(bytes.fromhex(text))
    return _base58(text, {b"\x41": 20})


def _xrp(text: str) -> str:
    return _base58(text, {b"\x00": 20}, alphabet=RIPPLE_ALPHABET)


_ZEC_BASE58 = {b"\x1c\xb8": 20, b"\x1c\xbd": 20, b"\x16\x9a": 64}  # t1, t3, zc (Sprout)
_ZEC_TEST = frozenset({b"\x1d\x25", b"\x1c\xba", b"\x16\xb6"})


def _zec(text: str) -> str:
    lower = text.lower()
    if lower.startswith(("zs1", "ztestsapling1")):
        hrp, data, variant = bech32_decode(text, max_length=None)
        if hrp != "zs":
            raise CodecError("testnet address")
        if variant is not Bech32Variant.BECH32:
            raise CodecError("bad bech32 checksum")
        if len(convertbits(data, 5, 8, pad=False)) != 43:
            raise CodecError("wrong length")
        return lower
    if lower.startswith(("u1", "utest1")):
        # Unified addresses are F4Jumbled: only the bech32m checksum can be checked.
        hrp, data, variant = bech32_decode(text, max_length=None)
        if hrp != "u":
            raise CodecError("testnet address")
        if variant is not Bech32Variant.BECH32M:
            raise CodecError("bad bech32m checksum")
        if len(convertbits(data, 5, 8, pad=False)) < 48:
            raise CodecError("wrong length")
        return lower
    return _base58(text, _ZEC_BASE58, _ZEC_TEST)


# Monero network bytes: standard, integrated, subaddress → decoded length.
_XMR_KINDS = {18: 69, 19: 77, 42: 69}
_XMR_TEST = frozenset({53, 54, 63, 24, 25, 36})  # testnet and stagenet


def _xmr(text: str) -> str:
    if len(text) == 64 and set(text) <= _HEX:
        raise CodecError("64 hex digits: a hash, key or payment ID, not a Monero address")
    raw = xmr_b58decode(text)
    if len(raw) not in (69, 77):
        raise CodecError("wrong length")
    if _keccak256(raw[:-4])[:4] != raw[-4:]:
        raise CodecError("bad Monero checksum")
    if raw[0] in _XMR_TEST:
        raise CodecError("testnet address")
    if raw[0] not in _XMR_KINDS:
        raise CodecError(f"unexpected network byte {raw[0]}")
    if len(raw) != _XMR_KINDS[raw[0]]:
        raise CodecError("wrong length")
    return text


_VALIDATORS: dict[str, Callable[[str], str]] = {
    "btc": _btc,
    "ltc": _ltc,
    "bch": _bch,
    "bsv": _bsv,
    "btg": _btg,
    "dash": _dash,
    "xvg": _xvg,
    "trx": _trx,
    "xrp": _xrp,
    "zec": _zec,
    "xmr": _xmr,
    **{chain: _evm for chain in EVM_CHAINS},
}


# ---------------------------------------------------------------------------- public API


def guess_chain(raw: str) -> str | None:
    """The chain an address belongs to, judged from its shape alone (no checksum check).

    EVM addresses give ``"eth"``; base58 shapes shared by several chains give the main one
    (``1…``/``3…`` → ``"btc"``, ``D…`` → ``"xvg"`` although Dogecoin uses the same prefix).
    """
    text = _clean(raw)
    if not text or len(text) > _MAX_LENGTH:
        return None
    lower = text.lower()
    if len(text) == 42 and lower.startswith("0x") and set(text[2:]) <= _HEX:
        return "eth"
    if len(text) == 42 and text.startswith("41") and set(text) <= _HEX:
        return "trx"
    if lower.startswith(("bitcoincash:", "bchtest:", "bchreg:")):
        return "bch"
    for prefix, chain in _BECH32_PREFIXES:
        if lower.startswith(prefix):
            # Bech32 is written in one case; a mixed-case "TB1…" is a TRON base58 address.
            if text not in (lower, text.upper()):
                return _guess_base58(text) or chain
            return chain
    if len(text) in (42, 61) and _CASHADDR_RE.fullmatch(text):
        return "bch"
    return _guess_base58(text)


def _guess_base58(text: str) -> str | None:
    """The chain of a base58 (or Zcash, Monero, XRP) shape, by length and first letters."""
    first, size = text[0], len(text)
    if first == "z" and text[:2] == "zc" and size == 95:
        return "zec"
    if text[:2] in ("t1", "t3", "tm", "t2") and size == 35:
        return "zec"
    if size in (95, 106) and first in "4859ABC7":
        return "xmr"
    if size == 34:
        for firsts, chain in _BASE58_34:
            if first in firsts:
                return chain
    if 25 <= size <= 35:
        if first == "r":
            return "xrp"
        if first in "13mn2":
            return "btc"
    return None


_BECH32_PREFIXES = (
    ("bc1", "btc"),
    ("tb1", "btc"),
    ("bcrt1", "btc"),
    ("ltc1", "ltc"),
    ("tltc1", "ltc"),
    ("btg1", "btg"),
    ("zs1", "zec"),
    ("ztestsapling1", "zec"),
    ("u1", "zec"),
    ("utest1", "zec"),
)
_BASE58_34 = (("T", "trx"), ("LM", "ltc"), ("X7", "dash"), ("GA", "btg"), ("DE", "xvg"))


def parse_address(asset: str, raw: str) -> CryptoAddress:
    """Validate ``raw`` as an address of ``asset`` (an OFAC code such as ``XBT``); never raises.

    A well-formed address of another chain than the asset's (OFAC lists one TRON address as
    XBT) is reported invalid, with its own chain and canonical form so screening still finds it.
    """
    code = _asset_code(asset)
    text = _clean(raw)
    raw = _raw_text(raw)
    guessed = guess_chain(text)
    chains = TOKEN_CHAINS.get(code) or ((ASSET_CHAINS[code],) if code in ASSET_CHAINS else ())
    if not chains:
        chain = guessed or ""
        reason = f"unknown asset {code!r}" if code else "missing asset"
        return CryptoAddress(code, chain, normalise(chain, text), raw, False, reason)
    chain = chains[0]
    if len(chains) > 1 and guessed in chains:
        chain = guessed
    if not text:
        return CryptoAddress(code, chain, "", raw, False, "empty address")
    if len(text) > _MAX_LENGTH:
        return CryptoAddress(code, chain, text, raw, False, "too long")
    try:
        return CryptoAddress(code, chain, _VALIDATORS[chain](text), raw)
    except CodecError as err:
        reason = str(err)
    if guessed and guessed != chain and not {guessed, chain} <= EVM_CHAINS:
        try:
            other = _VALIDATORS[guessed](text)
        except CodecError:
            pass
        else:
            return CryptoAddress(
                code, guessed, other, raw, False, f"{CHAIN_NAMES[guessed]} address listed as {code}"
            )
    return CryptoAddress(code, chain, _fallback(chain, text), raw, False, reason)


def parse_any(raw: str) -> CryptoAddress:
    """Validate an address of unknown asset, on the chain ``guess_chain`` gives it."""
    chain = guess_chain(raw)
    if chain is None:
        text = _clean(raw)
        reason = "empty address" if not text else "unrecognised address format"
        return CryptoAddress("", "", text, _raw_text(raw), False, reason)
    return parse_address(CHAIN_ASSETS[chain], raw)


def normalise(chain: str, raw: str) -> str:
    """The canonical form of ``raw`` on ``chain``; a best effort (trimmed, case folded where
    the format ignores case) when it is not a valid address there or the chain is unknown."""
    text = _clean(raw)
    validator = _VALIDATORS.get(chain)
    if validator is None or not text or len(text) > _MAX_LENGTH:
        return text
    try:
        return validator(text)
    except CodecError:
        return _fallback(chain, text)


# ------------------------------------------------------------------------------- helpers


def _raw_text(raw: object) -> str:
    return raw if isinstance(raw, str) else ("" if raw is None else str(raw))


def _clean(raw: object) -> str:
    return _raw_text(raw).strip()


def _asset_code(asset: object) -> str:
    code = _clean(asset).upper()
    if code.startswith(_OFAC_PREFIX):
        code = code[len(_OFAC_PREFIX) :].strip()
    return code


def _fallback(chain: str, text: str) -> str:
    """Case-fold the formats that ignore case, so a bad address still compares stably."""
    lower = text.lower()
    if chain in EVM_CHAINS and len(text) == 42:
        return lower
    if chain == "bch" and not text.startswith(("1", "3")):
        return lower.rpartition(":")[2]
    if any(lower.startswith(prefix) for prefix, c in _BECH32_PREFIXES if c == chain):
        return lower
    return text
