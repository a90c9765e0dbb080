"""``sanctrace network …``: check corporate customers through their owners and directors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from sanctrace.cli._console import DONE, HIT, context, err, out, print_json

if TYPE_CHECKING:
    from sanctrace.services.companies import CompanyResult

__all__ = ["chain_text", "network_app", "path_lines"]

network_app = typer.Typer(
    help="Ownership and control: corporate customers checked through their owners.",
    no_args_is_help=True,
)

VERDICT_STYLE = {"blocked": "bold red", "possibly_blocked": "bold yellow", "not_blocked": "green"}


def chain_text(path: dict[str, Any]) -> str:
    """A chain as text, owner first: ``A —100%→ B —60%→ C``."""
    steps = path.get("steps") or []
    if not steps:
        return ""
    parts = [steps[0]["owner_name"]]
    for step in steps:
        label = step.get("share") or step.get("link") or "?"
        if step.get("link") not in (None, "ownership"):
            label = f"{step['link']} {step['share']}" if step.get("share") else step["link"]
        parts.append(f"—{label}→ {step['asset_name']}")
    first = steps[0].get("owner_blocked_because")
    return " ".join(parts) + (f"  ({steps[0]['owner_name']}: {first})" if first else "")


def path_lines(result: CompanyResult) -> list[str]:
    """The explanation of one result, one line per path, control path and signal."""
    lines = []
    for path in result.paths:
        if path["kind"] == "match":
            lines.append(
                f"name match {path['score']:.2f} (threshold {path['threshold']:.2f}): "
                f"{path['node_name']} ~ {path['entity_name']} [{path['entity_id']}, "
                f"{path['source']} snapshot {path['snapshot_id']}]: {path['explanation']}"
            )
        else:
            kind = "ownership" if path.get("certain", True) else "possible ownership"
            lines.append(f"{kind}: {chain_text(path)}")
    for path in result.control_paths:
        lines.append(f"control: {chain_text(path)}")
    for signal in result.signals:
        lines.append(f"signal {signal['code']}: {signal['explanation']}")
    return lines


@network_app.command("check")
def network_check(
    paths: Annotated[
        list[Path], typer.Argument(help="KYB files: FtM JSON lines or CSV (docs/companies.md).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Check corporate customers against the active lists: the companies, their owners, UBOs
    and directors by name, then the 50% rule through ownership chains, and shell signals.

    Problems with single records go to stderr and the rest is checked. Exit 1 when a company
    is blocked or possibly blocked, 0 when none is, 2 when a file cannot be read or no
    company could be read, 3 when no list is loaded."""
    from sanctrace.services.companies import CompanyRequest, CompanyService

    check = CompanyService(context().db).check(CompanyRequest.files(paths))
    for problem in check.problems:
        err.print(f"problem: {problem}", markup=False, highlight=False, soft_wrap=True)
    if as_json:
        print_json([r.to_dict() for r in check.results])
    else:
        _print_table(check.results, check.snapshots)
        err.print(
            f"{len(check.results)} companies checked: {len(check.flagged)} flagged, "
            f"{len(check.problems)} problems",
            markup=False,
            highlight=False,
        )
    raise typer.Exit(HIT if check.hit else DONE)


def _print_table(results: list[CompanyResult], snapshots: dict[str, int]) -> None:
    """The table (company, id, verdict, controlled, why), then each company's explanation."""
    from sanctrace.services.companies import summary

    snaps = ", ".join(f"{s} {i}" for s, i in sorted(snapshots.items()))
    table = Table(title=Text(f"lists: {snaps}"))
    for column in ("company", "id", "verdict", "controlled", "why"):
        table.add_column(column, overflow="fold")
    for r in results:
        table.add_row(
            Text(r.name),
            Text(r.entity_id),
            Text(r.verdict, style=VERDICT_STYLE.get(r.verdict, "")),
            "yes" if r.controlled else "no",
            Text(summary(r)),
        )
    out.print(table)
    for r in results:
        lines = path_lines(r)
        if not lines:
            continue
        out.print(f"{r.name} [{r.entity_id}]: {r.verdict}", markup=False, highlight=False)
        for line in lines:
            out.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
