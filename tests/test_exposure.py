"""UTXO exposure: hand-checked cases per model, hop limit, stops, clusters, directions, the API,
and the 2009 chain against a plain dict-based reference implementation (``reference`` below,
also used by the property tests in ``test_exposure_props.py``)."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from math import isclose

import numpy as np
import pyarrow as pa
import pytest

from chain2009 import chain_2009_tables
from sanctrace.chain.cluster import cluster_addresses
from sanctrace.chain.exposure import (
    MAX_HOPS,
    ExposureEngine,
    ExposureError,
    graph_from_arrays,
)
from sanctrace.chain.flags import Flag, FlagSet
from sanctrace.chain.graph import UtxoGraph
from sanctrace.errors import SanctraceError

# A transaction: (txid, inputs as (prev_txid, prev_index), outputs as (address, value)).
Tx = tuple[str, list[tuple[str, int]], list[tuple[str | None, int]]]
Outpoint = tuple[str, int]


def txid(name: str) -> str:
    """A 64-hex txid for a short name, so that tests read as names."""
    return name.encode().hex().ljust(64, "0")


# ------------------------------------------------------------------------- the reference


def reference(
    txs: Iterable[Tx], sources: set[Outpoint], terminal: set[Outpoint], model: str, hops: int
) -> dict[Outpoint, tuple[float, float, int]]:
    """The exposure rules of docs/exposure.md, written plainly: (fraction, tainted, hops) per
    output; ``sources`` are fully tainted at hop 0, ``terminal`` outputs pass nothing on."""
    txs = list(txs)
    outputs = {(t, n): out for t, _, outs in txs for n, out in enumerate(outs)}
    by_id = {t: (ins, outs) for t, ins, outs in txs}
    waiting = {t: {p for p, _ in ins if (p, _) in outputs} for t, ins, _ in txs}
    users: dict[str, list[str]] = {}
    for t, deps in waiting.items():
        for d in deps:
            users.setdefault(d, []).append(t)
    ready = [t for t, deps in waiting.items() if not deps]
    result: dict[Outpoint, tuple[float, float, int]] = {}
    while ready:
        t = ready.pop()
        ins, outs = by_id[t]
        inputs = []  # (value, density when contributing else 0, hops)
        for p in ins:
            value = outputs[p][1] if p in outputs else 0
            f, _, h = result.get(p, (0.0, 0.0, -1))
            ok = p in outputs and 0 <= h < hops and p not in terminal and f * value > 0
            inputs.append((value, f if ok else 0.0, h))
        total = sum(v for v, _, _ in inputs)
        taint = sum(v * f for v, f, _ in inputs)
        start = 0
        for n, (_, value) in enumerate(outs):
            if (t, n) in sources:
                result[(t, n)] = (1.0, float(value), 0)
            elif model == "fifo":
                got, hmin, pos = 0.0, None, 0
                for v, f, h in inputs:
                    overlap = min(pos + v, start + value) - max(pos, start)
                    if f > 0 and overlap > 0:
                        got += f * overlap
                        hmin = h if hmin is None else min(hmin, h)
                    pos += v
                tainted = got > 0 and value > 0
                result[(t, n)] = (got / value, got, hmin + 1) if tainted else (0.0, 0.0, -1)
            elif taint > 0:
                hmin = min(h for v, f, h in inputs if f * v > 0)
                f = taint / total if model == "haircut" else 1.0
                result[(t, n)] = (f, f * value, hmin + 1)
            else:
                result[(t, n)] = (0.0, 0.0, -1)
            start += value
        for u in users.get(t, []):
            waiting[u].discard(t)
            if not waiting[u]:
                ready.append(u)
    assert len(result) == len(outputs), "the reference graph has a cycle"
    return result


def classes(txs: Iterable[Tx], flagged: set[str], stops: set[str]) -> tuple[set, set]:
    """The in-view's sources and terminal outputs for flagged and stop addresses."""
    ops = {(t, n): a for t, _, outs in txs for n, (a, _) in enumerate(outs)}
    sources = {p for p, a in ops.items() if a in flagged}
    return sources, {p for p, a in ops.items() if a in stops and a not in flagged}


