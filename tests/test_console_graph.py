"""The console's transaction graph and screen pages, over HTTP: the neighbourhood service on the
demo chain, ``GET /v1/graph``, ``/graph`` and ``/screen`` (the browser tests are elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from helpers import user_headers
from sanctrace.api.app import create_app
from sanctrace.chainstore.store import ChainStore
from sanctrace.demo.chain_world import generate_chain
from sanctrace.demo.files import write_chain, write_world
from sanctrace.demo.world import generate
from sanctrace.errors import BadRequest, NotFound
from sanctrace.lists.snapshots import load_lists
from sanctrace.services import lists
from sanctrace.services.chain_data import cluster_chain, load_chain, load_tags
from sanctrace.services.context import Context
from sanctrace.services.neighbourhood import NeighbourhoodRequest, NeighbourhoodService
from sanctrace.settings import Settings
from sanctrace.store import open_database
from sanctrace.web.i18n import LANG_COOKIE

SEED = 7
LISTED_BTC = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The demo world: its list and tags in a SQLite file, its chain (clustered) in a store."""
    folder = tmp_path_factory.mktemp("graph")
    demo = generate(SEED, 400)
    files = write_world(demo, folder / "world")
    chain = generate_chain(demo, SEED)
    chain_files = write_chain(chain, folder / "world")
    settings = Settings(db=f"sqlite:///{folder / 'graph.db'}", data_dir=folder / "data")
    db = open_database(settings.db)
    load_lists(db, [files["list"]], source="demo_sdn", fmt="ofac_csv")
    load_tags(db, [chain_files["tags"]], fmt="csv")
    store = ChainStore(settings.chain_dir)
    load_chain(store, [chain_files["chain"]], fmt="btc_bigquery")
    cluster_chain(store, "btc")
    ctx = Context(settings, db=db, chain_store=store)
    return {"ctx": ctx, "db": db, "store": store, "truth": chain.truth}


@pytest.fixture(scope="module")
def service(world):
    return NeighbourhoodService(world["db"], world["store"])


@pytest.fixture(scope="module")
def client(world):
    with TestClient(create_app(world["ctx"])) as client:
        yield client


@pytest.fixture(scope="module")
def analyst(world):
    return user_headers(world["ctx"], "analyst")


def japanese(headers):
    """``headers`` with the language switch's cookie set to Japanese."""
    return {**headers, "Cookie": f"{headers['Cookie']}; {LANG_COOKIE}=ja"}


def around(service, **request):
    return service.around(NeighbourhoodRequest(**request))


def payout_tx(world, service):
    """The listed mining company's payout to its eight miners (nine outputs with change)."""
    answer = around(service, address=world["truth"]["mining_address"], expand="outputs")
    (tx,) = [n for n in answer.nodes if n.kind == "tx" and n.outputs == 9]
    return tx


# ---------------------------------------------------------------- the neighbourhood service


def test_subject_is_marked_listed_with_its_entry(world, service):
    answer = around(service, address=world["truth"]["mining_address"], expand="none")
    (node,) = answer.nodes
    assert node.id == answer.center and node.kind == "address"
    assert node.listed and node.sanctioned and not node.tagged
    assert "BAIKALSKAYA" in node.lists[0]["caption"] and node.lists[0]["source"] == "demo_sdn"
    assert answer.edges == [] and answer.more == []


def test_expansion_returns_the_next_step(world, service):
    mining = world["truth"]["mining_address"]
    tx = payout_tx(world, service)
    # The address's coins were spent by the payout: an input edge address -> tx with its amount.
    first = around(service, address=mining, expand="outputs")
    spends = [e for e in first.edges if e.target == tx.id]
    assert spends and spends[0].kind == "input" and spends[0].amount == 625_000_000
    assert spends[0].amount_text == "6.25000000 BTC"
    # One step on from the transaction: its nine outputs, the miners and the change.
    step = around(service, txid=tx.txid, expand="outputs")
    outputs = [e for e in step.edges if e.source == tx.id]
    assert len(outputs) == 9 and {e.kind for e in outputs} == {"output"}
    assert sum(e.amount for e in outputs) == tx.value
    assert f"address:{mining}" in {e.target for e in outputs}  # the change
    back = around(service, txid=tx.txid, expand="inputs")
    assert [e.source for e in back.edges] == [f"address:{mining}"]
    # The same output has the same edge id from either side: the graph merges them.
    miner = next(e for e in outputs if e.target != f"address:{mining}")
    from_miner = around(service, address=miner.target.split(":", 1)[1], expand="inputs")
    assert miner.id in {e.id for e in from_miner.edges}


