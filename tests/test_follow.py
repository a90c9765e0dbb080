"""Following a node (tests/rpc_node.py, real blocks over the real RPC methods): genesis through
block 255 and the real mainnet blocks equal to loading the same blocks from their raw files;
Ethereum blocks equal to their ethereum-etl export; the node going away in the middle of a
block; status; credentials never printed."""

from __future__ import annotations

import json
import logging
import threading

import pyarrow as pa
import pytest
from pydantic import SecretStr

from helpers import run
from rpc_node import RpcNode, early_chain, eth_chain, single_block_chain
from sanctrace.chainstore.load import load_chain
from sanctrace.chainstore.store import ChainStore
from sanctrace.errors import BadRequest, Unavailable
from sanctrace.nodes.follow import read_state
from sanctrace.nodes.rpc import Backoff, NodeUnreachable
from sanctrace.services import chain_data
from sanctrace.services.context import Context
from sanctrace.settings import Settings

USER, PASSWORD = "sanctrace-rpc", "pw-do-not-print-4c1f"
NO_WAIT = dict(wait=lambda _s: None, backoff=Backoff(0.0, 0.0))


def _ctx(tmp_path, **settings) -> Context:
    return Context(
        Settings(
            db=f"sqlite:///{tmp_path / 'db.sqlite'}",
            data_dir=tmp_path / "data",
            btc_rpc_user=USER,
            btc_rpc_password=PASSWORD,
            **settings,
        )
    )


def _follow(ctx, node, chain="btc", start=0, **kw):
    client = chain_data.node_client(ctx.settings, chain, node.url, retries=1, **NO_WAIT)
    request = chain_data.FollowRequest(
        chain=chain, url=node.url, start=start, until_tip=True, backoff=0.0, **kw
    )
    return chain_data.follow(ctx, request, client=client)


def _rows(table: pa.Table, columns: list[str]) -> list[tuple]:
    return sorted(zip(*(table[c].to_pylist() for c in columns), strict=True))


TX_COLUMNS = [
    "txid",
    "block_hash",
    "block_height",
    "index",
    "coinbase",
    "input_count",
    "output_count",
    "output_value",
    "size",
    "vsize",
]


def _same_as_raw(followed: ChainStore, loaded: ChainStore) -> None:
    """The followed tables equal the raw load's; inputs add the spent outputs' value and address
    where the node knows them (verbosity 3), which must be the outputs they spend."""
    for table, columns in [
        ("blocks", ["height", "hash", "prev_hash", "merkle_root", "time", "tx_count"]),
        ("transactions", TX_COLUMNS),
        ("outputs", ["txid", "index", "value", "script_type", "address"]),
        ("inputs", ["txid", "index", "prev_txid", "prev_index", "sequence", "coinbase"]),
    ]:
        assert _rows(followed.table("btc", table), columns) == _rows(
            loaded.table("btc", table), columns
        ), table
    outputs = followed.table("btc", "outputs")
    spent = {
        (t, i): (v, a)
        for t, i, v, a in zip(
            *(outputs[c].to_pylist() for c in ["txid", "index", "value", "address"]), strict=True
        )
    }
    inputs = followed.table("btc", "inputs")
    for prev, n, value, address, coinbase in zip(
        *(
            inputs[c].to_pylist()
            for c in ["prev_txid", "prev_index", "value", "address", "coinbase"]
        ),
        strict=True,
    ):
        if not coinbase and (prev, n) in spent:
            assert (value, address) == spent[(prev, n)]


