"""Exposure screening end to end: the demo chain, lists and tags in a database, the CLI, the API."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest

from helpers import key_headers, run, serving
from sanctrace.chainstore.store import ChainStore
from sanctrace.demo.chain_world import generate_chain
from sanctrace.demo.files import write_chain, write_world
from sanctrace.demo.world import generate
from sanctrace.errors import BadRequest, NotFound, Unavailable
from sanctrace.lists.snapshots import load_lists
from sanctrace.services.chain_data import load_chain, load_tags
from sanctrace.services.exposure import ExposureRequest, ExposureService
from sanctrace.store import open_database

SEED = 7


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A small demo world: list and tags in a SQLite file, its chain in a chain store."""
    folder = tmp_path_factory.mktemp("exposure")
    world = generate(SEED, 400)
    files = write_world(world, folder / "world")
    chain = generate_chain(world, SEED)
    chain_files = write_chain(chain, folder / "world")
    db_url = f"sqlite:///{folder / 'exposure.db'}"
    db = open_database(db_url)
    load_lists(db, [files["list"]], source="demo_sdn", fmt="ofac_csv")
    load_tags(db, [chain_files["tags"]], fmt="csv")
    store = ChainStore(folder / "data" / "chain")
    load_chain(store, [chain_files["chain"]], fmt="btc_bigquery")
    return {"db": db, "db_url": db_url, "store": store, "truth": chain.truth, "folder": folder}


@pytest.fixture(scope="module")
def service(world):
    return ExposureService(world["db"], world["store"])


def screen(service, **request):
    """The JSON answer to one request."""
    return service.screen(ExposureRequest(**request)).to_dict()


def deposit(world, key):
    return world["truth"]["deposits"][key]["address"]


@pytest.mark.parametrize(
    "key", ["direct_from_listed_exchange", "mining_payout_merged", "peel_chain"]
)
def test_planted_deposits_show_their_exposure(world, service, key):
    planted = world["truth"]["deposits"][key]
    answer = screen(service, chain="btc", address=planted["address"])
    assert answer["min_hops"] == planted["hops"]
    assert answer["fraction"] == pytest.approx(planted["haircut"], rel=1e-9)
    assert answer["risk"]["action"] == ("block" if planted["hops"] == 1 else "review")
    assert answer["by_entity"] and answer["by_entity"][0]["category"] == "sanctioned"
    # The best evidence path starts at a flagged output and ends at the deposit.
    steps = answer["paths"][0]["steps"]
    assert steps[0]["tags"] and steps[-1]["address"] == planted["address"]
    assert len(steps) == planted["hops"] + 1
    assert answer["basis"]["snapshots"] == {"demo_sdn": 1}


def test_hop_limit_and_stop_entities(world, service):
    far = deposit(world, "beyond_hop_limit")
    assert screen(service, chain="btc", address=far)["tainted_value"] == 0
    reached = screen(service, chain="btc", address=far, hops=10)
    assert reached["min_hops"] == world["truth"]["deposits"]["beyond_hop_limit"]["hops"]
    via_exchange = screen(service, chain="btc", address=deposit(world, "through_other_exchange"))
    assert via_exchange["tainted_value"] == 0 and via_exchange["risk"]["action"] == "allow"
    clean = world["truth"]["deposits"]["clean"][0]
    assert screen(service, chain="btc", address=clean)["tainted_value"] == 0


def test_withdrawal_destination_of_funds(world, service):
    planted = world["truth"]["withdrawals"]["forwarded_to_listed"]
    by_address = screen(service, chain="btc", address=planted["address"], direction="out")
    assert by_address["min_hops"] == planted["hops"] and by_address["tainted_value"] > 0
    by_tx = screen(service, chain="btc", txid=planted["txid"], output_index=0, direction="out")
    assert by_tx["tainted_value"] == pytest.approx(by_address["tainted_value"])
    assert by_tx["paths"][0]["steps"][-1]["address"] == planted["reaches"]


def test_bad_questions(service):
    with pytest.raises(BadRequest, match="exactly one"):
        screen(service, chain="btc")
    with pytest.raises(BadRequest, match="hops: 11"):
        screen(service, chain="btc", txid="00" * 32, hops=11)
    with pytest.raises(BadRequest, match="model: 'x'"):
        screen(service, chain="btc", txid="00" * 32, model="x")
    with pytest.raises(Unavailable, match="nothing loaded"):
        screen(service, chain="ltc", txid="00" * 32)
    with pytest.raises(NotFound, match="unknown transaction"):
        screen(service, chain="btc", txid="00" * 32)


