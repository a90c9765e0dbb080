"""Backtest a rules file: replay the stored events through it and compare with the rules in force.

``backtest(ctx, rules_path, since, until)`` evaluates every stored event with time in
[``since``, ``until``] under both rule sets, each event against the history stored before it
(events in time order, ties in arrival order), and answers the findings per rule and which
alerts would appear (``new``) or disappear (``gone``) — findings are the same alert when their
(rule, subject, evidence key) are (docs/backtest.md).

The windowed typologies (``pass_through``, ``structuring``, ``jurisdiction_mismatch``) run in
bulk over the event export (``monitor/windowed.py``); the other rules go through their
real-time ``evaluate`` one event at a time with the live facts (lists, chain store, IP
database as in force now). A rule configured the same way in both sets is evaluated once.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from sanctrace.errors import BadRequest
from sanctrace.monitor.events import EVENT_TYPES, parse_event
from sanctrace.monitor.rules.base import Facts, Finding, Rule, evidence_key
from sanctrace.monitor.windowed import EXPORT_SCHEMA, WINDOWED, Hit, evaluate_windowed
from sanctrace.services.context import Context
from sanctrace.store.tables import events as events_table

__all__ = [
    "BacktestAnswer",
    "Change",
    "RuleCount",
    "backtest",
    "day_range",
    "export_events",
    "export_rows",
    "write_export",
]

EXPORT_TYPES = ("customer", "login", "deposit", "withdrawal", "fiat_out")


# ------------------------------------------------------------------------------ export


def export_rows(rows: Iterable[Any], ip_country: Callable[[str], str | None]) -> pa.Table:
    """The event export of ``events`` rows (``type``, ``time``, ``customer_id``, ``event_id``,
    ``asset``, ``amount``, ``address``, ``payload``) in stored order; ``seq`` numbers them.
    Logins get their IP's country; customers their declared country and the countries of
    their phone and documents; fiat the currency as the asset."""
    cols: dict[str, list[Any]] = {name: [] for name in EXPORT_SCHEMA.names}
    ips: dict[str, str | None] = {}
    for seq, r in enumerate(rows):
        payload = r.payload or {}
        asset = r.asset or (payload.get("currency") if r.type.startswith("fiat") else None)
        declared = countries = located = None
        if r.type == "login":
            ip = str(payload.get("ip"))
            if ip not in ips:
                ips[ip] = ip_country(ip)
            located = ips[ip]
        elif r.type == "customer":
            declared = payload.get("residence") or payload.get("address_country")
            found = [payload.get("phone_country")] + [
                d.get("country") for d in payload.get("id_documents") or []
            ]
            countries = ",".join(sorted({c for c in found if c})) or None
        when = r.time if r.time.tzinfo else r.time.replace(tzinfo=UTC)
        for name, value in (
            ("seq", seq),
            ("event_id", r.event_id),
            ("type", r.type),
            ("time", when),
            ("customer_id", r.customer_id),
            ("asset", asset.upper() if asset else None),
            ("amount", r.amount),
            ("address", r.address),
            ("ip_country", located),
            ("declared", declared),
            ("record_countries", countries),
        ):
            cols[name].append(value)
    return pa.table(cols, schema=EXPORT_SCHEMA)


def _stored(
    conn: sa.Connection, until: datetime | None, types: Sequence[str] = EXPORT_TYPES
) -> list[Any]:
    query = sa.select(events_table).where(events_table.c.type.in_(list(types)))
    if until is not None:
        query = query.where(events_table.c.time <= until)
    return list(conn.execute(query.order_by(events_table.c.time, events_table.c.id)))


def export_events(
    ctx: Context, until: datetime | None = None, *, ip_country: Callable[[str], str | None]
) -> pa.Table:
    """The stored events up to ``until`` as the event export (``EXPORT_SCHEMA``)."""
    with ctx.db.connect() as conn:
        return export_rows(_stored(conn, until), ip_country)


def write_export(table: pa.Table, path: Path) -> Path:
    """The export as one Parquet file (what ``sanctrace.spark.backtest`` reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


# ------------------------------------------------------------------------------ answer


@dataclass(frozen=True)
class RuleCount:
    """One rule's findings under the candidate rules and under the rules in force."""

    rule: str
    hits: int  # findings (one per event it fired on)
    alerts: int  # distinct (subject, evidence key): the alerts they would raise
    in_force_hits: int
    in_force_alerts: int
    new: int
    gone: int
    columnar: bool


@dataclass(frozen=True)
class Change:
    """An alert that would appear (new) or disappear (gone)."""

    rule: str
    subject: str
    evidence_key: str
    customer_id: str | None
    event_id: str
    time: str
    summary: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class BacktestAnswer:
    rules_file: str
    rules_version: str
    in_force_version: str
    since: str | None
    until: str | None
    events: int  # events evaluated (time in range)
    rules: list[RuleCount]
    new: list[Change]
    gone: list[Change]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.gone)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules_file": self.rules_file,
            "rules_version": self.rules_version,
            "in_force_version": self.in_force_version,
            "since": self.since,
            "until": self.until,
            "events": self.events,
            "rules": [dict(r.__dict__) for r in self.rules],
            "new": [c.to_dict() for c in self.new],
            "gone": [c.to_dict() for c in self.gone],
            "seconds": dict(self.seconds),
        }


# ------------------------------------------------------------------------------ replay