def test_follow_genesis_to_255_equals_the_raw_blocks(shared_data, tmp_path):
    raw = shared_data / "chain" / "btc" / "raw_blocks"
    ctx = _ctx(tmp_path)
    with RpcNode(early_chain(shared_data), user=USER, password=PASSWORD) as node:
        state = _follow(ctx, node, confirmations=6, batch=100)
    assert (state.height, state.node_height, state.lag, state.provisional) == (255, 255, 0, 5)
    followed = ctx.chain_store
    assert followed.status()["btc"]["max_height"] == 255
    blocks = followed.table("btc", "blocks")
    genesis = blocks.filter(pa.compute.equal(blocks["height"], 0))["hash"].to_pylist()
    assert genesis == ["000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"]
    # From block 1 (the raw file of blocks 1–255 does not hold genesis) the tables are equal.
    loaded = ChainStore(tmp_path / "raw")
    load_chain([raw / "blocks1-256.bz2"], loaded)
    from_one = _ctx(tmp_path / "from-one")
    with RpcNode(early_chain(shared_data), user=USER, password=PASSWORD) as node:
        _follow(from_one, node, start=1, batch=100)
    _same_as_raw(from_one.chain_store, loaded)
    # The manifest: catching-up batches, then one load per provisional block.
    entries = followed.loads("btc")
    assert [e["heights"] for e in entries] == [
        [0, 99],
        [100, 199],
        [200, 250],
        *([h, h] for h in range(251, 256)),
    ]
    assert all(e["source"] == "rpc" and e["format"] == "btc_rpc" for e in entries)
    assert len(entries[0]["block_hashes"]) == 100 and entries[0]["block_hashes"][0] == genesis[0]
    # Nothing new at the tip: following again appends nothing.
    with RpcNode(early_chain(shared_data), user=USER, password=PASSWORD) as node:
        again = _follow(ctx, node)
    assert again.height == 255 and len(followed.loads("btc")) == len(entries)


@pytest.mark.parametrize(
    "name",
    [
        "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk",  # 574,200
        "block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk",  # 540,107
        "277647.dat.bz2",
    ],
)
def test_follow_real_blocks_equals_the_raw_block(shared_data, tmp_path, name):
    path = shared_data / "chain" / "btc" / "raw_blocks" / name
    served = single_block_chain(path)
    ctx = _ctx(tmp_path)
    with RpcNode(served, user=USER, password=PASSWORD) as node:
        state = _follow(ctx, node, start=served.base, confirmations=1)
    assert state.height == served.base and state.lag == 0 and state.provisional == 0
    loaded = ChainStore(tmp_path / "raw")
    load_chain([path], loaded)
    _same_as_raw(ctx.chain_store, loaded)


def test_follow_ethereum_equals_the_etl_export(shared_data, tmp_path):
    folder = shared_data / "chain" / "eth" / "blocks_17173049_17173050"
    ctx = _ctx(tmp_path)
    with RpcNode(eth=eth_chain(folder)) as node:
        state = _follow(ctx, node, chain="eth", start=17173049, confirmations=1)
    assert state.height == 17173050
    loaded = ChainStore(tmp_path / "etl")
    load_chain(
        [folder / "expected_token_transfers.json", folder / "expected_transactions.json"], loaded
    )
    columns = [
        "token",
        "sender",
        "receiver",
        "amount",
        "tx_hash",
        "log_index",
        "block_number",
        "time",
    ]
    followed = _rows(ctx.chain_store.table("eth", "transfers"), columns)
    assert followed == _rows(loaded.table("eth", "transfers"), columns)
    assert sum(1 for r in followed if r[0]) == 291


def test_node_going_away_mid_block(shared_data, tmp_path):
    ctx = _ctx(tmp_path)
    with RpcNode(early_chain(shared_data), user=USER, password=PASSWORD) as node:
        client = chain_data.node_client(ctx.settings, "btc", node.url, retries=2, **NO_WAIT)
        runner = chain_data.follower(
            ctx,
            chain_data.FollowRequest(
                chain="btc", url=node.url, start=0, batch=100, confirmations=6
            ),
            client=client,
        )
        assert runner.step() == 100
        before = ctx.chain_store.manifest_path.read_bytes()
        node.cut_next("getblock")  # half an answer, then the node is gone
        with pytest.raises(NodeUnreachable, match="closed in the middle of an answer|unreachable"):
            runner.step()
        assert ctx.chain_store.manifest_path.read_bytes() == before  # nothing half-appended
        state = read_state(ctx.chain_store, "btc")
        assert state.height == 99 and state.last_error and "unreachable" in state.last_error
        node.stop()  # and now the port refuses
        with pytest.raises(NodeUnreachable):
            runner.step()
        node.start()  # same port
        node.revive()
        runner.run(threading.Event(), until_tip=True, give_up=3)
    state = read_state(ctx.chain_store, "btc")
    assert (state.height, state.lag, state.last_error) == (255, 0, None)
    assert ctx.chain_store.status()["btc"]["blocks"] == 256
    heights = ctx.chain_store.table("btc", "blocks")["height"].to_pylist()
    assert sorted(heights) == list(range(256))  # each block once
    [found] = [c for c in chain_data.chain_status(ctx.chain_store) if c.chain == "btc"]
    assert found.to_dict()["follow"]["height"] == 255


