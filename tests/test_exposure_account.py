"""Account-chain exposure (poison and haircut per token, in time order) against a brute-force
reference, hand-checked cases, and real ERC-20 transfers."""

from __future__ import annotations

import json
import random
from math import isclose

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sanctrace.chain.exposure import ExposureError
from sanctrace.chain.exposure_account import AccountExposure
from sanctrace.chain.flags import Flag, FlagSet
from sanctrace.chain.graph import AccountGraph

# A transfer: (token, sender, receiver, amount, time, block, log index)
Transfer = tuple[str, str, str, int, int, int, int]


def table_of(transfers: list[Transfer], seed: int | None = None) -> pa.Table:
    rows = [
        {
            "token": t,
            "sender": s,
            "receiver": r,
            "amount": str(a),
            "time": tm,
            "block_number": b,
            "log_index": li,
            "tx_hash": f"h{i}",
        }
        for i, (t, s, r, a, tm, b, li) in enumerate(transfers)
    ]
    if seed is not None:
        random.Random(seed).shuffle(rows)
    return pa.Table.from_pylist(rows)


def brute_force(
    transfers: list[Transfer], sources: set[str], terminal: set[str], model: str
) -> dict[tuple[str, str], tuple[float, float, int | None]]:
    """(received, tainted received, time of first tainted receipt) per (address, token): each
    transfer's taint recomputed from the whole earlier history of its sender."""
    ordered = sorted(transfers, key=lambda x: (x[4], x[5], x[6]))
    carried: list[float] = []
    for j, (token, s, _, a, _, _, _) in enumerate(ordered):
        before = [
            (ordered[i], carried[i])
            for i in range(j)
            if ordered[i][0] == token and ordered[i][2] == s
        ]
        if s in sources:
            f = 1.0
        elif s in terminal:
            f = 0.0
        elif model == "poison":
            f = 1.0 if any(c > 0 for _, c in before) else 0.0
        else:
            got = sum(x[3] for x, _ in before)
            f = sum(c for _, c in before) / got if got else 0.0
        carried.append(a * f)
    found: dict[tuple[str, str], tuple[float, float, int | None]] = {}
    for (token, _, r, a, tm, _, _), c in zip(ordered, carried, strict=True):
        got, tainted, first = found.get((r, token), (0.0, 0.0, None))
        if c > 0 and first is None:
            first = tm
        found[(r, token)] = (got + a, tainted + c, first)
    return found


def flags(addresses: dict[str, str]) -> FlagSet:
    return FlagSet({a: [Flag("sanctioned", e, e.upper())] for a, e in addresses.items()})


# ------------------------------------------------------------------------------ by hand

HAND: list[Transfer] = [
    ("", "X", "A", 100, 1, 1, 0),  # X is flagged
    ("", "C", "A", 100, 2, 2, 0),
    ("", "A", "B", 50, 3, 3, 0),  # A is half tainted: carries 25
    ("", "X", "A", 200, 4, 4, 0),  # A now 300 / 400
    ("", "A", "B", 40, 5, 5, 0),  # carries 30
    ("", "B", "D", 0, 6, 6, 0),  # a zero amount taints nothing
    ("usdt", "X", "B", 7, 6, 6, 1),
]


