"""The notification of a completed transfer to an asset-freeze target (the FSA request's third
duty): when a transfer already sent is later found — by the lookback after a list update — to
have gone to a listed address, a task (kind ``completed_transfer_notification``) is opened to
report it promptly to the FSA and the MOF, with the notification prepared in Japanese (the
transfer, the list entry and its version, when it was found). It is not an STR and is tracked
separately from the cases.

The task is created by ``store.reports.create_transfer_task`` (store level, so the lookback in
``services/`` can call it); ``open_transfer_tasks`` sweeps the stored lookback alerts for any
transfer still without a task (idempotent), and ``list_tasks`` is ``sanctrace reports tasks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sanctrace.services.context import Context
from sanctrace.store import reports as repo
from sanctrace.store.tables import alerts, events

__all__ = ["Task", "list_tasks", "open_transfer_tasks"]


@dataclass
class Task:
    task_id: int
    kind: str
    subject: str
    state: str
    case_id: int | None
    created_at: str
    done_by: str | None
    done_at: str | None
    payload: dict[str, Any]

    @property
    def notice_ja(self) -> str:
        return str(self.payload.get("notice_ja") or "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "kind": self.kind,
            "subject": self.subject,
            "state": self.state,
            "case_id": self.case_id,
            "created_at": self.created_at,
            "done_by": self.done_by,
            "done_at": self.done_at,
            "payload": self.payload,
        }


def list_tasks(ctx: Context, state: str | None = None) -> list[Task]:
    """The completed-transfer notification tasks, oldest first."""
    with ctx.db.connect() as conn:
        rows = repo.task_rows(conn, repo.TRANSFER_TASK, state)
    return [
        Task(
            task_id=int(r["id"]),
            kind=r["kind"],
            subject=r["subject"],
            state=r["state"],
            case_id=r["case_id"],
            created_at=r["created_at"],
            done_by=r["done_by"],
            done_at=r["done_at"],
            payload=dict(r["payload"] or {}),
        )
        for r in rows
    ]


def open_transfer_tasks(ctx: Context) -> list[int]:
    """A task for every lookback ``sanctioned_address`` alert on a past withdrawal that has
    none yet; returns the ids of the tasks created (none when all exist)."""
    made: list[int] = []
    with ctx.db.begin() as conn:
        existing = {t["subject"] for t in repo.task_rows(conn, repo.TRANSFER_TASK)}
        query = (
            sa.select(alerts, events.c.type.label("event_type"))
            .join(events, events.c.event_id == alerts.c.event_id)
            .where(alerts.c.rule == "sanctioned_address", events.c.type == "withdrawal")
            .order_by(alerts.c.id)
        )
        for row in conn.execute(query).all():
            values = dict(row._mapping)
            if not (values.get("evidence") or {}).get("lookback"):
                continue
            event = conn.execute(sa.select(events).where(events.c.event_id == row.event_id)).first()
            refs = repo.listed_refs(values["evidence"])
            subject = f"{row.event_id}:{refs[0]['entity_id'] if refs else None}"
            task_id = repo.create_transfer_task(conn, values, event, alert_id=int(row.id))
            if task_id is not None and subject not in existing:
                made.append(task_id)
                existing.add(subject)
    return made
