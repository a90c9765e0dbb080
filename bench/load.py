"""Load benchmark of the API (issue 16): ``POST /v1/screen/name`` and ``/v1/screen/address`` over
``sanctrace serve`` on 127.0.0.1, with ``--workers 2`` and single-process, on PostgreSQL.

Setup: OFAC SDN (2024-05-03) and the UN consolidated list loaded from the reference data
(``SANCTRACE_SHARED_DATA``, default ``../shared/data``) once, into a private schema of
``SANCTRACE_BENCH_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``), dropped after.
Then per server run (``serve --workers N`` in a subprocess, waited for on ``/v1/ready``; the
runs share the database and data folder, so a later run may open the index an earlier built):

* ``first_request_ms`` — the first name screening after the server says it is ready;
* ``names_c32`` / ``addresses_c32`` — a fixed number of requests at concurrency 32 (httpx,
  threads): req/s, p50/p99, errors. Names: half UN-listed persons as perturbed in the reference
  set, half generated persons on no list. Addresses: half OFAC-listed, half random EVM ones;
* ``after_list_load`` — a list loaded by ``sanctrace lists load`` while the server runs: the
  first name request's latency after the load, and how long until answers name the new snapshot.

The load is bounded: a fixed number of requests, each phase also stopped by a deadline; the
client only talks to 127.0.0.1. Targets (2 workers): names ≥ 500 req/s with p99 ≤ 100 ms,
addresses ≥ 2,000 req/s, 0 errors; the first request after start and after a load as fast as
any other. The client shares the machine's cores with the server and the database.

Run: ``python bench/load.py [--small] [--workers 2,1]``; results in ``bench/results/load.json``.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import os
import random
import secrets
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
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _report import finish  # type: ignore[import-not-found]  # noqa: E402

DATA = Path(os.environ.get("SANCTRACE_SHARED_DATA", ROOT.parent / "shared" / "data"))
OFAC = DATA / "lists" / "ofac" / "2024-05-03" / "sdn.csv.gz"
UN = DATA / "lists" / "un" / "UN_consolidated_2026-02-27.xml"
# Loaded while serving, one per server run: (source, path).
EXTRA_LISTS = (
    ("us_ofac_cons", DATA / "lists" / "ofac" / "consolidated"),
    ("bench_meti_russia", DATA / "lists" / "jp" / "meti_russia_2025-09-12.txt"),
)
POSITIVES = DATA / "matching" / "un_persons_positives_perturbed.csv"
NEGATIVES = DATA / "matching" / "negatives_global.csv"
LISTED_ADDRESSES = DATA / "addresses" / "ofac_address_entity_2024.csv"
PG_URL = os.environ.get("SANCTRACE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
HOST = "127.0.0.1"  # loopback only
CONCURRENCY = 32
PHASE_DEADLINE_S = 30.0  # no phase sends requests for longer than this
TARGETS = {"names_rps": 500.0, "names_p99_ms": 100.0, "addresses_rps": 2000.0}


# ------------------------------------------------------------------------------------ setup


@contextmanager
def _schema() -> Iterator[str]:
    """A private schema on PostgreSQL, dropped afterwards (the tests' trick)."""
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _setup(url: str, data_dir: Path) -> dict[str, Any]:
    """Load OFAC 2024 and UN; an API key; the seconds it took."""
    from sanctrace.cases import users
    from sanctrace.cases.auth import KEY_SCOPES
    from sanctrace.services import lists
    from sanctrace.services.context import Context
    from sanctrace.settings import load_settings

    ctx = Context(load_settings(db=url, data_dir=data_dir))
    started = time.perf_counter()
    lists.load(ctx, lists.LoadRequest(paths=(OFAC,), source="us_ofac_sdn", format="ofac_csv"))
    lists.load(ctx, lists.LoadRequest(paths=(UN,), source="un_sc_sanctions", format="un_xml"))
    seconds = time.perf_counter() - started
    key = users.create_key(ctx, "load-bench", sorted(s.value for s in KEY_SCOPES))
    ctx.db.dispose()
    return {"lists_load_s": seconds, "headers": {"Authorization": f"Bearer {key.token}"}}


def _real_date(text: str) -> bool:
    """A year, or a real ISO date."""
    if len(text) == 4 and text.isdigit():
        return True
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _name_bodies(n: int, rng: random.Random) -> list[dict[str, Any]]:
    def rows(path: Path) -> list[dict[str, str]]:
        with path.open(encoding="utf-8", newline="") as fh:
            return [r for r in csv.DictReader(fh) if r.get("full_name")]

    positives, negatives = rows(POSITIVES), rows(NEGATIVES)
    bodies = []
    for i in range(n):
        row = rng.choice(positives if i % 2 == 0 else negatives)
        body: dict[str, Any] = {"name": row["full_name"], "schema": "Person"}
        if _real_date(row.get("date_of_birth") or ""):
            body["birth_date"] = row["date_of_birth"]  # a few perturbed ones are 1968-13-30
        bodies.append(body)
    return bodies


def _address_bodies(n: int, rng: random.Random) -> list[dict[str, Any]]:
    with LISTED_ADDRESSES.open(encoding="utf-8", newline="") as fh:
        listed = [r["address"] for r in csv.DictReader(fh) if r.get("address")]
    return [
        {"address": rng.choice(listed) if i % 2 == 0 else "0x" + secrets.token_hex(20)}
        for i in range(n)
    ]


# ------------------------------------------------------------------------------------ server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(url: str, data_dir: Path, workers: int) -> Iterator[tuple[str, float]]:
    """``sanctrace serve --workers N`` on a free port of 127.0.0.1; yields its base URL and the
    seconds until ``/v1/ready`` answered 200 (``/v1/health`` where there is no ``/v1/ready``)."""
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "SANCTRACE_DB": url,
        "SANCTRACE_DATA_DIR": str(data_dir),
        "SANCTRACE_RATE_LIMIT": "0",
    }
    cmd = [sys.executable, "-m", "sanctrace", "serve", "--host", HOST, "--port", str(port)]
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [*cmd, "--workers", str(workers)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://{HOST}:{port}"
    started = time.perf_counter()
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise SystemExit(f"the server exited: {log.read()[-2000:]}")
            try:
                ready = httpx.get(f"{base}/v1/ready", timeout=2)
                if ready.status_code == 404:
                    ready = httpx.get(f"{base}/v1/health", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server was not ready within 180 s")
            time.sleep(0.2)
        yield base, time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# ------------------------------------------------------------------------------------ client


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _measure(
    base: str, path: str, bodies: list[dict], concurrency: int, headers: dict[str, str]
) -> dict[str, Any]:
    """POST every body with ``concurrency`` threads (stopping at the phase deadline)."""
    import httpx

    assert base.startswith(f"http://{HOST}:"), "the load generator talks to loopback only"
    latencies: list[float] = []
    errors: dict[str, int] = {}
    hits = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + PHASE_DEADLINE_S
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(base_url=base, timeout=30, limits=limits, headers=headers) as client:

        def one(body: dict) -> None:
            nonlocal hits
            if time.monotonic() > stop_at:
                return
            began = time.perf_counter()
            kind = None
            try:
                resp = client.post(path, json=body)
                if resp.status_code != 200:
                    kind = f"http_{resp.status_code}"
                else:
                    answer = resp.json()
                    found = bool(answer.get("matches") or answer.get("sanctioned"))
            except (httpx.HTTPError, ValueError) as exc:
                kind = type(exc).__name__
            took = time.perf_counter() - began
            with lock:
                latencies.append(took)
                if kind is not None:
                    errors[kind] = errors.get(kind, 0) + 1
                elif found:
                    hits += 1

        began = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, bodies))
        wall = time.perf_counter() - began
    ms = [x * 1000 for x in latencies] or [0.0]
    return {
        "requests": len(latencies),
        "concurrency": concurrency,
        "requests_per_s": len(latencies) / wall,
        "p50_ms": _pct(ms, 0.50),
        "p99_ms": _pct(ms, 0.99),
        "mean_ms": statistics.fmean(ms),
        "max_ms": max(ms),
        "hits": hits,
        "errors": sum(errors.values()),
        "error_kinds": errors,
    }


