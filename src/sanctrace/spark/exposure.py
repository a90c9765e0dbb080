"""Bulk source-of-funds exposure of every output of a UTXO chain, as a PySpark job.

The same answers as ``sanctrace.chain.exposure.ExposureEngine(...).table()`` (semantics in
docs/exposure.md), computed over the Parquet chain store (docs/chain-store.md) for chains that
do not fit one machine. How to run it, and how it works, are in docs/spark.md.

The local engine sweeps the transactions once in topological order. Here the sweep becomes
rounds of message passing (Pregel style): a transaction that learns a new state of an output it
spends recomputes all of its outputs from all of its inputs' current states, and each output
whose state changed tells the transaction spending it. A transaction's result depends only on
its ancestors, so once its inputs stop changing its outputs hold the sweep's values; the
rounds stop when no state changes, after as many rounds as the longest chain of transactions
whose taint changes. A transaction is recomputed from scratch, never merged into its old
state, because fractions and hop counts seen in early rounds can still move either way.

Transactions are joined on a 96-bit key (xxhash64 and murmur3 of the txid): no dictionary of
txids is built, and a collision is improbable (about 1e-11 for 1e9 transactions).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from sanctrace.chain.addresses import normalise
from sanctrace.chain.exposure_options import DEFAULT_HOPS, check_options
from sanctrace.spark.store import SparkExposureError, read_store

__all__ = [
    "ExposureJob",
    "SparkExposureError",
    "bulk_exposure",
    "read_store",
    "validate",
    "write_exposure",
]

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

DEFAULT_MAX_ROUNDS = 10_000
RESULT_COLUMNS = ("txid", "output_index", "address", "value", "tainted_value", "fraction", "hops")

TX = ["t1", "t2"]  # a transaction's key
OUT = ["t1", "t2", "n"]  # an output's key: its transaction's key and position
PREV = ["p1", "p2", "pn"]  # the output an input spends, as an output key


# ---------------------------------------------------------------------------------- graph


def _tx_key(txid: str, names: tuple[str, str] = ("t1", "t2")) -> list[Column]:
    from pyspark.sql import functions as F

    return [F.xxhash64(txid).alias(names[0]), F.hash(txid).alias(names[1])]


def _outputs(frames: dict[str, DataFrame]) -> DataFrame:
    """``t1 t2 n txid address value`` per output; a txid stored twice (BIP 30) counts once."""
    from pyspark.sql import functions as F

    return (
        frames["outputs"]
        .select(
            *_tx_key("txid"),
            F.col("index").cast("long").alias("n"),
            F.col("txid"),
            F.col("address").cast("string").alias("address"),
            F.coalesce(F.col("value").cast("long"), F.lit(0)).alias("value"),
        )
        .dropDuplicates(OUT)
    )


def _inputs(frames: dict[str, DataFrame]) -> DataFrame:
    """``s1 s2`` (the spending transaction) ``sk`` (the input's position there, 0-based, in
    input order) ``p1 p2 pn`` (the output it spends) ``own`` (its own ``value`` column).
    Coinbase inputs are left out, as the local graph does."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    raw = frames["inputs"]
    own = F.col("value").cast("long") if "value" in raw.columns else F.lit(None).cast("long")
    if "coinbase" in raw.columns:
        raw = raw.where(~F.coalesce(F.col("coinbase"), F.lit(False)))
    rows = raw.select(
        *_tx_key("txid", ("s1", "s2")),
        F.col("index").cast("long").alias("i"),
        *_tx_key("prev_txid", ("p1", "p2")),
        F.col("prev_index").cast("long").alias("pn"),
        own.alias("own"),
    )
    position = F.row_number().over(Window.partitionBy("s1", "s2").orderBy("i")) - 1
    return rows.withColumn("sk", position.cast("int")).drop("i")


def _spends(frames: dict[str, DataFrame]) -> DataFrame:
    """Outputs and inputs matched on the outpoint (a full outer join): per row an output
    ``t1 t2 n txid address value`` (null when the input spends an output the store does not
    have) and the input spending it ``s1 s2 sk p1 p2 pn own`` (null when unspent)."""
    outputs, inputs = _outputs(frames), _inputs(frames)
    on = [outputs[a] == inputs[b] for a, b in zip(OUT, PREV, strict=True)]
    return outputs.join(inputs, on, "full_outer")


