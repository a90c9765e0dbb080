"""Typologies 5, 6, 7 and 9 one by one: a case that fires, a near miss that does not, and bad
input. Events are stored in a real database (SQLite, and PostgreSQL when configured); the
windowed rules read them back through the repository; mining_origin asks the live facts over
the demo world's lists and chain store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor_history import StoredFacts, store
from sanctrace.errors import BadRequest
from sanctrace.monitor.events import parse_event
from sanctrace.monitor.rules.base import RuleConfig
from sanctrace.monitor.rules.jurisdiction_mismatch import JurisdictionMismatch
from sanctrace.monitor.rules.mining_origin import MiningOrigin, read_miners
from sanctrace.monitor.rules.pass_through import PassThrough
from sanctrace.monitor.rules.structuring import Structuring
from sanctrace.store import open_database

T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def ev(n, type_, minutes, cid="c1", **fields):
    kind = type_
    base = {"event_id": f"{kind}{n}", "type": kind, "customer_id": cid}
    base["time"] = (T0 + timedelta(minutes=minutes)).isoformat()
    if kind in ("deposit", "withdrawal"):
        base |= {"chain": "btc", "asset": "BTC", "address": f"addr{n}"}
    if kind == "deposit":
        base |= {"txid": f"{n:064x}", "output_index": 0}
    return parse_event(base | fields)


@pytest.fixture
def db(db_url):
    database = open_database(db_url)
    yield database
    database.dispose()


def run(db, rule, events):
    """Store the events and evaluate the last one."""
    store(db, events)
    return rule.evaluate(events[-1], StoredFacts(db))


# ------------------------------------------------------------------ pass_through


def pass_through(**params):
    return PassThrough(RuleConfig(id="pass_through", params={"window_hours": 48} | params))


def test_pass_through_fires_on_the_withdrawal_that_crosses(db):
    events = [
        ev(1, "deposit", 0, amount="1.0"),
        ev(2, "withdrawal", 60, amount="0.5"),
        ev(3, "withdrawal", 47 * 60, amount="0.3"),
    ]
    [found] = run(db, pass_through(), events)
    assert found.rule == "pass_through" and found.subject == "c1"
    assert found.evidence["deposit"]["event_id"] == "deposit1"
    assert [w["event_id"] for w in found.evidence["withdrawals"]] == ["withdrawal2", "withdrawal3"]
    assert "80%" in found.summary and "入金" in found.summary_ja
    # A later withdrawal does not repeat it.
    later = ev(4, "withdrawal", 47 * 60 + 1, amount="0.2")
    assert run(db, pass_through(), [later]) == []


def test_pass_through_near_misses(db):
    events = [
        ev(1, "deposit", 0, amount="1.0"),
        ev(2, "withdrawal", 60, amount="0.5"),
        ev(3, "withdrawal", 48 * 60 + 1, amount="0.3"),  # one minute too late
        ev(4, "withdrawal", 120, amount="0.29", asset="ETH", chain="eth"),  # another asset
    ]
    assert run(db, pass_through(), events[:3]) == []
    assert run(db, pass_through(), events[3:]) == []
    # 79.9% within the window
    assert run(db, pass_through(), [ev(5, "withdrawal", 200, amount="0.299")]) == []


def test_pass_through_bad_parameters():
    with pytest.raises(BadRequest, match="pass_through.min_fraction"):
        pass_through(min_fraction="1.5")
    with pytest.raises(BadRequest, match="pass_through.window_hours"):
        pass_through(window_hours="two days")
    with pytest.raises(BadRequest, match="pass_through.window_hours"):
        pass_through(window_hours=0)


# ------------------------------------------------------------------ structuring


def structuring(**params):
    defaults = {"window_days": 7, "min_count": 3, "thresholds": {"BTC": "1", "JPY": "1000000"}}
    return Structuring(RuleConfig(id="structuring", params=defaults | params))


def test_structuring_fires(db):
    events = [ev(i, "withdrawal", i * 24 * 60, amount="0.4") for i in range(1, 4)]
    [found] = run(db, structuring(), events)
    assert found.evidence["count"] == 3 and found.evidence["total"] == "1.2"
    assert "ストラクチャリング" in found.summary_ja
    # fiat withdrawals count per currency
    yen = [
        ev(i, "fiat_out", i, cid="c2", amount="400000", currency="jpy", bank_country="JP")
        for i in range(1, 4)
    ]
    [found] = run(db, structuring(), yen)
    assert found.evidence["asset"] == "JPY"


def test_structuring_near_misses(db):
    # the first of three falls out of the 7-day window; one at the threshold is not "below"
    events = [
        ev(1, "withdrawal", 0, amount="0.4"),
        ev(2, "withdrawal", 7 * 24 * 60 + 1, amount="0.4"),
        ev(3, "withdrawal", 7 * 24 * 60 + 2, amount="1"),
        ev(4, "withdrawal", 7 * 24 * 60 + 3, amount="0.4"),
    ]
    assert run(db, structuring(), events) == []
    # three small ones whose sum does not exceed the threshold
    small = [ev(i, "withdrawal", 20_000 + i, cid="c3", amount="0.3") for i in range(5, 8)]
    assert run(db, structuring(), small) == []
    # no threshold for the asset: not checked
    eth = [
        ev(i, "withdrawal", i, cid="c4", amount="0.5", asset="ETH", chain="eth") for i in range(3)
    ]
    assert run(db, structuring(), eth) == []


def test_structuring_bad_parameters():
    with pytest.raises(BadRequest, match="structuring.thresholds.BTC"):
        structuring(thresholds={"BTC": "one"})
    with pytest.raises(BadRequest, match="structuring.min_count"):
        structuring(min_count=2.5)
    with pytest.raises(BadRequest, match="structuring.thresholds"):
        structuring(thresholds=["BTC"])


# ------------------------------------------------------------------ jurisdiction_mismatch

PERSON = {"kind": "person", "names": [{"text": "Yamada Taro"}]}


def mismatch(**params):
    return JurisdictionMismatch(
        RuleConfig(id="jurisdiction_mismatch", params={"window_days": 30} | params)
    )


def test_jurisdiction_mismatch_fires_on_logins_and_documents(db):
    events = [
        ev(1, "customer", 0, residence="JP", phone_country="JP", **PERSON),
        ev(2, "login", 60, ip="192.0.2.66"),  # KP space in the test pool
    ]
    [found] = run(db, mismatch(), events)
    assert found.evidence["countries"] == ["KP"] and found.evidence["declared"] == "JP"
    assert found.evidence["signals"]["KP"][0]["database"] == "test-ip-db"
    assert "申告された居住国" in found.summary_ja
    record = ev(
        3,
        "customer",
        0,
        cid="c9",
        residence="JP",
        id_documents=[{"type": "passport", "number": "X1", "country": "RU"}],
        **PERSON,
    )
    [found] = run(db, mismatch(), [record])
    assert found.evidence["countries"] == ["RU"]


def test_jurisdiction_mismatch_near_misses(db):
    events = [
        ev(1, "customer", 0, residence="RU", phone_country="RU", **PERSON),  # declared: no mismatch
        ev(2, "login", 30 * 24 * 60 + 61, ip="192.0.2.55"),  # RU login while declaring RU
        ev(3, "login", 0, cid="c5", ip="192.0.2.66"),  # no customer record: not checked
    ]
    assert run(db, mismatch(), events[:2]) == []
    assert run(db, mismatch(), events[2:]) == []
    # a KP login 31 days before is outside the window
    old = [
        ev(4, "customer", 0, cid="c6", residence="JP", **PERSON),
        ev(5, "login", 1, cid="c6", ip="192.0.2.66"),
        ev(6, "login", 31 * 24 * 60 + 2, cid="c6", ip="203.0.113.10"),
    ]
    assert len(run(db, mismatch(), old[:2])) == 1
    assert run(db, mismatch(), old[2:]) == []


def test_jurisdiction_mismatch_bad_parameters():
    with pytest.raises(BadRequest, match="jurisdiction_mismatch.high_risk"):
        mismatch(high_risk=["Russia"])
    with pytest.raises(BadRequest, match="jurisdiction_mismatch.window_days"):
        mismatch(window_days=-3)


# ------------------------------------------------------------------ mining_origin


def test_miners_file_is_sourced():
    rows = read_miners(MiningOrigin(RuleConfig(id="mining_origin")).miners_file)
    assert all(r.source for r in rows)
    bitriver = [r for r in rows if r.sanctioned_entity == "BITRIVER AG"]
    assert bitriver and "2022" in bitriver[0].source


def test_mining_origin_bad_input(tmp_path):
    bad = tmp_path / "miners.csv"
    bad.write_text("miner,chain,address\nX,btc,1abc\n")
    with pytest.raises(BadRequest, match="missing columns: sanctioned_entity, source"):
        MiningOrigin(RuleConfig(id="mining_origin", params={"miners_file": str(bad)}))
    bad.write_text("miner,chain,address,sanctioned_entity,source\nX,btc,1abc,,\n")
    with pytest.raises(BadRequest, match="miners.csv:2: chain, sanctioned_entity and source"):
        MiningOrigin(RuleConfig(id="mining_origin", params={"miners_file": str(bad)}))
    with pytest.raises(BadRequest, match="mining_origin.hops"):
        MiningOrigin(RuleConfig(id="mining_origin", params={"hops": 0}))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo world (seed 2022, whose miner miners.csv names): lists, tags, chain store."""
    from sanctrace.chainstore.store import ChainStore
    from sanctrace.demo.chain_world import generate_chain
    from sanctrace.demo.files import write_chain, write_world
    from sanctrace.demo.world import generate
    from sanctrace.lists.snapshots import load_lists
    from sanctrace.services.chain_data import load_chain, load_tags
    from sanctrace.services.context import Context
    from sanctrace.settings import Settings

    folder = tmp_path_factory.mktemp("mining")
    world = generate(2022, 400)
    files = write_world(world, folder / "world")
    chain = generate_chain(world, 2022)
    chain_files = write_chain(chain, folder / "world")
    database = open_database(f"sqlite:///{folder / 'm.db'}")
    load_lists(database, [files["list"]], source="demo_sdn", fmt="ofac_csv")
    load_tags(database, [chain_files["tags"]], fmt="csv")
    chain_store = ChainStore(folder / "data" / "chain")
    load_chain(chain_store, [chain_files["chain"]], fmt="btc_bigquery")
    ctx = Context(
        Settings(db=database.url, data_dir=folder / "data"), db=database, chain_store=chain_store
    )
    yield ctx, chain
    database.dispose()


