"""EU Financial Sanctions Files (FSF), XML edition (schema 1.1).

Root ``export`` in namespace ``http://eu.europa.eu/fpi/fsd/export`` (attribute
``generationDate``) holds ``sanctionEntity`` records, keyed by ``logicalId`` and carrying the
EU reference number (``euReferenceNumber``) and, for UN-derived listings, the UN reference
(``unitedNationId``). Almost everything is in attributes of child elements: ``nameAlias``
(the first is the primary name; ``strong="false"`` marks a weak alias), ``citizenship``,
``birthdate``, ``identification``, ``address``, and ``regulation`` (programme and dates).
Country codes are ISO 3166-1 alpha-2, ``00`` meaning unknown; they are stored lower-case as
FtM expects, the printed description being used only when no code is given.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from sanctrace.lists.base import ParseError, ParseReport
from sanctrace.lists.dates import iso_date
from sanctrace.lists.xmlsafe import findall, iter_elements, localname, root_name, text, where
from sanctrace.model import Entity, NameKind

NAMESPACE = "http://eu.europa.eu/fpi/fsd/export"
ROOT = "export"
RECORD = "sanctionEntity"

SCHEMAS = {"person": "Person", "enterprise": "LegalEntity"}
GENDERS = {"m": "male", "f": "female"}
# identificationTypeCode -> FtM property (everything also goes to ``identifier``).
ID_PROPERTIES = {
    "passport": "passportNumber",
    "id": "idNumber",
    "ssn": "idNumber",
    "fiscalcode": "taxNumber",
    "tax": "taxNumber",
    "regnumber": "registrationNumber",
    "swiftbic": "swiftBic",
    "imo": "imoNumber",
}
# Russian identifiers, told apart by the type description.
_RUSSIAN_IDS = (
    (re.compile(r"\bOGRN", re.IGNORECASE), "ogrnCode"),
    (re.compile(r"\bINN\b", re.IGNORECASE), "innCode"),
)
ID_FLAGS = ("diplomatic", "knownExpired", "knownFalse", "reportedLost", "revokedByIssuer")
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_YEAR = re.compile(r"^\d{4}$")
_SMALL_INT = re.compile(r"^\d{1,2}$")


class EuFsfXmlFormat:
    """EU consolidated financial sanctions list (FSF XML, ``export`` root)."""

    name = "eu_fsf_xml"
    default_source = "eu_fsf"
    description = "EU Financial Sanctions Files consolidated list, XML"

    def sniff(self, path: Path, head: bytes) -> bool:
        root = root_name(head)
        if root is None or root[1] != ROOT:
            return False
        return root[0] == NAMESPACE or b"sanctionEntity" in head

    def parse(self, paths: list[Path], source: str, report: ParseReport) -> Iterator[Entity]:
        for path in paths:
            yield from _parse_file(path, source, report)


def _parse_file(path: Path, source: str, report: ParseReport) -> Iterator[Entity]:
    seen_root = False
    for el in iter_elements(path, (RECORD, ROOT)):
        if not seen_root:
            root = el.getroottree().getroot()
            if localname(root) != ROOT:
                raise ParseError(path, where(el), f"root is <{localname(root)}>, not <{ROOT}>")
            seen_root = True
            generated = root.get("generationDate") or ""
            version = _date(generated)
            if version:
                report.version = version
            else:
                report.warn(f"{path.name}: no usable generationDate ({generated!r})")
        if el.tag == ROOT:
            continue
        yield _record(path, el, source, report)
    if not seen_root:
        raise ParseError(path, None, f"no <{ROOT}> element: not an EU FSF export")


def _record(path: Path, el: etree._Element, source: str, report: ParseReport) -> Entity:
    logical_id = (el.get("logicalId") or "").strip()
    if not logical_id.isdigit():
        raise ParseError(path, where(el), "<sanctionEntity> without a numeric logicalId")
    subject = el.find("subjectType")
    code = (subject.get("code") or "").lower() if subject is not None else ""
    schema = SCHEMAS.get(code)
    if schema is None:
        classification = (subject.get("classificationCode") or "") if subject is not None else ""
        schema = {"P": "Person", "E": "LegalEntity"}.get(classification.upper(), "LegalEntity")
        report.warn(f"{path.name}:{where(el)}: subject type {code!r} read as {schema}")
    entity = Entity(
        id=f"{source}:{logical_id}",
        schema=schema,
        source=source,
        source_id=logical_id,
    )
    _names(entity, el)
    if not entity.names:
        raise ParseError(path, where(el), f"<sanctionEntity> {logical_id} has no name")
    eu_ref = _attr(el, "euReferenceNumber")
    entity.add("identifier", f"euReferenceNumber:{eu_ref}" if eu_ref else None)
    entity.add("unscId", _attr(el, "unitedNationId"))
    entity.add("notes", _attr(el, "designationDetails"))
    for remark in findall(el, "remark"):
        entity.add("notes", text(remark))
    _regulations(entity, el)
    for cit in findall(el, "citizenship"):
        entity.add("nationality", _country(cit))
    for dob in findall(el, "birthdate"):
        _birth(entity, dob)
    for ident in findall(el, "identification"):
        _identification(entity, ident)
    for address in findall(el, "address"):
        _address(entity, address)
    return entity


def _names(entity: Entity, el: etree._Element) -> None:
    for index, alias in enumerate(findall(el, "nameAlias")):
        whole = _attr(alias, "wholeName")
        if not whole:
            parts = (_attr(alias, a) for a in ("firstName", "middleName", "lastName"))
            whole = " ".join(p for p in parts if p)
        if index == 0:
            kind = NameKind.PRIMARY
        elif (alias.get("strong") or "true").strip().lower() == "false":
            kind = NameKind.WEAK_ALIAS
        else:
            kind = NameKind.ALIAS
        lang = _attr(alias, "nameLanguage")
        entity.add_name(whole, kind, lang=lang.lower() if lang else None)
        entity.add("title", _attr(alias, "title"))
        entity.add("position", _attr(alias, "function"))
        entity.add("gender", GENDERS.get((_attr(alias, "gender") or "").lower()))


def _regulations(entity: Entity, el: etree._Element) -> None:
    published: list[str] = []
    for reg in findall(el, "regulation"):
        entity.add("program", _attr(reg, "programme"))
        date = _date(_attr(reg, "publicationDate"))
        if date:
            published.append(date)
        entity.add("sourceUrl", text(reg, "publicationUrl") or _attr(reg, "publicationUrl"))
        facts = [_attr(reg, "numberTitle"), f"published {date}" if date else None]
        in_force = _date(_attr(reg, "entryIntoForceDate"))
        facts.append(f"in force {in_force}" if in_force else None)
        if facts[0]:
            entity.add("notes", "Regulation " + ", ".join(f for f in facts if f))
    if published:
        published.sort()
        entity.add("createdAt", published[0])
        if published[-1] != published[0]:
            entity.add("modifiedAt", published[-1])


def _birth(entity: Entity, el: etree._Element) -> None:
    value = _date(_attr(el, "birthdate"))
    if value is None:
        year = _attr(el, "year") or ""
        month = _attr(el, "monthOfYear") or ""
        day = _attr(el, "dayOfMonth") or ""
        if _YEAR.match(year):
            m = int(month) if _SMALL_INT.match(month) else None
            d = int(day) if m and _SMALL_INT.match(day) else None
            value = iso_date(int(year), m, d)
    if value is None:
        start, end = _attr(el, "yearRangeFrom") or "", _attr(el, "yearRangeTo") or ""
        if _YEAR.match(start) and _YEAR.match(end):
            value = start if start == end else f"{start}/{end}"
    entity.add("birthDate", value)
    if value and (el.get("circa") or "").strip().lower() == "true":
        entity.add("notes", f"Date of birth {value} is approximate")
    calendar = (_attr(el, "calendarType") or "GREGORIAN").upper()
    if calendar != "GREGORIAN":
        entity.add("notes", f"Date of birth calendar: {calendar}")
    parts = [_attr(el, a) for a in ("place", "city", "region")]
    if (_attr(el, "countryIsoCode") or "00") != "00":
        parts.append(_attr(el, "countryDescription"))
    entity.add("birthPlace", ", ".join(p for p in parts if p))
    entity.add("birthCountry", _country(el))


def _identification(entity: Entity, el: etree._Element) -> None:
    number = _attr(el, "number") or _attr(el, "latinNumber")
    if not number:
        return
    code = (_attr(el, "identificationTypeCode") or "other").lower()
    description = _attr(el, "identificationTypeDescription") or ""
    prop = ID_PROPERTIES.get(code, "idNumber")
    for pattern, russian in _RUSSIAN_IDS:
        if pattern.search(description):
            prop = russian
            break
    entity.add(prop, number)
    entity.add("identifier", f"{code}:{number}")
    facts = [description, _attr(el, "countryDescription")]
    facts += [f"issued {v}" for v in [_attr(el, "issuedDate")] if v]
    facts += [f"valid until {v}" for v in [_attr(el, "validTo")] if v]
    facts += [flag for flag in ID_FLAGS if (el.get(flag) or "").strip().lower() == "true"]
    facts += [text(remark) for remark in findall(el, "remark")]
    entity.add("notes", f"{code} {number}: " + "; ".join(f for f in facts if f))


def _address(entity: Entity, el: etree._Element) -> None:
    parts = [_attr(el, a) for a in ("street", "poBox", "zipCode", "city", "place", "region")]
    code = _attr(el, "countryIsoCode") or "00"
    if code != "00":
        parts.append(_attr(el, "countryDescription"))
    line = ", ".join(p for p in parts if p)
    entity.add("address", line)
    entity.add("country", _country(el))
    entity.add(
        "notes", f"Contact {line}: {_attr(el, 'contactInfo')}" if el.get("contactInfo") else None
    )


def _country(el: etree._Element) -> str | None:
    """Lower-case ISO code; the description when there is no code; None when unknown."""
    code = (_attr(el, "countryIsoCode") or "").lower()
    if code and code != "00":
        return code
    description = _attr(el, "countryDescription")
    return None if not description or description.upper() == "UNKNOWN" else description


def _attr(el: etree._Element, name: str) -> str | None:
    value = el.get(name)
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def _date(value: str | None) -> str | None:
    """ISO date text (``2022-02-23``, ``2026-02-20T17:42:11.503+01:00``) to ``YYYY-MM-DD``."""
    if not value:
        return None
    m = _ISO_DATE.match(value.strip())
    if not m:
        return None
    year, month, day = (int(p) if p else None for p in m.groups())
    return iso_date(year or 0, month, day if month else None)


FORMAT = EuFsfXmlFormat()
