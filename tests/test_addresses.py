"""Crypto-address validation: published test vectors, OFAC's real addresses, fuzzing."""

from __future__ import annotations

import csv
import string
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sanctrace.chain._codecs import (
    Bech32Variant,
    b58check_decode,
    b58check_encode,
    bech32_encode,
    cashaddr_decode,
    convertbits,
    segwit_encode,
    xmr_b58encode,
)
from sanctrace.chain.addresses import (
    ASSET_CHAINS,
    CHAIN_ASSETS,
    TOKEN_CHAINS,
    guess_chain,
    normalise,
    parse_address,
    parse_any,
)
from sanctrace.model import CryptoAddress

GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
KEY = bytes(range(32))
HASH20 = bytes(range(20, 40))

# ------------------------------------------------------------------- valid, published forms

VALID = [
    # (asset, raw, chain, canonical)
    ("XBT", GENESIS, "btc", GENESIS),
    ("XBT", "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC", "btc", "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC"),
    # BIP-350 mainnet segwit vectors (v0 bech32, v1/v2/v16 bech32m).
    (
        "XBT",
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        "btc",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    ),
    (
        "XBT",
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "btc",
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
    ),
    ("XBT", "BC1SW50QGDZ25J", "btc", "bc1sw50qgdz25j"),
    ("XBT", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "btc", "bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs"),
    (
        "XBT",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "btc",
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    ),
    # EIP-55 vectors: mixed case (checksummed), all upper and all lower (no checksum).
    *[
        ("ETH", a, "eth", a.lower())
        for a in (
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
            "0x52908400098527886E0F7030069857D2E4169EE7",
            "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
            "0xde709f2102306220921060314715629080e2fb77",
            "0x27b1fdb04752bbc536007a920d24acb045561c26",
        )
    ],
    (
        "ETH",
        "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "eth",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
    ),
    (
        "ARB",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "arb",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
    ),
    # Cashaddr specification examples, prefixed, bare and upper case.
    (
        "BCH",
        "bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
        "bch",
        "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
    ),
    (
        "BCH",
        "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
        "bch",
        "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
    ),
    (
        "BCH",
        "BITCOINCASH:PPM2QSZNHKS23Z7629MMS6S4CWEF74VCWVN0H829PQ",
        "bch",
        "ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq",
    ),
    ("BCH", "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu", "bch", "1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu"),
    ("BSV", GENESIS, "bsv", GENESIS),
    ("TRX", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "trx", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
    ("USDT", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "trx", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
    (
        "USDT",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "eth",
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
    ),
    ("USDT", "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC", "btc", "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC"),
    ("XRP", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "xrp", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"),
    # Monero general-fund donation address.
    (
        "XMR",
        "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
        "xmr",
        "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
    ),
    # The asset may come with OFAC's feature-type wording; surrounding whitespace is dropped.
    ("Digital Currency Address - XBT", f"  {GENESIS}\n", "btc", GENESIS),
    ("xbt", GENESIS, "btc", GENESIS),
]


@pytest.mark.parametrize(("asset", "raw", "chain", "canonical"), VALID)
def test_valid_addresses(asset: str, raw: str, chain: str, canonical: str) -> None:
    result = parse_address(asset, raw)
    assert result.valid, result.reason
    assert result.reason is None
    assert (result.chain, result.address, result.raw) == (chain, canonical, raw)


def test_cashaddr_and_legacy_name_the_same_hash() -> None:
    """The two encodings use independent checksums, so agreement checks both decoders."""
    pairs = [
        ("1BpEi6DfDAUFd7GtittLSdBeYJvcoaVggu", "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"),
        ("1KXrWXciRDZUpQwQmuM1DbwsKDLYAYsVLR", "qr95sy3j9xwd2ap32xkykttr4cvcu7as4y0qverfuy"),
        ("3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC", "ppm2qsznhks23z7629mms6s4cwef74vcwvn0h829pq"),
    ]
    for legacy, cash in pairs:
        assert parse_address("BCH", legacy).valid and parse_address("BCH", cash).valid
        version, hash_legacy = b58check_decode(legacy)[0], b58check_decode(legacy)[1:]
        _prefix, kind, hash_cash = cashaddr_decode(cash)
        assert hash_legacy == hash_cash
        assert kind == (0 if version == 0 else 1)


def test_constructed_forms() -> None:
    """Forms without a published vector at hand, built with the codecs and read back."""
    ltc = segwit_encode("ltc", 0, HASH20)
    assert parse_address("LTC", ltc.upper()).address == ltc
    btg = segwit_encode("btg", 0, HASH20)
    assert parse_address("BTG", btg).valid
    sapling = bech32_encode("zs", convertbits(bytes(43), 8, 5, pad=True), Bech32Variant.BECH32)
    assert parse_address("ZEC", sapling).valid
    unified = bech32_encode("u", convertbits(KEY * 3, 8, 5, pad=True), Bech32Variant.BECH32M)
    assert parse_address("ZEC", unified).valid
    for version, asset in (
        (b"\x1c\xb8", "ZEC"),
        (b"\x4c", "DASH"),
        (b"\x1e", "XVG"),
        (b"\x17", "BTG"),
    ):
        assert parse_address(asset, b58check_encode(version + HASH20)).valid
    # TRON hex form → base58check.
    tron = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    assert parse_address("TRX", b58check_decode(tron).hex()).address == tron
    # Monero integrated and subaddress forms.
    from Crypto.Hash import keccak

    for prefix, tail in ((19, KEY * 2 + bytes(8)), (42, KEY * 2)):
        body = bytes([prefix]) + tail
        address = xmr_b58encode(body + keccak.new(digest_bits=256, data=body).digest()[:4])
        assert parse_address("XMR", address).valid, address
        assert guess_chain(address) == "xmr"


# ---------------------------------------------------------------------------- invalid forms

INVALID = [
    # (asset, raw, reason)
    ("XBT", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "bad base58check checksum"),
    ("XBT", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0", "invalid base58 character '0'"),
    ("XBT", "1A1z", "wrong length"),
    ("XBT", b58check_encode(b"\x6f" + HASH20), "testnet address"),
    ("XBT", b58check_encode(b"\x30" + HASH20), "Litecoin address listed as XBT"),
    ("XBT", b58check_encode(b"\x00" + HASH20[:19]), "wrong length"),
    ("XBT", "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", "testnet address"),
    ("ETH", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "bad EIP-55 checksum"),
    ("ETH", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea", "wrong length"),
    ("ETH", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beagg", "invalid hex character"),
    ("ETH", GENESIS, "Bitcoin address listed as ETH"),
    ("BCH", "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6c", "bad cashaddr checksum"),
    ("BCH", "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdX6a", "mixed case"),
    ("TRX", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6T", "bad base58check checksum"),
    ("XRP", "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTt", "bad base58check checksum"),
    ("XMR", "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320", "64 hex digits"),
    (
        "XMR",
        "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3B",
        "bad Monero checksum",
    ),
    (
        "ZEC",
        "zs1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
        "bad bech32 checksum",
    ),
    ("FOO", GENESIS, "unknown asset 'FOO'"),
    ("", GENESIS, "missing asset"),
    ("XBT", "   ", "empty address"),
    ("XBT", "x" * 1000, "too long"),
]

# BIP-350's invalid mainnet segwit addresses.
BIP350_INVALID = [
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
    "bc1pw5dgrnzv",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
    "bc1gmk9yu",
]


@pytest.mark.parametrize(("asset", "raw", "reason"), INVALID)
def test_invalid_addresses(asset: str, raw: str, reason: str) -> None:
    result = parse_address(asset, raw)
    assert not result.valid
    assert result.reason is not None and result.reason.startswith(reason), result.reason
    assert result.raw == raw


@pytest.mark.parametrize("raw", BIP350_INVALID)
def test_bip350_invalid(raw: str) -> None:
    result = parse_address("XBT", raw)
    assert not result.valid and result.reason


def test_other_chain_keeps_its_canonical_form() -> None:
    result = parse_address("LTC", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")
    assert (result.valid, result.chain) == (False, "btc")
    assert result.address == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


# ---------------------------------------------------------------------- guessing, normalising


@pytest.mark.parametrize(
    ("raw", "chain"),
    [
        (GENESIS, "btc"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "btc"),
        ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "eth"),
        ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "trx"),
        ("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "xrp"),
        ("bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "bch"),
        ("qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a", "bch"),
        ("LaizKtS5DUhPuP1nTQcc83MS7HwK6vk85z", "ltc"),
        ("XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2", "dash"),
        ("t1g7wowvQ8gn2v8jrU1biyJ26sieNqNsBJy", "zec"),
        ("GPwg61XoHqQPNmAucFACuQ5H9sGCDv9TpS", "btg"),
        ("DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z", "xvg"),
        (
            "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
            "xmr",
        ),
        ("5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320", None),
        ("hello world", None),
        ("", None),
    ],
)
def test_guess_chain(raw: str, chain: str | None) -> None:
    assert guess_chain(raw) == chain


def test_parse_any() -> None:
    result = parse_any(" 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed ")
    assert (result.asset, result.chain, result.valid) == ("ETH", "eth", True)
    assert parse_any("bitcoincash:qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a").asset == "BCH"
    unknown = parse_any("not an address")
    assert (unknown.valid, unknown.reason) == (False, "unrecognised address format")


def test_normalise() -> None:
    assert normalise("eth", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed") == (
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    )
    assert normalise("bch", "BITCOINCASH:QPM2QSZNHKS23Z7629MMS6S4CWEF74VCWVY22GDX6A") == (
        "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a"
    )
    assert normalise("btc", f" {GENESIS} ") == GENESIS
    # Invalid input: trimmed, case folded where the format ignores case.
    assert normalise("eth", " 0xABCDEF0123456789ABCDEF0123456789ABCDEF0g ") == (
        "0xabcdef0123456789abcdef0123456789abcdef0g"
    )
    assert normalise("nochain", " Foo ") == "Foo"


def test_asset_table_is_consistent() -> None:
    for asset, chain in ASSET_CHAINS.items():
        assert parse_address(asset, "x").chain in (chain, *TOKEN_CHAINS.get(asset, ()))
    assert set(CHAIN_ASSETS) == set(ASSET_CHAINS.values())


# ------------------------------------------------------------------- OFAC reference addresses

# Entries of OFAC's own list that are not addresses of the asset they are listed under; the
# same text is in SDN.CSV and in GraphSense's OFAC TagPack, so they are OFAC's, not ours.
OFAC_ERRATA = {
    # WANG Mingming (ILLICIT-DRUGS-EO14059): a TRON address (base58check, version 0x41).
    ("XBT", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"): ("trx", "TRON address listed as XBT"),
    # KARASAVIDI Dmitrii (CYBER2): 64 hex digits, no Monero address (those are base58).
    ("XMR", "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320"): (
        "xmr",
        "64 hex digits: a hash, key or payment ID, not a Monero address",
    ),
}


def _check_listed(asset: str, raw: str) -> CryptoAddress:
    result = parse_address(asset, raw)
    if (asset, raw) in OFAC_ERRATA:
        assert (result.chain, result.reason) == OFAC_ERRATA[asset, raw]
        assert not result.valid
    else:
        assert result.valid, f"{asset} {raw}: {result.reason}"
        assert result.chain in (ASSET_CHAINS[asset], *TOKEN_CHAINS.get(asset, ()))
    return result


@pytest.mark.shared_data
def test_ofac_addresses_by_asset(shared_data: Path) -> None:
    folder = shared_data / "addresses" / "ofac_by_asset_2024-09-27"
    files = sorted(folder.glob("sanctioned_addresses_*.txt"))
    assert len(files) == 17
    seen = valid = 0
    for path in files:
        asset = path.stem.removeprefix("sanctioned_addresses_")
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            seen += 1
            valid += _check_listed(asset, line).valid
            assert parse_any(line).address == parse_address(asset, line).address
    assert (seen, valid) == (654, 654 - len(OFAC_ERRATA))


@pytest.mark.shared_data
def test_ofac_address_entity_table(shared_data: Path) -> None:
    path = shared_data / "addresses" / "ofac_address_entity_2024.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 641
    for row in rows:
        for asset in row["ofac_assets"].split(";"):
            _check_listed(asset, row["address"])


@pytest.mark.shared_data
def test_russia_nexus_excerpt(shared_data: Path) -> None:
    path = shared_data / "addresses" / "russia_nexus_2025_excerpt.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            _check_listed(row["chain"], row["address"])


# ------------------------------------------------------------------------------- fuzzing

# Addresses whose checksum catches any single substitution (or almost surely, for base58check
# and Monero's 32-bit hashes).
CHECKSUMMED = [
    GENESIS,
    "3CWFddi6m4ndiGyKqzYvsFYagqDLPVMTzC",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
    "qpm2qsznhks23z7629mms6s4cwef74vcwvy22gdx6a",
    "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
    "XnPFsRWTaSgiVauosEwQ6dEitGYXgwznz2",
    "t1g7wowvQ8gn2v8jrU1biyJ26sieNqNsBJy",
    "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A",
]
ASSETS = sorted(ASSET_CHAINS) + ["FOO", ""]


@settings(max_examples=300)
@given(asset=st.sampled_from(ASSETS) | st.text(max_size=12), raw=st.text(max_size=200))
def test_never_raises_on_text(asset: str, raw: str) -> None:
    result = parse_address(asset, raw)
    assert isinstance(result, CryptoAddress)
    assert result.raw == raw
    assert result.valid == (result.reason is None)
    guess_chain(raw)
    parse_any(raw)
    normalise(result.chain, raw)


@settings(max_examples=300)
@given(
    address=st.sampled_from(CHECKSUMMED),
    position=st.integers(min_value=0, max_value=200),
    char=st.sampled_from(string.ascii_letters + string.digits),
    asset=st.sampled_from(ASSETS),
)
def test_mutated_addresses_fail(address: str, position: int, char: str, asset: str) -> None:
    position %= len(address)
    mutated = address[:position] + char + address[position + 1 :]
    assume(mutated != address)
    result = parse_address(asset, mutated)
    assert not result.valid
    assert not parse_any(mutated).valid


@given(address=st.sampled_from([a for _, a, _, _ in VALID]), data=st.data())
def test_valid_addresses_with_noise_never_raise(address: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(address)))
    noise = data.draw(st.text(max_size=3))
    mutated = address[:position] + noise + address[position:]
    for asset in ASSETS:
        assert parse_address(asset, mutated).raw == mutated


def test_a_tron_address_that_begins_like_bech32_testnet_is_tron():
    # "TB1…" reads as Bitcoin testnet's "tb1" prefix, but bech32 is single-case.
    parsed = parse_any("TB1Gd9YLEvCeCLPVk1g4PwicFqqngGotxR")
    assert (parsed.chain, parsed.valid) == ("trx", True)
    # A real bech32 address written in mixed case is still refused as such.
    mixed = parse_any("tB1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx")
    assert (mixed.chain, mixed.valid, mixed.reason) == ("btc", False, "mixed case")
