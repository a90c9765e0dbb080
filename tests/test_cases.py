"""Cases: alerts grouped per customer or counterparty, severity and SLA, four-eyes on closing,
the decision memory (suppressions, their invalidation and expiry), the audit of every action,
and the CLI and API over them.

Until ``store.monitoring.add_alert`` calls ``store.cases.attach_alert`` itself, these tests call
``add_alert`` and then ``attach_alert``, as the hook will."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from helpers import run
from monitor_helpers import load_list, write_list
from sanctrace.api.app import create_app
from sanctrace.cases import cases, users
from sanctrace.cases.auth import Forbidden, Principal, Role
from sanctrace.errors import BadRequest, Conflict
from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.settings import Settings
from sanctrace.store import cases as case_repo
from sanctrace.store import customers as customer_repo
from sanctrace.store import monitoring
from sanctrace.store.tables import alerts, audit_log, case_alerts, suppressions

ENTITY = "us_ofac_sdn:20001"
ANA = Principal(name="ana", kind="user", role=Role.ANALYST)
APO = Principal(name="apo", kind="user", role=Role.APPROVER)
BEA = Principal(name="bea", kind="user", role=Role.APPROVER)

_CHANGED = (
    '20001,"VOLKOV, Igor Sergeyevich","individual","CYBER2",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
    '-0- ,"DOB 02 Mar 1976; nationality Russia."\n'
)


def _ctx(db_url: str, tmp_path: Path, **settings: Any) -> Context:
    ctx = Context(Settings(db=db_url, data_dir=tmp_path / "data", **settings))
    for name, role in (("ana", "analyst"), ("apo", "approver"), ("bea", "approver")):
        users.add_user(ctx, name, role, "correct horse battery staple")
    return ctx


def _customer(ctx: Context, cid: str = "C1", name: str = "SATO Kenji") -> None:
    with ctx.db.begin() as conn:
        customer_repo.upsert_customers(
            conn,
            [{"id": cid, "kind": "person", "nationality": "JP", "names": [("legal", name)]}],
        )


def _alert(
    ctx: Context,
    *,
    customer: str | None = "C1",
    rule: str = "name_match",
    severity: str = "high",
    subject: str = "SATO Kenji",
    key: str = "k1",
    entity: str | None = ENTITY,
) -> tuple[int, int | None]:
    """Store an alert as the pipeline does (``add_alert`` puts it into its case); returns the
    alert id and its case (None when suppressed)."""
    evidence: dict[str, Any] = {"match": {"entity_id": entity, "score": 0.93}} if entity else {}
    values = {
        "customer_id": customer,
        "rule": rule,
        "severity": severity,
        "action": "alert",
        "subject": subject,
        "summary": f"{rule} on {subject}",
        "summary_ja": f"{subject} の {rule}",
        "evidence": evidence,
        "evidence_key": monitoring.evidence_key(rule, key),
    }
    with ctx.db.begin() as conn:
        alert_id, new = monitoring.add_alert(conn, values, sla_hours=ctx.settings.sla_hours)
        if not new:
            return alert_id, None
        case = conn.execute(
            sa.select(case_alerts.c.case_id).where(case_alerts.c.alert_id == alert_id)
        ).scalar_one_or_none()
        return alert_id, case


def _audit(ctx: Context, object_type: str | None = None) -> list[Any]:
    query = sa.select(audit_log).order_by(audit_log.c.id)
    if object_type:
        query = query.where(audit_log.c.object_type == object_type)
    with ctx.db.connect() as conn:
        return list(conn.execute(query))


def _suppression(ctx: Context, sid: int) -> Any:
    with ctx.db.connect() as conn:
        return conn.execute(sa.select(suppressions).where(suppressions.c.id == sid)).one()


def _alert_row(ctx: Context, alert_id: int) -> Any:
    with ctx.db.connect() as conn:
        return conn.execute(sa.select(alerts).where(alerts.c.id == alert_id)).one()


# --- grouping ---------------------------------------------------------------------------------
def test_grouping_by_customer_and_counterparty(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    a1, c1 = _alert(ctx, key="k1", severity="medium")
    a2, c2 = _alert(ctx, key="k2", rule="sanctioned_address", subject="1Bv…", severity="high")
    assert c1 is not None and c1 == c2
    a3, c3 = _alert(ctx, customer=None, subject="1CounterParty", key="k3", entity=None)
    assert c3 is not None and c3 != c1
    a4, c4 = _alert(ctx, customer="C2", key="k4")
    assert c4 not in (c1, c3)

    case = cases.show_case(ctx, c1)
    assert case.subject_type == "customer" and case.subject == "C1" and case.customer_id == "C1"
    assert [a.alert_id for a in case.alerts] == [a1, a2]
    assert case.state == "open" and case.severity == "high"
    assert case.alerts[0].entity_id == ENTITY
    other = cases.show_case(ctx, c3)
    assert (other.subject_type, other.subject, other.customer_id) == (
        "counterparty",
        "1CounterParty",
        None,
    )

    # A closed case takes no new alert: the next one opens a new case.
    cases.close_case(ctx, ANA, c3, "not_sanctions_related", "an exchange's hot wallet")
    assert cases.show_case(ctx, c3).state == "closed"
    assert _alert_row(ctx, a3).status == "closed"
    _, c5 = _alert(ctx, customer=None, subject="1CounterParty", key="k5", entity=None)
    assert c5 is not None and c5 != c3
    # The same finding again after the close is a new alert too, in the new case.
    a6, c6 = _alert(ctx, customer=None, subject="1CounterParty", key="k3", entity=None)
    assert a6 != a3 and c6 == c5

    opened = [r for r in _audit(ctx, "case") if r.action == "case.open"]
    assert {r.object_id for r in opened} == {str(c) for c in (c1, c3, c4, c5)}
    assert all(r.actor == "system" for r in opened)
    added = [r for r in _audit(ctx, "case") if r.action == "case.alert_added"]
    assert len(added) == 6

    listed = cases.list_cases(ctx, cases.CaseQuery(customer_id="C1"))
    assert [c.case_id for c in listed] == [c1]
    assert {c.case_id for c in cases.list_cases(ctx, cases.CaseQuery(state="closed"))} == {c3}
    with pytest.raises(BadRequest):
        cases.CaseQuery(state="done")


def test_duplicates_merged_with_a_count(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    a1, c1 = _alert(ctx, key="same")
    a2, c2 = _alert(ctx, key="same")
    assert a1 == a2 and c2 is None  # counted on the open alert; attached once
    with ctx.db.begin() as conn:  # attaching again changes nothing
        assert case_repo.attach_alert(conn, a1, {"customer_id": "C1", "severity": "high"}) == c1
    case = cases.show_case(ctx, c1)  # type: ignore[arg-type]
    assert len(case.alerts) == 1 and case.alerts[0].count == 2 and case.alert_count == 2


def test_severity_max_and_sla_due(db_url, tmp_path):
    # The override names one severity only: the others keep their defaults.
    ctx = _ctx(db_url, tmp_path, sla_hours={"critical": 4})
    assert cases.sla_hours(ctx) == {"critical": 4, "high": 72, "medium": 168, "low": 336}
    before = datetime.now(UTC)
    _, cid = _alert(ctx, key="m", severity="medium")
    assert cid is not None
    case = cases.show_case(ctx, cid)
    due = datetime.fromisoformat(case.due.replace("Z", "+00:00"))  # type: ignore[union-attr]
    assert case.severity == "medium"
    assert timedelta(hours=167) < due - before < timedelta(hours=169)
    _alert(ctx, key="l", severity="low")
    assert cases.show_case(ctx, cid).severity == "medium"
    _alert(ctx, key="c", severity="critical")
    case = cases.show_case(ctx, cid)
    due = datetime.fromisoformat(case.due.replace("Z", "+00:00"))  # type: ignore[union-attr]
    assert case.severity == "critical"
    assert timedelta(hours=3) < due - before < timedelta(hours=5)
    assert not case.overdue


# --- working a case, four-eyes ------------------------------------------------------------------
def test_states_and_four_eyes(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    _, cid = _alert(ctx)
    assert cid is not None
    case = cases.assign_case(ctx, ANA, cid, "ana")
    assert (case.state, case.assignee) == ("in_review", "ana")
    with pytest.raises(BadRequest):
        cases.assign_case(ctx, ANA, cid, "nobody")
    case = cases.comment_case(ctx, ANA, cid, "名義は一致、生年月日が異なる / DOB differs")
    assert case.comments[0].author == "ana" and "DOB" in case.comments[0].text
    case = cases.attach_evidence(ctx, ANA, cid, "kyc.json", {"dob": "1980-01-01"})
    assert case.attachments[0].content == {"dob": "1980-01-01"}
    with pytest.raises(BadRequest):
        cases.close_case(ctx, ANA, cid, "true_match", "  ")
    with pytest.raises(BadRequest):
        cases.close_case(ctx, ANA, cid, "maybe", "why")

    case = cases.close_case(ctx, ANA, cid, "true_match", "same person: DOB and passport")
    assert (case.state, case.disposition, case.closed_by) == (
        "pending_approval",
        "true_match",
        "ana",
    )
    with pytest.raises(Forbidden):  # an analyst is no approver
        cases.approve_case(ctx, ANA, cid)
    key = Principal(name="platform", kind="key", scopes=frozenset())
    with pytest.raises(Forbidden):
        cases.comment_case(ctx, key, cid, "a key works no cases")
    with pytest.raises(Conflict):  # not closable twice
        cases.close_case(ctx, ANA, cid, "escalated", "again")
    case = cases.approve_case(ctx, APO, cid, "agreed")
    assert (case.state, case.approved_by) == ("closed", "apo")

    # The maker may not be the checker, even an approver.
    _, other = _alert(ctx, customer="C2", key="x")
    assert other is not None
    cases.close_case(ctx, APO, other, "true_match", "listed person")
    with pytest.raises(Forbidden, match="four-eyes"):
        cases.approve_case(ctx, APO, other)
    assert cases.show_case(ctx, other).state == "pending_approval"
    assert cases.approve_case(ctx, BEA, other).state == "closed"
    with pytest.raises(Conflict):
        cases.approve_case(ctx, BEA, other)

    # Other dispositions close at once; reopening withdraws the disposition.
    _, third = _alert(ctx, customer="C3", key="y", entity=None)
    assert third is not None
    assert cases.close_case(ctx, ANA, third, "escalated", "to the MLRO").state == "closed"
    case = cases.reopen_case(ctx, ANA, third, "new information")
    assert (case.state, case.disposition) == ("reopened", None)
    assert all(a.status == "open" for a in case.alerts)
    assert cases.comment_case(ctx, ANA, third, "looking again").state == "in_review"

    actions = [(r.actor, r.action) for r in _audit(ctx, "case")]
    for expected in (
        ("ana", "case.assign"),
        ("ana", "case.comment"),
        ("ana", "case.attach"),
        ("ana", "case.close"),
        ("apo", "case.approve"),
        ("bea", "case.approve"),
        ("ana", "case.reopen"),
    ):
        assert expected in actions
    close = next(r for r in _audit(ctx, "case") if r.action == "case.close")
    assert close.reason == "same person: DOB and passport"
    assert close.before["state"] == "in_review" and close.after["state"] == "pending_approval"


# --- decision memory ----------------------------------------------------------------------------
def _false_positive(ctx: Context, cid: int) -> int:
    """Close as false positive (ana), approve (apo); returns the suppression id."""
    case = cases.close_case(ctx, ANA, cid, "false_positive", "different DOB and nationality")
    assert case.state == "pending_approval"
    (pending,) = case.suppressions
    assert pending.state == "pending_approval"
    case = cases.approve_case(ctx, APO, cid)
    (active,) = case.suppressions
    assert case.state == "closed" and active.state == "active" and active.approved_by == "apo"
    return active.suppression_id


def test_suppression_created_on_approval_mutes_alerts(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "v1", 1))
    _customer(ctx)
    _, cid = _alert(ctx)
    assert cid is not None
    sid = _false_positive(ctx, cid)
    row = _suppression(ctx, sid)
    assert (row.customer_id, row.entity_id, row.decided_by) == ("C1", ENTITY, "ana")
    with ctx.db.connect() as conn:
        assert row.entity_fingerprint == case_repo.entity_fingerprint(conn, ENTITY)
        assert row.customer_fingerprint == case_repo.customer_fingerprint(conn, "C1")
    expires = row.expires_at.replace(tzinfo=row.expires_at.tzinfo or UTC)
    assert timedelta(days=364) < expires - datetime.now(UTC) < timedelta(days=366)

    # The same alert again (another event): recorded, suppressed, in no case.
    muted, in_case = _alert(ctx, key="later")
    assert in_case is None
    alert = _alert_row(ctx, muted)
    assert (alert.status, alert.suppressed_by, alert.entity_id) == ("suppressed", sid, ENTITY)
    assert all(muted not in [a.alert_id for a in c.alerts] for c in cases.list_cases(ctx))
    assert len(cases.list_cases(ctx)) == 1
    # Another entity, or another customer, is not suppressed.
    _, other = _alert(ctx, key="e2", entity="us_ofac_sdn:20002")
    assert other is not None and other != cid
    assert _alert(ctx, customer="C9", key="c9")[1] is not None

    # A false positive without the suppression closes at once; no customer: nothing to suppress.
    _, plain = _alert(ctx, customer="C4", key="p")
    assert plain is not None
    case = cases.close_case(ctx, ANA, plain, "false_positive", "typo", suppress=False)
    assert case.state == "closed" and not case.suppressions
    _, cp = _alert(ctx, customer=None, subject="1Addr", key="cp")
    assert cp is not None
    assert cases.close_case(ctx, ANA, cp, "false_positive", "not the one").state == "closed"

    actions = {r.action for r in _audit(ctx, "suppression")}
    assert {"suppression.create", "suppression.activate"} <= actions


def test_suppression_invalidated_by_a_list_change(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "v1", 1))
    _customer(ctx)
    _, cid = _alert(ctx)
    sid = _false_positive(ctx, cid)  # type: ignore[arg-type]
    assert _alert(ctx, key="before")[1] is None

    changed = tmp_path / "v1b"
    changed.mkdir()
    (changed / "sdn.csv").write_text(_CHANGED, encoding="utf-8")
    (answer,) = lists.load(ctx, lists.LoadRequest(paths=(changed,), source="us_ofac_sdn"))
    assert answer.created
    muted, new_case = _alert(ctx, key="after")
    assert new_case is not None and new_case != cid
    assert _alert_row(ctx, muted).status == "open"
    row = _suppression(ctx, sid)
    assert row.state == "invalidated" and "changed in a new list snapshot" in row.ended_reason
    (ended,) = [r for r in _audit(ctx, "suppression") if r.action == "suppression.invalidated"]
    assert ended.actor == "system" and ended.object_id == str(sid)
    assert [r.action for r in _audit(ctx, "alert")] == ["alert.suppressed"]


def test_suppression_invalidated_by_customer_change_and_reopen(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "v1", 1))
    _customer(ctx)
    _, cid = _alert(ctx)
    sid = _false_positive(ctx, cid)  # type: ignore[arg-type]
    _customer(ctx, name="VOLKOV Igor")  # the screened data changed
    assert _alert(ctx, key="after")[1] is not None
    row = _suppression(ctx, sid)
    assert row.state == "invalidated" and "screened data changed" in row.ended_reason

    # Reopening a false positive ends its suppression.
    _, c2 = _alert(ctx, customer="C2", key="c2")
    _customer(ctx, "C2", "TANAKA Taro")
    sid2 = _false_positive(ctx, c2)  # type: ignore[arg-type]
    cases.reopen_case(ctx, ANA, c2, "the customer sent a new passport")  # type: ignore[arg-type]
    row = _suppression(ctx, sid2)
    assert row.state == "invalidated" and "reopened" in row.ended_reason
    ended = [r for r in _audit(ctx, "suppression") if r.action == "suppression.invalidated"]
    assert [r.actor for r in ended] == ["system", "ana"]  # the customer change, the reopen


def test_suppression_expiry(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "v1", 1))
    _customer(ctx)
    with ctx.db.begin() as conn:
        past = datetime.now(UTC) - timedelta(days=1)
        sid = case_repo.add_suppression(
            conn,
            {
                "customer_id": "C1",
                "entity_id": ENTITY,
                "entity_fingerprint": case_repo.entity_fingerprint(conn, ENTITY),
                "customer_fingerprint": case_repo.customer_fingerprint(conn, "C1"),
                "case_id": None,
                "decided_by": "ana",
                "approved_by": "apo",
                "state": "active",
                "expires_at": past,
            },
        )
        live = case_repo.add_suppression(
            conn,
            {
                "customer_id": "C1",
                "entity_id": ENTITY,
                "entity_fingerprint": case_repo.entity_fingerprint(conn, ENTITY),
                "customer_fingerprint": case_repo.customer_fingerprint(conn, "C1"),
                "case_id": None,
                "decided_by": "ana",
                "state": "active",
                "expires_at": past + timedelta(days=30),
            },
        )
        found = case_repo.active_suppression(conn, "C1", ENTITY)
        assert found is not None and found.id == live
        later = datetime.now(UTC) + timedelta(days=40)
        assert case_repo.active_suppression(conn, "C1", ENTITY, at=later) is None
    assert _suppression(ctx, sid).state == "expired"
    assert _suppression(ctx, live).state == "expired"
    assert "expired" in _suppression(ctx, sid).ended_reason
    assert _alert(ctx)[1] is not None


# --- CLI and API --------------------------------------------------------------------------------
def test_cli(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    _, cid = _alert(ctx)
    db = ctx.settings.db
    listed = run("cases", "list", "--json", "--customer", "C1", db=db)
    assert listed.returncode == 0, listed.stderr
    (case,) = json.loads(listed.stdout)
    for name in ("case_id", "subject", "state", "severity", "assignee", "due", "disposition"):
        assert name in case
    assert case["customer_id"] == "C1" and case["alerts"][0]["rule"] == "name_match"
    no_user = run("cases", "comment", str(cid), "--text", "hi", db=db)
    assert no_user.returncode == 2 and "--user" in no_user.stderr
    assigned = run("cases", "assign", str(cid), "--to", "ana", "--user", "ana", "--json", db=db)
    assert assigned.returncode == 0, assigned.stderr
    assert json.loads(assigned.stdout)["state"] == "in_review"
    closed = run(
        "--user", "apo", "cases", "close", str(cid), "--disposition", "true_match",
        "--reason", "listed person", db=db,
    )  # fmt: skip
    assert closed.returncode == 0, closed.stderr
    assert "pending_approval" in closed.stdout
    assert run("cases", "approve", str(cid), "--user", "apo", db=db).returncode == 1
    assert run("cases", "approve", str(cid), "--user", "ana", db=db).returncode == 1
    ok = run("cases", "approve", str(cid), "--user", "bea", db=db)
    assert ok.returncode == 0, ok.stderr
    shown = run("cases", "show", str(cid), "--json", db=db)
    assert json.loads(shown.stdout)["state"] == "closed"
    text = run("cases", "show", str(cid), db=db)
    assert text.returncode == 0 and "判定" in text.stdout
    assert run("cases", "list", "--state", "closed", db=db).returncode == 0
    reopened = run("cases", "reopen", str(cid), "--reason", "new info", "--user", "ana", db=db)
    assert reopened.returncode == 0, reopened.stderr
    assert run("cases", "show", "999", db=db).returncode == 2


def test_api(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    _, cid = _alert(ctx)
    _alert(ctx, customer="C2", key="k2")
    with TestClient(create_app(ctx)) as client:
        assert client.get("/v1/cases").status_code == 401

        def login(name: str) -> None:
            token, csrf = users.login(ctx, name, "correct horse battery staple")
            client.cookies.set("sanctrace_session", token)
            client.headers["X-CSRF-Token"] = csrf

        login("ana")
        found = client.get("/v1/cases", params={"customer": "C1"})
        assert found.status_code == 200, found.text
        assert [c["case_id"] for c in found.json()] == [cid]
        assert len(client.get("/v1/cases").json()) == 2
        assert client.get("/v1/cases", params={"state": "bogus"}).status_code == 422
        assert client.get(f"/v1/cases/{cid}").json()["subject"] == "C1"
        assert client.get("/v1/cases/999").status_code == 404
        r = client.post(f"/v1/cases/{cid}/assign", json={"to": "ana"})
        assert r.status_code == 200 and r.json()["state"] == "in_review"
        r = client.post(f"/v1/cases/{cid}/comment", json={"text": "checked the DOB"})
        assert r.json()["comments"][0]["text"] == "checked the DOB"
        r = client.post(f"/v1/cases/{cid}/attach", json={"name": "e", "content": {"a": 1}})
        assert r.json()["attachments"][0]["content"] == {"a": 1}
        r = client.post(
            f"/v1/cases/{cid}/close", json={"disposition": "true_match", "reason": "listed"}
        )
        assert r.status_code == 200 and r.json()["state"] == "pending_approval"
        assert client.post(f"/v1/cases/{cid}/approve").status_code == 403  # no approve
        login("apo")
        r = client.post(f"/v1/cases/{cid}/approve", json={"reason": "agreed"})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "closed" and r.json()["approved_by"] == "apo"
        r = client.post(f"/v1/cases/{cid}/reopen", json={"reason": "more"})
        assert r.json()["state"] == "reopened"
        r = client.post(
            f"/v1/cases/{cid}/close", json={"disposition": "true_match", "reason": "again"}
        )
        assert client.post(f"/v1/cases/{cid}/approve").status_code == 403  # four-eyes
    schema = create_app(ctx).openapi()
    assert "/v1/cases/{case_id}/approve" in schema["paths"]
