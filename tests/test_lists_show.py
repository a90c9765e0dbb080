"""What an analyst sees of the lists: one listed entity in full (``lists show``, the API), and
deltas by name with old → new values (``lists diff``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from helpers import run, serving, user_headers
from sanctrace.api.app import create_app
from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.settings import Settings


def _two_snapshots(db_url: str, fixtures: Path, tmp_path: Path) -> Context:
    """The OFAC fixture, then a newer set: a person's nationality added, an alias changed,
    the vessel delisted, a person listed."""
    ctx = Context(Settings(db=db_url, data_dir=tmp_path / "data"))
    first = tmp_path / "v1"
    shutil.copytree(fixtures / "lists" / "ofac_csv", first)
    lists.load(ctx, lists.LoadRequest(paths=(first,), version="2024-01-05"))
    second = tmp_path / "v2"
    shutil.copytree(first, second)
    sdn = (second / "sdn.csv").read_text().splitlines()
    sdn = [line for line in sdn if not line.startswith("10003,")]
    sdn = [line.replace("Gender Male", "Gender Male; nationality Ukraine") for line in sdn]
    sdn.append(
        '10005,"NOVYI, Entry","individual","RUSSIA-EO14024",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- '
    )
    (second / "sdn.csv").write_text("\n".join(sdn) + "\n")
    alt = (second / "alt.csv").read_text().replace("PRIMER EXCHANGE", "PRIMER EXCHANGE LTD")
    (second / "alt.csv").write_text(alt)
    lists.load(ctx, lists.LoadRequest(paths=(second,), version="2024-02-09"))
    return ctx


@pytest.fixture
def two_snapshots(db_url, fixtures, tmp_path) -> Context:
    ctx = _two_snapshots(db_url, fixtures, tmp_path)
    yield ctx
    ctx.db.dispose()


def test_an_entity_in_full_and_the_diff_by_name_and_value(two_snapshots):
    shown = lists.entity(two_snapshots, "us_ofac_sdn:10001").to_dict()
    assert shown["caption"] == "KORNEVSKY, Arkady Pavlovich" and shown["active"]
    scripts = {n["script"] for n in shown["names"]}
    assert {"Latin", "Cyrillic"} <= scripts
    props = shown["properties"]
    assert props["birthDate"] == ["1971-02-14", "1972"]
    assert set(props["nationality"]) == {"Russia", "Ukraine"}
    assert props["program"] == ["RUSSIA-EO14024"] and props["passportNumber"] == ["7011223344"]
    assert [c["address"] for c in shown["crypto"]] == ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]
    # A delisted entity is still shown, from the snapshot that last held it.
    gone = lists.entity(two_snapshots, "us_ofac_sdn:10003").to_dict()
    assert gone["caption"] == "SEVERNAYA ZVEZDA" and not gone["active"]

    # The diff names every entity and spells out the changed values.
    ctx = two_snapshots
    view = lists.delta_view(ctx, lists.diff(ctx, "us_ofac_sdn")).to_dict()
    assert view["added"] == ["us_ofac_sdn:10005"]  # the ids, as before
    entries = {e["entity_id"]: e for e in view["entries"]}
    assert (entries["us_ofac_sdn:10005"]["change"], entries["us_ofac_sdn:10005"]["caption"]) == (
        "added",
        "NOVYI, Entry",
    )
    assert entries["us_ofac_sdn:10003"]["caption"] == "SEVERNAYA ZVEZDA"
    person = entries["us_ofac_sdn:10001"]
    assert person["change"] == "changed" and person["caption"] == "KORNEVSKY, Arkady Pavlovich"
    nationality = person["fields"]["nationality"]
    assert nationality == {"old": ["Russia"], "new": ["Russia", "Ukraine"]}
    alias = entries["us_ofac_sdn:10004"]["fields"]["alias"]
    assert "PRIMER EXCHANGE LTD" in alias["new"] and "PRIMER EXCHANGE LTD" not in alias["old"]


def test_cli_show_and_diff(fixtures, tmp_path):
    """The command line is the same on both databases: run once, on SQLite."""
    db_url = f"sqlite:///{tmp_path / 'cli.db'}"
    _two_snapshots(db_url, fixtures, tmp_path).db.dispose()
    shown = run("lists", "show", "us_ofac_sdn:10001", db=db_url)
    assert shown.returncode == 0, shown.stderr
    for line in (
        "KORNEVSKY, Arkady Pavlovich (Person) us_ofac_sdn:10001",
        "[alias] Корневский Аркадий Павлович (Cyrillic)",
        "birth date: 1971-02-14",
        "programme: RUSSIA-EO14024",
        "crypto: XBT 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
    ):
        assert line in shown.stdout, line
    diff = run("lists", "diff", "us_ofac_sdn", db=db_url)
    assert diff.returncode == 0, diff.stderr
    assert "~ us_ofac_sdn:10001 KORNEVSKY, Arkady Pavlovich (Person)" in diff.stdout
    assert "    nationality: Russia → Russia; Ukraine" in diff.stdout
    assert "- us_ofac_sdn:10003 SEVERNAYA ZVEZDA (Vessel)" in diff.stdout


def _ftm_list(path: Path) -> Path:
    rows = [
        {
            "id": "p-1",
            "schema": "Person",
            "properties": {
                "name": ["Ivan Petrov"],
                "alias": ["Иван Петров"],
                "birthDate": ["1970-01-02"],
                "program": ["RUSSIA-EO14024"],
                "createdAt": ["2022-03-15"],
            },
        },
        {"id": "c-1", "schema": "Company", "properties": {"name": ["PETROV HOLDING LLC"]}},
        {
            "id": "o-1",
            "schema": "Ownership",
            "properties": {"owner": ["p-1"], "asset": ["c-1"], "percentage": ["51"]},
        },
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_api_shows_an_entity_with_its_links(db_url, tmp_path):
    ctx = Context(Settings(db=db_url, data_dir=tmp_path / "data"))
    source = _ftm_list(tmp_path / "owners.ftm.json")
    lists.load(ctx, lists.LoadRequest(paths=(source,), source="test_ftm"))
    reader = user_headers(ctx, "auditor")
    with serving(create_app(ctx)) as url, httpx.Client(base_url=url) as client:
        reply = client.get("/v1/lists/entities/p-1", headers=reader)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["schema"] == "Person" and body["source"] == "test_ftm"
        assert body["properties"]["createdAt"] == ["2022-03-15"]
        assert {n["value"] for n in body["names"]} == {"Ivan Petrov", "Иван Петров"}
        (link,) = body["links"]
        assert (link["role"], link["other_id"], link["other_caption"]) == (
            "owned",
            "c-1",
            "PETROV HOLDING LLC",
        )
        assert link["details"] == {"percentage": ["51"]}
        assert client.get("/v1/lists/entities/nope", headers=reader).status_code == 404
        assert client.get("/v1/lists/entities/p-1").status_code == 401
        warned = client.get("/v1/lists/test_ftm/warnings", headers=reader).json()
        assert warned["source"] == "test_ftm" and isinstance(warned["warnings"], list)
        assert client.get("/v1/lists/nope/warnings", headers=reader).status_code == 404
        status = client.get("/v1/lists", headers=reader).json()["test_ftm"]
        assert status["freshness"]["stale"] is False
    ctx.db.dispose()
