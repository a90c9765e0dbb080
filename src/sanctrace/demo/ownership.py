"""The demo's corporate customers: the ownership file checked, the chains drawn as SVG."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from sanctrace.services.companies import CompanyRequest, CompanyService, summary
from sanctrace.store import Database

BOX_W, BOX_H, GAP, ROW, PAD = 200, 64, 76, 96, 12
LINE = 27  # characters of a name per line in a box (two lines at most)
MAX_ROWS = 3  # chains drawn per company
FILL = {"listed": "#a40000", "blocked": "#f6d5d5", "possibly": "#fbefc9", "clear": "#eef3ea"}


def _status(because: str | None) -> str:
    """The box style of a party from the reason the rule gives for it."""
    text = because or ""
    if text.startswith("listed"):
        return "listed"
    if text.startswith("blocked"):
        return "blocked"
    if text.startswith("possibly"):
        return "possibly"
    return "clear"


def _lines(name: str) -> list[str]:
    """A name in at most two lines of ``LINE`` characters, cut with an ellipsis."""
    lines = [""]
    for word in name.split():
        if lines[-1] and len(lines[-1]) + 1 + len(word) > LINE:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    if len(lines) > 2:
        lines = [lines[0], lines[1] + " …"]
    return [line if len(line) <= LINE else line[: LINE - 1] + "…" for line in lines]


def _box(x: int, y: int, name: str, status: str) -> str:
    fill = FILL[status]
    ink = "#ffffff" if status == "listed" else "#1d2430"
    label = {"listed": "LISTED", "blocked": "BLOCKED", "possibly": "POSSIBLY BLOCKED"}.get(
        status, ""
    )
    middle = x + BOX_W // 2
    lines = _lines(name)
    parts = [
        f"<g><title>{escape(name)}</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
        f'stroke="#5a6272"/>'
    ]
    for i, line in enumerate(lines):
        top = y + (20 if len(lines) > 1 else 26) + 14 * i
        parts.append(
            f'<text x="{middle}" y="{top}" fill="{ink}" text-anchor="middle" '
            f'font-size="12">{escape(line)}</text>'
        )
    if label:
        parts.append(
            f'<text x="{middle}" y="{y + 54}" fill="{ink}" text-anchor="middle" '
            f'font-size="10" font-weight="bold">{label}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _arrow(x1: int, x2: int, y: int, label: str, marker: str) -> str:
    mid = (x1 + x2) // 2
    return (
        f'<line x1="{x1}" y1="{y}" x2="{x2 - 2}" y2="{y}" stroke="#5a6272" stroke-width="1.5" '
        f'marker-end="url(#{marker})"/>'
        f'<text x="{mid}" y="{y - 7}" text-anchor="middle" font-size="12" '
        f'font-weight="bold">{escape(label)}</text>'
    )


def chain_svg(result: dict[str, Any]) -> str:
    """A drawing of the ownership chains of one result: owners left, the company right.

    Every text is escaped, so the drawing can be put into a page as it is.
    """
    chains = [p for p in result["paths"] if p.get("kind") == "ownership"][:MAX_ROWS]
    rows: list[list[tuple[str, str, str | None]]] = []  # (name, status, share into next)
    for path in chains:
        steps = path["steps"]
        row: list[tuple[str, str, str | None]] = [
            (steps[0]["owner_name"], _status(steps[0]["owner_blocked_because"]), None)
        ]
        for i, step in enumerate(steps):
            row[-1] = (row[-1][0], row[-1][1], step.get("share") or step.get("link") or "?")
            status = _status(steps[i + 1]["owner_blocked_because"]) if i + 1 < len(steps) else ""
            row.append((step["asset_name"], status, None))
        rows.append(row)
    final = {"blocked": "blocked", "possibly_blocked": "possibly"}.get(result["verdict"], "clear")
    for row in rows:
        row[-1] = (row[-1][0], final, None)
    if not rows:
        rows = [[(result["name"], "listed" if result.get("listed") else final, None)]]
    # One marker per drawing: ids must stay unique when a page holds several.
    marker = "arrow-" + re.sub(r"[^A-Za-z0-9_-]", "_", str(result["entity_id"]))
    width = PAD * 2 + max(len(r) for r in rows) * (BOX_W + GAP) - GAP
    height = PAD * 2 + len(rows) * ROW - (ROW - BOX_H)
    body = []
    for r, row in enumerate(rows):
        y = PAD + r * ROW
        for i, (name, status, share) in enumerate(row):
            x = PAD + i * (BOX_W + GAP)
            body.append(_box(x, y, name, status))
            if share is not None:
                body.append(_arrow(x + BOX_W, x + BOX_W + GAP, y + BOX_H // 2, share, marker))
    title = f"Ownership of {result['name']}: {result['verdict'].replace('_', ' ')}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" style="max-width:100%;height:auto" role="img" '
        f"aria-label={quoteattr(title)} "
        'font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title>"
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5a6272"/>'
        "</marker></defs>" + "".join(body) + "</svg>"
    )


def ownership_section(db: Database, world_dir: Path) -> dict[str, Any]:
    """Check the demo world's ownership file against the active lists; results and drawings.

    The planted company (``truth.json``, ``owned_companies``) is drawn; without a truth file,
    every company that is not clear is.
    """
    path = Path(world_dir) / "ownership.ftm.json"
    check = CompanyService(db).check(CompanyRequest.files([path]))
    truth_file = Path(world_dir) / "truth.json"
    truth = json.loads(truth_file.read_text(encoding="utf-8")) if truth_file.exists() else {}
    planted = [c["customer_id"] for c in truth.get("owned_companies", [])]
    focus = [r for r in check.results if r.entity_id in planted] or [
        r for r in check.results if r.hit
    ]
    verdicts = {r.entity_id: r.verdict for r in check.results}
    caught = [c for c in planted if verdicts.get(c) == "blocked"]
    results = [r.to_dict() | {"why": summary(r)} for r in check.results]
    drawings = [
        {"entity_id": r.entity_id, "name": r.name, "svg": chain_svg(r.to_dict())} for r in focus
    ]
    return {
        "file": path.name,
        "results": results,
        "problems": [str(p) for p in check.problems],
        "snapshots": check.snapshots,
        "planted": planted,
        "caught": caught,
        "drawings": drawings,
        "svg": drawings[0]["svg"] if drawings else "",
        "summary": f"{len(results)} companies checked, "
        f"{sum(r.verdict == 'blocked' for r in check.results)} blocked; "
        f"{len(caught)} of {len(planted)} planted companies caught through their owners",
    }
