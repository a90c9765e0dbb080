"""Synchronous decisions on deposits (before crediting) and withdrawals (before sending).

``decide(ctx, kind, data)`` validates ``data`` as a ``deposit`` or ``withdrawal`` event, runs
it through the pipeline (stored once, evaluated by the rules in force, alerts raised) and
answers ``block`` (do not transfer: a target), ``hold`` (do not transfer until confirmed not a
target; also when a rule could not be evaluated) or ``allow``. The decision is stored with the
request exactly as received, the list snapshots, the rules version and the engine version, so
it can be recomputed. The same ``event_id`` again answers the stored decision (with other
content it is a ``Conflict``); an event loaded before without a decision is decided once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from sanctrace.errors import BadRequest, Conflict
from sanctrace.monitor.events import BadEvent, parse_event
from sanctrace.monitor.pipeline import (
    alert_values,
    evaluate_event,
    facts_for,
    finish_decision,
    process,
    raises_alert,
    rules_for,
    store_decision,
)
from sanctrace.services._snapshot_cache import pinned, reader
from sanctrace.services.context import Context
from sanctrace.store import monitoring as repo
from sanctrace.store.tables import decisions, events

if TYPE_CHECKING:
    from sanctrace.monitor.rules import RuleSet

__all__ = ["KINDS", "DecisionAnswer", "decide"]

KINDS = ("deposit", "withdrawal")


@dataclass(frozen=True)
class DecisionAnswer:
    """A stored decision."""

    decision_id: str
    event_id: str
    kind: str
    decision: str  # allow | hold | block
    reasons: list[dict[str, Any]]
    snapshots: dict[str, int]
    rules_version: str
    engine_version: str
    alerts: list[int] = field(default_factory=list)
    repeated: bool = False  # the event_id was decided before: this is that decision

    @property
    def hit(self) -> bool:
        return self.decision in ("hold", "block")

    def to_dict(self) -> dict[str, Any]:
        """The body of ``POST /v1/decide/…`` and ``sanctrace decide … --json``."""
        return {
            "decision_id": self.decision_id,
            "event_id": self.event_id,
            "kind": self.kind,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "snapshots": dict(self.snapshots),
            "rules_version": self.rules_version,
            "engine_version": self.engine_version,
        }

    @classmethod
    def of_row(cls, row: Any, repeated: bool = False) -> DecisionAnswer:
        return cls(
            decision_id=row.decision_id,
            event_id=row.event_id,
            kind=row.kind,
            decision=row.decision,
            reasons=list(row.reasons),
            snapshots=dict(row.snapshots),
            rules_version=row.rules_version,
            engine_version=row.engine_version,
            repeated=repeated,
        )


def _stored_decision(conn: sa.Connection, event_id: str) -> Any:
    return conn.execute(
        sa.select(decisions)
        .where(decisions.c.event_id == event_id)
        .order_by(decisions.c.id)
        .limit(1)
    ).first()


def _stored_payload(conn: sa.Connection, event_id: str) -> Any:
    return conn.execute(sa.select(events.c.payload).where(events.c.event_id == event_id)).scalar()


def decide(ctx: Context, kind: str, data: Any, *, ruleset: RuleSet | None = None) -> DecisionAnswer:
    """Decide one deposit or withdrawal request (see the module docstring)."""
    if kind not in KINDS:
        raise BadRequest(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if isinstance(data, dict) and "type" not in data:
        data = {**data, "type": kind}
    try:
        event = parse_event(data, kind)
    except BadEvent as exc:
        raise BadRequest(str(exc), problems=[str(exc)]) from None
    if event.type != kind:
        raise BadRequest(f"{kind}: type: a {event.type} event sent to the {kind} decision")
    ruleset = ruleset or rules_for(ctx)
    payload = event.model_dump(mode="json")

    # One data version and one read connection for the whole decision (pipeline.process).
    with pinned(ctx.db):
        with reader(ctx.db) as conn:
            stored = _stored_payload(conn, event.event_id)
            previous = _stored_decision(conn, event.event_id) if stored is not None else None
        if stored is not None:
            if stored != payload:
                raise Conflict(f"event_id: {event.event_id!r} was stored before with other content")
            if previous is not None:
                return DecisionAnswer.of_row(previous, repeated=True)
            return _decide_stored(ctx, event, data, ruleset)

        try:
            result = process(
                ctx,
                [event],
                ruleset=ruleset,
                decide={event.event_id: data},
                strict=True,
                checked=True,
            )
            outcome = result.outcomes[0]
        except sa.exc.IntegrityError:  # the same event_id stored meanwhile by a concurrent call
            outcome = None
        if outcome is None or outcome.decision is None:
            with reader(ctx.db) as conn:
                previous = _stored_decision(conn, event.event_id)
            if previous is None:
                return _decide_stored(ctx, event, data, ruleset)
            return DecisionAnswer.of_row(previous, repeated=True)
    values = outcome.decision
    return DecisionAnswer(
        decision_id=values["decision_id"],
        event_id=event.event_id,
        kind=event.type,
        decision=values["decision"],
        reasons=values["reasons"],
        snapshots=values["snapshots"],
        rules_version=values["rules_version"],
        engine_version=values["engine_version"],
        alerts=list(outcome.alerts),
    )


def _decide_stored(ctx: Context, event: Any, inputs: Any, ruleset: RuleSet) -> DecisionAnswer:
    """Decide an event stored before without a decision (a bulk load): evaluate it once more
    against the stored history, store the decision and its alerts."""

    facts = facts_for(ctx)
    findings = evaluate_event(ruleset, event, facts)
    decision_id = str(uuid.uuid4())
    alert_ids: list[int] = []
    with ctx.db.begin() as conn:
        previous = _stored_decision(conn, event.event_id)
        if previous is not None:
            return DecisionAnswer.of_row(previous, repeated=True)
        values = store_decision(
            conn,
            decision_id,
            event,
            findings,
            inputs=inputs,
            snapshots=facts.snapshots(),
            rules_version=ruleset.version,
        )
        for finding in findings:
            if raises_alert(finding):
                values_of = alert_values(finding, event, decision_id)
                sla = ctx.settings.sla_hours
                alert_ids.append(repo.add_alert(conn, values_of, sla_hours=sla)[0])
        finish_decision(conn, values, event)
    return DecisionAnswer(
        decision_id=decision_id,
        event_id=event.event_id,
        kind=event.type,
        decision=values["decision"],
        reasons=values["reasons"],
        snapshots=values["snapshots"],
        rules_version=values["rules_version"],
        engine_version=values["engine_version"],
        alerts=alert_ids,
    )