def test_unreachable_node_gives_up_with_until_tip(tmp_path):
    ctx = _ctx(tmp_path)
    node = RpcNode().start()
    url = node.url
    node.stop()
    client = chain_data.node_client(ctx.settings, "btc", url, retries=0, **NO_WAIT)
    request = chain_data.FollowRequest(
        chain="btc", url=url, start=0, until_tip=True, backoff=0.0, give_up=2
    )
    with pytest.raises(Unavailable, match="unreachable"):
        chain_data.follow(ctx, request, client=client)
    [found] = chain_data.chain_status(ctx.chain_store)
    assert found.follow is not None and "unreachable" in (found.follow.last_error or "")


def test_cli_follow_status_and_credentials_never_printed(
    shared_data, tmp_path, monkeypatch, caplog
):
    data = tmp_path / "data"
    monkeypatch.setenv("SANCTRACE_DATA_DIR", str(data))
    monkeypatch.setenv("SANCTRACE_BTC_RPC_USER", USER)
    monkeypatch.setenv("SANCTRACE_BTC_RPC_PASSWORD", PASSWORD)
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    caplog.set_level(logging.DEBUG)
    with RpcNode(early_chain(shared_data), user=USER, password=PASSWORD) as node:
        done = run(
            "chain", "follow", "btc", "--rpc", node.url, "--from", "200", "--until-tip",
            "--confirmations", "3", db=db,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        status = run("chain", "status", db=db)
        # In-process (logs captured): a URL with credentials, then a wrong password.
        ctx = _ctx(tmp_path / "in-process")
        with_user = node.url.replace("http://", f"http://{USER}:{PASSWORD}@")
        with pytest.raises(BadRequest, match="credentials") as refused:
            _follow(ctx, type("Url", (), {"url": with_user})())
        wrong = Context(
            ctx.settings.model_copy(update={"btc_rpc_password": SecretStr("x" + PASSWORD)})
        )
        with pytest.raises(Unavailable, match="refused the credentials") as denied:
            _follow(wrong, node, give_up=5)
    assert "appended blocks 250–253" in done.stderr and "appended block 255" in done.stderr
    assert "tip 255" in status.stdout and "lag 0 blocks" in status.stdout, status.stdout
    [found] = chain_data.chain_status(ChainStore(data / "chain"))
    follow = found.to_dict()["follow"]
    assert (follow["height"], follow["lag"], follow["node_height"]) == (255, 0, 255)
    assert follow["node"] == node.url.rstrip("/")
    texts = [
        done.stdout, done.stderr, status.stdout, status.stderr, str(refused.value),
        str(denied.value), caplog.text, json.dumps(follow),
        (data / "chain" / "follow-btc.json").read_text(),
        (data / "chain" / "manifest.json").read_text(),
        (tmp_path / "in-process" / "data" / "chain" / "follow-btc.json").read_text(),
    ]  # fmt: skip
    for text in texts:
        assert PASSWORD not in text and USER not in text


def test_follow_in_background_until_stopped(shared_data, tmp_path):
    ctx = _ctx(tmp_path)
    reached = threading.Event()

    def appended(first: int, count: int) -> None:
        if first + count - 1 == 255:
            reached.set()

    with RpcNode(early_chain(shared_data), user=USER, password=PASSWORD) as node:
        client = chain_data.node_client(ctx.settings, "btc", node.url, **NO_WAIT)
        request = chain_data.FollowRequest(chain="btc", url=node.url, start=0, batch=100, poll=60)
        thread, stop = chain_data.follow_in_background(
            ctx, request, client=client, on_append=appended
        )
        assert reached.wait(60)
        stop.set()  # wakes the wait at the tip
        thread.join(30)
    assert not thread.is_alive()
    assert read_state(ctx.chain_store, "btc").height == 255
