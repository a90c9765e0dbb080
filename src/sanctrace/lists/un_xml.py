"""UN Security Council consolidated list, XML edition (``consolidated.xml``).

Root ``CONSOLIDATED_LIST`` (attribute ``dateGenerated``) holds ``INDIVIDUALS/INDIVIDUAL`` and
``ENTITIES/ENTITY`` records. ``DATAID`` is the stable record id (the entity's native id); the
UN reference number (``QDi.006``, ``KPe.001`` …) goes to ``unscId``. Names are
``FIRST_NAME`` … ``FOURTH_NAME`` in order; an entity's whole name is ``FIRST_NAME``. Alias
quality ``Good``/``a.k.a.`` is a strong alias, ``Low`` a weak one, ``f.k.a.`` a former name.
Dates of birth are ``EXACT``/``APPROXIMATELY`` (``DATE`` or ``YEAR``) or ``BETWEEN``
(``FROM_YEAR``/``TO_YEAR``, written as the ISO interval ``YYYY/YYYY``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from sanctrace.lists.base import ParseError, ParseReport
from sanctrace.lists.dates import iso_date, parse_ofac_date
from sanctrace.lists.xmlsafe import findall, iter_elements, localname, root_name, text, texts, where
from sanctrace.model import Entity, NameKind

ROOT = "CONSOLIDATED_LIST"
RECORDS = ("INDIVIDUAL", "ENTITY")

ALIAS_KINDS = {
    "good": NameKind.ALIAS,
    "a.k.a.": NameKind.ALIAS,
    "": NameKind.ALIAS,
    "low": NameKind.WEAK_ALIAS,
    "f.k.a.": NameKind.FORMER,
}
# TYPE_OF_DOCUMENT (lower-case, whitespace-collapsed) -> FtM property.
DOCUMENT_PROPERTIES = {
    "passport": "passportNumber",
    "numéro de passeport": "passportNumber",
    "número de pasaporte": "passportNumber",
    "national identification number": "idNumber",
}
ADDRESS_PARTS = ("STREET", "CITY", "STATE_PROVINCE", "ZIP_CODE", "COUNTRY")
BIRTH_PLACE_PARTS = ("STREET", "CITY", "STATE_PROVINCE", "COUNTRY")

_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_YEAR = re.compile(r"^\d{4}$")
# Several aliases in one ALIAS_NAME: "A; B" or "A b) B".
_ALIAS_SPLIT = re.compile(r";|\s+[a-h]\)\s+|^[a-h]\)\s+")
_FORMER_NOTE = re.compile(r"^(previously|formerly) listed as", re.IGNORECASE)


class UnXmlFormat:
    """UN Security Council consolidated sanctions list (XML)."""

    name = "un_xml"
    default_source = "un_sc_sanctions"
    description = "UN Security Council consolidated list, XML"

    def sniff(self, path: Path, head: bytes) -> bool:
        root = root_name(head)
        return root is not None and root[1] == ROOT

    def parse(self, paths: list[Path], source: str, report: ParseReport) -> Iterator[Entity]:
        for path in paths:
            yield from _parse_file(path, source, report)


def _parse_file(path: Path, source: str, report: ParseReport) -> Iterator[Entity]:
    seen_root = False
    for el in iter_elements(path, (*RECORDS, ROOT)):
        if not seen_root:
            root = el.getroottree().getroot()
            if localname(root) != ROOT:
                raise ParseError(path, where(el), f"root is <{localname(root)}>, not <{ROOT}>")
            seen_root = True
            _read_version(path, root, report)
        if el.tag == ROOT:
            continue
        yield _record(path, el, source, report)
    if not seen_root:
        raise ParseError(path, None, f"no <{ROOT}> element: not a UN consolidated list")


def _read_version(path: Path, root: etree._Element, report: ParseReport) -> None:
    generated = root.get("dateGenerated") or ""
    version = _date(generated)
    if version:
        report.version = version
    else:
        report.warn(f"{path.name}: no usable dateGenerated ({generated!r})")


def _record(path: Path, el: etree._Element, source: str, report: ParseReport) -> Entity:
    dataid = text(el, "DATAID")
    if not dataid or not dataid.isdigit():
        raise ParseError(path, where(el), f"<{el.tag}> without a numeric DATAID")
    person = el.tag == "INDIVIDUAL"
    entity = Entity(
        id=f"{source}:{dataid}",
        schema="Person" if person else "LegalEntity",
        source=source,
        source_id=dataid,
    )
    parts = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")
    entity.add_name(" ".join(v for v in (text(el, p) for p in parts) if v), NameKind.PRIMARY)
    entity.add_name(text(el, "NAME_ORIGINAL_SCRIPT"), NameKind.PRIMARY)
    if not entity.names:
        raise ParseError(path, where(el), f"<{el.tag}> {dataid} has no name")
    entity.add("unscId", text(el, "REFERENCE_NUMBER"))
    entity.add("program", text(el, "UN_LIST_TYPE"))
    entity.add("createdAt", _date(text(el, "LISTED_ON")))
    updated = sorted(d for d in (_date(v) for v in texts(el, "LAST_DAY_UPDATED/VALUE")) if d)
    if updated:
        entity.add("modifiedAt", updated[-1])
    entity.add("notes", text(el, "COMMENTS1"))
    entity.add("title", *texts(el, "TITLE/VALUE"))
    entity.add("position", *texts(el, "DESIGNATION/VALUE"))
    entity.add("nationality", *texts(el, "NATIONALITY/VALUE"))
    gender = (text(el, "GENDER") or "").lower()
    if gender in ("male", "female"):
        entity.add("gender", gender)
    prefix = "INDIVIDUAL" if person else "ENTITY"
    for alias in findall(el, f"{prefix}_ALIAS"):
        _alias(entity, alias)
    for address in findall(el, f"{prefix}_ADDRESS"):
        _address(entity, address)
    if person:
        for dob in findall(el, "INDIVIDUAL_DATE_OF_BIRTH"):
            _birth_date(entity, dob)
        for pob in findall(el, "INDIVIDUAL_PLACE_OF_BIRTH"):
            parts_ = (text(pob, p) for p in BIRTH_PLACE_PARTS)
            place = ", ".join(p for p in parts_ if p)
            note = text(pob, "NOTE")
            entity.add("birthPlace", f"{place} {note}" if place and note else place or note)
        for doc in findall(el, "INDIVIDUAL_DOCUMENT"):
            _document(entity, doc)
    return entity


def _alias(entity: Entity, el: etree._Element) -> None:
    raw = text(el, "ALIAS_NAME")
    if not raw:
        return
    kind = ALIAS_KINDS.get((text(el, "QUALITY") or "").lower(), NameKind.ALIAS)
    note = text(el, "NOTE")
    if note and _FORMER_NOTE.match(note):
        kind = NameKind.FORMER
    for name in _ALIAS_SPLIT.split(raw):
        entity.add_name(name.strip(), kind)
    if note:
        entity.add("notes", f"Alias {raw}: {note}")
    # Some aliases carry the date and place of birth used under that name.
    entity.add("birthDate", _date(text(el, "DATE_OF_BIRTH")))
    place = [text(el, "CITY_OF_BIRTH"), text(el, "COUNTRY_OF_BIRTH")]
    entity.add("birthPlace", ", ".join(p for p in place if p))


def _address(entity: Entity, el: etree._Element) -> None:
    line = ", ".join(v for v in (text(el, p) for p in ADDRESS_PARTS) if v)
    entity.add("address", line)
    entity.add("country", text(el, "COUNTRY"))
    note = text(el, "NOTE")
    if line and note:
        entity.add("notes", f"Address {line}: {note}")


def _birth_date(entity: Entity, el: etree._Element) -> None:
    kind = (text(el, "TYPE_OF_DATE") or "").upper()
    note = text(el, "NOTE")
    if kind == "BETWEEN":
        start, end = text(el, "FROM_YEAR"), text(el, "TO_YEAR")
        if start and end and _YEAR.match(start) and _YEAR.match(end):
            entity.add("birthDate", f"{start}/{end}" if start != end else start)
        else:
            entity.add("notes", f"Date of birth between {start} and {end}")
    found = False
    for raw in (text(el, "DATE"), text(el, "YEAR")):
        if raw:
            value = _date(raw)
            entity.add("birthDate", value)
            entity.add("notes", None if value else f"Date of birth: {raw}")
            found = True
    if note and note.lower() != "approximately":
        parsed = [] if found else parse_ofac_date(note)
        if parsed:
            entity.add("birthDate", *parsed)
        else:
            entity.add("notes", f"Date of birth: {note}")


def _document(entity: Entity, el: etree._Element) -> None:
    doc_type = text(el, "TYPE_OF_DOCUMENT") or ""
    detail = text(el, "TYPE_OF_DOCUMENT2")
    number = text(el, "NUMBER")
    label = doc_type or detail or "document"
    facts = [
        detail if doc_type else None,
        text(el, "ISSUING_COUNTRY"),
        text(el, "COUNTRY_OF_ISSUE"),
        text(el, "CITY_OF_ISSUE"),
        f"issued {text(el, 'DATE_OF_ISSUE')}" if text(el, "DATE_OF_ISSUE") else None,
        text(el, "NOTE"),
    ]
    info = "; ".join(f for f in facts if f)
    if number:
        prop = DOCUMENT_PROPERTIES.get(doc_type.lower(), "idNumber")
        entity.add(prop, number)
        entity.add("identifier", f"{label}:{number}")
        entity.add("notes", f"{label} {number}: {info}" if info else None)
    elif info:
        entity.add("notes", f"{label}: {info}")


def _date(value: str | None) -> str | None:
    """ISO date text (``2012-12-31``, ``2008-05-06-04:00``, ``…T00:00:09Z``) to ``YYYY-MM-DD``."""
    if not value:
        return None
    m = _ISO_DATE.match(value.strip())
    if not m:
        return None
    year, month, day = (int(p) if p else None for p in m.groups())
    return iso_date(year or 0, month, day if month else None)


FORMAT = UnXmlFormat()
