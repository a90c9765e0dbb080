"""The audit trail: the hash chain and ``verify`` against rows changed, deleted and inserted
behind the service's back (SQLite and PostgreSQL), export, retention, legal holds, purge,
the PostgreSQL grant, and the ``sanctrace audit`` commands."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from helpers import run
from sanctrace.cases import audit
from sanctrace.services.context import Context
from sanctrace.settings import Settings
from sanctrace.store.tables import audit_log


def _ctx(db_url: str, tmp_path) -> Context:
    return Context(Settings(db=db_url, data_dir=tmp_path / "data"))


def _write(ctx: Context, n: int = 5, record_type: str = "transaction") -> list[int]:
    ids = []
    for i in range(1, n + 1):
        with ctx.db.begin() as conn:
            ids.append(
                audit.record(
                    conn,
                    actor="system",
                    action="decision",
                    object_type="decision",
                    object_id=f"D{i}",
                    after={"decision": "allow", "customer_id": f"C{i}", "n": i},
                    record_type=record_type,
                )
            )
    return ids


def _sql(ctx: Context, statement: str, **params) -> None:
    with ctx.db.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_chain_verifies(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    assert audit.verify(ctx).ok and audit.verify(ctx).records == 0
    ids = _write(ctx)
    answer = audit.verify(ctx)
    assert answer.ok and answer.records == 5 and answer.head_id == ids[-1]
    with ctx.db.connect() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).all()
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert answer.head_hash == rows[-1].hash


def test_verify_catches_an_edited_row(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    ids = _write(ctx)
    _sql(ctx, "UPDATE audit_log SET reason = 'nothing to see' WHERE id = :id", id=ids[2])
    answer = audit.verify(ctx)
    assert not answer.ok and answer.failure is not None
    assert answer.failure.id == ids[2] and "changed" in answer.failure.reason


def test_verify_catches_an_edited_row_with_its_hash_recomputed(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    ids = _write(ctx)
    with ctx.db.connect() as conn:
        row = conn.execute(sa.select(audit_log).where(audit_log.c.id == ids[1])).one()
    content = {**audit.content_of(row), "after": {"decision": "block"}}
    forged = audit.record_hash(row.prev_hash, content)
    _sql(
        ctx,
        "UPDATE audit_log SET after = :after, hash = :hash WHERE id = :id",
        after=json.dumps({"decision": "block"}),
        hash=forged,
        id=ids[1],
    )
    answer = audit.verify(ctx)
    assert not answer.ok and answer.failure is not None
    # the edited record verifies alone; the next one no longer chains onto it
    assert answer.failure.id == ids[2] and f"record {ids[1]}" in answer.failure.reason


def test_verify_catches_a_deleted_row(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    ids = _write(ctx)
    _sql(ctx, "DELETE FROM audit_log WHERE id = :id", id=ids[2])
    answer = audit.verify(ctx)
    assert not answer.ok and answer.failure is not None
    assert answer.failure.id == ids[3] and "deleted" in answer.failure.reason
    assert answer.records == 2

    first = _ctx(db_url, tmp_path)
    _sql(first, "DELETE FROM audit_log WHERE id = :id", id=ids[0])
    failure = audit.verify(first).failure
    assert failure is not None and failure.id == ids[1] and "deleted" in failure.reason


def test_verify_catches_an_inserted_row(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    ids = _write(ctx)
    # make room after record 2, then insert a well-formed record chained onto it
    _sql(ctx, "UPDATE audit_log SET id = id + 100 WHERE id > :id", id=ids[1])
    with ctx.db.connect() as conn:
        two = conn.execute(sa.select(audit_log).where(audit_log.c.id == ids[1])).one()
    content = {
        "time": datetime.now(UTC),
        "actor": "mallory",
        "action": "decision",
        "object_type": "decision",
        "object_id": "FORGED",
        "before": None,
        "after": {"decision": "allow"},
        "reason": None,
        "record_type": "transaction",
    }
    with ctx.db.begin() as conn:
        conn.execute(
            audit_log.insert().values(
                id=ids[1] + 1,
                **content,
                purged=False,
                prev_hash=two.hash,
                hash=audit.record_hash(two.hash, content),
            )
        )
    assert audit.verify(ctx).ok is False
    failure = audit.verify(ctx).failure
    assert failure is not None and failure.id == ids[1] + 1 and "inserted" in failure.reason


def test_verify_catches_a_badly_forged_insert_and_ids_out_of_order(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    ids = _write(ctx)
    with ctx.db.connect() as conn:
        one = conn.execute(sa.select(audit_log).where(audit_log.c.id == ids[0])).one()
    content = {**audit.content_of(one), "object_id": "LATE"}
    with ctx.db.begin() as conn:  # at the end, chained onto record 1
        conn.execute(
            audit_log.insert().values(
                **content,
                purged=False,
                prev_hash=one.hash,
                hash=audit.record_hash(one.hash, content),
            )
        )
    failure = audit.verify(ctx).failure
    assert failure is not None and failure.id == ids[-1] + 1
    assert f"chains onto record {ids[0]}" in failure.reason

    swapped = _ctx(db_url, tmp_path)
    _sql(swapped, "DELETE FROM audit_log WHERE id > :id", id=ids[-1])
    _sql(swapped, "UPDATE audit_log SET id = 1000 WHERE id = :id", id=ids[1])
    _sql(swapped, "UPDATE audit_log SET id = :id WHERE id = :other", id=ids[1], other=ids[2])
    _sql(swapped, "UPDATE audit_log SET id = :id WHERE id = 1000", id=ids[2])
    failure = audit.verify(swapped).failure
    assert failure is not None and failure.id == ids[1] and "out of order" in failure.reason


def test_export_with_hashes(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    ids = _write(ctx, 3)
    lines = list(audit.export_lines(ctx))
    items = [json.loads(line) for line in lines]
    assert [i["id"] for i in items] == ids
    assert all(len(i["hash"]) == 64 and len(i["prev_hash"]) == 64 for i in items)
    assert items[0]["after"] == {"decision": "allow", "customer_id": "C1", "n": 1}
    # the exported content gives the exported hashes
    prev = audit.GENESIS
    for item in items:
        assert item["prev_hash"] == prev
        assert audit.record_hash(prev, item) == item["hash"]
        prev = item["hash"]
    today = datetime.now(UTC).date()
    assert len(list(audit.export(ctx, since=today, until=today))) == 3
    assert list(audit.export(ctx, until=today - timedelta(days=1))) == []
    assert list(audit.export(ctx, since=today + timedelta(days=1))) == []
    found = audit.list_records(ctx, audit.AuditQuery(object_id="D2"))
    assert [r["object_id"] for r in found] == ["D2"]


def test_purge_keeps_the_chain_and_respects_legal_holds(db_url, tmp_path):
    ctx = _ctx(db_url, tmp_path)
    ids = _write(ctx, 4)
    with ctx.db.begin() as conn:
        kyc = audit.record(
            conn,
            actor="alice",
            action="customer_verified",
            object_type="customer",
            object_id="C9",
            after={"name": "SATO Kenji"},
            record_type="verification",
        )
        other_kyc = audit.record(
            conn,
            actor="alice",
            action="customer_verified",
            object_type="customer",
            object_id="C10",
            after={"name": "SUZUKI Ichiro"},
            record_type="verification",
        )
    audit.end_relationship(ctx, "C9", "alice", ended=datetime.now(UTC).date())
    hold = audit.legal_hold(ctx, "decision", "D2", "court order 12", "bob")
    customer_hold = audit.legal_hold(ctx, "customer", "C3", "investigation", "bob")

    # nothing is past retention yet
    early = audit.purge(ctx, datetime.now(UTC).date(), "carol")
    assert early.purged == 0 and early.record_id is None

    later = datetime.now(UTC) + timedelta(days=365 * 7 + 3)
    answer = audit.purge(ctx, later, "carol")
    # D2 by its own hold, D3 through its customer's, and the two legal-hold records
    assert answer.held == 4
    with ctx.db.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.select(audit_log))}
    purged = {i for i, r in rows.items() if r.purged}
    assert ids[0] in purged and ids[3] in purged and kyc in purged
    assert ids[1] not in purged and ids[2] not in purged  # legal holds
    assert other_kyc not in purged  # the relationship goes on
    assert rows[ids[0]].after is None and rows[ids[0]].actor == ""
    assert rows[ids[0]].action == "decision" and rows[ids[0]].record_type == "transaction"
    purge_record = rows[answer.record_id]
    assert purge_record.action == "purge" and purge_record.actor == "carol"
    assert not purge_record.purged
    verified = audit.verify(ctx)
    assert verified.ok, verified.failure
    assert verified.purged == len(purged)

    # a purge again: nothing new, holds still counted
    assert audit.purge(ctx, later, "carol").purged == 0
    # released: the next purge takes it (and the hold's own two records)
    audit.release_legal_hold(ctx, hold.id, "bob", "case closed")
    again = audit.purge(ctx, later, "carol")
    assert again.purged == 3 and again.by_type == {"transaction": 1, "audit": 2}
    assert [h.id for h in audit.legal_holds_list(ctx)] == [customer_hold.id]
    assert audit.verify(ctx).ok

    # a purged record still may not be edited, and a row marked purged by hand is caught
    _sql(ctx, "UPDATE audit_log SET actor = 'x' WHERE id = :id", id=ids[0])
    failure = audit.verify(ctx).failure
    assert failure is not None and failure.id == ids[0] and "content" in failure.reason
    _sql(ctx, "UPDATE audit_log SET actor = '' WHERE id = :id", id=ids[0])
    assert audit.verify(ctx).ok
    _sql(
        ctx,
        "UPDATE audit_log SET actor = '', object_id = '', after = NULL, purged = :t WHERE id = :id",
        t=True,
        id=other_kyc,
    )
    failure = audit.verify(ctx).failure
    assert failure is not None and failure.id == other_kyc and "purge record" in failure.reason


def test_retention_policy_from_mapping():
    policy = audit.RetentionPolicy.from_mapping(
        {"transaction": {"years": 10}, "audit": None, "report": {"years": 5}}
    )
    assert policy.rules["transaction"].years == 10
    assert policy.rules["audit"].years is None
    assert policy.rules["verification"].after == "relationship_end"
    assert policy.rules["report"].years == 5
    with pytest.raises(Exception, match="after"):
        audit.RetentionPolicy.from_mapping({"x": {"years": 1, "after": "soon"}})


def test_cli_verify_export_purge_hold(tmp_path, monkeypatch):
    from sanctrace.cases import users

    monkeypatch.delenv("SANCTRACE_USER", raising=False)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    ctx = _ctx(db, tmp_path)
    ids = _write(ctx, 3)
    users.add_user(ctx, "carol", "admin", "correct horse battery staple")
    users.add_user(ctx, "dave", "analyst", "correct horse battery staple")
    ok = run("audit", "verify", db=db)
    assert ok.returncode == 0, ok.stderr
    out = tmp_path / "audit.jsonl"
    exported = run("audit", "export", "--from", "2000-01-01", "--output", str(out), db=db)
    assert exported.returncode == 0, exported.stderr
    assert len(out.read_text().splitlines()) == audit.verify(ctx).records
    held = run("--user", "carol", "audit", "hold", "decision", "D1", "--reason", "x", db=db)
    assert held.returncode == 0, held.stderr
    assert run("audit", "purge", db=db).returncode == 2  # no acting user
    assert run("--user", "dave", "audit", "purge", db=db).returncode == 2  # not an admin
    later = (datetime.now(UTC) + timedelta(days=365 * 8)).date().isoformat()
    purged = run("--user", "carol", "audit", "purge", "--as-of", later, "--json", db=db)
    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout)["held"] == 2  # D1 and its legal-hold record
    assert run("--user", "carol", "audit", "release", "1", db=db).returncode == 0
    ok = run("audit", "verify", "--json", db=db)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    _sql(ctx, "DELETE FROM audit_log WHERE id = :id", id=ids[1])
    bad = run("audit", "verify", db=db)
    assert bad.returncode == 1
    assert f"audit record {ids[2]} does not verify" in bad.stderr


def test_api_audit_and_verify(tmp_path):
    from fastapi.testclient import TestClient

    from helpers import key_headers, user_headers
    from sanctrace.api.app import create_app

    db = f"sqlite:///{tmp_path / 'api.db'}"
    ctx = _ctx(db, tmp_path)
    ids = _write(ctx, 3)
    auditor = user_headers(ctx, "auditor")
    client = TestClient(create_app(ctx))
    assert client.get("/v1/audit").status_code == 401
    assert client.get("/v1/audit", headers=key_headers(ctx)).status_code == 403
    found = client.get("/v1/audit", params={"object_type": "decision"}, headers=auditor)
    assert found.status_code == 200, found.text
    assert [r["id"] for r in found.json()] == ids
    page = client.get("/v1/audit", params={"after_id": ids[0], "limit": 1}, headers=auditor)
    assert [r["id"] for r in page.json()] == [ids[1]]
    verified = client.get("/v1/audit/verify", headers=auditor)
    assert verified.status_code == 200 and verified.json()["ok"] is True
    _sql(ctx, "UPDATE audit_log SET actor = 'x' WHERE id = :id", id=ids[1])
    broken = client.get("/v1/audit/verify", headers=auditor).json()
    assert broken["ok"] is False and broken["failure"]["id"] == ids[1]
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v1/audit" in paths and "/v1/audit/verify" in paths


# --- the PostgreSQL grant (docs/audit.md) ----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("SANCTRACE_TEST_DATABASE_URL"),
    reason="SANCTRACE_TEST_DATABASE_URL is not set",
)
def test_postgres_grant_refuses_update_and_delete(tmp_path):
    from psycopg import errors as pg

    base = os.environ["SANCTRACE_TEST_DATABASE_URL"]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    app_role, purge_role = f"sanctrace_app_{schema}", f"sanctrace_purge_{schema}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    ctx = _ctx(f"{base}{sep}options=-csearch_path%3D{schema}", tmp_path)
    try:
        ids = _write(ctx, 2)  # migrated and written by the owner
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE ROLE {app_role} NOLOGIN"))
            conn.execute(sa.text(f"CREATE ROLE {purge_role} NOLOGIN"))
            for statement in audit.grant_statements(schema, app_role, purge_role):
                conn.execute(sa.text(statement))
        engine = ctx.db.engine
        with engine.connect() as conn:
            conn.execute(sa.text(f"SET ROLE {app_role}"))
            conn.commit()
            with conn.begin():  # the service's role appends through the service
                audit.record(
                    conn, actor="system", action="decision", object_type="decision", object_id="D3"
                )
            for statement in (
                "UPDATE audit_log SET reason = 'x' WHERE id = :id",
                "DELETE FROM audit_log WHERE id = :id",
            ):
                with pytest.raises(sa.exc.ProgrammingError) as refused:
                    with conn.begin():
                        conn.execute(sa.text(statement), {"id": ids[0]})
                assert isinstance(refused.value.orig, pg.InsufficientPrivilege)
            conn.execute(sa.text("RESET ROLE"))
            conn.commit()
            conn.execute(sa.text(f"SET ROLE {purge_role}"))
            conn.commit()
            with pytest.raises(sa.exc.ProgrammingError) as refused:  # never the hashes
                with conn.begin():
                    conn.execute(sa.text("UPDATE audit_log SET hash = 'x' WHERE id = 1"))
            assert isinstance(refused.value.orig, pg.InsufficientPrivilege)
            with conn.begin():  # the purge role blanks content
                conn.execute(
                    sa.text("UPDATE audit_log SET reason = NULL WHERE id = :id"), {"id": ids[0]}
                )
            conn.execute(sa.text("RESET ROLE"))
            conn.commit()
        assert audit.verify(ctx).ok
    finally:
        ctx.db.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            for role in (app_role, purge_role):
                conn.execute(sa.text(f"DROP OWNED BY {role}"))
                conn.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()
