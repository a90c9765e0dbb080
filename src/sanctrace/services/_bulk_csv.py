"""Bulk name screening files: the input CSV contract and the output CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from sanctrace.customer_dates import parse_customer_date
from sanctrace.errors import BadRequest
from sanctrace.fileio import read_text, write_atomic
from sanctrace.model import MATCH_CSV_COLUMNS, Match, NameQuery

OUTPUT_COLUMNS = list(MATCH_CSV_COLUMNS)


def read_queries(path: Path) -> list[NameQuery]:
    """Rows ``id,name`` plus optional ``schema,birth_date,country,name_kana``; bad rows fail."""
    try:
        text = read_text(path)  # UTF-8, or Shift-JIS as Excel saves it
    except (OSError, UnicodeDecodeError) as exc:
        raise BadRequest(f"{path}: cannot read ({exc})") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    for column in ("id", "name"):
        if column not in header:
            raise BadRequest(f"{path}:line 1: missing column '{column}'")
    queries = []
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        qid = (row.get("id") or "").strip()
        name = (row.get("name") or "").strip()
        if not qid:
            raise BadRequest(f"{path}:line {line}: empty id")
        if qid in seen:
            raise BadRequest(f"{path}:line {line}: duplicate id {qid!r}")
        if not name and not (row.get("name_kana") or "").strip():
            raise BadRequest(f"{path}:line {line}: empty name")
        seen.add(qid)
        kana = (row.get("name_kana") or "").strip() or None
        queries.append(
            NameQuery(
                name=name or kana or "",
                schema=(row.get("schema") or "").strip() or None,
                birth_date=parse_customer_date(row.get("birth_date"), where=f"{path}:line {line}"),
                country=(row.get("country") or "").strip() or None,
                name_kana=kana if name else None,
                id=qid,
            )
        )
    return queries


def write_matches(path: Path, rows: Sequence[tuple[NameQuery, list[Match]]]) -> int:
    """Write one row per match, atomically; returns the number of rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    count = 0
    for query, matches in rows:
        for rank, m in enumerate(matches, 1):
            writer.writerow(
                [
                    query.id,
                    rank,
                    f"{m.score:.4f}",
                    m.entity_id,
                    m.source,
                    m.source_id,
                    m.entity_name,
                    m.matched_name,
                    m.schema,
                    m.explanation,
                ]
            )
            count += 1
    write_atomic(path, buf.getvalue())
    return count
