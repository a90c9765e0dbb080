"""UN consolidated XML, EU FSF XML and UK OFSI CSV parsers."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sanctrace.lists.base import ParseError, ParseReport, read_head
from sanctrace.lists.eu_fsf_xml import FORMAT as EU
from sanctrace.lists.uk_csv import FORMAT as UK
from sanctrace.lists.un_xml import FORMAT as UN
from sanctrace.model import Entity, NameKind

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lists"
EU_SAMPLE = FIXTURES / "eu" / "eu_fsf_sample.xml"
UK_SAMPLE = FIXTURES / "uk" / "ConList.csv"

# A small UN file in the official layout (fictional people), written to tmp_path by tests.
UN_SAMPLE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<CONSOLIDATED_LIST xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:noNamespaceSchemaLocation="https://www.un.org/sc/resources/sc-sanctions.xsd" \
dateGenerated="2026-02-27T00:00:09.554Z">
  <INDIVIDUALS>
    <INDIVIDUAL>
      <DATAID>9900001</DATAID>
      <VERSIONNUM>1</VERSIONNUM>
      <FIRST_NAME>RAFIQ</FIRST_NAME>
      <SECOND_NAME>KHAYALI</SECOND_NAME>
      <THIRD_NAME>AL-MUKHTARA</THIRD_NAME>
      <UN_LIST_TYPE>Al-Qaida</UN_LIST_TYPE>
      <REFERENCE_NUMBER>QDi.990</REFERENCE_NUMBER>
      <LISTED_ON>2008-05-06-04:00</LISTED_ON>
      <NAME_ORIGINAL_SCRIPT>رفيق خيالي المختارة</NAME_ORIGINAL_SCRIPT>
      <GENDER>Male</GENDER>
      <COMMENTS1>Fictional test entry.</COMMENTS1>
      <TITLE><VALUE>Dr.</VALUE></TITLE>
      <DESIGNATION><VALUE>Fictional financier</VALUE></DESIGNATION>
      <NATIONALITY><VALUE>Iraq</VALUE><VALUE>Syrian Arab Republic</VALUE></NATIONALITY>
      <LIST_TYPE><VALUE>UN List</VALUE></LIST_TYPE>
      <LAST_DAY_UPDATED><VALUE>2011-12-13</VALUE><VALUE>2019-08-09</VALUE></LAST_DAY_UPDATED>
      <INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>Abu Khayal</ALIAS_NAME></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME>Rafi; Rafiqi</ALIAS_NAME></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ALIAS><QUALITY>a.k.a.</QUALITY><ALIAS_NAME>Rafiq Al-Mukhtar</ALIAS_NAME>
        <NOTE>previously listed as</NOTE></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ADDRESS><STREET>Fictional Street 3</STREET><CITY>Mosul</CITY>
        <COUNTRY>Iraq</COUNTRY><NOTE>previous address</NOTE></INDIVIDUAL_ADDRESS>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE>1970-03-01</DATE>
        </INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>APPROXIMATELY</TYPE_OF_DATE><YEAR>1971</YEAR>
        </INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE><FROM_YEAR>1968</FROM_YEAR>
        <TO_YEAR>1972</TO_YEAR></INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><NOTE>Nov. 1973 </NOTE>
        </INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_PLACE_OF_BIRTH><CITY>Mosul</CITY><COUNTRY>Iraq</COUNTRY>
        </INDIVIDUAL_PLACE_OF_BIRTH>
      <INDIVIDUAL_DOCUMENT><TYPE_OF_DOCUMENT>Passport</TYPE_OF_DOCUMENT><NUMBER>A1234567</NUMBER>
        <ISSUING_COUNTRY>Iraq</ISSUING_COUNTRY></INDIVIDUAL_DOCUMENT>
      <INDIVIDUAL_DOCUMENT><TYPE_OF_DOCUMENT>National Identification
          Number</TYPE_OF_DOCUMENT><NUMBER>99-000-1</NUMBER></INDIVIDUAL_DOCUMENT>
      <SORT_KEY/>
      <SORT_KEY_LAST_MOD/>
    </INDIVIDUAL>
  </INDIVIDUALS>
  <ENTITIES>
    <ENTITY>
      <DATAID>9900002</DATAID>
      <VERSIONNUM>1</VERSIONNUM>
      <FIRST_NAME>IMAGINARY RELIEF FOUNDATION</FIRST_NAME>
      <UN_LIST_TYPE>Al-Qaida</UN_LIST_TYPE>
      <REFERENCE_NUMBER>QDe.990</REFERENCE_NUMBER>
      <LISTED_ON>2002-03-11</LISTED_ON>
      <COMMENTS1>Fictional test entry.</COMMENTS1>
      <LIST_TYPE><VALUE>UN List</VALUE></LIST_TYPE>
      <ENTITY_ALIAS><QUALITY>a.k.a.</QUALITY><ALIAS_NAME>IRF</ALIAS_NAME></ENTITY_ALIAS>
      <ENTITY_ALIAS><QUALITY>f.k.a.</QUALITY><ALIAS_NAME>Imaginary Aid Society</ALIAS_NAME>
        </ENTITY_ALIAS>
      <ENTITY_ADDRESS><STREET>Block 4</STREET><CITY>Karachi</CITY><COUNTRY>Pakistan</COUNTRY>
        </ENTITY_ADDRESS>
      <SORT_KEY/>
      <SORT_KEY_LAST_MOD/>
    </ENTITY>
  </ENTITIES>
</CONSOLIDATED_LIST>
"""


