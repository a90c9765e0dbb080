"""Reproducible decisions: ``replay(ctx, decision_id)`` recomputes a stored decision and says
whether the outcome is the same, and why not.

What is pinned to what the decision recorded:

* the **list snapshots** (``decisions.snapshots``): the name screener, the address hits and
  the exposure engine's flagged addresses are built over those snapshot ids, not the active
  ones (``services.names.build_screener``, ``services.addresses.screen_address`` and
  ``services.exposure.ExposureService`` take the snapshot ids);
* the **inputs**: the request exactly as received (``decisions.inputs``);
* the **history** the rules saw: the customer's events stored up to the decided event (an event
  loaded later, even with an earlier time, is not seen);
* the **rules**: the rules in force now are used; when their version differs from the one the
  decision recorded, the answer says so (the recorded rules file is not stored: run the replay
  with ``sanctrace --rules THAT_FILE`` to pin it).

Not pinned (the answer lists them in ``unpinned``): attribution tags, the chain store and its
cluster maps, and the offline IP database are read as they are now; the engine is the code
running now (``engine_version`` compares it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sanctrace import __version__
from sanctrace.errors import NotFound, Unavailable
from sanctrace.model import Match
from sanctrace.monitor import ipgeo
from sanctrace.monitor.events import CustomerEvent, Event, NameIn, parse_event
from sanctrace.monitor.facts import address_facts, exposure_of, party_matches
from sanctrace.monitor.pipeline import evaluate_event, reason_dict, rules_for
from sanctrace.monitor.rules.base import AddressFacts, IpCountry, decision_of
from sanctrace.names import Screener
from sanctrace.services.addresses import screen_address
from sanctrace.services.context import Context
from sanctrace.services.exposure import ExposureService
from sanctrace.services.names import NO_LISTS, build_screener
from sanctrace.store.monitoring import event_rows
from sanctrace.store.tables import decisions, events, snapshots

__all__ = ["ReplayAnswer", "ReplayFacts", "RuleDifference", "replay"]

UNPINNED = ("attribution tags", "chain store and cluster maps", "IP database")


class ReplayFacts:
    """The ``Facts`` protocol over the list snapshots of a stored decision (``snapshots``) and
    the customer's events stored up to the decided event (``upto``: its row id)."""

    def __init__(self, ctx: Context, snapshots: dict[str, int], upto: int) -> None:
        self.ctx = ctx
        self.pinned = dict(snapshots)
        self.upto = upto
        self._screener: Screener | None = None
        self._exposure: dict[str | None, ExposureService] = {}

    def address(self, chain: str, address: str) -> AddressFacts:
        answer = screen_address(self.ctx.db, address, self.ctx.chain_store, self.pinned)
        return address_facts(answer, chain)

    def exposure(
        self,
        *,
        chain: str,
        direction: str,
        hops: int,
        address: str | None = None,
        txid: str | None = None,
        output_index: int | None = None,
        flagged_file: Path | None = None,
    ) -> dict[str, Any] | None:
        key = None if flagged_file is None else str(flagged_file)
        service = self._exposure.get(key)
        if service is None:
            service = self._exposure[key] = ExposureService(
                self.ctx.db, self.ctx.chain_store, self.pinned
            )
        return exposure_of(
            service,
            chain=chain,
            direction=direction,
            hops=hops,
            address=address,
            txid=txid,
            output_index=output_index,
            flagged_file=flagged_file,
        )

    def names(
        self,
        names: Sequence[NameIn],
        *,
        schema: str | None = None,
        birth_date: str | None = None,
        country: str | None = None,
    ) -> list[Match]:
        if not self.pinned:
            raise Unavailable(NO_LISTS)
        if self._screener is None:
            self._screener = build_screener(self.ctx.db, self.pinned)
        return party_matches(
            self._screener, names, schema=schema, birth_date=birth_date, country=country
        )

    def history(
        self,
        customer_id: str,
        *,
        types: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Event]:
        with self.ctx.db.connect() as conn:
            rows = event_rows(
                conn, customer_id=customer_id, types=list(types) or None, since=since, until=until
            )
        return [
            parse_event(r.payload, f"stored event {r.event_id}") for r in rows if r.id <= self.upto
        ]

    def customer(self, customer_id: str) -> CustomerEvent | None:
        query = (
            sa.select(events.c.event_id, events.c.payload)
            .where(
                events.c.customer_id == customer_id,
                events.c.type == "customer",
                events.c.id <= self.upto,
            )
            .order_by(events.c.time.desc(), events.c.id.desc())
            .limit(1)
        )
        with self.ctx.db.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        event = parse_event(row.payload, f"stored event {row.event_id}")
        return event if isinstance(event, CustomerEvent) else None

    def ip_country(self, ip: str) -> IpCountry | None:
        return ipgeo.lookup(ip)

    def snapshots(self) -> dict[str, int]:
        return dict(self.pinned)


@dataclass(frozen=True)
class RuleDifference:
    """One rule whose findings differ between the stored decision and the replay."""

    rule: str
    stored: list[dict[str, Any]]  # the stored reasons of that rule
    replayed: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "stored": self.stored, "replayed": self.replayed}


