"""OFAC classic XML lists: ``sdn.xml`` and ``consolidated.xml`` (root ``sdnList``).

Both files share one schema; the namespace has changed over the years
(``http://tempuri.org/sdnList.xsd``, then the sanctions list service's ``…/exports/XML``), so
elements are matched by local name only. Each ``sdnEntry`` becomes one entity:

* ``sdnType`` Individual → Person, Entity → LegalEntity, Vessel → Vessel, Aircraft → Airplane
  (as the OFAC CSV parser does); id ``{source}:{uid}``.
* Primary name ``firstName lastName``; a.k.a. strong → alias, weak → weakAlias,
  f.k.a. → previousName, n.k.a. → alias.
* ``idList/id`` entries are either identity documents (``passportNumber``, ``taxNumber`` —
  ``innCode`` when issued by Russia —, ``registrationNumber``/``ogrnCode``, ``imoNumber``,
  ``swiftBic``, ``mmsi``, else ``idNumber``; each also kept whole as ``identifier``
  ``"idType:idNumber"``) or labelled facts OFAC files there too: digital currency addresses
  (→ ``Entity.crypto`` via ``parse_address``), e-mail, website, gender, dates, and sanctions
  annotations ("Secondary sanctions risk: …", kept in ``notes``).
* Dates of birth become ISO text (``YYYY-MM-DD``, ``YYYY-MM``, ``YYYY``, ranges ``A/B``).

The helpers :func:`add_document` and :func:`add_fact` are shared with the advanced XML parser so
both formats map the same information to the same properties.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from sanctrace.lists.base import ParseError, ParseReport, read_head
from sanctrace.lists.dates import iso_date, parse_ofac_date
from sanctrace.lists.xmlsafe import findall, iter_elements, root_name, text, texts, where
from sanctrace.model import Entity, NameKind

SCHEMAS = {
    "individual": "Person",
    "entity": "LegalEntity",
    "vessel": "Vessel",
    "aircraft": "Airplane",
}
AKA_KINDS = {"a.k.a.": NameKind.ALIAS, "f.k.a.": NameKind.FORMER, "n.k.a.": NameKind.ALIAS}
CRYPTO_PREFIX = "digital currency address - "

# Document type (lower-case, matched as a prefix) -> FtM property; first match wins.
DOCUMENT_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("vessel registration identification", "imoNumber"),
    ("passport", "passportNumber"),
    ("diplomatic passport", "passportNumber"),
    ("tax id", "taxNumber"),
    ("swift/bic", "swiftBic"),
    ("swift", "swiftBic"),
    ("mmsi", "mmsi"),
    ("registration", "registrationNumber"),
    ("business registration", "registrationNumber"),
    ("company number", "registrationNumber"),
    ("government gazette number", "registrationNumber"),
    ("commercial registry number", "registrationNumber"),
)
# Russian tax and registration numbers are INN and OGRN codes.
RUSSIAN_DOCUMENTS = {"taxNumber": "innCode", "registrationNumber": "ogrnCode"}
_IMO_RE = re.compile(r"\bIMO\b", re.IGNORECASE)

# Labelled facts (classic idType / advanced FeatureType, lower-case) -> FtM property.
FACT_PROPERTIES = {
    "birthdate": "birthDate",
    "place of birth": "birthPlace",
    "nationality country": "nationality",
    "citizenship country": "citizenship",
    "location": "address",
    "gender": "gender",
    "title": "title",
    "website": "website",
    "email address": "email",
    "phone number": "phone",
    "vessel call sign": "callSign",
    "vessel type": "type",
    "vessel flag": "flag",
    "former vessel flag": "pastFlags",
    "vessel owner": "owner",
    "vessel tonnage": "tonnage",
    "vessel gross registered tonnage": "grossRegisteredTonnage",
    "vessel deadweight tonnage": "deadweightTonnage",
    "vessel year of build": "buildDate",
    "aircraft model": "model",
    "aircraft manufacture date": "buildDate",
    "aircraft manufacturer's serial number (msn)": "serialNumber",
    "aircraft construction number (also called l/n or s/n or f/n)": "serialNumber",
    "organization established date": "incorporationDate",
    "organization type": "sector",
    "nationality of registration": "jurisdiction",
}
DATE_PROPERTIES = {"birthDate", "incorporationDate", "buildDate"}
# Annotation labels (sanctions notes rather than identifiers) contain one of these.
NOTE_MARKERS = (
    "sanction",
    "directive",
    "executive order",
    "prohibited",
    "caatsa",
    "ifca",
    "target type",
    "listing date",
    "effective date",
)


class OfacXmlFormat:
    """OFAC's classic SDN / consolidated XML (``sdn.xml``, ``consolidated.xml``)."""

    name = "ofac_xml"
    default_source = "us_ofac_sdn"
    description = "OFAC SDN / consolidated classic XML (sdn.xml, consolidated.xml)"

    def sniff(self, path: Path, head: bytes) -> bool:
        root = root_name(head)
        return root is not None and root[1] == "sdnList"

    def parse(self, paths: list[Path], source: str, report: ParseReport) -> Iterator[Entity]:
        for path in paths:
            yield from _parse_file(path, source, report)


