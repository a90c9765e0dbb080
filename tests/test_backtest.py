"""The columnar backtest of the windowed typologies equals their real-time path: a generated
history stored in a real database (SQLite, and PostgreSQL when configured), evaluated event by
event through the rules' ``evaluate`` against the stored history, and in bulk over the event
export. Then ``backtest()`` itself over a rules file, and exact amounts past int64."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from monitor_history import (
    StoredFacts,
    configs,
    generate,
    row_of,
    store,
)
from monitor_history import (
    ip_country as pool_country,
)
from sanctrace.monitor.backtest import export_events, export_rows
from sanctrace.monitor.events import parse_event
from sanctrace.monitor.rules.jurisdiction_mismatch import JurisdictionMismatch
from sanctrace.monitor.rules.pass_through import PassThrough
from sanctrace.monitor.rules.structuring import Structuring
from sanctrace.monitor.windowed import evaluate_windowed
from sanctrace.services.context import Context
from sanctrace.settings import Settings
from sanctrace.store import monitoring as repo
from sanctrace.store import open_database

CLASSES = {
    "pass_through": PassThrough,
    "structuring": Structuring,
    "jurisdiction_mismatch": JurisdictionMismatch,
}


def rules(overrides=None):
    return [CLASSES[c.id](c) for c in configs(overrides)]


def located(ip: str) -> str | None:
    found = pool_country(ip)
    return found.country if found else None


def realtime(db, rule_objects) -> set[tuple[str, str, str, str]]:
    """Every stored event, in stored order, through every rule's real-time ``evaluate``."""
    facts = StoredFacts(db)
    with db.connect() as conn:
        rows = repo.event_rows(conn)
    found = set()
    for r in rows:
        event = parse_event(r.payload, r.event_id)
        for rule in rule_objects:
            if rule.applies(event):
                for f in rule.evaluate(event, facts):
                    found.add((f.rule, event.event_id, f.subject, f.evidence_key))
    return found


def columnar(table, rule_objects) -> set[tuple[str, str, str, str]]:
    return {
        (h.rule, h.event_id, h.subject, h.evidence_key)
        for h in evaluate_windowed(table, rule_objects)
    }


@pytest.fixture
def stored(db_url, tmp_path):
    db = open_database(db_url)
    store(db, generate(seed=7, customers=50, days=30))
    yield db
    db.dispose()


def test_columnar_equals_realtime(stored, tmp_path):
    ctx = Context(Settings(db=stored.url, data_dir=tmp_path), db=stored)
    table = export_events(ctx, ip_country=located)
    objects = rules()
    expected = realtime(stored, objects)
    got = columnar(table, objects)
    by_rule = Counter(r for r, *_ in expected)
    # The history exercises every typology, and most events do not fire.
    assert all(by_rule[r] >= 5 for r in CLASSES), by_rule
    assert len(expected) < table.num_rows / 2
    assert got == expected


def test_columnar_equals_realtime_other_parameters(stored, tmp_path):
    ctx = Context(Settings(db=stored.url, data_dir=tmp_path), db=stored)
    table = export_events(ctx, ip_country=located)
    objects = rules(
        {
            "pass_through": {"window_hours": 1.5, "min_fraction": "0.5"},
            "structuring": {"window_days": 2, "min_count": 2, "thresholds": {"btc": "0.9"}},
            "jurisdiction_mismatch": {"window_days": 3, "high_risk": ["BY"]},
        }
    )
    assert columnar(table, objects) == realtime(stored, objects)


def test_exact_amounts_beyond_int64(db_url, tmp_path):
    """18-decimal amounts whose sums pass int64 at that scale: still exact, both paths."""
    base = generate(seed=1, customers=1, days=2)[0]
    t = base.time + timedelta(hours=1)
    raw = [
        {"type": "deposit", "amount": "12345678.000000000000000001", "txid": "aa" * 32},
        {"type": "withdrawal", "amount": "9876542.400000000000000000"},
        {"type": "withdrawal", "amount": "0.000000000000000001"},  # crosses 80% exactly
        {"type": "withdrawal", "amount": "4.999999999999999999"},
        {"type": "withdrawal", "amount": "4.999999999999999999"},
        {"type": "withdrawal", "amount": "4.999999999999999999"},
    ]
    events = [base]
    for i, r in enumerate(raw):
        fields = {"chain": "eth", "asset": "ETH", "address": f"a{i}"}
        if r["type"] == "deposit":
            fields |= {"output_index": 0}
        events.append(
            parse_event(
                {
                    "event_id": f"x{i}",
                    "time": (t + timedelta(minutes=i)).isoformat(),
                    "customer_id": base.customer_id,
                    **fields,
                    **r,
                }
            )
        )
    db = open_database(db_url)
    store(db, events)
    table = export_rows([row_of(i, e) for i, e in enumerate(events)], located)
    objects = rules({"structuring": {"thresholds": {"ETH": "10"}}})
    got = columnar(table, objects)
    assert got == realtime(db, objects)
    assert {(r, e) for r, e, *_ in got} == {
        ("pass_through", "x2"),
        ("structuring", "x5"),
    }
    db.dispose()
