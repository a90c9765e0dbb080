"""UK consolidated sanctions list (OFSI ``ConList.csv``).

Layout: a first line ``Last Updated,DD/MM/YYYY``, a header row, then one row per *name*.
Rows of one listed party share a ``Group ID``; ``Alias Type`` says which name is the primary
one. Dates are ``DD/MM/YYYY`` with ``00`` for an unknown day or month. Cells that hold several
values number them: ``(1) Russia (2) Ukraine``. ``Name 6`` is the surname (or the whole name of
an entity or ship); ``Name 1``–``Name 5`` are the given names.

Rows are accumulated per group (the file is ordered by group, but nothing relies on it), so a
whole file is held in memory: the list is a few tens of megabytes at most.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sanctrace.lists.base import MAX_LIST_BYTES, ParseError, ParseReport, open_binary
from sanctrace.lists.dates import iso_date
from sanctrace.model import Entity, NameKind

REQUIRED = ("Name 6", "Group Type", "Group ID")
NAME_PARTS = ("Name 1", "Name 2", "Name 3", "Name 4", "Name 5", "Name 6")
ADDRESS_PARTS = ("Address 1", "Address 2", "Address 3", "Address 4", "Address 5", "Address 6")

SCHEMAS = {"individual": "Person", "entity": "LegalEntity", "ship": "Vessel"}
ALIAS_KINDS = {
    "primary name": NameKind.PRIMARY,
    "primary name variation": NameKind.ALIAS,
    "prime alias": NameKind.ALIAS,
    "aka": NameKind.ALIAS,
    "fka": NameKind.FORMER,
}
# Lower rank wins when one name appears in rows of different kinds.
KIND_RANK = {NameKind.PRIMARY: 0, NameKind.ALIAS: 1, NameKind.FORMER: 2, NameKind.WEAK_ALIAS: 3}

# ``Non-Latin Script Language`` (English names) -> ISO 639-1.
LANGUAGES = {
    "russian": "ru",
    "ukrainian": "uk",
    "belarusian": "be",
    "arabic": "ar",
    "persian": "fa",
    "farsi": "fa",
    "chinese": "zh",
    "korean": "ko",
    "japanese": "ja",
    "georgian": "ka",
    "armenian": "hy",
    "burmese": "my",
    "myanmar": "my",
    "hebrew": "he",
    "greek": "el",
    "serbian": "sr",
    "bulgarian": "bg",
    "macedonian": "mk",
    "kazakh": "kk",
    "kyrgyz": "ky",
    "tajik": "tg",
}

# Optional columns some editions carry (ships, entities), lower-cased header -> FtM property.
EXTRA_PROPERTIES = {
    "imo number": "imoNumber",
    "current believed flag of ship": "flag",
    "previous flags": "pastFlags",
    "type of ship": "type",
    "tonnage of ship": "tonnage",
    "year built": "buildDate",
    "type of entity": "legalForm",
    "business registration number (s)": "registrationNumber",
    "business registration number": "registrationNumber",
    "email address": "email",
    "phone number": "phone",
    "website": "website",
}

_ENUM = re.compile(r"\(\d{1,2}\)\s*")
_DMY = re.compile(r"^(\d{1,2})?[/.-](\d{1,2})?[/.-](\d{4})$")
_ISO = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_IMO = re.compile(r"\bIMO(?:\s*(?:number|no\.?))?\s*:?\s*(\d{7})\b", re.IGNORECASE)
_INN = re.compile(r"\bINN\b\)?\s*(?:number|no\.?)?\s*:?\s*(\d{10}|\d{12})\b")
_OGRN = re.compile(r"\bOGRN(?:IP)?\b\)?\s*(?:number|no\.?)?\s*:?\s*(\d{13}|\d{15})\b")
_CRYPTO = re.compile(r"Digital Currency Address\s*-\s*([A-Za-z0-9]+)\s*:?\s+([A-Za-z0-9:]+)")


@dataclass
class _Group:
    group_id: str
    line: int
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


class UkCsvFormat:
    """OFSI consolidated list, CSV edition (``ConList.csv``)."""

    name = "uk_csv"
    default_source = "gb_hmt_sanctions"
    description = "UK OFSI consolidated sanctions list, CSV (ConList.csv)"

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        first = text.split(b"\n", 1)[0].strip().lower()
        if first.startswith(b"last updated,"):
            return True
        return b"Group ID" in head and b"Name 6" in head and b"Alias Type" in head

    def parse(self, paths: list[Path], source: str, report: ParseReport) -> Iterator[Entity]:
        for path in paths:
            groups = _read_groups(path, report)
            for group in groups.values():
                yield _entity(path, group, source, report)


def _read_text(path: Path) -> str:
    """The whole file as text: UTF-8 with or without BOM; a bad byte names its line."""
    try:
        with open_binary(path) as fh:
            data = fh.read(MAX_LIST_BYTES + 1)
    except (OSError, EOFError, ValueError) as exc:
        raise ParseError(path, None, f"cannot read: {exc}") from exc
    if len(data) > MAX_LIST_BYTES:
        raise ParseError(path, None, f"larger than {MAX_LIST_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ParseError(path, f"line {line}", f"not UTF-8 text ({exc.reason})") from exc


def _read_groups(path: Path, report: ParseReport) -> dict[str, _Group]:
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header: list[str] | None = None
    groups: dict[str, _Group] = {}
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            cells = [c.strip() for c in row]
            if not any(cells):
                continue
            if header is None:
                if cells[0].lower() == "last updated":
                    report.version = _date(cells[1] if len(cells) > 1 else "") or report.version
                    continue
                header = cells
                for column in REQUIRED:
                    if column not in header:
                        raise ParseError(path, f"line {line}", f"missing column {column!r}")
                continue
            if len(cells) > len(header) and any(cells[len(header) :]):
                raise ParseError(
                    path, f"line {line}", f"{len(cells)} fields, the header has {len(header)}"
                )
            record = dict(zip(header, cells, strict=False))
            group_id = record.get("Group ID", "")
            if not group_id:
                raise ParseError(path, f"line {line}", "empty 'Group ID' (row cut short?)")
            if not record.get("Name 6") and not record.get("Name Non-Latin Script"):
                raise ParseError(path, f"line {line}", "row has no name ('Name 6' is empty)")
            group = groups.setdefault(group_id, _Group(group_id, line))
            group.rows.append((line, record))
    except csv.Error as exc:
        raise ParseError(path, f"line {reader.line_num}", f"bad CSV: {exc}") from exc
    if header is None:
        raise ParseError(path, None, "no header row")
    return groups


def _entity(path: Path, group: _Group, source: str, report: ParseReport) -> Entity:
    first = group.rows[0][1]
    group_type = first.get("Group Type", "")
    schema = SCHEMAS.get(group_type.lower())
    if schema is None:
        report.warn(f"{path.name}:{group.line}: unknown Group Type {group_type!r}, read as entity")
        schema = "LegalEntity"
    entity = Entity(
        id=f"{source}:{group.group_id}",
        schema=schema,
        source=source,
        source_id=group.group_id,
    )
    _add_names(path, group, entity, report)
    if any(row.get("Group Type", "") != group_type for _, row in group.rows):
        report.warn(f"{path.name}:{group.line}: group {group.group_id} mixes Group Types")
    updated: list[str] = []
    for _, row in group.rows:
        _add_row(entity, row)
        updated.append(_date(row.get("Last Updated", "")) or "")
    if max(updated):
        entity.add("modifiedAt", max(updated))
    return entity


def _add_names(path: Path, group: _Group, entity: Entity, report: ParseReport) -> None:
    kinds = [_row_kind(row) for _, row in group.rows]
    if NameKind.PRIMARY not in kinds:
        report.warn(f"{path.name}:{group.line}: group {group.group_id} has no primary name")
        kinds[0] = NameKind.PRIMARY
    other: dict[str, tuple[NameKind, str | None]] = {}
    for (_, row), kind in zip(group.rows, kinds, strict=True):
        entity.add_name(" ".join(row.get(p, "") for p in NAME_PARTS if row.get(p)), kind)
        script_name = row.get("Name Non-Latin Script", "")
        if script_name:
            lang = LANGUAGES.get(row.get("Non-Latin Script Language", "").lower())
            known = other.get(script_name)
            if known is None or KIND_RANK[kind] < KIND_RANK[known[0]]:
                other[script_name] = (kind, lang or (known[1] if known else None))
    for value, (kind, lang) in other.items():
        entity.add_name(value, kind, lang=lang)


def _row_kind(row: dict[str, str]) -> NameKind:
    kind = ALIAS_KINDS.get(row.get("Alias Type", "").lower(), NameKind.ALIAS)
    if kind == NameKind.ALIAS and row.get("Alias Quality", "").lower() == "low":
        return NameKind.WEAK_ALIAS
    return kind


def _add_row(entity: Entity, row: dict[str, str]) -> None:
    entity.add("title", *_enum(row.get("Title")))
    for raw in _enum(row.get("DOB")):
        value = _date(raw)
        entity.add("birthDate", value)
        if value is None:
            entity.add("notes", f"Date of birth: {raw}")
    towns, countries = _enum(row.get("Town of Birth")), _enum(row.get("Country of Birth"))
    if len(towns) == len(countries):
        entity.add(
            "birthPlace",
            *(", ".join(p for p in pair if p) for pair in zip(towns, countries, strict=True)),
        )
    else:
        entity.add("birthPlace", *towns, *countries)
    entity.add("nationality", *_enum(row.get("Nationality")))
    entity.add("position", *_enum(row.get("Position")))
    _add_documents(entity, "passport", row.get("Passport Number"), row.get("Passport Details"))
    _add_documents(
        entity,
        "national id",
        row.get("National Identification Number"),
        row.get("National Identification Details"),
    )
    parts = [row.get(p, "") for p in (*ADDRESS_PARTS, "Post/Zip Code", "Country")]
    entity.add("address", ", ".join(p for p in parts if p))
    entity.add("country", row.get("Country"))
    entity.add("program", row.get("Regime"))
    listed = _date(row.get("Listed On", ""))
    entity.add("createdAt", listed)
    designated = _date(row.get("UK Sanctions List Date Designated", ""))
    if designated and designated != listed:
        entity.add("notes", f"UK Sanctions List date designated: {designated}")
    other = row.get("Other Information", "")
    entity.add("notes", other)
    _scan_text(entity, other)
    for column, value in row.items():
        prop = EXTRA_PROPERTIES.get(column.lower())
        if prop and value:
            entity.add(prop, *_enum(value))


def _add_documents(entity: Entity, kind: str, numbers: str | None, details: str | None) -> None:
    nums, infos = _enum(numbers), _enum(details)
    for i, number in enumerate(nums):
        info = infos[i] if len(infos) == len(nums) else " ".join(infos)
        prop = "passportNumber" if kind == "passport" else "idNumber"
        low = info.lower()
        if kind != "passport" and re.search(r"\binn\b", low):
            prop = "innCode"
        elif kind != "passport" and re.search(r"\bogrn", low):
            prop = "ogrnCode"
        entity.add(prop, number)
        entity.add("identifier", f"{kind}:{number}")
        if info:
            entity.add("notes", f"{kind.capitalize()} {number}: {info}")
    if not nums and infos:
        entity.add("notes", *(f"{kind.capitalize()}: {info}" for info in infos))


def _scan_text(entity: Entity, text: str) -> None:
    """Identifiers and crypto addresses that OFSI writes into ``Other Information``."""
    if not text:
        return
    for imo in _IMO.findall(text):
        entity.add("imoNumber", imo)
        entity.add("identifier", f"imo:{imo}")
    for inn in _INN.findall(text):
        entity.add("innCode", inn)
        entity.add("identifier", f"inn:{inn}")
    for ogrn in _OGRN.findall(text):
        entity.add("ogrnCode", ogrn)
        entity.add("identifier", f"ogrn:{ogrn}")
    found = _CRYPTO.findall(text)
    if found:
        from sanctrace.chain.addresses import parse_address

        for asset, raw in found:
            entity.crypto.append(parse_address(asset.upper(), raw))


def _enum(value: str | None) -> list[str]:
    """Split a numbered cell ``(1) a (2) b`` into its values; a plain cell is one value."""
    if not value:
        return []
    parts = _ENUM.split(value)
    return [p.strip().rstrip(",;").strip() for p in parts if p.strip().rstrip(",;").strip()]


def _date(value: str) -> str | None:
    """``DD/MM/YYYY`` (``00`` = unknown part) or ISO text to an ISO date; None if neither."""
    value = value.strip()
    if m := _DMY.match(value):
        day, month, year = (int(p) if p else 0 for p in m.groups())
        if month == 0:
            return iso_date(year)
        return iso_date(year, month, day or None)
    if m := _ISO.match(value):
        year, month, day = (int(p) if p else 0 for p in m.groups())
        return iso_date(year, month or None, (day or None) if month else None)
    return None


FORMAT = UkCsvFormat()