def test_cli_contract(world, monkeypatch, tmp_path):
    monkeypatch.setenv("SANCTRACE_DATA_DIR", str(world["folder"] / "data"))
    db = world["db_url"]
    out = tmp_path / "exposure.csv"
    result = run("chain", "exposure", "--all", "--direction", "in", "--out", str(out), db=db)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == [
        "txid",
        "output_index",
        "address",
        "value",
        "tainted_value",
        "fraction",
        "hops",
    ]
    by_address = {r["address"]: r for r in rows}
    direct = by_address[deposit(world, "direct_from_listed_exchange")]
    assert direct["hops"] == "1" and float(direct["fraction"]) == 1.0
    assert {r["hops"] for r in rows} >= {"0", "1", "2"}
    assert all(int(r["hops"]) <= 5 for r in rows)
    stdout = run("chain", "exposure", "--all", "--model", "poison", db=db)
    assert stdout.returncode == 0 and stdout.stdout.startswith('"txid","output_index"')

    one = run("chain", "exposure", "--address", deposit(world, "peel_chain"), "--json", db=db)
    assert one.returncode == 1, one.stderr  # review: a hit
    answer = json.loads(one.stdout)
    assert answer["min_hops"] == 4 and answer["risk"]["level"] == "indirect"
    text = run("chain", "exposure", "--address", deposit(world, "peel_chain"), db=db)
    assert text.returncode == 1 and "REVIEW" in text.stdout and "path 1" in text.stdout
    # Amounts for people in BTC (8 decimals); the JSON keeps satoshi.
    assert f"of {answer['value'] / 1e8:,.8f} BTC flagged" in text.stdout
    assert isinstance(answer["value"], int)
    clean = run("chain", "exposure", "--address", world["truth"]["deposits"]["clean"][0], db=db)
    assert clean.returncode == 0 and "ALLOW" in clean.stdout, clean.stderr

    flagged = tmp_path / "flagged.txt"
    flagged.write_text(f"# user list\n{world['truth']['other_exchange']}\n")
    mine = run(
        "chain",
        "exposure",
        "--flagged",
        str(flagged),
        "--address",
        deposit(world, "through_other_exchange"),
        "--json",
        db=db,
    )
    assert mine.returncode == 1, mine.stderr  # direct exposure: block
    assert json.loads(mine.stdout)["min_hops"] == 1

    bad = run("chain", "exposure", "--address", "x", "--tx", "y", db=db)
    assert bad.returncode == 2
    too_far = run("chain", "exposure", "--all", "--hops", "11", db=db)
    assert too_far.returncode == 2 and too_far.stderr.count("\n") == 1
    assert "hops: 11" in too_far.stderr
    bad_model = run("chain", "exposure", "--tx", "00" * 32, "--model", "x", db=db)
    assert bad_model.returncode == 2 and "model: 'x'" in bad_model.stderr
    unknown = run("chain", "exposure", "--tx", "00" * 32, db=db)
    assert unknown.returncode == 2 and "unknown transaction" in unknown.stderr


@pytest.fixture
def api(world, monkeypatch):
    monkeypatch.setenv("SANCTRACE_DATA_DIR", str(world["folder"] / "data"))
    from sanctrace.api.app import create_app

    with serving(create_app(world["db_url"])) as url:
        yield url


