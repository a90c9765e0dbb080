"""Corporate customer screening (services.companies) on SQLite and PostgreSQL.

The lists are the OFAC CSV fixture plus a small FtM list with an ownership chain; the KYB
input is a CSV written here, one company per situation.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from sanctrace.errors import BadRequest, Unavailable
from sanctrace.lists.snapshots import load_lists
from sanctrace.network import KybError
from sanctrace.network.kyb import KybCompany, KybParty
from sanctrace.services.companies import (
    CompanyCheck,
    CompanyRequest,
    CompanyResult,
    CompanyService,
    ListSide,
    NoListsError,
    check_companies,
    summary,
)
from sanctrace.store import open_database

HEADER = [
    "company_id",
    "company_name",
    "company_country",
    "incorporation_date",
    "party_id",
    "party_name",
    "party_type",
    "party_country",
    "party_birth_date",
    "relation",
    "share",
    "phone",
]
ROWS = [
    # A clean company with clean owners and a clean director.
    ["K-CLEAN", "Sakura Trading KK", "JP", "2010-04-01", "P-YAMADA", "Yamada Taro", "person",
     "JP", "1970-01-01", "shareholder", "100"],
    ["K-CLEAN", "", "", "", "P-SUZUKI", "Suzuki Hanako", "person", "JP", "", "director", ""],
    # The company itself is on the list.
    ["K-DIRECT", "OOO Taiga Vychisleniya", "RU", "", "", "", "", "", "", "", ""],
    # Half owned by a listed person (matched by name and birth date): blocked.
    ["K-HALF", "Baltic Amber Holdings Ltd", "CY", "2015-06-01", "P-KORN", "Arkady Kornevsky",
     "person", "RU", "1971-02-14", "shareholder", "50"],
    ["K-HALF", "", "", "", "P-SMITH", "Jane Smith", "person", "GB", "", "shareholder", "50"],
    # A UK PSC band that may reach 50%: possibly blocked.
    ["K-BAND", "Northern Light GmbH", "DE", "", "P-KORN", "Arkady Kornevsky", "person", "RU",
     "1971-02-14", "shareholder", "more than 25% but not more than 50%"],
    ["K-BAND", "", "", "", "P-MULLER", "Hans Muller", "person", "DE", "", "shareholder", "50"],
    # A listed director, clean owners: controlled, not blocked.
    ["K-CTRL", "Blue Fjord AS", "NO", "", "P-NORD", "Ola Nordmann", "person", "NO", "",
     "shareholder", "100"],
    ["K-CTRL", "", "", "", "P-KORN", "Arkady Kornevsky", "person", "RU", "1971-02-14",
     "director", ""],
    # The name matches, the birth date and patronymic do not: possibly listed, possibly blocked.
    ["K-WEAK", "Thames Ridge Ltd", "GB", "", "P-WEAK", "Arkady Kornevsky Ivanovich", "person",
     "RU", "1990-05-05", "shareholder", "60"],
    # Matched to a list company that is not listed itself but owned 70% by a listed person.
    ["K-CHAIN", "Severny Kapital OOO", "RU", "", "", "", "", "", "", "", ""],
    # A Singapore company formed six weeks after its owner's designation.
    ["K-SG", "Kamchatka Front Pte Ltd", "SG", "2022-04-15", "P-LIS", "Boris Lisitsyn", "person",
     "RU", "", "shareholder", "100", "+7 (495) 123-45-67"],
    # Bad rows: the company stays, the bad relations go.
    ["K-BAD", "Faulty Records Ltd", "GB", "", "P-X1", "Someone Else", "person", "GB", "",
     "shareholder", "140"],
    ["K-BAD", "", "", "", "P-X2", "Another Person", "person", "GB", "", "shareholder", "-5"],
    ["", "Nameless", "GB", "", "", "", "", "", "", "", ""],
]  # fmt: skip
LIST_FTM = [
    {
        "id": "osa-p1",
        "schema": "Person",
        "properties": {
            "name": ["Boris Gennadyevich Lisitsyn"],
            "nationality": ["ru"],
            "topics": ["sanction"],
        },
    },
    {
        "id": "osa-s1",
        "schema": "Sanction",
        "properties": {
            "entity": ["osa-p1"],
            "startDate": ["2022-03-01"],
            "program": ["RUSSIA-EO14024"],
        },
    },
    {
        "id": "osa-c1",
        "schema": "Company",
        "properties": {"name": ["OOO SEVERNY KAPITAL"], "jurisdiction": ["ru"]},
    },
    {
        "id": "osa-o1",
        "schema": "Ownership",
        "properties": {"owner": ["osa-p1"], "asset": ["osa-c1"], "percentage": ["70"]},
    },
    {
        "id": "osa-c2",
        "schema": "Company",
        "properties": {
            "name": ["Pacific Rim Logistics"],
            "phone": ["+7 495 123 4567"],
            "topics": ["sanction"],
        },
    },
]


def write_kyb(folder: Path, rows: list[list[str]] = ROWS) -> Path:
    path = folder / "kyb.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def write_list(folder: Path) -> Path:
    path = folder / "osa_network.ftm.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in LIST_FTM), encoding="utf-8")
    return path


@pytest.fixture
def db(db_url, fixtures, tmp_path):
    database = open_database(db_url)
    load_lists(database, [fixtures / "lists" / "ofac_csv"])
    load_lists(database, [write_list(tmp_path)])
    yield database
    database.dispose()


def result_of(check: CompanyCheck, entity_id: str) -> CompanyResult:
    return next(r for r in check.results if r.entity_id == entity_id)


@pytest.fixture
def checked(db, tmp_path):
    kyb = write_kyb(tmp_path)
    check = check_companies(db, [kyb])
    return check, {r["entity_id"]: r for r in check.to_dict()["results"]}, kyb


def test_one_result_per_company_with_the_contract_keys(checked):
    check, by_id, _ = checked
    assert list(by_id) == [
        "K-CLEAN",
        "K-DIRECT",
        "K-HALF",
        "K-BAND",
        "K-CTRL",
        "K-WEAK",
        "K-CHAIN",
        "K-SG",
        "K-BAD",
    ]
    for r in by_id.values():
        assert {"entity_id", "name", "verdict", "controlled", "paths", "signals"} <= set(r)
        assert r["verdict"] in ("blocked", "possibly_blocked", "not_blocked")
        assert isinstance(r["controlled"], bool)
        assert set(r["snapshots"]) == {"us_ofac_sdn", "osa_network"}
    json.dumps(check.to_dict())  # every answer is plain JSON
    assert check.hit  # some company is blocked or possibly blocked
    assert [r.entity_id for r in check.flagged] == [
        r["entity_id"] for r in by_id.values() if r["verdict"] != "not_blocked" or r["controlled"]
    ]


def test_clean_company_is_not_blocked(checked):
    check, by_id, _ = checked
    clean = by_id["K-CLEAN"]
    assert (clean["verdict"], clean["controlled"], clean["paths"], clean["signals"]) == (
        "not_blocked",
        False,
        [],
        [],
    )
    assert clean["matches"] == [] and summary(result_of(check, "K-CLEAN")) == "-"
    assert not result_of(check, "K-CLEAN").hit


def test_direct_name_match_blocks_with_a_match_path(checked):
    _, by_id, _ = checked
    direct = by_id["K-DIRECT"]
    assert direct["verdict"] == "blocked" and direct["listed"]
    (path,) = direct["paths"]
    assert path["kind"] == "match" and path["entity_id"] == "us_ofac_sdn:10002"
    assert path["source"] == "us_ofac_sdn" and path["score"] >= path["threshold"]
    assert path["node"] == "K-DIRECT" and path["effect"] == "listed"


def test_owner_matched_by_name_blocks_through_the_50_percent_rule(checked):
    check, by_id, kyb = checked
    half = by_id["K-HALF"]
    assert (half["verdict"], half["eu_verdict"]) == ("blocked", "not_blocked")  # EU: over 50%
    (path,) = half["paths"]
    (step,) = path["steps"]
    assert (step["owner"], step["asset"], step["share"]) == ("P-KORN", "K-HALF", "50%")
    assert step["origin"] == f"{kyb}:5"
    assert "KORNEVSKY, Arkady Pavlovich [us_ofac_sdn:10001]" in step["owner_blocked_because"]
    assert "name match" in step["owner_blocked_because"]
    (match,) = half["matches"]
    assert (match["node"], match["role"], match["entity_id"]) == (
        "P-KORN",
        "owner",
        "us_ofac_sdn:10001",
    )
    assert "birth date 1971-02-14 matches" in match["explanation"]
    assert summary(result_of(check, "K-HALF")).startswith("50% held by blocked owners")


def test_band_that_may_reach_50_is_possibly_blocked(checked):
    _, by_id, _ = checked
    band = by_id["K-BAND"]
    assert band["verdict"] == "possibly_blocked"
    assert band["blocked_share"] == {"low": 25.0, "high": 50.0}
    assert band["paths"] and band["paths"][0]["certain"] is False


def test_listed_director_makes_it_controlled_not_blocked(checked):
    _, by_id, _ = checked
    ctrl = by_id["K-CTRL"]
    assert (ctrl["verdict"], ctrl["controlled"]) == ("not_blocked", True)
    (path,) = ctrl["control_paths"]
    assert path["steps"][0]["owner"] == "P-KORN" and path["steps"][0]["link"] == "director"
    assert [m["role"] for m in ctrl["matches"]] == ["director"]


def test_weaker_match_makes_the_owner_possibly_listed(checked):
    _, by_id, _ = checked
    weak = by_id["K-WEAK"]
    assert weak["verdict"] == "possibly_blocked"
    (match,) = weak["matches"]
    assert match["effect"] == "possibly_listed"
    assert 0.6 <= match["score"] < match["threshold"]
    assert "birth year 1990 differs" in match["explanation"]
    step = weak["paths"][0]["steps"][0]
    assert step["owner_blocked_because"].startswith("possibly listed: name match")


def test_chain_continues_on_the_list_side(checked):
    _, by_id, _ = checked
    chain = by_id["K-CHAIN"]
    assert chain["verdict"] == "blocked" and not chain["listed"]
    (path,) = chain["paths"]
    steps = [(s["owner"], s["asset"], s["share"]) for s in path["steps"]]
    assert steps == [("osa-p1", "osa-c1", "70%"), ("osa-c1", "K-CHAIN", "100%")]
    assert path["steps"][1]["role"].startswith("same entity as list record osa-c1")
    assert path["steps"][0]["owner_blocked_because"].startswith("listed: Boris")
    assert [m["effect"] for m in chain["matches"]] == ["linked"]


def test_front_company_signals(checked):
    _, by_id, _ = checked
    sg = by_id["K-SG"]
    assert sg["verdict"] == "blocked"
    codes = {s["code"]: s for s in sg["signals"]}
    assert {"third_country_front", "formed_near_designation"} <= set(codes)
    (owner,) = codes["third_country_front"]["evidence"]
    assert (owner["id"], owner["country"]) == ("P-LIS", "ru")  # ids as the input wrote them
    formed = codes["formed_near_designation"]["evidence"][0]
    assert (formed["designation_date"], formed["days_after_designation"]) == ("2022-03-01", 45)
    (phone,) = codes["shared_phone"]["evidence"]
    assert phone["listed_entity"]["id"] == "osa-c2" and phone["value"] == "+7 (495) 123-45-67"
    assert by_id["K-HALF"]["signals"][0]["code"] == "third_country_front"  # Cyprus, RU owner


def test_bad_records_are_problems_and_the_rest_is_checked(checked):
    check, by_id, kyb = checked
    text = [str(p) for p in check.problems]
    assert f"{kyb}:14: percentage: '140' is over 100%; counted as unknown (0-100%)" in text
    assert f"{kyb}:15: percentage: '-5' is negative; counted as unknown (0-100%)" in text
    assert f"{kyb}:16: company_id: missing; row skipped" in text
    assert by_id["K-BAD"]["verdict"] == "not_blocked"


def test_ftm_input_self_ownership_and_dangling_references(db, tmp_path):
    path = tmp_path / "kyb.ftm.json"

    def owns(rid: str, owner: str, asset: str, share: str) -> dict:
        props = {"owner": [owner], "asset": [asset], "percentage": [share]}
        return {"id": rid, "schema": "Ownership", "properties": props}

    lines = [
        {"id": "A", "schema": "Company", "properties": {"name": ["Alpha Widgets Ltd"]}},
        {"id": "B", "schema": "Company", "properties": {"name": ["OOO Taiga Vychisleniya"]}},
        owns("o1", "A", "A", "100"),
        owns("o2", "nobody", "A", "10"),
        owns("o3", "B", "A", "51"),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines) + "not json\n")
    check = check_companies(db, [path])
    text = [str(p) for p in check.problems]
    assert any(t.startswith(f"{path}:6: json:") for t in text)
    assert f"{path}:3: owner: kyb:A owns itself; record skipped" in text
    assert any(t.startswith(f"{path}:4: owner: refers to 'nobody'") for t in text)
    by_id = {r.entity_id: r for r in check.results}
    assert by_id["B"].verdict == "blocked" and by_id["A"].verdict == "blocked"
    steps = by_id["A"].paths[0]["steps"]
    assert [(s["owner"], s["share"], s["records"]) for s in steps] == [("B", "51%", ["o3"])]


def test_unreadable_file_no_company_and_no_lists(db, tmp_path):
    with pytest.raises(KybError, match="cannot read KYB file"):
        check_companies(db, [tmp_path / "missing.csv"])
    nameless = write_kyb(tmp_path, [["", "Nameless", "GB", "", "", "", "", "", "", "", ""]])
    with pytest.raises(BadRequest, match="no company could be read .*company_id: missing"):
        check_companies(db, [nameless])
    empty = open_database(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(NoListsError, match="no sanctions lists loaded") as no_lists:
        check_companies(empty, [write_kyb(tmp_path)])
    assert isinstance(no_lists.value, Unavailable) and no_lists.value.exit_code == 3
    empty.dispose()


def test_request_takes_exactly_one_form():
    with pytest.raises(BadRequest, match="exactly one"):
        CompanyRequest()
    with pytest.raises(BadRequest, match="exactly one"):
        CompanyRequest(paths=(Path("kyb.csv"),), records=({"id": "A"},))
    with pytest.raises(BadRequest, match="as_of"):
        CompanyRequest.files(["kyb.csv"], as_of="yesterday")


def test_same_party_same_id_through_a_file_and_an_api_body(db, tmp_path):
    """A party without an id is one party whichever way it came in (one party-id rule)."""
    row = ["K-1", "Baltic Amber Holdings Ltd", "CY", "", "", "Arkady Kornevsky", "person"]
    kyb = write_kyb(tmp_path, [[*row, "RU", "1971-02-14", "shareholder", "50"]])
    by_file = check_companies(db, [kyb]).results[0]
    owner = KybParty(name="ARKADY  kornevsky", country="ru", birth_date="1971-02-14", share=50)
    company = KybCompany(id="K-1", name="Baltic Amber Holdings Ltd", shareholders=(owner,))
    by_body = CompanyService(db).check(CompanyRequest(companies=(company,))).results[0]
    (file_step,) = by_file.paths[0]["steps"]
    (body_step,) = by_body.paths[0]["steps"]
    assert file_step["owner"].startswith("party-")
    assert body_step["owner"] == file_step["owner"]


def test_company_service_caches_per_snapshot_set(db, fixtures, tmp_path):
    service = CompanyService(db)
    request = CompanyRequest(
        records=(
            {"id": "X", "schema": "Company", "properties": {"name": ["Kriptobirzha Primer"]}},
            {"id": "Y", "schema": "Company", "properties": {"name": ["Quiet Harbour Ltd"]}},
        )
    )
    first = {r.entity_id: r.verdict for r in service.check(request).results}
    assert first == {"X": "blocked", "Y": "not_blocked"}
    side = service.cache.value
    service.check(request)
    assert service.cache.value is side  # same snapshots: no rebuild
    newer = tmp_path / "v2"
    shutil.copytree(fixtures / "lists" / "ofac_csv", newer)
    sdn = (newer / "sdn.csv").read_text().splitlines()
    (newer / "sdn.csv").write_text("\n".join(x for x in sdn if not x.startswith("10004,")) + "\n")
    load_lists(db, [newer])
    after = {r.entity_id: r.verdict for r in service.check(request).results}
    assert service.cache.value is not side
    assert after == {"X": "not_blocked", "Y": "not_blocked"}  # delisted: no longer blocked


def test_list_side_listing_rules(db):
    side = ListSide.build(db)
    # Every party of an official-format list is listed; in the FtM file only the sanctioned.
    assert "us_ofac_sdn:10001" in side.listed and "osa-p1" in side.listed
    assert "osa-c1" not in side.listed
    assert side.designations["osa-p1"] == "2022-03-01"
    assert "RUSSIA-EO14024" in side.listed["us_ofac_sdn:10001"]