FORMAT = OfacXmlFormat()


def _parse_file(path: Path, source: str, report: ParseReport) -> Iterator[Entity]:
    require_root(path, "sdnList")
    for el in iter_elements(path, {"publshInformation", "sdnEntry"}):
        if el.tag == "publshInformation":
            _read_version(path, text(el, "Publish_Date"), report)
        else:
            yield _entry(path, el, source, report)


def require_root(path: Path, name: str) -> None:
    """Fail early, before streaming, when the document's root element is not ``name``."""
    try:
        root = root_name(read_head(path))
    except zlib.error as exc:
        raise ParseError(path, None, f"cannot read: {exc}") from exc
    if root is None or root[1] != name:
        found = f"<{root[1]}>" if root else "no XML root element"
        raise ParseError(path, None, f"expected a <{name}> document, found {found}")


def _read_version(path: Path, value: str | None, report: ParseReport) -> None:
    if not value:
        return
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)
    iso = iso_date(int(m.group(3)), int(m.group(1)), int(m.group(2))) if m else None
    if iso is None:
        report.warn(f"{path.name}: Publish_Date {value!r} is not MM/DD/YYYY; kept as printed")
    report.version = iso or value


def _entry(path: Path, el: etree._Element, source: str, report: ParseReport) -> Entity:
    uid = text(el, "uid")
    if not uid:
        raise ParseError(path, where(el), "sdnEntry without uid")
    sdn_type = text(el, "sdnType") or ""
    schema = SCHEMAS.get(sdn_type.lower())
    if schema is None:
        report.warn(f"{path.name}:{where(el)}: uid {uid} has sdnType {sdn_type!r}; LegalEntity")
        schema = "LegalEntity"
    entity = Entity(id=f"{source}:{uid}", schema=schema, source=source, source_id=uid)
    entity.add_name(_full_name(el), NameKind.PRIMARY)
    if not entity.names:
        report.warn(f"{path.name}:{where(el)}: uid {uid} has no name")
    entity.add("title", text(el, "title"))
    entity.add("notes", text(el, "remarks"))
    entity.add("program", *texts(el, "programList/program"))
    for aka in findall(el, "akaList/aka"):
        kind = AKA_KINDS.get((text(aka, "type") or "").lower(), NameKind.ALIAS)
        if kind == NameKind.ALIAS and (text(aka, "category") or "").lower() == "weak":
            kind = NameKind.WEAK_ALIAS
        entity.add_name(_full_name(aka), kind)
    for item in findall(el, "idList/id"):
        label, number = text(item, "idType") or "ID", text(item, "idNumber")
        if number and not add_fact(entity, label, number):
            add_document(entity, label, number, text(item, "idCountry"))
    for address in findall(el, "addressList/address"):
        entity.add("address", join_address(address))
        entity.add("country", text(address, "country"))
    entity.add("nationality", *texts(el, "nationalityList/nationality/country"))
    entity.add("citizenship", *texts(el, "citizenshipList/citizenship/country"))
    for raw in texts(el, "dateOfBirthList/dateOfBirthItem/dateOfBirth"):
        dates = ofac_dates(raw)
        if not dates:
            report.warn(f"{path.name}:{where(el)}: uid {uid} date of birth {raw!r} not understood")
            entity.add("notes", f"Date of birth: {raw}")
        entity.add("birthDate", *dates)
    entity.add("birthPlace", *texts(el, "placeOfBirthList/placeOfBirthItem/placeOfBirth"))
    vessel = el.find("vesselInfo")
    if vessel is not None:
        entity.add("callSign", text(vessel, "callSign"))
        entity.add("type", text(vessel, "vesselType"))
        entity.add("flag", text(vessel, "vesselFlag"))
        entity.add("owner", text(vessel, "vesselOwner"))
        entity.add("tonnage", text(vessel, "tonnage"))
        entity.add("grossRegisteredTonnage", text(vessel, "grossRegisteredTonnage"))
    return entity


