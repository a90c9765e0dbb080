"""Event loads: files in (JSON lines, CSV, gzip), idempotency, bad records, the pipeline's
effect on customers and wallets, ``POST /v1/events``."""

from __future__ import annotations

import csv
import gzip
import json

import httpx
import pytest
import sqlalchemy as sa

from helpers import ROOT, key_headers, run, serving
from monitor_helpers import context, customer, withdrawal, write_jsonl
from sanctrace.api.app import create_app
from sanctrace.monitor.events import parse_event
from sanctrace.monitor.pipeline import process
from sanctrace.monitor.readers import read_event_files, read_events
from sanctrace.services.names import customer_queries
from sanctrace.store.tables import customer_names, events, wallets

EXAMPLES = ROOT / "docs" / "examples" / "events.jsonl"


def _count(ctx, table) -> int:
    with ctx.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_example_file_has_every_type_and_loads_twice_once(db_url, tmp_path):
    read = read_events(EXAMPLES)
    assert read.problems == []
    assert {e.type for _, e in read.events} == {
        "customer",
        "wallet",
        "login",
        "deposit",
        "withdrawal",
        "fiat_in",
        "fiat_out",
    }
    first = run("events", "load", str(EXAMPLES), db=db_url)
    assert first.returncode == 0, first.stderr
    assert f"{len(read.events)} stored, 0 duplicates, 0 bad" in first.stderr
    again = run("events", "load", str(EXAMPLES), db=db_url)
    assert again.returncode == 0, again.stderr
    assert f"0 stored, {len(read.events)} duplicates, 0 bad" in again.stderr
    ctx = context(db_url, tmp_path)
    assert _count(ctx, events) == len(read.events)
    # The customers are screenable with their names by kind; the removed wallet is gone.
    queries = {q.id: q for q in customer_queries(ctx.db)}
    assert queries["C1001"].name == "TANAKA Hiroshi"
    assert queries["C1001"].name_kana == "タナカ ヒロシ"
    assert queries["C2001"].name == "株式会社サクラ商事"
    with ctx.db.connect() as conn:
        kinds = {
            tuple(r)
            for r in conn.execute(
                sa.select(customer_names.c.kind, customer_names.c.name).where(
                    customer_names.c.customer_id == "C1001"
                )
            )
        }
        held = [tuple(r) for r in conn.execute(sa.select(wallets.c.address, wallets.c.purpose))]
    assert ("alias", "Hiro Tanaka") in kinds and ("legal", "田中 博") in kinds
    assert held == [("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "deposit")]


def test_bad_records_named_by_line_and_field_rest_stored(db_url, tmp_path):
    path = write_jsonl(
        tmp_path / "ev.jsonl",
        [
            customer(),
            withdrawal("x1"),
            withdrawal("x2", amount="1,5"),  # line 3: amount
            "{not json",  # line 4
            {**withdrawal("x3"), "type": "teleport"},  # line 5: type
            withdrawal("x4"),
            {
                "event_id": "w9",
                "type": "wallet",
                "time": "2024-04-01T10:00:00Z",
                "customer_id": "NOBODY",
                "chain": "btc",
                "address": "x",
                "purpose": "deposit",
            },
        ],
    )
    result = run("events", "load", str(path), db=db_url)
    assert result.returncode == 2, result.stderr
    assert f"{path}:3: amount:" in result.stderr
    assert f"{path}:4: record: not JSON" in result.stderr
    assert f"{path}:5: type:" in result.stderr
    assert f"{path}:7: event w9: customer_id:" in result.stderr
    assert "3 stored, 0 duplicates, 4 bad" in result.stderr
    ctx = context(db_url, tmp_path)
    assert _count(ctx, events) == 3


def test_csv_and_gzip(tmp_path):
    path = tmp_path / "ev.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "event_id",
                "type",
                "time",
                "customer_id",
                "kind",
                "names",
                "chain",
                "asset",
                "amount",
                "address",
                "output_index",
                "beneficiary",
            ]
        )
        w.writerow(
            [
                "c1",
                "customer",
                "2024-01-01T00:00:00Z",
                "C1",
                "person",
                json.dumps([{"text": "SATO Kenji"}]),
                "",
                "",
                "",
                "",
                "",
                "",
            ]
        )
        w.writerow(
            [
                "c2",
                "customer",
                "2024-01-01T00:00:00Z",
                "C2",
                "company",
                "ACME KK",
                "",
                "",
                "",
                "",
                "",
                "",
            ]
        )
        w.writerow(
            [
                "x1",
                "withdrawal",
                "2024-01-02T00:00:00Z",
                "C1",
                "",
                "",
                "btc",
                "BTC",
                "0.5",
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                "",
                json.dumps({"names": [{"text": "SATO Kenji"}]}),
            ]
        )
        w.writerow(
            [
                "x2",
                "withdrawal",
                "2024-01-02T00:00:00Z",
                "C1",
                "",
                "",
                "btc",
                "BTC",
                "0.5",
                "bc1q",
                "",
                "{bad",
            ]
        )
    gz = tmp_path / "more.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps(withdrawal("g1")) + "\n")
    read = read_event_files([path, gz])
    assert [e.event_id for _, e in read.events] == ["c1", "c2", "x1", "g1"]
    assert read.events[1][1].names[0].text == "ACME KK"
    assert read.problems == [
        f"{path}:5: beneficiary: not JSON (Expecting property name enclosed in double quotes)"
    ]
    folder = read_event_files([tmp_path])
    assert len(folder.events) == 4


