"""Benchmark: chain parsing, graph building, multi-input clustering (not a timed test).

* parse rate of raw Bitcoin blocks (``sanctrace.chain.sources.btc_raw.FORMAT``; skipped with a
  message when that module is absent), transactions per second;
* memory per edge of the UTXO output graph, measured: a generated graph of a few million
  edges, the arrays' ``nbytes`` divided by the edge count (with and without the string maps),
  and its build rate;
* clustering rate on a generated 10-million-input workload (seeded: transactions of 1–5 inputs
  over 3 million addresses, mostly drawn from one 3-address wallet per transaction so that
  clusters form as on a real chain), inputs per second and peak memory (tracemalloc, which
  sees numpy's buffers), against a pure-Python dict union-find on the first million inputs of
  the same workload (same partition checked; the ratio is the speed-up);
* the whole 2009 chain (shared data) built and clustered, as a real-data sanity line;
* the incremental graph (issue 17): the cost to take one full block (3,000 transactions,
  ~6,000 outputs, ~5,000 inputs spending random unspent outputs) into a generated graph of
  10 million outputs with its haircut exposure engine swept, block after block (the first
  append also moves the arrays into growable buffers: shown apart), the cluster map carried
  over the same blocks, against a full rebuild; and the equality of the appended graph's
  bulk exposure (fraction, tainted value, hops of every output) and clusters with a full
  rebuild's.

Run: ``PYTHONPATH=src python bench/chain.py [--quick] [--only incremental]``; prints a table
and writes ``bench/results/chain.json`` (``chain-incremental.json`` with ``--only``).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import chain_live  # noqa: E402
from _report import finish  # noqa: E402
from sanctrace.chain._exposure_append import append_utxo, extend_engine  # noqa: E402
from sanctrace.chain.cluster import (  # noqa: E402
    UnionFind,
    cluster_addresses,
    extend_clustering,
    input_pairs,
)
from sanctrace.chain.exposure import ExposureEngine  # noqa: E402
from sanctrace.chain.flags import Flag, FlagSet  # noqa: E402
from sanctrace.chain.graph import UtxoGraph  # noqa: E402

DATA = Path(os.environ.get("SANCTRACE_SHARED_DATA", ROOT.parent / "shared" / "data"))
RAW_BLOCKS = [
    "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk",
    "block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk",
    "277647.dat.bz2",
    "blocks1-256.bz2",
]
SEED = 20240927


def parse_rate(repeat: int) -> dict:
    try:
        from sanctrace.chain.sources.btc_raw import FORMAT
    except ImportError as exc:
        return {"skipped": f"sanctrace.chain.sources.btc_raw not available ({exc})"}
    paths = [DATA / "chain" / "btc" / "raw_blocks" / name for name in RAW_BLOCKS]
    if not all(p.exists() for p in paths):
        return {"skipped": f"raw blocks not found under {paths[0].parent}"}
    best, txs, inputs = None, 0, 0
    for _ in range(repeat):
        start, txs, inputs = time.perf_counter(), 0, 0
        for path in paths:
            for block in FORMAT.read([path]):
                txs += len(block.txs)
                inputs += sum(len(tx.inputs) for tx in block.txs)
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    return {
        "files": len(paths),
        "transactions": txs,
        "inputs": inputs,
        "seconds": best,
        "tx_per_s": txs / best,
    }


def generated_utxo_tables(n_tx: int, rng: np.random.Generator) -> tuple[pa.Table, ...]:
    """A chain of ``n_tx`` transactions of 1–3 outputs; 80% of outputs are spent later."""
    n_out = rng.integers(1, 4, n_tx)
    out_tx = np.repeat(np.arange(n_tx), n_out)
    vout = np.arange(len(out_tx)) - np.repeat(np.cumsum(n_out) - n_out, n_out)
    spent = (rng.random(len(out_tx)) < 0.8) & (out_tx < n_tx - 1)
    gap = rng.geometric(0.01, len(out_tx))
    spender = np.minimum(out_tx + gap, n_tx - 1)
    src, spender = np.flatnonzero(spent), spender[spent]
    order = np.lexsort((src, spender))
    src, spender = src[order], spender[order]
    head = np.ones(len(spender), bool)
    head[1:] = spender[1:] != spender[:-1]
    in_index = np.arange(len(spender)) - np.flatnonzero(head)[np.cumsum(head) - 1]
    txids = pa.array(np.char.mod("%064x", np.arange(n_tx) + 7 * 10**12))
    addresses = pa.array(np.char.mod("1Gen%030d", rng.integers(0, n_tx, len(out_tx))))
    transactions = pa.table({"txid": txids, "block_height": np.arange(n_tx) // 2000})
    outputs = pa.table(
        {
            "txid": txids.take(out_tx),
            "index": vout.astype(np.int32),
            "value": rng.integers(1, 10**8, len(out_tx)),
            "address": addresses,
        }
    )
    inputs = pa.table(
        {
            "txid": txids.take(spender),
            "index": in_index.astype(np.int32),
            "prev_txid": txids.take(out_tx[src]),
            "prev_index": vout[src],
        }
    )
    return transactions, inputs, outputs


def graph_memory(n_tx: int) -> dict:
    tables = generated_utxo_tables(n_tx, np.random.default_rng(SEED))
    tracemalloc.start()
    start = time.perf_counter()
    graph = UtxoGraph.from_tables(*tables)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    arrays = graph.array_nbytes()
    edge_arrays = sum(v for k, v in arrays.items() if k.startswith(("out_", "in_", "spent")))
    edge_arrays -= arrays["out_ptr"] + arrays["in_ptr"]
    return {
        "transactions": graph.n_tx,
        "outputs": graph.n_outputs,
        "inputs": graph.n_inputs,
        "edges": graph.n_edges,
        "addresses": graph.n_addresses,
        "build_seconds": seconds,
        "edges_per_s": graph.n_edges / seconds,
        "bytes_per_edge_edge_arrays": edge_arrays / graph.n_edges,
        "bytes_per_edge_all_arrays": sum(arrays.values()) / graph.n_edges,
        "bytes_per_edge_with_string_maps": graph.nbytes / graph.n_edges,
        "build_peak_mb": peak / 2**20,
    }


def clustering_workload(n_inputs: int, n_addresses: int, rng: np.random.Generator):
    """(in_ptr, in_address): transactions of 1–5 inputs; 95% of inputs from the tx's wallet."""
    sizes = rng.integers(1, 6, n_inputs // 3 + 10)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), n_inputs) + 1]
    sizes[-1] -= sizes.sum() - n_inputs
    wallet = np.repeat(rng.integers(0, n_addresses // 3, len(sizes)), sizes)
    address = wallet * 3 + rng.integers(0, 3, n_inputs)
    stray = rng.random(n_inputs) < 0.05
    address[stray] = rng.integers(0, n_addresses, int(stray.sum()))
    in_ptr = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=in_ptr[1:])
    return in_ptr, address.astype(np.int32)


def cluster_core(in_ptr: np.ndarray, in_address: np.ndarray, n: int) -> np.ndarray:
    u, v, _ = input_pairs(in_ptr, in_address)
    forest = UnionFind(n)
    forest.union_pairs(u, v)
    return forest.labels()


def python_union_find(in_ptr: np.ndarray, in_address: np.ndarray) -> dict[int, int]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    ptr, addresses = in_ptr.tolist(), in_address.tolist()
    for t in range(len(ptr) - 1):
        group = addresses[ptr[t] : ptr[t + 1]]
        first = find(group[0])
        for other in group[1:]:
            root = find(other)
            if root != first:
                parent[root] = first
    return {x: find(x) for x in parent}


def clustering(n_inputs: int, n_addresses: int, baseline_inputs: int) -> dict:
    in_ptr, in_address = clustering_workload(n_inputs, n_addresses, np.random.default_rng(SEED))
    tracemalloc.start()
    start = time.perf_counter()
    labels = cluster_core(in_ptr, in_address, n_addresses)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    sub_tx = int(np.searchsorted(in_ptr, baseline_inputs))
    sub_ptr, sub_addr = in_ptr[: sub_tx + 1], in_address[: in_ptr[sub_tx]]
    start = time.perf_counter()
    reference = python_union_find(sub_ptr, sub_addr)
    py_seconds = time.perf_counter() - start
    start = time.perf_counter()
    sub_labels = cluster_core(sub_ptr, sub_addr, n_addresses)
    np_seconds = time.perf_counter() - start
    same = _same_partition(reference, sub_labels)
    _, counts = np.unique(labels, return_counts=True)
    return {
        "inputs": n_inputs,
        "transactions": len(in_ptr) - 1,
        "addresses": n_addresses,
        "clusters": len(counts),
        "largest_cluster": int(counts.max()),
        "seconds": seconds,
        "inputs_per_s": n_inputs / seconds,
        "peak_mb": peak / 2**20,
        "input_bytes_mb": (in_ptr.nbytes + in_address.nbytes) / 2**20,
        "baseline_inputs": int(sub_ptr[-1]),
        "python_dict_union_find_inputs_per_s": sub_ptr[-1] / py_seconds,
        "numpy_same_subset_inputs_per_s": sub_ptr[-1] / np_seconds,
        "speedup_vs_python": py_seconds / np_seconds,
        "speedup_full_run_vs_python": (n_inputs / seconds) / (sub_ptr[-1] / py_seconds),
        "same_partition_as_python": same,
    }


def _same_partition(reference: dict[int, int], labels: np.ndarray) -> bool:
    groups: dict[int, set[int]] = {}
    for x, root in reference.items():
        groups.setdefault(root, set()).add(x)
    return all(len({int(labels[x]) for x in g}) == 1 for g in groups.values()) and len(
        {int(labels[next(iter(g))]) for g in groups.values()}
    ) == len(groups)


def chain_2009() -> dict:
    folder = DATA / "chain" / "btc" / "chain_2009_csv" / "sampledata_2009"
    if not folder.exists():
        return {"skipped": f"{folder} not found"}
    from chain2009 import chain_2009_tables

    tables = chain_2009_tables(folder)
    start = time.perf_counter()
    graph = UtxoGraph.from_tables(*tables)
    built = time.perf_counter() - start
    clusters = cluster_addresses(graph)
    seconds = time.perf_counter() - start - built
    _, sizes = clusters.sizes()
    return {
        "transactions": graph.n_tx,
        "edges": graph.n_edges,
        "addresses": graph.n_addresses,
        "clusters": len(sizes),
        "largest_cluster": int(sizes.max()),
        "build_seconds": built,
        "cluster_seconds": seconds,
        "coinjoins": int(clusters.coinjoin.sum()),
    }


def block_tables(
    graph: UtxoGraph, number: int, n_tx: int, rng: np.random.Generator
) -> tuple[pa.Table, ...]:
    """One block above ``graph``: ``n_tx`` transactions of 1–3 outputs, each spending 1–2
    outputs: unspent ones of the graph, and 5% an output of an earlier transaction of the
    same block (real blocks chain transactions)."""
    txids = pa.array(np.char.mod(f"b{number:05d}%059x", np.arange(n_tx)))
    n_out = rng.integers(1, 4, n_tx)
    out_tx = np.repeat(np.arange(n_tx), n_out)
    vout = np.arange(len(out_tx)) - np.repeat(np.cumsum(n_out) - n_out, n_out)
    spender = np.repeat(np.arange(n_tx), rng.integers(1, 3, n_tx))
    picked = rng.choice(np.flatnonzero(graph.spent_by < 0), len(spender), replace=False)
    creator = np.searchsorted(graph.out_ptr, picked, side="right") - 1
    prev_txid = graph.txids.strings().take(pa.array(creator)).to_pylist()
    prev_index = graph.out_index[picked].astype(np.int64)
    inner = np.flatnonzero((rng.random(len(spender)) < 0.05) & (spender > 0))
    earlier = np.searchsorted(out_tx, spender[inner])  # outputs of the earlier transactions
    own = (rng.random(len(inner)) * earlier).astype(np.int64)
    own, once = np.unique(own, return_index=True)  # each output spent once
    inner = inner[once]
    for j, o in zip(inner.tolist(), own.tolist(), strict=True):
        prev_txid[j] = txids[int(out_tx[o])].as_py()
        prev_index[j] = vout[o]
    head = np.ones(len(spender), bool)
    head[1:] = spender[1:] != spender[:-1]
    in_index = np.arange(len(spender)) - np.flatnonzero(head)[np.cumsum(head) - 1]
    height = np.full(n_tx, int(graph.tx_height.max()) + 1, np.int64)
    outputs = {
        "txid": txids.take(pa.array(out_tx)),
        "index": vout.astype(np.int32),
        "value": rng.integers(1, 10**8, len(out_tx)),
        "address": pa.array(np.char.mod("1Gen%030d", rng.integers(0, 10**7, len(out_tx)))),
    }
    inputs = {
        "txid": txids.take(pa.array(spender)),
        "index": in_index.astype(np.int32),
        "prev_txid": pa.array(prev_txid, pa.string()),
        "prev_index": prev_index,
    }
    return pa.table({"txid": txids, "block_height": height}), pa.table(inputs), pa.table(outputs)


def incremental(n_outputs: int, blocks: int = 6, block_tx: int = 3_000) -> dict:
    """Blocks of ``block_tx`` transactions appended to a generated graph of ``n_outputs``
    outputs (graph, exposure engine, clusters), against a full rebuild."""
    rng = np.random.default_rng(SEED)
    tables = generated_utxo_tables(n_outputs // 2, rng)  # 2 outputs per transaction on average
    start = time.perf_counter()
    graph = UtxoGraph.from_tables(*tables)
    build = time.perf_counter() - start
    chosen = rng.choice(graph.n_addresses, 2_000, replace=False)
    flags = FlagSet(
        {graph.addresses.string(int(a)): [Flag("sanctioned", "e", "E")] for a in chosen}
    )
    start = time.perf_counter()
    engine = ExposureEngine(graph, flags)
    engine.run()
    sweep = time.perf_counter() - start
    start = time.perf_counter()
    clustering = cluster_addresses(graph)
    cluster_seconds = time.perf_counter() - start
    size = {"transactions": graph.n_tx, "outputs": graph.n_outputs, "inputs": graph.n_inputs}
    rows: list[dict[str, float]] = []
    delta: list[tuple[pa.Table, ...]] = []
    incremental_sweeps = 0
    for number in range(blocks):
        block = block_tables(graph, number, block_tx, rng)
        delta.append(block)
        t0 = time.perf_counter()
        longer = append_utxo(graph, *block)
        assert longer is not None
        graph = longer
        t1 = time.perf_counter()
        engine = extend_engine(engine, graph)
        t2 = time.perf_counter()
        incremental_sweeps += "appended_transactions" in engine.stats  # not a full sweep
        clustering = extend_clustering(clustering, graph)
        t3 = time.perf_counter()
        engine.transaction(graph.txid(graph.n_tx - 1))  # a deposit of the new block
        t4 = time.perf_counter()
        rows.append({"graph": t1 - t0, "engine": t2 - t1, "clusters": t3 - t2, "query": t4 - t3})
    later = rows[1:] or rows

    def median(key: str) -> float:
        return float(np.median([r[key] for r in later]))

    result: dict[str, object] = {
        **size,
        "block_transactions": block_tx,
        "block_outputs": sum(b[2].num_rows for b in delta) // len(delta),
        "block_inputs": sum(b[1].num_rows for b in delta) // len(delta),
        "full_build_seconds": build,
        "full_sweep_seconds": sweep,
        "full_cluster_seconds": cluster_seconds,
        "first_block_seconds": rows[0]["graph"] + rows[0]["engine"],
        "block_graph_seconds": median("graph"),
        "block_engine_seconds": median("engine"),
        "block_seconds": float(np.median([r["graph"] + r["engine"] for r in later])),
        "block_seconds_max": max(r["graph"] + r["engine"] for r in later),
        "block_cluster_seconds": median("clusters"),
        "first_query_after_block_seconds": median("query"),
        "blocks_swept_incrementally": f"{incremental_sweeps} of {blocks}",
    }
    merged = [pa.concat_tables([tables[i], *[b[i] for b in delta]]) for i in range(3)]
    del tables, delta
    start = time.perf_counter()
    full = UtxoGraph.from_tables(*merged)
    reference = ExposureEngine(full, flags)
    reference.run()
    result["rebuild_seconds"] = time.perf_counter() - start
    del merged
    # appended and rebuilt graphs share the numbering of transactions and outputs
    same_graph = all(
        np.array_equal(getattr(graph, f), getattr(full, f))
        for f in ("out_ptr", "out_value", "in_ptr", "in_output", "in_value", "spent_by")
    )
    same_exposure = all(
        np.array_equal(getattr(engine, f), getattr(reference, f))
        for f in ("fraction", "tainted", "hops")
    )
    result["tainted_outputs"] = int(np.count_nonzero(reference.hops >= 0))
    result["same_graph_as_rebuild"] = same_graph
    result["same_exposure_as_rebuild"] = same_exposure
    rebuilt = cluster_addresses(full).labels
    names, full_names = graph.addresses.strings(), full.addresses.strings()
    same_clusters = _same_labels(names, clustering.labels, full_names, rebuilt)
    result["same_clusters_as_rebuild"] = same_clusters
    return result


def _same_labels(names: pa.Array, labels: np.ndarray, other: pa.Array, others: np.ndarray) -> bool:
    """Whether two labelings of the same addresses (different ids) give the same partition."""
    import pyarrow.compute as pc

    found = pc.index_in(names, value_set=other)
    if found.null_count:
        return False
    at = found.to_numpy(zero_copy_only=False)
    theirs = others[at]
    pairs = np.unique(np.stack([labels.astype(np.int64), theirs.astype(np.int64)]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--only", choices=["incremental", "live"], help="run one section")
    parser.add_argument("--outputs", type=int, default=10_000_000, help="incremental graph size")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    if args.only == "incremental":
        finish("chain-incremental", {"incremental_graph": incremental(args.outputs // scale)})
        return
    if args.only == "live":
        finish("chain-live", {"live": chain_live.run()})
        return
    results = {
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pyarrow": pa.__version__,
            "cpu": platform.processor() or platform.machine(),
        },
        "parse_raw_blocks": parse_rate(1 if args.quick else 3),
        "utxo_graph_memory": graph_memory(1_000_000 // scale),
        "clustering": clustering(10_000_000 // scale, 3_000_000 // scale, 1_000_000 // scale),
        "chain_2009": chain_2009(),
        "incremental_graph": incremental(args.outputs // scale),
        "live": chain_live.run(),  # following a local test node; the on-demand 5-hop cone
    }
    finish("chain", results)


if __name__ == "__main__":
    main()
