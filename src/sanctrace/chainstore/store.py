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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
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
from sanctrace.chainstore._parts import PartWriter, writing
from sanctrace.chainstore.schemas import ADDRESS_COLUMNS as ADDRESS_COLUMNS
from sanctrace.chainstore.schemas import HEIGHT_COLUMNS as HEIGHT_COLUMNS
from sanctrace.chainstore.schemas import SCHEMAS as SCHEMAS
from sanctrace.chainstore.schemas import TABLES as TABLES
from sanctrace.errors import SanctraceError
from sanctrace.fileio import write_atomic

BATCH_ROWS = 50_000  # rows per row group
PROGRESS_EVERY = 1_000  # records between progress reports
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


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
        extra: Mapping[str, Any] | None = None,
    ) -> LoadSummary:
        """Write one file set's records as new parts, all or nothing.

        ``chain`` None takes it from the records. When the manifest already lists ``sha256``
        nothing is written and the summary says ``created=False``. ``extra`` adds fields to
        the load's manifest entry (a followed block batch: its heights and block hashes).
        """
        names = [p.name for p in source_files]
        parts = PartWriter(self.root, chain, sha256[:16], progress, BATCH_ROWS, PROGRESS_EVERY)
        try:
            for record in records:
                parts.add(record)
            with writing(self.root):
                parts.close()
                entry = self._commit(parts, chain, source_files, sha256, fmt, file_sha256, extra)
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
        parts: PartWriter,
        chain: str | None,
        source_files: list[Path],
        sha256: str,
        fmt: str,
        file_sha256: dict[Path, str] | None,
        extra: Mapping[str, Any] | None = None,
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
                **(extra or {}),
            }
            manifest["loads"].append(entry)
            manifest["version"] = MANIFEST_VERSION
            write_atomic(self.manifest_path, _manifest_text(manifest))
        return entry

    def remove_loads(self, sha256s: Collection[str]) -> list[dict[str, Any]]:
        """Take loads out of the manifest (the commit point), then delete their parts; the
        removed entries. A crash between the two leaves unlisted files that no reader sees."""
        wanted = set(sha256s)
        if not wanted:
            return []
        with writing(self.root), self._lock():
            manifest = self.manifest()
            removed = [e for e in manifest["loads"] if e["sha256"] in wanted]
            if not removed:
                return []
            manifest["loads"] = [e for e in manifest["loads"] if e["sha256"] not in wanted]
            write_atomic(self.manifest_path, _manifest_text(manifest))
        for entry in removed:
            for relative in entry["parts"].values():
                (self.root / relative).unlink(missing_ok=True)
        return removed

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


def _manifest_text(manifest: dict[str, Any]) -> str:
    """The manifest as JSON, one load a line: readable, and written by the C encoder (an
    indented dump goes through the pure-Python one, slow once a follower has made thousands
    of loads)."""
    head = {k: v for k, v in manifest.items() if k != "loads"}
    lines = [json.dumps(e, ensure_ascii=False) for e in manifest["loads"]]
    body = ",\n  ".join(lines)
    text = json.dumps(head, ensure_ascii=False)[:-1]
    sep = ", " if head else ""
    loads = f'"loads": [\n  {body}\n]' if lines else '"loads": []'
    return text + sep + loads + "}\n"


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
