"""The console's holds, lists, audit and reports pages over HTTP (TestClient): the data is made
by the real services (a held withdrawal and its case, OFAC and FtM lists), the users sign in
with sessions, and every change carries the session's CSRF token."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hold_helpers import add_users, held_withdrawal, hold_context
from monitor_helpers import load_list, write_list
from sanctrace.api.app import create_app
from sanctrace.api.auth import SESSION_COOKIE
from sanctrace.cases import audit, users
from sanctrace.cases.holds import get_hold
from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.store.tables import audit_log, snapshots
from sanctrace.web.i18n import LANG_COOKIE, catalog

SCRIPT_NAME = "<script>alert('x')</script> Ivan PETROV"


def _ftm_list(folder: Path) -> Path:
    """An FtM list: a person whose name holds markup (and a Cyrillic name), the company they
    own, and the ownership between them."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "id": "p-1",
            "schema": "Person",
            "properties": {
                "name": [SCRIPT_NAME],
                "alias": ["Иван Петров"],
                "birthDate": ["1970-01-02"],
                "passportNumber": ["X1234567"],
                "program": ["RUSSIA-EO14024"],
                "address": ["Moscow, Russia"],
            },
        },
        {"id": "c-1", "schema": "Company", "properties": {"name": ["PETROV HOLDING LLC"]}},
        {
            "id": "o-1",
            "schema": "Ownership",
            "properties": {"owner": ["p-1"], "asset": ["c-1"], "percentage": ["51"]},
        },
    ]
    path = folder / "testlist.ftm.json"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.fixture
def world(db_url, tmp_path):
    """Two OFAC snapshots, an FtM list, a held withdrawal (with its case) and four users."""
    ctx = hold_context(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "v2", 2))
    lists.load(ctx, lists.LoadRequest(paths=(_ftm_list(tmp_path / "ftm"),), source="test_ftm"))
    hold_id = held_withdrawal(ctx, "w-console-1", amount="1.5")
    passwords = add_users(ctx)
    app = create_app(ctx)
    yield ctx, app, hold_id, passwords
    ctx.db.dispose()


def _client(ctx: Context, app, name: str, password: str, lang: str | None = None) -> TestClient:
    """A browser signed in as ``name``; its CSRF token as ``client.csrf``."""
    client = TestClient(app, raise_server_exceptions=True)
    token, csrf = users.login(ctx, name, password)
    client.cookies.set(SESSION_COOKIE, token)
    if lang:
        client.cookies.set(LANG_COOKIE, lang)
    client.csrf = csrf  # type: ignore[attr-defined]
    return client


def _csrf_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


# --- every page renders ---------------------------------------------------------------------


