"""Address screening end to end: tag sets in the database, the cluster map in the chain store,
direct list and tag hits, tags inherited through a cluster, the CLI and the REST API."""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from helpers import key_headers, run
from sanctrace.chain.graph import UtxoGraph
from sanctrace.chain.tagfiles import read_tag_files
from sanctrace.chain.tagpacks import read_tagpack_folder
from sanctrace.chainstore.clusters import ClusterFiles, ClusterIndex
from sanctrace.chainstore.store import ChainStore
from sanctrace.errors import Unavailable
from sanctrace.lists.lookup import HIT_FIELDS
from sanctrace.services.addresses import AddressScreener, screen_address
from sanctrace.store import open_database
from sanctrace.store.tables import tag_sets, tags

TAGPACKS = Path("chain/tags/graphsense")
RAW = Path("chain/btc/raw_blocks")
BLOCK_540107 = RAW / "block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk"
BLOCK_574200 = RAW / "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"
SDN_2024 = Path("lists/ofac/2024-05-03/sdn.csv.gz")
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chain" / "tags"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("SANCTRACE_DATA_DIR", str(path))
    return path


def _counts(db_url: str) -> tuple[int, int]:
    db = open_database(db_url)
    try:
        with db.connect() as conn:
            sets = conn.execute(sa.select(sa.func.count()).select_from(tag_sets)).scalar_one()
            rows = conn.execute(sa.select(sa.func.count()).select_from(tags)).scalar_one()
    finally:
        db.dispose()
    return sets, rows


def _lookups_per_second(screener: AddressScreener, addresses: list[str]) -> float:
    for address in addresses[:50]:  # warm-up: caches filled
        screener.screen(address).to_dict()
    start = time.perf_counter()
    for address in addresses:
        screener.screen(address).to_dict()
    return len(addresses) / (time.perf_counter() - start)


# ------------------------------------------------------------------------------- TagPacks


def test_tagpack_folder_loads_once_and_every_address_tags(db_url, shared_data, data_dir):
    folder = shared_data / TAGPACKS
    expected = read_tagpack_folder(folder)
    loaded = run("chain", "tags", str(folder), db=db_url)
    assert loaded.returncode == 0, loaded.stderr
    line = loaded.stderr.strip()
    assert line.startswith("tags: loaded tag set 1 (tagpack, ")
    assert f"{len(expected.tags)} tags" in line and f"{len(expected.problems)} problems" in line
    assert _counts(db_url) == (1, len(expected.tags))

    again = run("-v", "chain", "tags", str(folder), db=db_url)
    assert again.returncode == 0 and "unchanged tag set 1" in again.stderr
    assert _counts(db_url) == (1, len(expected.tags))
    for problem in expected.problems:  # -v lists every problem
        assert str(problem) in again.stderr

    db = open_database(db_url)
    screener = AddressScreener(db, ChainStore(data_dir / "chain"))
    for tag in expected.tags:
        found = screener.screen(tag.raw).to_dict()["tags"]
        assert any(t["origin"] == tag.origin and t["label"] == tag.label for t in found), tag
        own = next(t for t in found if t["origin"] == tag.origin)
        assert (own["category"], own["confidence"], own["source"]) == (
            tag.category,
            tag.confidence,
            tag.source,
        )
    lazarus = screener.screen("134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak").to_dict()
    assert lazarus["sanctioned"] and lazarus["tags"][0]["abuse"] == "sanction"
    rate = _lookups_per_second(screener, [t.raw for t in expected.tags])
    print(f"\nwarm address screening: {rate:,.0f} lookups/s ({1e6 / rate:.0f} µs each)")
    db.dispose()


