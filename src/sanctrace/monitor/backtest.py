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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from sanctrace.errors import BadRequest
from sanctrace.monitor.events import EVENT_TYPES, parse_event
from sanctrace.monitor.rules.base import Facts, Finding, Rule, evidence_key
from sanctrace.monitor.windowed import (
    EXPORT_SCHEMA,
    WINDOWED,
    Findings,
    Prepared,
    windowed_findings,
)
from sanctrace.services.context import Context
from sanctrace.store.monitoring import utc
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
        query = query.where(events_table.c.time <= utc(until))
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


def _since(found: Findings, since: datetime | None) -> Findings:
    if since is None:
        return found
    floor = (since - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return found.take(np.flatnonzero(found.times >= floor))


# A rule's findings: objects (per-event rules) or arrays (the windowed ones).
_Result = list[_Found] | Findings


def _evaluate(
    rules: Sequence[Rule],
    export: pa.Table,
    stored: list[Any],
    facts: Facts,
    since: datetime | None,
    cache: dict[Any, _Result],
    seconds: dict[str, float],
) -> dict[str, _Result]:
    found: dict[str, _Result] = {}
    for rule in rules:
        key = _rule_key(rule)
        if key not in cache:
            started = clock.perf_counter()
            if not rule.config.enabled:
                cache[key] = []
            elif rule.id in WINDOWED:
                # The export is prepared (encoded, sorted, amounts scaled) once for all rules.
                prepared = cache.get("prepared")
                ready, (hits,) = windowed_findings(
                    prepared if isinstance(prepared, Prepared) else export, [rule]
                )
                cache["prepared"] = ready  # type: ignore[assignment]
                cache[key] = _since(hits, since)
            else:
                cache[key] = _per_event(rule, stored, facts, since)
            seconds[rule.id] = seconds.get(rule.id, 0.0) + clock.perf_counter() - started
        found[rule.id] = cache[key]
    return found


def _keys(found: _Result) -> pa.Array:
    return found.keys() if isinstance(found, Findings) else pa.array([], pa.string())


def _columnar_changes(found: Findings, keys: pa.Array, wanted: pa.Array) -> list[Change]:
    """Changes for the ``wanted`` alert keys, each from the last finding with that key (as
    ``{key: finding}`` over the findings would keep)."""
    if len(wanted) == 0:
        return []
    backwards = keys.take(pa.array(np.arange(len(keys) - 1, -1, -1, dtype=np.int64)))
    at = len(keys) - 1 - _np_int(pc.index_in(wanted, value_set=backwards))
    sub = found.take(at)
    return [
        Change(
            found.rule,
            cid,
            evidence_key(*parts),
            cid,
            eid,
            when.isoformat(),
            None,
        )
        for cid, eid, when, parts in zip(
            sub.customer_id.to_pylist(),
            sub.event_id.to_pylist(),
            sub.time.to_pylist(),
            sub.key_parts(),
            strict=True,
        )
    ]


def _np_int(values: pa.Array) -> np.ndarray:
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)


def _compare(mine: _Result, theirs: _Result) -> tuple[int, int, list[Change], list[Change]]:
    """Distinct alerts of each side, and the alerts that appear and disappear."""
    if isinstance(mine, list) and isinstance(theirs, list):
        mine_keys = {f.key: f for f in mine}
        their_keys = {f.key: f for f in theirs}
        appear = [_change(f) for k, f in mine_keys.items() if k not in their_keys]
        vanish = [_change(f) for k, f in their_keys.items() if k not in mine_keys]
        return len(mine_keys), len(their_keys), appear, vanish
    # The windowed rules: alert keys compared as arrays, objects only for the changes.
    keys, other = _keys(mine), _keys(theirs)
    distinct, other_distinct = pc.unique(keys), pc.unique(other)
    new_keys = distinct.filter(pc.invert(pc.is_in(distinct, value_set=other_distinct)))
    gone_keys = other_distinct.filter(pc.invert(pc.is_in(other_distinct, value_set=distinct)))
    appear = _columnar_changes(mine, keys, new_keys) if isinstance(mine, Findings) else []
    vanish = _columnar_changes(theirs, other, gone_keys) if isinstance(theirs, Findings) else []
    return len(distinct), len(other_distinct), appear, vanish


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
    cache: dict[Any, _Result] = {}
    new_found = _evaluate(list(candidate.rules), export, replay, facts, since, cache, seconds)
    old_found = _evaluate(list(in_force.rules), export, replay, facts, since, cache, seconds)

    counts: list[RuleCount] = []
    new: list[Change] = []
    gone: list[Change] = []
    for rule_id in sorted(set(new_found) | set(old_found)):
        mine = new_found.get(rule_id, [])
        theirs = old_found.get(rule_id, [])
        alerts, their_alerts, appear, vanish = _compare(mine, theirs)
        new += appear
        gone += vanish
        counts.append(
            RuleCount(
                rule_id,
                len(mine),
                alerts,
                len(theirs),
                their_alerts,
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
