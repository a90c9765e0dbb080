"""``POST /v1/screen/company`` on a real server on 127.0.0.1 (both body forms, bad input)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from helpers import key_headers, serving
from sanctrace.api.app import create_app
from sanctrace.api.auth import install_auth
from sanctrace.api.companies import company_router
from sanctrace.api.errors import install_error_handler
from sanctrace.lists.snapshots import load_lists
from sanctrace.services.context import Context
from sanctrace.store import open_database


@pytest.fixture
def api(db_url, fixtures):
    db = open_database(db_url)
    load_lists(db, [fixtures / "lists" / "ofac_csv"])
    with serving(create_app(db.url)) as url:  # the application as served
        yield url
    db.dispose()


@pytest.fixture
def auth(api, db_url):
    return key_headers(db_url)


CHAIN = {
    "id": "SG-1",
    "name": "Orchid Straits Trading Pte. Ltd.",
    "country": "SG",
    "incorporation_date": "2022-04-18",
    "shareholders": [
        {
            "id": "RU-2",
            "name": "OOO Angara Kapital",
            "type": "company",
            "country": "RU",
            "share": 100,
            "shareholders": [
                {
                    "name": "Arkady Kornevsky",
                    "country": "RU",
                    "birth_date": "1971-02-14",
                    "share": "60%",
                }
            ],
        }
    ],
    "directors": [{"name": "Tan Wei Ming", "country": "SG"}],
}


def test_company_objects_with_nested_shareholders(api, auth):
    clean = {
        "id": "JP-1",
        "name": "Sakura Trading KK",
        "country": "JP",
        "shareholders": [{"name": "Yamada Taro", "country": "JP", "share": 100}],
        "ubos": [{"name": "Yamada Taro", "country": "JP"}],
    }
    with httpx.Client(base_url=api, timeout=60, headers=auth) as client:
        reply = client.post("/v1/screen/company", json={"companies": [CHAIN, clean]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["snapshots"] == {"us_ofac_sdn": body["snapshots"]["us_ofac_sdn"]}
    # Only the companies of the request are customers, not the shareholder company.
    sg, jp = body["results"]
    assert (sg["entity_id"], sg["verdict"], jp["entity_id"], jp["verdict"]) == (
        "SG-1",
        "blocked",
        "JP-1",
        "not_blocked",
    )
    steps = sg["paths"][0]["steps"]
    assert [(s["owner_name"], s["asset"], s["share"]) for s in steps] == [
        ("Arkady Kornevsky", "RU-2", "60%"),
        ("OOO Angara Kapital", "SG-1", "100%"),
    ]
    assert steps[0]["origin"] == "request:companies[0].shareholders[0].shareholders[0]"
    assert "third_country_front" in {s["code"] for s in sg["signals"]}
    assert jp["paths"] == [] and jp["signals"] == [] and body["problems"] == []


def test_ftm_records_and_problems_per_record(api, auth):
    owns = {"owner": ["A"], "asset": ["B"], "percentage": ["140"]}
    records = [
        {"id": "A", "schema": "Company", "properties": {"name": ["Kriptobirzha Primer"]}},
        {"id": "B", "schema": "Company", "properties": {"name": ["Quiet Harbour Ltd"]}},
        {"id": "o", "schema": "Ownership", "properties": owns},
        {"schema": "Company"},
    ]
    with httpx.Client(base_url=api, timeout=60, headers=auth) as client:
        reply = client.post("/v1/screen/company", json={"records": records})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [(r["entity_id"], r["verdict"]) for r in body["results"]] == [
        ("A", "blocked"),
        ("B", "possibly_blocked"),  # a listed owner with a bad share: unknown, not cleared
    ]
    assert body["results"][0]["paths"][0]["kind"] == "match"
    texts = [p["text"] for p in body["problems"]]
    assert texts[0].startswith("request:4: id: not an FtM entity")
    assert texts[1].startswith("request:3: percentage:") and "over 100" in texts[1]


def test_bad_requests(api, auth):
    with httpx.Client(base_url=api, timeout=60, headers=auth) as client:
        both = client.post("/v1/screen/company", json={"records": [{}], "companies": [CHAIN]})
        assert both.status_code == 422
        assert client.post("/v1/screen/company", json={}).status_code == 422
        bad_type = {**CHAIN, "directors": [{"name": "X", "type": "robot"}]}
        assert client.post("/v1/screen/company", json={"companies": [bad_type]}).status_code == 422
        nothing = client.post("/v1/screen/company", json={"records": [{"id": "x"}]})
        assert nothing.status_code == 422
        detail = nothing.json()["detail"]
        assert detail.startswith("request: no company could be read")
        assert "request:1: id: not an FtM entity" in detail  # the problems are named
        assert nothing.json()["problems"][0].startswith("request:1: id: not an FtM entity")


def test_same_party_without_id_is_one_party(api, auth):
    """Two companies with the same shareholder, written differently: one party, one id."""
    owner = {"name": "Arkady Kornevsky", "country": "RU", "birth_date": "1971-02-14"}
    twin = {**owner, "name": "ARKADY  kornevsky", "country": "ru"}
    companies = [
        {"id": "C-1", "name": "Amber One Ltd", "shareholders": [{**owner, "share": 60}]},
        {"id": "C-2", "name": "Amber Two Ltd", "shareholders": [{**twin, "share": 60}]},
    ]
    with httpx.Client(base_url=api, timeout=60, headers=auth) as client:
        reply = client.post("/v1/screen/company", json={"companies": companies})
    assert reply.status_code == 200, reply.text
    owners = {r["paths"][0]["steps"][0]["owner"] for r in reply.json()["results"]}
    assert len(owners) == 1 and owners.pop().startswith("party-")


def test_openapi_declares_the_answer_and_the_errors(api):
    schema = httpx.get(f"{api}/openapi.json", timeout=60).json()
    post = schema["paths"]["/v1/screen/company"]["post"]
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/CompanyCheckOut")
    assert {"422", "503"} <= set(post["responses"])


def test_no_lists_is_503(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'bare.db'}")
    app = FastAPI()
    install_error_handler(app)  # as create_app does: the router translates no error
    install_auth(app, Context(db=db))
    app.include_router(company_router(Context(db=db)))
    try:
        with serving(app) as url:
            reply = httpx.post(
                f"{url}/v1/screen/company",
                json={"companies": [CHAIN]},
                timeout=60,
                headers=key_headers(db),
            )
        assert reply.status_code == 503 and "no sanctions lists" in reply.json()["detail"]
    finally:
        db.dispose()
