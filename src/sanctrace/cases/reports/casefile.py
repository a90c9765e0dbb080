"""The case file export: one ZIP with everything about a case, for an auditor or a regulator.

| member | content |
|---|---|
| ``case.json`` | the case row |
| ``alerts.json`` | its alerts (each with its evidence) |
| ``evidence/alert-<id>.json`` | each alert's evidence as captured at the time |
| ``events.json`` | the events behind the alerts (the validated records as stored) |
| ``decisions.json``, ``holds.json`` | the decisions on those events and their holds |
| ``notes.json`` | comments and attachments (evidence captured as JSON) |
| ``customer.json`` | the customer's stored data and latest ``customer`` event |
| ``lists.json`` | the listed entities named and the list snapshots (versions) in force |
| ``audit.jsonl`` | the audit records about the case, its alerts, holds and decisions, with ``prev_hash`` and ``hash`` |
| ``summary.html`` | a printable summary in Japanese |
| ``manifest.json`` | the SHA-256 of every other member |

Written atomically; the export itself is recorded in the audit trail.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sanctrace import __version__
from sanctrace.cases.reports import (
    DISPOSITION_JA,
    SEVERITY_JA,
    STATE_JA,
    CaseBundle,
    load_case,
    record_report,
    render,
    write_bytes_atomic,
)
from sanctrace.services.context import Context
from sanctrace.store.reports import iso
from sanctrace.store.snapshots import now

__all__ = ["CasefileRequest", "CasefileResult", "build_zip", "write_casefile"]

# A fixed time for every member, so the same case gives the same bytes but for the manifest.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class CasefileRequest:
    case_id: int
    out: Path
    user: str | None = None


@dataclass
class CasefileResult:
    case_id: int
    path: Path
    alerts: int
    audit_records: int
    members: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "path": str(self.path),
            "alerts": self.alerts,
            "audit_records": self.audit_records,
            "members": self.members,
        }


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n").encode()


def build_zip(bundle: CaseBundle) -> tuple[bytes, int]:
    """The ZIP's bytes and its number of members."""
    members: dict[str, bytes] = {
        "case.json": _json(bundle.case),
        "alerts.json": _json(bundle.alerts),
    }
    for a in bundle.alerts:
        members[f"evidence/alert-{a['id']}.json"] = _json(a.get("evidence"))
    members["events.json"] = _json(bundle.events)
    members["decisions.json"] = _json(bundle.decisions)
    members["holds.json"] = _json(bundle.holds)
    members["notes.json"] = _json(bundle.notes)
    members["customer.json"] = _json(bundle.customer)
    members["lists.json"] = _json(
        {
            "listed": bundle.listed,
            "snapshots": [bundle.snapshots[k] for k in sorted(bundle.snapshots)],
        }
    )
    members["audit.jsonl"] = "".join(
        json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) + "\n" for r in bundle.audit
    ).encode()
    generated = iso(now())
    members["summary.html"] = render(
        "casefile.html",
        b=bundle,
        generated=generated,
        generator=f"sanctrace {__version__}",
        state_ja=STATE_JA,
        severity_ja=SEVERITY_JA,
        disposition_ja=DISPOSITION_JA,
    ).encode()
    manifest = {
        "case_id": bundle.case_id,
        "generated_at": generated,
        "generator": f"sanctrace {__version__}",
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    members["manifest.json"] = _json(manifest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue(), len(members)


def write_casefile(ctx: Context, request: CasefileRequest) -> CasefileResult:
    bundle = load_case(ctx, request.case_id)
    data, count = build_zip(bundle)
    write_bytes_atomic(request.out, data)
    record_report(
        ctx,
        kind="casefile",
        case_id=request.case_id,
        actor=request.user,
        after={"file": request.out.name, "sha256": hashlib.sha256(data).hexdigest()},
    )
    return CasefileResult(
        request.case_id, request.out, len(bundle.alerts), len(bundle.audit), count
    )
