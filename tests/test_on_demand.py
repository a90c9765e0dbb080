"""On-demand history (tests/rpc_node.py): a deposit's ancestors fetched with batched
``getrawtransaction`` calls and cached give the same exposure as the fully followed chain; a
node without the transaction, an unreachable node; the deposit decision that uses it (and a
clear pending hold when the node is away)."""

from __future__ import annotations

import pytest

from monitor_helpers import LISTED, customer, load_list, write_list
from rpc_node import RpcNode, address_of, cone, early_chain, p2pkh_of
from sanctrace.errors import NotFound, Unavailable
from sanctrace.monitor.decisions import decide
from sanctrace.monitor.events import parse_event
from sanctrace.monitor.pipeline import process
from sanctrace.nodes.rpc import Backoff
from sanctrace.services import chain_data
from sanctrace.services.context import Context
from sanctrace.services.exposure import ExposureRequest, ExposureService
from sanctrace.settings import Settings

FIELDS = ("value", "tainted_value", "fraction", "min_hops")


def _ctx(tmp_path, name: str, db: str | None = None, **settings) -> Context:
    return Context(
        Settings(
            db=db or f"sqlite:///{tmp_path / (name + '.db')}", data_dir=tmp_path / name, **settings
        )
    )


def _client(ctx, node):
    return chain_data.node_client(
        ctx.settings, "btc", node.url, retries=0, wait=lambda _s: None, backoff=Backoff(0, 0)
    )


def _followed(ctx, node) -> None:
    request = chain_data.FollowRequest(
        chain="btc", url=node.url, start=0, batch=500, confirmations=1, until_tip=True
    )
    chain_data.follow(ctx, request, client=_client(ctx, node))


