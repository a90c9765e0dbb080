"""The Spark windowed backtest in local mode equals the local columnar one on a generated
history (default and other parameters), the exact-amount case, and bad input. One Spark
session for the module."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("PySpark needs Java 17: no java on PATH, JAVA_HOME unset", allow_module_level=True)

from monitor_history import configs, generate, row_of  # noqa: E402
from monitor_history import ip_country as pool_country  # noqa: E402
from sanctrace.monitor.backtest import export_rows, write_export  # noqa: E402
from sanctrace.monitor.events import parse_event  # noqa: E402
from sanctrace.monitor.rules.jurisdiction_mismatch import JurisdictionMismatch  # noqa: E402
from sanctrace.monitor.rules.pass_through import PassThrough  # noqa: E402
from sanctrace.monitor.rules.structuring import Structuring  # noqa: E402
from sanctrace.monitor.windowed import evaluate_windowed  # noqa: E402
from sanctrace.spark.backtest import SparkBacktestError, windowed_backtest  # noqa: E402
from sanctrace.spark.session import spark_session  # noqa: E402

CLASSES = {
    "pass_through": PassThrough,
    "structuring": Structuring,
    "jurisdiction_mismatch": JurisdictionMismatch,
}


@pytest.fixture(scope="module")
def spark():
    conf = {
        "spark.sql.shuffle.partitions": "2",
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    }
    session = spark_session("sanctrace-tests", master="local[2]", conf=conf)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def located(ip: str) -> str | None:
    found = pool_country(ip)
    return found.country if found else None


def export_of(events, tmp_path):
    table = export_rows([row_of(i, e) for i, e in enumerate(events)], located)
    return table, write_export(table, tmp_path / "events.parquet")


def local(table, overrides=None):
    rules = [CLASSES[c.id](c) for c in configs(overrides)]
    return {
        (h.rule, h.event_id, h.subject, tuple(h.key_parts)) for h in evaluate_windowed(table, rules)
    }


def on_spark(spark, path, overrides=None):
    params = {c.id: c.params for c in configs(overrides)}
    rows = windowed_backtest(spark, path, params).collect()
    return {(r.rule, r.event_id, r.subject, tuple(r.key_parts)) for r in rows}


OTHER = {
    "pass_through": {"window_hours": 1.5, "min_fraction": "0.5"},
    "structuring": {"window_days": 2, "min_count": 2, "thresholds": {"btc": "0.9"}},
    "jurisdiction_mismatch": {"window_days": 3, "high_risk": ["BY"]},
}


@pytest.mark.parametrize("overrides", [None, OTHER], ids=["defaults", "other"])
def test_spark_equals_local(spark, tmp_path, overrides):
    table, path = export_of(generate(seed=11, customers=60, days=30), tmp_path)
    expected = local(table, overrides)
    assert len({r for r, *_ in expected}) == 3
    assert on_spark(spark, path, overrides) == expected


def test_spark_exact_amounts(spark, tmp_path):
    base = generate(seed=1, customers=1, days=2)[0]
    t = base.time + timedelta(hours=1)
    amounts = ["1234567.000000000000000001", "987653.6", "0.000000000000000001", "0.5"]
    events = [base]
    for i, amount in enumerate(amounts):
        kind = "deposit" if i == 0 else "withdrawal"
        extra = {"txid": "aa" * 32, "output_index": 0} if kind == "deposit" else {}
        events.append(
            parse_event(
                {
                    "event_id": f"x{i}",
                    "type": kind,
                    "time": (t + timedelta(minutes=i)).isoformat(),
                    "customer_id": base.customer_id,
                    "chain": "eth",
                    "asset": "ETH",
                    "amount": amount,
                    "address": f"a{i}",
                    **extra,
                }
            )
        )
    table, path = export_of(events, tmp_path)
    expected = local(table)
    assert {(r, e) for r, e, *_ in expected} == {("pass_through", "x2")}
    assert on_spark(spark, path) == expected


def test_spark_bad_input(spark, tmp_path):
    table, path = export_of(generate(seed=2, customers=3, days=3), tmp_path)
    with pytest.raises(SparkBacktestError, match="pass_through.window_hours"):
        windowed_backtest(spark, path, {"pass_through": {"window_hours": -1}})
    with pytest.raises(SparkBacktestError, match="not a windowed rule"):
        windowed_backtest(spark, path, {"name_match": {}})
    with pytest.raises(SparkBacktestError, match="missing columns: amount"):
        windowed_backtest(spark, spark.read.parquet(str(path)).drop("amount"), {})
