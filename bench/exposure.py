"""Benchmark: bulk UTXO exposure (haircut) against an igraph route and a DuckDB SQL route.

* a generated UTXO graph (default 5 million transactions, about 10 million outputs), built
  straight as arrays: 1–2 inputs and 2 outputs for most transactions, some consolidations
  (10–50 inputs) and batch payouts (20–100 outputs), 1% coinbase-like transactions; inputs
  spend mostly recent outputs (locality) and sometimes any older unspent one; values are
  conserved less a small fee; 30% of outputs reuse an earlier address;
* 1,000 flagged addresses drawn from the outputs of the first 90% of the chain;
* ``ExposureEngine.run`` (haircut, 6 hops, all outputs): output-visits per second (inputs read
  plus outputs written, per second of sweep, one core, best of 3), the preparation time
  (topological-order check, scratch arrays), the numba warm-up (excluded from the timings),
  and the peak RSS of the process at that point;
* single-output screening (``ExposureEngine.output``, in and out, with breakdown and 5
  evidence paths) over 2,000 outputs each: p50 and p99 latency;
* the same bulk result through igraph (BFS of at most 6 hops on the transaction graph from the
  sources' spenders, then the haircut rule per reached transaction in Python/numpy) and through
  DuckDB (one SQL join round per hop until nothing changes), each checked against the engine,
  with the engine's speed-up over each.

Run: ``.venv/bin/python bench/exposure.py [--small]`` (``--small``: 200,000 transactions);
needs the ``bench`` extra (igraph, duckdb) for the two comparison routes. Prints a table and
writes ``bench/results/exposure.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from _report import finish  # noqa: E402
from sanctrace.chain.exposure import ExposureEngine, graph_from_arrays, warm_up  # noqa: E402
from sanctrace.chain.flags import Flag, FlagSet  # noqa: E402
from sanctrace.chain.graph import UtxoGraph  # noqa: E402

SEED = 20240927
HOPS = 6
N_FLAGGED = 1000


# ------------------------------------------------------------------------------ the graph


@njit(cache=True)
def _count(r: float, table: np.ndarray, low: np.ndarray, high: np.ndarray) -> int:
    for j in range(table.size):
        if r < table[j]:
            return low[j] if low[j] == high[j] else np.random.randint(low[j], high[j] + 1)
    return low[-1]


@njit(cache=True)
def _generate(n_tx: int, seed: int) -> tuple[np.ndarray, ...]:
    np.random.seed(seed)
    # cumulative probabilities, and the count range each stands for
    in_p = np.array([0.6, 0.9, 0.995, 1.0])
    in_lo, in_hi = np.array([1, 2, 3, 10]), np.array([1, 2, 4, 50])
    out_p = np.array([0.25, 0.93, 0.997, 1.0])
    out_lo, out_hi = np.array([1, 2, 3, 20]), np.array([1, 2, 4, 100])
    cap = 3 * n_tx + 200
    out_ptr = np.zeros(n_tx + 1, np.int64)
    in_ptr = np.zeros(n_tx + 1, np.int64)
    out_value = np.empty(cap, np.int64)
    out_address = np.empty(cap, np.int32)
    in_output = np.empty(cap, np.int32)
    spent = np.zeros(cap, np.bool_)
    n_out = 0
    n_in = 0
    n_addr = 0
    for t in range(n_tx):
        in_ptr[t] = n_in
        total = 0
        if t >= 100 and np.random.random() >= 0.01:
            for _ in range(_count(np.random.random(), in_p, in_lo, in_hi)):
                for _attempt in range(8):
                    if np.random.random() < 0.9:
                        o = n_out - int(np.random.geometric(1.0 / 64))
                    else:
                        o = np.random.randint(0, n_out)
                    if 0 <= o < n_out and not spent[o]:
                        spent[o] = True
                        in_output[n_in] = o
                        n_in += 1
                        total += out_value[o]
                        break
        if n_in == in_ptr[t]:
            total = 5_000_000_000  # a coinbase-like transaction
        fee = min(total, 200 + total // 2000)
        left = total - fee
        m = _count(np.random.random(), out_p, out_lo, out_hi)
        for j in range(m):
            share = left if j == m - 1 else int(left * np.random.random() * 2 / (m - j))
            share = min(share, left)
            out_value[n_out] = share
            left -= share
            if n_out > 0 and np.random.random() < 0.3:
                back = int(np.random.geometric(1.0 / 1000))
                out_address[n_out] = out_address[max(0, n_out - back)]
            else:
                out_address[n_out] = n_addr
                n_addr += 1
            n_out += 1
        out_ptr[t + 1] = n_out
    in_ptr[n_tx] = n_in
    return (
        out_ptr,
        out_value[:n_out].copy(),
        out_address[:n_out].copy(),
        in_ptr,
        in_output[:n_in].copy(),
    )


def generate(n_tx: int) -> tuple[UtxoGraph, FlagSet, dict]:
    start = time.perf_counter()
    out_ptr, out_value, out_address, in_ptr, in_output = _generate(n_tx, SEED)
    graph = graph_from_arrays(out_ptr, out_value, out_address, in_ptr, in_output)
    rng = np.random.default_rng(SEED)
    early = graph.out_address[: int(graph.n_outputs * 0.9)]
    chosen = np.unique(rng.choice(early, N_FLAGGED * 3))[: N_FLAGGED * 2]
    chosen = rng.permutation(chosen)[:N_FLAGGED]
    flags = FlagSet(
        {
            graph.address(int(a)): [Flag("sanctioned", f"entity{i % 50}", f"Entity {i % 50}")]
            for i, a in enumerate(chosen)
        }
    )
    n_in, n_out = np.diff(graph.in_ptr), np.diff(graph.out_ptr)
    info = {
        "transactions": graph.n_tx,
        "outputs": graph.n_outputs,
        "inputs": graph.n_inputs,
        "addresses": graph.n_addresses,
        "flagged_addresses": len(flags),
        "source_outputs": int(np.isin(graph.out_address, chosen).sum()),
        "share_1_2_inputs": float(np.mean((n_in >= 1) & (n_in <= 2))),
        "share_2_outputs": float(np.mean(n_out == 2)),
        "consolidations_ge10_inputs": int((n_in >= 10).sum()),
        "batch_payouts_ge20_outputs": int((n_out >= 20).sum()),
        "graph_array_mb": sum(graph.array_nbytes().values()) / 2**20,
        "generate_seconds": time.perf_counter() - start,
    }
    return graph, flags, info


# ----------------------------------------------------------------------------- our engine


def engine_run(graph: UtxoGraph, flags: FlagSet, repeat: int) -> tuple[ExposureEngine, dict]:
    best, engine = None, None
    for _ in range(repeat):
        engine = ExposureEngine(graph, flags, model="haircut", hops=HOPS)
        engine.run()
        if best is None or engine.stats["sweep_seconds"] < best["sweep_seconds"]:
            best = dict(engine.stats)
    assert engine is not None and best is not None
    visits = best["output_visits"]
    tainted = engine.hops >= 0
    return engine, {
        "sweep_seconds": best["sweep_seconds"],
        "prepare_seconds": best["prepare_seconds"],
        "output_visits": int(visits),
        "output_visits_per_s": visits / best["sweep_seconds"],
        "tainted_outputs": int(tainted.sum()),
        "tainted_value_btc": float(engine.tainted.sum() / 1e8),
        "hops_histogram": np.bincount(engine.hops[tainted], minlength=HOPS + 1).tolist(),
        "peak_rss_mb_after_engine": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def screening(engine: ExposureEngine, count: int) -> dict:
    g = engine.graph
    rng = np.random.default_rng(SEED + 1)
    tainted = np.flatnonzero(engine.hops > 0)
    picks = {
        "in": np.concatenate(
            [rng.choice(tainted, count // 2), rng.integers(0, g.n_outputs, count // 2)]
        ),
        "out": rng.integers(0, g.n_outputs, count),
    }
    out_tx = np.searchsorted(g.out_ptr, np.arange(g.n_outputs), side="right") - 1
    start = time.perf_counter()
    engine.output(g.txid(0), 0, "in")  # builds the query indexes once (graph "loaded")
    found: dict = {"first_query_setup_seconds": time.perf_counter() - start}
    for direction, outs in picks.items():
        times, exposed = [], 0
        for o in outs.tolist():
            txid, index = g.txid(int(out_tx[o])), int(g.out_index[o])
            start = time.perf_counter()
            result = engine.output(txid, index, direction, paths=5)
            times.append(time.perf_counter() - start)
            exposed += result.tainted_value > 0
        ms = np.array(times) * 1e3
        found[direction] = {
            "queries": len(ms),
            "exposed": exposed,
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()),
        }
    return found


# --------------------------------------------------------------------------- igraph route


def igraph_route(graph: UtxoGraph, engine: ExposureEngine) -> dict:
    try:
        import igraph
    except ImportError as exc:
        return {"skipped": f"igraph not installed ({exc}); pip install '.[bench]'"}
    start = time.perf_counter()
    out_tx = np.repeat(np.arange(graph.n_tx), np.diff(graph.out_ptr))
    spender = np.repeat(np.arange(graph.n_tx), np.diff(graph.in_ptr))
    known = graph.in_output >= 0
    edges = np.column_stack([out_tx[graph.in_output[known]], spender[known]])
    tx_graph = igraph.Graph(n=graph.n_tx + 1, edges=edges, directed=True)
    source = (engine.out_class & 1) != 0
    roots = np.unique(out_tx[source])
    root = graph.n_tx  # one virtual root joined to every transaction that creates a source
    tx_graph.add_edges(np.column_stack([np.full(len(roots), root), roots]))
    built = time.perf_counter()
    reached = np.array(tx_graph.neighborhood(root, order=HOPS + 1, mode="out"))
    reached = np.sort(reached[reached != root])
    bfs = time.perf_counter()
    fraction = np.zeros(graph.n_outputs)
    hops = np.full(graph.n_outputs, -1, np.int64)
    in_ptr, out_ptr, in_output, in_value = (
        graph.in_ptr,
        graph.out_ptr,
        graph.in_output,
        graph.in_value,
    )
    for t in reached.tolist():  # generated ids are topological
        i0, i1, o0, o1 = in_ptr[t], in_ptr[t + 1], out_ptr[t], out_ptr[t + 1]
        ins, values = in_output[i0:i1], in_value[i0:i1]
        ok = (ins >= 0) & (hops[ins] >= 0) & (hops[ins] < HOPS)
        taint = fraction[ins] * values * ok
        if taint.sum() > 0:
            fraction[o0:o1] = taint.sum() / values.sum()
            hops[o0:o1] = hops[ins][taint > 0].min() + 1
        src = source[o0:o1]
        fraction[o0:o1][src] = 1.0
        hops[o0:o1][src] = 0
    done = time.perf_counter()
    fraction[source], hops[source] = 1.0, 0
    same = bool(
        np.allclose(fraction, engine.fraction, rtol=1e-9, atol=0) and (hops == engine.hops).all()
    )
    return {
        "build_seconds": built - start,
        "bfs_seconds": bfs - built,
        "reached_transactions": len(reached),
        "arithmetic_seconds": done - bfs,
        "seconds": done - built,
        "seconds_with_build": done - start,
        "same_result": same,
    }


# --------------------------------------------------------------------------- DuckDB route


def duckdb_route(graph: UtxoGraph, engine: ExposureEngine) -> dict:
    try:
        import duckdb
    except ImportError as exc:
        return {"skipped": f"duckdb not installed ({exc}); pip install '.[bench]'"}
    import pyarrow as pa

    out_tx = np.repeat(np.arange(graph.n_tx), np.diff(graph.out_ptr))
    spender = np.repeat(np.arange(graph.n_tx), np.diff(graph.in_ptr))
    known = graph.in_output >= 0
    con = duckdb.connect()
    con.execute("SET threads TO 1")
    start = time.perf_counter()
    outputs = pa.table(
        {
            "o": np.arange(graph.n_outputs),
            "tx": out_tx,
            "value": graph.out_value,
            "src": (engine.out_class & 1) != 0,
        }
    )
    inputs = pa.table(
        {
            "tx": spender[known],
            "o": graph.in_output[known].astype(np.int64),
            "value": graph.in_value[known],
        }
    )
    totals = pa.table(
        {
            "tx": np.arange(graph.n_tx),
            "total": np.add.reduceat(
                np.append(graph.in_value, 0), np.minimum(graph.in_ptr[:-1], graph.n_inputs)
            )
            * (np.diff(graph.in_ptr) > 0),
        }
    )
    con.register("outputs_a", outputs)
    con.register("inputs_a", inputs)
    con.register("totals_a", totals)
    con.execute("CREATE TABLE outputs AS SELECT * FROM outputs_a")
    con.execute("CREATE TABLE inputs AS SELECT * FROM inputs_a")
    con.execute("CREATE TABLE totals AS SELECT * FROM totals_a")
    con.execute("CREATE TABLE taint AS SELECT o, 1.0::DOUBLE AS f, 0 AS h FROM outputs WHERE src")
    loaded = time.perf_counter()
    rounds, changed = 0, 1
    step = """
        CREATE OR REPLACE TABLE next AS
        WITH per_tx AS (
            SELECT i.tx, SUM(t.f * i.value) AS taint, MIN(t.h) AS hmin
            FROM inputs i JOIN taint t ON i.o = t.o
            WHERE t.h < ? AND t.f * i.value > 0 GROUP BY i.tx)
        SELECT o.o, p.taint / s.total AS f, p.hmin + 1 AS h
        FROM per_tx p JOIN totals s ON s.tx = p.tx JOIN outputs o ON o.tx = p.tx
        WHERE NOT o.src
        UNION ALL SELECT o, 1.0, 0 FROM outputs WHERE src"""
    while changed and rounds < 200:
        con.execute(step, [HOPS])
        changed = con.execute(
            "SELECT COUNT(*) FROM next n FULL JOIN taint t ON n.o = t.o "
            "WHERE n.o IS NULL OR t.o IS NULL OR n.h <> t.h OR abs(n.f - t.f) > 1e-12 * n.f"
        ).fetchone()[0]
        con.execute("CREATE OR REPLACE TABLE taint AS SELECT * FROM next")
        rounds += 1
    done = time.perf_counter()
    got = con.execute("SELECT o, f, h FROM taint ORDER BY o").fetchnumpy()
    fraction = np.zeros(graph.n_outputs)
    hops = np.full(graph.n_outputs, -1, np.int64)
    fraction[got["o"]], hops[got["o"]] = got["f"], got["h"]
    same = bool(
        np.allclose(fraction, engine.fraction, rtol=1e-9, atol=0) and (hops == engine.hops).all()
    )
    return {
        "load_seconds": loaded - start,
        "rounds": rounds,
        "seconds": done - loaded,
        "seconds_with_load": done - start,
        "same_result": same,
    }


# ------------------------------------------------------------------------------------ main


def compile_seconds() -> float:
    """The numba compile time of the exposure kernels, in a fresh process with an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(ROOT / "src")}
        code = "from sanctrace.chain.exposure import warm_up; print(warm_up())"
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="200,000 transactions")
    parser.add_argument("--tx", type=int, help="number of transactions (default 5,000,000)")
    args = parser.parse_args()
    n_tx = args.tx or (200_000 if args.small else 5_000_000)
    start = time.perf_counter()
    _generate(100, 1)  # compile the generator outside the timings
    jit_generator = time.perf_counter() - start
    graph, flags, info = generate(n_tx)
    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu": platform.processor() or platform.machine(),
        },
        "graph": info,
        "jit": {
            "generator_seconds": jit_generator,
            "kernels_warm_up_seconds": warm_up(),
            "kernels_compile_seconds_uncached": compile_seconds(),
        },
    }
    engine, results["engine"] = engine_run(graph, flags, repeat=3)
    results["screening"] = screening(engine, 2000)
    results["igraph"] = igraph_route(graph, engine)
    results["duckdb"] = duckdb_route(graph, engine)
    ours = results["engine"]["sweep_seconds"] + results["engine"]["prepare_seconds"]
    for route in ("igraph", "duckdb"):  # the routes' own graph building / loading not counted
        if "seconds" in results[route]:
            results[route]["engine_speedup"] = results[route]["seconds"] / ours
    finish("exposure", results)


if __name__ == "__main__":
    main()
