"""The Spark bulk exposure job in local mode: identical to the local engine's ``table()`` on the
2009 chain and on a generated graph, a hand-checked case through the spark-submit script, and
bad input. One Spark session for the module (start-up takes seconds)."""

from __future__ import annotations

import csv
import hashlib
import math
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("PySpark needs Java 17: no java on PATH, JAVA_HOME unset", allow_module_level=True)

from chain2009 import chain_2009_tables  # noqa: E402
from sanctrace.chain.exposure import ExposureEngine  # noqa: E402
from sanctrace.chain.flags import Flag, FlagSet  # noqa: E402
from sanctrace.chain.graph import UtxoGraph  # noqa: E402
from sanctrace.chain.records import Block, Tx, TxIn, TxOut  # noqa: E402
from sanctrace.chainstore.store import SCHEMAS, ChainStore  # noqa: E402
from sanctrace.spark.exposure import (  # noqa: E402
    RESULT_COLUMNS,
    ExposureJob,
    SparkExposureError,
    bulk_exposure,
)
from sanctrace.spark.session import spark_session  # noqa: E402
from sanctrace.spark.submit_exposure import main as submit_main  # noqa: E402

CHAIN_2009 = "chain/btc/chain_2009_csv/sampledata_2009"
RESULT_TYPES = ["string", "int", "string", "bigint", "double", "double", "tinyint"]


@pytest.fixture(scope="module")
def spark():
    conf = {
        "spark.sql.shuffle.partitions": "2",
        # a short-lived JVM: the C1 compiler alone warms up much faster
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    }
    session = spark_session("sanctrace-tests", master="local[2]", conf=conf)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# ------------------------------------------------------------------------------ helpers


def write_tables(root: Path, tables: dict[str, pa.Table], chain: str = "btc") -> None:
    """Parquet parts in the chain store layout (no manifest), missing columns as nulls."""
    for name, table in tables.items():
        schema = SCHEMAS[name]
        columns = [
            table.column(f.name).cast(f.type)
            if f.name in table.column_names
            else pa.nulls(len(table), f.type)
            for f in schema
        ]
        folder = root / "chain" / chain / name
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_arrays(columns, schema=schema), folder / "part-0.parquet")


def flag_set(flagged: set[str], stops: set[str]) -> FlagSet:
    return FlagSet(
        {a: [Flag("sanctioned", None, "flagged")] for a in flagged},
        {a: [Flag("exchange", None, "exchange")] for a in stops},
    )


def rows_by_key(rows: list[dict]) -> dict[tuple[str, int], dict]:
    found: dict[tuple[str, int], dict] = {}
    for row in rows:
        key = (row["txid"], row["output_index"])
        assert key not in found, f"duplicate row {key}"
        found[key] = row
    return found


def assert_same_table(spark_rows: list[dict], local: pa.Table) -> None:
    """Same (txid, output_index) keys; hops, value and address equal; fraction and tainted
    value within 1e-9 relative."""
    mine, theirs = rows_by_key(spark_rows), rows_by_key(local.to_pylist())
    assert mine.keys() == theirs.keys(), (
        f"only Spark: {sorted(mine.keys() - theirs.keys())[:5]}, "
        f"only local: {sorted(theirs.keys() - mine.keys())[:5]}"
    )
    for key, row in theirs.items():
        got = mine[key]
        assert (got["hops"], got["value"], got["address"]) == (
            row["hops"],
            row["value"],
            row["address"],
        ), key
        for column in ("fraction", "tainted_value"):
            assert math.isclose(got[column], row[column], rel_tol=1e-9, abs_tol=1e-9), (
                key,
                column,
            )


def collect(df) -> list[dict]:
    assert list(df.columns) == list(RESULT_COLUMNS)
    assert [f.dataType.simpleString() for f in df.schema.fields] == RESULT_TYPES
    return [row.asDict() for row in df.collect()]


# -------------------------------------------------------------------- the 2009 chain


