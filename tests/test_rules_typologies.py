"""The built-in typologies of this package: one case that fires, a near miss, bad input.

Real databases, the real list loader with the OFAC-CSV fixture, the demo chain for exposure,
real events and ``LiveFacts`` on a real ``Context``."""

from __future__ import annotations

import pyarrow.compute as pc
import pytest

from sanctrace.chainstore.store import ChainStore
from sanctrace.demo.chain_world import generate_chain
from sanctrace.demo.files import write_chain, write_world
from sanctrace.demo.world import generate
from sanctrace.errors import BadRequest
from sanctrace.monitor.events import parse_event
from sanctrace.monitor.facts import LiveFacts
from sanctrace.monitor.rules import RuleSet, decision_of
from sanctrace.services.chain_data import load_chain, load_tags
from sanctrace.services.context import Context
from sanctrace.services.lists import LoadRequest, load
from sanctrace.settings import load_settings

LISTED_BTC = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"  # KORNEVSKY in the OFAC fixture
CLEAN_BTC = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
T = "2026-03-01T10:00:00+09:00"


@pytest.fixture
def ctx(db_url, tmp_path, fixtures) -> Context:
    ctx = Context(load_settings(db=db_url, data_dir=str(tmp_path / "data")))
    load(ctx, LoadRequest(paths=(fixtures / "lists" / "ofac_csv",), format="ofac_csv"))
    return ctx


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return RuleSet.load()


def run(rules: RuleSet, ctx: Context, record: dict, rule: str) -> list:
    findings = rules.evaluate(parse_event(record), LiveFacts(ctx))
    return [f for f in findings if f.rule == rule]


def withdrawal(address: str, **extra) -> dict:
    return {
        "event_id": "w1",
        "type": "withdrawal",
        "time": T,
        "customer_id": "c1",
        "chain": "btc",
        "asset": "BTC",
        "amount": "0.5",
        "address": address,
        **extra,
    }


def login(ip: str) -> dict:
    return {"event_id": "l1", "type": "login", "time": T, "customer_id": "c1", "ip": ip}


# --------------------------------------------------------------------- sanctioned_address


def test_sanctioned_address_blocks_a_listed_destination(rules, ctx):
    (found,) = run(rules, ctx, withdrawal(LISTED_BTC), "sanctioned_address")
    assert found.action == "block" and found.subject == LISTED_BTC
    match = found.evidence["matches"][0]
    assert match["source"] and match["snapshot_id"] and match["entity_id"]
    assert "制裁リスト" in found.summary_ja


def test_sanctioned_address_screens_the_beneficiary_wallet(rules, ctx):
    record = withdrawal(CLEAN_BTC, beneficiary={"names": [{"text": "X"}], "wallet": LISTED_BTC})
    (found,) = run(rules, ctx, record, "sanctioned_address")
    assert found.subject == LISTED_BTC and "beneficiary" in found.evidence["role"]


def test_sanctioned_address_near_miss_and_bad_address(rules, ctx):
    assert run(rules, ctx, withdrawal(CLEAN_BTC), "sanctioned_address") == []
    (bad,) = run(rules, ctx, withdrawal("not-an-address"), "sanctioned_address")
    assert bad.error and "not a valid address" in bad.summary


# -------------------------------------------------------------------- jurisdiction by IP


def test_ip_in_a_sanctioned_country_holds_and_high_risk_alerts(rules, ctx):
    (kp,) = run(rules, ctx, login("175.45.176.1"), "sanctioned_jurisdiction_ip")
    assert kp.action == "hold" and kp.evidence["country"] == "KP"
    assert kp.evidence["database"].startswith("iptocc ") and kp.evidence["database_date"]
    (ru,) = run(rules, ctx, login("77.88.8.8"), "sanctioned_jurisdiction_ip")
    assert ru.action == "alert" and ru.severity == "medium" and ru.evidence["tier"] == "high_risk"
    v6 = withdrawal(CLEAN_BTC, ip="2001:4860:4860::8888")
    assert run(rules, ctx, v6, "sanctioned_jurisdiction_ip") == []  # US: near miss
    assert run(rules, ctx, login("10.1.2.3"), "sanctioned_jurisdiction_ip") == []  # private


def test_ip_rule_bad_input(rules, ctx, tmp_path):
    with pytest.raises(BadRequest):
        parse_event(login("999.1.1.1"))
    path = tmp_path / "r.yml"
    path.write_text("rules:\n  sanctioned_jurisdiction_ip: {params: {high_risk_action: stop}}\n")
    with pytest.raises(BadRequest, match="high_risk_action"):
        RuleSet.load(path)


# ---------------------------------------------------------------------------- name_match


def customer(names: list[dict], **extra) -> dict:
    return {
        "event_id": "k1",
        "type": "customer",
        "time": T,
        "customer_id": "c1",
        "kind": "person",
        "names": names,
        **extra,
    }


def test_name_match_on_a_customer_with_secondary_evidence(rules, ctx):
    record = customer(
        [{"text": "Arkady Pavlovich Kornevsky"}, {"text": "コルネフスキー", "kind": "kana"}],
        birth_date="1971-02-14",
        nationality="RU",
    )
    found = run(rules, ctx, record, "name_match")
    assert found and found[0].action == "hold"
    assert found[0].evidence["match"]["entity_id"].endswith("10001")
    assert found[0].evidence["secondary"] == {"birth_date": "1971-02-14", "nationality": "RU"}