def test_each_page_renders_for_an_analyst(world):
    ctx, app, hold_id, pw = world
    ana = _client(ctx, app, "ana", pw["ana"])
    for path in (
        "/holds",
        "/holds?view=all",
        "/lists",
        "/lists/us_ofac_sdn",
        "/lists/us_ofac_sdn?snapshot=1",
        "/lists/entity/us_ofac_sdn:20002",
        "/audit",
        "/reports",
        "/reports?case=1",
    ):
        reply = ana.get(path)
        assert reply.status_code == 200, (path, reply.text[:500])
        assert "<h1>" in reply.text
    holds = ana.get("/holds").text
    assert f'id="hold-{hold_id}"' in holds and "1.5 BTC" in holds
    # the internal reason is shown to analysts (never in the API: see test_holds)
    assert "sanctioned_jurisdiction_ip" in holds and "175.45.176.1" in holds
    assert "/holds/1/release" in holds and "/holds/1/approve" not in holds  # not an approver
    source = ana.get("/lists/us_ofac_sdn").text
    assert "us_ofac_sdn:20002" in source and "(active)" in source  # the delta v1 → v2
    garantex = ana.get("/lists/entity/us_ofac_sdn:20002").text
    assert "GARANTEX TEST EXCHANGE" in garantex and "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2" in garantex
    assert "CYBER2" in garantex
    reports = ana.get("/reports?case=1").text
    assert "/reports/case/1/jafic" in reports and "/reports/case/1/goaml" in reports
    # without a session, the sign-in page
    anon = TestClient(app)
    reply = anon.get("/holds", follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"].startswith("/login")


def test_an_auditor_reads_but_cannot_act_on_holds(world):
    ctx, app, hold_id, pw = world
    aud = _client(ctx, app, "aud", pw["aud"])
    page = aud.get("/holds").text
    assert "/holds/1/release" not in page and "/holds/1/reject" not in page
    reply = aud.post(
        f"/holds/{hold_id}/release",
        data={"csrf_token": aud.csrf, "reason": "looks fine"},  # type: ignore[attr-defined]
        follow_redirects=False,
    )
    assert reply.status_code == 403
    assert get_hold(ctx, hold_id).state == "held"


# --- holds: four-eyes ------------------------------------------------------------------------


def test_hold_release_needs_a_second_approver(world):
    ctx, app, hold_id, pw = world
    apo = _client(ctx, app, "apo", pw["apo"])
    bea = _client(ctx, app, "bea", pw["bea"])
    # the CSRF token comes from the page's forms
    csrf = _csrf_in(apo.get("/holds").text)
    reply = apo.post(
        f"/holds/{hold_id}/release",
        data={"csrf_token": csrf, "reason": "customer travelled; VPN exit verified"},
        follow_redirects=False,
    )
    assert reply.status_code == 303 and reply.headers["location"].startswith("/holds")
    assert get_hold(ctx, hold_id).state == "release_pending"
    page = apo.get(reply.headers["location"]).text
    assert "release requested" in page and "VPN exit verified" in page
    # the same user may not approve their own request: a message, not an error page
    reply = apo.post(f"/holds/{hold_id}/approve", data={"csrf_token": csrf}, follow_redirects=False)
    assert reply.status_code == 303
    page = apo.get(reply.headers["location"]).text
    assert 'role="alert"' in page and "another approver must approve it" in page
    assert get_hold(ctx, hold_id).state == "release_pending"
    # the message is shown once
    assert "another approver must approve it" not in apo.get("/holds").text.split("</h1>")[1][:400]
    # another approver approves
    reply = bea.post(
        f"/holds/{hold_id}/approve",
        data={"csrf_token": bea.csrf},  # type: ignore[attr-defined]
        follow_redirects=False,
    )
    assert reply.status_code == 303
    assert "released." in bea.get(reply.headers["location"]).text
    hold = get_hold(ctx, hold_id)
    assert hold.state == "released" and hold.requested_by == "apo" and hold.decided_by == "bea"
    # a second approval is a Conflict, shown as a message
    reply = bea.post(
        f"/holds/{hold_id}/approve",
        data={"csrf_token": bea.csrf},  # type: ignore[attr-defined]
        follow_redirects=True,
    )
    assert reply.status_code == 200 and "not in a state that allows this" in reply.text
    # an analyst may ask, not approve
    other = held_withdrawal(ctx, "w-console-2")
    ana = _client(ctx, app, "ana", pw["ana"])
    reply = ana.post(
        f"/holds/{other}/approve",
        data={"csrf_token": ana.csrf},  # type: ignore[attr-defined]
        follow_redirects=False,
    )
    assert reply.status_code == 403


def test_hold_reject_with_a_reason(world):
    ctx, app, hold_id, pw = world
    ana = _client(ctx, app, "ana", pw["ana"])
    reply = ana.post(
        f"/holds/{hold_id}/reject",
        data={"csrf_token": ana.csrf, "reason": ""},  # type: ignore[attr-defined]
        follow_redirects=True,
    )
    assert "a reason is required" in reply.text and get_hold(ctx, hold_id).state == "held"
    reply = ana.post(
        f"/holds/{hold_id}/reject",
        data={"csrf_token": ana.csrf, "reason": "KP login confirmed"},  # type: ignore[attr-defined]
        follow_redirects=True,
    )
    assert "rejected; the funds stay frozen" in reply.text
    assert get_hold(ctx, hold_id).state == "rejected"


def test_a_change_without_its_csrf_token_is_403(world):
    ctx, app, hold_id, pw = world
    apo = _client(ctx, app, "apo", pw["apo"])
    for data in ({"reason": "no token"}, {"reason": "wrong", "csrf_token": "x" * 43}):
        reply = apo.post(f"/holds/{hold_id}/release", data=data, follow_redirects=False)
        assert reply.status_code == 403
    reply = apo.post("/reports/case/1/jafic", data={"format": "html"}, follow_redirects=False)
    assert reply.status_code == 403
    assert get_hold(ctx, hold_id).state == "held"


# --- lists ------------------------------------------------------------------------------------


def test_the_lists_page_flags_a_stale_list(world):
    ctx, app, _hold, pw = world
    ana = _client(ctx, app, "ana", pw["ana"])
    page = ana.get("/lists").text
    assert "us_ofac_sdn" in page and "test_ftm" in page
    assert "Stale lists" not in page and "Fresh" in page
    with ctx.db.begin() as conn:
        conn.execute(
            snapshots.update()
            .where(snapshots.c.source == "us_ofac_sdn")
            .values(loaded_at=datetime.now(UTC) - timedelta(days=5))
        )
    page = ana.get("/lists").text
    alert = page.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert "Stale lists" in alert and "us_ofac_sdn" in alert and "test_ftm" not in alert
    assert "⚠ Stale" in page
    stale = {s.source: s.stale for s in lists.freshness(ctx)}
    assert stale == {"test_ftm": False, "us_ofac_sdn": True}


def test_the_entity_page_escapes_a_listed_name(world):
    ctx, app, _hold, pw = world
    ana = _client(ctx, app, "ana", pw["ana"])
    reply = ana.get("/lists/entity/p-1")
    assert reply.status_code == 200
    page = reply.text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Ivan PETROV" in page
    assert "Иван Петров" in page and "Cyrillic" in page  # names in their scripts
    assert "X1234567" in page and "RUSSIA-EO14024" in page and "Moscow, Russia" in page
    # the ownership link, both ways
    assert 'href="/lists/entity/c-1"' in page and "PETROV HOLDING LLC" in page and "51" in page
    company = ana.get("/lists/entity/c-1").text
    assert 'href="/lists/entity/p-1"' in company and "&lt;script&gt;" in company
    assert "<script>alert" not in company
    assert ana.get("/lists/entity/nope").status_code == 404


# --- audit ------------------------------------------------------------------------------------


def test_the_audit_page_verifies_and_finds_a_broken_chain(world):
    ctx, app, hold_id, pw = world
    aud = _client(ctx, app, "aud", pw["aud"])
    page = aud.get("/audit").text
    assert "has not been verified" in page
    page = aud.get("/audit?verify=1").text
    assert "verified" in page and "broken at record" not in page
    # filters
    records = audit.list_records(ctx, audit.AuditQuery(limit=1000))
    assert records, "the services wrote audit records"
    target = records[len(records) // 2]
    page = aud.get("/audit", params={"action": target["action"]}).text
    assert f'id="record-{target["id"]}"' in page
    page = aud.get("/audit", params={"actor": "nobody-at-all"}).text
    assert "No records match" in page
    page = aud.get("/audit", params={"since": "not-a-date"}).text
    assert "not an ISO date" in page
    # a row edited behind the service's back
    with ctx.db.begin() as conn:
        conn.execute(
            audit_log.update().where(audit_log.c.id == target["id"]).values(reason="edited")
        )
    page = aud.get("/audit?verify=1").text
    assert f"broken at record {target['id']}" in page


def test_the_audit_page_paginates_and_exports(world):
    ctx, app, _hold, pw = world
    with ctx.db.begin() as conn:
        for i in range(60):
            audit.record(conn, actor="tester", action="test.page", object_type="test", object_id=i)
    aud = _client(ctx, app, "aud", pw["aud"])
    first = aud.get("/audit", params={"actor": "tester"}).text
    assert first.count('id="record-') == 50
    link = re.search(r'href="(/audit\?[^"]*after=\d+)"', first)
    assert link
    second = aud.get(link.group(1).replace("&amp;", "&")).text
    assert second.count('id="record-') == 10 and "First page" in second
    reply = aud.get("/audit/export")
    assert reply.status_code == 200
    assert reply.headers["content-disposition"].startswith("attachment;")
    assert ".jsonl" in reply.headers["content-disposition"]
    lines = [json.loads(x) for x in reply.text.splitlines()]
    assert len(lines) == len(audit.list_records(ctx, audit.AuditQuery(limit=1000)))
    assert {"hash", "prev_hash", "action"} <= set(lines[0])


# --- reports ----------------------------------------------------------------------------------


def test_report_downloads_are_files(world):
    ctx, app, hold_id, pw = world
    case_id = get_hold(ctx, hold_id).case_id
    assert case_id is not None
    ana = _client(ctx, app, "ana", pw["ana"])
    csrf = _csrf_in(ana.get(f"/reports?case={case_id}").text)
    reply = ana.post(f"/reports/case/{case_id}/jafic", data={"csrf_token": csrf})
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert f'filename="STR-{case_id}.html"' in reply.headers["content-disposition"]
    assert reply.headers["content-disposition"].startswith("attachment;")
    assert "<html" in reply.text
    reply = ana.post(f"/reports/case/{case_id}/jafic", data={"csrf_token": csrf, "format": "json"})
    pack = reply.json()
    assert pack["format"] == "sanctrace-jafic-str-pack"
    assert pack["report_form"]["case"]["case_id"] == case_id
    reply = ana.post(f"/reports/case/{case_id}/goaml", data={"csrf_token": csrf})
    assert reply.status_code == 200 and reply.content.startswith(b"<?xml")
    reply = ana.post(f"/reports/case/{case_id}/casefile", data={"csrf_token": csrf})
    assert reply.status_code == 200 and reply.content[:2] == b"PK"
    today = datetime.now(UTC).date()
    reply = ana.post(
        "/reports/summary",
        data={
            "csrf_token": csrf,
            "start": (today - timedelta(days=3)).isoformat(),
            "end": (today + timedelta(days=1)).isoformat(),
            "format": "csv",
        },
    )
    assert reply.status_code == 200 and "text/csv" in reply.headers["content-type"]
    assert ".csv" in reply.headers["content-disposition"]
    # the service audited each case report under the user's name
    written = audit.list_records(ctx, audit.AuditQuery(actor="ana", limit=100))
    assert [r["action"] for r in written if r["action"].startswith("report.")] == [
        "report.jafic",
        "report.jafic",
        "report.goaml",
        "report.casefile",
    ]
    assert ana.post("/reports/case/999/goaml", data={"csrf_token": csrf}).status_code == 404


# --- Japanese ---------------------------------------------------------------------------------


def test_japanese_labels_with_the_ja_cookie(world):
    ctx, app, _hold, pw = world
    ana = _client(ctx, app, "ana", pw["ana"], lang="ja")
    expected = {
        "/holds": ("保留中", "経過時間", "解除を申請", "出金"),
        "/lists": ("制裁リスト", "最終確認", "掲載件数"),
        "/lists/us_ofac_sdn": ("スナップショット", "追加", "削除"),
        "/lists/entity/p-1": ("名義", "文字種", "所有・その他の関係"),
        "/audit": ("監査ログ", "チェーンを今すぐ検証", "JSON Lines"),
        "/reports": ("報告書", "期間集計", "案件"),
    }
    for path, words in expected.items():
        page = ana.get(path).text
        assert 'lang="ja"' in page
        for word in words:
            assert word in page, (path, word)
    assert "検証済み" in ana.get("/audit?verify=1").text


def test_every_label_of_these_pages_has_a_japanese_translation():
    ja = catalog("ja")
    root = Path(__file__).resolve().parent.parent / "src" / "sanctrace" / "web" / "templates"
    names = ["holds.html", "lists.html", "lists_source.html", "entity.html"]
    names += ["audit.html", "reports.html"]
    missing = []
    for name in names:
        text = (root / name).read_text(encoding="utf-8")
        for label in re.findall(r'_\("((?:[^"\\]|\\.)*)"', text):
            if label not in ja:
                missing.append((name, label))
    assert not missing, missing
