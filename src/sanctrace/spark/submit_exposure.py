"""Bulk exposure over a chain store with Spark, as a script ``spark-submit`` runs directly.

    spark-submit [spark options] submit_exposure.py --store DIR --flagged FILE --out DIR
        [--chain btc] [--model haircut|poison|fifo] [--hops 5] [--stops FILE]
        [--format csv|parquet] [--single] [--checkpoint-dir DIR] [--max-rounds N]

``python -m sanctrace.spark.submit_exposure`` runs the same in a local session. ``--flagged``
and ``--stops`` are local files in ``FlagSet.from_file``'s format (one address per line, or a
CSV with an ``address`` column); ``--store`` and ``--out`` are any Hadoop paths. Exit status:
0 done, 1 bad input (one line on stderr naming the file, line or field), 2 usage error.
See docs/spark.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from sanctrace.errors import SanctraceError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="submit_exposure.py",
        description="Source-of-funds exposure of every output of a UTXO chain (PySpark).",
    )
    p.add_argument("--store", required=True, help="data folder holding chain/ (any Hadoop path)")
    p.add_argument("--flagged", required=True, help="local file of flagged addresses")
    p.add_argument("--out", required=True, help="output folder (replaced)")
    p.add_argument("--chain", default="btc")
    p.add_argument("--model", default="haircut", choices=("haircut", "poison", "fifo"))
    p.add_argument("--hops", type=int, default=5, help="hop limit, 0 to 10 (default 5)")
    p.add_argument("--stops", help="local file of stop addresses (reported, not propagated)")
    p.add_argument("--format", default="csv", choices=("csv", "parquet"), dest="fmt")
    p.add_argument("--single", action="store_true", help="write one part file")
    p.add_argument("--checkpoint-dir", help="reliable checkpoints here (HDFS/S3 on clusters)")
    p.add_argument("--max-rounds", type=int, default=10_000)
    p.add_argument("--master", help="Spark master when not run by spark-submit")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job; the exit status."""
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except SanctraceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from sanctrace.chain.flags import FlagSet
    from sanctrace.spark.exposure import bulk_exposure, validate, write_exposure
    from sanctrace.spark.session import spark_session

    validate(args.model, args.hops)
    flagged = sorted(FlagSet.from_file(args.flagged).flagged)
    stops = sorted(FlagSet.from_file(args.stops).flagged) if args.stops else []
    start = time.perf_counter()
    spark = spark_session("sanctrace-exposure", master=args.master)
    if args.checkpoint_dir:
        spark.sparkContext.setCheckpointDir(args.checkpoint_dir)
    result = bulk_exposure(
        spark,
        args.store,
        flagged,
        chain=args.chain,
        model=args.model,
        hops=args.hops,
        stops=stops,
        max_rounds=args.max_rounds,
    ).persist()
    try:
        rows = result.count()
        write_exposure(result, args.out, fmt=args.fmt, single=args.single)
    finally:
        result.unpersist()
    seconds = time.perf_counter() - start
    print(
        f"{rows} tainted outputs written to {args.out} ({args.model}, {args.hops} hops, "
        f"{len(flagged)} flagged, {len(stops)} stops, {seconds:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