def test_name_match_on_a_travel_rule_originator_and_near_miss(rules, ctx):
    deposit = {
        "event_id": "d1",
        "type": "deposit",
        "time": T,
        "customer_id": "c1",
        "chain": "btc",
        "asset": "BTC",
        "amount": "0.1",
        "txid": "ab" * 32,
        "address": CLEAN_BTC,
        "originator": {"names": [{"text": "KORNEVSKY, Arkady Pavlovich"}]},
    }
    found = run(rules, ctx, deposit, "name_match")
    assert found and "originator" in found[0].summary
    assert run(rules, ctx, customer([{"text": "Tanaka Hanako"}]), "name_match") == []


def test_name_match_without_lists_is_an_error_not_a_pass(rules, db_url, tmp_path):
    empty = Context(load_settings(db=db_url, data_dir=str(tmp_path / "d")))
    (found,) = run(rules, empty, customer([{"text": "Anyone"}]), "name_match")
    assert found.error and decision_of([found]) == "hold"


# ----------------------------------------------------------------------- sanctioned_vasp


def test_sanctioned_vasp_by_name_blocks_and_near_miss(rules, ctx):
    record = withdrawal(
        CLEAN_BTC, beneficiary={"names": [{"text": "Y"}], "vasp": "Primer Exchange"}
    )
    (found,) = run(rules, ctx, record, "sanctioned_vasp")
    assert found.action == "block" and found.evidence["match"]["entity_id"].endswith("10004")
    assert "暗号資産交換業者" in found.summary_ja
    wallet = {
        "event_id": "wa1",
        "type": "wallet",
        "time": T,
        "customer_id": "c1",
        "chain": "btc",
        "address": CLEAN_BTC,
        "purpose": "withdrawal",
        "vasp": "Sakura Coin Exchange",
    }
    assert run(rules, ctx, wallet, "sanctioned_vasp") == []


def test_sanctioned_vasp_bad_config(tmp_path):
    path = tmp_path / "r.yml"
    path.write_text("rules:\n  sanctioned_vasp: {params: {schemas: []}}\n")
    with pytest.raises(BadRequest, match=r"r.yml: rules.sanctioned_vasp.params.schemas"):
        RuleSet.load(path)


# ------------------------------------------------------------------ exposure (demo chain)


@pytest.fixture(scope="module")
def chain_ctx(tmp_path_factory):
    folder = tmp_path_factory.mktemp("typologies")
    world = generate(7, 400)
    files = write_world(world, folder / "world")
    chain = generate_chain(world, 7)
    chain_files = write_chain(chain, folder / "world")
    ctx = Context(load_settings(db=f"sqlite:///{folder / 'x.db'}", data_dir=str(folder / "data")))
    load(ctx, LoadRequest(paths=(files["list"],), source="demo_sdn", format="ofac_csv"))
    load_tags(ctx.db, [chain_files["tags"]], fmt="csv")
    load_chain(ctx.chain_store, [chain_files["chain"]], fmt="btc_bigquery")
    return ctx, chain.truth


def deposit_of(ctx: Context, address: str, key: str = "d1") -> dict:
    store: ChainStore = ctx.chain_store
    table = store.dataset("btc", "outputs").to_table()
    row = table.filter(pc.equal(table["address"], address)).slice(0, 1).to_pylist()[0]
    return {
        "event_id": key,
        "type": "deposit",
        "time": T,
        "customer_id": "c1",
        "chain": "btc",
        "asset": "BTC",
        "amount": str(row["value"] / 1e8),
        "txid": row["txid"],
        "output_index": row["index"],
        "address": address,
    }


def test_indirect_exposure_fires_on_a_peel_chain(rules, chain_ctx):
    ctx, truth = chain_ctx
    record = deposit_of(ctx, truth["deposits"]["peel_chain"]["address"])
    (found,) = run(rules, ctx, record, "indirect_exposure")
    assert found.action == "hold" and found.evidence["min_hops"] == 4
    assert found.evidence["fraction"] == pytest.approx(truth["deposits"]["peel_chain"]["haircut"])
    assert found.evidence["path"]["steps"] and found.evidence["basis"]["snapshots"]
    assert run(rules, ctx, record, "sanctioned_address") == []


def test_direct_exposure_is_sanctioned_address_not_indirect(rules, chain_ctx):
    ctx, truth = chain_ctx
    record = deposit_of(ctx, truth["deposits"]["direct_from_listed_exchange"]["address"])
    findings = RuleSet.load().evaluate(parse_event(record), LiveFacts(ctx))
    rules_found = {f.rule for f in findings if not f.error}
    assert "sanctioned_address" in rules_found and "indirect_exposure" not in rules_found
    assert decision_of(findings) == "block"


def test_indirect_exposure_near_miss_and_missing_data(rules, chain_ctx, tmp_path):
    ctx, truth = chain_ctx
    share = truth["deposits"]["peel_chain"]["haircut"]
    path = tmp_path / "r.yml"
    path.write_text(f"rules:\n  indirect_exposure: {{params: {{min_fraction: {share + 0.01}}}}}\n")
    strict = RuleSet.load(path)
    record = deposit_of(ctx, truth["deposits"]["peel_chain"]["address"])
    assert run(strict, ctx, record, "indirect_exposure") == []
    far = deposit_of(ctx, truth["deposits"]["beyond_hop_limit"]["address"])
    assert run(rules, ctx, far, "indirect_exposure") == []
    unknown = {**record, "txid": "00" * 32}
    (err,) = run(rules, ctx, unknown, "indirect_exposure")
    assert err.error and "no chain data" in err.summary
