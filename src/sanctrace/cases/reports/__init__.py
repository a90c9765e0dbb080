"""Regulator reports built from the stored cases (docs/reports.md).

| module | report |
|---|---|
| ``jafic`` | the JAFIC suspicious-transaction report pack for a case (JSON + printable HTML, Japanese) |
| ``goaml`` | goAML XML for a case, validated against the FIU's XSD (XSD 1.1, ``xmlschema``) |
| ``notification`` | the tasks to notify the FSA and the MOF of a completed transfer to a target |
| ``summary`` | the regulator summary of a period (CSV + bilingual HTML) |
| ``casefile`` | the case file export: a ZIP of everything about a case, with an HTML summary |

This package holds what they share: the reporting business (``Reporter``, from a small TOML
file), the case as the reports read it (``load_case``), the Japanese labels, the templates and
the atomic writes. Reports read the tables through ``store.reports``, not the case service.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from sanctrace.cases import audit
from sanctrace.errors import BadRequest, NotFound
from sanctrace.services.context import Context
from sanctrace.store import reports as repo

__all__ = [
    "DECISION_JA",
    "DISPOSITION_JA",
    "DOCUMENT_JA",
    "HOLD_JA",
    "JST",
    "KIND_JA",
    "REPORTER_FILE",
    "SEVERITY_JA",
    "STATE_JA",
    "CaseBundle",
    "Reporter",
    "jst",
    "load_case",
    "load_reporter",
    "record_report",
    "render",
    "write_bytes_atomic",
]

JST = timezone(timedelta(hours=9), "JST")
KIND_JA = {
    "deposit": "暗号資産の受入れ（入庫）",
    "withdrawal": "暗号資産の移転（出庫）",
    "fiat_in": "日本円の入金",
    "fiat_out": "日本円の出金",
    "customer": "顧客情報の登録・変更",
    "wallet": "ウォレットの登録",
    "login": "ログイン",
}
SEVERITY_JA = {"critical": "重大", "high": "高", "medium": "中", "low": "低"}
STATE_JA = {
    "open": "未着手",
    "in_review": "調査中",
    "pending_approval": "承認待ち",
    "closed": "完了",
    "reopened": "再開",
}
DISPOSITION_JA = {
    "true_match": "該当（真陽性）",
    "false_positive": "非該当（誤検知）",
    "not_sanctions_related": "制裁とは無関係",
    "escalated": "マネー・ローンダリング対策責任者へ付議",
}
DECISION_JA = {"allow": "許可", "hold": "保留", "block": "拒否"}
HOLD_JA = {
    "held": "保留中",
    "release_pending": "解除承認待ち",
    "released": "解除済み",
    "rejected": "拒否（凍結継続）",
}
DOCUMENT_JA = {
    "passport": "旅券",
    "drivers_license": "運転免許証",
    "driver_license": "運転免許証",
    "my_number": "個人番号カード",
    "mynumber": "個人番号カード",
    "residence_card": "在留カード",
    "health_insurance": "健康保険証",
    "corporate_registry": "登記事項証明書",
}
REPORTER_FILE = "reporter.toml"


def jst(value: str | datetime | None) -> str:
    """A stored time as Japan time, ``2024-04-03 15:30:00 JST``; '' when absent."""
    if value is None or value == "":
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")


@dataclass(frozen=True)
class Reporter:
    """The reporting business, as the reports name it (``reporter.toml``)::

    name = "サンプル暗号資産取引所株式会社"
    name_latin = "Sample Crypto Exchange KK"
    registration_number = "関東財務局長 第00000号"
    address = "東京都千代田区…"
    officer = "山田 太郎"           # the officer responsible for STRs
    officer_latin = "YAMADA Taro"
    department = "コンプライアンス部"
    phone = "03-0000-0000"
    country = "JP"

    [goaml]                        # what the FIU assigned
    rentity_id = 1
    rentity_branch = "HQ"
    currency_code_local = "JPY"
    indicators = ["TFS03"]
    """

    name: str = "（届出事業者名未設定）"
    name_latin: str = "Reporting entity"
    registration_number: str = ""
    address: str = ""
    officer: str = ""
    officer_latin: str = ""
    department: str = ""
    phone: str = ""
    email: str = ""
    country: str = "JP"
    goaml: dict[str, Any] = field(default_factory=dict)
    configured: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "name_latin": self.name_latin,
            "registration_number": self.registration_number,
            "address": self.address,
            "officer": self.officer,
            "officer_latin": self.officer_latin,
            "department": self.department,
            "phone": self.phone,
            "email": self.email,
            "country": self.country,
            "configured": self.configured,
        }


def load_reporter(ctx: Context, path: Path | None = None) -> Reporter:
    """The reporting business from ``path``, else ``<data dir>/reporter.toml``, else the
    placeholders (``configured`` False: the reports say the fields are to be filled in)."""
    candidate = path if path is not None else ctx.settings.data_dir / REPORTER_FILE
    if not candidate.exists():
        if path is not None:
            raise NotFound(f"{path}: no such reporter file")
        return Reporter()
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadRequest(f"{candidate}: not a readable TOML file: {exc}") from None
    known = set(Reporter.__dataclass_fields__) - {"configured"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise BadRequest(f"{candidate}: unknown field(s): {', '.join(unknown)}")
    goaml = data.pop("goaml", {})
    if not isinstance(goaml, dict):
        raise BadRequest(f"{candidate}: goaml: a table")
    values: dict[str, Any] = {k: str(v) for k, v in data.items()}
    return Reporter(**values, goaml=goaml, configured=True)


@dataclass
class CaseBundle:
    """A case as the reports read it: the case, its alerts, the events behind them, their
    decisions and holds, the customer, notes, the listed entities named and their snapshots."""

    case: dict[str, Any]
    alerts: list[dict[str, Any]]
    events: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    holds: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    customer: dict[str, Any] | None
    listed: list[dict[str, Any]]  # listed entities named by the alerts, with their snapshot
    snapshots: dict[int, dict[str, Any]]
    audit: list[dict[str, Any]]

    @property
    def case_id(self) -> int:
        return int(self.case["id"])

    def alerts_of_event(self, event_id: str) -> list[dict[str, Any]]:
        out = []
        for a in self.alerts:
            brief = (a.get("evidence") or {}).get("event") or {}
            if a.get("event_id") == event_id or brief.get("event_id") == event_id:
                out.append(a)
            elif a.get("subject") in _event_addresses(self.event(event_id)):
                out.append(a)
        return out

    def event(self, event_id: str) -> dict[str, Any] | None:
        return next((e for e in self.events if e["event_id"] == event_id), None)


def _event_addresses(event: dict[str, Any] | None) -> set[str]:
    if event is None:
        return set()
    payload = event.get("payload") or {}
    found = {event.get("address")}
    for role in ("originator", "beneficiary"):
        party = payload.get(role)
        if isinstance(party, dict) and party.get("wallet"):
            found.add(party["wallet"])
    return {a for a in found if a}


def load_case(ctx: Context, case_id: int) -> CaseBundle:
    """Everything the reports need about one case, in one read transaction."""
    with ctx.db.connect() as conn:
        case = repo.case_row(conn, case_id)
        if case is None:
            raise NotFound(f"case {case_id}: no such case")
        found_alerts = repo.case_alerts_of(conn, case_id)
        event_ids: set[str] = set()
        addresses: set[str] = set()
        decision_ids: set[str] = set()
        for a in found_alerts:
            if a.get("event_id"):
                event_ids.add(a["event_id"])
            brief = (a.get("evidence") or {}).get("event") or {}
            if isinstance(brief, dict) and brief.get("event_id"):
                event_ids.add(brief["event_id"])
            if a.get("decision_id"):
                decision_ids.add(a["decision_id"])
            if a.get("subject"):
                addresses.add(a["subject"])
        customer_id = case.get("customer_id")
        found_holds = repo.holds_of(conn, case_id, decision_ids)
        event_ids |= {h["event_id"] for h in found_holds}
        found_events = repo.events_of(conn, event_ids, customer_id=customer_id, addresses=addresses)
        found_decisions = repo.decisions_of(
            conn,
            decision_ids | {h["decision_id"] for h in found_holds},
            [e["event_id"] for e in found_events],
        )
        found_holds = repo.holds_of(
            conn, case_id, decision_ids | {d["decision_id"] for d in found_decisions}
        )
        customer = repo.customer_of(conn, customer_id) if customer_id else None
        listed: dict[tuple[Any, ...], dict[str, Any]] = {}
        for a in found_alerts:
            for ref in repo.listed_refs(a.get("evidence")):
                ref = {**ref, "snapshot_id": ref.get("snapshot_id") or a.get("snapshot_id")}
                listed.setdefault((ref["source"], ref["entity_id"], ref["snapshot_id"]), ref)
        snaps = repo.snapshot_rows(conn, [r["snapshot_id"] for r in listed.values()])
        for d in found_decisions:
            snaps.update(repo.snapshot_rows(conn, (d.get("snapshots") or {}).values()))
        objects = [("case", str(case_id))]
        objects += [("alert", str(a["id"])) for a in found_alerts]
        objects += [("hold", str(h["id"])) for h in found_holds]
        objects += [("decision", d["decision_id"]) for d in found_decisions]
        records = repo.audit_records(conn, objects)
        notes = repo.case_notes_of(conn, case_id)
    for ref in listed.values():
        snap = snaps.get(int(ref["snapshot_id"])) if ref.get("snapshot_id") else None
        ref["version"] = (snap or {}).get("version")
        ref["loaded_at"] = (snap or {}).get("loaded_at")
    return CaseBundle(
        case=case,
        alerts=found_alerts,
        events=found_events,
        decisions=found_decisions,
        holds=found_holds,
        notes=notes,
        customer=customer,
        listed=list(listed.values()),
        snapshots=snaps,
        audit=records,
    )


def record_report(
    ctx: Context, *, kind: str, case_id: int | None, actor: str | None, after: dict[str, Any]
) -> None:
    """An audit record that a report was written (the regulator summary counts them)."""
    with ctx.db.begin() as conn:
        audit.record(
            conn,
            actor=actor or "system",
            action=f"report.{kind}",
            object_type="case" if case_id is not None else "report",
            object_id=str(case_id) if case_id is not None else kind,
            after=after,
            record_type="report",
        )


_env: Environment | None = None


def render(template: str, **values: Any) -> str:
    """A report template (``templates/``), autoescaped."""
    global _env
    if _env is None:
        _env = Environment(
            loader=PackageLoader("sanctrace.cases.reports", "templates"),
            autoescape=select_autoescape(["html", "xml"], default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        _env.filters["jst"] = jst
    return _env.get_template(template).render(**values)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """``fileio.write_atomic`` for bytes (a ZIP, an XML file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
