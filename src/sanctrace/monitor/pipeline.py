"""The one path every event takes, whichever way it came in (a file, the API, a decision).

``process(ctx, events)``:

1. sorts the events by time (ties keep their order);
2. leaves out events whose ``event_id`` is stored already (or repeated in the batch): those are
   neither stored nor evaluated again (``duplicate``);
3. evaluates each new event, in time order, with the rules in force (``RuleSet``) and the live
   facts (``LiveFacts``); the facts see the batch's earlier events as history, exactly as if
   each had been stored before the next was evaluated;
4. in one transaction: stores the events, applies ``customer`` events (the customer and its
   names, by kind) and ``wallet`` events (a wallet added or removed), stores the decisions asked
   for, and raises an alert for every finding whose action is ``alert``, ``hold`` or ``block``
   and for every rule that could not be evaluated.

A batch is written whole or not at all: a failure leaves nothing of it stored, and sending the
batch again evaluates it again. ``BATCH`` events make one transaction; a caller with more events
(a bulk load) calls ``process`` once per chunk, in time order.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from sanctrace import __version__
from sanctrace.chain.addresses import normalise
from sanctrace.errors import BadRequest
from sanctrace.model import detect_script
from sanctrace.monitor.events import (
    CustomerEvent,
    Event,
    NameIn,
    WalletEvent,
)
from sanctrace.monitor.rules.base import (
    AddressFacts,
    Facts,
    Finding,
    IpCountry,
    decision_of,
    evidence_key,
)
from sanctrace.services._snapshot_cache import pinned, reader
from sanctrace.services.context import Context
from sanctrace.store import customers as customer_repo
from sanctrace.store import monitoring as repo
from sanctrace.store.audit import record as audit_record
from sanctrace.store.holds import create_hold

if TYPE_CHECKING:
    from sanctrace.monitor.rules import RuleSet

__all__ = [
    "ALERT_ACTIONS",
    "BATCH",
    "EventOutcome",
    "ProcessResult",
    "alert_values",
    "customer_record",
    "evaluate_event",
    "finish_decision",
    "event_row",
    "facts_for",
    "process",
    "raises_alert",
    "reason_dict",
    "rules_for",
    "store_decision",
    "warm",
]

BATCH = 1000
ALERT_ACTIONS = frozenset({"alert", "hold", "block"})


@dataclass
class EventOutcome:
    """What became of one event: ``stored``, ``duplicate`` or ``rejected``, its findings and alerts, and the
    decision when one was asked for."""

    event_id: str
    type: str
    status: str  # stored | duplicate | rejected
    findings: list[Finding] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)  # alert ids raised (new or counted)
    decision: dict[str, Any] | None = None
    problem: str | None = None  # why it was rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "status": self.status,
            "findings": [f.to_dict() for f in self.findings],
            "alerts": list(self.alerts),
        }


@dataclass
class ProcessResult:
    """What ``process`` did with a batch, per event in the order given."""

    outcomes: list[EventOutcome] = field(default_factory=list)
    new_alerts: int = 0  # alerts created (not counted on an open one)
    problems: list[str] = field(default_factory=list)  # events rejected, one line each
    rules_version: str = ""

    @property
    def stored(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "stored")

    @property
    def duplicates(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "duplicate")

    @property
    def alerts(self) -> int:
        """Alerts raised (new or counted on an open one)."""
        return sum(len(o.alerts) for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "alerts": self.alerts,
            "new_alerts": self.new_alerts,
            "rules_version": self.rules_version,
            "events": [o.to_dict() for o in self.outcomes],
        }


# --- the rules in force, loaded once per context and reloaded when the file changes ----------

_rulesets: weakref.WeakKeyDictionary[Context, tuple[Any, RuleSet]] = weakref.WeakKeyDictionary()
_rulesets_lock = threading.Lock()


def _file_key(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return (str(path), None)
    return (str(path), stat.st_mtime_ns, stat.st_size)


def rules_for(ctx: Context) -> RuleSet:
    """The context's rules (``settings.rules``, else the packaged defaults), cached until the
    file changes."""
    path = ctx.settings.rules
    key = _file_key(path)
    with _rulesets_lock:
        held = _rulesets.get(ctx)
        if held is not None and held[0] == key:
            return held[1]
    from sanctrace.monitor.rules import RuleSet  # on first use: rules load their data files

    ruleset = RuleSet.load(path)
    with _rulesets_lock:
        _rulesets[ctx] = (key, ruleset)
    return ruleset


_facts: weakref.WeakKeyDictionary[Context, Facts] = weakref.WeakKeyDictionary()


def facts_for(ctx: Context) -> Facts:
    """The context's ``LiveFacts``: one per context, so its screeners and engines are built
    once per process."""
    from sanctrace.monitor.facts import LiveFacts

    with _rulesets_lock:
        facts = _facts.get(ctx)
        if facts is None:
            facts = _facts[ctx] = LiveFacts(ctx)
    return facts


# --- rows ----------------------------------------------------------------------------------


def _canonical(chain: str, address: str) -> str:
    return normalise(chain.lower(), address)


def event_row(event: Event) -> dict[str, Any]:
    """The ``events`` row of an event: payload as JSON, address in its canonical form."""
    row: dict[str, Any] = {
        "event_id": event.event_id,
        "type": event.type,
        "time": event.time,
        "customer_id": event.customer_id,
        "payload": event.model_dump(mode="json"),
    }
    chain = getattr(event, "chain", None)
    row["chain"] = chain.lower() if isinstance(chain, str) else None
    row["asset"] = getattr(event, "asset", None)
    row["amount"] = getattr(event, "amount", None)
    address = getattr(event, "address", None)
    row["address"] = _canonical(chain, address) if chain and address else address
    return row


def _name_kind(customer_kind: str, name: NameIn) -> str:
    """The ``customer_names`` kind screening reads (``services.names.customer_queries``):
    a kana name is the ``reading``, an alias the ``alias``; a person's legal name is ``latin``
    when written in Latin letters, else ``legal`` (read through its reading); a company's
    legal name is ``legal``."""
    if name.kind == "kana":
        return "reading"
    if name.kind == "alias":
        return "alias"
    if customer_kind == "person":
        script = name.script or detect_script(name.text)
        return "latin" if script.lower() == "latin" else "legal"
    return "legal"


def customer_record(event: CustomerEvent) -> dict[str, Any]:
    """The ``store.customers`` record of a ``customer`` event."""
    names: list[tuple[str, str]] = []
    for n in event.names:
        pair = (_name_kind(event.kind, n), n.text)
        if pair not in names:
            names.append(pair)
    return {
        "id": event.customer_id,
        "kind": event.kind,
        "names": names,
        "country": event.residence or event.address_country or event.nationality,
        "birth_date": event.birth_date if event.kind == "person" else None,
        "incorporated": event.birth_date if event.kind == "company" else None,
        "nationality": event.nationality,
        "residence": event.residence,
        "data": {
            "address_country": event.address_country,
            "phone_country": event.phone_country,
            "id_documents": [d.model_dump(mode="json") for d in event.id_documents],
            "event_id": event.event_id,
        },
    }


def _apply(conn: sa.Connection, event: Event) -> None:
    """Customer and wallet events change the stored customers and wallets."""
    if isinstance(event, CustomerEvent):
        customer_repo.save_customer(conn, customer_record(event))
    elif isinstance(event, WalletEvent):
        chain = event.chain.lower()
        address = _canonical(chain, event.address)
        if event.action == "remove":
            customer_repo.remove_wallet(conn, event.customer_id, chain, address)
        else:
            customer_repo.add_wallets(
                conn,
                [
                    {
                        "customer_id": event.customer_id,
                        "chain": chain,
                        "address": address,
                        "purpose": event.purpose,
                    }
                ],
            )


# --- facts that see the batch's earlier events ------------------------------------------------


class _BatchFacts:
    """``LiveFacts`` plus the events of the batch evaluated so far (not yet committed)."""

    def __init__(self, live: Facts) -> None:
        self.live = live
        self.pending: list[Event] = []

    def address(self, chain: str, address: str) -> AddressFacts:
        return self.live.address(chain, address)

    def exposure(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.live.exposure(**kwargs)

    def names(self, names: Sequence[NameIn], **kwargs: Any) -> Any:
        return self.live.names(names, **kwargs)

    def ip_country(self, ip: str) -> IpCountry | None:
        return self.live.ip_country(ip)

    def snapshots(self) -> dict[str, int]:
        return self.live.snapshots()

    def history(
        self,
        customer_id: str,
        *,
        types: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Event]:
        stored = self.live.history(customer_id, types=types, since=since, until=until)
        extra = [
            e
            for e in self.pending
            if e.customer_id == customer_id
            and (not types or e.type in types)
            and (since is None or e.time >= since)
            and (until is None or e.time <= until)
        ]
        if not extra:
            return stored
        seen = {e.event_id for e in stored}
        merged = stored + [e for e in extra if e.event_id not in seen]
        return sorted(merged, key=lambda e: e.time)

    def customer(self, customer_id: str) -> CustomerEvent | None:
        for e in reversed(self.pending):
            if isinstance(e, CustomerEvent) and e.customer_id == customer_id:
                return e
        return self.live.customer(customer_id)


def _orphan_wallets(conn: sa.Connection, events: Sequence[Event]) -> dict[str, str]:
    """Wallet events (in time order) whose customer is neither stored nor created before."""
    created: set[str] = set()
    checked: dict[str, bool] = {}
    problems: dict[str, str] = {}
    for event in events:
        if isinstance(event, CustomerEvent):
            created.add(event.customer_id)
        elif isinstance(event, WalletEvent) and event.customer_id not in created:
            cid = event.customer_id
            if cid not in checked:
                checked[cid] = customer_repo.customer_exists(conn, cid)
            if not checked[cid]:
                problems[event.event_id] = (
                    f"event {event.event_id}: customer_id: {cid!r} is not a known customer; "
                    "send its customer event first"
                )
    return problems


def evaluate_event(ruleset: RuleSet, event: Event, facts: Facts) -> list[Finding]:
    try:
        return list(ruleset.evaluate(event, facts))
    except Exception as exc:  # a rule set that fails is a visible error, never a silent pass
        return [
            Finding(
                rule="rules",
                severity="high",
                action="hold",
                subject=event.event_id,
                summary=f"the rules could not be evaluated: {type(exc).__name__}: {exc}",
                summary_ja=f"ルールを評価できませんでした: {type(exc).__name__}: {exc}",
                evidence={"error": f"{type(exc).__name__}: {exc}"},
                evidence_key=evidence_key("rules", event.event_id),
                error=True,
            )
        ]


def alert_values(finding: Finding, event: Event, decision_id: str | None = None) -> dict[str, Any]:
    """The ``alerts`` row of a finding about ``event``."""
    action = finding.action
    if finding.error and action not in ("hold", "block"):
        action = "hold"
    return {
        "customer_id": event.customer_id,
        "rule": finding.rule,
        "severity": finding.severity,
        "action": action,
        "subject": finding.subject or event.event_id,
        "summary": finding.summary,
        "summary_ja": finding.summary_ja,
        "evidence": finding.evidence,
        "evidence_key": finding.evidence_key
        or evidence_key(finding.rule, finding.subject, event.event_id),
        "decision_id": decision_id,
        "event_id": event.event_id,
        "snapshot_id": None,
    }


def raises_alert(finding: Finding) -> bool:
    return finding.error or finding.action in ALERT_ACTIONS


# --- the pipeline ----------------------------------------------------------------------------


def process(
    ctx: Context,
    events: Iterable[Event],
    *,
    ruleset: RuleSet | None = None,
    decide: Mapping[str, Any] | None = None,
    strict: bool = False,
    checked: bool = False,
) -> ProcessResult:
    """Store, apply, evaluate and alert a batch of events (see the module docstring).

    ``decide`` maps the event ids to decide (deposits and withdrawals) to the request exactly
    as received; their decisions are stored with the batch and returned on their outcome.
    A ``wallet`` event of a customer that is neither stored nor created earlier in the batch
    cannot be applied: it is ``rejected`` (its problem on ``ProcessResult.problems``) and the
    rest stored; with ``strict`` the whole batch is refused (``BadRequest`` listing them).
    ``checked``: the caller found none of the events stored (a decision) and handles the
    ``IntegrityError`` of one stored meanwhile by a concurrent call, so the look-ups of stored
    ids are skipped.
    """
    ruleset = ruleset or rules_for(ctx)
    decide = decide or {}
    given = list(events)
    ordered = sorted(range(len(given)), key=lambda i: given[i].time)
    outcomes: dict[int, EventOutcome] = {}
    result = ProcessResult(rules_version=ruleset.version)
    db = ctx.db

    # One data version for the whole batch (every cache checks it once) and one connection
    # for its reads; the writes are one transaction after.
    with pinned(db):
        known: set[str] = set()
        if not checked:
            with reader(db) as conn:
                known = repo.known_event_ids(conn, [e.event_id for e in given])
        fresh: list[tuple[int, Event]] = []
        for i in ordered:
            event = given[i]
            if event.event_id in known:
                outcomes[i] = EventOutcome(event.event_id, event.type, "duplicate")
                continue
            known.add(event.event_id)
            fresh.append((i, event))

        facts = _BatchFacts(facts_for(ctx))
        evaluated: list[tuple[int, Event, list[Finding]]] = []
        for i, event in fresh:
            facts.pending.append(event)
            evaluated.append((i, event, evaluate_event(ruleset, event, facts)))
        wanted = any(e.event_id in decide for _, e, _ in evaluated)
        snapshots = facts.snapshots() if wanted else {}

    sla = ctx.settings.sla_hours
    with db.begin() as conn:
        rejected = _orphan_wallets(conn, [e for _, e in fresh])
        if rejected and strict:
            raise BadRequest(
                f"{len(rejected)} event(s) refused: {next(iter(rejected.values()))}",
                problems=list(rejected.values()),
            )
        for i, event, _ in evaluated:
            if event.event_id in rejected:
                outcomes[i] = EventOutcome(
                    event.event_id, event.type, "rejected", problem=rejected[event.event_id]
                )
                result.problems.append(rejected[event.event_id])
        evaluated = [x for x in evaluated if x[1].event_id not in rejected]
        rows = [event_row(e) for _, e, _ in evaluated]
        stored = set(repo.insert_events(conn, rows, check=not checked))
        for i, event, findings in evaluated:
            if event.event_id not in stored:  # stored meanwhile by a concurrent call
                outcomes[i] = EventOutcome(event.event_id, event.type, "duplicate")
                continue
            _apply(conn, event)
            outcome = EventOutcome(event.event_id, event.type, "stored", findings)
            decision_id: str | None = None
            if event.event_id in decide:
                decision_id = str(uuid.uuid4())
                outcome.decision = store_decision(
                    conn,
                    decision_id,
                    event,
                    findings,
                    inputs=decide[event.event_id],
                    snapshots=snapshots,
                    rules_version=ruleset.version,
                )
            for finding in findings:
                if not raises_alert(finding):
                    continue
                alert_id, new = repo.add_alert(
                    conn, alert_values(finding, event, decision_id), sla_hours=sla
                )
                outcome.alerts.append(alert_id)
                result.new_alerts += int(new)
            if outcome.decision is not None:
                finish_decision(conn, outcome.decision, event)
            outcomes[i] = outcome
    result.outcomes = [outcomes[i] for i in range(len(given))]
    return result


def finish_decision(conn: sa.Connection, values: Mapping[str, Any], event: Event) -> None:
    """What follows a stored decision once its alerts are stored (so a hold finds its case):
    the hold of a ``hold`` decision, and the decision's record in the audit trail."""
    if values["decision"] == "hold":
        create_hold(conn, values, event.model_dump(mode="json"))
    audit_record(
        conn,
        actor="system",
        action="decision",
        object_type="decision",
        object_id=values["decision_id"],
        record_type="transaction",
        after={
            "decision": values["decision"],
            "event_id": values["event_id"],
            "customer_id": values["customer_id"],
            "rules_version": values["rules_version"],
            "engine_version": values["engine_version"],
            "snapshots": values["snapshots"],
        },
    )


