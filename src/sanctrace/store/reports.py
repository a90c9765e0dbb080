"""Repository of what the regulator reports read: a case with its alerts, events, decisions,
holds, notes and audit records; a period's holds, blocks, releases, reports and true matches;
the list versions in force; and the tasks that track a completed transfer to a target.

Functions take an open connection, so the caller owns the transaction. They read the tables
directly (not through the case service) and answer plain dicts: datetimes as ISO 8601 text in
UTC, so a report built twice from the same rows is the same.

``create_transfer_task`` is store-level on purpose: the lookback (``services/lookback.py``)
calls it when a past withdrawal is found to have gone to a newly listed address — services
may not import ``cases``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from sanctrace.store.snapshots import now as _now
from sanctrace.store.tables import (
    alerts,
    audit_log,
    case_alerts,
    case_notes,
    cases,
    customer_names,
    customers,
    decisions,
    events,
    holds,
    snapshots,
    tasks,
    wallets,
)

__all__ = [
    "TRANSFER_TASK",
    "audit_records",
    "case_alerts_of",
    "case_notes_of",
    "case_row",
    "create_transfer_task",
    "customer_of",
    "decisions_of",
    "events_of",
    "holds_of",
    "iso",
    "listed_refs",
    "period_activity",
    "snapshot_rows",
    "snapshots_in_force",
    "task_rows",
]

TRANSFER_TASK = "completed_transfer_notification"
CHUNK = 500


def iso(value: Any) -> Any:
    """A datetime as ISO 8601 in UTC (SQLite hands back naive datetimes stored as UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def _dict(row: Any) -> dict[str, Any]:
    return {k: iso(v) for k, v in row._mapping.items()}


def _event(row: Any) -> dict[str, Any]:
    """An events row; its time from the payload (the time as sent, with its offset: SQLite
    keeps a timestamp's wall time but not its offset)."""
    data = _dict(row)
    sent = (data.get("payload") or {}).get("time")
    if isinstance(sent, str) and sent:
        data["time"] = iso(datetime.fromisoformat(sent))
    return data


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(set(values), key=str)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# --- one case -------------------------------------------------------------------------------


def case_row(conn: sa.Connection, case_id: int) -> dict[str, Any] | None:
    row = conn.execute(sa.select(cases).where(cases.c.id == case_id)).first()
    return _dict(row) if row is not None else None


def case_alerts_of(conn: sa.Connection, case_id: int) -> list[dict[str, Any]]:
    """The case's alerts, oldest first, each with the time it joined the case."""
    query = (
        sa.select(alerts, case_alerts.c.added_at)
        .join(case_alerts, case_alerts.c.alert_id == alerts.c.id)
        .where(case_alerts.c.case_id == case_id)
        .order_by(alerts.c.time, alerts.c.id)
    )
    return [_dict(r) for r in conn.execute(query)]


def case_notes_of(conn: sa.Connection, case_id: int) -> list[dict[str, Any]]:
    query = (
        sa.select(case_notes)
        .where(case_notes.c.case_id == case_id)
        .order_by(case_notes.c.time, case_notes.c.id)
    )
    return [_dict(r) for r in conn.execute(query)]


def customer_of(conn: sa.Connection, customer_id: str) -> dict[str, Any] | None:
    """The customer's row, names and wallets, and the payload of its latest ``customer``
    event (the verified data as the exchange sent it); None when nothing is known."""
    row = conn.execute(sa.select(customers).where(customers.c.id == customer_id)).first()
    latest = conn.execute(
        sa.select(events.c.event_id, events.c.time, events.c.payload)
        .where(events.c.type == "customer", events.c.customer_id == customer_id)
        .order_by(events.c.time.desc(), events.c.id.desc())
        .limit(1)
    ).first()
    if row is None and latest is None:
        return None
    names = [
        _dict(r)
        for r in conn.execute(
            sa.select(customer_names.c.name, customer_names.c.kind, customer_names.c.script)
            .where(customer_names.c.customer_id == customer_id)
            .order_by(customer_names.c.id)
        )
    ]
    found_wallets = [
        _dict(r)
        for r in conn.execute(
            sa.select(wallets.c.chain, wallets.c.address, wallets.c.purpose, wallets.c.created_at)
            .where(wallets.c.customer_id == customer_id)
            .order_by(wallets.c.created_at, wallets.c.id)
        )
    ]
    return {
        "customer_id": customer_id,
        "row": _dict(row) if row is not None else None,
        "names": names,
        "wallets": found_wallets,
        "latest_event": (
            {
                "event_id": latest.event_id,
                "time": iso(latest.time),
                "payload": dict(latest.payload or {}),
            }
            if latest is not None
            else None
        ),
    }


def events_of(
    conn: sa.Connection,
    event_ids: Iterable[str],
    *,
    customer_id: str | None = None,
    addresses: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The events named, and the customer's deposits and withdrawals whose own address is one
    of ``addresses`` (a repeated finding is counted on one alert, so its later events are found
    through the address), oldest first."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(event_ids):
        for r in conn.execute(sa.select(events).where(events.c.event_id.in_(chunk))):
            found[r.event_id] = _event(r)
    if customer_id is not None:
        for chunk in _chunks(addresses):
            query = sa.select(events).where(
                events.c.customer_id == customer_id,
                events.c.type.in_(("deposit", "withdrawal")),
                events.c.address.in_(chunk),
            )
            for r in conn.execute(query):
                found[r.event_id] = _event(r)
    return sorted(found.values(), key=lambda e: (e["time"], e["id"]))


def decisions_of(
    conn: sa.Connection, decision_ids: Iterable[str], event_ids: Iterable[str] = ()
) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(decision_ids):
        for r in conn.execute(sa.select(decisions).where(decisions.c.decision_id.in_(chunk))):
            found[r.decision_id] = _dict(r)
    for chunk in _chunks(event_ids):
        for r in conn.execute(sa.select(decisions).where(decisions.c.event_id.in_(chunk))):
            found[r.decision_id] = _dict(r)
    return sorted(found.values(), key=lambda d: (d["decided_at"], d["id"]))


def holds_of(
    conn: sa.Connection, case_id: int, decision_ids: Iterable[str] = ()
) -> list[dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {
        r.id: _dict(r) for r in conn.execute(sa.select(holds).where(holds.c.case_id == case_id))
    }
    for chunk in _chunks(decision_ids):
        for r in conn.execute(sa.select(holds).where(holds.c.decision_id.in_(chunk))):
            found[r.id] = _dict(r)
    return [found[k] for k in sorted(found)]


def audit_records(conn: sa.Connection, objects: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """The audit records about these (object type, object id) pairs, in chain order, with
    their ``prev_hash`` and ``hash``."""
    by_type: dict[str, set[str]] = {}
    for kind, key in objects:
        by_type.setdefault(kind, set()).add(str(key))
    found: dict[int, dict[str, Any]] = {}
    for kind, keys in by_type.items():
        for chunk in _chunks(keys):
            query = sa.select(audit_log).where(
                audit_log.c.object_type == kind, audit_log.c.object_id.in_(chunk)
            )
            for r in conn.execute(query):
                found[r.id] = _dict(r)
    return [found[k] for k in sorted(found)]


def snapshot_rows(conn: sa.Connection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Snapshot id → source, format, version, sha256, loaded_at."""
    found: dict[int, dict[str, Any]] = {}
    cols = (
        snapshots.c.id,
        snapshots.c.source,
        snapshots.c.format,
        snapshots.c.version,
        snapshots.c.sha256,
        snapshots.c.loaded_at,
    )
    for chunk in _chunks(int(i) for i in ids if i is not None):
        for r in conn.execute(sa.select(*cols).where(snapshots.c.id.in_(chunk))):
            found[int(r.id)] = _dict(r)
    return found


def snapshots_in_force(conn: sa.Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per source, the snapshot in force when the period began (the last one loaded before
    ``start``) and every snapshot loaded during the period, oldest first."""
    cols = (
        snapshots.c.id,
        snapshots.c.source,
        snapshots.c.format,
        snapshots.c.version,
        snapshots.c.sha256,
        snapshots.c.loaded_at,
    )
    rows = conn.execute(
        sa.select(*cols).where(snapshots.c.loaded_at < end).order_by(snapshots.c.loaded_at)
    ).all()
    before: dict[str, Any] = {}
    during: list[Any] = []
    for r in rows:
        loaded = r.loaded_at if r.loaded_at.tzinfo else r.loaded_at.replace(tzinfo=UTC)
        if loaded < start:
            before[r.source] = r
        else:
            during.append(r)
    chosen = list(before.values()) + during
    chosen.sort(key=lambda r: (r.source, r.loaded_at, r.id))
    return [_dict(r) for r in chosen]


# --- what a listed-entity reference looks like in evidence ------------------------------------


def listed_refs(evidence: Any) -> list[dict[str, Any]]:
    """Every listed entity an alert's evidence names (``matches``, ``hits``, ``match``,
    ``hit``, ``by_entity`` … any dict with an ``entity_id`` and a ``source``), deduplicated."""
    found: dict[tuple[Any, ...], dict[str, Any]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            if value.get("entity_id") and value.get("source"):
                key = (value.get("source"), value.get("entity_id"), value.get("snapshot_id"))
                if key not in found:
                    found[key] = {
                        "source": value.get("source"),
                        "entity_id": value.get("entity_id"),
                        "snapshot_id": value.get("snapshot_id"),
                        "caption": value.get("caption") or value.get("entity_name"),
                        "schema": value.get("schema"),
                        "address": value.get("address"),
                    }
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(evidence)
    return list(found.values())


# --- a period ----------------------------------------------------------------------------------


def period_activity(conn: sa.Connection, start: datetime, end: datetime) -> dict[str, Any]:
    """What happened in [start, end): holds created, block decisions, holds released, reports
    written (audit ``report.*`` records and transfer-notification tasks) and cases closed as
    true matches — each with the alerts that explain it (rules, lists, assets)."""
    held = [
        _dict(r)
        for r in conn.execute(
            sa.select(holds).where(holds.c.created_at >= start, holds.c.created_at < end)
        )
    ]
    released = [
        _dict(r)
        for r in conn.execute(
            sa.select(holds).where(
                holds.c.state == "released", holds.c.updated_at >= start, holds.c.updated_at < end
            )
        )
    ]
    blocked = [
        _dict(r)
        for r in conn.execute(
            sa.select(decisions).where(
                decisions.c.decision == "block",
                decisions.c.decided_at >= start,
                decisions.c.decided_at < end,
            )
        )
    ]
    reports = [
        _dict(r)
        for r in conn.execute(
            sa.select(audit_log).where(
                audit_log.c.action.like("report.%"),
                audit_log.c.time >= start,
                audit_log.c.time < end,
            )
        )
    ]
    task_list = [
        _dict(r)
        for r in conn.execute(
            sa.select(tasks).where(
                tasks.c.kind == TRANSFER_TASK, tasks.c.created_at >= start, tasks.c.created_at < end
            )
        )
    ]
    true_matches = [
        _dict(r)
        for r in conn.execute(
            sa.select(cases).where(
                cases.c.disposition == "true_match",
                cases.c.state == "closed",
                cases.c.closed_at >= start,
                cases.c.closed_at < end,
            )
        )
    ]
    # The alerts behind them: by decision, by case, by the id a task or report names.
    decision_ids = {d["decision_id"] for d in blocked} | {h["decision_id"] for h in held + released}
    case_ids = {c["id"] for c in true_matches}
    for rec in reports:
        if rec["object_type"] == "case":
            try:
                case_ids.add(int(rec["object_id"]))
            except ValueError:
                pass
    alert_ids = {t["payload"].get("alert_id") for t in task_list if t.get("payload")} - {None}
    decision_rows = {d["decision_id"]: d for d in decisions_of(conn, decision_ids)}
    by_decision: dict[str, list[dict[str, Any]]] = {}
    by_case: dict[int, list[dict[str, Any]]] = {}
    by_id: dict[int, dict[str, Any]] = {}
    for chunk in _chunks(decision_ids):
        for r in conn.execute(sa.select(alerts).where(alerts.c.decision_id.in_(chunk))):
            by_decision.setdefault(r.decision_id, []).append(_dict(r))
    for chunk in _chunks(case_ids):
        query = (
            sa.select(alerts, case_alerts.c.case_id)
            .join(case_alerts, case_alerts.c.alert_id == alerts.c.id)
            .where(case_alerts.c.case_id.in_(chunk))
        )
        for r in conn.execute(query):
            by_case.setdefault(int(r.case_id), []).append(_dict(r))
    for chunk in _chunks(int(a) for a in alert_ids):
        for r in conn.execute(sa.select(alerts).where(alerts.c.id.in_(chunk))):
            by_id[int(r.id)] = _dict(r)
    # The assets of the events named, for blocks and cases.
    event_ids = {d["event_id"] for d in blocked}
    for found in by_case.values():
        event_ids |= {a["event_id"] for a in found if a.get("event_id")}
    asset_of: dict[str, str | None] = {}
    for chunk in _chunks(event_ids):
        for r in conn.execute(
            sa.select(events.c.event_id, events.c.asset).where(events.c.event_id.in_(chunk))
        ):
            asset_of[r.event_id] = r.asset
    return {
        "holds": held,
        "released": released,
        "blocks": blocked,
        "reports": reports,
        "tasks": task_list,
        "true_matches": true_matches,
        "decisions": decision_rows,
        "alerts_by_decision": by_decision,
        "alerts_by_case": by_case,
        "alerts_by_id": by_id,
        "asset_of_event": asset_of,
    }


# --- tasks: the notification of a completed transfer to a target ------------------------------


def task_rows(
    conn: sa.Connection, kind: str | None = TRANSFER_TASK, state: str | None = None
) -> list[dict[str, Any]]:
    query = sa.select(tasks).order_by(tasks.c.created_at, tasks.c.id)
    if kind is not None:
        query = query.where(tasks.c.kind == kind)
    if state is not None:
        query = query.where(tasks.c.state == state)
    found = [_dict(r) for r in conn.execute(query)]
    # The case the task's alert has joined since (the task may predate the case).
    alert_ids = {t["payload"].get("alert_id") for t in found} - {None}
    case_of: dict[int, int] = {}
    for chunk in _chunks(int(a) for a in alert_ids):
        for r in conn.execute(
            sa.select(case_alerts.c.alert_id, case_alerts.c.case_id).where(
                case_alerts.c.alert_id.in_(chunk)
            )
        ):
            case_of[int(r.alert_id)] = int(r.case_id)
    for t in found:
        if t["case_id"] is None and t["payload"].get("alert_id") is not None:
            t["case_id"] = case_of.get(int(t["payload"]["alert_id"]))
    return found


def _get(row: Any, key: str) -> Any:
    if row is None:
        return None
    if isinstance(row, Mapping):
        return row.get(key)
    mapping = getattr(row, "_mapping", None)
    if mapping is not None:
        return mapping.get(key)
    return getattr(row, key, None)


def create_transfer_task(
    conn: sa.Connection,
    alert_values: Mapping[str, Any],
    event_row: Any = None,
    *,
    alert_id: int | None = None,
) -> int | None:
    """Open the task to notify the FSA and the MOF of a completed transfer to an asset-freeze
    target, with the notification prepared in Japanese; returns its id.

    ``alert_values`` is the lookback's ``sanctioned_address`` alert (its ``evidence`` names
    the listed entity and the snapshot); ``event_row`` the stored withdrawal (an ``events``
    row or a mapping; when None, the event brief in the alert's evidence). Only a completed
    withdrawal to a listed address makes a task: anything else answers None. The same
    transfer and listed entity make one task (an existing one's id is answered)."""
    evidence = dict(alert_values.get("evidence") or {})
    brief = dict(evidence.get("event") or {})
    kind = _get(event_row, "type") or brief.get("type")
    if alert_values.get("rule") != "sanctioned_address" or kind != "withdrawal":
        return None
    hit = dict(evidence.get("hit") or {})
    if not hit:
        refs = listed_refs(evidence)
        hit = refs[0] if refs else {}
    payload_of_event = _get(event_row, "payload") or {}
    event_id = _get(event_row, "event_id") or brief.get("event_id") or alert_values.get("event_id")
    subject = f"{event_id}:{hit.get('entity_id')}"
    seen = conn.execute(
        sa.select(tasks.c.id).where(tasks.c.kind == TRANSFER_TASK, tasks.c.subject == subject)
    ).first()
    if seen is not None:
        return int(seen.id)
    snapshot_id = hit.get("snapshot_id") or alert_values.get("snapshot_id")
    snap = snapshot_rows(conn, [snapshot_id]).get(int(snapshot_id)) if snapshot_id else None
    found_at = _now()
    transfer = {
        "event_id": event_id,
        "time": iso(_get(event_row, "time")) or brief.get("time"),
        "customer_id": _get(event_row, "customer_id") or brief.get("customer_id"),
        "chain": _get(event_row, "chain") or brief.get("chain"),
        "asset": _get(event_row, "asset") or brief.get("asset"),
        "amount": _get(event_row, "amount") or brief.get("amount"),
        "destination": _get(event_row, "address") or brief.get("address"),
        "txid": payload_of_event.get("txid") or brief.get("txid"),
        "beneficiary": payload_of_event.get("beneficiary"),
        "role": evidence.get("role"),
        "address": alert_values.get("subject"),
    }
    listing = {
        "source": hit.get("source"),
        "entity_id": hit.get("entity_id"),
        "caption": hit.get("caption"),
        "schema": hit.get("schema"),
        "snapshot_id": snapshot_id,
        "version": (snap or {}).get("version"),
        "sha256": (snap or {}).get("sha256"),
        "loaded_at": (snap or {}).get("loaded_at"),
    }
    payload = {
        "transfer": transfer,
        "listing": listing,
        "found_at": iso(found_at),
        "found_by": "lookback" if evidence.get("lookback") else "screening",
        "alert_id": alert_id if alert_id is not None else alert_values.get("alert_id"),
        "addressees": ["金融庁", "財務省"],
        "notice_ja": notice_ja(transfer, listing, iso(found_at)),
    }
    key = conn.execute(
        tasks.insert().values(
            kind=TRANSFER_TASK,
            subject=subject,
            case_id=None,
            state="open",
            created_at=found_at,
            payload=payload,
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def notice_ja(transfer: Mapping[str, Any], listing: Mapping[str, Any], found_at: str) -> str:
    """The prepared notification, in Japanese (plain text; the HTML view renders the same)."""
    version = listing.get("version") or "（版表示なし）"
    role = {
        "destination": "送付先アドレス",
        "beneficiary_wallet": "受取人のウォレット",
    }.get(str(transfer.get("role")), "送付先アドレス")
    lines = [
        "資産凍結等経済制裁対象者への暗号資産の移転（完了済み）に関する報告",
        "",
        "宛先: 金融庁、財務省",
        "",
        "当社は、既に完了した以下の暗号資産の移転について、その"
        f"{role}が資産凍結等の措置の対象者に係るものであることを、"
        f"{found_at[:19].replace('T', ' ')}（UTC）に判明したため、報告いたします。",
        "",
        "1. 移転の内容",
        f"  取引ID: {transfer.get('event_id')}",
        f"  日時: {str(transfer.get('time') or '')[:19].replace('T', ' ')}（UTC）",
        f"  顧客ID: {transfer.get('customer_id')}",
        f"  暗号資産: {transfer.get('asset') or ''}（チェーン: {transfer.get('chain') or ''}）",
        f"  数量: {transfer.get('amount') or ''}",
        f"  送付先アドレス: {transfer.get('destination') or ''}",
        f"  該当アドレス: {transfer.get('address') or ''}",
        f"  トランザクションID: {transfer.get('txid') or '（未記録）'}",
        "",
        "2. 制裁リストの掲載事項",
        f"  リスト: {listing.get('source')}",
        f"  掲載対象: {listing.get('caption') or ''} [{listing.get('entity_id')}]",
        f"  リストの版: {version}（スナップショット {listing.get('snapshot_id')}、"
        f"取込日時 {str(listing.get('loaded_at') or '')[:19].replace('T', ' ')}（UTC））",
        "",
        "3. 判明の経緯",
        "  制裁リストの更新後に実施した遡及調査（過去の取引の再照合）により判明しました。",
        "",
        "本件は疑わしい取引の届出とは別に報告するものです。",
    ]
    return "\n".join(lines)