def test_cap_summarises_large_neighbourhoods(world, service):
    tx = payout_tx(world, service)
    capped = around(service, txid=tx.txid, expand="outputs", limit=3)
    assert len(capped.edges) == 3 and len(capped.nodes) == 4  # the tx and three addresses
    (more,) = capped.more
    assert (more.count, more.shown, more.total, more.next_offset) == (6, 3, 9, 3)
    amounts = sorted((e.amount for e in capped.edges), reverse=True)
    assert [e.amount for e in capped.edges] == amounts  # the largest first
    everything = around(service, txid=tx.txid, expand="outputs")
    assert more.amount == sum(e.amount for e in everything.edges) - sum(amounts)
    nxt = around(service, txid=tx.txid, expand="outputs", limit=3, offset=3)
    assert not {e.id for e in nxt.edges} & {e.id for e in capped.edges}
    assert nxt.more[0].count == 3 and nxt.more[0].next_offset == 6


def test_tagged_nodes_and_cluster_neighbours(world, service):
    other = world["truth"]["other_exchange"]
    answer = around(service, address=other, expand="all")
    center = next(n for n in answer.nodes if n.id == answer.center)
    assert center.tagged and not center.listed
    assert center.tags[0]["label"] == "Other Exchange hot wallet"
    assert answer.cluster is not None and answer.cluster["size"] >= 1
    cluster_edges = [e for e in answer.edges if e.kind == "cluster"]
    assert len(cluster_edges) == answer.cluster["size"] - 1


def test_bad_and_unknown_subjects(service):
    with pytest.raises(BadRequest, match="exactly one"):
        NeighbourhoodRequest()
    with pytest.raises(BadRequest, match="expand"):
        NeighbourhoodRequest(txid="00" * 32, expand="sideways")
    with pytest.raises(BadRequest, match="limit"):
        NeighbourhoodRequest(txid="00" * 32, limit=0)
    with pytest.raises(NotFound, match="unknown transaction"):
        around(service, txid="00" * 32)
    with pytest.raises(NotFound, match="unknown address"):
        around(service, address=LISTED_BTC)


# ---------------------------------------------------------------- GET /v1/graph


def test_graph_endpoint_needs_auth(world, client):
    mining = world["truth"]["mining_address"]
    response = client.get("/v1/graph", params={"address": mining})
    assert response.status_code == 401
    auditor = user_headers(world["ctx"], "auditor")  # READ is enough
    assert client.get("/v1/graph", params={"address": mining}, headers=auditor).status_code == 200


def test_graph_endpoint_expands(world, client, analyst, service):
    tx = payout_tx(world, service)
    params = {"tx": tx.txid, "expand": "outputs", "limit": 2}
    response = client.get("/v1/graph", params=params, headers=analyst)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["center"] == tx.id and body["unit"] == {"symbol": "BTC", "decimals": 8}
    assert len(body["edges"]) == 2 and body["more"][0]["count"] == 7
    miner = next(n for n in body["nodes"] if n["kind"] == "address")
    assert set(miner) >= {"listed", "tagged", "lists", "tags"}
    bad = client.get("/v1/graph", params={"tx": tx.txid, "expand": "up"}, headers=analyst)
    assert bad.status_code == 422
    unknown = client.get("/v1/graph", params={"tx": "00" * 32}, headers=analyst)
    assert unknown.status_code == 404 and "unknown transaction" in unknown.json()["detail"]


# ---------------------------------------------------------------- the pages


def test_graph_page_draws_the_neighbourhood(world, client, analyst):
    mining = world["truth"]["mining_address"]
    page = client.get("/graph", params={"address": mining}, headers=analyst)
    assert page.status_code == 200
    html = page.text
    assert "/static/vendor/cytoscape-3.35.0.min.js" in html and "/static/graph.js" in html
    assert "[LISTED]" in html and "BAIKALSKAYA" in html and "6.25000000 BTC" in html
    assert 'id="graph-data"' in html and "Expand inputs" in html
    for asset in ("vendor/cytoscape-3.35.0.min.js", "vendor/cytoscape-LICENSE.txt", "graph.js"):
        assert client.get(f"/static/{asset}").status_code == 200
    empty = client.get("/graph", headers=analyst)
    assert empty.status_code == 200 and 'id="graph-data"' not in empty.text
    unknown = client.get("/graph", params={"tx": "00" * 32}, headers=analyst)
    assert unknown.status_code == 404 and "unknown transaction" in unknown.text
    assert client.get("/graph", follow_redirects=False).status_code == 303  # sign in first


