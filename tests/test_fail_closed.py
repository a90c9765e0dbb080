"""Fail closed (issue 16, item 1): nothing loaded is 503 / exit 3, never "clear"; unknown enum
values are 422 / exit 2; a listed owner's unreadable share counts as unknown and is reported.

API tests run a real server on 127.0.0.1 over SQLite and PostgreSQL; CLI tests run the command
in a fresh process on SQLite.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path

import httpx
import pytest

from helpers import key_headers, run, serving
from sanctrace.api.app import create_app
from sanctrace.api.names import SCHEMAS
from sanctrace.cli.screen import ScreenSchema
from sanctrace.lists.snapshots import load_lists
from sanctrace.store import open_database

LISTED_BTC = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"  # us_ofac_sdn:10001 in the OFAC CSV fixture
CLEAN_BTC = "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"
LISTED_OWNER = {"name": "Arkady Kornevsky", "country": "RU", "birth_date": "1971-02-14"}


def company(share: object, omit: bool = False) -> dict:
    """A customer company held by the listed person with ``share`` (absent when ``omit``)."""
    owner = dict(LISTED_OWNER) if omit else {**LISTED_OWNER, "share": share}
    return {
        "id": f"K-{share}",
        "name": "Quiet Harbour Ltd",
        "country": "GB",
        "shareholders": [owner],
    }


@pytest.fixture
def empty_api(db_url):
    """A served application over a database with its tables but no list or tag set."""
    db = open_database(db_url)
    headers = key_headers(db_url)
    with serving(create_app(db.url)) as url:
        with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
            yield client, db
    db.dispose()


def test_api_fails_closed_until_a_list_is_loaded(empty_api, fixtures):
    client, db = empty_api
    for address in (LISTED_BTC, CLEAN_BTC):
        reply = client.post("/v1/screen/address", json={"address": address})
        assert reply.status_code == 503, reply.text
        assert reply.json()["detail"].startswith("no lists loaded")
    reply = client.post("/v1/screen/company", json={"companies": [company(60)]})
    assert reply.status_code == 503, reply.text
    load_lists(db, [fixtures / "lists" / "ofac_csv"])
    hit = client.post("/v1/screen/address", json={"address": LISTED_BTC}).json()
    assert hit["sanctioned"] and hit["hits"][0]["entity_id"] == "us_ofac_sdn:10001"
    clean = client.post("/v1/screen/address", json={"address": CLEAN_BTC}).json()
    assert clean["sanctioned"] is False and set(clean["snapshots"]) == {"us_ofac_sdn"}


@pytest.fixture
def loaded_api(db_url, fixtures):
    db = open_database(db_url)
    load_lists(db, [fixtures / "lists" / "ofac_csv"])
    headers = key_headers(db_url)
    with serving(create_app(db.url)) as url:
        with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
            yield client
    db.dispose()


def test_api_unknown_schema_is_422_naming_the_allowed_values(loaded_api):
    for bad in ("PERSON", "Individual", "person", ""):
        reply = loaded_api.post("/v1/screen/name", json={"name": "Arkady Kornevsky", "schema": bad})
        assert reply.status_code == 422, (bad, reply.text)
        assert all(name in reply.text for name in SCHEMAS), reply.text
    good = loaded_api.post("/v1/screen/name", json={"name": "Arkady Kornevsky", "schema": "Person"})
    assert good.status_code == 200 and good.json()["matches"][0]["entity_id"] == "us_ofac_sdn:10001"


def test_api_invalid_share_of_a_listed_owner_never_clears(loaded_api):
    bad = (-5, "abc", 150, "NaN", "-5%")
    body = {"companies": [company(v) for v in bad] + [company(None, omit=True), company(10)]}
    reply = loaded_api.post("/v1/screen/company", json=body)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    verdicts = {r["entity_id"]: r["verdict"] for r in answer["results"]}
    # A bad share is unknown ([0, 100]), as an omitted one: possibly blocked, never clear.
    assert verdicts == {
        **{f"K-{v}": "possibly_blocked" for v in bad},
        "K-None": "possibly_blocked",
        "K-10": "not_blocked",  # a readable 10% stays 10%: the bad ones are not read as 0
    }
    by_id = {r["entity_id"]: r for r in answer["results"]}
    for value in bad:
        result = by_id[f"K-{value}"]
        assert result["blocked_share"] == {"low": 0.0, "high": 100.0}
        step = result["paths"][-1]["steps"][0]
        assert step["share"] == f"unknown (invalid: {str(value)!r})"
    problems = [p["text"] for p in answer["problems"]]
    assert len(problems) == len(bad)
    assert all("counted as unknown" in p for p in problems)
    for value in bad:
        assert any(repr(str(value)) in p or f"{value}" in p for p in problems), (value, problems)


def test_cli_and_api_allow_the_same_schemas():
    assert typing.get_args(ScreenSchema) == SCHEMAS


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory) -> str:
    """A SQLite database that exists (tables made) and holds no list or tag set."""
    url = f"sqlite:///{tmp_path_factory.mktemp('empty') / 'empty.db'}"
    open_database(url).dispose()
    return url


def test_cli_screen_address_without_lists_exits_3(empty_db):
    result = run("screen", "address", LISTED_BTC, "--json", db=empty_db)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "no lists loaded" in result.stderr and result.stdout == ""


def test_cli_unknown_schema_is_a_usage_error(empty_db):
    result = run("screen", "name", "Arkady Kornevsky", "--schema", "Individual", db=empty_db)
    assert result.returncode == 2, result.stderr
    assert "'Individual' is not one of" in result.stderr and "'Person'" in result.stderr


def test_cli_nan_share_of_a_listed_owner_is_possibly_blocked(tmp_path: Path, fixtures):
    url = f"sqlite:///{tmp_path / 'lists.db'}"
    db = open_database(url)
    load_lists(db, [fixtures / "lists" / "ofac_csv"])
    db.dispose()
    person = {"name": ["Arkady Kornevsky"], "birthDate": ["1971-02-14"], "country": ["ru"]}
    owns = {"owner": ["p1"], "asset": ["c1"], "percentage": [float("nan")]}
    records = [
        {"id": "c1", "schema": "Company", "properties": {"name": ["Quiet Harbour Ltd"]}},
        {"id": "p1", "schema": "Person", "properties": person},
        {"id": "o1", "schema": "Ownership", "properties": owns},
    ]
    kyb = tmp_path / "kyb.ftm.json"
    kyb.write_text("\n".join(json.dumps(r) for r in records) + "\n")  # NaN as JSON allows it
    result = run("network", "check", str(kyb), "--json", db=url)
    assert result.returncode == 1, result.stderr  # a hit
    (c1,) = [r for r in json.loads(result.stdout) if r["entity_id"] == "c1"]
    assert c1["verdict"] == "possibly_blocked"
    assert c1["paths"][-1]["steps"][0]["share"] == "unknown (invalid: 'nan')"
    assert "percentage: 'nan' is not a percentage, range or band; counted as unknown" in (
        result.stderr
    )