def reason_dict(finding: Finding) -> dict[str, Any]:
    """One reason of a decision."""
    return {
        "rule": finding.rule,
        "severity": finding.severity,
        "action": finding.action,
        "summary": finding.summary,
        "summary_ja": finding.summary_ja,
        "evidence": finding.evidence,
        "error": finding.error,
    }


def store_decision(
    conn: sa.Connection,
    decision_id: str,
    event: Event,
    findings: list[Finding],
    *,
    inputs: Any,
    snapshots: dict[str, int],
    rules_version: str,
) -> dict[str, Any]:
    """Store the decision over ``findings`` for a deposit or withdrawal; returns its row."""
    if event.type not in ("deposit", "withdrawal"):
        raise BadRequest(f"{event.event_id}: type: only deposits and withdrawals are decided")
    from sanctrace.store.snapshots import now

    values = {
        "decision_id": decision_id,
        "event_id": event.event_id,
        "kind": event.type,
        "customer_id": event.customer_id,
        "decided_at": now(),
        "decision": decision_of(findings),
        "reasons": [reason_dict(f) for f in findings],
        "inputs": inputs,
        "snapshots": dict(snapshots),
        "rules_version": rules_version,
        "engine_version": __version__,
    }
    repo.insert_decision(conn, values)
    return values


def warm(ctx: Context) -> None:
    """Build what a first decision would build (the rules, the address and name screeners, the
    exposure engines at the rules' parameters) by evaluating a made-up withdrawal and deposit;
    nothing is stored. ``sanctrace serve`` runs it in each worker before it answers."""
    from sanctrace.monitor.events import parse_event

    ruleset = rules_for(ctx)
    common = {"customer_id": "warm-up", "time": "2000-01-01T00:00:00+00:00", "chain": "btc"}
    party = {"names": [{"text": "Warm Up"}]}
    samples = [
        {
            **common,
            "type": "withdrawal",
            "event_id": "warm-up-withdrawal",
            "asset": "BTC",
            "amount": "0.1",
            "address": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            "beneficiary": party,
        },
        {
            **common,
            "type": "deposit",
            "event_id": "warm-up-deposit",
            "asset": "BTC",
            "amount": "0.1",
            "txid": "0" * 64,
            "output_index": 0,
            "address": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            "originator": party,
        },
    ]
    with pinned(ctx.db):
        facts = facts_for(ctx)
        for sample in samples:
            evaluate_event(ruleset, parse_event(sample, "warm-up"), facts)
