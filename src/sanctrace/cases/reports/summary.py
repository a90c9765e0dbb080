"""The regulator summary of a period: holds, blocks, releases, reports and true matches, by
list, by rule and by asset, with the list versions in force — what an exchange sends the FSA
and the MOF when asked. ``summary-<from>-<to>.csv`` (one row per dimension and key) and
``summary-<from>-<to>.html`` (headings in Japanese and English).

What counts, for the period [from 00:00 UTC, to + 1 day 00:00 UTC):

* **holds** — holds created; **releases** — holds released (their last change in the period);
* **blocks** — ``block`` decisions;
* **reports** — reports written (the audit trail's ``report.*`` records, one per kind and
  case however often regenerated) and completed-transfer notification tasks opened;
* **true matches** — cases closed as ``true_match``.

Each is attributed to the lists (the listed entities its alerts and decision reasons name), the
rules and the assets behind it; an item with none is counted under ``-``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sanctrace import __version__
from sanctrace.cases.reports import jst, render
from sanctrace.errors import BadRequest
from sanctrace.fileio import write_atomic
from sanctrace.services.context import Context
from sanctrace.store import reports as repo
from sanctrace.store.snapshots import now

__all__ = ["MEASURES", "SummaryRequest", "SummaryResult", "build_summary", "write_summary"]

MEASURES = ("holds", "blocks", "releases", "reports", "true_matches")
LABELS = {
    "holds": ("保留", "Holds"),
    "blocks": ("拒否", "Blocks"),
    "releases": ("保留解除", "Releases"),
    "reports": ("届出・報告", "Reports"),
    "true_matches": ("該当確定", "True matches"),
}
DIMENSIONS = {
    "list": ("リスト別", "By list"),
    "rule": ("ルール別", "By rule"),
    "asset": ("資産別", "By asset"),
}
NONE = "-"


@dataclass(frozen=True)
class SummaryRequest:
    start: date
    end: date  # inclusive
    out_dir: Path

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise BadRequest("--to: before --from")


@dataclass
class SummaryResult:
    csv_path: Path
    html_path: Path
    summary: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "csv": str(self.csv_path),
            "html": str(self.html_path),
            "totals": self.summary.get("totals"),
        }


def _item(rules: set[str], lists: set[str], assets: set[str]) -> dict[str, set[str]]:
    return {
        "rule": rules or {NONE},
        "list": lists or {NONE},
        "asset": {a.upper() for a in assets if a} or {NONE},
    }


def _of_alerts(found: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    rules = {a["rule"] for a in found}
    lists = {r["source"] for a in found for r in repo.listed_refs(a.get("evidence"))}
    return rules, lists


def _of_decision(decision: dict[str, Any] | None) -> tuple[set[str], set[str], set[str]]:
    if decision is None:
        return set(), set(), set()
    reasons = [r for r in decision.get("reasons") or [] if isinstance(r, dict)]
    acting = [r for r in reasons if r.get("action") in ("hold", "block")] or reasons
    rules = {str(r["rule"]) for r in acting if r.get("rule")}
    lists = {r["source"] for r in repo.listed_refs(acting)}
    inputs = decision.get("inputs") or {}
    asset = inputs.get("asset") if isinstance(inputs, dict) else None
    return rules, lists, {asset} if asset else set()


def build_summary(ctx: Context, start: date, end: date) -> dict[str, Any]:
    """The counts of the period [start, end] (whole UTC days), as JSON-ready data."""
    begin = datetime.combine(start, time.min, UTC)
    stop = datetime.combine(end + timedelta(days=1), time.min, UTC)
    with ctx.db.connect() as conn:
        act = repo.period_activity(conn, begin, stop)
        versions = repo.snapshots_in_force(conn, begin, stop)
    items: dict[str, list[dict[str, set[str]]]] = {m: [] for m in MEASURES}

    def hold_item(h: dict[str, Any]) -> dict[str, set[str]]:
        rules, lists = _of_alerts(act["alerts_by_decision"].get(h["decision_id"], []))
        d_rules, d_lists, _ = _of_decision(act["decisions"].get(h["decision_id"]))
        return _item(rules | d_rules, lists | d_lists, {h.get("asset") or ""})

    items["holds"] = [hold_item(h) for h in act["holds"]]
    items["releases"] = [hold_item(h) for h in act["released"]]
    for d in act["blocks"]:
        rules, lists, assets = _of_decision(d)
        a_rules, a_lists = _of_alerts(act["alerts_by_decision"].get(d["decision_id"], []))
        assets |= {act["asset_of_event"].get(d["event_id"]) or ""}
        items["blocks"].append(_item(rules | a_rules, lists | a_lists, assets))

    def case_item(case_id: int) -> dict[str, set[str]]:
        found = act["alerts_by_case"].get(case_id, [])
        rules, lists = _of_alerts(found)
        assets = {act["asset_of_event"].get(a.get("event_id") or "") or "" for a in found}
        return _item(rules, lists, assets)

    items["true_matches"] = [case_item(int(c["id"])) for c in act["true_matches"]]
    seen: set[tuple[str, str]] = set()
    for rec in act["reports"]:
        key = (rec["action"], rec["object_id"])
        if key in seen:
            continue
        seen.add(key)
        if rec["object_type"] == "case" and rec["object_id"].isdigit():
            items["reports"].append(case_item(int(rec["object_id"])))
        else:
            items["reports"].append(_item(set(), set(), set()))
    for t in act["tasks"]:
        payload = t.get("payload") or {}
        alert = act["alerts_by_id"].get(payload.get("alert_id"))
        rules, lists = _of_alerts([alert]) if alert else ({"sanctioned_address"}, set())
        source = (payload.get("listing") or {}).get("source")
        asset = (payload.get("transfer") or {}).get("asset")
        items["reports"].append(
            _item(rules, lists | ({source} if source else set()), {asset or ""})
        )

    totals = {m: len(items[m]) for m in MEASURES}
    by: dict[str, dict[str, dict[str, int]]] = {d: {} for d in DIMENSIONS}
    for measure, found in items.items():
        for item in found:
            for dim in DIMENSIONS:
                for name in item[dim]:
                    row = by[dim].setdefault(name, dict.fromkeys(MEASURES, 0))
                    row[measure] += 1
    generated = repo.iso(now())
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "period_utc": [repo.iso(begin), repo.iso(stop)],
        "generated_at": generated,
        "generated_at_jst": jst(generated),
        "generator": f"sanctrace {__version__}",
        "totals": totals,
        "by_list": dict(sorted(by["list"].items())),
        "by_rule": dict(sorted(by["rule"].items())),
        "by_asset": dict(sorted(by["asset"].items())),
        "list_versions": [
            {
                "source": v["source"],
                "snapshot_id": v["id"],
                "format": v["format"],
                "version": v.get("version"),
                "sha256": v["sha256"],
                "loaded_at": v["loaded_at"],
                "loaded_at_jst": jst(v["loaded_at"]),
            }
            for v in versions
        ],
    }


def to_csv(summary: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["dimension", "key", *MEASURES])
    writer.writerow(["total", "", *(summary["totals"][m] for m in MEASURES)])
    for dim in DIMENSIONS:
        for key, row in summary[f"by_{dim}"].items():
            writer.writerow([dim, key, *(row[m] for m in MEASURES)])
    return buf.getvalue()


def write_summary(ctx: Context, request: SummaryRequest) -> SummaryResult:
    summary = build_summary(ctx, request.start, request.end)
    stem = f"summary-{request.start.isoformat()}-{request.end.isoformat()}"
    csv_path = request.out_dir / f"{stem}.csv"
    html_path = request.out_dir / f"{stem}.html"
    write_atomic(csv_path, to_csv(summary))
    write_atomic(
        html_path,
        render(
            "summary.html",
            s=summary,
            measures=MEASURES,
            labels=LABELS,
            dimensions=DIMENSIONS,
        ),
    )
    return SummaryResult(csv_path, html_path, summary)
