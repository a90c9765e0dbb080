"""Benchmark of the analyst console's pages (issue 14): server time per page, measured with
FastAPI's TestClient in process (the request through the whole application: session check,
services, SQL, Jinja2), as a signed-in analyst.

* ``demo`` — ``sanctrace demo`` (10,000 customers) run into a temporary folder, then the pages
  over its database. Target: every page ≤ 300 ms.
* ``large`` — a generated SQLite database with 1,000,000 alerts in 250,000 cases (4 alerts a
  case; 70% closed), 100,000 customers with names, 200,000 decisions over a year (some today),
  2,000 holds and two list snapshots (one stale), written with ``executemany`` straight into
  ``alerts``, ``cases``, ``case_alerts`` … after the migrations. Target: every page ≤ 1 s.

Pages: ``/`` (dashboard), ``/queue`` (default, deep pages, each filter and sort), and the other
console pages when they answer 200 (reported, not judged: they belong to other pages' work).
Each URL: one warm-up, then ``--repeat`` timed requests (default 5); the median and the maximum
are reported, the maximum judged against the target.

Run: ``python bench/console.py [--section demo|large] [--alerts N] [--repeat N]``; ``--alerts``
scales the large database (development: ``--alerts 100000``).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _report import finish  # type: ignore[import-not-found]  # noqa: E402

DEMO_TARGET_MS = 300.0
LARGE_TARGET_MS = 1000.0
OTHER_PAGES = ("/holds", "/lists", "/audit", "/reports", "/screen", "/graph")
RULES = (
    "name_match",
    "sanctioned_address",
    "indirect_exposure",
    "jurisdiction_mismatch",
    "mining_origin",
    "pass_through",
    "sanctioned_jurisdiction_ip",
    "structuring",
)
SEVERITIES = ("critical", "high", "medium", "low")
SOURCES = ("us_ofac_sdn", "un_sc_sanctions")


# --- measuring -------------------------------------------------------------------------------
def _session(url: str) -> tuple[Any, dict[str, str]]:
    """The application over ``url`` and the headers of a signed-in analyst."""
    from sanctrace.api.app import create_app
    from sanctrace.api.auth import CSRF_HEADER, SESSION_COOKIE
    from sanctrace.cases import users
    from sanctrace.services.context import Context
    from sanctrace.settings import Settings

    ctx = Context(Settings(db=url))
    name = f"bench-{random.randrange(1 << 30):x}"
    added = users.add_user(ctx, name, "analyst")
    assert added.password is not None
    token, csrf = users.login(ctx, name, added.password)
    return create_app(ctx), {"Cookie": f"{SESSION_COOKIE}={token}", CSRF_HEADER: csrf}


def _time_pages(
    url: str, paths: list[str], others: tuple[str, ...], repeat: int, target_ms: float
) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    app, headers = _session(url)
    pages: dict[str, Any] = {}
    worst = 0.0
    with TestClient(app) as client:
        for path in [*paths, *others]:
            first = client.get(path, headers=headers)  # warm-up
            if first.status_code != 200:
                if path in others:
                    pages[path] = {"status": first.status_code, "judged": False}
                    continue
                raise RuntimeError(f"GET {path}: {first.status_code} {first.text[:300]}")
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                answer = client.get(path, headers=headers)
                times.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            judged = path not in others
            pages[path] = {
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
                "bytes": len(answer.content),
                "judged": judged,
            }
            if judged:
                worst = max(worst, max(times))
    return {
        "pages": pages,
        "worst_ms": round(worst, 1),
        "target_ms": target_ms,
        "meets_target": worst <= target_ms,
    }


def _queue_paths(cases: int, page_size: int = 50) -> list[str]:
    last = max(1, min(cases, 10_000) // page_size)
    return [
        "/",
        "/queue",
        "/queue?page=2",
        f"/queue?page={max(1, last // 2)}",
        f"/queue?page={last}",
        "/queue?size=200",
        "/queue?sort=severity",
        "/queue?sort=opened_desc&page=3",
        "/queue?sort=updated",
        "/queue?state=all",
        f"/queue?state=all&page={max(1, last)}",
        "/queue?state=closed&sort=opened",
        "/queue?severity=critical",
        "/queue?assignee=-",
        "/queue?assignee=-&severity=high&sort=severity",
        "/queue?overdue=1",
        "/queue?rule=structuring",
        "/queue?rule=mining_origin&state=all",
        f"/queue?source={SOURCES[1]}",
        "/queue?from=2025-01-01&to=2025-06-30&state=all",
    ]


# --- the demo database -----------------------------------------------------------------------
def demo_section(repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "sanctrace", "--db", url, "demo"]
            + ["--folder", f"{tmp}/world", "--report", f"{tmp}/report"],
            capture_output=True,
            text=True,
            cwd=tmp,
            env={**_environ(), "PYTHONPATH": str(ROOT / "src")},
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"sanctrace demo failed: {done.stderr[-2000:]}")
        built = time.perf_counter() - start
        counts = _counts(url)
        timed = _time_pages(url, _queue_paths(counts["cases"]), OTHER_PAGES, repeat, DEMO_TARGET_MS)
        return {"build_s": round(built, 1), **counts, **timed}


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("SANCTRACE_")}


def _counts(url: str) -> dict[str, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = {
            t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one())  # noqa: S608
            for t in ("customers", "alerts", "cases", "decisions", "holds")
        }
    engine.dispose()
    return found


# --- the generated database ------------------------------------------------------------------
def _stamp(moment: datetime) -> str:
    """A UTC instant as SQLAlchemy stores it in SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(url: str, alerts: int, seed: int = 14) -> dict[str, Any]:
    """Fill a migrated database with ``alerts`` alerts, ``alerts // 4`` cases and the rest."""
    from sanctrace.services.context import Context
    from sanctrace.settings import Settings

    rng = random.Random(seed)
    ctx = Context(Settings(db=url))  # migrates
    now = datetime.now(UTC)
    n_cases = max(1, alerts // 4)
    n_customers = max(1, min(100_000, n_cases // 2))
    start = time.perf_counter()
    with ctx.db.begin() as conn:
        run = conn.exec_driver_sql
        # customers and their names
        run(
            "INSERT INTO customers (id, kind, country, nationality, created_at, data) "
            "VALUES (?, 'person', 'JP', 'JP', ?, '{}')",
            [(f"G{i:07d}", _stamp(now)) for i in range(n_customers)],
        )
        family = ("佐藤", "鈴木", "高橋", "田中", "Ivanov", "Petrova", "Smith", "O'Brien")
        given = ("健二", "花子", "Igor", "Anna", "John", "マリア")
        run(
            "INSERT INTO customer_names (customer_id, name, kind, script) VALUES (?, ?, ?, ?)",
            [
                (f"G{i:07d}", f"{rng.choice(family)} {rng.choice(given)}", "legal", "Latn")
                for i in range(n_customers)
            ],
        )
        # cases
        case_rows = []
        case_meta = []
        for cid in range(1, n_cases + 1):
            opened = now - timedelta(minutes=rng.randrange(0, 2 * 365 * 1440))
            severity = rng.choices(SEVERITIES, (5, 25, 50, 20))[0]
            state = rng.choices(
                ("closed", "open", "in_review", "pending_approval", "reopened"), (70, 12, 12, 4, 2)
            )[0]
            assignee = None if state == "open" else rng.choice(("ana", "ben", "chie"))
            due = opened + timedelta(hours={"critical": 24, "high": 72}.get(severity, 168))
            if state != "closed" and rng.random() < 0.7:  # most open work is recent
                opened = now - timedelta(minutes=rng.randrange(0, 20 * 1440))
                due = opened + timedelta(hours=rng.choice((24, 72, 168, 336)))
            customer = f"G{rng.randrange(n_customers):07d}"
            closed = state == "closed"
            case_rows.append(
                (
                    cid,
                    "customer",
                    customer,
                    customer,
                    state,
                    severity,
                    assignee,
                    _stamp(due),
                    "false_positive" if closed else None,
                    "bench" if closed else None,
                    _stamp(opened),
                    _stamp(opened + timedelta(hours=1)),
                    "ana" if closed else None,
                    _stamp(opened + timedelta(hours=1)) if closed else None,
                )
            )
            case_meta.append((cid, customer, severity, closed, opened))
        run(
            "INSERT INTO cases (id, subject_type, subject, customer_id, state, severity, "
            "assignee, due, disposition, reason, opened_at, updated_at, closed_by, closed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            case_rows,
        )
        del case_rows
        # alerts and their cases, in chunks
        aid = 0
        chunk_alerts: list[tuple[Any, ...]] = []
        chunk_links: list[tuple[Any, ...]] = []

        def flush() -> None:
            if not chunk_alerts:
                return
            run(
                "INSERT INTO alerts (id, time, customer_id, rule, severity, action, subject, "
                "summary, summary_ja, evidence, evidence_key, decision_id, event_id, "
                "snapshot_id, count, status, entity_id, suppressed_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                chunk_alerts,
            )
            run(
                "INSERT INTO case_alerts (case_id, alert_id, added_at) VALUES (?, ?, ?)",
                chunk_links,
            )
            chunk_alerts.clear()
            chunk_links.clear()

        per_case = alerts // n_cases
        for cid, customer, severity, closed, opened in case_meta:
            for k in range(per_case):
                aid += 1
                rule = rng.choices(RULES, (40, 15, 15, 8, 2, 8, 7, 5))[0]
                listed = rule in ("name_match", "sanctioned_address")
                entity = f"{rng.choice(SOURCES)}:{rng.randrange(20_000)}" if listed else None
                evidence = json.dumps({"match": {"entity_id": entity, "score": 0.9}})
                when = opened + timedelta(minutes=k)
                chunk_alerts.append(
                    (
                        aid,
                        _stamp(when),
                        customer,
                        rule,
                        severity if k == 0 else rng.choice(SEVERITIES[1:]),
                        "alert",
                        f"subject-{aid}",
                        f"{rule} for {customer}",
                        f"{customer} の {rule}",
                        evidence,
                        f"{aid:064x}"[-64:],
                        None,
                        None,
                        None,
                        1,
                        "closed" if closed else "open",
                        entity,
                        None,
                    )
                )
                chunk_links.append((cid, aid, _stamp(when)))
            if len(chunk_alerts) >= 50_000:
                flush()
        flush()
        # decisions over a year, a few hundred today
        outcomes = ("allow", "hold", "block")
        run(
            "INSERT INTO decisions (decision_id, event_id, kind, customer_id, decided_at, "
            "decision, reasons, inputs, snapshots, rules_version, engine_version) "
            "VALUES (?, ?, 'withdrawal', ?, ?, ?, '[]', '{}', '{}', 'bench', 'bench')",
            [
                (
                    f"d-{i}",
                    f"e-{i}",
                    f"G{rng.randrange(n_customers):07d}",
                    _stamp(now - timedelta(minutes=rng.randrange(0, 365 * 1440) if i % 500 else 5)),
                    rng.choices(outcomes, (90, 8, 2))[0],
                )
                for i in range(200_000)
            ],
        )
        run(
            "INSERT INTO holds (decision_id, event_id, customer_id, kind, asset, amount, "
            "state, created_at, updated_at) VALUES (?, ?, ?, 'withdrawal', 'BTC', '0.5', ?, ?, ?)",
            [
                (
                    f"d-{i}",
                    f"e-{i}",
                    f"G{rng.randrange(n_customers):07d}",
                    rng.choice(("held", "released", "rejected", "release_pending")),
                    _stamp(now - timedelta(hours=i)),
                    _stamp(now - timedelta(hours=i)),
                )
                for i in range(2000)
            ],
        )
        # two sources, one stale
        for sid, (source, age) in enumerate(zip(SOURCES, (2, 24 * 10), strict=True), start=1):
            run(
                "INSERT INTO snapshots (id, source, format, sha256, files, loaded_at, "
                "entity_count, name_count, address_count, invalid_address_count, stats, "
                "warnings) VALUES (?, ?, 'bench', ?, '[]', ?, 20000, 40000, 0, 0, '{}', ?)",
                (sid, source, f"{sid:064x}", _stamp(now - timedelta(hours=age)), '["bench"]'),
            )
            run(
                "INSERT INTO active_snapshots (source, snapshot_id, activated_at) VALUES (?, ?, ?)",
                (source, sid, _stamp(now - timedelta(hours=age))),
            )
    with ctx.db.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    ctx.db.dispose()
    return {
        "alerts": aid,
        "cases": n_cases,
        "customers": n_customers,
        "generate_s": round(time.perf_counter() - start, 1),
    }


def large_section(alerts: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'large.db'}"
        built = generate(url, alerts)
        timed = _time_pages(url, _queue_paths(built["cases"]), OTHER_PAGES, repeat, LARGE_TARGET_MS)
        return {**built, **timed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=("demo", "large"), action="append")
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sections = args.section or ["demo", "large"]
    results: dict[str, Any] = {}
    if "demo" in sections:
        results["demo"] = demo_section(args.repeat)
    if "large" in sections:
        results["large"] = large_section(args.alerts, args.repeat)
    finish("console", results)


if __name__ == "__main__":
    main()
