"""The console's dashboard and alert queue over HTTP (TestClient): pages render for an analyst,
the filters, sort and paging work, "take next" assigns and redirects, bulk assignment needs the
CSRF token and the ``work`` permission, names are escaped, and every label has its Japanese."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from monitor_helpers import load_list, write_list
from sanctrace.api.app import create_app
from sanctrace.api.auth import CSRF_HEADER, SESSION_COOKIE
from sanctrace.cases import cases, users
from sanctrace.errors import BadRequest
from sanctrace.services.context import Context
from sanctrace.settings import Settings
from sanctrace.store import customers as customer_repo
from sanctrace.store import monitoring
from sanctrace.store.tables import active_snapshots, decisions, holds, snapshots
from sanctrace.store.tables import cases as case_table
from sanctrace.web.i18n import catalog

PASSWORD = "correct horse battery staple"
EVIL = "<script>alert('x')</script> Mallory"
WEB = Path(__file__).resolve().parent.parent / "src" / "sanctrace" / "web"


def _ctx(tmp_path: Path) -> Context:
    ctx = Context(Settings(db=f"sqlite:///{tmp_path / 'console.db'}", data_dir=tmp_path / "data"))
    for name, role in (("ana", "analyst"), ("ben", "analyst"), ("aud", "auditor")):
        users.add_user(ctx, name, role, PASSWORD)
    return ctx


def _customer(ctx: Context, cid: str, name: str) -> None:
    with ctx.db.begin() as conn:
        customer_repo.upsert_customers(
            conn, [{"id": cid, "kind": "person", "nationality": "JP", "names": [("legal", name)]}]
        )


def _alert(
    ctx: Context,
    customer: str,
    *,
    rule: str = "name_match",
    severity: str = "high",
    key: str,
    entity: str | None = "us_ofac_sdn:1",
) -> int:
    """Store an alert as the pipeline does; returns its case."""
    values = {
        "customer_id": customer,
        "rule": rule,
        "severity": severity,
        "action": "alert",
        "subject": customer,
        "summary": f"{rule} on {customer}",
        "summary_ja": f"{customer} の {rule}",
        "evidence": {"match": {"entity_id": entity, "score": 0.9}} if entity else {},
        "evidence_key": monitoring.evidence_key(rule, key),
    }
    with ctx.db.begin() as conn:
        alert_id, _new = monitoring.add_alert(conn, values, sla_hours=ctx.settings.sla_hours)
        found = conn.execute(
            sa.text("SELECT case_id FROM case_alerts WHERE alert_id = :a"), {"a": alert_id}
        ).scalar_one()
    return int(found)


def _session(ctx: Context, name: str) -> tuple[dict[str, str], str]:
    """The cookie header of ``name``'s fresh session, and its CSRF token."""
    token, csrf = users.login(ctx, name, PASSWORD)
    return {"Cookie": f"{SESSION_COOKIE}={token}"}, csrf


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    """Five customers' cases: critical (oldest opened first), high, medium with another rule
    and list, low; one with a ``<script>`` name; one overdue."""
    ctx = _ctx(tmp_path)
    for cid, name in (
        ("C1", "佐藤 健二"),
        ("C2", "SATO Kenji"),
        ("C3", EVIL),
        ("C4", "Иван Петров"),
        ("C5", "Low Risk"),
    ):
        _customer(ctx, cid, name)
    ids = {
        "crit_old": _alert(ctx, "C1", severity="critical", key="a"),
        "crit_new": _alert(ctx, "C2", severity="critical", key="b"),
        "high": _alert(ctx, "C3", severity="high", key="c"),
        "medium": _alert(
            ctx, "C4", severity="medium", key="d", rule="structuring", entity="un_sc:7"
        ),
        "low": _alert(ctx, "C5", severity="low", key="e", entity=None),
    }
    past = datetime.now(UTC) - timedelta(days=3)
    with ctx.db.begin() as conn:
        # C1's case opened first; C3's case is overdue
        conn.execute(
            case_table.update()
            .where(case_table.c.id == ids["crit_old"])
            .values(opened_at=past - timedelta(days=1))
        )
        conn.execute(case_table.update().where(case_table.c.id == ids["high"]).values(due=past))
    app = create_app(ctx)
    with TestClient(app) as client:
        yield {"ctx": ctx, "client": client, "ids": ids}
    ctx.db.dispose()