def _one(base: str, path: str, body: dict, headers: dict[str, str]) -> tuple[float, Any]:
    """One request's latency (ms) and its JSON answer."""
    import httpx

    began = time.perf_counter()
    resp = httpx.post(f"{base}{path}", json=body, headers=headers, timeout=60)
    took = (time.perf_counter() - began) * 1000
    return took, (resp.json() if resp.status_code == 200 else {"status": resp.status_code})


def _after_list_load(
    url: str, data_dir: Path, base: str, headers: dict[str, str], extra: tuple[str, Path]
) -> dict:
    """Load another list with the CLI while the server runs; the next name request's latency
    and the seconds until answers name the new snapshot."""
    source, path = extra
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SANCTRACE_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-m", "sanctrace", "--db", url, "lists", "load", str(path)]
    began = time.perf_counter()
    done = subprocess.run([*cmd, "--source", source], env=env, capture_output=True, text=True)
    load_s = time.perf_counter() - began
    if done.returncode != 0:
        return {"skipped": f"lists load failed: {done.stderr.strip()[-300:]}"}
    body = {"name": "Vladimir Putin", "schema": "Person"}
    first_ms, answer = _one(base, "/v1/screen/name", body, headers)
    began = time.perf_counter()
    latencies = [first_ms]
    while source not in (answer.get("snapshots") or {}):
        if time.perf_counter() - began > 45:
            break
        took, answer = _one(base, "/v1/screen/name", body, headers)
        latencies.append(took)
    return {
        "list_load_s": load_s,
        "first_request_ms": first_ms,
        "new_snapshot_seen_after_s": time.perf_counter() - began,
        "new_snapshot_seen": source in (answer.get("snapshots") or {}),
        "max_request_ms_meanwhile": max(latencies),
    }


