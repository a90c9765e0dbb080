"""Durable re-screening after list loads (``services.lists.resume_rescreens``).

Every switch of a source's active snapshot (a load, a re-load, a rollback) writes a
``rescreen_jobs`` row in its own transaction. After the commit the jobs run: the stored
customers are screened against the entries the switch added or changed, their matches stored
(an open match is refreshed, never duplicated), the matches of removed or no longer matching
entries retired, the lookback run over the stored events, and only then the job is marked
done. A process killed at any moment leaves the job pending, and the next load, ``lists
status`` or ``serve`` start runs it again; every step is idempotent, so nothing is lost and
nothing doubled.

Pending jobs of one source are run together: the delta from the oldest job's predecessor to the
snapshot active now, so a job interrupted before a later load is not shadowed by it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sanctrace.lists import snapshots as list_snapshots
from sanctrace.lists.snapshots import Delta
from sanctrace.names import Screener
from sanctrace.services.context import Context
from sanctrace.services.lookback import LookbackAnswer, lookback_delta
from sanctrace.services.names import (
    ScreeningRun,
    build_screener,
    retire_matches,
    screen_customers,
)
from sanctrace.store import customers as customer_repo
from sanctrace.store import snapshots as snapshot_repo

__all__ = ["RescreenAnswer", "resume_rescreens"]

Step = Callable[[str], None]


@dataclass
class RescreenAnswer:
    """What one pass over a source's pending jobs did."""

    source: str
    job_ids: list[int]
    old_snapshot: int | None
    new_snapshot: int | None  # the snapshot active when the jobs ran (None: no longer any)
    run: ScreeningRun | None  # None when no customers are stored
    lookback: LookbackAnswer | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "jobs": list(self.job_ids),
            "old_snapshot": self.old_snapshot,
            "new_snapshot": self.new_snapshot,
            "rescreen": None if self.run is None else self.run.to_dict(),
            "lookback": None if self.lookback is None else self.lookback.to_dict(),
        }


def resume_rescreens(ctx: Context, step: Step | None = None) -> list[RescreenAnswer]:
    """Run every unfinished re-screen job, oldest first; one pass at a time across processes.
    ``step`` hears each stage (``rescreen screening``, ``rescreen customer``, ``rescreen
    stored``, ``rescreen done``): the progress lines the crash tests stop a process at."""
    db = ctx.db
    tell: Step = step or (lambda _stage: None)
    with snapshot_repo.rescreen_lock(db.engine):
        with db.connect() as conn:
            pending = snapshot_repo.pending_rescreens(conn)
            if not pending:
                return []
            has_customers = customer_repo.count(conn)["customers"] > 0
        by_source: dict[str, list[sa.Row]] = {}
        for job in pending:
            by_source.setdefault(job.source, []).append(job)
        screener: Screener | None = None
        answers = []
        for source, jobs in by_source.items():
            ids = [int(j.id) for j in jobs]
            old = jobs[0].old_snapshot_id
            with db.connect() as conn:
                new = snapshot_repo.active_snapshot_id(conn, source)
            if new is None:  # nothing active to screen against
                with db.begin() as conn:
                    snapshot_repo.finish_rescreens(conn, ids, {"skipped": "no active snapshot"})
                answers.append(RescreenAnswer(source, ids, old, None, None, None))
                continue
            delta = list_snapshots.diff(db, source, old, new)
            touched = set(delta.added) | set(delta.changed)
            run: ScreeningRun | None = None
            if touched and has_customers and screener is None:
                screener = build_screener(db)  # one, over every active snapshot
            if has_customers:
                tell("rescreen screening")
                if touched and screener is not None:
                    run = screen_customers(
                        db, screener, only=touched, progress=lambda _n: tell("rescreen customer")
                    )
                else:
                    run = ScreeningRun()
                tell("rescreen stored")
                run.retired = _retire(db, delta, run)
            look = lookback_delta(ctx, delta, screener=screener)
            with db.begin() as conn:
                snapshot_repo.finish_rescreens(
                    conn,
                    ids,
                    {
                        "old_snapshot": old,
                        "new_snapshot": new,
                        "delta": delta.counts(),
                        "rescreen": None if run is None else run.to_dict(),
                        "lookback": look.to_dict(),
                    },
                )
            tell("rescreen done")
            answers.append(RescreenAnswer(source, ids, old, new, run, look))
        return answers


def _retire(db: Any, delta: Delta, run: ScreeningRun) -> int:
    """Retire the open matches of entries the delta removed, and of changed entries that no
    longer match; returns how many (none on a second pass)."""
    return retire_matches(db, delta, run)