def test_hand_checked_haircut_and_poison():
    graph = AccountGraph.from_table(table_of(HAND, seed=3))
    haircut = AccountExposure(graph, flags({"X": "x"}))
    rows = {(r["address"], r["token"]): r for r in haircut.table().to_pylist()}
    assert rows[("B", "")]["tainted_received"] == pytest.approx(55)
    assert rows[("B", "")]["fraction"] == pytest.approx(55 / 90)
    assert rows[("A", "")]["first_tainted_time"] == 1 and ("D", "") not in rows
    assert rows[("X", "")] == {
        "address": "X",
        "token": "",
        "received": 0.0,
        "tainted_received": 0.0,
        "fraction": 1.0,
        "first_tainted_time": None,
    }
    b = haircut.address("B", token="")
    assert (b.value, b.tainted_value, b.min_hops, b.hops_limit) == (90, pytest.approx(55), 2, -1)
    assert sum(p.value for p in b.paths) == pytest.approx(55)
    assert [s.address for s in b.paths[0].steps] == ["X", "A", "B"]
    assert b.paths[0].steps[0].tags == ["X"] and b.paths[0].hops == 2
    poison = AccountExposure(graph, flags({"X": "x"}), model="poison")
    b = poison.address("B", token="")
    assert (b.tainted_value, b.fraction) == (90.0, 1.0)
    assert poison.address("D", token="").tainted_value == 0
    only = AccountExposure(graph, flags({"X": "x"}), token="usdt")
    assert only.address("B").tainted_value == 7 and only.tokens_of("B") == ["usdt"]


def test_errors():
    graph = AccountGraph.from_table(table_of(HAND))
    engine = AccountExposure(graph, flags({"X": "x"}))
    with pytest.raises(ExposureError, match="2 tokens"):
        engine.address("B")
    with pytest.raises(ExposureError, match="unknown address"):
        engine.address("Q")
    with pytest.raises(ExposureError, match="model"):
        AccountExposure(graph, FlagSet(), model="fifo")  # type: ignore[arg-type]
    with pytest.raises(ExposureError, match="token"):
        AccountExposure(graph, FlagSet(), token="dai")
    with pytest.raises(ExposureError, match="direction"):
        engine.address("A", "up")  # type: ignore[arg-type]


def test_ties_in_time_follow_block_then_log_index():
    # the same second: A first receives from X (log 0), then pays B (log 1); in the other
    # order A pays B before it is tainted
    tied = [("", "X", "A", 10, 5, 1, 0), ("", "A", "B", 10, 5, 1, 1)]
    swapped = [("", "X", "A", 10, 5, 1, 1), ("", "A", "B", 10, 5, 1, 0)]
    for transfers, expected in ((tied, 10.0), (swapped, 0.0)):
        graph = AccountGraph.from_table(table_of(transfers, seed=1))
        assert AccountExposure(graph, flags({"X": "x"})).address("B").tainted_value == expected


def test_stops_and_out_view():
    transfers = [("", "X", "EX", 100, 1, 1, 0), ("", "EX", "F", 50, 2, 2, 0),
                 ("", "C", "F", 50, 3, 3, 0), ("", "F", "Y", 20, 4, 4, 0)]  # fmt: skip
    graph = AccountGraph.from_table(table_of(transfers))
    fs = FlagSet(
        {"X": [Flag("sanctioned", "x", "X")], "Y": [Flag("sanctioned", "y", "Y")]},
        {"EX": [Flag("exchange", None, "Exchange")]},
    )
    engine = AccountExposure(graph, fs)
    f = engine.address("F")
    assert f.tainted_value == 0 and f.stopped[0]["address"] == "EX"
    assert f.stopped[0]["tainted_value"] == 100.0
    through = AccountExposure(graph, fs, propagate_stops=True).address("F")
    assert through.tainted_value == 50
    out = AccountExposure(graph, fs).address("C", "out")
    assert (out.value, out.tainted_value, out.fraction, out.min_hops) == (50, 10.0, 0.2, 2)
    assert out.by_entity[0]["entity"] == "y" and [s.address for s in out.paths[0].steps] == [
        "C",
        "F",
        "Y",
    ]
    poisoned = AccountExposure(graph, fs, model="poison").address("C", "out")
    assert (poisoned.tainted_value, poisoned.fraction) == (20.0, 1.0)


# ----------------------------------------------------------------------- properties