def _output(chain, address):
    for row in chain.rows:
        for out in row["outputs"]:
            if address in out["addresses"]:
                return row["hash"], out["index"]
    raise AssertionError(address)


def test_mining_origin_fires_and_near_miss(demo):
    from sanctrace.monitor.facts import LiveFacts

    ctx, chain = demo
    facts = LiveFacts(ctx)
    rule = MiningOrigin(RuleConfig(id="mining_origin", action="hold", params={"hops": 5}))
    planted = chain.truth["deposits"]["mining_payout_merged"]
    txid, index = _output(chain, planted["address"])
    deposit = ev(1, "deposit", 0, txid=txid, output_index=index, amount="2", address="x")
    [found] = rule.evaluate(deposit, facts)
    assert found.action == "hold" and found.evidence["min_hops"] == planted["hops"]
    assert "BAIKALSKAYA" in found.summary and "採掘報酬" in found.summary_ja
    # one hop short of the payout: not found
    near = MiningOrigin(RuleConfig(id="mining_origin", params={"hops": planted["hops"] - 1}))
    assert near.evaluate(deposit, facts) == []
    # a clean deposit
    clean = chain.truth["deposits"]["direct_from_listed_exchange"]
    txid, index = _output(chain, clean["address"])
    assert (
        rule.evaluate(ev(2, "deposit", 0, txid=txid, output_index=index, amount="1"), facts) == []
    )
    # a deposit the chain store does not know: a visible error, not a pass
    [error] = rule.evaluate(ev(3, "deposit", 0, txid="ab" * 32, amount="1"), facts)
    assert error.error