def test_api_screens_a_deposit_before_credit(world, api):
    auth = key_headers(world["db_url"])
    with httpx.Client(base_url=api, timeout=60, headers=auth) as client:
        reply = client.post(
            "/v1/screen/transaction",
            json={"address": deposit(world, "direct_from_listed_exchange"), "chain": "btc"},
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["risk"]["action"] == "block" and body["min_hops"] == 1
        assert body["paths"][0]["steps"][0]["tags"]
        planted = world["truth"]["withdrawals"]["forwarded_to_listed"]
        out = client.post(
            "/v1/screen/transaction",
            json={"txid": planted["txid"], "output_index": 0, "direction": "out"},
        )
        assert out.status_code == 200 and out.json()["min_hops"] == 2
        missing = client.post("/v1/screen/transaction", json={"txid": "ab" * 32})
        assert missing.status_code == 404
        both = client.post("/v1/screen/transaction", json={"txid": "ab", "address": "x"})
        assert both.status_code == 422
        assert (
            client.post("/v1/screen/transaction", json={"txid": "ab", "hops": 11}).status_code
            == 422
        )
        bad_model = client.post("/v1/screen/transaction", json={"txid": "ab", "model": "x"})
        assert bad_model.status_code == 422 and "model" in bad_model.json()["detail"]
        assert "unknown transaction" in missing.json()["detail"]
        no_chain = client.post("/v1/screen/transaction", json={"txid": "ab", "chain": "ltc"})
        assert no_chain.status_code == 503
        # The JSON of the API is the CLI's: same keys, base units.
        assert set(body) >= {"subject", "chain", "risk", "basis", "paths", "by_entity"}
        assert "cluster_build" in body["basis"] and "flagged_file" not in body["basis"]
        schema = client.get("/openapi.json").json()["paths"]["/v1/screen/transaction"]["post"]
        assert "200" in schema["responses"] and "404" in schema["responses"]
        assert "$ref" in str(schema["responses"]["200"])


def test_account_chain_address(tmp_path, monkeypatch):
    """ETH transfers: a flagged sender taints a receiver (haircut share) and its onward transfer."""
    from pathlib import Path

    from sanctrace.chain.records import Transfer

    bad, mid, clean, deposit = ("0x" + c * 40 for c in "abcd")
    rows = [
        (bad, mid, 30, 1),
        (clean, mid, 70, 2),
        (mid, deposit, 50, 3),
    ]
    transfers = [
        Transfer("eth", "", s, r, amount, f"0x{n:064x}", -1, 100 + n, 1_700_000_000 + n)
        for s, r, amount, n in rows
    ]
    store = ChainStore(tmp_path / "data" / "chain")
    store.write("eth", transfers, [Path("eth.json")], "ef" * 32, fmt="test")
    db_url = f"sqlite:///{tmp_path / 'eth.db'}"
    open_database(db_url).dispose()  # read-only commands need a database that exists
    flagged = tmp_path / "flagged.txt"
    flagged.write_text(bad + "\n")
    monkeypatch.setenv("SANCTRACE_DATA_DIR", str(tmp_path / "data"))
    args = ["chain", "exposure", "--address", deposit, "--flagged", str(flagged), "--json"]
    haircut = run(*args, db=db_url)
    assert haircut.returncode == 1, haircut.stderr  # received straight from flagged: block
    answer = json.loads(haircut.stdout)
    assert answer["chain"] == "eth" and answer["value"] == 50
    assert answer["tainted_value"] == pytest.approx(15.0)  # 50 × 30/100
    poison = json.loads(run(*args, "--model", "poison", db=db_url).stdout)
    assert poison["tainted_value"] == pytest.approx(50.0)
    fifo = run(*args, "--model", "fifo", db=db_url)
    assert fifo.returncode == 2 and "haircut, poison" in fifo.stderr
    # For people: ETH with 18 decimals, no hop limit, transfers without output indexes.
    text = run(*args[:-1], db=db_url).stdout
    assert "0.000000000000000050 ETH" in text and "no hop limit" in text
    assert "≤-1" not in text and ":-1" not in text


def test_cluster_ids_follow_the_cluster_map(world, service):
    from sanctrace.chainstore.clusters import ClusterFiles, ClusterIndex, build_clusters
    from sanctrace.services.exposure import cluster_ids

    build_clusters(world["store"], chain="btc")
    files = ClusterFiles.open(world["store"].root, "btc")
    graph, _ = service.graph("btc")
    ids = cluster_ids(graph, files)
    index = ClusterIndex(files)
    names = graph.addresses.strings().to_pylist()
    expected = [index.locate(n)[0] if index.locate(n) else -1 for n in names]
    assert ids.tolist() == expected and len(set(expected)) < len(expected)
    # The service picks the new map up: same answers, the build named in the basis.
    answer = screen(service, chain="btc", address=deposit(world, "peel_chain"))
    assert answer["basis"]["cluster_build"] == files.build and answer["min_hops"] == 4