@dataclass(frozen=True)
class _Found:
    rule: str
    subject: str
    evidence_key: str
    customer_id: str | None
    event_id: str
    time: datetime
    summary: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.subject, self.evidence_key)


def day_range(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """``--from``/``--to`` days (UTC, both included) as a time range."""
    start = datetime.combine(since, time(0), tzinfo=UTC) if since else None
    end = (
        datetime.combine(until + timedelta(days=1), time(0), tzinfo=UTC) - timedelta(microseconds=1)
        if until
        else None
    )
    if start and end and start > end:
        raise BadRequest("--from: after --to")
    return start, end


def _rule_key(rule: Rule) -> Any:
    return (type(rule).__qualname__, rule.id, repr(rule.config))


def _per_event(rule: Rule, stored: list[Any], facts: Facts, since: datetime | None) -> list[_Found]:
    found = []
    for r in stored:
        if since is not None and _aware(r.time) < since:
            continue
        event = parse_event(r.payload, f"event {r.event_id}")
        if not rule.applies(event):
            continue
        try:
            findings = rule.evaluate(event, facts)
        except Exception as exc:  # a rule that fails is a visible error, never a silent pass
            findings = [
                Finding(
                    rule=rule.id,
                    severity="high",
                    action="hold",
                    subject=event.event_id,
                    summary=f"the rule could not be evaluated: {type(exc).__name__}: {exc}",
                    summary_ja=f"ルールを評価できませんでした: {type(exc).__name__}: {exc}",
                    evidence_key=evidence_key(rule.id, event.event_id),
                    error=True,
                )
            ]
        for f in findings:
            found.append(
                _Found(
                    f.rule,
                    f.subject,
                    f.evidence_key,
                    event.customer_id,
                    event.event_id,
                    event.time,
                    f.summary,
                )
            )
    return found


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _from_hits(hits: list[Hit], times: dict[str, datetime]) -> list[_Found]:
    return [
        _Found(
            h.rule, h.subject, h.evidence_key, h.customer_id, h.event_id, times[h.event_id], None
        )
        for h in hits
    ]


def _evaluate(
    rules: Sequence[Rule],
    export: pa.Table,
    stored: list[Any],
    facts: Facts,
    since: datetime | None,
    cache: dict[Any, list[_Found]],
    seconds: dict[str, float],
) -> dict[str, list[_Found]]:
    times = dict(zip(export["event_id"].to_pylist(), export["time"].to_pylist(), strict=True))
    found: dict[str, list[_Found]] = {}
    for rule in rules:
        key = _rule_key(rule)
        if key not in cache:
            started = clock.perf_counter()
            if not rule.config.enabled:
                cache[key] = []
            elif rule.id in WINDOWED:
                hits = _from_hits(evaluate_windowed(export, [rule]), times)
                cache[key] = [h for h in hits if since is None or h.time >= since]
            else:
                cache[key] = _per_event(rule, stored, facts, since)
            seconds[rule.id] = seconds.get(rule.id, 0.0) + clock.perf_counter() - started
        found[rule.id] = cache[key]
    return found


def _change(f: _Found) -> Change:
    return Change(
        f.rule, f.subject, f.evidence_key, f.customer_id, f.event_id, f.time.isoformat(), f.summary
    )


def backtest(
    ctx: Context,
    rules_path: Path,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    facts: Facts | None = None,
) -> BacktestAnswer:
    """Replay the stored events of [since, until] through ``rules_path`` and through the rules
    in force; count findings per rule and list the alerts that would appear or disappear."""
    from sanctrace.monitor.rules import RuleSet

    if facts is None:
        from sanctrace.monitor.facts import LiveFacts

        facts = LiveFacts(ctx)
    candidate = RuleSet.load(rules_path)
    in_force = RuleSet.load(ctx.settings.rules)
    started = clock.perf_counter()
    with ctx.db.connect() as conn:
        replay = _stored(conn, until, types=EVENT_TYPES)

    def located(ip: str) -> str | None:
        answer = facts.ip_country(ip)
        return answer.country if answer is not None else None

    export = export_rows((r for r in replay if r.type in EXPORT_TYPES), located)
    seconds = {"export": clock.perf_counter() - started}
    cache: dict[Any, list[_Found]] = {}
    new_found = _evaluate(list(candidate.rules), export, replay, facts, since, cache, seconds)
    old_found = _evaluate(list(in_force.rules), export, replay, facts, since, cache, seconds)

    counts: list[RuleCount] = []
    new: list[Change] = []
    gone: list[Change] = []
    for rule_id in sorted(set(new_found) | set(old_found)):
        mine = new_found.get(rule_id, [])
        theirs = old_found.get(rule_id, [])
        mine_keys = {f.key: f for f in mine}
        their_keys = {f.key: f for f in theirs}
        appear = [f for k, f in mine_keys.items() if k not in their_keys]
        vanish = [f for k, f in their_keys.items() if k not in mine_keys]
        new += [_change(f) for f in appear]
        gone += [_change(f) for f in vanish]
        counts.append(
            RuleCount(
                rule_id,
                len(mine),
                len(mine_keys),
                len(theirs),
                len(their_keys),
                len(appear),
                len(vanish),
                rule_id in WINDOWED,
            )
        )
    evaluated = sum(1 for r in replay if since is None or _aware(r.time) >= since)
    return BacktestAnswer(
        rules_file=str(rules_path),
        rules_version=candidate.version,
        in_force_version=in_force.version,
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        events=evaluated,
        rules=counts,
        new=new,
        gone=gone,
        seconds=seconds,
    )