def test_bad_tag_files_one_error_line_nothing_stored(db_url, tmp_path, shared_data):
    folder = tmp_path / "pack" / "packs"
    folder.mkdir(parents=True)
    shutil.copy(shared_data / TAGPACKS / "packs" / "ofac.yaml", folder / "ofac.yaml")
    shutil.copy(FIXTURES / "not_yaml.yaml", folder / "zz_broken.yaml")
    result = run("chain", "tags", str(tmp_path / "pack"), db=db_url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {folder / 'zz_broken.yaml'}:")
    assert "Traceback" not in result.stderr
    assert _counts(db_url) == (0, 0)

    not_list = run("chain", "tags", str(FIXTURES / "tags_not_list.yaml"), db=db_url)
    assert not_list.returncode == 2 and "field tags" in not_list.stderr
    bad_csv = tmp_path / "tags.csv"
    bad_csv.write_text("address,chain\n1Archive1n2C579dMsAu3iC6tWzuQJz8dN,btc\n")
    missing = run("chain", "tags", str(bad_csv), db=db_url)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"error: {bad_csv}: header: missing column label"
    unknown = run("chain", "tags", str(tmp_path / "nope.yaml"), db=db_url)
    assert unknown.returncode == 2 and "no such file" in unknown.stderr
    assert _counts(db_url) == (0, 0)


# ---------------------------------------------------------------------------- OFAC lists


def test_ofac_list_addresses_hit_directly(db_url, shared_data, data_dir):
    loaded = run("lists", "load", str(shared_data / SDN_2024), db=db_url)
    assert loaded.returncode == 0, loaded.stderr
    with open(shared_data / "addresses/ofac_sdn_csv_addresses_2024-05-03.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["address_possibly_cut"] == "False"]
    assert len(rows) > 250
    db = open_database(db_url)
    screener = AddressScreener(db, ChainStore(data_dir / "chain"))
    for row in rows:
        result = screener.screen(row["address"]).to_dict()
        assert result["sanctioned"], row
        hit = next(h for h in result["hits"] if h["entity_id"] == f"us_ofac_sdn:{row['ent_num']}")
        assert set(hit) == set(HIT_FIELDS) and hit["source"] == "us_ofac_sdn"
        assert result["snapshots"] == {"us_ofac_sdn": hit["snapshot_id"]}
    db.dispose()
    # One-shot through the command line: exit 1, the entity in the JSON and in the text.
    row = next(r for r in rows if r["asset"] == "ETH")
    shown = run(
        "screen", "address", row["address"].upper().replace("0X", "0x"), "--json", db=db_url
    )
    assert shown.returncode == 1, shown.stderr
    body = json.loads(shown.stdout)
    assert body["sanctioned"] and body["address"] == row["address"].lower()
    assert f"us_ofac_sdn:{row['ent_num']}" in [h["entity_id"] for h in body["hits"]]
    text = run("screen", "address", rows[0]["address"], db=db_url)
    assert text.returncode == 1 and "HIT listed:" in text.stdout
    assert f"us_ofac_sdn:{rows[0]['ent_num']}" in text.stdout


def _ofac_tag_csv(shared_data: Path, path: Path) -> list[str]:
    """Every OFAC address of ``addresses/`` as a user tag CSV (category sanctioned)."""
    folder = shared_data / "addresses"
    out, seen = [], []
    with open(folder / "ofac_address_entity_2024.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for asset in row["ofac_assets"].split(";"):
                out.append((row["address"], asset, row["entity"] or "OFAC SDN"))
    for file in sorted((folder / "ofac_by_asset_2024-09-27").glob("sanctioned_addresses_*.txt")):
        asset = file.stem.rsplit("_", 1)[1]
        out += [(a.strip(), asset, "OFAC SDN") for a in file.read_text().splitlines() if a.strip()]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["address", "chain", "label", "category", "source", "jurisdiction"])
        for address, asset, label in out:
            writer.writerow([address, asset, label, "sanctioned", "us_ofac_sdn", "US"])
            seen.append(address)
    return seen


def test_every_ofac_address_tags_as_sanctioned(db_url, shared_data, data_dir, tmp_path):
    addresses = _ofac_tag_csv(shared_data, tmp_path / "ofac_tags.csv")
    assert len(addresses) > 1_300
    loaded = run("chain", "tags", str(tmp_path / "ofac_tags.csv"), db=db_url)
    assert loaded.returncode == 0, loaded.stderr
    db = open_database(db_url)
    screener = AddressScreener(db, ChainStore(data_dir / "chain"))
    for address in addresses:
        result = screener.screen(address).to_dict()
        assert result["sanctioned"] and result["tags"], address
        assert all(t["category"] == "sanctioned" for t in result["tags"])
    hydra = [
        a for a in addresses if screener.screen(a).to_dict()["tags"][0]["label"] == "HYDRA MARKET"
    ]
    assert len(set(hydra)) >= 100
    db.dispose()


# ------------------------------------------------------------------- cluster inheritance


def test_clustered_address_inherits_its_clusters_tags(db_url, shared_data, data_dir, tmp_path):
    blocks = [str(shared_data / BLOCK_540107), str(shared_data / BLOCK_574200)]
    loaded = run("chain", "load", *blocks, db=db_url)
    assert loaded.returncode == 0, loaded.stderr
    db = open_database(db_url)
    store = ChainStore(data_dir / "chain")
    screener = AddressScreener(db, store)  # warm before the map exists: must notice it later

    built = run("chain", "cluster", "--json", db=db_url)
    assert built.returncode == 0, built.stderr
    summary = json.loads(built.stdout)
    assert summary["created"] and summary["evidence_edges"] > 0
    assert summary["transactions"] == 230 + 3_315
    assert summary["largest_cluster"] > 1 and summary["coinjoin_skipped"] == 0
    again = run("chain", "cluster", db=db_url)
    assert (
        again.returncode == 0 and "unchanged" in again.stdout and "largest cluster" in again.stdout
    )

    files = ClusterFiles.open(store.root, "btc")
    evidence = pq.read_table(files.evidence_path).to_pylist()
    first = evidence[0]
    tagged, queried, txid = first["a"], first["b"], first["txid"]
    # Both are input addresses of that one (multi-input) transaction.
    graph = UtxoGraph.from_tables(
        *(store.table("btc", t) for t in ("transactions", "inputs", "outputs"))
    )
    inputs = {graph.address(int(i)) for i in graph.tx_input_addresses(graph.tx_id(txid))}
    assert {tagged, queried} <= inputs and len(inputs) >= 2
    other = next(e for e in evidence if e["cluster"] != first["cluster"])

    # Nothing loaded yet (no list, no tag set): fail closed, never "not sanctioned".
    with pytest.raises(Unavailable, match="no lists loaded"):
        screener.screen(queried)
    user_tags = tmp_path / "user_tags.csv"
    user_tags.write_text(
        "address,chain,label,category,source,confidence\n"
        f"{tagged},BTC,Designated wallet operator,sanctioned,case 42,100\n"
        f"{other['a']},btc,Some exchange,exchange,case 43,authority_data\n"
    )
    assert run("chain", "tags", str(user_tags), db=db_url).returncode == 0

    shown = run("screen", "address", queried, "--json", db=db_url)
    assert shown.returncode == 1, shown.stderr
    body = json.loads(shown.stdout)
    assert body["sanctioned"] and body["hits"] == [] and body["tags"] == []
    cluster = body["cluster"]
    assert cluster["id"] == first["cluster"] and cluster["size"] >= 2
    (entry,) = cluster["tagged"]
    assert entry["address"] == tagged
    assert txid in [hop["txid"] for hop in entry["path"]]
    (tag,) = entry["tags"]
    assert tag["category"] == "sanctioned" and tag["label"] == "Designated wallet operator"
    assert tag["reason"].startswith(
        f"address {queried} is in cluster {cluster['id']} with {tagged}"
    )
    assert f"via tx {txid}" in tag["reason"]
    assert tag["reason"].endswith(
        "which is tagged 'Designated wallet operator' [sanctioned] by case 42"
    )

    text = run("screen", "address", queried, db=db_url)
    assert text.returncode == 1 and "HIT cluster:" in text.stdout and txid in text.stdout
    # The tagged address itself: a direct tag hit.
    direct = run("screen", "address", tagged, "--json", db=db_url)
    assert (
        direct.returncode == 1
        and json.loads(direct.stdout)["tags"][0]["origin"] == "user_tags.csv:2"
    )
    # An exchange tag in another cluster is reported, but is no sanctions hit.
    plain = run("screen", "address", other["b"], "--json", db=db_url)
    assert plain.returncode == 0
    (inherited,) = json.loads(plain.stdout)["cluster"]["tagged"]
    assert (
        inherited["tags"][0]["category"] == "exchange" and inherited["tags"][0]["confidence"] == 60
    )

    # The warm screener noticed the map and the new tags, and answers like the one-shot path.
    assert screener.screen(queried).to_dict() == body
    assert screen_address(db, queried, store).to_dict() == body
    # REST: the same object.
    from fastapi.testclient import TestClient

    from sanctrace.api.app import create_app

    with TestClient(create_app(db_url), headers=key_headers(db_url)) as client:
        reply = client.post("/v1/screen/address", json={"address": queried})
        assert reply.status_code == 200 and reply.json() == body
        assert client.post("/v1/screen/address", json={"address": ""}).status_code == 422
        typo = client.post("/v1/screen/address", json={"address": "1BvBMSEYstWetqTFn5Au4m4GFg"})
        assert typo.status_code == 422
        assert "not a valid address for any supported chain" in typo.json()["detail"]
        schema = client.get("/openapi.json").json()["paths"]["/v1/screen/address"]["post"]
        assert "$ref" in str(schema["responses"]["200"])

    # A string no chain accepts (and no list or tag names) is bad input: exit 2, not "clean".
    typo = run("screen", "address", "1BvBMSEYstWetqTFn5Au4m4GFg", db=db_url)
    assert typo.returncode == 2 and "not a valid address for any supported chain" in typo.stderr
    assert "not sanctioned" not in typo.stdout

    # In-memory and on-disk paths agree for every pair of a multi-address cluster.
    index = ClusterIndex(files)
    members: dict[int, set[str]] = {}
    for e in evidence:
        members.setdefault(e["cluster"], set()).update((e["a"], e["b"]))
    for cluster_id, names in members.items():
        for name in names:
            assert index.locate(name) == files.locate(name) == (cluster_id, len(names))
            assert index.paths(cluster_id, name, names) == files.paths(cluster_id, name, names)

    # Without the CoinJoin filter: a new build, which the warm screener picks up.
    rebuilt = run("chain", "cluster", "--no-coinjoin-filter", "--json", db=db_url)
    assert rebuilt.returncode == 0 and json.loads(rebuilt.stdout)["build"] != summary["build"]
    assert (
        screener.screen(queried).to_dict()["cluster"]["build"]
        == json.loads(rebuilt.stdout)["build"]
    )
    db.dispose()


def test_cluster_needs_utxo_data(db_url, data_dir):
    result = run("chain", "cluster", db=db_url)
    assert result.returncode == 3  # unavailable: nothing to cluster
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "chain btc: no UTXO inputs" in lines[0]


def test_tag_set_identity_ignores_names(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("address,chain,label\n1Archive1n2C579dMsAu3iC6tWzuQJz8dN,btc,Internet Archive\n")
    shutil.copy(a, b)
    assert read_tag_files([a]).sha256 == read_tag_files([b]).sha256
    assert read_tag_files([a], "csv").sha256 != read_tag_files([FIXTURES / "user_tags.csv"]).sha256