def _rows(html: str) -> list[int]:
    """Case ids listed in the queue's table, in order."""
    return [int(x) for x in re.findall(r'<a href="/cases/(\d+)">', html)]


# --- rendering --------------------------------------------------------------------------------
def test_pages_render_for_an_analyst(world):
    client, ctx = world["client"], world["ctx"]
    cookie, _ = _session(ctx, "ana")
    home = client.get("/", headers=cookie)
    assert home.status_code == 200
    assert "<h1>Dashboard</h1>" in home.text
    assert "No sanctions list is loaded" in home.text  # nothing loaded: flagged first
    queue = client.get("/queue", headers=cookie)
    assert queue.status_code == 200
    assert sorted(_rows(queue.text)) == sorted(world["ids"].values())
    assert "佐藤 健二" in queue.text and "Иван Петров" in queue.text  # names in their scripts
    assert "Take next" in queue.text and 'name="case_id"' in queue.text


def test_signed_out_goes_to_sign_in(world):
    for path in ("/", "/queue"):
        answer = world["client"].get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")


def test_dashboard_counts_overdue_holds_decisions(world):
    client, ctx = world["client"], world["ctx"]
    now = datetime.now(UTC)
    with ctx.db.begin() as conn:
        for i, outcome in enumerate(("allow", "allow", "hold", "block")):
            conn.execute(
                decisions.insert().values(
                    decision_id=f"d{i}",
                    event_id=f"e{i}",
                    kind="withdrawal",
                    customer_id="C1",
                    decided_at=now - timedelta(minutes=1),
                    decision=outcome,
                    reasons=[],
                    inputs={},
                    snapshots={},
                    rules_version="t",
                    engine_version="t",
                )
            )
        conn.execute(  # yesterday and before: not today in any zone
            decisions.insert().values(
                decision_id="old",
                event_id="old",
                kind="withdrawal",
                customer_id="C1",
                decided_at=now - timedelta(days=2),
                decision="block",
                reasons=[],
                inputs={},
                snapshots={},
                rules_version="t",
                engine_version="t",
            )
        )
        conn.execute(
            holds.insert().values(
                decision_id="d2",
                event_id="e2",
                customer_id="C1",
                kind="withdrawal",
                asset="BTC",
                amount="1",
                state="held",
                created_at=now,
                updated_at=now,
            )
        )
    cookie, _ = _session(ctx, "ana")
    page = client.get("/", headers=cookie).text
    # overdue: red (class) and said in words
    assert re.search(r'class="overdue"[^>]*>⚠ 1 overdue<', page)
    assert "/queue?severity=high&amp;overdue=1" in page
    decisions_section = page.split('id="decisions-h"')[1].split("</section>")[0]
    cells = dict(re.findall(r"<th scope=\"row\">(\w+)</th><td>(\d+)</td>", decisions_section))
    assert cells == {"allow": "2", "hold": "1", "block": "1"}
    holds_section = page.split('id="holds-h"')[1].split("</section>")[0]
    assert ">1</a>" in holds_section
    counts = {c.severity: c for c in cases.open_case_counts(ctx)}
    assert counts["critical"].total == 2 and counts["high"].overdue == 1
    assert counts["low"].unassigned == 1


def test_dashboard_flags_a_stale_list(world, tmp_path):
    client, ctx = world["client"], world["ctx"]
    load_list(ctx, write_list(tmp_path / "lists", 1))
    cookie, _ = _session(ctx, "ana")
    fresh = client.get("/", headers=cookie).text
    assert "Stale sanctions lists" not in fresh and "us_ofac_sdn" in fresh
    old = datetime.now(UTC) - timedelta(days=10)
    with ctx.db.begin() as conn:
        conn.execute(snapshots.update().values(loaded_at=old))
        conn.execute(active_snapshots.update().values(activated_at=old))
    page = client.get("/", headers=cookie).text
    banner = page.split("<h1>Dashboard</h1>")[1].split("</section>")[0]  # first thing shown
    assert 'role="alert"' in banner and "Stale sanctions lists" in banner
    assert "us_ofac_sdn" in banner and "10 days" in banner
    assert "⚠ Stale" in page  # the table says it too, not only a colour


