"""The demo's monitoring step: the exchange's activity through the rules, live decisions, and
what the lookback found after the list update.

``load_history`` runs before the list update (the history happened before it): it loads the
demo chain (the exposure rules need it; the chain step loads the same files again, which is a
no-op), writes the history as event JSON lines into the demo folder and loads it through the
monitoring pipeline, so the rules raise their alerts as the events arrive. ``monitoring_step``
runs at the end: the live requests through ``decide``, and the report section.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sanctrace.chainstore.store import ChainStore
from sanctrace.demo.activity import Activity, build_activity
from sanctrace.demo.chain_world import generate_chain
from sanctrace.demo.files import data_dir, write_chain
from sanctrace.demo.world import World
from sanctrace.fileio import write_atomic
from sanctrace.monitor.alerts import AlertQuery, list_alerts
from sanctrace.monitor.decisions import decide
from sanctrace.monitor.pipeline import BATCH, process
from sanctrace.monitor.readers import read_event_files
from sanctrace.services.chain_data import load_chain, load_tags
from sanctrace.services.context import Context

__all__ = ["HistoryLoad", "load_history", "monitoring_context", "monitoring_step"]

EVIDENCE_CHARS = 600  # evidence shown per alert in the report (the full JSON is in alerts.json)
SHOWN_PER_RULE = 6


@dataclass
class HistoryLoad:
    """What the history load did."""

    activity: Activity
    path: Path
    events: int = 0
    stored: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)


def monitoring_context(ctx: Context, folder: Path) -> Context:
    """``ctx`` with the demo's chain store (the exposure rules read it)."""
    return Context(ctx.settings, db=ctx.db, chain_store=ChainStore(data_dir(folder) / "chain"))


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def load_history(ctx: Context, world: World, folder: Path, seed: int) -> HistoryLoad:
    """Load the demo chain, write the activity history and load it through the pipeline."""
    chain = generate_chain(world, seed)
    files = write_chain(chain, folder)
    load_chain(ctx.chain_store, [files["chain"]], fmt="btc_bigquery")
    load_tags(ctx.db, [files["tags"]], fmt="csv", name="demo exchange tags")
    activity = build_activity(world, chain, seed)
    path = folder / "activity" / "history.jsonl"
    _write_jsonl(path, activity.history)
    _write_jsonl(folder / "activity" / "live.jsonl", [request for _, _, request in activity.live])
    read = read_event_files([path])
    load = HistoryLoad(activity, path, events=len(read.events), problems=list(read.problems))
    events = sorted((e for _, e in read.events), key=lambda e: e.time)
    for start in range(0, len(events), BATCH):
        result = process(ctx, events[start : start + BATCH])
        load.stored += result.stored
        load.duplicates += result.duplicates
        load.problems += result.problems
    return load


def _short(evidence: Any) -> str:
    text = json.dumps(evidence, ensure_ascii=False, default=str)
    return text if len(text) <= EVIDENCE_CHARS else text[: EVIDENCE_CHARS - 1] + "…"


def monitoring_step(
    ctx: Context, history: HistoryLoad, report_dir: Path, update_snapshot: int
) -> tuple[str, dict[str, Any]]:
    """The live decisions and the report section; returns the step's line and its context."""
    decisions = []
    for label, kind, request in history.activity.live:
        answer = decide(ctx, kind, request)
        decisions.append(
            {
                "label": label,
                "kind": kind,
                "customer_id": request["customer_id"],
                "subject": request.get("address"),
                "amount": f"{request.get('amount')} {request.get('asset')}",
                **answer.to_dict(),
            }
        )
    shown = [
        {**d, "reasons": [{**r, "evidence_text": _short(r.get("evidence"))} for r in d["reasons"]]}
        for d in decisions
    ]
    write_atomic(
        report_dir / "decisions.json", json.dumps(decisions, ensure_ascii=False, indent=1) + "\n"
    )
    alerts = [a.to_dict() for a in list_alerts(ctx, AlertQuery(limit=10_000))]
    write_atomic(
        report_dir / "alerts.json", json.dumps(alerts, ensure_ascii=False, indent=1) + "\n"
    )
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for a in sorted(alerts, key=lambda a: (a["time"], a["alert_id"])):
        a["evidence_text"] = _short(a["evidence"])
        by_rule.setdefault(a["rule"], []).append(a)
    lookback = [a for a in alerts if a.get("snapshot_id") == update_snapshot]
    outcomes = Counter(d["decision"] for d in decisions)
    counts = ", ".join(f"{rule} {len(found)}" for rule, found in sorted(by_rule.items()))
    line = (
        f"{history.events} events ({history.stored} new) through the rules; "
        f"alerts by rule: {counts or 'none'}; "
        f"{len(decisions)} live decisions: "
        + ", ".join(f"{outcomes[o]} {o}" for o in ("allow", "hold", "block"))
        + f"; lookback after snapshot {update_snapshot}: {len(lookback)} alerts"
    )
    context = {
        "events": history.events,
        "stored": history.stored,
        "problems": history.problems,
        "history_file": f"{history.path.parent.name}/{history.path.name}",
        "decisions": shown,
        "by_rule": [
            {"rule": rule, "count": len(found), "shown": found[:SHOWN_PER_RULE]}
            for rule, found in sorted(by_rule.items())
        ],
        "lookback": lookback,
        "update_snapshot": update_snapshot,
        "planted": history.activity.planted,
    }
    return line, context
