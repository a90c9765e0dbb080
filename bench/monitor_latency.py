"""The latency section of ``bench/monitor.py`` (issue 12): ``POST /v1/decide/withdrawal`` over a
real server on 127.0.0.1, p50/p99 at concurrency 1 and 16, on SQLite and PostgreSQL.

Setup: OFAC SDN (2024-05-03 + the 2025-12 aliases) and the UN list loaded from the reference
data (``SANCTRACE_SHARED_DATA``, default ``../shared/data``), the demo exchange's 10,000
customers and their wallets stored, its activity history loaded through the rules, the demo
chain in the chain store and the exposure engine warm (``sanctrace serve`` warms it up, then
warm-up requests). The server is ``sanctrace serve`` in a subprocess; the client is httpx with
threads. ``SANCTRACE_BENCH_WORKERS`` (default 2) is ``sanctrace serve --workers``: the decision is
CPU-bound Python under one GIL, so at concurrency 16 a second process doubles what one core gives
(the figures name the worker count and the machine's cores; the client and the database share
those cores). PostgreSQL: ``SANCTRACE_BENCH_PG`` (default
``postgresql://postgres@127.0.0.1:5432/test``), in a private schema dropped afterwards.
Target: p99 ≤ 50 ms at concurrency 16 on PostgreSQL, no errors.
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

DATA = Path(os.environ.get("SANCTRACE_SHARED_DATA", ROOT.parent / "shared" / "data"))
LISTS = DATA / "lists"
OFAC_FILES = (LISTS / "ofac" / "2024-05-03" / "sdn.csv.gz", LISTS / "ofac" / "2025-12" / "alt.csv")
UN_FILE = LISTS / "un" / "UN_consolidated_2026-02-27.xml"
PG_URL = os.environ.get("SANCTRACE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
WORKERS = int(os.environ.get("SANCTRACE_BENCH_WORKERS", "2"))
TARGET_P99_MS = 50.0

# ---------------------------------------------------------------------------------------------
# =============================================================================================


@contextmanager
def _database(kind: str, tmp: Path) -> Iterator[str | None]:
    """A fresh database URL: a SQLite file, or a private schema on PostgreSQL (dropped after);
    None when PostgreSQL cannot be reached."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL at {PG_URL} not reachable: {exc.orig}", file=sys.stderr)
        admin.dispose()
        yield None
        return
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _setup(url: str, data_dir: Path, customers: int) -> dict[str, Any]:
    """Lists, customers and wallets, the demo chain and its activity history; returns what the
    requests use."""
    from sanctrace.demo.monitoring import load_history
    from sanctrace.demo.world import generate, store_world
    from sanctrace.services import lists as list_service
    from sanctrace.services.context import Context
    from sanctrace.settings import load_settings

    ctx = Context(load_settings(db=url, data_dir=data_dir))
    timings: dict[str, float] = {}
    start = time.perf_counter()
    list_service.load(
        ctx,
        list_service.LoadRequest(paths=OFAC_FILES, source="us_ofac_sdn", format="ofac_csv"),
    )
    list_service.load(
        ctx, list_service.LoadRequest(paths=(UN_FILE,), source="un_sc_sanctions", format="un_xml")
    )
    timings["lists_s"] = time.perf_counter() - start

    start = time.perf_counter()
    world = generate(2022, customers)
    # The demo's own list too, so that the demo chain carries flagged funds (the exposure rules
    # have something to trace) and its listed addresses block.
    from sanctrace.demo.files import write_list

    demo_list = data_dir / "demo-list"
    demo_list.mkdir(parents=True, exist_ok=True)
    write_list(world.entries, demo_list)
    list_service.load(
        ctx, list_service.LoadRequest(paths=(demo_list,), source="demo_sdn", format="ofac_csv")
    )

    with ctx.db.begin() as conn:
        store_world(conn, world)
    timings["customers_s"] = time.perf_counter() - start

    start = time.perf_counter()
    folder = data_dir / "world"
    history = load_history(ctx, world, folder, 2022)
    timings["history_s"] = time.perf_counter() - start
    headers = _key_headers(ctx)
    ctx.db.engine.dispose()

    # Request subjects: whitelisted BTC withdrawal addresses (clean), on-chain addresses, and a
    # few listed exchange addresses (block).
    chain_addresses = sorted(
        {a for row in _chain_rows(folder) for out in row["outputs"] for a in out["addresses"]}
    )
    whitelisted = [
        (w.customer_id, w.address)
        for w in world.wallets
        if w.chain == "btc" and w.purpose == "withdrawal"
    ]
    listed = [a for e in world.entries for asset, a in e.crypto if asset == "XBT"]
    return {
        "customers": [c.id for c in world.customers],
        "whitelisted": whitelisted,
        "chain_addresses": chain_addresses,
        "listed": listed,
        "history_events": history.events,
        "timings": timings,
        "headers": headers,
    }


def _key_headers(ctx: Any) -> dict[str, str]:
    """An API key for the requests, where the API asks for one (``cases.users``)."""
    try:
        from sanctrace.cases import users
        from sanctrace.cases.auth import KEY_SCOPES
    except ImportError:
        return {}
    create = getattr(users, "create_key", None)
    if create is None:
        return {}
    key = create(ctx, "latency-bench", sorted(s.value for s in KEY_SCOPES))
    return {"Authorization": f"Bearer {key.token}"}


