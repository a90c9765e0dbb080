"""kill -9 at any moment of a list load and its customer re-screen loses no match.

A child process (forked) loads a list through the service and writes each stage to a pipe as
it reaches it; at the chosen stage it waits on another pipe, and the test kills it with SIGKILL
there (no sleeping: the kill follows the line read from the pipe). Then a fresh start in this process (a new context,
``lists status`` or the retried load) must have stored every planted listed customer's match,
once, and left no re-screen job pending.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa

from sanctrace.services import lists
from sanctrace.services.context import Context
from sanctrace.settings import Settings
from sanctrace.store import customers as customer_repo
from sanctrace.store import open_database
from sanctrace.store.tables import rescreen_jobs, screening_matches

# The listed persons and companies (an FtM list), and customers bearing their names.
LISTED = {
    "x-1": ("Person", "Arkady Pavlovich Kornevsky"),
    "x-2": ("Person", "Marina Olegovna Zhuravleva"),
    "x-3": ("Person", "Timur Rashidovich Abdullaev"),
    "x-4": ("Person", "Svetlana Igorevna Belousova"),
    "x-5": ("Company", "Severnaya Zvezda Trading LLC"),
}
UNLISTED = ["Hiroshi Tanaka", "Emily Clarke", "Oluwaseun Adeyemi"]


# The process killed: a load through the service (forked from this one, so it does not pay the
# imports again), stopping for good at the chosen stage.
def _child(db_url: str, path: Path, stop: str, data: Path, say: int, hold: int) -> None:
    ctx = Context(Settings(db=db_url, data_dir=data))

    def step(name: str) -> None:
        os.write(say, f"{name}\n".encode())
        if name == stop:
            os.write(say, b"STOPPED\n")
            os.read(hold, 1)  # held here until the test kills this process

    request = lists.LoadRequest(paths=(path,), source="crash_list")
    lists.load(ctx, request, progress=lambda n: step("entities"), step=step)
    os.write(say, b"FINISHED\n")


def _write_list(path: Path, ids: list[str]) -> Path:
    rows = [{"id": i, "schema": LISTED[i][0], "properties": {"name": [LISTED[i][1]]}} for i in ids]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


def _plant(db) -> None:
    records = [
        {
            "id": f"L{n}",
            "kind": "person" if schema == "Person" else "company",
            "names": [("latin" if schema == "Person" else "legal", name)],
        }
        for n, (schema, name) in enumerate(LISTED.values())
    ]
    records += [
        {"id": f"U{n}", "kind": "person", "names": [("latin", name)]}
        for n, name in enumerate(UNLISTED)
    ]
    with db.begin() as conn:
        customer_repo.upsert_customers(conn, records)


def _kill_at(db_url: str, path: Path, stop: str, data: Path) -> list[str]:
    """Run the load in a child process and SIGKILL it when it says it reached ``stop``."""
    say_r, say_w = os.pipe()
    hold_r, hold_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(say_r)
            os.close(hold_w)
            _child(db_url, path, stop, data, say_w, hold_r)
        except BaseException:  # noqa: BLE001 - reported through the exit status
            code = 70
        os._exit(code)
    os.close(say_w)
    os.close(hold_r)
    seen: list[str] = []
    with os.fdopen(say_r) as lines:
        for line in lines:
            seen.append(line.strip())
            if seen[-1] == "STOPPED":
                os.kill(pid, signal.SIGKILL)
                break
    _, status = os.waitpid(pid, 0)
    os.close(hold_w)
    assert seen[-1:] == ["STOPPED"], (seen, status)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return seen


def _stored(db) -> tuple[list[tuple[str, str]], int]:
    """(customer, entity) of the open matches, and the re-screen jobs still pending."""
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(screening_matches.c.customer_id, screening_matches.c.entity_id).where(
                screening_matches.c.status == "open"
            )
        ).all()
        pending = conn.execute(
            sa.select(sa.func.count())
            .select_from(rescreen_jobs)
            .where(rescreen_jobs.c.finished_at.is_(None))
        ).scalar_one()
    return sorted((c, e) for c, e in rows), int(pending)


EXPECTED = sorted((f"L{n}", f"x-{n + 1}") for n in range(len(LISTED)))


@pytest.mark.parametrize(
    "stop",
    ["entities", "loaded", "rescreen customer", "rescreen stored"],
    ids=["mid-load", "after-commit", "mid-rescreen", "after-store"],
)
def test_kill_at_any_point_loses_no_match(db_url, tmp_path, stop):
    db = open_database(db_url)
    _plant(db)
    listed = _write_list(tmp_path / "crash.ftm.json", sorted(LISTED))
    db.dispose()  # no connection of this process crosses the fork
    seen = _kill_at(db_url, listed, stop, tmp_path / "data")
    assert stop in seen

    # The next start: a fresh context over the same database.
    ctx = Context(Settings(db=db_url, data_dir=tmp_path / "data"))
    status = lists.status(ctx, resume=True)
    if stop == "entities":
        # Killed inside the load's transaction: nothing of it was committed …
        assert status.sources == {} and _stored(ctx.db) == ([], 0)
        # … and the retried load stores every match.
        lists.load(ctx, lists.LoadRequest(paths=(listed,), source="crash_list"))
    matches, pending = _stored(ctx.db)
    assert matches == EXPECTED  # every planted listed customer, once; no unlisted one
    assert pending == 0
    # Another start finds nothing left to do and stores nothing twice.
    assert lists.resume_rescreens(ctx) == []
    assert _stored(ctx.db) == (EXPECTED, 0)
    ctx.db.dispose()


def test_an_unfinished_job_runs_at_the_next_load(db_url, tmp_path):
    """Killed after the first load committed; the next load (of a newer list without one of
    the persons) runs both re-screens: the matches of the first list are not shadowed."""
    db = open_database(db_url)
    _plant(db)
    first = _write_list(tmp_path / "v1.ftm.json", ["x-1", "x-2", "x-3"])
    db.dispose()
    _kill_at(db_url, first, "loaded", tmp_path / "data")
    ctx = Context(Settings(db=db_url, data_dir=tmp_path / "data"))
    second = _write_list(tmp_path / "v2.ftm.json", ["x-1", "x-2", "x-4", "x-5"])
    lists.load(ctx, lists.LoadRequest(paths=(second,), source="crash_list"))
    matches, pending = _stored(ctx.db)
    assert matches == [("L0", "x-1"), ("L1", "x-2"), ("L3", "x-4"), ("L4", "x-5")]
    assert pending == 0
    ctx.db.dispose()