def tables(txs: Iterable[Tx], seed: int | None = None) -> tuple[None, pa.Table, pa.Table]:
    """Chain-store tables for ``txs``; ``seed`` shuffles the rows."""
    outs = [
        {"txid": t, "index": n, "value": v, "address": a}
        for t, _, o in txs
        for n, (a, v) in enumerate(o)
    ]
    ins = [
        {"txid": t, "index": n, "prev_txid": p, "prev_index": i}
        for t, inputs, _ in txs
        for n, (p, i) in enumerate(inputs)
    ]
    if seed is not None:
        random.Random(seed).shuffle(outs)
        random.Random(seed + 1).shuffle(ins)
    schema = pa.schema(
        [
            ("txid", pa.string()),
            ("index", pa.int32()),
            ("prev_txid", pa.string()),
            ("prev_index", pa.int64()),
        ]
    )
    out_schema = pa.schema(
        [
            ("txid", pa.string()),
            ("index", pa.int32()),
            ("value", pa.int64()),
            ("address", pa.string()),
        ]
    )
    return None, pa.Table.from_pylist(ins, schema), pa.Table.from_pylist(outs, out_schema)


def results(engine: ExposureEngine) -> dict[Outpoint, tuple[float, float, int]]:
    engine.run()
    g = engine.graph
    out_tx = np.repeat(np.arange(g.n_tx), np.diff(g.out_ptr))
    return {
        (g.txid(int(out_tx[o])), int(g.out_index[o])): (
            float(engine.fraction[o]),
            float(engine.tainted[o]),
            int(engine.hops[o]),
        )
        for o in range(g.n_outputs)
    }


def assert_same(got: dict, expected: dict) -> None:
    """Equal hops, fractions and tainted values to 1e-9 relative."""
    assert got.keys() == expected.keys()
    for key, (f, t, h) in expected.items():
        gf, gt, gh = got[key]
        ok = isclose(gf, f, rel_tol=1e-9, abs_tol=1e-15) and isclose(
            gt, t, rel_tol=1e-9, abs_tol=1e-9
        )
        assert gh == h and ok, (key, got[key], expected[key])


def flags_for(addresses: Iterable[str], entity: str = "E", category: str = "sanctioned") -> dict:
    return {a: [Flag(category, entity, f"{entity} label", "test")] for a in addresses}


def engine_for(txs: list[Tx], flagged: dict, stops: dict | None = None, **kw) -> ExposureEngine:
    graph = UtxoGraph.from_tables(*tables(txs))
    return ExposureEngine(graph, FlagSet(flagged, stops or {}), **kw)


# ------------------------------------------------------------------- hand-checked cases

# S (flagged, 100) and K (clean, 50) are spent by T3 -> C 120, D 20 (fee 10); T4: C -> E 110.
WORKED: list[Tx] = [
    (txid("T1"), [], [("S", 100)]),
    (txid("T2"), [], [("K", 50)]),
    (txid("T3"), [(txid("T1"), 0), (txid("T2"), 0)], [("C", 120), ("D", 20)]),
    (txid("T4"), [(txid("T3"), 0)], [("E", 110)]),
]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("haircut", {"C": (2 / 3, 80.0, 1), "D": (2 / 3, 40 / 3, 1), "E": (2 / 3, 220 / 3, 2)}),
        ("poison", {"C": (1.0, 120.0, 1), "D": (1.0, 20.0, 1), "E": (1.0, 110.0, 2)}),
        ("fifo", {"C": (5 / 6, 100.0, 1), "D": (0.0, 0.0, -1), "E": (5 / 6, 275 / 3, 2)}),
    ],
)
def test_worked_example_with_fees(model, expected):
    engine = engine_for(WORKED, flags_for(["S"]), model=model)
    got = results(engine)
    names = {"C": (txid("T3"), 0), "D": (txid("T3"), 1), "E": (txid("T4"), 0)}
    for name, value in expected.items():
        assert got[names[name]] == pytest.approx(value), name
    assert got[(txid("T1"), 0)] == (1.0, 100.0, 0)
    assert got[(txid("T2"), 0)] == (0.0, 0.0, -1)
    e = engine.output(txid("T4"), 0)
    assert (e.tainted_value, e.min_hops, e.value) == pytest.approx((expected["E"][1], 2, 110))
    assert e.subject == f"output:{txid('T4')}:0" and e.direction == "in" and e.hops_limit == 5
    assert [s.address for s in e.paths[0].steps] == ["S", "C", "E"]
    assert e.paths[0].steps[0].tags == ["E label"] and e.paths[0].hops == 2
    assert e.by_entity == [
        {
            "entity": "E",
            "label": "E label",
            "category": "sanctioned",
            "tainted_value": pytest.approx(expected["E"][1]),
            "fraction": pytest.approx(expected["E"][0]),
        }
    ]


