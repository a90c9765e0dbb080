"""Attribution tags: GraphSense TagPacks, list snapshots (OFAC), users' CSV, lookup keys, and
how a cluster path is described."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanctrace.chain.addresses import parse_address
from sanctrace.chain.cluster import Hop
from sanctrace.chain.tagpacks import (
    read_actors,
    read_confidence_levels,
    read_tagpack,
    read_tagpack_folder,
)
from sanctrace.chain.tags import (
    DEFAULT_CONFIDENCE,
    SANCTIONED,
    ClusterPath,
    Tag,
    TagError,
    chain_of,
    fold,
    jurisdiction_of,
    read_tag_csv,
    tags_from_snapshot_rows,
)

TAGPACKS = Path("chain/tags/graphsense")
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chain" / "tags"


def _tags_for(tags: list[Tag], address: str, chain: str | None = None) -> list[Tag]:
    """The tags whose canonical or raw address has the lookup key (``fold``) of ``address``."""
    key = fold(address)
    return [
        t
        for t in tags
        if key in {fold(t.address), fold(t.raw)} and (chain is None or t.chain == chain)
    ]


# ------------------------------------------------------------------------------- TagPacks


@pytest.fixture(scope="module")
def packs(shared_data):
    return read_tagpack_folder(shared_data / TAGPACKS)


def _yaml_address_entries(folder: Path) -> int:
    count = 0
    for path in sorted((folder / "packs").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        count += sum(1 for t in data["tags"] if isinstance(t, dict) and "address" in t)
    return count


def test_every_tagpack_address_tags(shared_data, packs):
    entries = _yaml_address_entries(shared_data / TAGPACKS)
    skipped = sum(len(p.where) for p in packs.problems if p.skipped)
    invalid = [t for t in packs.tags if t.valid is False]
    print(
        f"\n{entries} address entries, {len(packs.tags)} tags, {len(invalid)} invalid, {skipped} skipped"
    )
    assert packs.entries == entries == 11_791
    assert skipped == 0 and len(packs.tags) == entries
    # Invalid addresses are kept, and each is reported with its reason.
    reported = {(p.file.rsplit("/", 1)[-1], p.where, p.address) for p in packs.problems}
    for tag in invalid:
        name, number = tag.origin.split(":")
        assert (name, (number,), tag.raw) in reported and tag.reason
    assert len(packs.tags) - len(invalid) == entries - len(invalid)
    assert 0 < len(invalid) < 50
    for tag in packs.tags:
        assert fold(tag.raw) and fold(tag.address)
        assert tag.source and tag.label is not None


def test_tagpack_fields_inherited_and_mapped(packs):
    found = _tags_for(packs.tags, "1JHdQHkBZiim1cb4hyUh2PbzEbbg6z2TrF")
    assert {t.origin.split(":")[0] for t in found} == {"sinbad_io.yaml", "ofac.yaml"}
    sinbad = next(t for t in found if t.actor == "sinbadio")
    assert (sinbad.chain, sinbad.label, sinbad.category) == ("btc", "sinbad.io", "mixing_service")
    assert (sinbad.actor, sinbad.confidence, sinbad.valid) == ("sinbadio", 60, True)
    assert sinbad.source == "https://ofac.treasury.gov/recent-actions/20231129"
    hydra = [t for t in packs.tags if t.actor == "hydramarket"]
    assert len(hydra) == 117 and {t.jurisdiction for t in hydra} == {"RU"}
    lazarus = _tags_for(packs.tags, "3LU8wRu4ZnXP4UM8Yo6kkTiGHM9BubgyiG", "btc")
    assert lazarus and lazarus[0].abuse == "sanction" and lazarus[0].category == "user"
    # bech32 is case folded
    wasabi = _tags_for(packs.tags, "BC1QS604C7JV6AMK4CXQLNVUXV26HV3E48CDS4M0EW")
    assert wasabi and wasabi[0].cluster_definer is True and wasabi[0].confidence == 50
    # ETH addresses are lower-cased, whatever case the query uses.
    tornado = [t for t in packs.tags if t.actor == "tornado"]
    assert all(t.address == t.address.lower() and t.chain == "eth" for t in tornado)
    assert _tags_for(packs.tags, tornado[0].address.upper().replace("0X", "0x"))
    usdt = [t for t in packs.tags if t.label == "USDT_blacklisted"]
    assert len(usdt) == 774 and {t.confidence for t in usdt} == {100}


def test_tagpack_header_problem_reported_once(packs):
    ofac = [p for p in packs.problems if p.file.endswith("ofac.yaml") and p.field == "confidence"]
    assert len(ofac) == 1 and len(ofac[0].where) == 572
    assert "missing mandatory field" in str(ofac[0]) and "(572)" in str(ofac[0])


def test_confidence_levels_and_actors(shared_data):
    levels = read_confidence_levels(shared_data / TAGPACKS / "schema" / "confidence.csv")
    assert levels == DEFAULT_CONFIDENCE
    actors = read_actors(shared_data / TAGPACKS / "actors" / "graphsense.actorpack.yaml")
    assert actors["bitstamp"].jurisdictions == ("GB", "LU") and len(actors) > 3000


def test_bad_tagpacks_clear_errors(tmp_path):
    with pytest.raises(TagError, match=r"not_yaml\.yaml: line \d+: not valid YAML"):
        read_tagpack(FIXTURES / "not_yaml.yaml")
    with pytest.raises(TagError, match=r"tags_not_list\.yaml: field tags: expected a list"):
        read_tagpack(FIXTURES / "tags_not_list.yaml")
    (tmp_path / "scalar.yaml").write_text("just text\n")
    with pytest.raises(TagError, match="expected a mapping at the top level, got str"):
        read_tagpack(tmp_path / "scalar.yaml")
    (tmp_path / "notags.yaml").write_text("title: x\ncreator: y\n")
    with pytest.raises(TagError, match="field tags: missing mandatory field"):
        read_tagpack(tmp_path / "notags.yaml")
    with pytest.raises(TagError, match="cannot read"):
        read_tagpack(tmp_path / "absent.yaml")


def test_bad_fields_are_warnings_per_tag():
    result = read_tagpack(FIXTURES / "bad_fields.yaml")
    assert result.entries == 10
    by_field = {}
    for p in result.problems:
        by_field.setdefault(p.field, []).append(p)
    assert [t.raw for t in result.tags] == [
        "1Archive1n2C579dMsAu3iC6tWzuQJz8dN",
        "3LU8wRu4ZnXP4UM8Yo6kkTiGHM9BubgyiG",
        "39idqitN9tYNmq3wYanwg3MitFB5TZCjWu",
        "bc1qa24tsgchvuxsaccp8vrnkfd85hrcpafg20kmjw",
    ]
    assert [t.label for t in result.tags] == ["Header label"] * 4
    assert "title" in by_field and not by_field["title"][0].where
    messages = [str(p) for p in result.problems]
    assert any(
        "tag 2, tag 3" in m and "quote it in the YAML" in m and "skipped" in m for m in messages
    )
    assert any("tag 4 label:" in m and "expected text, got list" in m for m in messages)
    assert any("is_cluster_definer" in m and "tag 5" in m for m in messages)
    assert any("unknown confidence 'sure'" in m for m in messages)
    assert any("tag 6 tag:" in m and "expected a mapping, got str" in m for m in messages)
    assert any("tag 7 address:" in m and "a tx_hash tag" in m for m in messages)
    assert any("tag 8 currency:" in m and "chain taken from the address" in m for m in messages)
    assert any("tag 8 source:" in m for m in messages)
    assert any("tag 9 currency:" in m and "names no chain" in m for m in messages)
    assert any("tag 10 address:" in m and "empty text" in m for m in messages)
    assert result.tags[3].source == "bad_fields.yaml" and result.tags[3].chain == "btc"
    assert result.tags[2].confidence is None and result.tags[2].cluster_definer is False


_KEYS = ["title", "creator", "tags", "address", "label", "currency", "network", "confidence"]
_KEYS += ["is_cluster_definer", "category", "actor", "source", "abuse", "tx_hash"]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["BTC", "ETH", "USDT", "forensic", "1Archive1n2C579dMsAu3iC6tWzuQJz8dN"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=5)
    ),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(_values, st.dictionaries(st.sampled_from(_KEYS), _values, max_size=8)), st.booleans()
)
def test_fuzzed_tagpacks_never_traceback(tmp_path, document, garble):
    path = tmp_path / "fuzz.yaml"
    text = yaml.safe_dump(document, allow_unicode=True)
    if garble:
        text = text.replace(":", ": [", 1)
    path.write_text(text, encoding="utf-8")
    try:
        result = read_tagpack(path)
    except TagError as exc:
        assert str(exc).startswith(str(path))
        return
    assert result.entries == len(result.tags) + sum(
        len(p.where) for p in result.problems if p.skipped
    )
    for problem in result.problems:
        assert str(problem).startswith(str(path))


# --------------------------------------------------------------------------- list snapshots


def _ofac_rows(shared_data: Path) -> list[tuple]:
    folder = shared_data / "addresses"
    names: dict[str, str] = {}
    rows = []
    with open(folder / "ofac_address_entity_2024.csv", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh)):
            names[row["address"].lower()] = row["entity"]
            for asset in row["ofac_assets"].split(";"):
                chain = parse_address(asset, row["address"]).chain
                entity = row["entity"] or f"entity-{n}"
                rows.append((f"e{n}", entity, asset, chain, row["address"], "us_ofac_sdn", 7))
    for path in sorted((folder / "ofac_by_asset_2024-09-27").glob("sanctioned_addresses_*.txt")):
        asset = path.stem.rsplit("_", 1)[1]
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                caption = names.get(line.strip().lower(), "")
                rows.append((f"{asset}-{n}", caption, asset, "", line, "us_ofac_sdn", 8))
    return rows


def test_all_ofac_addresses_tag_as_sanctioned(shared_data):
    rows = _ofac_rows(shared_data)
    tags = tags_from_snapshot_rows(rows)
    assert len(tags) == len(rows) > 1_300
    for row, tag in zip(rows, tags, strict=True):
        assert fold(row[4]) in {fold(tag.address), fold(tag.raw)}
        assert tag.category == SANCTIONED
        assert (tag.jurisdiction, tag.confidence, tag.source) == ("US", 100, "us_ofac_sdn")
        assert (
            tag.entity_id == row[0]
            and tag.snapshot_id == row[6]
            and tag.label == (row[1] or row[0])
        )
        assert tag.chain
    tron_as_btc = _tags_for(tags, "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq")
    assert tron_as_btc and all(t.chain == "trx" for t in tron_as_btc)
    assert any(t.valid is False for t in tron_as_btc)
    hydra = [t for t in tags if t.label == "HYDRA MARKET"]
    assert len({t.address for t in hydra}) >= 100


def test_snapshot_rows_as_mappings_and_jurisdictions():
    row = {
        "entity_id": "un-1",
        "caption": "Someone",
        "asset": "ETH",
        "chain": "eth",
        "address": "0x8589427373D6D84E98730D7795D8f6f8731FDA16",
        "source": "un_sc_sanctions",
        "snapshot_id": 3,
    }
    (tag,) = tags_from_snapshot_rows([row])
    assert tag.address == row["address"].lower() and tag.jurisdiction == "UN"
    assert jurisdiction_of("gb_hmt_sanctions") == "GB" and jurisdiction_of("ofac") is None
    (other,) = tags_from_snapshot_rows([row], jurisdiction="EU")
    assert other.jurisdiction == "EU"


# -------------------------------------------------------------------------------------- CSV


def test_user_csv():
    result = read_tag_csv(FIXTURES / "user_tags.csv")
    assert result.entries == 7 and len(result.tags) == 5
    archive, tornado, sinbad, bad, tron = result.tags
    assert (archive.chain, archive.confidence, archive.jurisdiction) == ("btc", 100, "US")
    assert archive.origin == "user_tags.csv:2"
    assert tornado.address == "0x8589427373d6d84e98730d7795d8f6f8731fda16" and tornado.valid
    assert sinbad.address == sinbad.raw.lower() and sinbad.source == "user_tags.csv"
    assert bad.valid is False and "checksum" in bad.reason
    assert tron.chain == "trx" and tron.confidence is None
    messages = [str(p) for p in result.problems]
    assert any("line 5 address:" in m and "invalid" in m for m in messages)
    assert any("line 6 confidence:" in m and "unknown confidence" in m for m in messages)
    assert any("line 7 address:" in m and "skipped" in m for m in messages)
    assert any("line 8 chain:" in m and "names no chain" in m for m in messages)


def test_user_csv_missing_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("address,label\n1Archive1n2C579dMsAu3iC6tWzuQJz8dN,x\n")
    with pytest.raises(TagError, match=r"t\.csv: header: missing column chain"):
        read_tag_csv(path)


def test_chain_of_codes():
    assert [chain_of(c) for c in ("BTC", "XBT", "eth", "BEP20", "Ripple", "SOL")] == [
        "btc",
        "btc",
        "eth",
        "bsc",
        "xrp",
        "sol",
    ]
    assert chain_of("USDT", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq") == "trx"
    assert chain_of("USDT", "0x8589427373d6d84e98730d7795d8f6f8731fda16") == "eth"
    assert fold(" BitcoinCash:QPNRAY ") == "qpnray" and fold("1Abc") == "1Abc"


# ------------------------------------------------------------------------------ cluster paths


def _tag(address: str, label: str, chain: str = "btc", **kw) -> Tag:
    return Tag(address, chain, label, kw.pop("category", None), None, "test", 50, None, **kw)


def _t(n: int) -> str:
    return f"{n:064x}"


def test_cluster_path_describe():
    sanctioned = tags_from_snapshot_rows([("e1", "BAD GUY", "", "btc", "1C", "us_ofac_sdn", 1)])[0]
    hops = (Hop("1B", "1D", _t(6)), Hop("1D", "1C", _t(3)))
    text = ClusterPath("1B", 0, "1C", hops).describe(sanctioned)
    assert text.startswith(f"address 1B is in cluster 0 with 1C via tx {_t(6)} (1B with 1D)")
    assert f", then tx {_t(3)} (1D with 1C)" in text
    assert text.endswith("which is tagged 'BAD GUY' [sanctioned] by us_ofac_sdn")
    exchange = _tag("1A", "Some exchange", category="exchange")
    own = ClusterPath("1A", None, "1A")
    assert own.describe(exchange) == "address 1A is tagged 'Some exchange' [exchange] by test"
