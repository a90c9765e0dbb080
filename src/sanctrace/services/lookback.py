"""Lookback: when a list changes, re-screen the stored history against what is newly listed.

After a load creates a snapshot with added or changed entities (``after_loads``, called by
``services.lists`` for every new snapshot, whichever command made it):

* **addresses** — the addresses the new snapshot lists for its added and changed entities that
  the previous snapshot of the source did not list, against the stored deposits and
  withdrawals: the event's address (the exchange's deposit address, the withdrawal's
  destination, both in canonical form) and the travel-rule wallet of its originator or
  beneficiary. A hit is a ``sanctioned_address`` alert.
* **names** — the travel-rule originators and beneficiaries of stored deposits and withdrawals
  are screened against the added and changed entities only; the customers were re-screened by
  ``services.names.rescreen_delta`` just before, and each new customer match becomes an alert
  too. A hit is a ``name_match`` alert.

Each alert names the snapshot that caused it (``alerts.snapshot_id``) and says what was found
in English and Japanese. A finding already alerted (the same rule, subject and evidence key, in
any status) is not raised again, so a lookback can be repeated safely.

``lookback(ctx, LookbackRequest(since=…))`` — ``sanctrace monitor lookback`` — does the same by
hand against the *full content* of the active snapshots (every listed address and name, not a
delta), over the events at or after ``since`` (default: all), and re-screens every stored
customer first.

Services may not import ``monitor``, so the rule ids, severities and actions of these alerts
are fixed here: ``sanctioned_address`` critical/block, ``name_match`` high/hold (the defaults of
the packaged rules file).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from sanctrace.chain.addresses import normalise
from sanctrace.errors import Unavailable
from sanctrace.lists import snapshots as list_snapshots
from sanctrace.lists.snapshots import Delta, LoadResult
from sanctrace.model import NameQuery
from sanctrace.names import Screener
from sanctrace.services.context import Context
from sanctrace.services.names import NO_LISTS, build_screener, screen_customers
from sanctrace.store import monitoring as repo
from sanctrace.store.reports import create_transfer_task
from sanctrace.store.tables import (
    active_snapshots,
    alerts,
    crypto_addresses,
    entities,
    entity_names,
    events,
    screening_matches,
    snapshots,
)

__all__ = [
    "ADDRESS_RULE",
    "NAME_RULE",
    "LookbackAnswer",
    "LookbackRequest",
    "after_loads",
    "lookback",
    "lookback_delta",
]

ADDRESS_RULE = ("sanctioned_address", "critical", "block")
NAME_RULE = ("name_match", "high", "hold")
CHUNK = 500
TYPES = ("deposit", "withdrawal")
KIND_JA = {"deposit": "入金", "withdrawal": "出金"}


@dataclass(frozen=True, kw_only=True)
class LookbackRequest:
    """A lookback by hand: the events at or after ``since`` (all when None)."""

    since: datetime | None = None


@dataclass
class LookbackAnswer:
    """What one lookback found: new alerts by rule, and what it looked at."""

    snapshots: list[int] = field(default_factory=list)
    addresses: int = 0  # listed addresses looked for
    entities: int = 0  # listed entities whose names were screened against
    events: int = 0  # stored deposits and withdrawals looked at
    alerts: int = 0  # new alerts
    by_rule: dict[str, int] = field(default_factory=dict)
    alert_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshots": list(self.snapshots),
            "addresses": self.addresses,
            "entities": self.entities,
            "events": self.events,
            "alerts": self.alerts,
            "by_rule": dict(self.by_rule),
        }


# --- what is listed ----------------------------------------------------------------------------

_ADDRESS_ROWS = sa.select(
    crypto_addresses.c.address,
    crypto_addresses.c.asset,
    crypto_addresses.c.chain,
    crypto_addresses.c.entity_id,
    crypto_addresses.c.snapshot_id,
    snapshots.c.source,
    entities.c.caption,
    entities.c.schema,
).select_from(
    crypto_addresses.join(snapshots, snapshots.c.id == crypto_addresses.c.snapshot_id).join(
        entities,
        sa.and_(
            entities.c.snapshot_id == crypto_addresses.c.snapshot_id,
            entities.c.entity_id == crypto_addresses.c.entity_id,
        ),
    )
)


def _hit(row: Any) -> dict[str, Any]:
    return {
        "address": row.address,
        "asset": row.asset,
        "chain": row.chain,
        "entity_id": row.entity_id,
        "caption": row.caption,
        "schema": row.schema,
        "source": row.source,
        "snapshot_id": row.snapshot_id,
    }


def _new_addresses(conn: sa.Connection, delta: Delta) -> dict[str, list[dict[str, Any]]]:
    """Addresses the new snapshot lists for its added and changed entities and the old one did
    not list at all."""
    touched = sorted(set(delta.added) | set(delta.changed))
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for start in range(0, len(touched), CHUNK):
        chunk = touched[start : start + CHUNK]
        query = _ADDRESS_ROWS.where(
            crypto_addresses.c.snapshot_id == delta.new_snapshot,
            crypto_addresses.c.entity_id.in_(chunk),
        )
        for row in conn.execute(query):
            found[row.address].append(_hit(row))
    if delta.old_snapshot is not None and found:
        listed = sorted(found)
        for start in range(0, len(listed), CHUNK):
            chunk = listed[start : start + CHUNK]
            for (address,) in conn.execute(
                sa.select(crypto_addresses.c.address).where(
                    crypto_addresses.c.snapshot_id == delta.old_snapshot,
                    crypto_addresses.c.address.in_(chunk),
                )
            ):
                found.pop(address, None)
    return dict(found)


def _new_name_entities(conn: sa.Connection, delta: Delta) -> set[str]:
    """Added entities, and changed ones with a name the old snapshot did not give them."""
    touched = set(delta.added)
    changed = sorted(delta.changed)
    if delta.old_snapshot is None:
        return touched | set(changed)
    for start in range(0, len(changed), CHUNK):
        chunk = changed[start : start + CHUNK]
        names: dict[int, dict[str, set[str]]] = {
            delta.new_snapshot: defaultdict(set),
            delta.old_snapshot: defaultdict(set),
        }
        for snapshot_id, entity_id, name in conn.execute(
            sa.select(entity_names.c.snapshot_id, entity_names.c.entity_id, entity_names.c.name)
            .where(entity_names.c.snapshot_id.in_([delta.new_snapshot, delta.old_snapshot]))
            .where(entity_names.c.entity_id.in_(chunk))
        ):
            names[snapshot_id][entity_id].add(name)
        for entity_id in chunk:
            if names[delta.new_snapshot][entity_id] - names[delta.old_snapshot][entity_id]:
                touched.add(entity_id)
    return touched


def _active_addresses(conn: sa.Connection) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    query = _ADDRESS_ROWS.join(
        active_snapshots, active_snapshots.c.snapshot_id == crypto_addresses.c.snapshot_id
    )
    for row in conn.execute(query):
        found[row.address].append(_hit(row))
    return dict(found)


# --- alerts ------------------------------------------------------------------------------------


def _raise(
    conn: sa.Connection,
    answer: LookbackAnswer,
    values: dict[str, Any],
    sla_hours: Mapping[str, int] | None = None,
) -> None:
    """Add the alert unless the same finding was alerted before (any status)."""
    seen = conn.execute(
        sa.select(alerts.c.id).where(
            alerts.c.rule == values["rule"],
            alerts.c.subject == values["subject"],
            alerts.c.evidence_key == values["evidence_key"],
        )
    ).first()
    if seen is not None:
        return
    alert_id, new = repo.add_alert(conn, values, sla_hours=sla_hours)
    if new:
        # A withdrawal already sent to a newly listed target: the FSA request's third duty
        # (create_transfer_task answers None for any other finding).
        create_transfer_task(conn, values, None, alert_id=alert_id)
    if new:
        answer.alerts += 1
        answer.by_rule[values["rule"]] = answer.by_rule.get(values["rule"], 0) + 1
        answer.alert_ids.append(alert_id)


def _event_brief(row: Any) -> dict[str, Any]:
    payload = row.payload or {}
    return {
        "event_id": row.event_id,
        "type": row.type,
        "time": row.time.isoformat() if hasattr(row.time, "isoformat") else str(row.time),
        "customer_id": row.customer_id,
        "chain": row.chain,
        "asset": row.asset,
        "amount": row.amount,
        "address": row.address,
        "txid": payload.get("txid"),
    }


def _address_alert(row: Any, address: str, role: str, hit: dict[str, Any]) -> dict[str, Any]:
    rule, severity, action = ADDRESS_RULE
    kind_ja = KIND_JA.get(row.type, row.type)
    when = _event_brief(row)["time"][:19]
    role_en = {
        "destination": "to",
        "deposit_address": "to the exchange's deposit address",
        "originator_wallet": "from the originator's wallet",
        "beneficiary_wallet": "to the beneficiary's wallet",
    }[role]
    role_ja = {
        "destination": "送金先アドレス",
        "deposit_address": "入金アドレス",
        "originator_wallet": "送金人のウォレット",
        "beneficiary_wallet": "受取人のウォレット",
    }[role]
    amount = f"{row.amount or '?'} {row.asset or ''}".strip()
    return {
        "customer_id": row.customer_id,
        "rule": rule,
        "severity": severity,
        "action": action,
        "subject": address,
        "summary": (
            f"lookback: past {row.type} {row.event_id} ({when}, {amount}) {role_en} {address}, "
            f"now listed by {hit['source']} (snapshot {hit['snapshot_id']}) for "
            f"{hit['caption']} [{hit['entity_id']}]"
        ),
        "summary_ja": (
            f"遡及調査: 過去の{kind_ja} {row.event_id}（{when}、{amount}）の{role_ja} {address} が、"
            f"{hit['source']}（スナップショット {hit['snapshot_id']}）で新たに制裁対象"
            f"「{hit['caption']}」[{hit['entity_id']}] として掲載されました"
        ),
        "evidence": {
            "lookback": True,
            "role": role,
            "event": _event_brief(row),
            "hit": hit,
        },
        "evidence_key": repo.evidence_key(rule, row.event_id, address, hit["entity_id"]),
        "decision_id": None,
        "event_id": row.event_id,
        "snapshot_id": hit["snapshot_id"],
    }


def _name_alert(
    *,
    customer_id: str,
    event: Any | None,
    subject: str,
    match: dict[str, Any],
    who_en: str,
    who_ja: str,
) -> dict[str, Any]:
    rule, severity, action = NAME_RULE
    where_en = f" ({event.type} {event.event_id})" if event is not None else ""
    where_ja = (
        f"（{KIND_JA.get(event.type, event.type)} {event.event_id}）" if event is not None else ""
    )
    return {
        "customer_id": customer_id,
        "rule": rule,
        "severity": severity,
        "action": action,
        "subject": subject,
        "summary": (
            f"lookback: {who_en} {subject!r}{where_en} matches {match['entity_name']} "
            f"[{match['entity_id']}] newly listed by {match['source']} (snapshot "
            f"{match['snapshot_id']}), score {match['score']:.2f} via {match['matched_name']!r}"
        ),
        "summary_ja": (
            f"遡及調査: {who_ja}「{subject}」{where_ja}が、{match['source']}（スナップショット "
            f"{match['snapshot_id']}）で新たに掲載された「{match['entity_name']}」"
            f"[{match['entity_id']}] と一致しました（スコア {match['score']:.2f}、"
            f"一致した名義「{match['matched_name']}」）"
        ),
        "evidence": {
            "lookback": True,
            "match": match,
            "event": _event_brief(event) if event is not None else None,
        },
        "evidence_key": repo.evidence_key(
            rule, event.event_id if event is not None else customer_id, match["entity_id"]
        ),
        "decision_id": None,
        "event_id": event.event_id if event is not None else None,
        "snapshot_id": match["snapshot_id"],
    }


# --- the scan ---------------------------------------------------------------------------------


def _party_query(party: dict[str, Any]) -> NameQuery | None:
    names = [n for n in party.get("names") or [] if isinstance(n, dict) and n.get("text")]
    if not names:
        return None
    main = next((n["text"] for n in names if n.get("kind", "legal") != "kana"), None)
    kana = next((n["text"] for n in names if n.get("kind") == "kana"), None)
    if main is None:
        main, kana = kana, None
    assert main is not None
    return NameQuery(name=main, name_kana=kana, country=party.get("country"))


def _scan_events(
    ctx: Context,
    answer: LookbackAnswer,
    listed: dict[str, list[dict[str, Any]]],
    names_of: set[str] | None,
    screener: Screener | None,
    since: datetime | None,
) -> None:
    """Alert the stored deposits and withdrawals touching ``listed`` addresses, and the
    travel-rule parties matching the entities ``names_of`` (None: every entity)."""
    db = ctx.db
    sla = ctx.settings.sla_hours
    with db.begin() as conn:
        # The events' own addresses, through the index.
        keys = sorted(listed)
        for start in range(0, len(keys), CHUNK):
            rows = repo.event_rows(
                conn, types=TYPES, since=since, addresses=keys[start : start + CHUNK]
            )
            for row in rows:
                role = "destination" if row.type == "withdrawal" else "deposit_address"
                for hit in listed.get(row.address, []):
                    _raise(conn, answer, _address_alert(row, row.address, role, hit), sla)
    want_names = screener is not None and (names_of is None or bool(names_of))
    if not listed and not want_names:
        return
    # The travel-rule parties, from the payloads.
    query = sa.select(events).where(events.c.type.in_(TYPES))
    if since is not None:
        query = query.where(events.c.time >= repo.utc(since))
    found: list[dict[str, Any]] = []
    with db.connect() as conn:
        for row in conn.execution_options(stream_results=True, yield_per=CHUNK).execute(
            query.order_by(events.c.time, events.c.id)
        ):
            answer.events += 1
            payload = row.payload or {}
            role = "originator" if row.type == "deposit" else "beneficiary"
            party = payload.get(role)
            if not isinstance(party, dict):
                continue
            wallet = party.get("wallet")
            if wallet and listed:
                address = normalise((row.chain or "").lower(), str(wallet))
                for hit in listed.get(address, []):
                    found.append(_address_alert(row, address, f"{role}_wallet", hit))
            if want_names:
                assert screener is not None
                q = _party_query(party)
                if q is None:
                    continue
                for m in screener.screen(q, top=3, only=names_of):
                    found.append(
                        _name_alert(
                            customer_id=row.customer_id,
                            event=row,
                            subject=q.name,
                            match=m.to_dict(),
                            who_en=f"the {role}",
                            who_ja="送金人" if role == "originator" else "受取人",
                        )
                    )
    if found:
        with db.begin() as conn:
            for values in found:
                _raise(conn, answer, values, sla)


def _customer_alerts(
    ctx: Context, answer: LookbackAnswer, snapshot_ids: Iterable[int], only_new: bool
) -> None:
    """A ``name_match`` alert per open customer match of these snapshots (``only_new``: the
    matches the last re-screening created, not the ones it refreshed)."""
    sla = ctx.settings.sla_hours
    ids = list(snapshot_ids)
    if not ids:
        return
    query = sa.select(screening_matches).where(
        screening_matches.c.status == "open", screening_matches.c.snapshot_id.in_(ids)
    )
    if only_new:
        query = query.where(screening_matches.c.created_at == screening_matches.c.updated_at)
    with ctx.db.begin() as conn:
        for row in conn.execute(query.order_by(screening_matches.c.id)).all():
            match = {
                "entity_id": row.entity_id,
                "source": row.source,
                "entity_name": row.matched_name,
                "matched_name": row.matched_name,
                "query_name": row.query_name,
                "score": round(float(row.score), 4),
                "explanation": row.explanation,
                "snapshot_id": row.snapshot_id,
            }
            caption = conn.execute(
                sa.select(entities.c.caption).where(
                    entities.c.snapshot_id == row.snapshot_id,
                    entities.c.entity_id == row.entity_id,
                )
            ).scalar()
            if caption:
                match["entity_name"] = caption
            _raise(
                conn,
                answer,
                _name_alert(
                    customer_id=row.customer_id,
                    event=None,
                    subject=row.query_name,
                    match=match,
                    who_en=f"customer {row.customer_id}",
                    who_ja=f"顧客 {row.customer_id}",
                ),
                sla,
            )


def _has_events(ctx: Context) -> bool:
    with ctx.db.connect() as conn:
        return (
            conn.execute(sa.select(events.c.id).where(events.c.type.in_(TYPES)).limit(1)).first()
            is not None
        )


def lookback_delta(
    ctx: Context, delta: Delta, *, screener: Screener | None = None
) -> LookbackAnswer:
    """The lookback for one new snapshot's delta (see the module docstring)."""
    answer = LookbackAnswer(snapshots=[delta.new_snapshot])
    _customer_alerts(ctx, answer, [delta.new_snapshot], only_new=True)
    if not (delta.added or delta.changed) or not _has_events(ctx):
        return answer
    with ctx.db.connect() as conn:
        listed = _new_addresses(conn, delta)
        named = _new_name_entities(conn, delta)
    answer.addresses = len(listed)
    answer.entities = len(named)
    if named and screener is None:
        screener = build_screener(ctx.db)
    _scan_events(ctx, answer, listed, named, screener if named else None, None)
    return answer