@pytest.fixture(scope="module")
def chain2009(shared_data, tmp_path_factory, spark):
    tables = chain_2009_tables(shared_data / CHAIN_2009)
    root = tmp_path_factory.mktemp("store2009")
    write_tables(root, dict(zip(("transactions", "inputs", "outputs"), tables, strict=True)))
    graph = UtxoGraph.from_tables(*tables)
    # 20 busy addresses whose coins move, every other one by rank, and 6 stops after them
    moved = graph.out_address[(graph.spent_by >= 0) & (graph.out_address >= 0)]
    ids, counts = np.unique(moved, return_counts=True)
    names = [str(graph.address(int(a))) for a in ids]
    ranked = sorted(zip(names, counts.tolist(), strict=True), key=lambda r: (-r[1], r[0]))
    flagged = {name for name, _ in ranked[1:40:2]}
    stops = {name for name, _ in ranked[40:46]}
    job = ExposureJob(spark, root)
    return {"graph": graph, "flagged": flagged, "stops": stops, "job": job}


@pytest.mark.parametrize(
    "model, hops", [("haircut", 5), ("poison", 5), ("fifo", 5), ("haircut", 2)]
)
def test_2009_chain_equals_the_local_engine(chain2009, model, hops):
    flagged, stops = chain2009["flagged"], chain2009["stops"]
    local = ExposureEngine(chain2009["graph"], flag_set(flagged, stops), model=model, hops=hops)
    expected = local.table()
    job = chain2009["job"]
    rows = collect(job.run(flagged, model=model, hops=hops, stops=stops))
    assert_same_table(rows, expected)
    assert sum(1 for r in rows if r["hops"] > 0) > 40  # taint moved, not only sources
    assert job.rounds >= 2


# ---------------------------------------------------------------- a generated graph


def generate(n_tx: int, seed: int, n_addresses: int = 1500) -> list[Block]:
    """A chain with coinbases, 1–3 input spends of mostly recent outputs, consolidations,
    batch payouts, fees (none, some, everything), self-change, outputs without an address
    or value, and a few inputs spending outputs outside the store (value known or not)."""
    rng = random.Random(seed)
    addresses = [f"addr{i:04d}" for i in range(n_addresses)]
    unspent: list[tuple[str, int, int, str | None]] = []
    blocks: list[Block] = []
    txs: list[Tx] = []
    count = 0

    def txid() -> str:
        return hashlib.sha256(f"{seed}:{count}".encode()).hexdigest()

    while count < n_tx:
        if not txs or len(unspent) < 4 or rng.random() < 0.08:
            if txs:
                blocks.append(Block("btc", len(blocks), f"h{len(blocks)}", "", "", 0, txs))
                txs = []
            tid, count = txid(), count + 1
            address = rng.choice(addresses)
            coinbase = TxIn("00" * 32, 0xFFFFFFFF, 0, coinbase=True)
            txs.append(Tx(tid, [coinbase], [TxOut(50_0000_0000, "p2pkh", address)]))
            unspent.append((tid, 0, 50_0000_0000, address))
            continue
        k = rng.randint(5, 12) if rng.random() < 0.06 else rng.choice([1, 1, 2, 2, 3])
        picks = []
        for _ in range(min(k, len(unspent))):
            back = min(int(rng.expovariate(1 / 10)), len(unspent) - 1)
            picks.append(unspent.pop(len(unspent) - 1 - back))
        inputs = [TxIn(p[0], p[1], 0xFFFFFFFF, value=p[2], address=p[3]) for p in picks]
        total = sum(p[2] for p in picks)
        if rng.random() < 0.03:  # spends an output the store does not have
            value = rng.choice([None, 7_000_000])
            inputs.insert(rng.randint(0, len(inputs)), TxIn("ee" * 32, count, 0, value=value))
            total += value or 0
        fee = rng.choice([0, rng.randint(1, 50_000), rng.randint(1, 50_000)])
        fee = total if rng.random() < 0.01 else min(fee, total)
        m = rng.randint(4, 15) if rng.random() < 0.06 else rng.choice([1, 2, 2, 2, 3])
        cuts = sorted(rng.randint(0, total - fee) for _ in range(m - 1))
        values = [b - a for a, b in zip([0, *cuts], [*cuts, total - fee], strict=True)]
        outputs = []
        for value in values:
            roll = rng.random()
            if roll < 0.15:
                address = rng.choice(picks)[3]  # change back to a spender
            elif roll < 0.18:
                address = None
            else:
                address = rng.choice(addresses)
            outputs.append(TxOut(value, "p2pkh" if address else "nonstandard", address))
        tid, count = txid(), count + 1
        txs.append(Tx(tid, inputs, outputs))
        for n, out in enumerate(outputs):
            if rng.random() < 0.95:
                unspent.append((tid, n, out.value, out.address))
    blocks.append(Block("btc", len(blocks), f"h{len(blocks)}", "", "", 0, txs))
    return blocks