def test_pipeline_stores_once_and_updates_customer_in_place(db_url, tmp_path):
    ctx = context(db_url, tmp_path)
    first = process(ctx, [parse_event(customer()), parse_event(withdrawal("x1"))])
    assert [o.status for o in first.outcomes] == ["stored", "stored"]
    wallet = parse_event(
        {
            "event_id": "w1",
            "type": "wallet",
            "time": "2024-04-01T10:00:00Z",
            "customer_id": "C1",
            "chain": "btc",
            "purpose": "withdrawal",
            "address": "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        }
    )
    updated = parse_event(
        {
            **customer(name="SATO Kenji Jr"),
            "event_id": "cust-C1-v2",
            "action": "update",
            "time": "2024-05-01T00:00:00Z",
        }
    )
    second = process(ctx, [updated, wallet, parse_event(withdrawal("x1"))])
    assert [o.status for o in second.outcomes] == ["stored", "stored", "duplicate"]
    with ctx.db.connect() as conn:
        held = list(conn.execute(sa.select(wallets.c.address)).scalars())
    assert held == ["bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"]  # canonical, kept by update
    assert {q.id: q.name for q in customer_queries(ctx.db)} == {"C1": "SATO Kenji Jr"}


def test_post_events_one_and_batch(db_url, tmp_path):
    ctx = context(db_url, tmp_path)
    auth = key_headers(ctx)
    with serving(create_app(ctx)) as url:
        one = httpx.post(f"{url}/v1/events", json=customer(), timeout=60, headers=auth)
        assert one.status_code == 200, one.text
        assert one.json()["events"][0]["status"] == "stored"
        batch = {"events": [customer(), withdrawal("x1"), withdrawal("x2")]}
        many = httpx.post(f"{url}/v1/events", json=batch, timeout=60, headers=auth)
        assert many.status_code == 200, many.text
        body = many.json()
        assert [e["status"] for e in body["events"]] == ["duplicate", "stored", "stored"]
        assert body["stored"] == 2 and body["duplicates"] == 1
        bad = {"events": [withdrawal("x3"), {**withdrawal("x4"), "amount": "-1"}, {"type": 1}]}
        refused = httpx.post(f"{url}/v1/events", json=bad, timeout=60, headers=auth)
        assert refused.status_code == 422
        problems = refused.json()["problems"]
        assert problems[0].startswith("events[1]: amount:")
        assert problems[1].startswith("events[2]: type:")
        schema = httpx.get(f"{url}/openapi.json", timeout=60).json()
        assert "200" in schema["paths"]["/v1/events"]["post"]["responses"]
    assert _count(ctx, events) == 3  # the refused batch stored nothing


@pytest.fixture(autouse=True)
def _no_rules_file(monkeypatch):
    monkeypatch.delenv("SANCTRACE_RULES", raising=False)
