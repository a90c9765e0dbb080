"""Case routes: ``GET /v1/cases`` (filtered), ``GET /v1/cases/{id}``, and ``POST
/v1/cases/{id}/assign|comment|attach|close|approve|reopen``. The acting user is the
authenticated principal; four-eyes is the service's (``cases.cases``): an approval by the user
who closed the case is 403."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from sanctrace.api.auth import requires
from sanctrace.api.errors import ERROR_RESPONSES, ErrorOut
from sanctrace.cases import cases
from sanctrace.cases.auth import Permission, Principal
from sanctrace.services.context import Context

__all__ = ["cases_router"]

State = Literal["open", "in_review", "pending_approval", "closed", "reopened"]
Disposition = Literal["true_match", "false_positive", "not_sanctions_related", "escalated"]
RESPONSES: dict[int | str, dict] = {
    **ERROR_RESPONSES,
    403: {"model": ErrorOut, "description": "Not allowed: the role, or four-eyes."},
}


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=1, max_length=64)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=cases.MAX_TEXT)


class AttachIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    content: Any


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disposition: Disposition
    reason: str = Field(min_length=1, max_length=cases.MAX_TEXT)
    suppress: bool = True  # false_positive: suppress the same alerts (four-eyes)
    suppression_days: int | None = Field(default=None, ge=1, le=3650)


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=cases.MAX_TEXT)


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=cases.MAX_TEXT)


def cases_router(ctx: Context) -> APIRouter:
    router = APIRouter(tags=["cases"], responses=RESPONSES)

    @router.get(
        "/v1/cases", response_model=list[cases.CaseOut], dependencies=[requires(Permission.READ)]
    )
    def list_cases(
        state: Annotated[State | None, Query()] = None,
        assignee: Annotated[str | None, Query(max_length=64)] = None,
        customer: Annotated[str | None, Query(max_length=128)] = None,
        limit: Annotated[int, Query(ge=1, le=cases.MAX_LIMIT)] = 1000,
    ) -> list[cases.CaseOut]:
        """Cases, the earliest due first, filtered by state, assignee and customer."""
        query = cases.CaseQuery(state=state, assignee=assignee, customer_id=customer, limit=limit)
        return cases.list_cases(ctx, query)

    @router.get(
        "/v1/cases/{case_id}",
        response_model=cases.CaseOut,
        dependencies=[requires(Permission.READ)],
    )
    def show_case(case_id: int) -> cases.CaseOut:
        return cases.show_case(ctx, case_id)

    @router.post("/v1/cases/{case_id}/assign", response_model=cases.CaseOut)
    def assign(
        case_id: int, body: AssignIn, who: Annotated[Principal, requires(Permission.WORK)]
    ) -> cases.CaseOut:
        return cases.assign_case(ctx, who, case_id, body.to)

    @router.post("/v1/cases/{case_id}/comment", response_model=cases.CaseOut)
    def comment(
        case_id: int, body: CommentIn, who: Annotated[Principal, requires(Permission.WORK)]
    ) -> cases.CaseOut:
        return cases.comment_case(ctx, who, case_id, body.text)

    @router.post("/v1/cases/{case_id}/attach", response_model=cases.CaseOut)
    def attach(
        case_id: int, body: AttachIn, who: Annotated[Principal, requires(Permission.WORK)]
    ) -> cases.CaseOut:
        """Attach evidence captured as JSON now."""
        return cases.attach_evidence(ctx, who, case_id, body.name, body.content)

    @router.post("/v1/cases/{case_id}/close", response_model=cases.CaseOut)
    def close(
        case_id: int, body: CloseIn, who: Annotated[Principal, requires(Permission.WORK)]
    ) -> cases.CaseOut:
        """Close with a disposition; true_match and a suppressing false_positive wait in
        pending_approval for another approver."""
        return cases.close_case(
            ctx,
            who,
            case_id,
            body.disposition,
            body.reason,
            suppress=body.suppress,
            suppression_days=body.suppression_days,
        )

    @router.post("/v1/cases/{case_id}/approve", response_model=cases.CaseOut)
    def approve(
        case_id: int,
        who: Annotated[Principal, requires(Permission.APPROVE)],
        body: ApproveIn | None = None,
    ) -> cases.CaseOut:
        """Four-eyes: approve a closing; 403 for the user who closed it."""
        return cases.approve_case(ctx, who, case_id, body.reason if body else None)

    @router.post("/v1/cases/{case_id}/reopen", response_model=cases.CaseOut)
    def reopen(
        case_id: int, body: ReopenIn, who: Annotated[Principal, requires(Permission.WORK)]
    ) -> cases.CaseOut:
        return cases.reopen_case(ctx, who, case_id, body.reason)

    return router
