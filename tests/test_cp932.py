"""Shift-JIS (cp932) CSV files, as Excel saves them on a Japanese system, are detected and
read: bulk screening, customer events and KYB files (issue 15, Japanese input). A KYB party
can carry a kana reading, so a listed person written in kanji is found.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sanctrace.errors import BadRequest
from sanctrace.fileio import detect_encoding, read_text, sniff_encoding
from sanctrace.lists.snapshots import load_lists
from sanctrace.monitor.readers import read_events
from sanctrace.network import KybError
from sanctrace.network.kyb import KybCompany, KybParty, read_kyb
from sanctrace.services._bulk_csv import read_queries
from sanctrace.services.companies import CompanyRequest, CompanyService
from sanctrace.store import open_database

BULK = "id,name,name_kana,birth_date\r\n1,山田太郎,ﾔﾏﾀﾞ ﾀﾛｳ,昭和63年5月5日\r\n2,佐藤①,サトウ,\r\n"


def test_detect_encoding() -> None:
    assert detect_encoding(BULK.encode("cp932")) == "cp932"
    assert detect_encoding(BULK.encode("utf-8")) == "utf-8-sig"
    assert detect_encoding(BULK.encode("utf-8-sig")) == "utf-8-sig"
    assert detect_encoding(b"id,name\n1,ACME\n") == "utf-8-sig"
    # a head cut inside a character, in either encoding
    cut = "id,name\n1,山田".encode()
    assert detect_encoding(cut[:-1]) == "utf-8-sig"
    assert detect_encoding("id,name\n1,山田".encode("cp932")[:-1]) == "cp932"


@pytest.mark.parametrize(
    "data",
    ["Société Générale,Müller\n".encode("latin-1"), b"\x80\x81\xfe\xff binary", b"\xff\xfe\x00a"],
)
def test_text_in_other_encodings_is_refused_not_misread(data: bytes) -> None:
    # Nearly any bytes decode as cp932; Latin-1 "Société" must not become kanji.
    with pytest.raises(UnicodeDecodeError):
        detect_encoding(data)


def test_read_text_and_sniff_a_gzip(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(BULK.encode("cp932"))
    assert read_text(path) == BULK
    packed = tmp_path / "a.csv.gz"
    packed.write_bytes(gzip.compress(BULK.encode("cp932")))
    assert sniff_encoding(packed) == "cp932"


def test_a_bulk_csv_from_excel(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(BULK.encode("cp932"))
    first, second = read_queries(path)
    assert (first.name, first.name_kana, first.birth_date) == (
        "山田太郎",
        "ﾔﾏﾀﾞ ﾀﾛｳ",
        "1988-05-05",
    )
    assert second.name == "佐藤①"  # an NEC special character, only in cp932
    path.write_bytes("id,name\n1,Soci\u00e9t\u00e9\n".encode("latin-1"))
    with pytest.raises(BadRequest, match="cannot read"):
        read_queries(path)


def test_customer_events_from_excel(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    names = json.dumps(
        [{"text": "山田太郎"}, {"text": "ﾔﾏﾀﾞ ﾀﾛｳ", "kind": "kana"}], ensure_ascii=False
    )
    rows = [
        "event_id,type,time,customer_id,kind,names",
        f'c1,customer,2024-01-01T00:00:00Z,C1,person,"{names.replace(chr(34), chr(34) * 2)}"',
    ]
    path.write_bytes("\r\n".join(rows).encode("cp932"))
    result = read_events(path)
    assert result.problems == []
    ((_, event),) = result.events
    assert [(n.text, n.kind) for n in event.names] == [("山田太郎", "legal"), ("ﾔﾏﾀﾞ ﾀﾛｳ", "kana")]


KYB = (
    "company_id,company_name,party_name,party_name_kana,party_type,relation,share\r\n"
    "K-JP,桜商事株式会社,張田一郎,ハリタ イチロウ,person,shareholder,60\r\n"
    "K-JP,,佐藤花子,サトウ ハナコ,person,director,\r\n"
)


def test_a_kyb_csv_from_excel_with_kana_readings(tmp_path: Path) -> None:
    path = tmp_path / "kyb.csv"
    path.write_bytes(KYB.encode("cp932"))
    records, problems = read_kyb([path])
    assert problems == []
    names = {
        r["properties"]["name"][0]: r["properties"].get("alias")
        for r in records
        if "name" in r["properties"]
    }
    assert names == {
        "桜商事株式会社": None,
        "張田一郎": ["ハリタ イチロウ"],
        "佐藤花子": ["サトウ ハナコ"],
    }
    path.write_bytes("company_id,company_name\nK,Soci\u00e9t\u00e9\n".encode("latin-1"))
    with pytest.raises(KybError, match="not UTF-8 text, nor Shift-JIS"):
        read_kyb([path])


LISTED = {
    "id": "jp-harita",
    "schema": "Person",
    "properties": {"name": ["HARITA Ichiro"], "topics": ["sanction"]},
}


@pytest.fixture
def db(db_url, tmp_path):
    path = tmp_path / "jp_list.ftm.json"
    path.write_text(json.dumps(LISTED) + "\n", encoding="utf-8")
    database = open_database(db_url)
    load_lists(database, [path])
    yield database
    database.dispose()


def test_a_kanji_shareholder_with_a_reading_is_found(db, tmp_path: Path) -> None:
    def verdict(party: KybParty) -> dict:
        company = KybCompany(id="K-JP", name="桜商事株式会社", shareholders=(party,))
        check = CompanyService(db).check(CompanyRequest(companies=(company,)))
        return check.to_dict()["results"][0]

    found = verdict(KybParty(name="張田一郎", name_kana="ハリタ イチロウ", share=60))
    assert found["verdict"] in ("blocked", "possibly_blocked")
    (match,) = found["matches"]
    assert (match["entity_id"], match["query_name"], match["score"]) == (
        "jp-harita",
        "ハリタ イチロウ",
        1.0,
    )
    # Without the reading the kanji alone cannot name him (read in Chinese: zhang tian …).
    missed = verdict(KybParty(name="張田一郎", share=60))
    assert missed["verdict"] == "not_blocked"
    # The CSV column does the same, in a file Excel saved.
    path = tmp_path / "kyb.csv"
    path.write_bytes(KYB.encode("cp932"))
    (result,) = CompanyService(db).check(CompanyRequest.files([path])).to_dict()["results"]
    assert result["verdict"] in ("blocked", "possibly_blocked")
