"""Writing one load's parts: row buffers per table, flushed as row groups into hidden
temporary Parquet files, renamed to their part names on commit (``store.ChainStore.write``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sanctrace.chain.records import Block, Transfer
from sanctrace.chainstore.schemas import SCHEMAS, TABLES
from sanctrace.errors import SanctraceError


@contextmanager
def writing(root: Path) -> Iterator[None]:
    """Disk errors while writing the store become one-line user errors."""
    try:
        yield
    except OSError as exc:
        raise SanctraceError(f"{root}: cannot write the chain store: {exc}") from exc


class PartWriter:
    """Row buffers per table, flushed as row groups into hidden temporary part files."""

    def __init__(
        self,
        root: Path,
        chain: str | None,
        stem: str,
        progress: Callable[[int], None] | None,
        batch_rows: int,
        progress_every: int,
    ) -> None:
        self.root = root
        self.batch_rows, self.progress_every = batch_rows, progress_every
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
        if self.pending >= self.progress_every:
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
        if len(rows) >= self.batch_rows:
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
        with writing(self.root):
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
