"""OFAC legacy CSV set: SDN (sdn/alt/add/sdn_comments.csv) and consolidated (cons_*.csv).

The files have no header row; ``-0-`` marks an empty field. Remarks hold most of the detail
(dates of birth, identifiers, crypto addresses, weak aliases in single quotes) as ``;``-separated
clauses, and continue in the comments file when long. OFAC cuts SDN.CSV remarks at 1,000
characters, so crypto addresses of large entries may be missing: prefer the XML lists.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from sanctrace.lists.base import ParseError, ParseReport, open_text, stem
from sanctrace.lists.dates import parse_ofac_date
from sanctrace.model import Entity, NameKind

EMPTY = "-0-"
REMARKS_LIMIT = 1000

# file stem -> role; SDN and consolidated sets use different file names.
ROLES = {
    "sdn": "main",
    "cons_prim": "main",
    "alt": "alt",
    "cons_alt": "alt",
    "add": "add",
    "cons_add": "add",
    "sdn_comments": "comments",
    "cons_comments": "comments",
}
MAIN_COLUMNS = 12

SCHEMAS = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane", "": "LegalEntity"}
ALT_KINDS = {"aka": NameKind.ALIAS, "fka": NameKind.FORMER, "nka": NameKind.ALIAS}

# Remark clause prefix -> FtM property. Longest prefixes first so "Passport" beats "Pass".
ID_PROPERTIES = {
    "passport": "passportNumber",
    "national id no.": "idNumber",
    "national id": "idNumber",
    "identification number": "idNumber",
    "cedula no.": "idNumber",
    "tax id no.": "taxNumber",
    "registration number": "registrationNumber",
    "registration id": "registrationNumber",
    "government gazette number": "registrationNumber",
    "company number": "registrationNumber",
    "business registration number": "registrationNumber",
    "vessel registration identification": "imoNumber",
    "imo": "imoNumber",
    "swift/bic": "swiftBic",
    "ssn": "idNumber",
    "driver's license no.": "idNumber",
    "birth certificate number": "idNumber",
}
CLAUSE_PROPERTIES = {
    "dob": "birthDate",
    "pob": "birthPlace",
    "nationality": "nationality",
    "citizen": "citizenship",
    "gender": "gender",
    "email address": "email",
    "website": "website",
    "phone number": "phone",
    "organization established date": "incorporationDate",
    "organization type": "sector",
    "linked to": "linkedTo",
    "title": "position",
}
# INN and OGRN are Russian tax/registration ids: OFAC prints them as "Tax ID No. …(Russia)".
RUSSIAN_IDS = {"taxNumber": "innCode", "registrationNumber": "ogrnCode"}

CRYPTO_RE = re.compile(r"Digital Currency Address - ([A-Za-z0-9]+)\s+(\S+)")
WEAK_ALIAS_RE = re.compile(r"a\.k\.a\.,?\s+'([^']+)'")
COUNTRY_RE = re.compile(r"\(([^()]+)\)\s*$")


class OfacCsvFormat:
    """OFAC's legacy CSV files, as one multi-file set per list."""

    name = "ofac_csv"
    default_source = "us_ofac_sdn"
    description = "OFAC SDN / consolidated legacy CSV set (sdn.csv, alt.csv, add.csv, comments)"

    def sniff(self, path: Path, head: bytes) -> bool:
        if stem(path) not in ROLES:
            return False
        first = head.split(b"\n", 1)[0]
        return first[:1].isdigit() and b"," in first

    def suggest_source(self, paths: list[Path]) -> str:
        return "us_ofac_cons" if any(stem(p).startswith("cons_") for p in paths) else "us_ofac_sdn"

    def parse(self, paths: list[Path], source: str, report: ParseReport) -> Iterator[Entity]:
        files: dict[str, Path] = {}
        for path in paths:
            role = ROLES.get(stem(path))
            if role is None:
                raise ParseError(path, None, "not a file of the OFAC CSV set")
            files[role] = path
        if "main" not in files:
            raise ParseError(paths[0], None, "the OFAC CSV set needs sdn.csv or cons_prim.csv")
        aliases = _group(files.get("alt"), 4)
        addresses = _group(files.get("add"), 5)
        comments = _group(files.get("comments"), 2)
        for lineno, row in _rows(files["main"], MAIN_COLUMNS):
            ent_num = row[0]
            entity = Entity(
                id=f"{source}:{ent_num}",
                schema=SCHEMAS.get(_clean(row[2]).lower(), "LegalEntity"),
                source=source,
                source_id=ent_num,
            )
            entity.add_name(_clean(row[1]), NameKind.PRIMARY)
            entity.add("program", *_split_programs(row[3]))
            entity.add("title", _clean(row[4]))
            if entity.schema == "Vessel":
                entity.add("callSign", _clean(row[5]))
                entity.add("type", _clean(row[6]))
                entity.add("tonnage", _clean(row[7]))
                entity.add("grossRegisteredTonnage", _clean(row[8]))
                entity.add("flag", _clean(row[9]))
                entity.add("owner", _clean(row[10]))
            remarks = _clean(row[11])
            extra = " ".join(_clean(r[1]) for r in comments.get(ent_num, []))
            if remarks and len(remarks) >= REMARKS_LIMIT - 2 and not extra:
                report.warn(
                    f"{files['main'].name}:{lineno}: entry {ent_num} remarks are "
                    f"{len(remarks)} characters and look cut (OFAC truncates SDN.CSV; use the XML)"
                )
            full = (remarks + extra) if remarks else extra
            if full:
                entity.add("notes", full)
                _apply_remarks(entity, full)
            for alt in aliases.get(ent_num, []):
                kind = ALT_KINDS.get(_clean(alt[2]).strip('"').lower(), NameKind.ALIAS)
                entity.add_name(_clean(alt[3]), kind)
            for add in addresses.get(ent_num, []):
                parts = [_clean(x) for x in add[2:5]]
                entity.add("address", ", ".join(p for p in parts if p))
                entity.add("country", parts[2])
            yield entity


