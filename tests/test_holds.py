"""Holds: the state machine, four-eyes release, reject (and the freeze report of a target),
audit records and webhook deliveries in the same transaction, the API and the CLI, and no
tipping off — on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from helpers import run
from hold_helpers import KP_IP, add_users, held_withdrawal, hold_context
from sanctrace.api.app import create_app
from sanctrace.cases import cases, holds
from sanctrace.cases.auth import Forbidden, Principal, Role
from sanctrace.errors import BadRequest, Conflict, NotFound
from sanctrace.store import holds as hold_repo
from sanctrace.store.tables import audit_log, tasks, webhook_deliveries

PUBLIC = set(hold_repo.PUBLIC_FIELDS)
# What must never reach the platform: the rule, its evidence, the reasons, notes, reports.
SECRETS = (
    "sanctioned_jurisdiction_ip",
    KP_IP,
    "KP",
    "iptocc",
    "reason",
    "report",
    "rule",
    "SECRET-NOTE",
    "customer",
    "requested_by",
    "decided_by",
    "case",
)


def _deliveries(ctx) -> list:
    with ctx.db.connect() as conn:
        return list(conn.execute(sa.select(webhook_deliveries).order_by(webhook_deliveries.c.id)))


def _audits(ctx, hold_id: int) -> list:
    with ctx.db.connect() as conn:
        return list(
            conn.execute(
                sa.select(audit_log)
                .where(audit_log.c.object_type == "hold", audit_log.c.object_id == str(hold_id))
                .order_by(audit_log.c.id)
            )
        )


def _assert_no_tipping_off(data: object) -> None:
    text = json.dumps(data, ensure_ascii=False)
    for word in SECRETS:
        assert word not in text, (word, text)


def test_create_hold_is_idempotent_and_public(db_url, tmp_path):
    ctx = hold_context(db_url, tmp_path)
    hold_id = held_withdrawal(ctx, "w-1", amount="1.5")
    hold = holds.get_hold(ctx, hold_id)
    assert hold.state == "held" and hold.kind == "withdrawal"
    assert (hold.asset, hold.amount, hold.customer_id) == ("BTC", "1.5", "C1")
    assert hold.requested_by is None
    # The decision's alert opened the customer's case, and the hold belongs to it.
    case = cases.show_case(ctx, hold.case_id)
    assert case.customer_id == "C1" and case.alerts[0].decision_id == hold.decision_id
    assert set(hold.to_dict()) == PUBLIC
    with ctx.db.begin() as conn:
        row = hold_repo.find(conn, hold_id)
        again = hold_repo.create_hold(
            conn, {"decision_id": row.decision_id, "decision": "hold"}, {"event_id": "w-1"}
        )
        assert again == hold_id
        with pytest.raises(ValueError):
            hold_repo.create_hold(conn, {"decision_id": "x", "decision": "allow"}, {})
    (created,) = _deliveries(ctx)
    assert created.event_type == "hold.created"
    assert created.payload == {"hold": hold.to_dict()}
    with pytest.raises(NotFound):
        holds.get_hold(ctx, 999)


def test_state_machine_four_eyes_audit_and_webhooks(db_url, tmp_path):
    ctx = hold_context(db_url, tmp_path)
    add_users(ctx)
    first = held_withdrawal(ctx, "w-1")
    second = held_withdrawal(ctx, "w-2")
    third = held_withdrawal(ctx, "w-3")

    # held: only a release request or a reject
    with pytest.raises(Conflict):
        holds.approve_release(ctx, first, "bea")
    with pytest.raises(Forbidden):  # an auditor changes nothing
        holds.request_release(ctx, first, "aud", "looks fine")
    with pytest.raises(Forbidden):  # unknown user
        holds.request_release(ctx, first, "nobody", "looks fine")
    with pytest.raises(BadRequest):
        holds.request_release(ctx, first, "apo", "  ")
    key = Principal(name="platform", kind="key", scopes=frozenset())
    with pytest.raises(Forbidden):
        holds.request_release(ctx, first, key, "from the platform")

    pending = holds.request_release(ctx, first, "apo", "VPN exit node; customer verified")
    assert pending.state == "release_pending" and pending.requested_by == "apo"
    with pytest.raises(Conflict):  # asked once already
        holds.request_release(ctx, first, "ana", "again")
    with pytest.raises(Forbidden, match="asked for this release"):  # maker ≠ checker
        holds.approve_release(ctx, first, "apo")
    with pytest.raises(Forbidden):  # an analyst is no approver
        holds.approve_release(ctx, first, "ana")
    approver_principal = Principal(name="apo", kind="user", role=Role.APPROVER)
    with pytest.raises(Forbidden):  # the same person, as a principal
        holds.approve_release(ctx, first, approver_principal)
    assert holds.get_hold(ctx, first).state == "release_pending"

    released = holds.approve_release(ctx, first, "bea")
    assert released.state == "released" and released.decided_by == "bea"
    for illegal in (
        lambda: holds.approve_release(ctx, first, "bea"),
        lambda: holds.request_release(ctx, first, "ana", "x"),
        lambda: holds.reject(ctx, first, "ana", "x"),
    ):
        with pytest.raises(Conflict):
            illegal()

    # held → rejected, a target: the freeze report task is opened
    rejected = holds.reject(ctx, second, "ana", "confirmed target", target=True)
    assert rejected.state == "rejected" and rejected.decided_by == "ana"
    with pytest.raises(Conflict):
        holds.request_release(ctx, second, "ana", "x")
    # release_pending → rejected, not a target: no task
    holds.request_release(ctx, third, "ana", "asks")
    assert holds.reject(ctx, third, "bea", "not convinced").state == "rejected"
    with pytest.raises(Conflict):
        holds.approve_release(ctx, third, "apo")

    with ctx.db.connect() as conn:
        opened = list(conn.execute(sa.select(tasks)))
    assert len(opened) == 1
    assert opened[0].kind == "asset_freeze_report" and opened[0].subject == f"hold:{second}"
    assert opened[0].payload["decision_reasons"][0]["rule"] == "sanctioned_jurisdiction_ip"
    with ctx.db.connect() as conn:
        task_audit = conn.execute(
            sa.select(audit_log.c.action).where(audit_log.c.object_type == "task")
        ).scalar_one()
    assert task_audit == "task.opened"

    # one audit record per change, with before/after and the reason
    actions = [(r.actor, r.action, r.reason) for r in _audits(ctx, first)]
    assert actions == [
        ("apo", "hold.release_requested", "VPN exit node; customer verified"),
        ("bea", "hold.released", None),
    ]
    last = _audits(ctx, first)[-1]
    assert last.before["state"] == "release_pending" and last.after["state"] == "released"
    assert [r.action for r in _audits(ctx, third)] == ["hold.release_requested", "hold.rejected"]

    # one webhook delivery per change (and per creation), in order
    kinds = [(d.event_type, d.payload["hold"]["hold_id"]) for d in _deliveries(ctx)]
    assert kinds == [
        ("hold.created", first),
        ("hold.created", second),
        ("hold.created", third),
        ("hold.release_pending", first),
        ("hold.released", first),
        ("hold.rejected", second),
        ("hold.release_pending", third),
        ("hold.rejected", third),
    ]

    # filters
    assert [h.hold_id for h in holds.list_holds(ctx)] == [third, second, first]
    query = holds.HoldQuery(state="rejected")
    assert {h.hold_id for h in holds.list_holds(ctx, query)} == {second, third}
    assert holds.list_holds(ctx, holds.HoldQuery(customer_id="C2")) == []
    with pytest.raises(BadRequest):
        holds.HoldQuery(state="frozen")


def test_no_tipping_off_in_webhooks_and_api(db_url, tmp_path):
    ctx = hold_context(db_url, tmp_path)
    passwords = add_users(ctx)
    first = held_withdrawal(ctx, "w-1")
    second = held_withdrawal(ctx, "w-2")
    holds.request_release(ctx, first, "ana", "SECRET-NOTE: STR filed, see case report")
    holds.reject(ctx, second, "apo", "SECRET-NOTE: report to the FSA", target=True)

    for delivery in _deliveries(ctx):
        assert set(delivery.payload) == {"hold"}
        assert set(delivery.payload["hold"]) == PUBLIC
        _assert_no_tipping_off(delivery.payload)

    with TestClient(create_app(ctx)) as client:
        token, csrf = _login(ctx, "aud", passwords)
        client.cookies.set("sanctrace_session", token)
        listed = client.get("/v1/holds")
        assert listed.status_code == 200, listed.text
        shown = client.get(f"/v1/holds/{second}")
        assert shown.status_code == 200
        for body in (*listed.json(), shown.json()):
            assert set(body) == PUBLIC
            _assert_no_tipping_off(body)
    schema = create_app(ctx).openapi()["components"]["schemas"]["HoldOut"]
    assert set(schema["properties"]) == PUBLIC


def _login(ctx, name, passwords):
    from sanctrace.cases import users

    return users.login(ctx, name, passwords[name])


def test_api_state_machine_and_four_eyes(db_url, tmp_path):
    ctx = hold_context(db_url, tmp_path)
    passwords = add_users(ctx)
    first = held_withdrawal(ctx, "w-1")
    second = held_withdrawal(ctx, "w-2")

    def as_user(client, name):
        token, csrf = _login(ctx, name, passwords)
        client.cookies.set("sanctrace_session", token)
        client.headers["X-CSRF-Token"] = csrf

    with TestClient(create_app(ctx)) as client:
        assert client.get("/v1/holds").status_code == 401
        as_user(client, "aud")
        assert client.get("/v1/holds", params={"state": "held"}).status_code == 200
        assert client.get("/v1/holds", params={"state": "frozen"}).status_code == 422
        assert client.get("/v1/holds/999").status_code == 404
        denied = client.post(f"/v1/holds/{first}/release", json={"reason": "x"})
        assert denied.status_code == 403  # an auditor

        as_user(client, "ana")
        assert client.post(f"/v1/holds/{first}/approve").status_code in (403, 409)
        assert client.post(f"/v1/holds/{first}/release", json={}).status_code == 422
        asked = client.post(f"/v1/holds/{first}/release", json={"reason": "verified"})
        assert asked.status_code == 200, asked.text
        assert asked.json()["state"] == "release_pending"
        assert set(asked.json()) == PUBLIC
        again = client.post(f"/v1/holds/{first}/release", json={"reason": "verified"})
        assert again.status_code == 409
        assert client.post(f"/v1/holds/{first}/approve").status_code == 403  # not an approver

        as_user(client, "apo")
        assert client.post(f"/v1/holds/{second}/approve").status_code == 409  # still held
        asked = client.post(f"/v1/holds/{second}/release", json={"reason": "verified"})
        assert asked.status_code == 200
        own = client.post(f"/v1/holds/{second}/approve")
        assert own.status_code == 403 and "another approver" in own.json()["detail"]
        done = client.post(f"/v1/holds/{first}/approve")
        assert done.status_code == 200 and done.json()["state"] == "released"
        assert client.post(f"/v1/holds/{first}/reject", json={"reason": "x"}).status_code == 409

        as_user(client, "bea")
        rejected = client.post(f"/v1/holds/{second}/reject", json={"reason": "no", "target": True})
        assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
        assert client.post(f"/v1/holds/{second}/approve").status_code == 409
        rows = client.get("/v1/holds", params={"state": "rejected"}).json()
        assert [r["hold_id"] for r in rows] == [second]


def test_cli_holds(db_url, tmp_path):
    ctx = hold_context(db_url, tmp_path)
    add_users(ctx)
    hold_id = str(held_withdrawal(ctx, "w-1"))
    other = str(held_withdrawal(ctx, "w-2"))

    listed = run("holds", "list", "--json", db=db_url)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["hold_id"] for r in rows] == [int(other), int(hold_id)]
    assert rows[0]["state"] == "held" and rows[0]["customer_id"] == "C1"
    text = run("holds", "list", db=db_url)
    assert text.returncode == 0 and f"#{hold_id} held" in text.stdout

    nobody = run("holds", "release", hold_id, "--reason", "ok", db=db_url)
    assert nobody.returncode == 2 and "--user" in nobody.stderr
    asked = run("holds", "release", hold_id, "--reason", "ok", "--user", "ana", db=db_url)
    assert asked.returncode == 0, asked.stderr
    own = run("--user", "ana", "holds", "approve", hold_id, db=db_url)
    assert own.returncode == 1, own.stderr  # not an approver (and the maker)
    not_approver = run("holds", "approve", hold_id, "--user", "ana", db=db_url)
    assert not_approver.returncode == 1
    approved = run("holds", "approve", hold_id, "--user", "apo", "--json", db=db_url)
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["state"] == "released"

    late = run("holds", "reject", hold_id, "--reason", "x", "--user", "apo", db=db_url)
    assert late.returncode == 2 and "released" in late.stderr  # a Conflict
    rejected = run("holds", "reject", other, "--reason", "target", "--user", "apo", db=db_url)
    assert rejected.returncode == 0, rejected.stderr
    assert holds.get_hold(ctx, int(other)).state == "rejected"

    # the maker cannot approve their own request, even as an approver
    third = str(held_withdrawal(ctx, "w-3"))
    assert (
        run("holds", "release", third, "--reason", "r", "--user", "apo", db=db_url).returncode == 0
    )
    mine = run("holds", "approve", third, "--user", "apo", db=db_url)
    assert mine.returncode == 1 and "another approver" in mine.stderr
    assert holds.get_hold(ctx, int(third)).state == "release_pending"