def _stretched(df: DataFrame, key: list[str], order: str, value: str) -> DataFrame:
    """Adds ``pos`` (0-based rank within ``key`` by ``order``) and the FIFO stretch
    ``[lo, hi)`` each row covers when the rows of one ``key`` lie end to end."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    window = Window.partitionBy(*key).orderBy(order)
    return (
        df.withColumn("pos", F.row_number().over(window) - 1)
        .withColumn("hi", F.sum(value).over(window))
        .withColumn("lo", F.col("hi") - F.col(value))
    )


def _addresses(
    spark: SparkSession, values: Iterable[str] | DataFrame, chain: str, what: str
) -> DataFrame:
    """One ``address`` column of distinct canonical addresses."""
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import functions as F

    if isinstance(values, SparkDataFrame):
        if "address" not in values.columns:
            raise SparkExposureError(f"{what}: the DataFrame has no 'address' column")
        column = F.col("address").cast("string").alias("address")
        return values.select(column).where("address IS NOT NULL").distinct()
    if isinstance(values, str):
        raise SparkExposureError(f"{what}: give an iterable of addresses, not one string")
    rows = sorted({normalise(chain, a) for a in values if a and a.strip()})
    return spark.createDataFrame([(a,) for a in rows], "address string")


# ------------------------------------------------------------------------------------ job


class ExposureJob:
    """One chain of a store, read and laid out once, for any number of exposure runs.

    ``outputs``: one row per output (``t1 t2 n txid address value``, and ``s1 s2 sk``: the
    transaction that spends it and the input position there, null when unspent).
    ``txs``: one row per transaction with inputs, hash-partitioned by its key, with its
    inputs ``ins`` (``v lo hi``) and outputs ``outs`` (``n value lo hi s1 s2 sk``) as arrays
    in position order; ``lo hi`` are the FIFO stretches. ``rounds``: how many rounds the last
    run took.
    """

    def __init__(self, spark: SparkSession, store: str | Path, chain: str = "btc") -> None:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        # A session of its own (same SparkContext) with adaptive execution off: the rounds
        # rely on the hash partitioning of checkpointed tables, which adaptive plans do not
        # report, to join the transactions table without shuffling it every round.
        partitions = spark.conf.get("spark.sql.shuffle.partitions") or "200"
        spark = spark.newSession()
        spark.conf.set("spark.sql.adaptive.enabled", "false")
        spark.conf.set("spark.sql.shuffle.partitions", partitions)
        self.spark, self.store, self.chain = spark, store, chain
        self.reliable = spark.sparkContext.getCheckpointDir() is not None
        self.partitions = int(spark.conf.get("spark.sql.shuffle.partitions") or 200)
        self.rounds = 0
        spends = self.keep(_spends(read_store(spark, store, chain)))
        # One spender per output (an output spent twice exists only in damaged data).
        first = Window.partitionBy(*OUT).orderBy("s1", "s2", "sk")
        self.outputs = self.keep(
            spends.where(F.col("t1").isNotNull())
            .select(*OUT, "txid", "address", "value", "s1", "s2", "sk")
            .repartition(self.partitions, *TX)
            .withColumn("first", F.row_number().over(first))
            .where("first = 1")
            .drop("first")
        )
        # An input's value is the spent output's, else its own (0 when unknown or negative);
        # taint reaches it only through messages from outputs in the store.
        inputs = spends.where(F.col("s1").isNotNull()).select(
            F.col("s1").alias("t1"),
            F.col("s2").alias("t2"),
            "sk",
            F.greatest(F.coalesce("value", "own", F.lit(0)), F.lit(0)).alias("v"),
        )
        ins = (
            _stretched(inputs, TX, "sk", "v")
            .groupBy(*TX)
            .agg(F.sort_array(F.collect_list(F.struct("pos", "v", "lo", "hi"))).alias("ins"))
        )
        outs = (
            _stretched(self.outputs, TX, "n", "value")
            .groupBy(*TX)
            .agg(
                F.sort_array(
                    F.collect_list(F.struct("pos", "n", "value", "lo", "hi", "s1", "s2", "sk"))
                ).alias("outs")
            )
        )
        empty = F.array().cast(outs.schema["outs"].dataType)
        self.txs = self.keep(
            ins.join(outs, TX, "left").select(*TX, "ins", F.coalesce("outs", empty).alias("outs"))
        )

    def keep(self, df: DataFrame) -> DataFrame:
        """Materialise ``df`` and cut its lineage: a reliable checkpoint when the session has
        a checkpoint folder (``sparkContext.setCheckpointDir``), else a local one."""
        return df.checkpoint(eager=True) if self.reliable else df.localCheckpoint(eager=True)

    def run(
        self,
        flagged: Iterable[str] | DataFrame,
        *,
        model: str = "haircut",
        hops: int = DEFAULT_HOPS,
        stops: Iterable[str] | DataFrame = (),
        max_rounds: int = DEFAULT_MAX_ROUNDS,
    ) -> DataFrame:
        """One row per tainted output: see ``bulk_exposure``."""
        from pyspark.sql import functions as F

        validate(model, hops)
        flags = _addresses(self.spark, flagged, self.chain, "flagged")
        stop = _addresses(self.spark, stops, self.chain, "stops")
        marks = flags.select("address", F.lit(True).alias("src"), F.lit(False).alias("stop"))
        marks = marks.unionByName(
            stop.select("address", F.lit(False).alias("src"), F.lit(True).alias("stop"))
        )
        marks = marks.groupBy("address").agg(F.max("src").alias("src"), F.max("stop").alias("s"))
        # An output paid to a flagged address is a source, even when it is also a stop.
        marked = self.keep(
            self.outputs.join(F.broadcast(marks), "address").select(
                *OUT, "s1", "s2", "sk", "src", (F.col("s") & ~F.col("src")).alias("stop")
            )
        )
        rounds = _Rounds(self, marked, model, hops)
        state = rounds.run(max_rounds)
        self.rounds = rounds.count
        log.info("exposure (%s, %d hops): %d rounds", model, hops, rounds.count)
        return (
            self.outputs.join(state, OUT)
            .select(
                "txid",
                F.col("n").cast("int").alias("output_index"),
                "address",
                "value",
                (F.col("f") * F.col("value")).alias("tainted_value"),
                F.col("f").alias("fraction"),
                F.col("h").cast("tinyint").alias("hops"),
            )
            .select(*RESULT_COLUMNS)
        )


def validate(model: str, hops: int) -> None:
    """Raise ``SparkExposureError`` for a model or hop limit the engines do not accept."""
    check_options(model, hops, error=SparkExposureError)


# --------------------------------------------------------------------------------- rounds

ROUND_SCHEMA = (
    "t1 bigint, t2 int, fin array<double>, hin array<int>, fout array<double>,"
    " hout array<int>, emits array<struct<t1: bigint, t2: int, k: int, f: double, h: int>>"
)
# One round, as one query over the views ``round`` (the last round's table), ``messages``
# (the messages it sent) and ``txs``. Per transaction that got a message: ``fin hin``, its
# inputs' states after the messages; ``c``, which inputs carry taint (tainted, below the hop
# limit, of positive value; stops send no messages, so they never carry); then the model's
# rule: ``V T hm`` per transaction (haircut, poison), ``r`` per output (FIFO: tainted value of
# the input stretches it covers, and their smallest hop count); ``f2 h2``, its outputs' new
# states; ``emits``, a message for each output whose state changed and that is spent and
# neither a source nor a stop.
ROUND_SQL = """
WITH parts AS (
  SELECT t1, t2, named_struct('fin', fin, 'hin', hin, 'fout', fout, 'hout', hout) AS d,
         CAST(NULL AS STRUCT<k: INT, f: DOUBLE, h: INT>) AS m
  FROM sanctrace_round
  UNION ALL
  SELECT t1, t2,
         CAST(NULL AS STRUCT<fin: ARRAY<DOUBLE>, hin: ARRAY<INT>, fout: ARRAY<DOUBLE>,
                             hout: ARRAY<INT>>),
         named_struct('k', k, 'f', f, 'h', h)
  FROM sanctrace_messages
), grouped AS (
  SELECT t1, t2, first(d, true) AS d, collect_list(m) AS ms FROM parts GROUP BY t1, t2
), joined AS (
  SELECT g.t1, g.t2, x.ins, x.outs, size(g.ms) > 0 AS got,
         map_from_entries(transform(g.ms, m -> struct(m.k, struct(m.f, m.h)))) AS mm,
         g.d.fin AS fin0, g.d.hin AS hin0, g.d.fout AS fout, g.d.hout AS hout
  FROM grouped g JOIN sanctrace_txs x ON g.t1 = x.t1 AND g.t2 = x.t2
), applied AS (
  SELECT *,
         transform(ins, (x, k) -> IF(map_contains_key(mm, k), mm[k].f, fin0[k])) AS fin,
         transform(ins, (x, k) -> IF(map_contains_key(mm, k), mm[k].h, hin0[k])) AS hin
  FROM joined
), carried AS (
  SELECT *,
         transform(ins, (x, k) -> got AND fin[k] IS NOT NULL AND hin[k] < :hops AND x.v > 0)
           AS c
  FROM applied
), ruled AS (
  SELECT *,
         aggregate(ins, 0L, (a, x) -> a + x.v) AS V,
         aggregate(transform(ins, (x, k) -> IF(c[k], fin[k] * x.v, 0D)), 0D, (a, y) -> a + y)
           AS T,
         array_min(transform(ins, (x, k) -> IF(c[k], hin[k], NULL))) AS hm,
         IF(:fifo AND got, transform(outs, o -> named_struct(
           'tv', aggregate(transform(ins, (x, k) ->
                   IF(c[k] AND least(x.hi, o.hi) > greatest(x.lo, o.lo),
                      fin[k] * (least(x.hi, o.hi) - greatest(x.lo, o.lo)), 0D)),
                   0D, (a, y) -> a + y),
           'hm', array_min(transform(ins, (x, k) ->
                   IF(c[k] AND least(x.hi, o.hi) > greatest(x.lo, o.lo), hin[k], NULL))))),
           NULL) AS r
  FROM carried
), decided AS (
  SELECT *,
         transform(outs, (o, j) -> CASE
           WHEN o.src THEN 1D
           WHEN :fifo THEN IF(o.value > 0 AND r[j].tv > 0, r[j].tv / o.value, NULL)
           WHEN T > 0 THEN IF(:poison, 1D, T / V) END) AS f2,
         transform(outs, (o, j) -> CASE
           WHEN o.src THEN 0
           WHEN :fifo THEN IF(o.value > 0 AND r[j].tv > 0, r[j].hm + 1, NULL)
           WHEN T > 0 THEN hm + 1 END) AS h2
  FROM ruled
)
SELECT t1, t2, fin, hin, IF(got, f2, fout) AS fout, IF(got, h2, hout) AS hout,
       transform(
         filter(
           transform(outs, (o, j) -> named_struct('o', o, 'f', f2[j], 'h', h2[j],
                                                  'same', f2[j] <=> fout[j] AND h2[j] <=> hout[j])),
           e -> got AND NOT e.o.src AND NOT e.o.stop AND e.o.s1 IS NOT NULL AND NOT e.same),
         e -> named_struct('t1', e.o.s1, 't2', e.o.s2, 'k', e.o.sk, 'f', e.f, 'h', e.h)) AS emits