def after_loads(
    ctx: Context, created: Sequence[LoadResult], *, screener: Screener | None = None
) -> dict[int, LookbackAnswer]:
    """The lookback of each snapshot a load created (by snapshot id)."""
    answers: dict[int, LookbackAnswer] = {}
    for result in created:
        delta = list_snapshots.diff(ctx.db, result.source)
        if delta.new_snapshot != result.snapshot_id:
            continue  # another load of the source came after it
        answers[result.snapshot_id] = lookback_delta(ctx, delta, screener=screener)
    return answers


def lookback(ctx: Context, request: LookbackRequest | None = None) -> LookbackAnswer:
    """The lookback by hand against the full content of the active snapshots."""
    request = request or LookbackRequest()
    with ctx.db.connect() as conn:
        active = [int(r.snapshot_id) for r in conn.execute(sa.select(active_snapshots))]
        listed = _active_addresses(conn) if active else {}
    answer = LookbackAnswer(snapshots=sorted(active))
    if not active:
        raise Unavailable(NO_LISTS)
    screener = build_screener(ctx.db)
    screen_customers(ctx.db, screener)
    _customer_alerts(ctx, answer, active, only_new=False)
    answer.addresses = len(listed)
    answer.entities = len(screener)
    _scan_events(ctx, answer, listed, None, screener, request.since)
    return answer
