"""The JAFIC suspicious-transaction report pack for a case.

Japan's STRs (疑わしい取引の届出) are entered in JAFIC's own program and filed through e-Gov;
there is no file format to produce. The pack is the content of the filing, mapped to the
sections of the program, for the officer to enter (or check against): ``STR-<case>.json`` and a
printable ``STR-<case>.html``, in Japanese.

| key | section |
|---|---|
| ``report_form`` | 届出票 — the reporting business and the report |
| ``customer`` | 取引時確認情報 — the verified customer data |
| ``accounts`` | 口座情報 — the customer's account and wallets |
| ``transactions`` | 取引情報 — each transaction, with the chain evidence |
| ``reasons`` | 疑わしい取引に該当すると判断した理由 — drafted from the alerts and evidence |

No PDF: see docs/reports.md (print the HTML to PDF from a browser).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sanctrace import __version__
from sanctrace.cases.reports import (
    DECISION_JA,
    DISPOSITION_JA,
    DOCUMENT_JA,
    HOLD_JA,
    KIND_JA,
    SEVERITY_JA,
    STATE_JA,
    CaseBundle,
    Reporter,
    jst,
    load_case,
    load_reporter,
    record_report,
    render,
)
from sanctrace.fileio import write_atomic
from sanctrace.model import detect_script
from sanctrace.services.context import Context
from sanctrace.store.reports import iso
from sanctrace.store.snapshots import now

__all__ = ["FORMAT", "SECTIONS", "JaficRequest", "JaficResult", "build_pack", "write_pack"]

FORMAT = "sanctrace-jafic-str-pack"
SECTIONS = {
    "report_form": "届出票",
    "customer": "取引時確認情報",
    "accounts": "口座情報",
    "transactions": "取引情報",
    "reasons": "疑わしい取引に該当すると判断した理由",
}
NAME_KIND_JA = {
    "legal": "氏名・名称",
    "kana": "フリガナ",
    "reading": "フリガナ",
    "latin": "ローマ字表記",
    "alias": "別名",
}
SCRIPT_JA = {
    "Latin": "ラテン文字",
    "Han": "漢字",
    "Japanese": "漢字・かな",
    "Katakana": "カタカナ",
    "Hiragana": "ひらがな",
    "Cyrillic": "キリル文字",
    "Arabic": "アラビア文字",
    "Hangul": "ハングル",
}
COUNTRY_JA = {
    "JP": "日本",
    "US": "アメリカ合衆国",
    "GB": "英国",
    "CN": "中国",
    "HK": "香港",
    "KR": "韓国",
    "KP": "北朝鮮",
    "RU": "ロシア",
    "BY": "ベラルーシ",
    "IR": "イラン",
    "SY": "シリア",
    "CU": "キューバ",
    "AE": "アラブ首長国連邦",
    "SG": "シンガポール",
    "UA": "ウクライナ",
    "DE": "ドイツ",
    "FR": "フランス",
}
ROLE_JA = {
    "destination": "送付先アドレス",
    "deposit_address": "入庫アドレス",
    "originator_wallet": "送付人のウォレット",
    "beneficiary_wallet": "受取人のウォレット",
    "travel-rule originator wallet": "送付人のウォレット（トラベルルール）",
    "travel-rule beneficiary wallet": "受取人のウォレット（トラベルルール）",
}


@dataclass(frozen=True)
class JaficRequest:
    case_id: int
    out_dir: Path
    reporter_file: Path | None = None
    user: str | None = None


@dataclass
class JaficResult:
    case_id: int
    json_path: Path
    html_path: Path
    pack: dict[str, Any] = field(repr=False, default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "json": str(self.json_path),
            "html": str(self.html_path),
            "pdf": None,
        }


def _country(code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    return {"code": code, "name_ja": COUNTRY_JA.get(code.upper(), code)}


def _names(bundle: CaseBundle) -> list[dict[str, Any]]:
    """Every name of the customer, in every script: the latest ``customer`` event's names
    (kind and script as sent), else the stored ones."""
    customer = bundle.customer or {}
    payload = (customer.get("latest_event") or {}).get("payload") or {}
    names = payload.get("names") or customer.get("names") or []
    out = []
    for n in names:
        text = n.get("text") or n.get("name")
        if not text:
            continue
        kind = n.get("kind") or "legal"
        script = n.get("script") or _script_of(text)
        out.append(
            {
                "text": text,
                "kind": kind,
                "kind_ja": NAME_KIND_JA.get(kind, kind),
                "script": script,
                "script_ja": SCRIPT_JA.get(str(script), str(script)),
            }
        )
    return out


def _script_of(text: str) -> str:
    return str(detect_script(text))


def _customer_section(bundle: CaseBundle) -> dict[str, Any]:
    customer = bundle.customer or {}
    row = customer.get("row") or {}
    latest = customer.get("latest_event") or {}
    payload = latest.get("payload") or {}
    kind = payload.get("kind") or row.get("kind")
    documents = [
        {
            "type": d.get("type"),
            "type_ja": DOCUMENT_JA.get(str(d.get("type")).lower(), d.get("type")),
            "number": d.get("number"),
            "country": _country(d.get("country")),
        }
        for d in payload.get("id_documents") or []
    ]
    birth = payload.get("birth_date") or row.get("birth_date") or row.get("incorporated")
    return {
        "title": SECTIONS["customer"],
        "customer_id": customer.get("customer_id") or bundle.case.get("customer_id"),
        "kind": kind,
        "kind_ja": {"person": "個人", "company": "法人"}.get(str(kind), "不明"),
        "names": _names(bundle),
        "birth_date": birth if kind != "company" else None,
        "incorporated": birth if kind == "company" else None,
        "nationality": _country(payload.get("nationality") or row.get("nationality")),
        "residence": _country(payload.get("residence") or row.get("residence")),
        "address_country": _country(payload.get("address_country") or row.get("country")),
        "phone_country": _country(payload.get("phone_country")),
        "documents": documents,
        "source": {
            "event_id": latest.get("event_id"),
            "time": latest.get("time"),
            "time_jst": jst(latest.get("time")),
        },
        "known": bool(customer),
    }


def _accounts_section(bundle: CaseBundle, reporter: Reporter) -> dict[str, Any]:
    customer = bundle.customer or {}
    wallets = []
    for w in customer.get("wallets") or []:
        wallets.append(
            {
                "chain": w["chain"],
                "address": w["address"],
                "purpose": w["purpose"],
                "purpose_ja": {
                    "deposit": "入庫用アドレス（当社発行）",
                    "withdrawal": "出庫先アドレス（登録済み）",
                }.get(w["purpose"], w["purpose"]),
                "registered_at": w.get("created_at"),
                "registered_at_jst": jst(w.get("created_at")),
            }
        )
    row = customer.get("row") or {}
    return {
        "title": SECTIONS["accounts"],
        "account": {
            "institution": reporter.name,
            "account_id": customer.get("customer_id") or bundle.case.get("customer_id"),
            "type_ja": "暗号資産交換業に係る利用者口座",
            "opened_at": row.get("created_at"),
            "opened_at_jst": jst(row.get("created_at")),
        },
        "wallets": wallets,
    }


def _party(party: Any) -> dict[str, Any]:
    if not isinstance(party, dict):
        return {"names": [], "vasp": None, "wallet": None, "country": None}
    return {
        "names": [n.get("text") for n in party.get("names") or [] if n.get("text")],
        "vasp": party.get("vasp"),
        "wallet": party.get("wallet"),
        "country": _country(party.get("country")),
    }


def _chain_evidence(bundle: CaseBundle, event: dict[str, Any]) -> dict[str, Any]:
    payload = event.get("payload") or {}
    findings = []
    for a in bundle.alerts_of_event(event["event_id"]):
        ev = a.get("evidence") or {}
        findings.append(
            {
                "alert_id": a["id"],
                "rule": a["rule"],
                "summary_ja": a["summary_ja"],
                "address": ev.get("address")
                or (a["subject"] if a["rule"] != "name_match" else None),
                "role": ev.get("role"),
                "role_ja": ROLE_JA.get(str(ev.get("role")), ev.get("role")),
                "path": ev.get("path") or (ev.get("paths") or [None])[0],
                "fraction": ev.get("fraction"),
                "min_hops": ev.get("min_hops"),
                "via_cluster": ev.get("via_cluster"),
            }
        )
    return {
        "txid": payload.get("txid"),
        "output_index": payload.get("output_index"),
        "log_index": payload.get("log_index"),
        "chain": event.get("chain"),
        "address": event.get("address"),
        "findings": findings,
    }


def _transactions_section(bundle: CaseBundle) -> dict[str, Any]:
    decisions = {d["event_id"]: d for d in bundle.decisions}
    holds = {h["event_id"]: h for h in bundle.holds}
    rows = []
    for event in bundle.events:
        if event["type"] not in ("deposit", "withdrawal", "fiat_in", "fiat_out"):
            continue
        payload = event.get("payload") or {}
        is_crypto = event["type"] in ("deposit", "withdrawal")
        if event["type"] == "deposit":
            counterparty = _party(payload.get("originator"))
            counterparty_address = counterparty.get("wallet")
            direction_ja = "送付人"
        elif event["type"] == "withdrawal":
            counterparty = _party(payload.get("beneficiary"))
            counterparty_address = event.get("address")
            direction_ja = "受取人"
        else:
            name = payload.get("counterparty_name")
            counterparty = {
                "names": [name] if name else [],
                "vasp": None,
                "wallet": None,
                "country": _country(payload.get("bank_country")),
            }
            counterparty_address = None
            direction_ja = "振込人" if event["type"] == "fiat_in" else "振込先"
        decision = decisions.get(event["event_id"])
        hold = holds.get(event["event_id"])
        rows.append(
            {
                "event_id": event["event_id"],
                "time": event["time"],
                "time_jst": jst(event["time"]),
                "type": event["type"],
                "type_ja": KIND_JA.get(event["type"], event["type"]),
                "amount": event.get("amount") or payload.get("amount"),
                "asset": event.get("asset") or payload.get("currency"),
                "counterparty": {
                    **counterparty,
                    "address": counterparty_address,
                    "role_ja": direction_ja,
                },
                "ip": payload.get("ip"),
                "chain_evidence": _chain_evidence(bundle, event) if is_crypto else None,
                "decision": decision["decision"] if decision else None,
                "decision_ja": DECISION_JA.get(decision["decision"]) if decision else None,
                "hold_state": hold["state"] if hold else None,
                "hold_state_ja": HOLD_JA.get(hold["state"]) if hold else None,
            }
        )
    return {"title": SECTIONS["transactions"], "transactions": rows}


def _display_name(bundle: CaseBundle) -> str:
    names = _names(bundle)
    legal = [n["text"] for n in names if n["kind"] == "legal"]
    return " / ".join(legal or [n["text"] for n in names]) or str(bundle.case["subject"])


def _reasons_section(bundle: CaseBundle) -> dict[str, Any]:
    who = (
        f"顧客「{_display_name(bundle)}」（顧客ID {bundle.case['customer_id']}）"
        if bundle.case.get("customer_id")
        else f"相手方アドレス {bundle.case['subject']}"
    )
    lines = [
        f"当社は、{who}に係る取引について、以下の理由により、犯罪による収益の移転防止に関する"
        "法律第8条に基づく疑わしい取引に該当すると判断した。"
    ]
    points = []
    for i, a in enumerate(bundle.alerts, start=1):
        times = f"（同一事象 {a['count']} 件）" if (a.get("count") or 1) > 1 else ""
        point = f"{i}. {jst(a['time'])}: {a['summary_ja']}{times}"
        points.append(
            {
                "alert_id": a["id"],
                "rule": a["rule"],
                "severity": a["severity"],
                "severity_ja": SEVERITY_JA.get(a["severity"], a["severity"]),
                "time": a["time"],
                "text": point,
            }
        )
        lines.append(point)
    listed = []
    if bundle.listed:
        lines.append("照合した制裁リストの掲載事項は次のとおり。")
        for ref in bundle.listed:
            version = ref.get("version") or "版表示なし"
            text = (
                f"・{ref['source']}（{version}、スナップショット {ref.get('snapshot_id')}、"
                f"取込 {jst(ref.get('loaded_at'))}）掲載「{ref.get('caption') or ''}」"
                f"[{ref['entity_id']}]"
            )
            if ref.get("address"):
                text += f" 掲載アドレス {ref['address']}"
            listed.append({**ref, "text": text})
            lines.append(text)
    crypto = [e for e in bundle.events if e["type"] in ("deposit", "withdrawal")]
    if crypto:
        lines.append(
            f"対象となる暗号資産の取引は {len(crypto)} 件であり、その詳細とブロックチェーン上の"
            "証跡は取引情報に記載のとおり。"
        )
    case = bundle.case
    if case.get("disposition"):
        lines.append(
            f"調査の結果、本件は「{DISPOSITION_JA.get(case['disposition'], case['disposition'])}」"
            f"と判断された（理由: {case.get('reason') or '記載なし'}）。"
        )
    return {
        "title": SECTIONS["reasons"],
        "draft": "\n".join(lines),
        "points": points,
        "listed": listed,
        "note_ja": "本文は検知結果から自動作成した下書きです。届出前に担当者が確認・補筆してください。",
    }


def build_pack(bundle: CaseBundle, reporter: Reporter) -> dict[str, Any]:
    """The pack as JSON-ready data (see the module docstring for its sections)."""
    case = bundle.case
    generated = iso(now())
    form = {
        "title": SECTIONS["report_form"],
        "report_kind_ja": "疑わしい取引の届出",
        "business_type_ja": "暗号資産交換業者",
        "reporter": reporter.to_dict(),
        "reporter_complete": reporter.configured,
        "case": {
            "case_id": case["id"],
            "subject": case["subject"],
            "subject_type": case["subject_type"],
            "customer_id": case.get("customer_id"),
            "state": case["state"],
            "state_ja": STATE_JA.get(case["state"], case["state"]),
            "severity": case["severity"],
            "severity_ja": SEVERITY_JA.get(case["severity"], case["severity"]),
            "opened_at": case["opened_at"],
            "opened_at_jst": jst(case["opened_at"]),
            "disposition": case.get("disposition"),
            "disposition_ja": DISPOSITION_JA.get(case.get("disposition") or "", None),
            "assignee": case.get("assignee"),
            "closed_by": case.get("closed_by"),
            "approved_by": case.get("approved_by"),
        },
        "prepared_at": generated,
        "prepared_at_jst": jst(generated),
        "list_versions": [
            {
                "snapshot_id": sid,
                "source": s["source"],
                "version": s.get("version"),
                "sha256": s.get("sha256"),
                "loaded_at": s.get("loaded_at"),
            }
            for sid, s in sorted(bundle.snapshots.items())
        ],
    }
    return {
        "format": FORMAT,
        "format_version": 1,
        "generator": f"sanctrace {__version__}",
        "language": "ja",
        "case_id": case["id"],
        "sections": SECTIONS,
        "report_form": form,
        "customer": _customer_section(bundle),
        "accounts": _accounts_section(bundle, Reporter() if reporter is None else reporter),
        "transactions": _transactions_section(bundle),
        "reasons": _reasons_section(bundle),
    }


def write_pack(ctx: Context, request: JaficRequest) -> JaficResult:
    """Build the pack for a case and write ``STR-<case>.json`` and ``STR-<case>.html`` into
    ``out_dir`` (atomically); the writing is recorded in the audit trail."""
    bundle = load_case(ctx, request.case_id)
    reporter = load_reporter(ctx, request.reporter_file)
    pack = build_pack(bundle, reporter)
    stem = f"STR-{request.case_id}"
    json_path = request.out_dir / f"{stem}.json"
    html_path = request.out_dir / f"{stem}.html"
    write_atomic(json_path, json.dumps(pack, ensure_ascii=False, indent=2, default=str) + "\n")
    write_atomic(html_path, render("jafic.html", pack=pack))
    record_report(
        ctx,
        kind="jafic",
        case_id=request.case_id,
        actor=request.user,
        after={"files": [json_path.name, html_path.name]},
    )
    return JaficResult(request.case_id, json_path, html_path, pack)