@st.composite
def ledgers(draw: st.DrawFn) -> list[Transfer]:
    names = [f"a{i}" for i in range(draw(st.integers(2, 6)))]
    found = []
    for _ in range(draw(st.integers(1, 25))):
        found.append(
            (
                draw(st.sampled_from(["", "t"])),
                draw(st.sampled_from(names)),
                draw(st.sampled_from(names)),
                draw(st.integers(0, 1000)),
                draw(st.integers(0, 5)),
                draw(st.integers(0, 3)),
                len(found),
            )
        )
    return found


@settings(max_examples=80, deadline=None)
@given(ledgers(), st.sampled_from(["haircut", "poison"]), st.data())
def test_engine_equals_brute_force(transfers, model, data):
    names = sorted({x[1] for x in transfers} | {x[2] for x in transfers})
    flagged = data.draw(st.dictionaries(st.sampled_from(names), st.sampled_from(["e0", "e1"])))
    graph = AccountGraph.from_table(table_of(transfers, seed=data.draw(st.integers(0, 9))))
    engine = AccountExposure(graph, flags(flagged), model=model)
    expected = brute_force(transfers, set(flagged), set(), model)
    rows = {(r["address"], r["token"]): r for r in engine.table().to_pylist()}
    for key, (got, tainted, first) in expected.items():
        if key[0] in flagged:
            assert rows[key]["fraction"] == 1.0 and rows[key]["first_tainted_time"] is None
            continue
        if tainted <= 0:
            assert key not in rows
            continue
        row = rows.pop(key)
        assert isclose(row["tainted_received"], tainted, rel_tol=1e-9)
        assert row["received"] == got and row["first_tainted_time"] == first
    assert all(a in flagged for a, _ in rows)
    for name in names:
        for token in engine.tokens_of(name):
            e = engine.address(name, token=token, paths=1000)
            got, tainted, _ = expected.get((name, token), (0.0, 0.0, None))
            if name not in flagged:
                assert isclose(e.tainted_value, tainted, rel_tol=1e-9, abs_tol=1e-9)
                if model == "haircut" and e.paths and len(e.paths) < 1000:
                    assert isclose(sum(p.value for p in e.paths), tainted, rel_tol=1e-9)
            for row in e.by_entity:
                own = {a for a, ent in flagged.items() if ent == row["entity"]}
                alone = brute_force(transfers, own, set(), model)
                value = alone.get((name, token), (0, 0.0, None))[1]
                if name in own:
                    value = e.tainted_value
                assert isclose(row["tainted_value"], value, rel_tol=1e-9, abs_tol=1e-9)
            ahead = engine.address(name, "out", token=token)
            others = set(flagged) - {name}
            forward = brute_force(transfers, {name}, others, model)
            landed = sum(forward.get((a, token), (0, 0.0, None))[1] for a in others)
            if name in flagged:
                landed += ahead.value
            assert isclose(ahead.tainted_value, landed, rel_tol=1e-9, abs_tol=1e-9)


def test_real_erc20_transfers(shared_data):
    path = shared_data / "chain/eth/blocks_17173049_17173050/expected_token_transfers.json"
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    transfers = [
        (
            r["token_address"],
            r["from_address"],
            r["to_address"],
            int(r["value"]),
            r["block_number"],
            r["block_number"],
            r["log_index"],
        )
        for r in rows
    ]
    graph = AccountGraph.from_table(table_of(transfers), chain="eth")
    senders = sorted({x[1] for x in transfers})
    flagged = {a: f"e{i % 2}" for i, a in enumerate(senders[::9])}
    for model in ("haircut", "poison"):
        engine = AccountExposure(graph, flags(flagged), model=model)
        expected = brute_force(transfers, set(flagged), set(), model)
        table = {(r["address"], r["token"]): r for r in engine.table().to_pylist()}
        tainted = {k: v for k, v in expected.items() if v[1] > 0 and k[0] not in flagged}
        assert tainted and all(
            isclose(table[k]["tainted_received"], v[1], rel_tol=1e-9) for k, v in tainted.items()
        )