def _full_name(el: etree._Element) -> str | None:
    parts = [text(el, "firstName"), text(el, "lastName")]
    return " ".join(p for p in parts if p) or None


ADDRESS_FIELDS = ("address1", "address2", "address3", "city", "stateOrProvince", "postalCode")


def join_address(address: etree._Element) -> str | None:
    """One line from an ``address`` element: street lines, city, state, postcode, country."""
    parts = [text(address, f) for f in (*ADDRESS_FIELDS, "region", "country")]
    return ", ".join(p for p in parts if p) or None


def ofac_dates(raw: str) -> list[str]:
    """ISO dates of an OFAC date text; ``A to B`` ranges with full dates become ``A/B``."""
    dates = parse_ofac_date(raw)
    if dates or " to " not in raw:
        return dates
    start, _, end = raw.partition(" to ")
    first, last = parse_ofac_date(start), parse_ofac_date(end)
    if not first or not last:
        return []
    if first[0].endswith("-01-01") and last[0].endswith("-12-31"):
        years = (first[0][:4], last[0][:4])  # whole years
        return [years[0] if years[0] == years[1] else "/".join(years)]
    return [f"{first[0]}/{last[0]}"]


def add_document(entity: Entity, doc_type: str, number: str, country: str | None = None) -> None:
    """An identity/registration document: a typed property plus ``identifier`` type:number."""
    number = " ".join(number.split())
    if not number:
        return
    low = doc_type.lower().strip()
    prop = "idNumber"
    if _IMO_RE.search(doc_type) or number.upper().startswith("IMO"):
        prop = "imoNumber"
    else:
        for prefix, candidate in DOCUMENT_PROPERTIES:
            if low.startswith(prefix):
                prop = candidate
                break
    value = number
    if prop == "imoNumber":
        digits = re.sub(r"\D", "", number)
        value = f"IMO{digits}" if len(digits) == 7 else number
    elif country and country.strip().lower() in ("russia", "russian federation"):
        prop = RUSSIAN_DOCUMENTS.get(prop, prop)
    entity.add(prop, value)
    entity.add("identifier", f"{doc_type}:{number}")


def add_fact(entity: Entity, label: str, value: str, *, iso_dates: bool = False) -> bool:
    """A labelled fact (classic id entry or advanced feature); False when it is a document.

    Digital currency addresses go to ``entity.crypto``; known labels to their FtM property
    (dates parsed unless ``iso_dates`` says they already are ISO); sanctions annotations to
    ``notes``.
    """
    low = " ".join(label.lower().split())
    value = " ".join(value.split())
    if not value:
        return True
    if low.startswith(CRYPTO_PREFIX):
        from sanctrace.chain.addresses import parse_address

        asset = low[len(CRYPTO_PREFIX) :].strip().upper()
        entity.crypto.append(parse_address(asset, value))
        return True
    prop = FACT_PROPERTIES.get(low)
    if prop is not None:
        if prop in DATE_PROPERTIES and not iso_dates:
            dates = ofac_dates(value)
            if dates:
                entity.add(prop, *dates)
            else:
                entity.add("notes", f"{label}: {value}")
        elif prop == "gender":
            entity.add(prop, value.lower())
        else:
            entity.add(prop, value)
        return True
    if low.endswith((":", "-")) or any(marker in low for marker in NOTE_MARKERS):
        sep = " " if low.endswith((":", "-")) else ": "
        entity.add("notes", f"{label.strip()}{sep}{value}")
        return True
    return False
