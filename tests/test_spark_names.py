"""The Spark bulk name screening in local mode equals ``screen names`` on a generated sample:
the same matches, ranks, scores and explanations, from a CSV and from Parquet."""

from __future__ import annotations

import csv
import os
import shutil
import sys

import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("PySpark needs Java 17: no java on PATH, JAVA_HOME unset", allow_module_level=True)

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from sanctrace.errors import BadRequest  # noqa: E402
from sanctrace.lists.snapshots import load_lists  # noqa: E402
from sanctrace.services import names as name_service  # noqa: E402
from sanctrace.services.context import Context  # noqa: E402
from sanctrace.settings import Settings  # noqa: E402
from sanctrace.spark.names import screen_customers  # noqa: E402
from sanctrace.spark.session import spark_session  # noqa: E402
from test_screen_jobs import write_customers  # noqa: E402


@pytest.fixture(scope="module")
def spark():
    # The job runs Python on the workers: this interpreter (with sanctrace), not PATH's.
    before = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = spark_session("sanctrace-test-names", master="local[2]")
    yield session
    session.stop()
    if before is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = before


def _local_rows(path) -> list[tuple]:
    with path.open(encoding="utf-8") as fh:
        return sorted(
            (r["query_id"], int(r["rank"]), r["score"], r["entity_id"], r["explanation"])
            for r in csv.DictReader(fh)
        )


def _spark_rows_of(rows) -> list[tuple]:
    return sorted((r.query_id, r.rank, f"{r.score:.4f}", r.entity_id, r.explanation) for r in rows)


def _spark_rows(df) -> list[tuple]:
    return _spark_rows_of(df.collect())


def test_spark_equals_the_local_screener(spark, tmp_path, fixtures):
    ctx = Context(Settings(db=f"sqlite:///{tmp_path / 'spark.db'}", data_dir=tmp_path / "data"))
    try:
        load_lists(ctx.db, [fixtures / "lists" / "ofac_csv"])
        customers = tmp_path / "customers.csv"
        write_customers(customers, 240)
        local = tmp_path / "local.csv"
        name_service.screen_names(
            ctx, name_service.BulkRequest(input=customers, output=local, jobs=1)
        )
        expected = _local_rows(local)
        assert len(expected) > 60
        info = name_service.prepare_index(ctx)
        assert info.folder is not None

        from_csv = screen_customers(spark, info.folder, str(customers))
        assert _spark_rows(from_csv) == expected

        with customers.open(encoding="utf-8") as fh:
            table = pa.Table.from_pylist(list(csv.DictReader(fh)))
        parquet = tmp_path / "customers.parquet"
        pq.write_table(table, parquet)
        from_parquet = screen_customers(spark, info.folder, str(parquet))
        rows = from_parquet.collect()
        assert _spark_rows_of(rows) == expected
        assert {r.snapshot_id for r in rows} == set(info.snapshots.values())

        with pytest.raises(BadRequest, match="not a sanctrace name index"):
            screen_customers(spark, tmp_path, str(parquet))
    finally:
        ctx.db.dispose()
