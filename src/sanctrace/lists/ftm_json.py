"""FollowTheMoney JSON lines: OpenSanctions exports and users' own entity files.

Ids are kept as the file gives them; relations (Ownership, Directorship, Sanction …) are
entities of their own whose properties (``owner``, ``asset``, ``entity`` …) hold the ids they
link. CryptoWallet entities become crypto addresses of their ``holder`` when the holder is in
the same file, and stay entities of their own as well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from sanctrace.lists.base import ParseError, ParseReport, open_text, stem
from sanctrace.model import Entity, NameKind

MAX_LINE = 16 * 1024 * 1024
_SOURCE_CHARS = re.compile(r"[^a-z0-9_]+")


class FtmJsonFormat:
    """One FtM entity per line (``.ftm.json``, ``.jsonl``, ``.ndjson``)."""

    name = "ftm_json"
    default_source = "ftm"
    description = "FollowTheMoney entities, JSON lines"

    def sniff(self, path: Path, head: bytes) -> bool:
        first = head.lstrip().split(b"\n", 1)[0]
        return first.startswith(b"{") and b'"schema"' in first and b'"properties"' in first

    def suggest_source(self, paths: list[Path]) -> str:
        base = stem(paths[0]).removesuffix(".ftm")
        return _SOURCE_CHARS.sub("_", base.lower()).strip("_") or self.default_source

    def parse(self, paths: list[Path], source: str, report: ParseReport) -> Iterator[Entity]:
        wallets: list[tuple[Path, int, dict]] = []
        seen: set[str] = set()
        held: dict[str, Entity] = {}
        for path in paths:
            for lineno, data in _lines(path):
                entity = _entity(path, lineno, data, source)
                if entity.id in seen:
                    raise ParseError(path, f"line {lineno}", f"duplicate entity id {entity.id!r}")
                seen.add(entity.id)
                if entity.schema == "CryptoWallet":
                    wallets.append((path, lineno, data))
                if entity.schema in ("Person", "Company", "Organization", "LegalEntity"):
                    # Holders are yielded at the end so that wallets can still attach.
                    held[entity.id] = entity
                    continue
                yield entity
        _attach_wallets(wallets, held, report)
        yield from held.values()


def _lines(path: Path) -> Iterator[tuple[int, dict]]:
    try:
        with open_text(path) as fh:
            for lineno, line in enumerate(fh, 1):
                if len(line) > MAX_LINE:
                    raise ParseError(path, f"line {lineno}", "line too long")
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ParseError(path, f"line {lineno}", f"bad JSON: {exc.msg}") from exc
                if not isinstance(data, dict):
                    raise ParseError(path, f"line {lineno}", "expected a JSON object")
                yield lineno, data
    except UnicodeDecodeError as exc:
        raise ParseError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except (OSError, EOFError) as exc:
        raise ParseError(path, None, f"cannot read: {exc}") from exc


def _entity(path: Path, lineno: int, data: dict, source: str) -> Entity:
    ent_id = data.get("id")
    schema = data.get("schema")
    props = data.get("properties", {})
    if not isinstance(ent_id, str) or not ent_id:
        raise ParseError(path, f"line {lineno}", "field 'id' is missing")
    if not isinstance(schema, str) or not schema:
        raise ParseError(path, f"line {lineno}", "field 'schema' is missing")
    if not isinstance(props, dict):
        raise ParseError(path, f"line {lineno}", "field 'properties' is not an object")
    entity = Entity.from_ftm({**data, "datasets": [source]}, source)
    entity.source_id = ent_id
    if schema == "Person":
        # Name parts are kept as properties; a full name built from them helps screening.
        first, last = entity.first("firstName"), entity.first("lastName")
        if first and last and not entity.names:
            entity.add_name(f"{first} {last}", NameKind.PRIMARY)
    return entity


def _attach_wallets(wallets: list[tuple[Path, int, dict]], held: dict, report: ParseReport) -> None:
    from sanctrace.chain.addresses import parse_address, parse_any

    for path, lineno, data in wallets:
        props = data.get("properties", {})
        keys = props.get("publicKey") or []
        currency = (props.get("currency") or [""])[0]
        for holder_id in props.get("holder") or []:
            holder = held.get(holder_id)
            if holder is None:
                report.warn(f"{path.name}:{lineno}: wallet holder {holder_id!r} not in this file")
                continue
            for key in keys:
                addr = parse_address(currency.upper(), key) if currency else parse_any(key)
                holder.crypto.append(addr)


FORMAT = FtmJsonFormat()