@pytest.fixture
def un_sample(tmp_path: Path) -> Path:
    path = tmp_path / "consolidated.xml"
    path.write_text(UN_SAMPLE, encoding="utf-8")
    return path


def parse(fmt, path: Path, source: str | None = None) -> tuple[dict[str, Entity], ParseReport]:
    report = ParseReport()
    entities = list(fmt.parse([path], source or fmt.default_source, report))
    by_id = {e.source_id: e for e in entities}
    assert len(by_id) == len(entities), "duplicate ids"
    return by_id, report


def names(entity: Entity) -> set[tuple[str, NameKind]]:
    return {(n.value, n.kind) for n in entity.names}


def script_of(entity: Entity, value: str) -> str:
    return next(n.script for n in entity.names if n.value == value)


# --- UN -------------------------------------------------------------------------------------


def test_un_real_file_counts(shared_data: Path) -> None:
    path = shared_data / "lists" / "un" / "UN_consolidated_2026-02-27.xml"
    assert UN.sniff(path, read_head(path))
    assert not EU.sniff(path, read_head(path)) and not UK.sniff(path, read_head(path))
    entities, report = parse(UN, path)
    assert report.version == "2026-02-27"
    assert Counter(e.schema for e in entities.values()) == {"Person": 730, "LegalEntity": 273}
    badege = entities["6907993"]
    assert badege.id == "un_sc_sanctions:6907993"
    assert badege.caption == "ERIC BADEGE"
    assert badege.get("unscId") == ["CDi.001"] and badege.get("program") == ["DRC"]
    assert badege.get("birthDate") == ["1971"] and badege.get("createdAt") == ["2012-12-31"]
    aiai = entities["113457"]
    assert ("الاتحاد الاسلامي", NameKind.PRIMARY) in names(aiai)
    assert script_of(aiai, "الاتحاد الاسلامي") == "Arabic"
    dates = [d for e in entities.values() for d in e.get("birthDate")]
    assert "1973/1974" in dates
    assert all(len(d) in (4, 7, 9, 10) for d in dates)
    kinds = Counter(n.kind for e in entities.values() for n in e.names)
    assert kinds[NameKind.WEAK_ALIAS] > 500 and kinds[NameKind.FORMER] > 10


def test_un_sample_person(un_sample: Path) -> None:
    entities, report = parse(UN, un_sample)
    assert report.version == "2026-02-27" and report.warnings == []
    person = entities["9900001"]
    assert person.schema == "Person" and person.id == "un_sc_sanctions:9900001"
    assert names(person) == {
        ("RAFIQ KHAYALI AL-MUKHTARA", NameKind.PRIMARY),
        ("رفيق خيالي المختارة", NameKind.PRIMARY),
        ("Abu Khayal", NameKind.ALIAS),
        ("Rafi", NameKind.WEAK_ALIAS),
        ("Rafiqi", NameKind.WEAK_ALIAS),
        ("Rafiq Al-Mukhtar", NameKind.FORMER),
    }
    assert script_of(person, "رفيق خيالي المختارة") == "Arabic"
    assert person.get("birthDate") == ["1970-03-01", "1971", "1968/1972", "1973-11"]
    assert person.get("birthPlace") == ["Mosul, Iraq"]
    assert person.get("nationality") == ["Iraq", "Syrian Arab Republic"]
    assert person.get("passportNumber") == ["A1234567"]
    assert person.get("idNumber") == ["99-000-1"]
    assert "Passport:A1234567" in person.get("identifier")
    assert "National Identification Number:99-000-1" in person.get("identifier")
    assert person.get("address") == ["Fictional Street 3, Mosul, Iraq"]
    assert person.get("country") == ["Iraq"]
    assert person.get("unscId") == ["QDi.990"] and person.get("program") == ["Al-Qaida"]
    assert person.get("createdAt") == ["2008-05-06"] and person.get("modifiedAt") == ["2019-08-09"]
    assert person.get("title") == ["Dr."] and person.get("position") == ["Fictional financier"]
    assert person.get("gender") == ["male"]
    assert "Fictional test entry." in person.get("notes")