@pytest.fixture(scope="module")
def generated(tmp_path_factory, spark):
    blocks = generate(2000, seed=8)
    root = tmp_path_factory.mktemp("generated")
    store = ChainStore(root / "chain")
    store.write("btc", blocks, [], "ab" * 32)  # the real writer: parts listed in a manifest
    graph = UtxoGraph.from_tables(
        store.table("btc", "transactions"),
        store.table("btc", "inputs"),
        store.table("btc", "outputs"),
    )
    rng = random.Random(2)
    used = sorted({o.address for b in blocks for t in b.txs for o in t.outputs if o.address})
    flagged = set(rng.sample(used, 6))
    # stops: some addresses that taint reaches in one or two hops, and one flagged address
    reached = ExposureEngine(graph, flag_set(flagged, set()), model="poison", hops=2).table()
    near = sorted({r["address"] for r in reached.to_pylist() if r["hops"] > 0 and r["address"]})
    stops = set(rng.sample(near, 6)) | {min(flagged)}
    return {"root": root, "graph": graph, "flagged": flagged, "stops": stops}


@pytest.mark.parametrize("model", ["haircut", "poison", "fifo"])
def test_generated_graph_equals_the_local_engine(spark, generated, model):
    flagged, stops = generated["flagged"], generated["stops"]
    local = ExposureEngine(generated["graph"], flag_set(flagged, stops), model=model, hops=4)
    expected = local.table()
    if "job" not in generated:
        generated["job"] = ExposureJob(spark, generated["root"])
    rows = collect(generated["job"].run(sorted(flagged), model=model, hops=4, stops=stops))
    assert_same_table(rows, expected)
    assert sum(1 for r in rows if r["hops"] == 4) > 5  # the hop limit is reached
    stopped = [r for r in rows if r["address"] in stops - flagged and r["hops"] > 0]
    assert stopped  # stops are reported


def test_generated_graph_no_hops_flagged_as_dataframe(spark, generated):
    flagged = spark.createDataFrame([(a,) for a in sorted(generated["flagged"])], "address string")
    if "job" not in generated:
        generated["job"] = ExposureJob(spark, generated["root"])
    rows = collect(generated["job"].run(flagged, model="poison", hops=0))
    assert rows and all(r["hops"] == 0 and r["address"] in generated["flagged"] for r in rows)
    local = ExposureEngine(generated["graph"], flag_set(generated["flagged"], set()), hops=0)
    assert_same_table(rows, local.table())


# -------------------------------------------------------- hand-checked, spark-submit script


def tiny_chain() -> list[Block]:
    """F pays 100k and C 300k into tx C, which pays 150k to D and 240k to the stop E (fee
    10k); D moves on to G, E to H."""

    def coinbase(name: str, address: str, value: int) -> Tx:
        return Tx(
            name * 32,
            [TxIn("00" * 32, 0xFFFFFFFF, 0, coinbase=True)],
            [TxOut(value, "p2pkh", address)],
        )

    spend = Tx(
        "cc" * 32,
        [TxIn("aa" * 32, 0, 0), TxIn("bb" * 32, 0, 0)],
        [TxOut(150_000, "p2pkh", "D"), TxOut(240_000, "p2pkh", "E")],
    )
    onward = Tx("dd" * 32, [TxIn("cc" * 32, 0, 0)], [TxOut(149_000, "p2pkh", "G")])
    stopped = Tx("ee" * 32, [TxIn("cc" * 32, 1, 0)], [TxOut(239_000, "p2pkh", "H")])
    txs = [coinbase("aa", "F", 100_000), coinbase("bb", "C", 300_000), spend, onward, stopped]
    return [Block("btc", 0, "h0", "", "", 0, txs)]