def test_self_change_and_several_tainted_inputs():
    # X (flagged, 60) and Y (flagged by another entity, 40) and Z (clean, 100) go into T3,
    # which pays W 150 and 45 back to Z's address (self-change); fee 5.
    txs: list[Tx] = [
        (txid("T1"), [], [("X", 60), ("Y", 40)]),
        (txid("T2"), [], [("Z", 100)]),
        (txid("T3"), [(txid("T2"), 0), (txid("T1"), 0), (txid("T1"), 1)], [("W", 150), ("Z", 45)]),
        (txid("T4"), [(txid("T3"), 1)], [("Z", 44)]),
    ]
    flagged = {**flags_for(["X"], "ex"), **flags_for(["Y"], "why", "mixer")}
    for model, (f3, t_w, fifo_z) in {
        "haircut": (0.5, 75.0, None),
        "poison": (1.0, 150.0, None),
        "fifo": (None, 50.0, 45.0),  # W covers Z's 100 then X's 50; Z-change covers X 10, Y 35
    }.items():
        engine = engine_for(txs, flagged, model=model)
        got = results(engine)
        assert got[(txid("T3"), 0)][1] == pytest.approx(t_w)
        if f3 is not None:
            assert got[(txid("T3"), 1)][0] == pytest.approx(f3)
        else:
            assert got[(txid("T3"), 1)][1] == pytest.approx(fifo_z)
        z = engine.address("Z")
        assert z.value == 100 + 45 + 44
        assert z.tainted_value == pytest.approx(
            sum(got[(t, n)][1] for t, n in [(txid("T3"), 1), (txid("T4"), 0)])
        )
        assert set(z.by_category) == {"sanctioned", "mixer"}
        entities = {row["entity"]: row["tainted_value"] for row in z.by_entity}
        if model == "haircut":  # linear: the two entities split the total
            assert entities["ex"] + entities["why"] == pytest.approx(z.tainted_value)
            assert entities["ex"] / entities["why"] == pytest.approx(60 / 40)
        if model == "poison":  # each alone poisons everything
            assert entities["ex"] == entities["why"] == pytest.approx(z.tainted_value)
        if model == "fifo":  # Z's change covers 10 of X and 35 of Y, then T4 keeps 44/45
            assert entities["ex"] == pytest.approx(10 + 10 * 44 / 45)
            assert entities["why"] == pytest.approx(35 + 35 * 44 / 45)


def test_fifo_partly_tainted_inputs_spread_evenly():
    # A (flagged) 30 -> T2: P 10 (fifo: tainted 10), Q 20 (clean coin mixed in by T2's 2nd input)
    txs: list[Tx] = [
        (txid("T1"), [], [("A", 30), ("B", 30)]),
        (txid("T2"), [(txid("T1"), 0), (txid("T1"), 1)], [("P", 40), ("Q", 20)]),
        # P is 30/40 tainted; T3 spends Q (clean) then P: output R covers Q 20 + 10 of P
        (txid("T3"), [(txid("T2"), 1), (txid("T2"), 0)], [("R", 30), ("U", 25)]),
    ]
    got = results(engine_for(txs, flags_for(["A"]), model="fifo"))
    assert got[(txid("T2"), 0)] == pytest.approx((0.75, 30.0, 1))
    assert got[(txid("T2"), 1)] == (0.0, 0.0, -1)
    assert got[(txid("T3"), 0)] == pytest.approx((7.5 / 30, 7.5, 2))
    assert got[(txid("T3"), 1)] == pytest.approx((0.75, 18.75, 2))  # fee 5 is the last stretch