def _clean(value: str) -> str:
    value = value.strip()
    return "" if value == EMPTY else value


def _split_programs(value: str) -> list[str]:
    # Programmes are written "[SDGT] [IRGC]" in remarks and "SDGT] [IRGC" in the column.
    return [p.strip(" []") for p in _clean(value).split("] [") if p.strip(" []")]


def _rows(path: Path, width: int) -> Iterator[tuple[int, list[str]]]:
    """Rows of one headerless OFAC CSV file, with their line numbers; ragged rows fail."""
    try:
        with open_text(path, encoding="latin-1" if path.suffix == ".latin1" else "utf-8-sig") as fh:
            reader = csv.reader(fh, strict=True)
            for row in reader:
                if not row or (len(row) == 1 and row[0].strip() in ("", "\x1a")):
                    continue
                if len(row) < width:
                    raise ParseError(
                        path, f"line {reader.line_num}", f"expected {width} columns, got {len(row)}"
                    )
                if not row[0].strip().isdigit():
                    raise ParseError(
                        path, f"line {reader.line_num}", "entry number is not a number"
                    )
                row[0] = row[0].strip()
                yield reader.line_num, row
    except UnicodeDecodeError as exc:
        raise ParseError(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise ParseError(path, f"line {reader.line_num}", f"bad CSV: {exc}") from exc
    except (OSError, EOFError) as exc:
        raise ParseError(path, None, f"cannot read: {exc}") from exc


def _group(path: Path | None, width: int) -> dict[str, list[list[str]]]:
    grouped: dict[str, list[list[str]]] = defaultdict(list)
    if path is not None:
        for _, row in _rows(path, width):
            grouped[row[0]].append(row)
    return grouped


def _apply_remarks(entity: Entity, remarks: str) -> None:
    """Read the structured clauses OFAC writes into remarks."""
    from sanctrace.chain.addresses import parse_address

    for asset, raw in CRYPTO_RE.findall(remarks):
        entity.crypto.append(parse_address(asset.upper(), raw.rstrip(";.,")))
    for alias in WEAK_ALIAS_RE.findall(remarks):
        entity.add_name(alias, NameKind.WEAK_ALIAS)
    for clause in remarks.split(";"):
        clause = clause.strip().rstrip(".")
        if clause.lower().startswith("alt. "):
            clause = clause[5:]
        low = clause.lower()
        if low.startswith("digital currency address") or low.startswith("a.k.a."):
            continue
        _apply_clause(entity, clause, low)


def _apply_clause(entity: Entity, clause: str, low: str) -> None:
    for prefix, prop in ID_PROPERTIES.items():
        if low.startswith(prefix + " "):
            value = clause[len(prefix) :].strip()
            country = COUNTRY_RE.search(value)
            number = value.split(" (")[0].split(" issued")[0].split(" expires")[0].strip()
            if prop == "imoNumber":
                number = number.removeprefix("IMO").strip()
            entity.add(prop, number)
            if country and prop in RUSSIAN_IDS and country.group(1).strip() == "Russia":
                entity.add(RUSSIAN_IDS[prop], number)
            entity.add("identifier", f"{clause[: len(prefix)]}:{number}")
            return
    for prefix, prop in CLAUSE_PROPERTIES.items():
        if low.startswith(prefix + " ") or low.startswith(prefix + ": "):
            value = clause[len(prefix) :].lstrip(": ").strip()
            if prop == "birthDate" or prop == "incorporationDate":
                entity.add(prop, *parse_ofac_date(value))
            else:
                entity.add(prop, value)
            return


FORMAT = OfacCsvFormat()
