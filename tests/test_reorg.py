"""Reorganisations while following (tests/rpc_node.py): forks of depth 3 and 1 on top of the
real blocks 0–255. The orphaned loads leave the manifest, the new branch is applied, and the
decision made on a deposit whose transaction was orphaned is flagged for review."""

from __future__ import annotations

import pyarrow.compute as pc
import sqlalchemy as sa

from monitor_helpers import customer
from rpc_node import COIN, RpcNode, early_chain, synthetic_block, synthetic_tx
from sanctrace.monitor.decisions import decide
from sanctrace.nodes.rpc import Backoff
from sanctrace.services import chain_data
from sanctrace.services.context import Context
from sanctrace.settings import Settings
from sanctrace.store.tables import alerts


def _deposit_tx(chain) -> dict:
    """A made-up transaction spending the coinbase of real block 200."""
    coinbase = chain.at(200)["tx"][0]["txid"]
    return synthetic_tx("deposit", [(coinbase, 0)], [30 * COIN, 20 * COIN])


def _branch(name: str, count: int, extra: dict[int, list[dict]] | None = None) -> list[dict]:
    return [
        synthetic_block(f"{name}{i}", (extra or {}).get(i, []), 1_300_000_000 + i)
        for i in range(count)
    ]


def _hashes(store) -> dict[int, str]:
    blocks = store.table("btc", "blocks", ["height", "hash"])
    return dict(zip(blocks["height"].to_pylist(), blocks["hash"].to_pylist(), strict=True))


def test_forks_of_depth_3_and_1_roll_back_and_flag_decisions(shared_data, db_url, tmp_path):
    ctx = Context(Settings(db=db_url, data_dir=tmp_path / "data"))
    chain = early_chain(shared_data)
    deposit = _deposit_tx(chain)
    for block in _branch("a", 3, {1: [deposit]}):  # 256–258, the deposit in 257
        chain.append(block)
    with RpcNode(chain) as node:
        client = chain_data.node_client(
            ctx.settings, "btc", node.url, wait=lambda _s: None, backoff=Backoff(0, 0)
        )
        request = chain_data.FollowRequest(
            chain="btc", url=node.url, start=0, confirmations=6, batch=100
        )
        runner = chain_data.follower(ctx, request, client=client)
        while runner.step():
            pass
        store = ctx.chain_store
        assert max(_hashes(store)) == 258 and runner.state.provisional == 5

        # A deposit decided on the followed transaction.
        from sanctrace.monitor.events import parse_event
        from sanctrace.monitor.pipeline import process

        process(ctx, [parse_event(customer(), "test")])
        answer = decide(
            ctx,
            "deposit",
            {
                "event_id": "dep-1",
                "time": "2024-04-03T15:30:00+09:00",
                "customer_id": "C1",
                "chain": "btc",
                "asset": "BTC",
                "amount": "30",
                "txid": deposit["txid"],
                "output_index": 0,
                "address": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            },
        )

        # Depth 3: 256–258 replaced by a longer branch that holds the deposit again (in 258).
        chain.fork(256, _branch("b", 4, {2: [deposit]}))
        assert runner.step() == 1  # rolled back, then 256 of the new branch appended
        while runner.step():
            pass
        hashes = _hashes(store)
        assert sorted(hashes) == list(range(260))  # every height once
        assert all(hashes[h] == chain.at(h)["hash"] for h in hashes)
        manifest_hashes = {h for e in store.loads("btc") for h in e["block_hashes"]}
        orphaned_a = {b["hash"] for b in _branch("a", 3)}
        assert not orphaned_a & manifest_hashes
        assert runner.state.reorgs == 1
        assert runner.state.last_reorg["fork_height"] == 255
        assert runner.state.last_reorg["orphaned"] == 3
        txs = store.table("btc", "transactions", ["txid", "block_height"])
        again = txs.filter(pc.equal(txs["txid"], deposit["txid"]))
        assert again["block_height"].to_pylist() == [258]  # only the new branch's copy

        with ctx.db.connect() as conn:
            flagged = list(conn.execute(sa.select(alerts).where(alerts.c.rule == "chain_reorg")))
        assert len(flagged) == 1
        alert = flagged[0]
        assert alert.decision_id == answer.decision_id and alert.subject == deposit["txid"]
        assert alert.evidence["fork_height"] == 255 and "257" in alert.evidence["orphaned_blocks"]
        assert "review" in alert.summary and "再編成" in alert.summary_ja

        # Depth 1: the tip (259) replaced by two blocks; only its load goes.
        loads_before = len(store.loads("btc"))
        chain.fork(259, _branch("c", 2))
        while runner.step():
            pass
        hashes = _hashes(store)
        assert sorted(hashes) == list(range(261))
        assert (
            hashes[258] == _branch("b", 4)[2]["hash"] and hashes[259] == _branch("c", 2)[0]["hash"]
        )
        assert len(store.loads("btc")) == loads_before + 1
        assert runner.state.reorgs == 2 and runner.state.last_reorg["orphaned"] == 1
        with ctx.db.connect() as conn:
            count = conn.execute(
                sa.select(sa.func.count()).select_from(alerts).where(alerts.c.rule == "chain_reorg")
            ).scalar()
        assert count == 1  # the deposit was not in the orphaned tip


def test_ethereum_fork_of_depth_1(shared_data, tmp_path):
    from rpc_node import eth_chain, fake_hash
    from sanctrace.nodes.follow import Rollback

    folder = shared_data / "chain" / "eth" / "blocks_17173049_17173050"
    ctx = Context(Settings(db=f"sqlite:///{tmp_path / 'db.sqlite'}", data_dir=tmp_path / "data"))
    served = eth_chain(folder)
    seen: list[Rollback] = []
    with RpcNode(eth=served) as node:
        client = chain_data.node_client(
            ctx.settings, "eth", node.url, wait=lambda _s: None, backoff=Backoff(0, 0)
        )
        request = chain_data.FollowRequest(
            chain="eth", url=node.url, start=17173049, confirmations=2
        )
        runner = chain_data.follower(ctx, request, client=client)
        runner.on_rollback = seen.append
        while runner.step():
            pass
        store = ctx.chain_store
        before = store.table("eth", "transfers", ["tx_hash", "block_number"])
        old_tip = {
            t
            for t, b in zip(
                *(before[c].to_pylist() for c in ["tx_hash", "block_number"]), strict=True
            )
            if b == 17173050
        }
        assert old_tip
        # The tip is replaced by an empty block: its transfers must go.
        tip = served.blocks[17173050]
        served.blocks[17173050] = {**tip, "hash": "0x" + fake_hash("eth-fork"), "transactions": []}
        served.receipts[17173050] = []
        while runner.step():
            pass
    after = store.table("eth", "transfers", ["block_number"])["block_number"].to_pylist()
    assert after and set(after) == {17173049}
    assert [r.fork_height for r in seen] == [17173049] and set(seen[0].txids) == old_tip
    assert store.loads("eth")[-1]["block_hashes"] == ["0x" + fake_hash("eth-fork")]