def test_un_sample_entity(un_sample: Path) -> None:
    entity = parse(UN, un_sample)[0]["9900002"]
    assert entity.schema == "LegalEntity"
    assert names(entity) == {
        ("IMAGINARY RELIEF FOUNDATION", NameKind.PRIMARY),
        ("IRF", NameKind.ALIAS),
        ("Imaginary Aid Society", NameKind.FORMER),
    }
    assert entity.get("address") == ["Block 4, Karachi, Pakistan"]
    assert entity.get("createdAt") == ["2002-03-11"]


def test_un_truncated_names_line(un_sample: Path) -> None:
    data = un_sample.read_bytes()
    un_sample.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError) as err:
        parse(UN, un_sample)
    assert str(err.value.where).startswith("line ")


def test_un_rejects_other_root(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="not a UN consolidated list"):
        parse(UN, EU_SAMPLE)
    path = tmp_path / "x.xml"
    path.write_text("<OTHER><INDIVIDUAL><DATAID>1</DATAID></INDIVIDUAL></OTHER>")
    with pytest.raises(ParseError, match="root is <OTHER>"):
        parse(UN, path)


def test_un_missing_dataid(tmp_path: Path) -> None:
    path = tmp_path / "x.xml"
    path.write_text(UN_SAMPLE.replace("<DATAID>9900002</DATAID>", ""), encoding="utf-8")
    with pytest.raises(ParseError, match="DATAID") as err:
        parse(UN, path)
    assert str(err.value.where).startswith("line ")


def test_xml_entities_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE CONSOLIDATED_LIST [<!ENTITY x "boom">]>'
        "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID>"
        "<FIRST_NAME>&x;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    with pytest.raises(ParseError):
        parse(UN, path)


# --- EU -------------------------------------------------------------------------------------


def test_eu_person() -> None:
    entities, report = parse(EU, EU_SAMPLE)
    assert report.version == "2026-02-20" and report.warnings == []
    assert len(entities) == 5
    person = entities["990001"]
    assert person.id == "eu_fsf:990001" and person.schema == "Person"
    assert names(person) == {
        ("Gennadiy Fomich PRIDUMANOV", NameKind.PRIMARY),
        ("Геннадий Фомич ПРИДУМАНОВ", NameKind.ALIAS),
        ("Gena Pridumanov", NameKind.WEAK_ALIAS),
    }
    cyrillic = next(n for n in person.names if n.lang == "ru")
    assert cyrillic.script == "Cyrillic"
    assert person.caption == "Gennadiy Fomich PRIDUMANOV"
    assert person.get("birthDate") == ["1961-07-19", "1962"]
    assert person.get("birthPlace") == ["Sverdlovsk, RUSSIAN FEDERATION"]
    assert person.get("nationality") == ["ru"]
    assert person.get("passportNumber") == ["4509123456"]
    assert person.get("innCode") == ["770512345678"]
    assert "passport:4509123456" in person.get("identifier")
    assert "euReferenceNumber:EU.9001.01" in person.get("identifier")
    assert person.get("program") == ["RUS"]
    assert person.get("createdAt") == ["2022-02-23"] and person.get("modifiedAt") == ["2023-06-23"]
    assert person.get("address") == ["Vymyshlennaya ulitsa 7, 119002, Moscow, RUSSIAN FEDERATION"]
    assert person.get("country") == ["ru"]
    assert person.get("gender") == ["male"]
    assert person.get("position") == ["Chairman of the Board of a fictional defence company"]
    assert any(n.startswith("Fictional test entry") for n in person.get("notes"))


