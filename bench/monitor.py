"""Benchmark of monitoring (issue 12). Each section writes its figures into
``bench/results/monitor.json``, merged with what is there (running one section keeps the
other's figures):

* ``latency`` (``bench/monitor_latency.py``) — ``POST /v1/decide/withdrawal`` over a real server
  on 127.0.0.1, p50/p99 at concurrency 1 and 16, SQLite and PostgreSQL; target p99 ≤ 50 ms at
  concurrency 16 on PostgreSQL, no errors.
* ``backtest`` — events per second of the columnar backtest (see its section).

Run: ``python bench/monitor.py [--small] [--section latency|backtest]``; ``--small`` is for
development.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _report import RESULTS, finish  # type: ignore[import-not-found]  # noqa: E402
from monitor_latency import latency  # type: ignore[import-not-found]  # noqa: E402

# =============================================================================================
# backtest: events per second of the columnar backtest of the windowed typologies (5
# pass_through, 6 structuring, 9 jurisdiction_mismatch) over a generated event export of 10
# million events and 1 million customers (``--small``: 1 million and 100,000): the findings of
# each rule and the distinct alerts they raise (what ``rules backtest`` compares), prepared
# once for the three rules. Target ≥ 500,000 events/s on one core. Then the ratio to the
# real-time path: a 1,000-customer history (tests/monitor_history.py) stored in SQLite,
# evaluated event by event through the rules' ``evaluate``, and checked equal to the columnar
# findings. ``--repeat N``: N timed runs, the best reported (all listed).
# =============================================================================================

BACKTEST_TARGET = 500_000
REPEAT = 1


def _history(events: int, customers: int, seed: int = 12) -> Any:
    """A generated event export (``EXPORT_SCHEMA``), numpy throughout: customer records (30%
    updated later), logins from mostly Japanese IPs, deposits in BTC and ETH with withdrawals
    forwarding them within 0-49 hours, and bursts of small BTC, ETH and JPY withdrawals; times
    on an hourly or daily grid over a year so that window boundaries and ties are hit."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    horizon = 365 * 1440
    start_us = 1_740_787_200_000_000  # 2025-03-01T00:00Z

    def strings(values: list[str | None], n: int) -> pa.Array:
        index = rng.integers(0, len(values), n)
        nulls = np.array([v is None for v in values])[index]
        dictionary = pa.array([v or "" for v in values])
        encoded = pa.DictionaryArray.from_arrays(
            pa.array(index.astype(np.int32), mask=nulls), dictionary
        )
        return encoded.cast(pa.string())

    def coins(codes: np.ndarray) -> pa.Array:
        names = pa.array(["BTC", "ETH"])
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), names).cast(
            pa.string()
        )

    parts: list[pa.Table] = []

    def part(kind: str, cust: np.ndarray, minutes: np.ndarray, **columns: pa.Array) -> None:
        n = len(cust)
        none = pa.nulls(n, pa.string())
        parts.append(
            pa.table(
                {
                    "type": pa.array([kind] * n, pa.string()),
                    "time": pa.array(minutes.astype(np.int64) * 60_000_000 + start_us),
                    "cust": pa.array(cust.astype(np.int64)),
                    **{
                        name: columns.get(name, none)
                        for name in (
                            "asset",
                            "amount",
                            "ip_country",
                            "declared",
                            "record_countries",
                        )
                    },
                }
            )
        )

    updated = np.flatnonzero(rng.random(customers) < 0.3)
    records = customers + len(updated)
    rest = max(events - records, 0)
    logins, deposits, forwards = int(rest * 0.3), int(rest * 0.15), int(rest * 0.25)
    small = rest - logins - deposits - forwards
    part(
        "customer",
        np.concatenate([np.arange(customers), updated]),
        np.concatenate(
            [
                rng.integers(0, 600, customers) // 30 * 30,
                rng.integers(600, horizon, len(updated)) // 60 * 60,
            ]
        ),
        declared=strings(["JP", "JP", "JP", "SG", "RU", "BY", None], records),
        record_countries=strings(["JP"] * 16 + ["JP,KP", "RU", "JP,RU", None, None, None], records),
    )
    part(
        "login",
        rng.integers(0, customers, logins),
        rng.integers(600, horizon, logins) // 60 * 60,
        ip_country=strings(["JP"] * 16 + ["US", "US", "RU", "KP", "IR", None], logins),
    )
    who = rng.integers(0, customers, deposits)
    when = rng.integers(600, horizon, deposits) // 60 * 60
    coin = (rng.random(deposits) < 1 / 3).astype(np.int64)
    part(
        "deposit",
        who,
        when,
        asset=coins(coin),
        amount=strings(["1", "0.5", "2.25", "0.1", "10", "0"], deposits),
    )
    source = rng.integers(0, deposits, forwards)
    part(
        "withdrawal",
        who[source],
        when[source] + rng.choice(np.array([0, 60, 600, 1440, 2880, 2940]), forwards),
        asset=coins(coin[source]),
        amount=strings(["0.4", "0.3", "0.8", "0.05", "1.8", "0.2"], forwards),
    )
    bursts = max(small * 2 // 3, 1)
    b_who = rng.integers(0, customers, bursts)
    b_day = rng.integers(600, horizon, bursts) // 1440 * 1440
    b_asset = rng.integers(0, 3, bursts)  # BTC, ETH, JPY
    pick = rng.integers(0, bursts, small)
    minutes = b_day[pick] + rng.integers(0, 4, small) * rng.choice(
        np.array([60, 1440, 4320]), small
    )
    crypto = np.flatnonzero(b_asset[pick] < 2)
    fiat = np.flatnonzero(b_asset[pick] == 2)
    part(
        "withdrawal",
        b_who[pick][crypto],
        minutes[crypto],
        asset=coins(b_asset[pick][crypto]),
        amount=strings(["0.4", "0.99", "1", "3.5", "9.99", "0.35"], len(crypto)),
    )
    part(
        "fiat_out",
        b_who[pick][fiat],
        minutes[fiat],
        asset=pa.array(["JPY"] * len(fiat), pa.string()),
        amount=strings(["400000", "999999", "1000000", "250000.5"], len(fiat)),
    )
    table = pa.concat_tables(parts).combine_chunks()
    table = table.take(pa.array(np.argsort(table["time"].to_numpy(), kind="stable")))
    n = table.num_rows
    seq = pa.array(np.arange(n, dtype=np.int64))
    return pa.table(
        {
            "seq": seq,
            "event_id": pc.binary_join_element_wise("e", pc.cast(seq, pa.string()), ""),
            "type": table["type"],
            "time": table["time"].cast(pa.timestamp("us", tz="UTC")),
            "customer_id": pc.binary_join_element_wise(
                "c", pc.cast(table["cust"], pa.string()), ""
            ),
            "asset": table["asset"],
            "amount": table["amount"],
            "address": pa.nulls(n, pa.string()),
            "ip_country": table["ip_country"],
            "declared": table["declared"],
            "record_countries": table["record_countries"],
        }
    )


def _windowed_rules(configs: Any) -> list[Any]:
    from sanctrace.monitor.rules.jurisdiction_mismatch import JurisdictionMismatch
    from sanctrace.monitor.rules.pass_through import PassThrough
    from sanctrace.monitor.rules.structuring import Structuring

    classes = {
        "pass_through": PassThrough,
        "structuring": Structuring,
        "jurisdiction_mismatch": JurisdictionMismatch,
    }
    return [classes[c.id](c) for c in configs]


def _columnar(table: Any, rules: list[Any]) -> dict[str, tuple[int, int]]:
    """What the backtest computes per windowed rule: findings, and distinct alerts."""
    import pyarrow.compute as pc

    from sanctrace.monitor.windowed import windowed_findings

    _, found = windowed_findings(table, rules)
    return {f.rule: (len(f), len(pc.unique(f.keys()))) for f in found}


def backtest(small: bool) -> dict:
    import tempfile
    import time

    sys.path.insert(0, str(ROOT / "tests"))
    from monitor_history import StoredFacts, configs, generate, row_of, store  # type: ignore[import-not-found]
    from monitor_history import ip_country as pool_country
    from sanctrace.monitor.backtest import export_rows
    from sanctrace.monitor.events import parse_event
    from sanctrace.monitor.windowed import evaluate_windowed
    from sanctrace.store import monitoring as repo
    from sanctrace.store import open_database

    events, customers = (1_000_000, 100_000) if small else (10_000_000, 1_000_000)
    rules = _windowed_rules(configs())
    started = time.perf_counter()
    table = _history(events, customers)
    generated = time.perf_counter() - started
    runs = []
    for _ in range(max(REPEAT, 1)):
        started = time.perf_counter()
        counts = _columnar(table, rules)
        runs.append(time.perf_counter() - started)
    best = min(runs)
    del table

    # The real-time path on a sample, and the columnar one on the same sample.
    history = generate(seed=7, customers=1000, days=40)
    located = lambda ip: found.country if (found := pool_country(ip)) else None  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'sample.db'}")
        store(db, history)
        facts = StoredFacts(db)
        with db.connect() as conn:
            rows = repo.event_rows(conn)
        started = time.perf_counter()
        expected = set()
        for r in rows:
            event = parse_event(r.payload, r.event_id)
            for rule in rules:
                if rule.applies(event):
                    for f in rule.evaluate(event, facts):
                        expected.add((f.rule, event.event_id, f.subject, f.evidence_key))
        realtime = time.perf_counter() - started
        db.dispose()
    sample = export_rows([row_of(i, e) for i, e in enumerate(history)], located)
    started = time.perf_counter()
    got = {
        (h.rule, h.event_id, h.subject, h.evidence_key) for h in evaluate_windowed(sample, rules)
    }
    sample_columnar = time.perf_counter() - started
    realtime_eps = len(rows) / realtime
    return {
        "events": events,
        "customers": customers,
        "generate_seconds": generated,
        "columnar_seconds": best,
        "columnar_runs_seconds": runs,
        "columnar_events_per_second": events / best,
        "target_events_per_second": BACKTEST_TARGET,
        "meets_target": events / best >= BACKTEST_TARGET,
        "findings": {rule: hits for rule, (hits, _) in counts.items()},
        "alerts": {rule: alerts for rule, (_, alerts) in counts.items()},
        "realtime_sample_customers": 1000,
        "realtime_sample_events": len(rows),
        "realtime_seconds": realtime,
        "realtime_events_per_second": realtime_eps,
        "columnar_over_realtime": (events / best) / realtime_eps,
        "sample_columnar_seconds": sample_columnar,
        "sample_equal": got == expected,
        "sample_findings": len(expected),
    }


SECTIONS: dict[str, Callable[[bool], dict]] = {"latency": latency, "backtest": backtest}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a quick run for development")
    parser.add_argument(
        "--section", action="append", choices=sorted(SECTIONS), help="run only these sections"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="backtest: timed runs (the best is reported)"
    )
    args = parser.parse_args(argv)
    global REPEAT
    REPEAT = args.repeat
    path = RESULTS / "monitor.json"
    results: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    results.pop("max_rss_mb", None)
    for name in args.section or sorted(SECTIONS):
        results[name] = SECTIONS[name](args.small)
        results[name]["small"] = args.small
    finish("monitor", results)


if __name__ == "__main__":
    main()