@dataclass(frozen=True)
class ReplayAnswer:
    """A stored decision recomputed: ``same`` when the outcome and every rule's findings are
    the same; otherwise ``differences`` (by rule) and ``notes`` say why."""

    decision_id: str
    event_id: str
    stored_decision: str
    replayed_decision: str
    same_decision: bool
    same: bool
    snapshots: dict[str, int]
    rules_version: str  # recorded
    current_rules_version: str
    engine_version: str  # recorded
    current_engine_version: str
    differences: list[RuleDifference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)  # the replay's
    unpinned: tuple[str, ...] = UNPINNED

    @property
    def hit(self) -> bool:
        """Not the same outcome: ``decisions replay`` exits 1."""
        return not self.same_decision

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "event_id": self.event_id,
            "stored_decision": self.stored_decision,
            "replayed_decision": self.replayed_decision,
            "same_decision": self.same_decision,
            "same": self.same,
            "snapshots": dict(self.snapshots),
            "rules_version": self.rules_version,
            "current_rules_version": self.current_rules_version,
            "rules_changed": self.rules_version != self.current_rules_version,
            "engine_version": self.engine_version,
            "current_engine_version": self.current_engine_version,
            "engine_changed": self.engine_version != self.current_engine_version,
            "differences": [d.to_dict() for d in self.differences],
            "notes": list(self.notes),
            "reasons": list(self.reasons),
            "unpinned": list(self.unpinned),
        }


# What a finding is compared on: the outcome, not its wording or the evidence's detail.
_COMPARED = ("rule", "action", "severity", "error")


def _key(reason: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(reason.get(k) for k in _COMPARED)


def _differences(
    stored: list[dict[str, Any]], replayed: list[dict[str, Any]]
) -> list[RuleDifference]:
    rules = dict.fromkeys([r["rule"] for r in stored] + [r["rule"] for r in replayed])
    found = []
    for rule in rules:
        a = [r for r in stored if r["rule"] == rule]
        b = [r for r in replayed if r["rule"] == rule]
        if sorted(map(_key, a), key=repr) != sorted(map(_key, b), key=repr):
            found.append(RuleDifference(rule, a, b))
    return found


def replay(ctx: Context, decision_id: str) -> ReplayAnswer:
    """Recompute the stored decision ``decision_id`` (see the module docstring)."""
    with ctx.db.connect() as conn:
        row = conn.execute(
            sa.select(decisions).where(decisions.c.decision_id == decision_id)
        ).first()
        if row is None:
            raise NotFound(f"decision {decision_id}: no such decision")
        upto = conn.execute(
            sa.select(events.c.id).where(events.c.event_id == row.event_id)
        ).scalar_one_or_none()
        pinned = {str(k): int(v) for k, v in dict(row.snapshots).items()}
        known = set(
            conn.execute(
                sa.select(snapshots.c.id).where(snapshots.c.id.in_(list(pinned.values())))
            ).scalars()
        )
    notes: list[str] = []
    missing = {s: i for s, i in pinned.items() if i not in known}
    if missing:
        names = ", ".join(f"{s} {i}" for s, i in sorted(missing.items()))
        notes.append(f"snapshots no longer stored: {names}; replayed without them")
    if upto is None:
        notes.append(f"event {row.event_id} is not stored: replayed without the customer's history")
        upto = 0
    ruleset = rules_for(ctx)
    if ruleset.version != row.rules_version:
        notes.append(
            f"the rules changed: the decision recorded version {row.rules_version}, the rules "
            f"in force are {ruleset.version}; the recorded rules file is not known, so the "
            "current rules were used (replay with --rules FILE to use another file)"
        )
    if row.engine_version != __version__:
        notes.append(
            f"the engine changed: the decision was made by sanctrace {row.engine_version}, "
            f"this is {__version__}"
        )
    inputs = row.inputs
    if isinstance(inputs, dict) and "type" not in inputs:
        inputs = {**inputs, "type": row.kind}
    event = parse_event(inputs, f"decision {decision_id}")
    facts = ReplayFacts(ctx, {s: i for s, i in pinned.items() if i in known}, upto)
    findings = evaluate_event(ruleset, event, facts)
    reasons = [reason_dict(f) for f in findings]
    outcome = decision_of(findings)
    stored_reasons = list(row.reasons)
    differences = _differences(stored_reasons, json_round_trip(reasons))
    if differences and not notes:
        notes.append(
            "the findings differ with the same snapshots, rules and engine: a source that is "
            f"not pinned changed ({', '.join(UNPINNED)})"
        )
    return ReplayAnswer(
        decision_id=row.decision_id,
        event_id=row.event_id,
        stored_decision=row.decision,
        replayed_decision=outcome,
        same_decision=outcome == row.decision,
        same=outcome == row.decision and not differences,
        snapshots=pinned,
        rules_version=row.rules_version,
        current_rules_version=ruleset.version,
        engine_version=row.engine_version,
        current_engine_version=__version__,
        differences=differences,
        notes=notes,
        reasons=json_round_trip(reasons),
    )


def json_round_trip(value: Any) -> Any:
    """``value`` as the database would give it back (tuples as lists, dates as text)."""
    import json

    return json.loads(json.dumps(value, default=str))