def test_eu_enterprise_and_variants() -> None:
    entities, _ = parse(EU, EU_SAMPLE)
    company = entities["990002"]
    assert company.schema == "LegalEntity"
    assert ("АО «Вымышленные системы»", NameKind.ALIAS) in names(company)
    assert company.get("ogrnCode") == ["1027700000001"]
    assert company.get("innCode") == ["7700000001"]
    assert company.get("program") == ["RUS"]
    un_linked = entities["990003"]
    assert un_linked.get("unscId") == ["QDi.990"]
    assert un_linked.get("birthDate") == ["1970-05", "1968/1972"]
    assert un_linked.get("nationality") == []  # countryIsoCode 00 = unknown
    assert un_linked.get("title") == ["Dr"] and un_linked.get("gender") == ["female"]
    agency = entities["990004"]
    assert ("IGSA", NameKind.WEAK_ALIAS) in names(agency)
    assert agency.get("idNumber") == ["IGSA-0042"]
    assert agency.get("address") == [
        "Fictional Port Road, 1234-5678, Bandar Abbas, Hormozgan, IRAN (ISLAMIC REPUBLIC OF)"
    ]
    assert agency.get("program") == ["IRN"]
    official = entities["990005"]
    assert official.caption == "Ales NEVYADOMY"  # built from first and last name
    assert official.get("birthDate") == ["1958"]
    assert any("diplomatic" in n and "knownExpired" in n for n in official.get("notes"))


def test_eu_garbled_names_line(tmp_path: Path) -> None:
    path = tmp_path / "eu.xml"
    text = EU_SAMPLE.read_text(encoding="utf-8")
    path.write_text(text.replace("</nameAlias>", "</nameAlia>", 1), encoding="utf-8")
    with pytest.raises(ParseError) as err:
        parse(EU, path)
    assert err.value.where == "line 14"  # the first </nameAlias>
    assert str(path) in str(err.value)


# --- UK -------------------------------------------------------------------------------------


def test_uk_individual() -> None:
    entities, report = parse(UK, UK_SAMPLE)
    assert report.version == "2026-02-27"
    assert report.warnings == ["ConList.csv:16: group 90005 has no primary name"]
    assert [e.schema for e in entities.values()] == [
        "Person",
        "LegalEntity",
        "Vessel",
        "Person",
        "LegalEntity",
    ]
    person = entities["90001"]
    assert person.id == "gb_hmt_sanctions:90001"
    assert names(person) == {
        ("Orest Lavrentievich ZVEREVICH", NameKind.PRIMARY),
        ("ЗВЕРЕВИЧ Орест Лаврентьевич", NameKind.PRIMARY),
        ("Orest Lavrentyevich ZVEREVICH", NameKind.ALIAS),
        ("ZVER", NameKind.WEAK_ALIAS),  # an out-of-order row of the group, low quality
    }
    cyrillic = next(n for n in person.names if n.script == "Cyrillic")
    assert cyrillic.lang == "ru"
    assert person.caption == "Orest Lavrentievich ZVEREVICH"
    assert person.get("birthDate") == ["1965-03-14", "1966"]
    assert person.get("birthPlace") == ["Novosibirsk, Russia"]
    assert person.get("nationality") == ["Russia"]
    assert person.get("passportNumber") == ["722334455"]
    assert person.get("identifier") == ["passport:722334455"]
    assert person.get("address") == ["12 Imaginary Embankment, Moscow, 101000, Russia"]
    assert person.get("program") == ["Russia"]
    assert person.get("createdAt") == ["2022-03-15"]
    assert person.get("modifiedAt") == ["2024-02-01"]
    assert person.get("title") == ["Mr"]


def test_uk_entity_ship_and_variants() -> None:
    entities, _ = parse(UK, UK_SAMPLE)
    company = entities["90002"]
    assert names(company) >= {
        ("NORTHWIND PRECISION INSTRUMENTS JSC", NameKind.PRIMARY),
        ("AO SEVERNY VETER PRIBOR", NameKind.ALIAS),
        ("NORTHWIND INSTRUMENTS LLC", NameKind.FORMER),
    }
    assert company.get("innCode") == ["7801234567"]
    assert company.get("ogrnCode") == ["1027801234567"]
    ship = entities["90003"]
    assert ship.schema == "Vessel" and ship.caption == "OCEAN FABLE"
    assert ship.get("imoNumber") == ["9876543"]
    assert ("SEA PARABLE", NameKind.FORMER) in names(ship)
    kim = entities["90004"]
    assert ("Chol-ung PAK", NameKind.ALIAS) in names(kim)
    assert ("Cheol Ung BAK", NameKind.WEAK_ALIAS) in names(kim)
    assert script_of(kim, "박철웅") == "Hangul"
    assert kim.get("birthDate") == ["1962"]
    assert kim.get("nationality") == ["North Korea", "Russia"]
    assert kim.get("passportNumber") == ["836110034", "563220051"]
    assert kim.get("idNumber") == ["FX-1962-0001"]
    assert "Passport 836110034: Diplomatic passport" in kim.get("notes")
    assert "Fictional test entry. Second line of the remarks." in kim.get("notes")
    front = entities["90005"]
    assert front.caption == "AL-KHAYAL GENERAL TRADING COMPANY"
    assert ("شركة الخيال للتجارة العامة", NameKind.PRIMARY) in names(front)
    assert front.get("createdAt") == ["2019-06"]  # "00/06/2019"
    assert front.get("address") == [
        "Office 14, Example Tower, Fictional Street, Dubai, United Arab Emirates"
    ]