EXPECTED = {  # (txid, index): (tainted value, hops)
    "haircut": {("aa", 0): (100_000, 0), ("cc", 0): (37_500, 1), ("cc", 1): (60_000, 1),
                ("dd", 0): (37_250, 2)},
    "poison": {("aa", 0): (100_000, 0), ("cc", 0): (150_000, 1), ("cc", 1): (240_000, 1),
               ("dd", 0): (149_000, 2)},
    "fifo": {("aa", 0): (100_000, 0), ("cc", 0): (100_000, 1), ("dd", 0): (149_000 * 2 / 3, 2)},
}  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, spark):
    root = tmp_path_factory.mktemp("tiny")
    ChainStore(root / "data" / "chain").write("btc", tiny_chain(), [], "cd" * 32)
    # the store's root (data/chain) works as well as the data folder
    return {"root": root, "job": ExposureJob(spark, root / "data" / "chain")}


def check_tiny(rows: list[dict], model: str, hops: int) -> None:
    found = {(r["txid"][:2], int(r["output_index"])): r for r in rows}
    expected = {k: v for k, v in EXPECTED[model].items() if v[1] <= hops}
    assert found.keys() == expected.keys()
    for key, (tainted, hop) in expected.items():
        assert float(found[key]["tainted_value"]) == pytest.approx(tainted, rel=1e-12)
        assert int(found[key]["hops"]) == hop


@pytest.mark.parametrize("model, hops", [("poison", 5), ("fifo", 5), ("fifo", 1)])
def test_hand_checked(spark, tiny, model, hops):
    stops = spark.createDataFrame([("E",), (None,)], "address string")
    check_tiny(collect(tiny["job"].run(["F"], model=model, hops=hops, stops=stops)), model, hops)


def test_nothing_flagged_and_too_few_rounds(tiny):
    assert tiny["job"].run(["1BoatSLRHtKNngkdXEeobR76b53LETtpyT"]).count() == 0
    assert tiny["job"].rounds == 1  # one round, with no messages
    with pytest.raises(SparkExposureError, match="did not converge in 1 rounds"):
        tiny["job"].run(["F"], max_rounds=1)


def test_submit_script(tiny, tmp_path, capsys):
    (tmp_path / "flagged.txt").write_text("# sanctioned\nF\n")
    (tmp_path / "stops.txt").write_text("E\n")
    out = tmp_path / "out"
    status = submit_main(
        [
            "--store",
            str(tiny["root"] / "data"),
            "--flagged",
            str(tmp_path / "flagged.txt"),
            "--stops",
            str(tmp_path / "stops.txt"),
            "--model",
            "haircut",
            "--hops",
            "5",
            "--out",
            str(out),
            "--single",
        ]
    )
    assert status == 0
    assert "4 tainted outputs written" in capsys.readouterr().out
    (part,) = sorted(out.glob("part-*.csv"))
    with part.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(RESULT_COLUMNS)
    check_tiny(rows, "haircut", 5)
    assert [r["txid"] for r in rows] == sorted(r["txid"] for r in rows)


# ------------------------------------------------------------------------- bad input


def test_bad_input(spark, tmp_path, capsys):
    with pytest.raises(SparkExposureError, match="model"):
        bulk_exposure(spark, tmp_path, ["F"], model="taint")
    with pytest.raises(SparkExposureError, match="hops"):
        bulk_exposure(spark, tmp_path, ["F"], hops=11)
    with pytest.raises(SparkExposureError, match="no inputs parts for chain 'btc'"):
        bulk_exposure(spark, tmp_path, ["F"])
    (tmp_path / "flagged.txt").write_text("1BoatSLRHtKNngkdXEeobR76b53LETtpyT\nnot an address!\n")
    status = submit_main(
        [
            "--store",
            str(tmp_path),
            "--flagged",
            str(tmp_path / "flagged.txt"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert status == 1
    assert f"{tmp_path / 'flagged.txt'}:2" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        submit_main(["--store", str(tmp_path)])
    assert exc.value.code == 2
