"""The chain store: one Parquet dataset per chain (layout in docs/chain-store.md).

``manifest.json`` is the commit point: a part counts once the manifest lists it, and readers
(``table``, ``dataset``, ``status``) read only listed parts. A load streams records into
hidden temporary files, renames them to ``part-<set sha256, 16 hex>.parquet`` and then rewrites
the manifest atomically; on any failure the files written so far are deleted.

``status()`` gives, per chain, the row counts of each table, the distinct addresses (output and
input addresses of UTXO chains, senders and receivers of transfers) and the block height range
(``blocks.height`` and ``transfers.block_number``); ``min_height``/``max_height`` are null when
no height is known (raw blocks whose height the source does not give).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sanctrace.chain.records import Block, Transfer
from sanctrace.errors import SanctraceError
from sanctrace.fileio import write_atomic

BATCH_ROWS = 50_000
PROGRESS_EVERY = 1_000
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1

_STR, _I64, _I32, _BOOL = pa.string(), pa.int64(), pa.int32(), pa.bool_()

SCHEMAS: dict[str, pa.Schema] = {
    "blocks": pa.schema(
        [
            ("height", _I64),
            ("hash", _STR),
            ("prev_hash", _STR),
            ("merkle_root", _STR),
            ("time", _I64),
            ("tx_count", _I32),
        ]
    ),
    "transactions": pa.schema(
        [
            ("txid", _STR),
            ("block_hash", _STR),
            ("block_height", _I64),
            ("index", _I32),
            ("time", _I64),
            ("coinbase", _BOOL),
            ("input_count", _I32),
            ("output_count", _I32),
            ("output_value", _I64),
            ("size", _I32),
            ("vsize", _I32),
        ]
    ),
    "inputs": pa.schema(
        [
            ("txid", _STR),
            ("index", _I32),
            ("prev_txid", _STR),
            ("prev_index", _I64),
            ("sequence", _I64),
            ("coinbase", _BOOL),
            ("value", _I64),
            ("address", _STR),
        ]
    ),
    "outputs": pa.schema(
        [
            ("txid", _STR),
            ("index", _I32),
            ("value", _I64),
            ("script_type", _STR),
            ("address", _STR),
        ]
    ),
    "transfers": pa.schema(
        [
            ("token", _STR),
            ("sender", _STR),
            ("receiver", _STR),
            ("amount", _STR),
            ("tx_hash", _STR),
            ("log_index", _I64),
            ("block_number", _I64),
            ("time", _I64),
        ]
    ),
}
TABLES = tuple(SCHEMAS)
ADDRESS_COLUMNS = (
    ("outputs", "address"),
    ("inputs", "address"),
    ("transfers", "sender"),
    ("transfers", "receiver"),
)
HEIGHT_COLUMNS = (("blocks", "height"), ("transfers", "block_number"))


@dataclass
class LoadSummary:
    """What one load of a file set did."""

    chain: str
    format: str
    sha256: str
    files: list[str]
    created: bool  # False when these files were loaded before: nothing was written
    counts: dict[str, int] = field(default_factory=dict)  # rows per table
    parts: list[str] = field(default_factory=list)  # relative to the store root
    skipped_files: list[str] = field(default_factory=list)  # loaded before, left out


class ChainStore:
    """The Parquet datasets under ``root`` (``settings.chain_dir`` for the services)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    # -------------------------------------------------------------------------- manifest

    def manifest(self) -> dict[str, Any]:
        """The manifest: ``{"version": 1, "loads": [...]}`` (empty when nothing is loaded)."""
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": MANIFEST_VERSION, "loads": []}
        except OSError as exc:
            raise SanctraceError(f"{self.manifest_path}: cannot read: {exc}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SanctraceError(f"{self.manifest_path}: damaged manifest: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("loads"), list):
            raise SanctraceError(f"{self.manifest_path}: damaged manifest: no 'loads' list")
        return data

    def loads(self, chain: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.manifest()["loads"] if chain is None or e["chain"] == chain]

    def find_load(self, sha256: str) -> dict[str, Any] | None:
        return next((e for e in self.loads() if e["sha256"] == sha256), None)

    def loaded_files(self, fmt: str, chain: str | None = None) -> set[str]:
        """SHA-256 digests of the files already loaded with format ``fmt`` (into ``chain``)."""
        return {
            f["sha256"]
            for e in self.loads()
            if e["format"] == fmt and (chain is None or e["chain"] == chain)
            for f in e["files"]
        }

    def chains(self) -> list[str]:
        return sorted({e["chain"] for e in self.loads() if e["chain"]})

    # ----------------------------------------------------------------------------- write

    def write(
        self,
        chain: str | None,
        records: Iterable[Block | Transfer],
        source_files: list[Path],
        sha256: str,
        *,
        fmt: str = "",
        file_sha256: dict[Path, str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> LoadSummary:
        """Write one file set's records as new parts, all or nothing.

        ``chain`` None takes it from the records. When the manifest already lists ``sha256``
        nothing is written and the summary says ``created=False``.
        """
        names = [p.name for p in source_files]
        parts = _PartWriter(self.root, chain, sha256[:16], progress)
        try:
            for record in records:
                parts.add(record)
            with _writing(self.root):
                parts.close()
                entry = self._commit(parts, chain, source_files, sha256, fmt, file_sha256)
        except BaseException:
            parts.abort()
            raise
        if entry is None:
            previous = self.find_load(sha256)
            return summary_of(previous, created=False) if previous else _empty(sha256, fmt)
        summary = summary_of(entry, created=True)
        summary.files = names
        return summary

    def _commit(
        self,
        parts: _PartWriter,
        chain: str | None,
        source_files: list[Path],
        sha256: str,
        fmt: str,
        file_sha256: dict[Path, str] | None,
    ) -> dict[str, Any] | None:
        """Rename the parts and add the load to the manifest; None when it was there already."""
        with self._lock():
            manifest = self.manifest()
            if any(e["sha256"] == sha256 for e in manifest["loads"]):
                parts.abort()
                return None
            entry = {
                "sha256": sha256,
                "chain": parts.chain or chain or "",
                "format": fmt,
                "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "files": [_file_entry(p, (file_sha256 or {}).get(p)) for p in source_files],
                "counts": {t: parts.counts.get(t, 0) for t in TABLES},
                "parts": parts.commit(),
            }
            manifest["loads"].append(entry)
            manifest["version"] = MANIFEST_VERSION
            write_atomic(self.manifest_path, json.dumps(manifest, indent=2) + "\n")
        return entry

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise manifest updates between processes (where ``fcntl`` exists)."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            yield
            return
        with open(self.root / ".lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ------------------------------------------------------------------------------ read

    def parts(self, chain: str, table: str) -> list[Path]:
        """The committed part files of one table, in load order."""
        if table not in SCHEMAS:
            raise SanctraceError(f"unknown chain table {table!r}; one of: {', '.join(TABLES)}")
        paths = [self.root / e["parts"][table] for e in self.loads(chain) if table in e["parts"]]
        for path in paths:
            if not path.is_file():
                raise SanctraceError(f"{path}: part listed in {MANIFEST} is missing")
        return paths

    def dataset(self, chain: str, table: str) -> ds.Dataset:
        """A lazy pyarrow dataset over one table (for scans too large to hold in memory)."""
        return ds.dataset(
            [str(p) for p in self.parts(chain, table)], schema=SCHEMAS[table], format="parquet"
        )

    def table(self, chain: str, table: str, columns: list[str] | None = None) -> pa.Table:
        """One table of one chain, all loads together (empty, with its schema, when none)."""
        return self.dataset(chain, table).to_table(columns=columns)

    def status(self) -> dict[str, dict[str, int | None]]:
        """Per chain: rows per table, distinct addresses, block height range."""
        result: dict[str, dict[str, int | None]] = {}
        for chain in self.chains():
            info: dict[str, int | None] = {}
            for table in TABLES:
                info[table] = sum(pq.read_metadata(p).num_rows for p in self.parts(chain, table))
            info["addresses"] = self._distinct_addresses(chain)
            info["min_height"], info["max_height"] = self._height_range(chain)
            result[chain] = info
        return result

    def _distinct_addresses(self, chain: str) -> int:
        uniques: list[pa.Array] = []
        for table, column in ADDRESS_COLUMNS:
            for path in self.parts(chain, table):
                values = pq.read_table(path, columns=[column]).column(column)
                uniques.append(pc.unique(values))
        if not uniques:
            return 0
        distinct = pc.unique(pa.chunked_array(uniques, type=pa.string()))
        return len(pc.filter(distinct, pc.not_equal(distinct, "")).drop_null())

    def _height_range(self, chain: str) -> tuple[int | None, int | None]:
        lows: list[int] = []
        highs: list[int] = []
        for table, column in HEIGHT_COLUMNS:
            for path in self.parts(chain, table):
                bounds = pc.min_max(pq.read_table(path, columns=[column]).column(column))
                if bounds["min"].is_valid:
                    lows.append(bounds["min"].as_py())
                    highs.append(bounds["max"].as_py())
        return (min(lows), max(highs)) if lows else (None, None)


@contextmanager
def _writing(root: Path) -> Iterator[None]:
    """Disk errors while writing the store become one-line user errors."""
    try:
        yield
    except OSError as exc:
        raise SanctraceError(f"{root}: cannot write the chain store: {exc}") from exc


def _empty(sha256: str, fmt: str) -> LoadSummary:
    return LoadSummary("", fmt, sha256, [], created=False, counts=dict.fromkeys(TABLES, 0))


def summary_of(entry: dict[str, Any], created: bool) -> LoadSummary:
    """A LoadSummary from a manifest entry."""
    return LoadSummary(
        chain=entry["chain"],
        format=entry["format"],
        sha256=entry["sha256"],
        files=[f["name"] for f in entry["files"]],
        created=created,
        counts=dict(entry["counts"]),
        parts=list(entry["parts"].values()),
    )


def _file_entry(path: Path, sha256: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": path.name, "path": str(Path(path).resolve())}
    with suppress(OSError):
        entry["bytes"] = path.stat().st_size
    if sha256:
        entry["sha256"] = sha256
    return entry


class _PartWriter:
    """Row buffers per table, flushed as row groups into hidden temporary part files."""

    def __init__(
        self,
        root: Path,
        chain: str | None,
        stem: str,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.root = root
        self.chain = chain
        self.stem = stem
        self.progress = progress
        self.rows: dict[str, list[tuple]] = {t: [] for t in TABLES}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.temps: dict[str, Path] = {}
        self.finals: list[Path] = []
        self.counts: dict[str, int] = dict.fromkeys(TABLES, 0)
        self.pending = 0  # records not yet reported to progress

    def add(self, record: Block | Transfer) -> None:
        if self.chain is None:
            self.chain = record.chain
        elif record.chain != self.chain:
            raise SanctraceError(f"a {record.chain} record in a load of chain {self.chain}")
        if isinstance(record, Transfer):
            self._add_transfer(record)
            self.pending += 1
        elif isinstance(record, Block):
            self._add_block(record)
            self.pending += max(1, len(record.txs))
        else:
            raise SanctraceError(f"cannot store a {type(record).__name__} record")
        if self.pending >= PROGRESS_EVERY:
            self._report()

    def _add_transfer(self, t: Transfer) -> None:
        if not isinstance(t.amount, int) or isinstance(t.amount, bool) or t.amount < 0:
            raise SanctraceError(f"{t.chain} transfer {t.tx_hash}: amount {t.amount!r} is invalid")
        row = (
            t.token,
            t.sender,
            t.receiver,
            str(t.amount),
            t.tx_hash,
            t.log_index,
            t.block_number,
            t.time,
        )
        self._put("transfers", row)

    def _add_block(self, b: Block) -> None:
        self._put("blocks", (b.height, b.hash, b.prev_hash, b.merkle_root, b.time, len(b.txs)))
        for position, tx in enumerate(b.txs):
            tx_row = (
                tx.txid,
                b.hash,
                b.height,
                position,
                b.time,
                tx.coinbase,
                len(tx.inputs),
                len(tx.outputs),
                sum(o.value for o in tx.outputs),
                tx.size,
                tx.vsize,
            )
            self._put("transactions", tx_row)
            for i, vin in enumerate(tx.inputs):
                in_row = (
                    tx.txid,
                    i,
                    vin.prev_txid,
                    vin.prev_index,
                    vin.sequence,
                    vin.coinbase,
                    vin.value,
                    vin.address,
                )
                self._put("inputs", in_row)
            for i, out in enumerate(tx.outputs):
                self._put("outputs", (tx.txid, i, out.value, out.script_type, out.address))

    def _put(self, table: str, row: tuple) -> None:
        rows = self.rows[table]
        rows.append(row)
        if len(rows) >= BATCH_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        rows = self.rows[table]
        if not rows:
            return
        schema = SCHEMAS[table]
        try:
            arrays = [
                pa.array(column, type=f.type)
                for column, f in zip(zip(*rows, strict=True), schema, strict=True)
            ]
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise SanctraceError(f"{self.chain} {table}: value out of range: {exc}") from exc
        with _writing(self.root):
            self._write(table, pa.Table.from_arrays(arrays, schema=schema))
        self.counts[table] += len(rows)
        self.rows[table] = []

    def _write(self, table: str, batch: pa.Table) -> None:
        if table not in self.writers:
            folder = self.root / (self.chain or "unknown") / table
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".part-{self.stem}.", suffix=".tmp")
            os.close(fd)
            self.temps[table] = folder / Path(tmp).name  # mkstemp answers an absolute path
            self.writers[table] = pq.ParquetWriter(tmp, batch.schema, compression="zstd")
        self.writers[table].write_table(batch)

    def _report(self) -> None:
        if self.progress and self.pending:
            self.progress(self.pending)
        self.pending = 0

    def close(self) -> None:
        """Flush every buffer and close the temporary files."""
        for table in TABLES:
            self._flush(table)
        for writer in self.writers.values():
            writer.close()
        self.writers.clear()
        self._report()

    def commit(self) -> dict[str, str]:
        """Rename the temporary files to their part names; table → path relative to root."""
        parts: dict[str, str] = {}
        for table, tmp in self.temps.items():
            final = tmp.parent / f"part-{self.stem}.parquet"
            os.replace(tmp, final)
            self.finals.append(final)
            parts[table] = final.relative_to(self.root).as_posix()
        self.temps.clear()
        return parts

    def abort(self) -> None:
        """Delete everything this load wrote (temporary and renamed parts)."""
        for writer in self.writers.values():
            with suppress(Exception):
                writer.close()
        self.writers.clear()
        for path in [*self.temps.values(), *self.finals]:
            path.unlink(missing_ok=True)
            for folder in (path.parent, path.parent.parent):
                with suppress(OSError):
                    folder.rmdir()  # only when empty: other loads' parts stay
        self.temps.clear()
        self.finals.clear()