def test_hop_limit_zero_n_and_n_plus_one():
    chain: list[Tx] = [(txid("T0"), [], [("S", 100)])]
    for i in range(1, 5):
        chain.append((txid(f"T{i}"), [(txid(f"T{i - 1}"), 0)], [(f"A{i}", 100 - i)]))
    for hops in (0, 2, 3, MAX_HOPS):
        got = results(engine_for(chain, flags_for(["S"]), hops=hops))
        for i in range(1, 5):
            assert got[(txid(f"T{i}"), 0)][2] == (i if i <= hops else -1)
    # a hop count is the smallest among contributing inputs: taint goes on past N hops when
    # another input is nearer a source (X has hop 1, not below 1; S2 contributes at hop 0)
    txs = [
        *chain[:2],
        (txid("U"), [], [("S2", 50)]),
        (txid("V"), [(txid("T1"), 0), (txid("U"), 0)], [("Y", 120)]),
    ]
    got = results(engine_for(txs, flags_for(["S", "S2"]), hops=1))
    assert got[(txid("V"), 0)] == pytest.approx((50 / 149, 120 * 50 / 149, 1))
    with pytest.raises(ExposureError, match="hops"):
        engine_for(chain, {}, hops=MAX_HOPS + 1)
    with pytest.raises(SanctraceError, match="hops"):
        engine_for(chain, {}, hops=-1)


def test_stop_entities_reported_not_propagated():
    txs: list[Tx] = [
        (txid("T1"), [], [("S", 100)]),
        (txid("T2"), [(txid("T1"), 0)], [("EXCH", 90), ("M", 9)]),
        (txid("T3"), [(txid("T2"), 0)], [("F", 80)]),
    ]
    stops = {"EXCH": [Flag("exchange", "ex1", "Other Exchange", "tags")]}
    engine = engine_for(txs, flags_for(["S"]), stops)
    got = results(engine)
    assert got[(txid("T2"), 0)] == pytest.approx((1.0, 90.0, 1))  # reported with its taint
    assert got[(txid("T3"), 0)] == (0.0, 0.0, -1)  # but not passed on
    f = engine.output(txid("T3"), 0)
    assert f.tainted_value == 0 and f.stopped == [
        {
            "txid": txid("T2"),
            "output_index": 0,
            "address": "EXCH",
            "label": "Other Exchange",
            "tainted_value": 90.0,
        }
    ]
    ahead = engine_for(txs, flags_for(["F"]), stops)
    out = ahead.output(txid("T1"), 0, "out")  # forward: the stop is reached, nothing lands
    assert out.tainted_value == 0 and [s["address"] for s in out.stopped] == ["EXCH"]
    through = engine_for(txs, flags_for(["S"]), stops, propagate_stops=True)
    assert results(through)[(txid("T3"), 0)] == pytest.approx((1.0, 80.0, 2))
    assert [s["address"] for s in through.output(txid("T3"), 0).stopped] == ["EXCH"]


def test_cluster_members_of_a_flagged_cluster_are_sources():
    txs: list[Tx] = [
        (txid("T1"), [], [("P", 10), ("Q", 20)]),
        (txid("T2"), [(txid("T1"), 0), (txid("T1"), 1)], [("R", 25)]),  # P and Q spent together
        (txid("T3"), [], [("Q", 7)]),
    ]
    graph = UtxoGraph.from_tables(*tables(txs))
    clusters = cluster_addresses(graph).labels
    assert clusters[graph.address_id("P")] == clusters[graph.address_id("Q")]
    engine = ExposureEngine(graph, FlagSet(flags_for(["P"])), clusters=clusters)
    got = results(engine)
    assert got[(txid("T3"), 0)] == (1.0, 7.0, 0)  # paid to Q, in P's cluster
    assert engine.output(txid("T3"), 0).by_entity[0]["entity"] == "E"
    assert results(ExposureEngine(graph, FlagSet(flags_for(["P"]))))[(txid("T3"), 0)][2] == -1
    with pytest.raises(ExposureError, match="clusters"):
        ExposureEngine(graph, FlagSet(), clusters=clusters[:-1])


