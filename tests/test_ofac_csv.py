"""OFAC legacy CSV parser: the hand-made set in the official layout, and the real files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from sanctrace.lists.base import ParseError, ParseReport
from sanctrace.lists.ofac_csv import FORMAT
from sanctrace.model import NameKind


def parse(paths: list[Path], source: str = "us_ofac_sdn"):
    report = ParseReport()
    return {e.source_id: e for e in FORMAT.parse(paths, source, report)}, report


@pytest.fixture
def fixture_set(fixtures) -> list[Path]:
    return sorted((fixtures / "lists" / "ofac_csv").glob("*.csv"))


def test_person_with_remarks_aliases_and_address(fixture_set):
    entities, _ = parse(fixture_set)
    person = entities["10001"]
    assert person.id == "us_ofac_sdn:10001"
    assert person.schema == "Person"
    kinds = {(n.value, n.kind) for n in person.names}
    assert ("KORNEVSKY, Arkady Pavlovich", NameKind.PRIMARY) in kinds
    assert ("KORNEVSKII, Arkadii Pavlovich", NameKind.ALIAS) in kinds
    assert ("ARKASHA", NameKind.WEAK_ALIAS) in kinds
    cyrillic = [n for n in person.names if n.script == "Cyrillic"]
    assert [n.value for n in cyrillic] == ["Корневский Аркадий Павлович"]
    assert person.get("birthDate") == ["1971-02-14", "1972"]
    assert person.get("passportNumber") == ["7011223344"]
    assert person.get("innCode") == ["381200112233"]
    assert person.get("country") == ["Russia"]
    assert [(c.asset, c.address, c.valid) for c in person.crypto] == [
        ("XBT", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", True)
    ]


def test_company_vessel_and_invalid_address_kept(fixture_set):
    entities, _ = parse(fixture_set)
    company = entities["10002"]
    assert company.schema == "LegalEntity"
    assert company.get("program") == ["RUSSIA-EO14024", "CYBER2"]
    assert ("OOO TAIGA MINING", NameKind.FORMER) in {(n.value, n.kind) for n in company.names}
    assert company.get("ogrnCode") == ["1123850012345"]
    eth, bad = company.crypto
    assert eth.address == "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed" and eth.valid
    assert not bad.valid and bad.reason and bad.raw.startswith("1Bad")
    vessel = entities["10003"]
    assert vessel.schema == "Vessel"
    assert vessel.get("imoNumber") == ["9123456"]
    assert vessel.get("flag") == ["Russia"]


def test_remarks_continue_in_comments_file(fixture_set):
    entities, _ = parse(fixture_set)
    assets = sorted((c.asset, c.chain) for c in entities["10004"].crypto)
    assert assets == [("USDT", "trx"), ("XBT", "btc")]


def test_ragged_row_names_file_and_line(tmp_path, fixture_set):
    bad = tmp_path / "sdn.csv"
    lines = fixture_set[2].read_text().splitlines()
    lines[2] = '10003,"CUT SHORT",-0- '
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ParseError, match=r"sdn.csv:line 3: expected 12 columns"):
        parse([bad])


def test_cut_remarks_are_warned(tmp_path):
    remarks = "DOB 1970; " + "Linked To: X; " * 80
    remarks = remarks[:1000]
    path = tmp_path / "sdn.csv"
    path.write_text(f'1,"A B","individual","X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"{remarks}"\n')
    _, report = parse([path])
    assert len(report.warnings) == 1 and "look cut" in report.warnings[0]


def test_sniff(fixture_set, fixtures):
    sdn = fixture_set[2]
    assert FORMAT.sniff(sdn, sdn.read_bytes()[:4096])
    other = fixtures / "lists" / "ofac_csv" / "renamed.csv"
    assert not FORMAT.sniff(other, sdn.read_bytes()[:4096])


def test_real_2019_set(shared_data):
    folder = shared_data / "lists" / "ofac" / "2019"
    entities, _ = parse(sorted(folder.glob("*.csv")))
    # The README's figures (7,378 / 9,681) are `wc -l` counts: the files lack a final newline.
    assert len(entities) == 7379
    aliases = sum(
        1 for e in entities.values() for n in e.names if n.kind in (NameKind.ALIAS, NameKind.FORMER)
    )
    with open(folder / "alt.csv", encoding="utf-8") as fh:
        alt_rows = sum(1 for line in fh if line.strip())
    assert alt_rows == 9682
    # Every alias row is attached (a few duplicate the primary name of the same kind set).
    assert aliases >= alt_rows - 5


def test_real_2024_gzip_loads_every_entry(shared_data):
    path = shared_data / "lists" / "ofac" / "2024-05-03" / "sdn.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = sum(1 for line in fh if line[:1].isdigit())
    entities, report = parse([path])
    assert len(entities) == rows
    assert any("look cut" in w for w in report.warnings)
    addresses = [c for e in entities.values() for c in e.crypto]
    assert sum(c.valid for c in addresses) > 250


def test_remark_addresses_linked_to_their_entity(shared_data):
    import csv

    entities, _ = parse([shared_data / "lists" / "ofac" / "2024-05-03" / "sdn.csv.gz"])
    ours = {(e.source_id, c.asset, c.raw) for e in entities.values() for c in e.crypto}
    with open(shared_data / "addresses" / "ofac_sdn_csv_addresses_2024-05-03.csv") as fh:
        expected = {(r["ent_num"], r["asset"], r["address"]) for r in csv.DictReader(fh)}
    assert len(expected) == 294
    assert expected <= ours
