"""The demo's casework: two users work one case end to end, release one hold, and file its
reports (a JAFIC pack and a goAML file) into the report folder — through the case services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sanctrace.cases import holds as hold_service
from sanctrace.cases import users
from sanctrace.cases.cases import (
    CaseOut,
    CaseQuery,
    approve_case,
    assign_case,
    close_case,
    comment_case,
    list_cases,
)
from sanctrace.cases.reports.goaml import GoamlRequest, write_goaml
from sanctrace.cases.reports.jafic import JaficRequest, write_pack
from sanctrace.demo.accounts import ANALYST, APPROVER
from sanctrace.services.context import Context

# The rule whose case the demo works: a withdrawal to a listed exchange's address.
WORKED_RULE = "sanctioned_address"
# The live withdrawal to a namesake of a listed person (demo.activity): the hold released.
NAMESAKE_EVENT = "live-wd-namesake"


def _pick(found: list[CaseOut]) -> CaseOut | None:
    """A customer's open case holding a listed-address alert, else the most severe one."""
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    with_customer = [c for c in found if c.customer_id]
    for case in with_customer:
        if any(a.rule == WORKED_RULE for a in case.alerts):
            return case
    ranked = sorted(with_customer, key=lambda c: (order.get(c.severity, 9), c.case_id))
    return ranked[0] if ranked else None


def casework_step(ctx: Context, report_dir: Path) -> tuple[str, dict[str, Any]]:
    """Work one case (assign, comment, close as a true match, approve by the second user),
    release one hold under four-eyes, and write the case's reports; returns the step's line
    and the report context."""
    analyst = users.acting_user(ctx, ANALYST)
    approver = users.acting_user(ctx, APPROVER)
    case = _pick(list_cases(ctx, CaseQuery(state="open")))
    context: dict[str, Any] = {"case": None, "hold": None, "files": []}
    parts = []
    if case is not None:
        cid = case.case_id
        assign_case(ctx, analyst, cid, ANALYST)
        comment_case(
            ctx,
            analyst,
            cid,
            "出金先アドレスは制裁リスト掲載の交換所のもの。取引を停止し届出を準備。 / "
            "The destination is a listed exchange's address; transfer stopped, report prepared.",
        )
        close_case(
            ctx,
            analyst,
            cid,
            "true_match",
            "リスト掲載アドレスへの出金要求 / withdrawal request to a listed address",
        )
        worked = approve_case(ctx, approver, cid)
        jafic = write_pack(ctx, JaficRequest(case_id=cid, out_dir=report_dir, user=APPROVER))
        goaml = write_goaml(
            ctx, GoamlRequest(case_id=cid, out=report_dir / f"goaml-case-{cid}.xml", user=APPROVER)
        )
        files = [jafic.json_path, jafic.html_path, goaml.path]
        context["case"] = worked.to_dict()
        context["files"] = [p.name for p in files]
        parts.append(
            f"case {cid} ({worked.subject}) worked by {ANALYST}, closed as a true match and "
            f"approved by {APPROVER}; JAFIC pack and goAML written"
        )
    held = hold_service.list_holds(ctx, hold_service.HoldQuery(state="held"))
    # The namesake's withdrawal: the beneficiary data shows another person (the others — a
    # North Korean IP, the sanctioned miner's coins — stay held).
    namesake = [h for h in held if h.event_id == NAMESAKE_EVENT]
    if namesake:
        hold = namesake[0]
        hold_service.request_release(
            ctx,
            hold.hold_id,
            analyst,
            "受取人は同姓同名の別人(国籍・住所が不一致)/ the beneficiary is a namesake: "
            "nationality and address differ from the listed person",
        )
        released = hold_service.approve_release(ctx, hold.hold_id, approver)
        context["hold"] = released.to_dict()
        parts.append(f"hold {hold.hold_id} released under four-eyes")
    line = "; ".join(parts) or "no open case or hold to work"
    return line, context
