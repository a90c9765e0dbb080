"""OFAC classic and advanced XML parsers, and the safe XML reader they share."""

from __future__ import annotations

import copy
import gzip
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanctrace.lists import xmlsafe
from sanctrace.lists.base import ParseError, ParseReport, read_head
from sanctrace.lists.ofac_advanced_xml import FORMAT as ADVANCED
from sanctrace.lists.ofac_xml import FORMAT as CLASSIC
from sanctrace.lists.ofac_xml import ofac_dates
from sanctrace.lists.registry import get_format
from sanctrace.model import Entity, NameKind

DIR = Path(__file__).resolve().parent / "fixtures" / "lists" / "ofac_xml"
SDN = DIR / "sdn.xml"
SDN_ADVANCED = DIR / "sdn_advanced.xml"


def parse(fmt, path: Path, source: str = "us_ofac_sdn") -> tuple[dict[str, Entity], ParseReport]:
    report = ParseReport()
    entities = {e.source_id: e for e in fmt.parse([path], source, report)}
    return entities, report


def names(entity: Entity) -> set[tuple[str, NameKind]]:
    return {(n.value, n.kind) for n in entity.names}


def crypto(entity: Entity) -> dict[str, tuple[str, str, bool]]:
    return {c.raw: (c.asset, c.chain, c.valid) for c in entity.crypto}


# ---------------------------------------------------------------------------- classic XML


def test_classic_entities_and_version():
    entities, report = parse(CLASSIC, SDN)
    assert report.version == "2024-05-03"
    assert report.warnings == []
    assert {k: e.schema for k, e in entities.items()} == {
        "90001": "Person",
        "90002": "LegalEntity",
        "90003": "Vessel",
        "90004": "LegalEntity",
        "90005": "Airplane",
        "90006": "Person",
    }
    person = entities["90001"]
    assert person.id == "us_ofac_sdn:90001"
    assert person.source == "us_ofac_sdn"
    assert person.caption == "Pyotr Sergeyevich ZANZIBAROV"
    assert names(person) == {
        ("Pyotr Sergeyevich ZANZIBAROV", NameKind.PRIMARY),
        ("Petr ZANZIBAROV", NameKind.ALIAS),
        ("PETYA THE PENGUIN", NameKind.WEAK_ALIAS),
    }
    assert person.get("birthDate") == ["1965-03-12", "1966", "1967", "1968/1970", "1971-02"]
    assert person.get("birthPlace") == ["Novosibirsk, Russia"]
    assert person.get("passportNumber") == ["7012345678"]
    assert person.get("identifier") == ["Passport:7012345678"]
    assert person.get("gender") == ["male"]
    assert person.get("nationality") == ["Russia"]
    assert person.get("citizenship") == ["Russia"]
    assert person.get("title") == ["Chairman of the Board of Fictional Bank"]
    assert person.get("program") == ["RUSSIA-EO14024", "UKRAINE-EO13661"]
    assert person.get("address") == ["Ulitsa Vymyshlennaya 7, Moscow, 101000, Russia"]
    assert "Fixture entry; not a real person." in person.get("notes")
    assert any(n.startswith("Secondary sanctions risk: Ukraine") for n in person.get("notes"))
    assert "idNumber" not in person.properties


def test_classic_company_ids_and_former_name():
    company = parse(CLASSIC, SDN)[0]["90002"]
    assert names(company) == {
        ("OBSHCHESTVO S OGRANICHENNOI OTVETSTVENNOSTYU GLORBNEFT TRADING", NameKind.PRIMARY),
        ("OOO GLORBNEFT TRADING", NameKind.ALIAS),
        ("ZAKRYTOE AKTSIONERNOE OBSHCHESTVO GLORBNEFT", NameKind.FORMER),
    }
    # Russian tax and registration numbers are INN and OGRN; others keep the generic property.
    assert company.get("innCode") == ["7701234567"]
    assert company.get("ogrnCode") == ["1027700123456"]
    assert company.get("registrationNumber") == ["HE 123456"]
    assert company.get("identifier") == [
        "Tax ID No.:7701234567",
        "Registration Number:1027700123456",
        "Registration ID:HE 123456",
    ]
    assert company.get("website") == ["www.glorbneft.example"]
    assert company.get("incorporationDate") == ["2003-04-15"]
    assert company.get("country") == ["Russia", "Cyprus"]
    assert len(company.get("address")) == 2