# ------------------------------------------------------------------------------------ main


def run(workers_list: list[int], small: bool) -> dict[str, Any]:
    for path in (OFAC, UN, POSITIVES, NEGATIVES, LISTED_ADDRESSES):
        if not path.exists():
            raise SystemExit(f"reference data not found: {path} (set SANCTRACE_SHARED_DATA)")
    with gzip.open(OFAC, "rt", encoding="latin-1") as fh:
        ofac_entries = sum(1 for _ in fh)
    rng = random.Random(16)
    n_names, n_addresses = (800, 2000) if small else (3000, 8000)
    results: dict[str, Any] = {
        "setup": {"ofac_sdn_rows": ofac_entries, "cpu_cores": os.cpu_count()},
        "targets": dict(TARGETS),
    }
    # One schema for every server run (the setup is the slow part); each run loads its own
    # extra list while serving, so each sees a new snapshot.
    with tempfile.TemporaryDirectory() as tmp, _schema() as url:
        data_dir = Path(tmp) / "data"
        print(f"[load] loading OFAC 2024 + UN into {url.split('?')[0]} …", file=sys.stderr)
        setup = _setup(url, data_dir)
        headers = setup.pop("headers")
        results["setup"]["lists_load_s"] = setup["lists_load_s"]
        for run_no, workers in enumerate(workers_list):
            print(f"[load] serve --workers {workers}", file=sys.stderr)
            with _server(url, data_dir, workers) as (base, ready_s):
                first_ms, _ = _one(
                    base, "/v1/screen/name", {"name": "Kim Jong Un", "schema": "Person"}, headers
                )
                figures: dict[str, Any] = {"ready_s": ready_s, "first_request_ms": first_ms}
                warm = _name_bodies(100, rng)
                _measure(base, "/v1/screen/name", warm, CONCURRENCY, headers)
                _measure(base, "/v1/screen/address", _address_bodies(200, rng), 8, headers)
                print(f"[load] names: {n_names} at c{CONCURRENCY}", file=sys.stderr)
                names = _measure(
                    base, "/v1/screen/name", _name_bodies(n_names, rng), CONCURRENCY, headers
                )
                print(f"[load] addresses: {n_addresses} at c{CONCURRENCY}", file=sys.stderr)
                addresses = _measure(
                    base,
                    "/v1/screen/address",
                    _address_bodies(n_addresses, rng),
                    CONCURRENCY,
                    headers,
                )
                figures["names_c32"] = names
                figures["addresses_c32"] = addresses
                print("[load] a list load while serving", file=sys.stderr)
                extra = EXTRA_LISTS[run_no % len(EXTRA_LISTS)]
                figures["after_list_load"] = _after_list_load(url, data_dir, base, headers, extra)
            figures["targets_met"] = {
                "names": names["requests_per_s"] >= TARGETS["names_rps"]
                and names["p99_ms"] <= TARGETS["names_p99_ms"]
                and names["errors"] == 0,
                "addresses": addresses["requests_per_s"] >= TARGETS["addresses_rps"]
                and addresses["errors"] == 0,
            }
            results[f"workers_{workers}"] = figures
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="fewer requests (development)")
    parser.add_argument(
        "--workers", default="2,1", help="comma-separated worker counts (default: 2,1)"
    )
    args = parser.parse_args()
    workers = [int(w) for w in args.workers.split(",") if w.strip()]
    finish("load", run(workers, args.small))


if __name__ == "__main__":
    main()
