"""Reproducible decisions: ``cases.replay`` and ``sanctrace decisions replay`` recompute a
stored decision with the list snapshots it recorded, not the active ones."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from helpers import run
from monitor_helpers import LISTED, context, customer, load_list, withdrawal, write_list
from sanctrace.cases.replay import replay
from sanctrace.errors import NotFound
from sanctrace.monitor.decisions import decide
from sanctrace.monitor.events import parse_event
from sanctrace.monitor.pipeline import process
from sanctrace.store.tables import decisions

BENEFICIARY = {"names": [{"text": "Garantex Test Exchange"}]}


def test_replay_uses_the_recorded_snapshots(db_url, tmp_path):
    ctx = context(db_url, tmp_path)
    first = load_list(ctx, write_list(tmp_path / "v1", 1))[0].snapshot_id
    process(ctx, [parse_event(customer(), "test")])
    before = decide(ctx, "withdrawal", withdrawal("w-1", address=LISTED, beneficiary=BENEFICIARY))
    assert before.decision == "allow" and before.snapshots == {"us_ofac_sdn": first}

    # a list update that names the address and the beneficiary
    second = load_list(ctx, write_list(tmp_path / "v2", 2))[0].snapshot_id
    assert second != first
    after = decide(ctx, "withdrawal", withdrawal("w-2", address=LISTED, beneficiary=BENEFICIARY))
    assert after.decision == "block"
    rules = {r["rule"] for r in after.reasons}
    assert "sanctioned_address" in rules

    again = replay(ctx, before.decision_id)
    assert again.same and again.same_decision, again.to_dict()
    assert again.replayed_decision == "allow"
    assert again.snapshots == {"us_ofac_sdn": first}
    assert again.differences == [] and again.notes == []

    blocked = replay(ctx, after.decision_id)
    assert blocked.same, blocked.to_dict()
    assert blocked.replayed_decision == "block"
    assert {r["rule"] for r in blocked.reasons} == rules

    with pytest.raises(NotFound):
        replay(ctx, "no-such-decision")


def test_replay_says_what_changed(db_url, tmp_path):
    ctx = context(db_url, tmp_path)
    load_list(ctx, write_list(tmp_path / "v2", 2))
    process(ctx, [parse_event(customer(), "test")])
    answer = decide(ctx, "withdrawal", withdrawal("w-1", address=LISTED))
    assert answer.decision == "block"
    # pretend it was decided otherwise, by other rules and an older engine
    with ctx.db.begin() as conn:
        conn.execute(
            decisions.update()
            .where(decisions.c.decision_id == answer.decision_id)
            .values(decision="allow", reasons=[], rules_version="0" * 16, engine_version="0.0.1")
        )
    again = replay(ctx, answer.decision_id)
    assert not again.same_decision and not again.same
    assert again.stored_decision == "allow" and again.replayed_decision == "block"
    assert "sanctioned_address" in {d.rule for d in again.differences}
    notes = " ".join(again.notes)
    assert "rules changed" in notes and "engine changed" in notes
    data = again.to_dict()
    assert data["rules_changed"] and data["engine_changed"]


def test_cli_decisions_replay(tmp_path):
    db = f"sqlite:///{tmp_path / 'replay.db'}"
    ctx = context(db, tmp_path)
    load_list(ctx, write_list(tmp_path / "v1", 1))
    process(ctx, [parse_event(customer(), "test")])
    answer = decide(ctx, "withdrawal", withdrawal("w-1", address=LISTED))
    load_list(ctx, write_list(tmp_path / "v2", 2))
    ctx.db.dispose()
    done = run("decisions", "replay", answer.decision_id, "--json", db=db)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["same"] is True and body["replayed_decision"] == "allow"
    text = run("decisions", "replay", answer.decision_id, db=db)
    assert text.returncode == 0 and "same" in text.stderr
    missing = run("decisions", "replay", "nope", db=db)
    assert missing.returncode == 2
    with sa.create_engine(db).begin() as conn:
        conn.execute(sa.text("UPDATE decisions SET decision = 'block'"))
    differs = run("decisions", "replay", answer.decision_id, db=db)
    assert differs.returncode == 1 and "DIFFERS" in differs.stderr