def test_on_demand_cone_equals_the_followed_chain(shared_data, tmp_path):
    chain = early_chain(shared_data)
    deposit, levels = cone(chain, depth=5, fan=3)
    flagged = tmp_path / "flagged.txt"
    picks = [levels[5][7], levels[4][2], levels[2][0], levels[6][0]]  # level 6: the funding tx
    flagged.write_text(
        "".join(address_of(t["vout"][0]["scriptPubKey"]["hex"]) + "\n" for t in picks)
    )
    full = _ctx(tmp_path, "full")
    with RpcNode(chain) as node:
        _followed(full, node)
        service = ExposureService(full.db, full.chain_store)
        for hops in (5, 3):
            live = _ctx(tmp_path, f"live{hops}")
            fetched = chain_data.on_demand_exposure(
                live,
                chain="btc",
                txid=deposit,
                hops=hops,
                flagged_file=flagged,
                client=_client(live, node),
            )
            expected = service.screen(
                ExposureRequest(txid=deposit, hops=hops, flagged_file=flagged)
            )
            got = fetched.exposure
            assert [getattr(got, f) for f in FIELDS] == [getattr(expected, f) for f in FIELDS], hops
            assert got.risk == expected.risk and got.tainted_value > 0
            # Every transaction of levels 0 … hops, one call each, in batches of 100 at most.
            count = sum(3**d for d in range(hops + 1))
            assert fetched.fetch.fetched == count and fetched.fetch.missing == []
            assert fetched.fetch.rpc_calls == count + 1  # and one getblockcount
            assert fetched.fetch.http_requests == 1 + sum(
                -(-(3**d) // 100) for d in range(hops + 1)
            )
        # The same question again: everything is in the cache.
        again = chain_data.on_demand_exposure(
            live,
            chain="btc",
            txid=deposit,
            hops=3,
            flagged_file=flagged,
            client=_client(live, node),
        )
        assert again.fetch.fetched == 0 and again.fetch.http_requests == 0
        assert again.exposure.tainted_value == fetched.exposure.tainted_value
    assert expected.min_hops == 2  # level k pays k hops from the deposit


def test_on_demand_on_real_blocks_equals_the_followed_chain(shared_data, tmp_path):
    chain = early_chain(shared_data)
    spend = chain.at(170)["tx"][1]  # the first transaction between people: block 9's coins
    coinbase = chain.at(9)["tx"][0]
    flagged = tmp_path / "flagged.txt"
    flagged.write_text(address_of(coinbase["vout"][0]["scriptPubKey"]["hex"]) + "\n")
    full, live = _ctx(tmp_path, "full"), _ctx(tmp_path, "live")
    with RpcNode(chain) as node:
        _followed(full, node)
        got = chain_data.on_demand_exposure(
            live,
            chain="btc",
            txid=spend["txid"],
            hops=5,
            flagged_file=flagged,
            client=_client(live, node),
        )
    expected = ExposureService(full.db, full.chain_store).screen(
        ExposureRequest(txid=spend["txid"], hops=5, flagged_file=flagged)
    )
    assert [getattr(got.exposure, f) for f in FIELDS] == [getattr(expected, f) for f in FIELDS]
    assert expected.tainted_value > 0  # block 170 pays Satoshi's change back to block 9's key
    assert got.fetch.fetched == 2  # the spend and block 9's coinbase


def test_on_demand_without_txindex_or_node(shared_data, tmp_path):
    chain = early_chain(shared_data)
    txid = chain.at(170)["tx"][1]["txid"]
    ctx = _ctx(tmp_path, "live")
    with RpcNode(chain, txindex=False) as node:
        with pytest.raises(NotFound, match="txindex"):
            chain_data.on_demand_exposure(
                ctx, chain="btc", txid=txid, hops=5, client=_client(ctx, node)
            )
    node = RpcNode(chain).start()
    node.stop()
    with pytest.raises(Unavailable, match="unreachable"):
        chain_data.on_demand_exposure(
            ctx, chain="btc", txid=txid, hops=5, client=_client(ctx, node)
        )


def _deposit(event_id: str, txid: str) -> dict:
    return {
        "event_id": event_id,
        "time": "2024-04-03T15:30:00+09:00",
        "customer_id": "C1",
        "chain": "btc",
        "asset": "BTC",
        "amount": "1",
        "txid": txid,
        "output_index": 0,
        "address": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    }


def test_deposit_decision_fetches_on_demand_or_holds_pending(shared_data, db_url, tmp_path):
    chain = early_chain(shared_data)
    deposit, _levels = cone(chain, depth=2, fan=2, pay_to=p2pkh_of(LISTED))
    with RpcNode(chain) as node:
        ctx = _ctx(tmp_path, "data", db=db_url, btc_rpc_url=node.url)
        load_list(ctx, write_list(tmp_path / "list", 2))
        process(ctx, [parse_event(customer(), "test")])
        answer = decide(ctx, "deposit", _deposit("dep-1", deposit))
        url = node.url
    assert answer.decision == "block", answer.reasons
    assert "sanctioned_address" in {r["rule"] for r in answer.reasons}
    # The node is gone: the next deposit the store does not hold is held, saying why.
    ctx = _ctx(tmp_path, "data2", db=db_url, btc_rpc_url=url)
    held = decide(ctx, "deposit", _deposit("dep-2", "ab" * 32))
    assert held.decision == "hold"
    assert any("pending" in r["summary"] and "unreachable" in r["summary"] for r in held.reasons), (
        held.reasons
    )


def test_on_demand_ethereum_history_equals_the_followed_chain(shared_data, tmp_path):
    from rpc_node import eth_chain

    folder = shared_data / "chain" / "eth" / "blocks_17173049_17173050"
    weth = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
    subject, source = (
        "0x7054b0f980a7eb5b3a6b3446f3c947d80162775c",
        "0x6b75d8af000000e20b7a7ddf000ba900b4009a80",
    )
    flagged = tmp_path / "flagged.txt"
    flagged.write_text(source + "\n")
    full, live = _ctx(tmp_path, "full"), _ctx(tmp_path, "live")
    with RpcNode(eth=eth_chain(folder)) as node:
        client = chain_data.node_client(
            full.settings, "eth", node.url, retries=0, wait=lambda _s: None, backoff=Backoff(0, 0)
        )
        request = chain_data.FollowRequest(
            chain="eth", url=node.url, start=17173049, confirmations=1, until_tip=True
        )
        chain_data.follow(full, request, client=client)
        got = chain_data.on_demand_exposure(
            live,
            chain="eth",
            address=subject,
            hops=10,
            token=weth,
            flagged_file=flagged,
            client=client,
        )
        logs_calls = node.methods["eth_getLogs"]
    expected = ExposureService(full.db, full.chain_store).screen(
        ExposureRequest(chain="eth", address=subject, token=weth, flagged_file=flagged)
    )
    mine = got.exposure
    assert [getattr(mine, f) for f in FIELDS] == [getattr(expected, f) for f in FIELDS]
    assert chain_data.ondemand_cache(live).status()["eth"]["transfers"] == got.fetch.fetched
    assert expected.tainted_value > 0
    assert got.fetch.fetched > 0 and logs_calls - 1 == got.fetch.levels  # one call per level