FROM decided
"""


class _Rounds:
    """Message passing over the transactions of one run.

    A message tells a transaction the new state (fraction ``f``, hops ``h``; ``f`` null: no
    longer tainted) of the output that its input at position ``k`` spends. A round groups the
    messages by transaction with the transaction's last state (the round's one shuffle; the
    transactions table is partitioned the same way, so it is not shuffled) and recomputes the
    outputs of each transaction that got a message; every output whose state changed sends a
    message on. Sources send theirs first.
    """

    def __init__(self, job: ExposureJob, marked: DataFrame, model: str, hops: int) -> None:
        from pyspark.sql import functions as F

        self.job, self.count = job, 0
        self.args = {"hops": hops, "fifo": model == "fifo", "poison": model == "poison"}
        self.sources = marked.where("src").select(*OUT, F.lit(1.0).alias("f"), F.lit(0).alias("h"))
        flags = marked.groupBy(*TX).agg(
            F.map_from_entries(F.collect_list(F.struct("n", F.struct("src", "stop")))).alias("fl")
        )
        outs = (
            "transform(outs, o -> named_struct('n', o.n, 'value', o.value, 'lo', o.lo,"
            " 'hi', o.hi, 's1', o.s1, 's2', o.s2, 'sk', o.sk,"
            " 'src', coalesce(fl[o.n].src, false), 'stop', coalesce(fl[o.n].stop, false)))"
        )
        # flags is grouped by transaction like txs is partitioned: only flags is shuffled
        self.txs = job.keep(
            job.txs.join(flags, TX, "left").select(*TX, "ins", F.expr(outs).alias("outs"))
        )
        self.first = marked.where("src AND s1 IS NOT NULL").select(
            F.col("s1").alias("t1"),
            F.col("s2").alias("t2"),
            F.col("sk").alias("k"),
            F.lit(1.0).alias("f"),
            F.lit(0).alias("h"),
        )

    def counted(self, df: DataFrame, metric: Column) -> tuple[DataFrame, int]:
        """``df`` materialised, and ``metric`` over it, observed while materialising it."""
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        seen = Observation(f"sanctrace_{id(self)}_{self.count}")
        kept = self.job.keep(df.observe(seen, F.coalesce(metric, F.lit(0)).alias("n")))
        return kept, int(seen.get["n"])

    def run(self, max_rounds: int) -> DataFrame:
        """The fixed point: ``t1 t2 n f h`` per tainted output, sources included."""
        from pyspark.sql import functions as F

        spark = self.job.spark
        self.txs.createOrReplaceTempView("sanctrace_txs")
        table = spark.createDataFrame([], ROUND_SCHEMA)
        messages = self.first  # the sources' messages go straight into the first round
        while True:
            self.count += 1
            table.createOrReplaceTempView("sanctrace_round")
            messages.createOrReplaceTempView("sanctrace_messages")
            table, pending = self.counted(
                spark.sql(ROUND_SQL, args=self.args), F.sum(F.size("emits"))
            )
            log.debug("exposure round %d: %d messages sent", self.count, pending)
            if not pending:
                break
            if self.count == max_rounds:
                raise SparkExposureError(
                    f"exposure did not converge in {max_rounds} rounds (raise max_rounds)"
                )
            messages = table.select(F.explode("emits").alias("e")).select("e.*")
        tainted = (
            table.join(self.txs, TX)
            .select(*TX, F.posexplode("outs").alias("j", "o"), "fout", "hout")
            .where("NOT o.src AND fout[j] IS NOT NULL")
            .select(*TX, "o.n", F.expr("fout[j]").alias("f"), F.expr("hout[j]").alias("h"))
        )
        return tainted.unionByName(self.sources)


# ------------------------------------------------------------------------------------ API


def bulk_exposure(
    spark: SparkSession,
    store: str | Path,
    flagged: Iterable[str] | DataFrame,
    *,
    chain: str = "btc",
    model: str = "haircut",
    hops: int = DEFAULT_HOPS,
    stops: Iterable[str] | DataFrame = (),
    max_rounds: int = DEFAULT_MAX_ROUNDS,
) -> DataFrame:
    """Source-of-funds exposure of every output of ``chain`` in the Parquet store ``store``.

    One row per tainted output (sources at hop 0), with the columns and types of the local
    engine's ``table()``: ``txid`` string, ``output_index`` int, ``address`` string (null when
    none), ``value`` long (satoshi), ``tainted_value`` double, ``fraction`` double, ``hops``
    tinyint; in no particular order (``write_exposure`` sorts). ``flagged`` and ``stops`` are
    canonical addresses (an iterable, or a DataFrame with an ``address`` column); clusters and
    categories are expanded by the caller. Raises ``SparkExposureError`` on a bad model or hop
    limit, a store without the chain, or no convergence within ``max_rounds`` rounds.
    """
    validate(model, hops)
    job = ExposureJob(spark, store, chain)
    return job.run(flagged, model=model, hops=hops, stops=stops, max_rounds=max_rounds)


def write_exposure(
    df: DataFrame, out: str | Path, *, fmt: str = "csv", sort: bool = True, single: bool = False
) -> None:
    """Write ``df`` to the folder ``out`` (replaced) as CSV parts with a header row, or as
    Parquet parts; sorted by ``(txid, output_index)`` unless ``sort`` is False, in one part
    file when ``single``."""
    if fmt not in ("csv", "parquet"):
        raise SparkExposureError(f"format: {fmt!r} is not csv or parquet")
    if sort:
        df = df.orderBy("txid", "output_index")
    if single:
        df = df.coalesce(1)  # after the sort: the parts are merged in order
    writer = df.write.mode("overwrite")
    if fmt == "csv":
        writer.option("header", True).csv(str(out))
    else:
        writer.parquet(str(out))
