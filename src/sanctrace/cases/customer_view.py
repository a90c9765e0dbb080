"""What the console's case page shows beside a case: the customer (every name in its own
script with its kind, the KYC data as last verified, the wallets, the recent activity), the
events behind an alert's evidence and the audit records of the case and of the suppressions
it decided. Read-only; answers typed, JSON-ready values (times as ISO 8601 text in UTC)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sanctrace.errors import BadRequest
from sanctrace.model import detect_script
from sanctrace.names.translit import split_tokens
from sanctrace.services.context import Context
from sanctrace.store import reports as repo
from sanctrace.store.tables import events

__all__ = [
    "name_tokens",
    "MAX_ACTIVITY",
    "ActivityOut",
    "CustomerOut",
    "NameOut",
    "WalletOut",
    "case_audit",
    "customer_view",
    "evidence_event_ids",
    "events_by_id",
]

MAX_ACTIVITY = 500
MAX_EVENT_IDS = 200
_KYC_FIELDS = ("birth_date", "incorporated", "nationality", "residence", "country")
_DATA_FIELDS = ("address_country", "phone_country")


@dataclass(frozen=True)
class NameOut:
    text: str
    kind: str  # legal | reading | latin | alias (as stored)
    script: str


@dataclass(frozen=True)
class WalletOut:
    chain: str
    address: str
    purpose: str
    added_at: str | None


@dataclass(frozen=True)
class ActivityOut:
    """One event of the customer's history: its type and time and what it moved where."""

    event_id: str
    type: str
    time: str | None
    chain: str | None
    asset: str | None
    amount: str | None
    address: str | None
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def detail(self) -> dict[str, Any]:
        """The payload less what the columns show already."""
        shown = {"event_id", "type", "time", "customer_id", "chain", "asset", "amount", "address"}
        return {k: v for k, v in self.payload.items() if k not in shown and v not in (None, [])}


@dataclass(frozen=True)
class CustomerOut:
    customer_id: str
    kind: str | None  # person | company; None when only events are known
    names: list[NameOut]
    kyc: dict[str, Any]  # birth date, nationality, residence, … as verified
    documents: list[dict[str, Any]]
    wallets: list[WalletOut]
    activity: list[ActivityOut]  # newest first
    created_at: str | None
    last_verified: str | None  # time of the latest ``customer`` event


def _activity(row: Any) -> ActivityOut:
    data = {k: repo.iso(v) for k, v in row._mapping.items()}
    sent = (data.get("payload") or {}).get("time")
    if isinstance(sent, str) and sent:  # the time as sent (SQLite keeps no offset)
        try:
            data["time"] = repo.iso(datetime.fromisoformat(sent))
        except ValueError:
            pass
    return ActivityOut(
        event_id=str(data["event_id"]),
        type=str(data["type"]),
        time=data.get("time"),
        chain=data.get("chain"),
        asset=data.get("asset"),
        amount=data.get("amount"),
        address=data.get("address"),
        payload=dict(data.get("payload") or {}),
    )


def customer_view(ctx: Context, customer_id: str, *, limit: int = 50) -> CustomerOut | None:
    """The customer as the case page shows it, with its ``limit`` latest events; None when
    nothing is known of ``customer_id``."""
    if not 1 <= limit <= MAX_ACTIVITY:
        raise BadRequest(f"limit: between 1 and {MAX_ACTIVITY}")
    with ctx.db.connect() as conn:
        found = repo.customer_of(conn, customer_id)
        if found is None:
            return None
        rows = conn.execute(
            sa.select(events)
            .where(events.c.customer_id == customer_id)
            .order_by(events.c.time.desc(), events.c.id.desc())
            .limit(limit)
        ).all()
    row: Mapping[str, Any] = found["row"] or {}
    latest = found["latest_event"] or {}
    payload: Mapping[str, Any] = latest.get("payload") or {}
    data: Mapping[str, Any] = row.get("data") or {}
    kyc: dict[str, Any] = {}
    for name in _KYC_FIELDS:
        value = row.get(name) if row else payload.get(name)
        if value:
            kyc[name] = value
    for name in _DATA_FIELDS:
        value = data.get(name) or payload.get(name)
        if value:
            kyc[name] = value
    names = [
        NameOut(str(n["name"]), str(n["kind"]), str(n["script"] or detect_script(n["name"])))
        for n in found["names"]
    ]
    if not names:  # only events stored: the names as the latest event sent them
        names = [
            NameOut(str(n.get("text")), str(n.get("kind") or "legal"), detect_script(n["text"]))
            for n in payload.get("names") or []
            if isinstance(n, Mapping) and n.get("text")
        ]
    documents = list(data.get("id_documents") or payload.get("id_documents") or [])
    return CustomerOut(
        customer_id=customer_id,
        kind=row.get("kind") or payload.get("kind"),
        names=names,
        kyc=kyc,
        documents=[dict(d) for d in documents if isinstance(d, Mapping)],
        wallets=[
            WalletOut(str(w["chain"]), str(w["address"]), str(w["purpose"]), w.get("created_at"))
            for w in found["wallets"]
        ],
        activity=[_activity(r) for r in rows],
        created_at=row.get("created_at"),
        last_verified=latest.get("time"),
    )


def evidence_event_ids(evidence: Any, first: str | None = None) -> list[str]:
    """Every ``event_id`` named in an alert's evidence (nested anywhere), ``first`` first."""
    found: list[str] = [first] if first else []

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                if key == "event_id" and isinstance(inner, str) and inner:
                    found.append(inner)
                else:
                    walk(inner)
        elif isinstance(value, list | tuple):
            for inner in value:
                walk(inner)

    walk(evidence)
    return list(dict.fromkeys(found))[:MAX_EVENT_IDS]


def events_by_id(ctx: Context, event_ids: Iterable[str]) -> list[ActivityOut]:
    """The stored events named, oldest first (unknown ids left out)."""
    wanted = list(dict.fromkeys(event_ids))[:MAX_EVENT_IDS]
    if not wanted:
        return []
    with ctx.db.connect() as conn:
        rows = conn.execute(
            sa.select(events)
            .where(events.c.event_id.in_(wanted))
            .order_by(events.c.time, events.c.id)
        ).all()
    return [_activity(r) for r in rows]


def case_audit(ctx: Context, case_id: int, suppression_ids: Iterable[int] = ()) -> list[dict]:
    """The audit records of the case and of the suppressions it decided, in chain order."""
    objects = [("case", str(case_id))] + [("suppression", str(s)) for s in suppression_ids]
    with ctx.db.connect() as conn:
        return repo.audit_records(conn, objects)


def name_tokens(text: str) -> list[str]:
    """The words of a name as the screener splits them (for highlighting matched parts)."""
    return list(split_tokens(text))
