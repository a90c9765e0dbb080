"""Helpers of the hold and webhook tests: a held withdrawal (a North Korean IP, which the
``sanctioned_jurisdiction_ip`` rule holds without a login), its hold, users."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from monitor_helpers import context, load_list, withdrawal, write_list
from sanctrace.cases import users
from sanctrace.monitor.decisions import decide
from sanctrace.services.context import Context
from sanctrace.settings import Settings
from sanctrace.store.tables import holds

KP_IP = "175.45.176.1"


def hold_context(db_url: str, tmp_path: Path, **settings: object) -> Context:
    if not settings:
        ctx = context(db_url, tmp_path)
    else:
        ctx = Context(Settings(db=db_url, data_dir=tmp_path / "data", **settings))
    load_list(ctx, write_list(tmp_path / "list", 1))
    return ctx


def held_withdrawal(ctx: Context, event_id: str, amount: str = "0.25") -> int:
    """Decide a withdrawal from a North Korean IP (a ``hold``); returns the hold the decision
    created."""
    answer = decide(ctx, "withdrawal", withdrawal(event_id, ip=KP_IP, amount=amount))
    assert answer.decision == "hold", answer
    with ctx.db.connect() as conn:
        return int(
            conn.execute(
                sa.select(holds.c.id).where(holds.c.decision_id == answer.decision_id)
            ).scalar_one()
        )


def add_users(ctx: Context) -> dict[str, str]:
    """An analyst, two approvers and an auditor; returns their passwords by name."""
    made = {}
    for name, role in (
        ("ana", "analyst"),
        ("apo", "approver"),
        ("bea", "approver"),
        ("aud", "auditor"),
    ):
        made[name] = users.add_user(ctx, name, role).password or ""
    return made
