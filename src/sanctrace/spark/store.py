"""Reading the Parquet chain store (docs/chain-store.md) from Spark, on any Hadoop path.

``<store>/chain/manifest.json`` is the store's commit point: when it exists only the parts it
lists are read; otherwise every ``part-*.parquet`` of each table's folder (a store written
straight into the layout).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from sanctrace.errors import SanctraceError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


class SparkExposureError(SanctraceError):
    """Bad input to a Spark job (store, model, hops, flags), or a run that did not converge."""


class _Files:
    """Hadoop file system calls (local, HDFS, S3 …) through the session's JVM."""

    def __init__(self, spark: SparkSession, root: str) -> None:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        self.jvm = jvm
        self.fs = jvm.org.apache.hadoop.fs.Path(root).getFileSystem(
            spark.sparkContext._jsc.hadoopConfiguration()
        )

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(self.jvm.org.apache.hadoop.fs.Path(path)))

    def read_text(self, path: str) -> str:
        stream = self.fs.open(self.jvm.org.apache.hadoop.fs.Path(path))
        try:
            data = self.jvm.org.apache.commons.io.IOUtils.toByteArray(stream)
        finally:
            stream.close()
        return bytes(data).decode("utf-8")

    def glob(self, pattern: str) -> list[str]:
        found = self.fs.globStatus(self.jvm.org.apache.hadoop.fs.Path(pattern)) or []
        return sorted(str(status.getPath().toString()) for status in found)


def _parts(files: _Files, root: str, chain: str, table: str) -> list[str]:
    """The part files of one table: those ``manifest.json`` lists (the store's commit point),
    or without a manifest every ``part-*.parquet`` of the table's folder."""
    manifest = f"{root}/manifest.json"
    if not files.exists(manifest):
        return files.glob(f"{root}/{chain}/{table}/part-*.parquet")
    try:
        loads = json.loads(files.read_text(manifest))["loads"]
        return [
            f"{root}/{entry['parts'][table]}"
            for entry in loads
            if entry.get("chain") == chain and table in entry["parts"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise SparkExposureError(f"{manifest}: damaged manifest: {exc}") from exc


def _store_root(files: _Files, store: str, chain: str) -> str:
    """The chain store's root: ``<store>/chain`` (``store`` is the data folder), or ``store``
    itself when it is that root (it holds ``manifest.json`` or a ``<chain>`` folder)."""
    nested = f"{store}/chain"
    if files.exists(f"{nested}/manifest.json") or files.exists(f"{nested}/{chain}"):
        return nested
    if files.exists(f"{store}/manifest.json") or files.exists(f"{store}/{chain}"):
        return store
    return nested


def read_store(spark: SparkSession, store: str | Path, chain: str = "btc") -> dict[str, DataFrame]:
    """The ``inputs`` and ``outputs`` tables of ``chain`` in the store under ``store`` (the
    data folder holding ``chain/``, or that ``chain`` folder itself; any Hadoop path: local,
    ``hdfs://``, ``s3a://``)."""
    text = str(store).rstrip("/") or "/"
    files = _Files(spark, text)
    root = _store_root(files, text, chain)
    frames: dict[str, DataFrame] = {}
    for table in ("inputs", "outputs"):
        paths = _parts(files, root, chain, table)
        if not paths:
            raise SparkExposureError(f"{root}: no {table} parts for chain {chain!r}")
        frames[table] = spark.read.parquet(*paths)
    _require(frames["outputs"], "outputs", ("txid", "index", "value", "address"))
    _require(frames["inputs"], "inputs", ("txid", "index", "prev_txid", "prev_index"))
    return frames


def _require(df: DataFrame, table: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SparkExposureError(f"{table} table: missing column {', '.join(missing)}")