# --- filters, sort, paging --------------------------------------------------------------------
def test_filters(world):
    client, ctx, ids = world["client"], world["ctx"], world["ids"]
    cookie, csrf = _session(ctx, "ana")

    def listed(query: str) -> set[int]:
        answer = client.get(f"/queue?{query}", headers=cookie)
        assert answer.status_code == 200, answer.text
        return set(_rows(answer.text))

    assert listed("severity=critical") == {ids["crit_old"], ids["crit_new"]}
    assert listed("rule=structuring") == {ids["medium"]}
    assert listed("source=un_sc") == {ids["medium"]}
    assert listed("source=us_ofac_sdn") == {ids["crit_old"], ids["crit_new"], ids["high"]}
    assert listed("overdue=1") == {ids["high"]}
    today = datetime.now(UTC).date()
    assert ids["crit_old"] not in listed(f"from={today - timedelta(days=1)}")
    assert listed(f"to={today - timedelta(days=3)}") == {ids["crit_old"]}
    cases.assign_case(ctx, users.acting_user(ctx, "ana"), ids["low"], "ben")
    assert listed("assignee=ben") == {ids["low"]}
    assert ids["low"] not in listed("assignee=-")
    assert listed("state=in_review") == {ids["low"]}
    assert listed("state=closed") == set()
    assert len(listed("state=all")) == 5
    bad = client.get("/queue?severity=purple", headers=cookie)
    assert bad.status_code == BadRequest.http_status and "severity" in bad.text


def test_sort_and_pages(world):
    client, ctx, ids = world["client"], world["ctx"], world["ids"]
    cookie, _ = _session(ctx, "ana")
    by_severity = _rows(client.get("/queue?sort=severity", headers=cookie).text)
    assert by_severity[:2] == sorted([ids["crit_old"], ids["crit_new"]], key=by_severity.index)
    assert by_severity[-1] == ids["low"]
    assert _rows(client.get("/queue?sort=opened", headers=cookie).text)[0] == ids["crit_old"]
    seen: list[int] = []
    for number in (1, 2, 3):
        answer = client.get(f"/queue?size=2&page={number}&sort=severity", headers=cookie)
        rows = _rows(answer.text)
        assert len(rows) == (2 if number < 3 else 1)
        seen += rows
        assert ('rel="next"' in answer.text) == (number < 3)
        assert f"Page {number} of 3" in answer.text
    assert seen == by_severity
    page = cases.queue_page(ctx, cases.QueueQuery(page_size=2, page=2))
    assert page.total == 5 and page.pages == 3 and page.has_next and not page.total_capped