def test_classic_vessel_aircraft_and_aliases():
    entities = parse(CLASSIC, SDN)[0]
    vessel = entities["90003"]
    assert vessel.get("imoNumber") == ["IMO9123456"]
    assert vessel.get("mmsi") == ["273123456"]
    assert vessel.get("callSign") == ["UBCD7"]
    assert vessel.get("flag") == ["Panama"]
    assert vessel.get("type") == ["Crude Oil Tanker"]
    assert vessel.get("tonnage") == ["81000"]
    assert vessel.get("grossRegisteredTonnage") == ["42000"]
    assert vessel.get("owner")[0].endswith("GLORBNEFT TRADING")
    assert ("OCEAN MIRAGE", NameKind.FORMER) in names(vessel)
    plane = entities["90005"]
    assert plane.get("serialNumber") == ["30123"]
    assert plane.get("model") == ["Boeing 777-200"]
    other = entities["90006"]
    assert names(other) == {
        ("Marisol QUIXANO VELARDE", NameKind.PRIMARY),
        ("Marisol QUIXANO", NameKind.FORMER),
        ("Marisol VELARDE DE PANZA", NameKind.ALIAS),
    }
    assert other.get("idNumber") == ["12345678"]
    assert other.get("identifier") == ["Cedula No.:12345678"]
    assert other.get("birthDate") == ["1980/1981"]


def test_classic_digital_currency_addresses():
    entity = parse(CLASSIC, SDN)[0]["90004"]
    assert crypto(entity) == {
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa": ("XBT", "btc", True),
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed": ("ETH", "eth", True),
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb": ("XBT", "btc", False),
    }
    bad = [c for c in entity.crypto if not c.valid]
    assert bad[0].reason
    assert entity.crypto[1].address == "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    assert entity.get("email") == ["support@blockshadow.example"]
    assert ("BSX", NameKind.WEAK_ALIAS) in names(entity)
    assert "identifier" not in entity.properties


def test_classic_gzip_is_transparent(tmp_path):
    packed = tmp_path / "sdn.xml.gz"
    packed.write_bytes(gzip.compress(SDN.read_bytes()))
    plain, packed_entities = parse(CLASSIC, SDN)[0], parse(CLASSIC, packed)[0]
    assert {k: e.to_ftm() for k, e in plain.items()} == {
        k: e.to_ftm() for k, e in packed_entities.items()
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("01 Jan 1970", ["1970-01-01"]),
        ("Jan 1970", ["1970-01"]),
        ("1970", ["1970"]),
        ("circa 1970", ["1970"]),
        ("1968 to 1970", ["1968/1970"]),
        ("01 Jan 1968 to 31 Dec 1968", ["1968"]),
        ("05 Mar 1968 to 07 Apr 1969", ["1968-03-05/1969-04-07"]),
        ("sometime", []),
    ],
)
def test_ofac_dates(raw, expected):
    assert ofac_dates(raw) == expected


def test_classic_entry_without_uid(tmp_path):
    path = tmp_path / "sdn.xml"
    path.write_text("<sdnList>\n<sdnEntry>\n<lastName>X</lastName>\n</sdnEntry>\n</sdnList>\n")
    with pytest.raises(ParseError, match=r"sdn\.xml:line 2: sdnEntry without uid"):
        parse(CLASSIC, path)


# --------------------------------------------------------------------------- advanced XML