def _chain_rows(folder: Path) -> Iterator[dict[str, Any]]:
    with (folder / "chain" / "btc_transactions.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def _requests(subjects: dict[str, Any], n: int, rng: random.Random, tag: str) -> list[dict]:
    """``n`` withdrawal requests: 80% to a customer's whitelisted address, 15% to an address
    with history on the demo chain, 5% to a listed address."""
    out = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.80:
            customer, address = rng.choice(subjects["whitelisted"])
        elif roll < 0.95:
            customer, address = (
                rng.choice(subjects["customers"]),
                rng.choice(subjects["chain_addresses"]),
            )
        else:
            customer, address = rng.choice(subjects["customers"]), rng.choice(subjects["listed"])
        out.append(
            {
                "event_id": f"bench-{tag}-{i}",
                "time": f"2022-04-28T{10 + i % 10:02d}:{i % 60:02d}:{(i // 60) % 60:02d}+00:00",
                "customer_id": customer,
                "chain": "btc",
                "asset": "BTC",
                "amount": f"0.{rng.randint(10, 99)}",
                "address": address,
                "ip": "126.0.0.1",
            }
        )
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(url: str, data_dir: Path, workers: int = 1) -> Iterator[str]:
    """``sanctrace serve --workers N`` in a subprocess on a free port of 127.0.0.1; yields its
    base URL once every worker answers (each warms its engines before it listens)."""
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "SANCTRACE_DB": url,
        "SANCTRACE_DATA_DIR": str(data_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sanctrace", "serve", "--port", str(port)]
        + ["--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start within 120 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _measure(
    base: str, requests: list[dict], concurrency: int, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Send the requests with ``concurrency`` threads; latency per request, errors counted."""
    import httpx

    latencies: list[float] = []
    decisions: dict[str, int] = {}
    errors: dict[str, int] = {}
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(base_url=base, timeout=30, limits=limits, headers=headers) as client:

        def one(body: dict) -> None:
            start = time.perf_counter()
            try:
                resp = client.post("/v1/decide/withdrawal", json=body)
                took = time.perf_counter() - start
                key = resp.json().get("decision") if resp.status_code == 200 else None
            except (httpx.HTTPError, ValueError) as exc:
                took, key, resp = time.perf_counter() - start, None, None
                with lock:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            with lock:
                latencies.append(took)
                if key is not None:
                    decisions[key] = decisions.get(key, 0) + 1
                elif resp is not None:
                    name = f"http_{resp.status_code}"
                    errors[name] = errors.get(name, 0) + 1

        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, requests))
        wall = time.perf_counter() - started
    ms = [x * 1000 for x in latencies]
    return {
        "requests": len(requests),
        "p50_ms": _pct(ms, 0.50),
        "p99_ms": _pct(ms, 0.99),
        "mean_ms": statistics.fmean(ms),
        "max_ms": max(ms),
        "requests_per_s": len(requests) / wall,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "decisions": decisions,
    }


def latency(small: bool = False, databases: tuple[str, ...] = ("sqlite", "postgresql")) -> dict:
    """The latency section (module docstring)."""
    for path in (*OFAC_FILES, UN_FILE):
        if not path.exists():
            raise SystemExit(f"reference data not found: {path} (set SANCTRACE_SHARED_DATA)")
    customers = 1_000 if small else 10_000
    counts = {1: 100 if small else 500, 16: 320 if small else 3_200}
    warm = 20 if small else 100
    section: dict[str, Any] = {
        "customers": customers,
        "target_p99_ms_c16_postgresql": 50.0,
        "workers": WORKERS,
        "cpu_cores": os.cpu_count(),
    }
    for kind in databases:
        with tempfile.TemporaryDirectory() as tmp, _database(kind, Path(tmp)) as url:
            if url is None:
                section[kind] = {"skipped": f"PostgreSQL not reachable at {PG_URL}"}
                continue
            data_dir = Path(tmp) / "data"
            print(f"[latency] {kind}: setting up ({customers} customers) …", file=sys.stderr)
            subjects = _setup(url, data_dir, customers)
            figures: dict[str, Any] = {
                "setup": subjects["timings"],
                "history_events": subjects["history_events"],
            }
            rng = random.Random(12)
            with _server(url, data_dir, WORKERS) as base:
                headers = subjects["headers"]
                _measure(base, _requests(subjects, warm, rng, f"{kind}-warm"), 16, headers)
                for concurrency, n in counts.items():
                    print(
                        f"[latency] {kind}: {n} requests at concurrency {concurrency}",
                        file=sys.stderr,
                    )
                    reqs = _requests(subjects, n, rng, f"{kind}-c{concurrency}")
                    figures[f"c{concurrency}"] = _measure(base, reqs, concurrency, headers)
            section[kind] = figures
    pg = section.get("postgresql", {}).get("c16")
    if isinstance(pg, dict):
        section["target_met"] = pg["p99_ms"] <= TARGET_P99_MS and pg["errors"] == 0
    return section
