"""Benchmark: live chain data from a local node (issue 17; not a timed test).

The node is the tests' JSON-RPC server (``tests/rpc_node.py``) on 127.0.0.1, serving real
blocks through the real methods; the figures therefore include JSON encoding on the node
side, as Bitcoin Core's own would, but no disk reads of a real node.

* ``follow``: blocks (and transactions) per second appended to a fresh chain store from the
  node: genesis and mainnet blocks 1–255 (small blocks: the per-block cost), and mainnet block
  574,200 (3,315 transactions: the per-transaction cost), ``getblock`` verbosity 3;
* ``on_demand``: a deposit's 5-hop ancestor cone (fan-in 3: 364 transactions) fetched with
  batched ``getrawtransaction`` calls into an empty cache, then screened (haircut, 5 hops;
  exposure kernels compiled beforehand, as ``serve`` does):
  JSON-RPC calls, HTTP requests, fetch and total wall time; the same question again (cached);
  and the equality of its exposure with the fully followed chain's.

Run: ``PYTHONPATH=src python bench/chain_live.py``; prints a table and writes
``bench/results/chain-live.json``. ``run()`` answers the same dict (for ``bench/chain.py``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from _report import finish  # noqa: E402
from rpc_node import RpcNode, address_of, cone, early_chain, single_block_chain  # noqa: E402
from sanctrace.chainstore.store import ChainStore  # noqa: E402
from sanctrace.nodes.follow import Follower, FollowOptions  # noqa: E402
from sanctrace.nodes.rpc import RpcClient  # noqa: E402
from sanctrace.nodes.sources import BitcoinNode  # noqa: E402
from sanctrace.services import chain_data  # noqa: E402
from sanctrace.services.context import Context  # noqa: E402
from sanctrace.services.exposure import ExposureRequest, ExposureService, warm_up  # noqa: E402
from sanctrace.settings import Settings  # noqa: E402

DATA = Path(os.environ.get("SANCTRACE_SHARED_DATA", ROOT.parent / "shared" / "data"))
BIG_BLOCK = "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk"


def _follow(served, start: int, batch: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, RpcNode(served) as node:
        client = RpcClient(node.url)
        follower = Follower(
            BitcoinNode(client),
            ChainStore(tmp),
            FollowOptions(start=start, confirmations=1, batch=batch),
        )
        started = time.perf_counter()
        follower.run(threading.Event(), until_tip=True)
        seconds = time.perf_counter() - started
        status = ChainStore(tmp).status()["btc"]
    blocks, txs = int(status["blocks"] or 0), int(status["transactions"] or 0)
    return {
        "blocks": blocks,
        "transactions": txs,
        "seconds": round(seconds, 3),
        "blocks_per_s": round(blocks / seconds, 1),
        "transactions_per_s": round(txs / seconds, 1),
        "http_requests": client.calls,
    }


def follow_rates() -> dict:
    raw = DATA / "chain" / "btc" / "raw_blocks"
    big = single_block_chain(raw / BIG_BLOCK)
    return {
        "blocks_0_255_batch_50": _follow(early_chain(DATA), 0, 50),
        "blocks_0_255_one_per_load": _follow(early_chain(DATA), 0, 1),
        "block_574200": _follow(big, big.base, 1),
    }


def on_demand(hops: int = 5, fan: int = 3) -> dict:
    chain = early_chain(DATA)
    deposit, levels = cone(chain, depth=hops, fan=fan)
    with tempfile.TemporaryDirectory() as tmp, RpcNode(chain) as node:
        tmp_path = Path(tmp)
        flagged = tmp_path / "flagged.txt"
        picks = [levels[hops][0], levels[2][1]]
        flagged.write_text(
            "".join(address_of(t["vout"][0]["scriptPubKey"]["hex"]) + "\n" for t in picks)
        )

        def ctx(name: str) -> Context:
            return Context(Settings(db=f"sqlite:///{tmp_path / name}.db", data_dir=tmp_path / name))

        live = ctx("live")
        client = RpcClient(node.url)
        live.db  # noqa: B018 - migrations run on first use, not in the timed part
        warm_up()  # the exposure kernels compile once per process (a server does it first)
        started = time.perf_counter()
        answer = chain_data.on_demand_exposure(
            live, chain="btc", txid=deposit, hops=hops, flagged_file=flagged, client=client
        )
        total = time.perf_counter() - started
        started = time.perf_counter()
        again = chain_data.on_demand_exposure(
            live, chain="btc", txid=deposit, hops=hops, flagged_file=flagged, client=client
        )
        cached = time.perf_counter() - started
        full = ctx("full")
        request = chain_data.FollowRequest(
            chain="btc", url=node.url, start=0, confirmations=1, batch=500, until_tip=True
        )
        chain_data.follow(full, request, client=RpcClient(node.url))
        expected = ExposureService(full.db, full.chain_store).screen(
            ExposureRequest(txid=deposit, hops=hops, flagged_file=flagged)
        )
    fields = ("value", "tainted_value", "fraction", "min_hops")
    return {
        "hops": hops,
        "fan_in": fan,
        "transactions": answer.fetch.fetched,
        "rpc_calls": answer.fetch.rpc_calls,
        "http_requests": answer.fetch.http_requests,
        "fetch_seconds": round(answer.fetch.seconds, 3),
        "total_seconds": round(total, 3),
        "cached_rpc_calls": again.fetch.rpc_calls,
        "cached_total_seconds": round(cached, 3),
        "equal_to_followed_chain": all(
            getattr(answer.exposure, f) == getattr(expected, f) for f in fields
        ),
        "tainted_fraction": round(answer.exposure.fraction, 6),
    }


def run() -> dict:
    """Every figure of this benchmark."""
    return {"follow": follow_rates(), "on_demand_cone": on_demand()}


def main() -> None:
    if not (DATA / "README.md").exists():
        sys.exit(f"reference data not found at {DATA} (set SANCTRACE_SHARED_DATA)")
    finish("chain-live", run())


if __name__ == "__main__":
    main()