def test_directions_agree_on_the_worked_example():
    for model in ("haircut", "poison", "fifo"):
        back = engine_for(WORKED, flags_for(["S"]), model=model).output(txid("T4"), 0)
        ahead = engine_for(WORKED, flags_for(["E"]), model=model).output(txid("T1"), 0, "out")
        assert ahead.tainted_value == pytest.approx(back.tainted_value)
        assert ahead.min_hops == back.min_hops == 2
        assert [s.address for s in ahead.paths[0].steps] == ["S", "C", "E"]
        assert ahead.paths[0].value == pytest.approx(back.paths[0].value)
    out = engine_for(WORKED, flags_for(["E"])).output(txid("T1"), 0, "out")
    assert out.value == 100 and out.fraction == pytest.approx(220 / 300)
    assert out.by_entity[0]["tainted_value"] == pytest.approx(220 / 3)
    poisoned = engine_for(WORKED, flags_for(["D"]), model="poison").transaction(txid("T1"), "out")
    assert (poisoned.fraction, poisoned.tainted_value) == (1.0, 20.0)


def test_api_errors_and_subjects():
    engine = engine_for(WORKED, flags_for(["S"]))
    with pytest.raises(ExposureError, match="unknown transaction"):
        engine.output("ab" * 32, 0)
    with pytest.raises(ExposureError, match="unknown output"):
        engine.output(txid("T3"), 5)
    with pytest.raises(ExposureError, match="unknown address"):
        engine.address("nope")
    with pytest.raises(ExposureError, match="direction"):
        engine.output(txid("T3"), 0, "sideways")  # type: ignore[arg-type]
    with pytest.raises(ExposureError, match="model"):
        engine_for(WORKED, {}, model="fractional")
    tx = engine.transaction(txid("T3"))
    assert tx.subject == f"tx:{txid('T3')}" and tx.value == 140
    assert tx.tainted_value == pytest.approx(140 * 2 / 3)
    address = engine.address("S")
    assert address.subject == "address:S" and address.fraction == 1.0 and address.min_hops == 0
    clean = engine.address("K")
    assert (clean.tainted_value, clean.min_hops, clean.paths, clean.by_entity) == (0, None, [], [])
    d = tx.to_dict()
    assert list(d) == [
        "subject",
        "direction",
        "model",
        "hops_limit",
        "value",
        "tainted_value",
        "fraction",
        "min_hops",
        "by_category",
        "by_entity",
        "stopped",
        "paths",
    ]
    assert list(d["paths"][0]["steps"][0]) == ["txid", "output_index", "address", "tags", "amount"]


def test_cycle_is_an_error():
    txs: list[Tx] = [
        (txid("T1"), [(txid("T2"), 0)], [("A", 1)]),
        (txid("T2"), [(txid("T1"), 0)], [("B", 1)]),
    ]
    with pytest.raises(ExposureError, match="cycle"):
        engine_for(txs, flags_for(["A"])).run()


def test_table_and_csv(tmp_path):
    engine = engine_for(WORKED, flags_for(["S"]))
    table = engine.table()
    assert table.schema.names == [
        "txid",
        "output_index",
        "address",
        "value",
        "tainted_value",
        "fraction",
        "hops",
    ]
    assert [str(t) for t in table.schema.types] == [
        "string",
        "int32",
        "string",
        "int64",
        "double",
        "double",
        "int8",
    ]
    assert table.column("address").to_pylist() == ["S", "C", "D", "E"]
    assert table.column("hops").to_pylist() == [0, 1, 1, 2]
    path = tmp_path / "out" / "exposure.csv"
    assert engine.write_csv(path) == 4
    rows = list(csv.DictReader(path.open()))
    assert rows[0] == {
        "txid": txid("T1"),
        "output_index": "0",
        "address": "S",
        "value": "100",
        "tainted_value": "100",
        "fraction": "1",
        "hops": "0",
    }
    assert float(rows[3]["tainted_value"]) == pytest.approx(220 / 3, rel=1e-15)
    assert [p.name for p in path.parent.iterdir()] == ["exposure.csv"]  # no temporary left


