"""Decisions: ``POST /v1/decide/…`` over a real server (SQLite and PostgreSQL), the stored
decision, repeated event ids, ``sanctrace decide`` and ``alerts list``."""

from __future__ import annotations

import json

import httpx
import sqlalchemy as sa

from helpers import key_headers, run, serving, user_headers
from monitor_helpers import LISTED, context, customer, load_list, withdrawal, write_list
from sanctrace import __version__
from sanctrace.api.app import create_app
from sanctrace.monitor.decisions import decide
from sanctrace.monitor.pipeline import rules_for
from sanctrace.store.tables import alerts, decisions, events


def test_decide_api_allow_block_stored_and_repeated(db_url, tmp_path):
    ctx = context(db_url, tmp_path)
    answers = load_list(ctx, write_list(tmp_path / "list", 2))
    snapshot = answers[0].snapshot_id
    auth, reader = key_headers(ctx), user_headers(ctx, "auditor")
    with serving(create_app(ctx)) as url:
        assert (
            httpx.post(f"{url}/v1/events", json=customer(), timeout=60, headers=auth).status_code
            == 200
        )
        clean = withdrawal("x-clean")
        allow = httpx.post(f"{url}/v1/decide/withdrawal", json=clean, timeout=60, headers=auth)
        assert allow.status_code == 200, allow.text
        body = allow.json()
        assert body["decision"] == "allow", body
        assert body["snapshots"] == {"us_ofac_sdn": snapshot}
        assert body["rules_version"] == rules_for(ctx).version
        assert body["engine_version"] == __version__

        listed = withdrawal("x-listed", address=LISTED)
        block = httpx.post(f"{url}/v1/decide/withdrawal", json=listed, timeout=60, headers=auth)
        assert block.status_code == 200, block.text
        blocked = block.json()
        assert blocked["decision"] == "block", blocked
        assert "sanctioned_address" in {r["rule"] for r in blocked["reasons"]}
        assert all(r["summary"] and r["summary_ja"] for r in blocked["reasons"])

        again = httpx.post(f"{url}/v1/decide/withdrawal", json=listed, timeout=60, headers=auth)
        assert again.json() == blocked  # the stored decision, not a second one

        changed = httpx.post(
            f"{url}/v1/decide/withdrawal", json={**listed, "amount": "9"}, timeout=60, headers=auth
        )
        assert changed.status_code == 409
        wrong = httpx.post(f"{url}/v1/decide/deposit", json=clean, timeout=60, headers=auth)
        assert wrong.status_code == 422
        bad = httpx.post(
            f"{url}/v1/decide/withdrawal", json={**clean, "amount": "x"}, timeout=60, headers=auth
        )
        assert bad.status_code == 422 and "amount" in bad.json()["detail"]

        listed_alerts = httpx.get(
            f"{url}/v1/alerts", params={"customer": "C1"}, timeout=60, headers=reader
        )
        assert listed_alerts.status_code == 200
        rows = listed_alerts.json()
        assert any(
            a["rule"] == "sanctioned_address" and a["decision_id"] == blocked["decision_id"]
            for a in rows
        )
        paths = httpx.get(f"{url}/openapi.json", timeout=60).json()["paths"]
        assert "/v1/decide/deposit" in paths and "/v1/alerts" in paths

    with ctx.db.connect() as conn:
        stored = conn.execute(
            sa.select(decisions).where(decisions.c.decision_id == blocked["decision_id"])
        ).one()
        assert stored.inputs == listed  # exactly as received
        assert stored.snapshots == {"us_ofac_sdn": snapshot}
        assert stored.rules_version == rules_for(ctx).version
        assert stored.decision == "block"
        count = conn.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one()
        assert count == 2
        held = conn.execute(
            sa.select(alerts.c.decision_id, alerts.c.action).where(alerts.c.action != "alert")
        ).all()
        assert (blocked["decision_id"], "block") in [tuple(r) for r in held]


def test_event_loaded_before_is_decided_once(db_url, tmp_path):
    ctx = context(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "list", 1))
    request = withdrawal("x1")
    first = decide(ctx, "withdrawal", request)
    second = decide(ctx, "withdrawal", request)
    assert second.decision_id == first.decision_id and second.repeated
    with ctx.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(events)).scalar_one() == 1


def test_decide_and_alerts_cli(db_url, tmp_path):
    ctx = context(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "list", 2))
    request = tmp_path / "req.json"
    request.write_text(json.dumps(withdrawal("x-cli", address=LISTED)))
    result = run("decide", "withdrawal", "--json", str(request), db=db_url)
    assert result.returncode == 1, result.stderr
    answer = json.loads(result.stdout)
    assert answer["decision"] == "block"
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(withdrawal("x-ok")))
    assert run("decide", "withdrawal", "--json", str(clean), db=db_url).returncode == 0
    assert run("decide", "deposit", "--json", str(clean), db=db_url).returncode == 2

    listed = run("alerts", "list", "--json", "--rule", "sanctioned_address", db=db_url)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert rows, listed.stdout
    for key in (
        "alert_id",
        "time",
        "customer_id",
        "rule",
        "severity",
        "subject",
        "decision_id",
        "summary",
        "summary_ja",
        "count",
        "status",
        "snapshot_id",
    ):
        assert key in rows[0]
    assert rows[0]["decision_id"] == answer["decision_id"]
    none = run("alerts", "list", "--json", "--customer", "NOBODY", db=db_url)
    assert json.loads(none.stdout) == []
    table = run("alerts", "list", db=db_url)
    assert table.returncode == 0 and "sanctioned_address" in table.stdout


def test_list_load_between_two_decisions_is_seen_by_the_second(db_url, tmp_path):
    """The data version is read once per decision (one memo shared by every cache), never
    kept across decisions: a list loaded between two requests changes the second answer."""
    from monitor_helpers import load_list as load
    from sanctrace.monitor.events import parse_event
    from sanctrace.monitor.pipeline import process
    from sanctrace.services import _snapshot_cache

    ctx = context(db_url, tmp_path)
    first = load(ctx, write_list(tmp_path / "v1", 1))[0].snapshot_id
    process(ctx, [parse_event(customer(), "customer")])
    before = decide(ctx, "withdrawal", withdrawal("x-before", address=LISTED))
    assert before.decision == "allow", before.reasons
    assert before.snapshots == {"us_ofac_sdn": first}

    second = load(ctx, write_list(tmp_path / "v2", 2))[0].snapshot_id
    assert second != first
    after = decide(ctx, "withdrawal", withdrawal("x-after", address=LISTED))
    assert after.decision == "block", after.reasons
    assert after.snapshots == {"us_ofac_sdn": second}
    assert "sanctioned_address" in {r["rule"] for r in after.reasons}

    # Inside one decision the version is read once, whatever number of caches ask.
    calls = []
    real = _snapshot_cache.repo.data_version

    def counted(conn):
        calls.append(1)
        return real(conn)

    _snapshot_cache.repo.data_version = counted
    try:
        decide(ctx, "withdrawal", withdrawal("x-counted", address=LISTED))
    finally:
        _snapshot_cache.repo.data_version = real
    assert len(calls) == 1
