"""Bulk name screening on Spark: a customer file (Parquet or CSV, the ``screen names``
columns) against a saved name index, with exactly the local screener's matches and scores.

The index is the folder ``sanctrace`` keeps under ``<data dir>/index`` for the active
snapshots (``sanctrace screen index --json`` names it). It is shipped to every executor as
files (``SparkContext.addFile``): each executor's Python workers map it read-only, once per
process, and screen their partition of customers with the same ``Screener`` code as
``sanctrace screen names``. Output: one row per match (``MATCH_COLUMNS``), ``rank`` from 1
per customer, ``score`` as the local screener rounds it.

    python -m sanctrace.spark.names --index DIR --input customers.parquet --out matches/
    spark-submit [options] names.py --index DIR --input s3://…/customers/ --out s3://…/m/

See docs/spark.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sanctrace.errors import BadRequest, SanctraceError
from sanctrace.model import MATCH_CSV_COLUMNS, NameQuery

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sanctrace.names.screener import Screener

__all__ = ["INPUT_COLUMNS", "MATCH_COLUMNS", "main", "query_of", "screen_customers"]

INPUT_COLUMNS = ("id", "name", "schema", "birth_date", "country", "name_kana")
MATCH_COLUMNS = (*MATCH_CSV_COLUMNS, "snapshot_id")

# One mapped index per executor process, by folder.
_SCREENERS: dict[tuple[str, float | None], Screener] = {}


def _text(row: Mapping[str, Any], column: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def query_of(row: Mapping[str, Any]) -> NameQuery | None:
    """The query of one customer row, as ``screen names`` reads a CSV row (None: no name)."""
    qid = _text(row, "id")
    name = _text(row, "name")
    kana = _text(row, "name_kana")
    if qid is None or (name is None and kana is None):
        return None
    return NameQuery(
        name=name or kana or "",
        schema=_text(row, "schema"),
        birth_date=_text(row, "birth_date"),
        country=_text(row, "country"),
        name_kana=kana if name else None,
        id=qid,
    )


def _screener(folder: str, threshold: float | None) -> Screener:
    """The screener over the mapped index at ``folder``, opened once per process."""
    found = _SCREENERS.get((folder, threshold))
    if found is None:
        from sanctrace.names.built import ScreenerData
        from sanctrace.names.screener import DEFAULT_THRESHOLD, Screener

        data = ScreenerData.load(Path(folder))
        found = Screener(threshold=DEFAULT_THRESHOLD if threshold is None else threshold, data=data)
        _SCREENERS[(folder, threshold)] = found
    return found


def screen_rows(
    folder: str, rows: Iterable[Mapping[str, Any]], top: int, threshold: float | None
) -> Iterator[tuple[Any, ...]]:
    """Match rows (``MATCH_COLUMNS``) of customer rows: what each Spark task runs."""
    screener = _screener(folder, threshold)
    for row in rows:
        query = query_of(row)
        if query is None:
            continue
        for rank, m in enumerate(screener.screen(query, top=top, threshold=threshold), 1):
            yield (
                query.id,
                rank,
                float(m.score),
                m.entity_id,
                m.source,
                m.source_id,
                m.entity_name,
                m.matched_name,
                m.schema,
                m.explanation,
                m.snapshot_id,
            )


def read_customers(spark: SparkSession, path: str, fmt: str | None = None) -> DataFrame:
    """A customer file or folder: Parquet, or CSV with a header (every column as text)."""
    fmt = fmt or ("csv" if str(path).lower().endswith((".csv", ".csv.gz")) else "parquet")
    if fmt == "csv":
        df = spark.read.option("header", True).option("encoding", "UTF-8").csv(path)
    else:
        df = spark.read.parquet(path)
    missing = [c for c in ("id", "name") if c not in df.columns]
    if missing:
        raise BadRequest(f"{path}: missing column(s) {', '.join(missing)}")
    return df.select(*[c for c in INPUT_COLUMNS if c in df.columns])


def screen_customers(
    spark: SparkSession,
    index: str | Path,
    customers: DataFrame | str,
    *,
    top: int = 5,
    threshold: float | None = None,
    fmt: str | None = None,
) -> DataFrame:
    """One row per match of every customer (``MATCH_COLUMNS``) against the index folder.

    ``customers`` is a DataFrame with the ``screen names`` columns, or a path to read."""
    from pyspark import SparkFiles
    from pyspark.sql import types as T

    folder = Path(index)
    if not (folder / "meta.json").is_file():
        raise BadRequest(f"{folder}: not a sanctrace name index (no meta.json)")
    if not 1 <= top <= 50:
        raise BadRequest("top: must be between 1 and 50")
    df = read_customers(spark, customers, fmt) if isinstance(customers, str) else customers
    spark.sparkContext.addFile(str(folder.resolve()), recursive=True)
    name = folder.name

    def run(rows: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        local = SparkFiles.get(name)
        return screen_rows(local, (r.asDict() for r in rows), top, threshold)

    schema = T.StructType(
        [
            T.StructField("query_id", T.StringType()),
            T.StructField("rank", T.IntegerType()),
            T.StructField("score", T.DoubleType()),
            *[
                T.StructField(c, T.StringType())
                for c in MATCH_COLUMNS[3:10]  # entity_id … explanation
            ],
            T.StructField("snapshot_id", T.LongType()),
        ]
    )
    return spark.createDataFrame(df.rdd.mapPartitions(run), schema)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="names.py", description="Screen a customer file against a sanctrace name index."
    )
    p.add_argument("--index", required=True, help="the index folder (local; shipped to executors)")
    p.add_argument("--input", required=True, help="customers: Parquet or CSV (any Hadoop path)")
    p.add_argument("--out", required=True, help="output folder (replaced)")
    p.add_argument("--input-format", choices=("csv", "parquet"), dest="fmt")
    p.add_argument("--format", default="parquet", choices=("csv", "parquet"), dest="out_fmt")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--threshold", type=float)
    p.add_argument("--partitions", type=int, help="repartition the customers first")
    p.add_argument("--master", help="Spark master when not run by spark-submit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job; 0 done, 1 bad input (one line on stderr), 2 usage error."""
    args = parser().parse_args(argv)
    from sanctrace.spark.session import spark_session

    try:
        spark = spark_session("sanctrace-names", master=args.master)
        customers = read_customers(spark, args.input, args.fmt)
        if args.partitions:
            customers = customers.repartition(args.partitions)
        out = screen_customers(spark, args.index, customers, top=args.top, threshold=args.threshold)
        writer = out.write.mode("overwrite")
        if args.out_fmt == "csv":
            writer.option("header", True).csv(args.out)
        else:
            writer.parquet(args.out)
    except SanctraceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