def test_shuffled_tables_give_the_same_result():
    txs = [*WORKED, (txid("T5"), [(txid("T3"), 1), (txid("T4"), 0)], [("F", 100), ("G", 25)])]
    for model in ("haircut", "poison", "fifo"):
        expected = results(engine_for(txs, flags_for(["S"]), model=model))
        for seed in range(5):
            graph = UtxoGraph.from_tables(*tables(list(reversed(txs)), seed))
            got = results(ExposureEngine(graph, FlagSet(flags_for(["S"])), model=model))
            assert_same(got, expected)


def test_graph_from_arrays_matches_from_tables():
    # the worked example as arrays: tx t's outputs out_ptr[t]:out_ptr[t+1]
    graph = graph_from_arrays(
        np.array([0, 1, 2, 4, 5]),
        np.array([100, 50, 120, 20, 110]),
        np.array([0, 1, 2, 3, 4]),
        np.array([0, 0, 0, 2, 3]),
        np.array([0, 1, 2]),
    )
    engine = ExposureEngine(graph, FlagSet(flags_for(["addr0"])))
    engine.run()
    expected = engine_for(WORKED, flags_for(["S"]))
    expected.run()
    assert np.allclose(engine.fraction, expected.fraction) and (engine.hops == expected.hops).all()
    e = engine.output(graph.txid(3), 0)
    assert e.tainted_value == pytest.approx(220 / 3) and e.paths[0].steps[0].address == "addr0"
    assert engine.address("addr4", "in").tainted_value == pytest.approx(220 / 3)


# ----------------------------------------------------------------------- the 2009 chain


def chain_txs(tables_: tuple[pa.Table, pa.Table, pa.Table]) -> list[Tx]:
    _, ins, outs = tables_
    outputs: dict[str, list[tuple[int, str | None, int]]] = {}
    for row in outs.to_pylist():
        outputs.setdefault(row["txid"], []).append((row["index"], row["address"], row["value"]))
    inputs: dict[str, list[tuple[int, str, int]]] = {}
    for row in ins.to_pylist():
        inputs.setdefault(row["txid"], []).append(
            (row["index"], row["prev_txid"], row["prev_index"])
        )
    found = []
    for t in outputs:
        outs_t = [(a, v) for _, a, v in sorted(outputs[t], key=lambda r: r[0])]
        ins_t = [(p, i) for _, p, i in sorted(inputs.get(t, []))]
        found.append((t, ins_t, outs_t))
    return found