def _uk_variant(tmp_path: Path, transform) -> Path:
    path = tmp_path / "ConList.csv"
    path.write_bytes(transform(UK_SAMPLE.read_bytes()))
    return path


def test_uk_missing_column(tmp_path: Path) -> None:
    path = _uk_variant(tmp_path, lambda d: d.replace(b",Group ID\r\n", b",Group\r\n", 1))
    with pytest.raises(ParseError) as err:
        parse(UK, path)
    assert err.value.where == "line 2" and err.value.reason == "missing column 'Group ID'"


def test_uk_truncated_row(tmp_path: Path) -> None:
    path = _uk_variant(tmp_path, lambda d: d[: d.index(b"NORTHWIND INSTRUMENTS LLC") + 40])
    with pytest.raises(ParseError, match="Group ID") as err:
        parse(UK, path)
    assert err.value.where == "line 7"


def test_uk_bad_utf8_and_no_bom(tmp_path: Path) -> None:
    path = _uk_variant(tmp_path, lambda d: d.replace(b"SEA PARABLE", b"SEA \xff", 1))
    with pytest.raises(ParseError, match="not UTF-8") as err:
        parse(UK, path)
    assert err.value.where == "line 9"
    # Without BOM and with Unix line endings the file reads the same.
    plain = _uk_variant(tmp_path, lambda d: d.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n"))
    assert {k: e.comparable() for k, e in parse(UK, plain)[0].items()} == {
        k: e.comparable() for k, e in parse(UK, UK_SAMPLE)[0].items()
    }


def test_uk_crypto_in_other_information(tmp_path: Path) -> None:
    address = "0x8576acc5c05d6ce88f4e49bf65bdf0c62f91353c"
    path = _uk_variant(
        tmp_path,
        lambda d: d.replace(
            b"Fictional test entry; front company.",
            f"Digital Currency Address - ETH {address}.".encode(),
        ),
    )
    front = parse(UK, path)[0]["90005"]
    assert [(c.asset, c.address.lower(), c.valid) for c in front.crypto][:1] == [
        ("ETH", address, True)
    ]


# --- sniffing -------------------------------------------------------------------------------


def test_sniff(un_sample: Path) -> None:
    heads = {
        "un": (un_sample, read_head(un_sample)),
        "eu": (EU_SAMPLE, read_head(EU_SAMPLE)),
        "uk": (UK_SAMPLE, read_head(UK_SAMPLE)),
    }
    for key, fmt in (("un", UN), ("eu", EU), ("uk", UK)):
        for other, (path, head) in heads.items():
            assert fmt.sniff(path, head) is (key == other), (fmt.name, other)


# --- robustness -----------------------------------------------------------------------------

mutations = st.tuples(
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=4),
    st.one_of(st.none(), st.floats(0, 1)),
)


def _mutate(data: bytes, flips: list[tuple[float, int]], cut: float | None) -> bytes:
    buf = bytearray(data)
    for where, byte in flips:
        buf[int(where * len(buf))] = byte
    if cut is not None:
        buf = buf[: int(cut * len(buf))]
    return bytes(buf)


@pytest.mark.parametrize(
    "fmt,sample,name",
    [
        (UN, UN_SAMPLE.encode(), "consolidated.xml"),
        (EU, EU_SAMPLE.read_bytes(), "eu.xml"),
        (UK, UK_SAMPLE.read_bytes(), "ConList.csv"),
    ],
    ids=["un", "eu", "uk"],
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutation=mutations)
def test_mutated_input_only_raises_parse_error(fmt, sample: bytes, name: str, mutation) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(_mutate(sample, *mutation))
        try:
            for entity in fmt.parse([path], fmt.default_source, ParseReport()):
                assert entity.names and entity.source_id
        except ParseError as exc:
            assert str(path) in str(exc)
