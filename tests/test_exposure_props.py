"""Property tests of UTXO exposure on random small DAGs: the engine equals the reference of
``test_exposure`` in bulk, per entity and forward; the two directions agree; evidence paths
add up to the tainted value."""

from __future__ import annotations

from math import isclose

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sanctrace.chain.exposure import ExposureEngine
from sanctrace.chain.flags import Flag, FlagSet
from sanctrace.chain.graph import UtxoGraph
from test_exposure import Tx, assert_same, classes, reference, results, tables, txid

OUTSIDE = ("ee" * 32, 0)  # an input spending an output outside the graph
SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def dags(draw: st.DrawFn, unique_addresses: bool = False) -> list[Tx]:
    """Up to 10 transactions spending earlier unspent outputs (0–3 each, sometimes one from
    outside the graph), paying 1–3 outputs of 0–100 satoshi to a few reused addresses."""
    n_addresses = draw(st.integers(1, 5))
    unspent: list[tuple[str, int]] = []
    txs: list[Tx] = []
    for t in range(draw(st.integers(1, 10))):
        ins = []
        for _ in range(draw(st.integers(0, min(3, len(unspent))))):
            ins.append(unspent.pop(draw(st.integers(0, len(unspent) - 1))))
        if draw(st.integers(0, 9)) == 0:
            ins.append(OUTSIDE)
        outs: list[tuple[str | None, int]] = []
        for n in range(draw(st.integers(1, 3))):
            if unique_addresses:
                address: str | None = f"o{t}.{n}"
            else:
                pick = draw(st.integers(-1, n_addresses - 1))
                address = f"a{pick}" if pick >= 0 else None
            outs.append((address, draw(st.integers(0, 100))))
            unspent.append((txid(f"x{t}"), n))
        txs.append((txid(f"x{t}"), ins, outs))
    return txs


def addresses_of(txs: list[Tx]) -> list[str]:
    return sorted({a for _, _, outs in txs for a, _ in outs if a is not None})


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    txs = draw(dags())
    names = addresses_of(txs)
    flagged = draw(st.sets(st.sampled_from(names))) if names else set()
    stops = draw(st.sets(st.sampled_from(names))) if names else set()
    entity = {a: draw(st.sets(st.sampled_from(["e0", "e1"]), min_size=1)) for a in flagged}
    model = draw(st.sampled_from(["haircut", "poison", "fifo"]))
    return txs, entity, stops, model, draw(st.integers(0, 4)), draw(st.booleans())


def flag_set(entity: dict[str, set[str]], stops: set[str]) -> FlagSet:
    flagged = {
        a: [Flag("sanctioned", e, e.upper()) for e in sorted(es)] for a, es in entity.items()
    }
    return FlagSet(flagged, {a: [Flag("exchange", None, "X")] for a in stops})


@SETTINGS
@given(cases(), st.integers(0, 3))
def test_bulk_and_per_entity_equal_the_reference(case, shuffle):
    txs, entity, stops, model, hops, through = case
    graph = UtxoGraph.from_tables(*tables(txs, shuffle or None))
    engine = ExposureEngine(
        graph, flag_set(entity, stops), model=model, hops=hops, propagate_stops=through
    )
    sources, terminal = classes(txs, set(entity), set() if through else stops)
    expected = reference(txs, sources, terminal, model, hops)
    assert_same(results(engine), expected)
    ops = {(t, n): a for t, _, outs in txs for n, (a, _) in enumerate(outs)}
    for p, (_, tainted, h) in expected.items():
        e = engine.output(*p)
        assert isclose(e.tainted_value, tainted, rel_tol=1e-9, abs_tol=1e-9)
        assert e.min_hops == (h if h >= 0 else None)
        for row in e.by_entity:
            own = {q for q, a in ops.items() if row["entity"] in entity.get(a, ())}
            alone = reference(
                txs,
                own,
                set() if through else {q for q, a in ops.items() if a in stops and q not in own},
                model,
                hops,
            )
            assert isclose(row["tainted_value"], alone[p][1], rel_tol=1e-9, abs_tol=1e-9)
        if model != "poison" and h >= 0:
            e = engine.output(*p, paths=1000)
            total = sum(path.value for path in e.paths)
            assert isclose(total, tainted, rel_tol=1e-9, abs_tol=1e-9)
            assert all(path.steps[-1].txid == p[0] and path.hops < 12 for path in e.paths)


@SETTINGS
@given(cases(), st.data())
def test_out_view_equals_the_reference(case, data):
    txs, entity, stops, model, hops, through = case
    graph = UtxoGraph.from_tables(*tables(txs))
    engine = ExposureEngine(
        graph, flag_set(entity, stops), model=model, hops=hops, propagate_stops=through
    )
    ops = {(t, n): a for t, _, outs in txs for n, (a, _) in enumerate(outs)}
    flagged_ops = {q for q, a in ops.items() if a in entity}
    stop_ops = set() if through else {q for q, a in ops.items() if a in stops}
    subject = data.draw(st.sampled_from(sorted(ops)))
    address = ops[subject]
    seeds = {q for q, a in ops.items() if a == address} if address else {subject}
    for seeds_, got in [
        ({subject}, engine.output(*subject, direction="out")),
        (seeds, engine.address(address, "out") if address else None),
    ]:
        if got is None:
            continue
        ahead = reference(txs, seeds_, flagged_ops | (stop_ops - seeds_), model, hops)
        landed = sum(ahead[q][1] for q in flagged_ops)
        assert isclose(got.tainted_value, landed, rel_tol=1e-9, abs_tol=1e-9)
        if model == "poison":
            assert got.fraction == (1.0 if landed > 0 else 0.0)
        reached = {(s["txid"], s["output_index"]) for s in got.stopped}
        stop_class = {q for q, a in ops.items() if a in stops and a not in entity}
        assert reached == {q for q in stop_class if ahead[q][1] > 0}


@SETTINGS
@given(
    dags(unique_addresses=True),
    st.sampled_from(["haircut", "poison", "fifo"]),
    st.integers(1, 4),
    st.data(),
)
def test_both_views_agree(txs, model, hops, data):
    graph = UtxoGraph.from_tables(*tables(txs))
    ops = sorted({(t, n): a for t, _, outs in txs for n, (a, _) in enumerate(outs)}.items())
    assume(len(ops) >= 2)
    (s, a_s), (d, a_d) = data.draw(
        st.lists(st.sampled_from(ops), min_size=2, max_size=2, unique=True)
    )
    back = ExposureEngine(
        graph, FlagSet({a_s: [Flag("sanctioned", "S", "S")]}), model=model, hops=hops
    ).output(*d)
    ahead = ExposureEngine(
        graph, FlagSet({a_d: [Flag("sanctioned", "D", "D")]}), model=model, hops=hops
    ).output(*s, direction="out")
    assert ahead.tainted_value == pytest.approx(back.tainted_value, rel=1e-12, abs=1e-12)
    assert ahead.min_hops == back.min_hops
