"""Event files: JSON lines or CSV, plain or gzip-compressed (docs/events.md).

* JSON lines (``.jsonl``, ``.ndjson``, ``.json``): one event object per line; blank lines are
  skipped.
* CSV (``.csv``): a header row naming the fields; one event per row. Flat fields are plain
  cells; the nested ones (``names``, ``id_documents``, ``originator``, ``beneficiary``) hold
  JSON (a ``names`` cell that is not JSON is one legal name). An empty cell is an absent field.

``.gz`` after either suffix is read through gzip. A folder contributes the files with these
suffixes (``sanctrace.filesets.expand``). Every record that is not a valid event is a problem
naming the file, the line and the field; the valid ones are kept.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sanctrace import filesets
from sanctrace.errors import BadRequest
from sanctrace.fileio import sniff_encoding
from sanctrace.monitor.events import BadEvent, Event, parse_event

__all__ = ["EVENT_SUFFIXES", "EventFileResult", "read_event_files", "read_events"]

EVENT_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".gz")
JSON_FIELDS = frozenset({"names", "id_documents", "originator", "beneficiary"})
MAX_LINE = 1 << 20  # one event is small; a longer line is refused, not parsed


@dataclass
class EventFileResult:
    """The valid events of some files, each with where it was read (``file:line``), and one
    problem line per bad record."""

    events: list[tuple[str, Event]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files: int = 0


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(".csv"):
        return "csv"
    return "jsonl"


def _open(path: Path) -> IO[str]:
    encoding = sniff_encoding(path)  # UTF-8, or Shift-JIS as Excel saves a CSV
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding=encoding, newline="")
    return path.open(encoding=encoding, newline="")


def _jsonl(fh: IO[str], name: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(fh, start=1):
        where = f"{name}:{number}"
        if not line.strip():
            continue
        if len(line) > MAX_LINE:
            yield where, BadEvent(f"{where}: record: longer than {MAX_LINE} characters")
            continue
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            yield where, BadEvent(f"{where}: record: not JSON ({exc.msg}, column {exc.colno})")


def _cell(column: str, value: str, where: str) -> Any:
    if column not in JSON_FIELDS:
        return value
    text = value.strip()
    if column == "names" and not text.startswith(("[", "{")):
        return [{"text": text}]
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadEvent(f"{where}: {column}: not JSON ({exc.msg})") from None


def _csv(fh: IO[str], name: str) -> Iterator[tuple[str, Any]]:
    reader = csv.reader(fh)
    header: list[str] | None = None
    for row in reader:
        where = f"{name}:{reader.line_num}"
        if header is None:
            header = [h.strip() for h in row]
            if "type" not in header or "event_id" not in header:
                yield where, BadEvent(f"{where}: header: needs at least event_id and type")
                return
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            yield (
                where,
                BadEvent(f"{where}: record: {len(row)} cells, the header has {len(header)}"),
            )
            continue
        try:
            data = {
                column: _cell(column, value, where)
                for column, value in zip(header, row, strict=False)
                if column and value.strip() != ""
            }
        except BadEvent as exc:
            yield where, exc
            continue
        yield where, data


def read_events(path: Path, name: str | None = None) -> EventFileResult:
    """The events of one file (JSON lines or CSV, ``.gz`` ok)."""
    label = name or str(path)
    result = EventFileResult(files=1)
    try:
        with _open(path) as fh:
            records = _csv(fh, label) if _kind(path) == "csv" else _jsonl(fh, label)
            for where, data in records:
                if isinstance(data, BadEvent):
                    result.problems.append(str(data))
                    continue
                try:
                    result.events.append((where, parse_event(data, where)))
                except BadEvent as exc:
                    result.problems.append(str(exc))
    except (OSError, UnicodeDecodeError, EOFError, csv.Error) as exc:
        raise BadRequest(f"{label}: cannot read: {exc}") from None
    return result


def read_event_files(paths: Sequence[Path | str]) -> EventFileResult:
    """The events of files and folders (a folder: its ``EVENT_SUFFIXES`` files)."""
    total = EventFileResult()
    for source in filesets.expand(paths, EVENT_SUFFIXES):
        one = read_events(source.path)
        total.events.extend(one.events)
        total.problems.extend(one.problems)
        total.files += 1
    return total
