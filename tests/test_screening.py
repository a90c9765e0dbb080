"""Name screening through its interfaces: Python API, CLI, CSV contract, REST API, re-screening."""

from __future__ import annotations

import csv
import json
import shutil

import httpx
import pytest

from helpers import key_headers, run, serving, user_headers
from sanctrace.lists.snapshots import diff, load_lists
from sanctrace.model import NameQuery
from sanctrace.services.names import (
    build_screener,
    open_matches,
    rescreen_delta,
    retired_matches,
    screen_customers,
)
from sanctrace.store import customers as customer_repo
from sanctrace.store import open_database


@pytest.fixture
def loaded(db_url, fixtures):
    db = open_database(db_url)
    load_lists(db, [fixtures / "lists" / "ofac_csv"])
    yield db
    db.dispose()


def test_screener_finds_latin_cyrillic_and_katakana(loaded):
    screener = build_screener(loaded)
    for text in (
        "Arkady Kornevsky",
        "KORNEVSKII Arkadii",
        "Корневский Аркадий",
        "コルネフスキー・アルカジー",
    ):
        matches = screener.screen(NameQuery(text, schema="Person"))
        assert matches and matches[0].entity_id == "us_ofac_sdn:10001", text
        assert matches[0].snapshot_id is not None
    assert screener.screen(NameQuery("Hanako Yamada", schema="Person")) == []


def test_schema_and_legal_forms(loaded):
    screener = build_screener(loaded)
    company = screener.screen(NameQuery("Taiga Vychisleniya LLC", schema="Company"))
    assert company and company[0].entity_id == "us_ofac_sdn:10002"
    # The vessel is never a Person.
    assert not screener.screen(NameQuery("Severnaya Zvezda", schema="Person"))
    assert screener.screen(NameQuery("Severnaya Zvezda", schema="Vessel"))[0].schema == "Vessel"


def test_explanation_says_why(loaded):
    screener = build_screener(loaded)
    (best, *_) = screener.screen(NameQuery("Arkady Kornevsky", schema="Person", birth_date="1971"))
    assert "'arkady'≈'arkady' 1.00" in best.explanation
    assert "'pavlovich' (optional)" in best.explanation
    assert "birth year 1971 matches" in best.explanation
    worse = screener.screen(NameQuery("Arkady Kornevsky", schema="Person", birth_date="1990"))
    assert worse == [] or worse[0].score < best.score


