"""The windowed backtest (typologies 5 pass_through, 6 structuring, 9 jurisdiction_mismatch) as a
PySpark job over the event export in Parquet.

The export (``sanctrace.monitor.backtest.write_export``; columns in ``EXPORT_COLUMNS``) has one
row per event, ``seq`` the order events were stored in. The job answers one row per finding
(``HIT_COLUMNS``): the rule, the event it fires on, the customer, the subject and the parts of
the evidence key (the key itself is ``sha256(json.dumps(parts))[:32]``, as the rules make it).
The definitions are docs/backtest.md; the findings equal the local columnar backtest's
(tests/test_spark_backtest.py). This module imports no monitor code (the layers): the
parameters come as the rules file's plain ``params`` mappings.

Amounts are ``decimal(38, 18)`` with Spark's precision-loss rounding off: exact for amounts
below 10^20 with at most 18 decimals (the local backtest is exact for all).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "DEFAULT_PARAMS",
    "EXPORT_COLUMNS",
    "HIT_COLUMNS",
    "SparkBacktestError",
    "windowed_backtest",
]

EXPORT_COLUMNS = (
    "seq",
    "event_id",
    "type",
    "time",
    "customer_id",
    "asset",
    "amount",
    "address",
    "ip_country",
    "declared",
    "record_countries",
)
HIT_COLUMNS = ("rule", "event_id", "customer_id", "subject", "key_parts")
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "pass_through": {"window_hours": 48, "min_fraction": "0.8"},
    "structuring": {"window_days": 7, "min_count": 3, "thresholds": {}},
    "jurisdiction_mismatch": {
        "window_days": 30,
        "sanctioned": ["KP", "IR", "SY", "CU"],
        "high_risk": ["RU", "BY"],
    },
}
_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 86_400_000_000
_AMOUNT = "decimal(38,18)"


class SparkBacktestError(ValueError):
    """Bad input to the job: a missing column or a bad parameter, named."""


def _number(rule: str, params: Mapping[str, Any], name: str) -> float:
    value = params.get(name, DEFAULT_PARAMS[rule][name])
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SparkBacktestError(f"{rule}.{name}: {value!r} is not a number above 0")
    return float(value)


def _window_us(value: float, unit: int) -> int:
    """Hours or days as whole microseconds (as ``timedelta`` rounds them)."""
    from datetime import timedelta

    delta = timedelta(hours=value) if unit == _US_PER_HOUR else timedelta(days=value)
    return delta // timedelta(microseconds=1)


def _pass_through(spark: SparkSession, events: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    window = _window_us(_number("pass_through", params, "window_hours"), _US_PER_HOUR)
    fraction = Fraction(Decimal(str(params.get("min_fraction", "0.8"))))
    if not 0 < fraction <= 1:
        raise SparkBacktestError("pass_through.min_fraction: must be above 0 and at most 1")
    d = events.where((F.col("type") == "deposit") & (F.col("amt") > 0)).select(
        F.col("customer_id").alias("cid"),
        F.col("asset").alias("d_asset"),
        F.col("seq").alias("d_seq"),
        F.col("us").alias("d_us"),
        F.col("event_id").alias("d_id"),
        F.col("amt").alias("d_amt"),
    )
    w = events.where(F.col("type") == "withdrawal").select(
        "customer_id", "asset", "seq", "us", "event_id", "amt"
    )
    joined = d.join(
        w,
        (w.customer_id == d.cid)
        & (w.asset == d.d_asset)
        & (w.seq > d.d_seq)
        & (w.us <= d.d_us + F.lit(window)),
    )
    running = Window.partitionBy("d_id").orderBy("seq").rowsBetween(Window.unboundedPreceding, 0)
    joined = joined.withColumn("total", F.sum("amt").over(running))
    num, den = F.lit(fraction.numerator).cast("decimal(20,0)"), F.lit(fraction.denominator)
    need = F.col("d_amt") * num
    crossed = (F.col("total") * den.cast("decimal(20,0)") >= need) & (
        (F.col("total") - F.col("amt")) * den.cast("decimal(20,0)") < need
    )
    return joined.where(crossed).select(
        F.lit("pass_through").alias("rule"),
        F.col("event_id"),
        F.col("cid").alias("customer_id"),
        F.col("cid").alias("subject"),
        F.array(F.col("cid"), F.col("d_id")).alias("key_parts"),
    )


def _structuring(spark: SparkSession, events: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    from pyspark.sql import functions as F

    window = _window_us(_number("structuring", params, "window_days"), _US_PER_DAY)
    count = _number("structuring", params, "min_count")
    if int(count) != count:
        raise SparkBacktestError(f"structuring.min_count: {count!r} is not a whole number")
    raw = params.get("thresholds") or {}
    if not isinstance(raw, Mapping):
        raise SparkBacktestError("structuring.thresholds: a mapping of asset to amount")
    rows = [(str(k).strip().upper(), str(Decimal(str(v)))) for k, v in raw.items()]
    if not rows:
        return spark.createDataFrame([], _hit_schema())
    limits = spark.createDataFrame(rows, "t_asset string, t_amount string").select(
        "t_asset", F.col("t_amount").cast(_AMOUNT).alias("limit")
    )
    small = (
        events.where(F.col("type").isin("withdrawal", "fiat_out"))
        .join(F.broadcast(limits), F.col("asset") == F.col("t_asset"))
        .where(F.col("amt") < F.col("limit"))
        .select("customer_id", "asset", "seq", "us", "event_id", "amt", "limit")
    )
    other = small.select(
        F.col("customer_id").alias("o_cid"),
        F.col("asset").alias("o_asset"),
        F.col("seq").alias("o_seq"),
        F.col("us").alias("o_us"),
        F.col("event_id").alias("o_id"),
        F.col("amt").alias("o_amt"),
    )
    pairs = small.join(
        other,
        (F.col("o_cid") == F.col("customer_id"))
        & (F.col("o_asset") == F.col("asset"))
        & (F.col("o_seq") <= F.col("seq"))
        & (F.col("o_us") >= F.col("us") - F.lit(window)),
    )
    grouped = pairs.groupBy("event_id", "customer_id", "asset", "limit").agg(
        F.count("*").alias("n"),
        F.sum("o_amt").alias("total"),
        F.min_by("o_id", "o_seq").alias("first"),
    )
    return grouped.where((F.col("n") >= int(count)) & (F.col("total") > F.col("limit"))).select(
        F.lit("structuring").alias("rule"),
        "event_id",
        "customer_id",
        F.col("customer_id").alias("subject"),
        F.array("customer_id", "asset", "first").alias("key_parts"),
    )


def _codes(rule: str, params: Mapping[str, Any], name: str) -> list[str]:
    value = params.get(name, DEFAULT_PARAMS[rule][name])
    if not isinstance(value, list | tuple) or not all(
        isinstance(c, str) and len(c.strip()) == 2 for c in value
    ):
        raise SparkBacktestError(f"{rule}.{name}: a list of two-letter country codes")
    return [c.strip().upper() for c in value]


def _jurisdiction(spark: SparkSession, events: DataFrame, params: Mapping[str, Any]) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    rule = "jurisdiction_mismatch"
    window = _window_us(_number(rule, params, "window_days"), _US_PER_DAY)
    risk = sorted(set(_codes(rule, params, "sanctioned")) | set(_codes(rule, params, "high_risk")))
    risky = F.array(*[F.lit(c) for c in risk])
    e = events.where(F.col("type").isin("login", "customer")).select(
        "customer_id", "seq", "us", "event_id"
    )
    records = events.where(F.col("type") == "customer").select(
        F.col("customer_id").alias("r_cid"),
        F.col("seq").alias("r_seq"),
        F.col("declared"),
        F.col("record_countries"),
    )
    latest = Window.partitionBy("event_id").orderBy(F.col("r_seq").desc())
    with_record = (
        e.join(records, (F.col("r_cid") == F.col("customer_id")) & (F.col("r_seq") <= F.col("seq")))
        .withColumn("pick", F.row_number().over(latest))
        .where((F.col("pick") == 1) & F.col("declared").isNotNull())
        .drop("pick", "r_cid", "r_seq")
    )
    logins = events.where(
        (F.col("type") == "login") & F.array_contains(risky, F.col("ip_country"))
    ).select(
        F.col("customer_id").alias("l_cid"),
        F.col("seq").alias("l_seq"),
        F.col("us").alias("l_us"),
        F.col("ip_country"),
    )
    seen = (
        e.join(
            logins,
            (F.col("l_cid") == F.col("customer_id"))
            & (F.col("l_seq") <= F.col("seq"))
            & (F.col("l_us") >= F.col("us") - F.lit(window)),
        )
        .groupBy(F.col("event_id").alias("s_id"))
        .agg(F.collect_set("ip_country").alias("from_logins"))
    )
    combined = with_record.join(seen, F.col("s_id") == F.col("event_id"), "left")
    record_list = F.coalesce(
        F.split(F.col("record_countries"), ","), F.array().cast("array<string>")
    )
    pointing = F.array_union(
        F.filter(record_list, lambda c: F.array_contains(risky, c)),
        F.coalesce(F.col("from_logins"), F.array().cast("array<string>")),
    )
    countries = F.array_sort(F.array_remove(pointing, F.col("declared")))
    return (
        combined.withColumn("countries", countries)
        .where(F.size("countries") > 0)
        .select(
            F.lit(rule).alias("rule"),
            "event_id",
            "customer_id",
            F.col("customer_id").alias("subject"),
            F.concat(F.array("customer_id", "declared"), F.col("countries")).alias("key_parts"),
        )
    )


def _hit_schema() -> str:
    return (
        "rule string, event_id string, customer_id string, subject string, key_parts array<string>"
    )


_JOBS = {
    "pass_through": _pass_through,
    "structuring": _structuring,
    "jurisdiction_mismatch": _jurisdiction,
}


def windowed_backtest(
    spark: SparkSession,
    export: str | Path | DataFrame,
    params: Mapping[str, Mapping[str, Any]],
    output: str | Path | None = None,
) -> DataFrame:
    """The findings of the windowed rules named in ``params`` ({rule id: its params}) over the
    event export (a Parquet path or a DataFrame); written to ``output`` as Parquet if given."""
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import functions as F

    spark.conf.set("spark.sql.decimalOperations.allowPrecisionLoss", "false")
    frame = export if isinstance(export, SparkFrame) else spark.read.parquet(str(export))
    missing = [c for c in EXPORT_COLUMNS if c not in frame.columns]
    if missing:
        raise SparkBacktestError(f"export: missing columns: {', '.join(missing)}")
    unknown = sorted(set(params) - set(_JOBS))
    if unknown:
        raise SparkBacktestError(f"rules: {unknown[0]}: not a windowed rule ({', '.join(_JOBS)})")
    events = frame.select(
        "seq",
        "event_id",
        "type",
        "customer_id",
        F.upper("asset").alias("asset"),
        F.col("amount").cast(_AMOUNT).alias("amt"),
        F.unix_micros(F.col("time")).alias("us"),
        "ip_country",
        "declared",
        "record_countries",
    ).cache()
    parts = [_JOBS[rule](spark, events, p or {}) for rule, p in params.items()]
    if not parts:
        result = spark.createDataFrame([], _hit_schema())
    else:
        result = parts[0]
        for part in parts[1:]:
            result = result.unionByName(part)
    if output is not None:
        result.write.mode("overwrite").parquet(str(output))
    return result
