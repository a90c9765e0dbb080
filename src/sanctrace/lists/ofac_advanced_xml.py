"""OFAC advanced XML lists: ``sdn_advanced.xml`` / ``cons_advanced.xml`` (root ``Sanctions``).

The advanced format is normalised: a party's names, features (birth dates, nationalities,
digital currency addresses …) and identity documents point by numeric ID at lookup tables
(``ReferenceValueSets``), at shared ``Locations``, at ``IDRegDocuments`` (keyed by identity) and
at ``SanctionsEntries`` (keyed by profile). The IDs are never hard-coded here: every label is
looked up in the file's own reference values.

Streaming with bounded memory takes two passes over the file:

1. collect the reference values, the locations (as one-line addresses and country names),
   the identity documents by identity ID and the sanctions entries by profile ID, skipping
   (and freeing) the distinct parties;
2. stream ``DistinctParties/DistinctParty`` and build one entity per party, stopping once the
   ``DistinctParties`` section ends.

Only the compact lookups of pass 1 are held in memory, never the parties' XML.

Mapping: party sub-type (or, when that is "Unknown", party type) Individual → Person,
Entity → LegalEntity, Vessel → Vessel, Aircraft → Airplane. Aliases flagged ``Primary`` →
primary names; A.K.A. → alias (weakAlias when ``LowQuality``), F.K.A. → previousName,
N.K.A. → alias; each documented name (one per script) is a separate name. Name parts are
joined given-name first (first, middle, patronymic, matronymic, last) so names read like the
classic XML's ``firstName lastName``; other part types follow in master-group order. Features
and documents map like the classic parser (``add_fact`` / ``add_document``); sanctions entries
give ``program`` (measures of type Program), ``createdAt`` (earliest entry event date) and
``notes``. Profile relationships are not read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from sanctrace.lists.base import ParseError, ParseReport
from sanctrace.lists.dates import iso_date
from sanctrace.lists.ofac_xml import (
    DATE_PROPERTIES,
    FACT_PROPERTIES,
    SCHEMAS,
    add_document,
    add_fact,
    require_root,
)
from sanctrace.lists.xmlsafe import findall, iter_elements, root_name, text, where
from sanctrace.model import Entity, NameKind

KNOWN_NAMESPACES = ("ADVANCED_XML", "un.org/sanctions")
ALIAS_KINDS = {"a.k.a.": NameKind.ALIAS, "f.k.a.": NameKind.FORMER, "n.k.a.": NameKind.ALIAS}
# Name part types in reading order; unlisted types follow in master name-part-group order.
GIVEN_FIRST = {
    "first name": 0,
    "middle name": 1,
    "patronymic": 2,
    "matronymic": 3,
    "last name": 4,
    "maiden name": 5,
}
ADDRESS_PARTS = {
    "address1": 0,
    "address2": 1,
    "address3": 2,
    "city": 3,
    "state/province": 4,
    "postal code": 5,
    "region": 6,
}
# Features whose location stands for a country rather than an address.
COUNTRY_PROPERTIES = {"nationality", "citizenship", "flag", "pastFlags", "jurisdiction"}
OTHER_SECTIONS = {"ReferenceValueSets", "Location", "IDRegDocument", "SanctionsEntry"}


@dataclass(slots=True)
class _Place:
    address: str | None
    countries: tuple[str, ...]


@dataclass(slots=True)
class _Listing:
    programs: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Lookups:
    """What pass 1 collects; ``refs`` maps a reference set's item tag to ID -> element copy."""

    refs: dict[str, dict[str, tuple[str, dict[str, str]]]] = field(default_factory=dict)
    places: dict[str, _Place] = field(default_factory=dict)
    documents: dict[str, list[tuple[str, str, str | None]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    listings: dict[str, _Listing] = field(default_factory=dict)

    def label(self, kind: str, ref_id: str | None) -> str:
        """Text of reference value ``ref_id`` of type ``kind`` (``"FeatureType"`` …), or ''."""
        return self.refs.get(kind, {}).get(ref_id or "", ("", {}))[0]

    def attr(self, kind: str, ref_id: str | None, name: str) -> str | None:
        return self.refs.get(kind, {}).get(ref_id or "", ("", {}))[1].get(name)


class OfacAdvancedXmlFormat:
    """OFAC's advanced XML (``sdn_advanced.xml``, ``cons_advanced.xml``)."""

    name = "ofac_advanced_xml"
    default_source = "us_ofac_sdn"
    description = "OFAC SDN / consolidated advanced XML (sdn_advanced.xml, cons_advanced.xml)"

    def sniff(self, path: Path, head: bytes) -> bool:
        root = root_name(head)
        if root is None or root[1] != "Sanctions":
            return False
        ns = root[0] or ""
        return any(k in ns for k in KNOWN_NAMESPACES) or b"ReferenceValueSets" in head

    def parse(self, paths: list[Path], source: str, report: ParseReport) -> Iterator[Entity]:
        for path in paths:
            require_root(path, "Sanctions")
            lookups = _collect(path, report)
            yield from _parties(path, source, lookups, report)


FORMAT = OfacAdvancedXmlFormat()


# ---------------------------------------------------------------------------------- pass 1


def _collect(path: Path, report: ParseReport) -> _Lookups:
    lk = _Lookups()
    for el in iter_elements(path, {"DateOfIssue", "DistinctParty", *OTHER_SECTIONS}):
        tag = el.tag
        if tag == "DateOfIssue":
            report.version = _ymd(el) or report.version
        elif tag == "ReferenceValueSets":
            for item in el.iterfind("*/*"):
                ref_id = item.get("ID")
                if ref_id:
                    value = (text(item) or "", {k: str(v) for k, v in item.attrib.items()})
                    lk.refs.setdefault(str(item.tag), {})[ref_id] = value
        elif tag == "Location" and el.get("ID"):
            lk.places[el.get("ID")] = _place(el, lk)
        elif tag == "IDRegDocument":
            number = text(el, "IDRegistrationNo")
            if number and el.get("IdentityID"):
                doc_type = lk.label("IDRegDocType", el.get("IDRegDocTypeID")) or "ID"
                country = lk.label("Country", el.get("IssuedBy-CountryID")) or None
                lk.documents[el.get("IdentityID")].append((doc_type, number, country))
        elif tag == "SanctionsEntry" and el.get("ProfileID"):
            _listing(el, lk.listings.setdefault(el.get("ProfileID"), _Listing()), lk)
    if not lk.refs:
        raise ParseError(path, None, "no ReferenceValueSets: not an OFAC advanced XML file")
    return lk


def _place(el: etree._Element, lk: _Lookups) -> _Place:
    countries = [lk.label("Country", c.get("CountryID")) for c in el.iterfind("LocationCountry")]
    for area in el.iterfind("LocationAreaCode"):
        ref = area.get("AreaCodeID")
        countries.append(lk.attr("AreaCode", ref, "Description") or lk.label("AreaCode", ref))
    parts: list[tuple[int, int, str]] = []
    for pos, part in enumerate(el.iterfind("LocationPart")):
        kind = lk.label("LocPartType", part.get("LocPartTypeID")).lower()
        values = part.findall("LocationPartValue")
        chosen = [v for v in values if v.get("Primary") == "true"] or values
        value = text(chosen[0], "Value") if chosen else None
        if value:
            parts.append((ADDRESS_PARTS.get(kind, len(ADDRESS_PARTS)), pos, value))
    countries = [c for c in dict.fromkeys(countries) if c]
    line = [v for _, _, v in sorted(parts)] + countries
    return _Place(", ".join(line) or None, tuple(countries))


def _listing(el: etree._Element, listing: _Listing, lk: _Lookups) -> None:
    for event in el.iterfind("EntryEvent"):
        date = event.find("Date")
        iso = _ymd(date) if date is not None else None
        if iso:
            listing.dates.append(iso)
    for measure in el.iterfind("SanctionsMeasure"):
        comment = text(measure, "Comment")
        kind = lk.label("SanctionsType", measure.get("SanctionsTypeID"))
        if comment and kind.lower() == "program":
            listing.programs.append(comment)
        elif comment:
            listing.notes.append(comment)


# ---------------------------------------------------------------------------------- pass 2


def _parties(path: Path, source: str, lk: _Lookups, report: ParseReport) -> Iterator[Entity]:
    for el in iter_elements(path, {"DistinctParty", "DistinctParties", *OTHER_SECTIONS}):
        if el.tag == "DistinctParties":
            return
        if el.tag == "DistinctParty":
            yield _party(path, el, source, lk, report)


def _party(
    path: Path, el: etree._Element, source: str, lk: _Lookups, report: ParseReport
) -> Entity:
    ref = el.get("FixedRef")
    profiles = el.findall("Profile")
    if not ref or not profiles:
        raise ParseError(path, where(el), "DistinctParty without FixedRef or Profile")
    entity = Entity(
        id=f"{source}:{ref}",
        schema=_schema(path, profiles[0], lk, report),
        source=source,
        source_id=ref,
    )
    entity.add("notes", text(el, "Comment"))
    for profile in profiles:
        entity.add("notes", text(profile, "Comment"))
        for identity in profile.iterfind("Identity"):
            _names(entity, identity, lk)
            for doc_type, number, country in lk.documents.get(identity.get("ID") or "", ()):
                if not add_fact(entity, doc_type, number):
                    add_document(entity, doc_type, number, country)
        for feature in profile.iterfind("Feature"):
            _feature(entity, feature, lk)
        listing = lk.listings.get(profile.get("ID") or "")
        if listing is not None:
            entity.add("program", *listing.programs)
            entity.add("notes", *listing.notes)
            if listing.dates:
                entity.add("createdAt", min(listing.dates))
    if not entity.names:
        report.warn(f"{path.name}:{where(el)}: party {ref} has no name")
    return entity


def _schema(path: Path, profile: etree._Element, lk: _Lookups, report: ParseReport) -> str:
    sub_id = profile.get("PartySubTypeID")
    schema = SCHEMAS.get(lk.label("PartySubType", sub_id).lower())
    if schema is None:
        party_type = lk.label("PartyType", lk.attr("PartySubType", sub_id, "PartyTypeID"))
        schema = SCHEMAS.get(party_type.lower())
    if schema is None:
        report.warn(f"{path.name}:{where(profile)}: party sub-type {sub_id!r} unknown; LegalEntity")
        schema = "LegalEntity"
    return schema


def _names(entity: Entity, identity: etree._Element, lk: _Lookups) -> None:
    groups: dict[str, tuple[int, int]] = {}
    for pos, group in enumerate(identity.iterfind("NamePartGroups/MasterNamePartGroup/*")):
        kind = lk.label("NamePartType", group.get("NamePartTypeID")).lower()
        groups[group.get("ID") or ""] = (GIVEN_FIRST.get(kind, 10), pos)
    for alias in identity.iterfind("Alias"):
        if alias.get("Primary") == "true":
            kind = NameKind.PRIMARY
        else:
            alias_type = lk.label("AliasType", alias.get("AliasTypeID")).lower()
            kind = ALIAS_KINDS.get(alias_type, NameKind.ALIAS)
            if kind == NameKind.ALIAS and alias.get("LowQuality") == "true":
                kind = NameKind.WEAK_ALIAS
        for documented in alias.iterfind("DocumentedName"):
            parts = []
            for pos, value in enumerate(findall(documented, "DocumentedNamePart/NamePartValue")):
                rank = groups.get(value.get("NamePartGroupID") or "", (10, 1000))
                parts.append((rank, pos, text(value) or ""))
            entity.add_name(" ".join(v for _, _, v in sorted(parts) if v), kind)


def _feature(entity: Entity, feature: etree._Element, lk: _Lookups) -> None:
    label = lk.label("FeatureType", feature.get("FeatureTypeID")) or "Feature"
    prop = FACT_PROPERTIES.get(" ".join(label.lower().split()))
    for version in feature.iterfind("FeatureVersion"):
        for period in version.iterfind("DatePeriod"):
            value = _period(period)
            if value and prop in DATE_PROPERTIES:
                entity.add(prop, value)
            elif value:
                _fact(entity, label, value, iso=True)
        for loc in version.iterfind("VersionLocation"):
            place = lk.places.get(loc.get("LocationID") or "")
            if place is None:
                continue
            if prop == "address":
                entity.add("address", place.address)
                entity.add("country", *place.countries)
            elif prop in COUNTRY_PROPERTIES and place.countries:
                entity.add(prop, *place.countries)
            elif place.address:
                _fact(entity, label, place.address)
        for detail in version.iterfind("VersionDetail"):
            value = text(detail) or lk.label("DetailReference", detail.get("DetailReferenceID"))
            if value:
                _fact(entity, label, value)


def _fact(entity: Entity, label: str, value: str, iso: bool = False) -> None:
    if not add_fact(entity, label, value, iso_dates=iso):
        entity.add("notes", f"{label}: {value}")


# ---------------------------------------------------------------------------------- dates


def _parts(el: etree._Element | None) -> tuple[int, int, int] | None:
    """(year, month, day) of an element with Year/Month/Day children; None if unusable."""
    if el is None:
        return None
    values = [text(el, k) for k in ("Year", "Month", "Day")]
    if not values[0]:
        return None
    try:
        year, month, day = (int(v) if v else 0 for v in values)
    except ValueError:
        return None
    if not (1 <= year <= 9999 and 0 <= month <= 12 and 0 <= day <= 31):
        return None
    return year, month, day


def _ymd(el: etree._Element | None) -> str | None:
    """ISO text of a Year/Month/Day element (``DateOfIssue``, ``EntryEvent/Date``)."""
    parts = _parts(el)
    return iso_date(parts[0], parts[1] or None, parts[2] or None) if parts else None


def _period(period: etree._Element) -> str | None:
    """A ``DatePeriod`` as ISO text: a day, a month, a year, or a ``start/end`` interval."""
    start = _parts(period.find("Start/From")) or _parts(period.find("Start/To"))
    end = _parts(period.find("End/To")) or _parts(period.find("End/From")) or start
    if start is None or end is None:
        return None
    first, last = iso_date(*start), iso_date(*end)
    if first is None or last is None:
        return None
    if first == last:
        return first
    (y1, m1, d1), (y2, m2, d2) = start, end
    if (m1, d1) == (1, 1) and (m2, d2) == (12, 31):
        return f"{y1:04d}" if y1 == y2 else f"{y1:04d}/{y2:04d}"
    if y1 == y2 and m1 == m2 and d1 == 1 and iso_date(y2, m2, d2 + 1) is None:
        return f"{y1:04d}-{m1:02d}"
    return f"{first}/{last}"