def test_cli_screen_name_and_csv_contract(db_url, fixtures, tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("the CLI contract is database-independent; covered on SQLite")
    assert run("lists", "load", str(fixtures / "lists" / "ofac_csv"), db=db_url).returncode == 0
    one = run("screen", "name", "Корневский Аркадий", "--json", db=db_url)
    assert one.returncode == 1
    assert json.loads(one.stdout)["matches"][0]["source_id"] == "10001"
    none = run("screen", "name", "Hanako Yamada", db=db_url)
    assert none.returncode == 0 and "no match" in none.stdout
    out = tmp_path / "out.csv"
    bulk = run(
        "screen", "names", str(fixtures / "screening" / "queries.csv"), "--out", str(out), db=db_url
    )
    assert bulk.returncode == 0, bulk.stderr
    with open(out, newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == [
            "query_id",
            "rank",
            "score",
            "entity_id",
            "source",
            "source_id",
            "entity_name",
            "matched_name",
            "schema",
            "explanation",
        ]
        rows = list(reader)
    by_query = {r["query_id"]: r for r in rows if r["rank"] == "1"}
    assert {"q1", "q2", "q3", "q5"} <= set(by_query) and "q4" not in by_query
    assert by_query["q3"]["source_id"] == "10002"
    assert all(float(r["score"]) >= 0.75 for r in rows)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,nome\n1,x\n")
    failed = run("screen", "names", str(bad), "--out", str(tmp_path / "o.csv"), db=db_url)
    assert failed.returncode == 2 and "missing column 'name'" in failed.stderr
    assert not (tmp_path / "o.csv").exists()


@pytest.fixture
def api(loaded):
    from sanctrace.api.app import create_app

    with serving(create_app(loaded.url if "***" not in loaded.url else None)) as url:
        yield url


def test_rest_api_screens_names_and_addresses(api, loaded):
    with httpx.Client(base_url=api, timeout=60, headers=key_headers(loaded)) as client:
        reply = client.post(
            "/v1/screen/name", json={"name": "コルネフスキー アルカジー", "schema": "Person"}
        )
        assert reply.status_code == 200
        body = reply.json()
        assert body["matches"][0]["entity_id"] == "us_ofac_sdn:10001"
        assert body["matches"][0]["schema"] == "Person"
        assert set(body["snapshots"]) == {"us_ofac_sdn"}
        assert client.post("/v1/screen/name", json={"name": ""}).status_code == 422
        addr = client.post(
            "/v1/screen/address", json={"address": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}
        )
        assert addr.json()["hits"][0]["entity_id"] == "us_ofac_sdn:10001"


def test_threshold_is_reported_alike_by_cli_and_api(api, db_url):
    """One rule: the request's threshold, else the screener's for the schema."""
    with httpx.Client(base_url=api, timeout=60, headers=key_headers(db_url)) as client:
        for extra, body in (([], {}), (["--threshold", "0.9"], {"threshold": 0.9})):
            cli = run("screen", "name", "Hanako Yamada", "--json", *extra, db=db_url)
            assert cli.returncode == 0, cli.stderr
            local = json.loads(cli.stdout)
            reply = client.post("/v1/screen/name", json={"name": "Hanako Yamada", **body})
            assert reply.status_code == 200
            assert local == reply.json()
            assert local["threshold"] == body.get("threshold", local["threshold"])
    human = run("screen", "name", "Hanako Yamada", "--threshold", "0.9", db=db_url)
    assert "no match at or above 0.90" in human.stdout


def test_api_without_lists_answers_503(db_url):
    from sanctrace.api.app import create_app

    db = open_database(db_url)
    with serving(create_app(db_url)) as url, httpx.Client(base_url=url, timeout=60) as client:
        reply = client.post(
            "/v1/screen/name", json={"name": "Arkady Kornevsky"}, headers=key_headers(db_url)
        )
        assert reply.status_code == 503
        assert reply.json() == {
            "detail": "no sanctions list loaded; load one with: sanctrace lists load PATH"
        }
        assert client.get("/v1/lists", headers=user_headers(db_url, "auditor")).json() == {}
        schema = client.get("/openapi.json").json()
        for path in ("/v1/lists", "/v1/screen/name"):
            (op,) = schema["paths"][path].values()
            assert "schema" in op["responses"]["200"]["content"]["application/json"]
            assert "503" in op["responses"]
    db.dispose()


def test_rescreening_on_a_new_snapshot(loaded, fixtures, tmp_path):
    with loaded.begin() as conn:
        customer_repo.upsert_customers(
            conn,
            [
                {"id": "C1", "kind": "person", "names": [("reading", "コルネフスキー アルカジー")]},
                {"id": "C2", "kind": "person", "names": [("latin", "Novyi Entry")]},
                {"id": "C3", "kind": "person", "names": [("latin", "Taro Yamada")]},
            ],
        )
    first = screen_customers(loaded, build_screener(loaded))
    assert set(first.by_customer) == {"C1"}
    newer = tmp_path / "v2"
    shutil.copytree(fixtures / "lists" / "ofac_csv", newer)
    sdn = (newer / "sdn.csv").read_text().splitlines()
    lines = [line for line in sdn if not line.startswith("10001,")]
    lines.append('10005,"NOVYI, Entry","individual","X",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ')
    (newer / "sdn.csv").write_text("\n".join(lines) + "\n")
    load_lists(loaded, [newer])
    rerun = rescreen_delta(loaded, diff(loaded, "us_ofac_sdn"))
    assert set(rerun.by_customer) == {"C2"} and rerun.new == 1 and rerun.retired == 1
    assert [(m.customer_id, m.entity_id) for m in open_matches(loaded)] == [
        ("C2", "us_ofac_sdn:10005")
    ]
    (gone,) = retired_matches(loaded)
    assert gone.customer_id == "C1" and "removed from us_ofac_sdn" in gone.retired_reason


def test_lists_load_rescreens_stored_customers(tmp_path, fixtures):
    db_url = f"sqlite:///{tmp_path / 'auto.db'}"
    db = open_database(db_url)
    with db.begin() as conn:
        customer_repo.upsert_customers(
            conn,
            [{"id": "C1", "kind": "person", "names": [("reading", "コルネフスキー アルカジー")]}],
        )
    db.dispose()
    loaded = run("lists", "load", str(fixtures / "lists" / "ofac_csv"), db=db_url)
    assert loaded.returncode == 0, loaded.stderr
    assert "re-screened against the changes: 1 new matches, 0 retired" in loaded.stderr
    db = open_database(db_url)
    assert [(m.customer_id, m.entity_id) for m in open_matches(db)] == [("C1", "us_ofac_sdn:10001")]
    db.dispose()