def test_advanced_entities_and_version():
    entities, report = parse(ADVANCED, SDN_ADVANCED)
    assert report.version == "2024-05-03"
    assert report.warnings == []
    assert {k: e.schema for k, e in entities.items()} == {
        "20001": "Person",
        "20002": "LegalEntity",
        "20003": "Vessel",
    }
    person = entities["20001"]
    assert person.id == "us_ofac_sdn:20001"
    assert person.caption == "Elena Viktorovna ZANZIBAROVA"
    assert {(n.value, n.kind, n.script) for n in person.names} == {
        ("Elena Viktorovna ZANZIBAROVA", NameKind.PRIMARY, "Latin"),
        ("Елена Викторовна ЗАНЗИБАРОВА", NameKind.ALIAS, "Cyrillic"),
        ("LENOCHKA", NameKind.WEAK_ALIAS, "Latin"),
    }
    assert person.get("birthDate") == ["1972-07-14", "1973"]
    assert person.get("birthPlace") == ["Kazan, Russia"]
    assert person.get("nationality") == ["Russia"]
    assert person.get("gender") == ["female"]
    assert person.get("address") == ["Ulitsa Vymyshlennaya 9, Moscow, Russia"]
    assert person.get("country") == ["Russia"]
    assert person.get("passportNumber") == ["7598765432"]
    assert person.get("identifier") == ["Passport:7598765432"]
    assert person.get("program") == ["RUSSIA-EO14024"]
    assert person.get("createdAt") == ["2022-03-11"]


def test_advanced_company_crypto_and_documents():
    entities = parse(ADVANCED, SDN_ADVANCED)[0]
    company = entities["20002"]
    assert names(company) == {
        ("QUANTUM HOLLOW TRADING LLC", NameKind.PRIMARY),
        ("QUANTUM HOLLOW LIMITED", NameKind.FORMER),
    }
    assert crypto(company) == {
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa": ("XBT", "btc", True),
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359": ("ETH", "eth", True),
        "0xdbf5e9c5206d0db70a90108bf936da60221dc080": ("USDT", "eth", True),
        "TA4Y62o6YC2Zsck9rZVGTvqW1AQ7X9zTnj": ("USDT", "trx", True),
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb": ("XBT", "btc", False),
    }
    assert company.get("innCode") == ["7709876543"]
    assert company.get("registrationNumber") == ["HE 654321"]
    assert company.get("identifier") == [
        "Tax ID No.:7709876543",
        "Registration Number:HE 654321",
    ]
    assert company.get("program") == ["CYBER2", "RUSSIA-EO14024"]
    assert company.get("createdAt") == ["2021-11-08"]  # the earliest entry event
    assert company.get("notes") == ["Secondary sanctions risk: Section 11 of Executive Order 14024"]
    assert company.get("address") == ["Limassol, Cyprus"]
    vessel = entities["20003"]
    assert vessel.get("imoNumber") == ["IMO9876543"]
    assert vessel.get("flag") == ["Panama"]
    assert vessel.get("callSign") == ["3EAB7"]
    assert vessel.get("type") == ["Crude Oil Tanker"]


def test_advanced_section_order_does_not_matter(tmp_path):
    doc = SDN_ADVANCED.read_text(encoding="utf-8")
    start, end = doc.index("  <Locations>"), doc.index("  <DistinctParties>")
    moved = doc[start:end]
    doc = doc[:start] + doc[end:]
    at = doc.index("  <SanctionsEntries>")
    doc = doc[:at] + moved + doc[at:]
    path = tmp_path / "sdn_advanced.xml"
    path.write_text(doc, encoding="utf-8")
    reordered = {k: e.to_ftm() for k, e in parse(ADVANCED, path)[0].items()}
    assert reordered == {k: e.to_ftm() for k, e in parse(ADVANCED, SDN_ADVANCED)[0].items()}


def test_classic_and_advanced_agree_on_mapping():
    classic = parse(CLASSIC, SDN)[0]["90001"]
    advanced = parse(ADVANCED, SDN_ADVANCED)[0]["20001"]
    shared = {"passportNumber", "nationality", "birthPlace", "birthDate", "gender", "program"}
    assert shared <= set(classic.properties) & set(advanced.properties)


# -------------------------------------------------------------------------------- sniffing


def test_sniff_each_format_and_not_the_other():
    sdn_head, adv_head = read_head(SDN), read_head(SDN_ADVANCED)
    assert CLASSIC.sniff(SDN, sdn_head)
    assert not CLASSIC.sniff(SDN_ADVANCED, adv_head)
    assert ADVANCED.sniff(SDN_ADVANCED, adv_head)
    assert not ADVANCED.sniff(SDN, sdn_head)
    assert not CLASSIC.sniff(SDN, b'1,"NAME",individual\n')
    assert not ADVANCED.sniff(SDN, b"")
    assert get_format("ofac_xml") is CLASSIC
    assert get_format("ofac_advanced_xml") is ADVANCED