def test_graph_page_in_japanese(world, client, analyst):
    mining = world["truth"]["mining_address"]
    html = client.get("/graph", params={"address": mining}, headers=japanese(analyst)).text
    assert "取引グラフ" in html and "入力を展開" in html and "[制裁リスト掲載]" in html


def test_screen_transaction_shows_risk_and_paths(world, client, analyst):
    planted = world["truth"]["withdrawals"]["forwarded_to_listed"]
    params = {"kind": "tx", "txid": planted["txid"], "output_index": "0", "direction": "out"}
    page = client.get("/screen", params=params, headers=analyst)
    assert page.status_code == 200, page.text
    assert "[BLOCK]" in page.text or "[REVIEW]" in page.text
    assert "Evidence paths" in page.text and planted["reaches"] in page.text
    auditor = user_headers(world["ctx"], "auditor")  # no SCREEN permission
    assert client.get("/screen", headers=auditor).status_code == 403


# ---------------------------------------------------------------- the screen page, tiny list

SDN = (
    '20001,"PETROV, Ivan <script>alert(1)</script>","individual","CYBER2",-0- ,-0- ,-0- ,'
    '-0- ,-0- ,-0- ,-0- ,"DOB 14 Feb 1971; nationality Russia; '
    f'Digital Currency Address - XBT {LISTED_BTC}."\n'
    '20002,"OOO SEVERNYI VETER","-0- ","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
    '"Registration Number 1123850099999 (Russia)."\n'
    '20003,"KORNEVSKY, Arkady Pavlovich","individual","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,'
    '-0- ,-0- ,-0- ,"DOB 14 Feb 1971; nationality Russia."\n'
)
SCRIPT_NAME = "Ivan Petrov <script>alert(1)</script>"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A console over a database holding only a two-entry OFAC CSV."""
    folder = tmp_path_factory.mktemp("screen")
    path = folder / "sdn.csv"
    path.write_text(SDN, encoding="utf-8")
    ctx = Context(Settings(db=f"sqlite:///{folder / 'screen.db'}", data_dir=folder / "data"))
    lists.load(ctx, lists.LoadRequest(paths=(Path(path),), source="us_ofac_sdn"))
    with TestClient(create_app(ctx)) as client:
        yield client, user_headers(ctx, "analyst")


def test_screen_name_match_is_explained_and_escaped(tiny):
    client, analyst = tiny
    params = {"kind": "name", "name": "Arkady Kornevsky"}
    page = client.get("/screen", params=params, headers=analyst)
    assert page.status_code == 200, page.text
    assert "us_ofac_sdn:20003" in page.text and "KORNEVSKY, Arkady Pavlovich" in page.text
    assert "Score" in page.text and "tokens &#39;arkady&#39;" in page.text  # the explanation
    # A listed name (and a query) holding markup is shown as text, never run.
    page = client.get("/screen", params={"kind": "name", "name": SCRIPT_NAME}, headers=analyst)
    assert "us_ofac_sdn:20001" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "PETROV, Ivan &lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    none = client.get("/screen", params={"kind": "name", "name": "Zzyzx Qwerty"}, headers=analyst)
    assert "No match at or above the threshold." in none.text


def test_screen_address_hit_is_shown(tiny):
    client, analyst = tiny
    page = client.get("/screen", params={"kind": "address", "address": LISTED_BTC}, headers=analyst)
    assert page.status_code == 200, page.text
    assert "[SANCTIONED]" in page.text and "us_ofac_sdn:20001" in page.text
    assert "&lt;script&gt;" in page.text and "<script>alert" not in page.text
    bad = client.get("/screen", params={"kind": "address", "address": "nope"}, headers=analyst)
    assert bad.status_code == 422 and "not a valid address" in bad.text


def test_screen_company_with_shareholders(tiny):
    client, analyst = tiny
    params = {
        "kind": "company",
        "company": "Example Trading KK",
        "company_country": "jp",
        "shareholders": "OOO Severnyi Veter;60;company\nTaro Yamada;40\n",
    }
    page = client.get("/screen", params=params, headers=analyst)
    assert page.status_code == 200, page.text
    assert "[blocked]" in page.text and "OOO SEVERNYI VETER" in page.text
    bad = client.get("/screen", params={**params, "shareholders": "X;1;alien"}, headers=analyst)
    assert bad.status_code == 422 and "line 1" in bad.text


def test_screen_page_in_japanese(tiny):
    client, analyst = tiny
    params = {"kind": "name", "name": "Arkady Kornevsky"}
    page = client.get("/screen", params=params, headers=japanese(analyst))
    assert "名前をスクリーニング" in page.text and "スコア" in page.text and "説明" in page.text