def test_2009_chain_against_the_reference(shared_data):
    tables_ = chain_2009_tables(shared_data / "chain/btc/chain_2009_csv/sampledata_2009")
    graph = UtxoGraph.from_tables(*tables_)
    txs = chain_txs(tables_)
    # flag 20 busy addresses whose coins move, chosen deterministically, and 6 stops
    moved = graph.out_address[(graph.spent_by >= 0) & (graph.out_address >= 0)]
    ids, counts = np.unique(moved, return_counts=True)
    names = [graph.address(int(a)) for a in ids]
    ranked = sorted(zip(names, counts.tolist(), strict=True), key=lambda r: (-r[1], r[0]))
    flagged = {name for name, _ in ranked[1:40:2]}  # 20 busy addresses, every other one
    stops = {name for name, _ in ranked[40:46]}
    sources, terminal = classes(txs, flagged, stops)
    entities = {
        a: [Flag("sanctioned", f"e{i % 3}", f"Entity {i % 3}")]
        for i, a in enumerate(sorted(flagged))
    }
    stop_flags = {a: [Flag("exchange", None, "Exchange")] for a in stops}
    alone: dict[tuple[str, str], dict] = {}
    for model in ("haircut", "poison", "fifo"):
        expected = reference(txs, sources, terminal, model, 5)
        engine = ExposureEngine(graph, FlagSet(entities, stop_flags), model=model, hops=5)
        assert_same(results(engine), expected)
        tainted = [p for p, (_, t, h) in expected.items() if h > 0 and t > 0]
        assert len(tainted) > 60
        table = engine.table()
        assert table.num_rows == sum(1 for _, _, h in expected.values() if h >= 0)
        # the per-entity breakdown of some outputs equals the reference with one entity flagged
        for p in tainted[:: max(1, len(tainted) // 8)]:
            e = engine.output(*p)
            assert e.tainted_value == pytest.approx(expected[p][1], rel=1e-9)
            for row in e.by_entity:
                if (model, row["entity"]) not in alone:
                    mine = {a for a, fl in entities.items() if fl[0].entity == row["entity"]}
                    own, _ = classes(txs, mine, set())
                    alone[(model, row["entity"])] = reference(txs, own, terminal, model, 5)
                ref = alone[(model, row["entity"])]
                assert row["tainted_value"] == pytest.approx(ref[p][1], rel=1e-9, abs=1e-6)
    assert graph.n_tx == 32_709


# --------------------------------------------------------------------------- flag sets


def test_flagset_from_file_plain_and_csv(tmp_path):
    plain = tmp_path / "flagged.txt"
    plain.write_text(
        "# OFAC additions\n\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa  # genesis\n"
        "0x8589427373D6D84E98730D7795D8f6f8731FDA16\nsolanaStyleAddr111\n"
    )
    flags = FlagSet.from_file(plain)
    assert len(flags) == 3 and not flags.stops
    evm = "0x8589427373d6d84e98730d7795d8f6f8731fda16"  # canonical: lower case
    assert set(flags.flagged) == {"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", evm, "solanaStyleAddr111"}
    assert flags.flagged[evm] == [Flag("sanctioned", None, "flagged.txt", "file flagged.txt")]
    table = tmp_path / "list.csv"
    table.write_text(
        "Address,category,entity,label,notes\n"
        "12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX,mixer,blender,Blender.io,x\n"
        "12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX,sanctioned,blender,Blender.io (OFAC),\n"
        "\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,,,\n"
    )
    flags = FlagSet.from_file(table)
    assert [f.category for f in flags.flagged["12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX"]] == [
        "mixer",
        "sanctioned",
    ]
    assert flags.flagged["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"][0].label == "list.csv"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\nnot an address\n", r"bad\.txt:2: not one address"),
        ("# c\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb\n", r"bad\.txt:2: invalid address .*checksum"),
        ("address,label\n,Nobody\n", r"bad\.txt:2: field address: empty"),
        ("address\n1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa,extra\n", r"bad\.txt:2: 2 fields"),
        ("caf\u00e9\n", r"bad\.txt:1: address has non-printable or non-ASCII"),
    ],
)
def test_flagset_from_file_bad_input(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SanctraceError, match=message):
        FlagSet.from_file(path)
    with pytest.raises(SanctraceError, match="cannot read"):
        FlagSet.from_file(tmp_path / "missing.txt")


def test_flagset_from_tags():
    from sanctrace.chain.tags import Tag

    def tag(address: str, category: str | None, **kw) -> Tag:
        base = {"actor": None, "source": "pack", "confidence": 100, "jurisdiction": None}
        return Tag(address, "btc", f"label {address}", category, **{**base, **kw})

    flags = FlagSet.from_tags(
        [
            tag("A", "sanctioned", entity_id="us_ofac_sdn:1", snapshot_id=3),
            tag("B", "exchange", actor="binance"),
            tag("C", "mixer", actor="blender"),
            tag("D", None),
        ],
        categories=("sanctioned", "mixer"),
    )
    assert flags.flagged["A"] == [Flag("sanctioned", "us_ofac_sdn:1", "label A", "snapshot 3")]
    assert flags.flagged["C"][0].group == "blender" and set(flags.flagged) == {"A", "C"}
    assert flags.stops == {"B": [Flag("exchange", "binance", "label B", "pack")]}