# --- take next and bulk assignment ------------------------------------------------------------
def test_take_next_assigns_the_most_severe_oldest_and_redirects(world):
    client, ctx, ids = world["client"], world["ctx"], world["ids"]
    cookie, csrf = _session(ctx, "ana")
    headers = {**cookie, CSRF_HEADER: csrf}
    order = [ids["crit_old"], ids["crit_new"], ids["high"], ids["medium"], ids["low"]]
    for expected in order:
        answer = client.post("/queue/take-next", headers=headers, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/cases/{expected}"
        case = cases.show_case(ctx, expected)
        assert case.assignee == "ana" and case.state == "in_review"
    answer = client.post("/queue/take-next", headers=headers, follow_redirects=False)
    assert answer.headers["location"] == "/queue?msg=empty"
    assert (
        "No unassigned open case is waiting."
        in client.get(answer.headers["location"], headers=cookie).text
    )


def test_take_next_needs_csrf(world):
    cookie, _ = _session(world["ctx"], "ana")
    answer = world["client"].post("/queue/take-next", headers=cookie, follow_redirects=False)
    assert answer.status_code == 403
    assert cases.show_case(world["ctx"], world["ids"]["crit_old"]).assignee is None


def test_bulk_assign_needs_csrf(world):
    client, ctx, ids = world["client"], world["ctx"], world["ids"]
    cookie, csrf = _session(ctx, "ana")
    form = {"assignee": "ben", "case_id": [str(ids["high"]), str(ids["medium"])]}
    refused = client.post("/queue/assign", headers=cookie, data=form, follow_redirects=False)
    assert refused.status_code == 403
    wrong = client.post(
        "/queue/assign",
        headers=cookie,
        data={**form, "csrf_token": "not-the-token"},
        follow_redirects=False,
    )
    assert wrong.status_code == 403
    assert cases.show_case(ctx, ids["high"]).assignee is None
    done = client.post(
        "/queue/assign",
        headers=cookie,
        data={**form, "csrf_token": csrf, "back": "/queue?severity=high"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/queue?severity=high&assigned=2&failed=0"
    for key in ("high", "medium"):
        assert cases.show_case(ctx, ids[key]).assignee == "ben"
    shown = client.get(done.headers["location"], headers=cookie).text
    assert "2 cases assigned." in shown
    # not a user who works cases, and an outside "back"
    auditor = client.post(
        "/queue/assign",
        headers=cookie,
        data={"assignee": "aud", "case_id": [str(ids["low"])], "csrf_token": csrf},
    )
    assert auditor.status_code == BadRequest.http_status
    outside = client.post(
        "/queue/assign",
        headers=cookie,
        data={**form, "csrf_token": csrf, "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert outside.headers["location"].startswith("/queue?")


def test_auditor_sees_but_cannot_assign(world):
    client, ctx, ids = world["client"], world["ctx"], world["ids"]
    cookie, csrf = _session(ctx, "aud")
    page = client.get("/queue", headers=cookie)
    assert page.status_code == 200 and len(_rows(page.text)) == 5
    assert "Take next" not in page.text and 'name="case_id"' not in page.text
    assert client.get("/", headers=cookie).status_code == 200
    headers = {**cookie, CSRF_HEADER: csrf}
    assert client.post("/queue/take-next", headers=headers).status_code == 403
    answer = client.post(
        "/queue/assign",
        headers=cookie,
        data={"assignee": "ana", "case_id": [str(ids["low"])], "csrf_token": csrf},
    )
    assert answer.status_code == 403
    assert cases.show_case(ctx, ids["low"]).assignee is None


# --- escaping and languages -------------------------------------------------------------------
def test_a_script_name_is_escaped(world):
    client, ctx = world["client"], world["ctx"]
    cookie, _ = _session(ctx, "ana")
    page = client.get("/queue", headers=cookie).text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Mallory" in page


def test_japanese_labels(world):
    client, ctx = world["client"], world["ctx"]
    cookie, _ = _session(ctx, "ana")
    cookie = {"Cookie": cookie["Cookie"] + "; sanctrace_lang=ja"}
    queue = client.get("/queue", headers=cookie).text
    for label in ("次の案件を担当する", "重要度", "担当者", "未割当", "重大", "名前一致"):
        assert label in queue
    home = client.get("/", headers=cookie).text
    for label in ("未完了の案件", "本日の判定", "制裁リストが読み込まれていません"):
        assert label in home


def test_every_label_has_japanese():
    found = catalog("ja")
    missing = []
    for template in sorted((WEB / "templates").glob("*.html")):
        if not template.name.startswith(("dashboard", "queue")):
            continue
        text = template.read_text(encoding="utf-8")
        for label in re.findall(r"""_\((["'])(.+?)\1""", text):
            if label[1] not in found:
                missing.append(f"{template.name}: {label[1]}")
    for word in (*cases.STATES, "critical", "high", "medium", "low", "allow", "hold", "block"):
        if word not in found:
            missing.append(word)
    assert missing == []