def test_wrong_format_fails_fast():
    with pytest.raises(ParseError, match="expected a <sdnList> document, found <Sanctions>"):
        parse(CLASSIC, SDN_ADVANCED)
    with pytest.raises(ParseError, match="expected a <Sanctions> document"):
        parse(ADVANCED, SDN)


def test_root_name():
    assert xmlsafe.root_name(read_head(SDN)) == (
        "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML",
        "sdnList",
    )
    head = b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE a [<!ENTITY x "y">]>\n<p:a xmlns:p="urn:x"/>'
    assert xmlsafe.root_name(head) == ("urn:x", "a")
    assert xmlsafe.root_name(b"not xml") is None


# ------------------------------------------------------------------------- hostile input

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE sdnList [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<sdnList><sdnEntry><uid>1</uid><lastName>&e;</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>
"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE sdnList [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<sdnList><sdnEntry><uid>1</uid><lastName>&g;</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE sdnList SYSTEM "http://example.invalid/sdn.dtd">
<sdnList><sdnEntry><uid>1</uid><lastName>&x;</lastName><sdnType>Entity</sdnType></sdnEntry></sdnList>
"""


@pytest.mark.parametrize(
    ("doc", "reason"),
    [(XXE, "declares entities"), (LAUGHS, "declares entities"), (EXTERNAL_DTD, "external DTD")],
    ids=["xxe", "billion-laughs", "external-dtd"],
)
def test_hostile_doctype_is_refused(tmp_path, doc, reason):
    path = tmp_path / "hostile.xml"
    path.write_bytes(doc)
    began = time.monotonic()
    with pytest.raises(ParseError, match=reason) as info:
        parse(CLASSIC, path)
    assert time.monotonic() - began < 5
    assert info.value.path == str(path)
    assert "root:" not in str(info.value)
    with pytest.raises(ParseError, match=reason):
        list(xmlsafe.iter_elements(path, {"nothing"}))


def test_hostile_doctype_in_advanced_file(tmp_path):
    doc = SDN_ADVANCED.read_bytes().replace(
        b"<Sanctions ",
        b'<!DOCTYPE Sanctions [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<Sanctions ',
        1,
    )
    path = tmp_path / "sdn_advanced.xml"
    path.write_bytes(doc)
    with pytest.raises(ParseError, match="declares entities"):
        parse(ADVANCED, path)


@pytest.mark.parametrize("fixture", [SDN, SDN_ADVANCED], ids=["classic", "advanced"])
def test_truncated_file_names_the_line(tmp_path, fixture):
    data = fixture.read_bytes()
    path = tmp_path / fixture.name
    path.write_bytes(data[: len(data) // 2])
    fmt = CLASSIC if fixture == SDN else ADVANCED
    with pytest.raises(ParseError) as info:
        parse(fmt, path)
    assert info.value.path == str(path)
    assert str(info.value.where).startswith("line ")
    assert int(str(info.value.where).split()[1]) > 1


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "sdn.xml"
    empty.write_bytes(b"")
    with pytest.raises(ParseError):
        parse(CLASSIC, empty)
    with pytest.raises(ParseError, match="cannot"):
        list(xmlsafe.iter_elements(tmp_path / "missing.xml", {"a"}))
    broken = tmp_path / "sdn.xml.gz"
    broken.write_bytes(gzip.compress(SDN.read_bytes())[:300])
    with pytest.raises(ParseError):
        parse(CLASSIC, broken)


# --------------------------------------------------------------------------------- xmlsafe


def test_iter_elements_strips_namespaces_and_releases_memory(tmp_path):
    path = tmp_path / "many.xml"
    rows = "".join(f"<r><v>{i}</v><w/></r><skip><x>{i}</x></skip>" for i in range(2000))
    path.write_text(f'<root xmlns="urn:a"><part>{rows}</part></root>')
    seen = []
    for el in xmlsafe.iter_elements(path, {"r"}):
        assert el.tag == "r"
        assert el.find("v").tag == "v"
        # Earlier records (and what lies between them) have been dropped from the tree.
        assert sum(1 for _ in el.itersiblings(preceding=True)) <= 2
        seen.append(xmlsafe.text(el, "v"))
    assert seen == [str(i) for i in range(2000)]


def test_text_helpers(tmp_path):
    path = tmp_path / "t.xml"
    path.write_text(
        '<a xmlns="urn:x"><b><c>  one\n two </c><c/><c>three</c></b><d>x<e>y</e></d></a>'
    )
    seen = 0
    for el in xmlsafe.iter_elements(path, {"a"}):  # read inside the loop: it is cleared after
        assert xmlsafe.text(el, "b/c") == "one two"
        assert xmlsafe.texts(el, "b/c") == ["one two", "three"]
        assert xmlsafe.text(el, "missing") is None
        assert xmlsafe.text(el, "d") == "xy"
        assert len(xmlsafe.findall(el, "b/c")) == 3
        assert xmlsafe.find(el, "d/e") is not None
        assert xmlsafe.where(el) == "line 1"
        seen += 1
    assert seen == 1
    assert xmlsafe.localname("{urn:x}a") == "a"


# ------------------------------------------------------------------------- fuzzed input

_mutations = st.lists(
    st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8
)


def _mutate(data: bytes, flips: list[tuple[float, int]], cut: float | None) -> bytes:
    buf = bytearray(data)
    for where, value in flips:
        buf[int(where * len(buf))] = value
    if cut is not None:
        buf = buf[: int(cut * len(buf))]
    return bytes(buf)


@pytest.mark.parametrize("fixture", [SDN, SDN_ADVANCED], ids=["classic", "advanced"])
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(flips=_mutations, cut=st.none() | st.floats(0, 1))
def test_mutated_files_only_raise_parse_error(tmp_path_factory, fixture, flips, cut):
    data = _mutate(fixture.read_bytes(), flips, cut)
    path = tmp_path_factory.mktemp("fuzz") / fixture.name
    path.write_bytes(data)
    fmt = CLASSIC if fixture == SDN else ADVANCED
    try:
        for entity in fmt.parse([path], "us_ofac_sdn", ParseReport()):
            assert entity.id.startswith("us_ofac_sdn:")
            entity.to_ftm()
    except ParseError as exc:
        assert exc.path == str(path)


_values = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")), max_size=20),
    st.integers().map(str),
    st.sampled_from(["", "0", "1403", "20001", "30001", "true", "99999999999999999999"]),
)
_edits = st.lists(
    st.tuples(
        st.floats(0, 1, exclude_max=True),
        st.sampled_from(["text", "attr", "drop", "copy"]),
        _values,
    ),
    min_size=1,
    max_size=6,
)


def _edit(data: bytes, edits: list[tuple[float, str, str]]) -> bytes:
    """Well-formed but odd documents: changed values, dropped or duplicated elements."""
    from lxml import etree

    root = etree.fromstring(data)
    elements = list(root.iter(etree.Element))
    for where, action, value in edits:
        el = elements[int(where * len(elements))]
        parent = el.getparent()
        if action == "text":
            el.text = value
        elif action == "attr" and el.attrib:
            key = sorted(el.attrib)[len(value) % len(el.attrib)]
            el.attrib[key] = value
        elif action == "drop" and parent is not None:
            parent.remove(el)
        elif action == "copy" and parent is not None:
            parent.append(copy.deepcopy(el))
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


@pytest.mark.parametrize("fixture", [SDN, SDN_ADVANCED], ids=["classic", "advanced"])
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edits=_edits)
def test_odd_values_only_raise_parse_error(tmp_path_factory, fixture, edits):
    path = tmp_path_factory.mktemp("odd") / fixture.name
    path.write_bytes(_edit(fixture.read_bytes(), edits))
    fmt = CLASSIC if fixture == SDN else ADVANCED
    try:
        for entity in fmt.parse([path], "us_ofac_sdn", ParseReport()):
            entity.to_ftm()
    except ParseError as exc:
        assert exc.path == str(path)
