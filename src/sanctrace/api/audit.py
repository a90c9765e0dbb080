"""Audit routes: ``GET /v1/audit`` (the records, filtered, with their hashes) and
``GET /v1/audit/verify`` (the chain walked). Users with the ``read`` permission only (auditors
among them); platform API keys never see the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sanctrace.api.auth import requires
from sanctrace.api.errors import ERROR_RESPONSES
from sanctrace.cases import audit
from sanctrace.cases.auth import Permission
from sanctrace.services.context import Context

__all__ = ["AuditRecordOut", "VerifyOut", "audit_router"]


class AuditRecordOut(BaseModel):
    id: int
    time: str
    actor: str
    action: str
    object_type: str
    object_id: str
    before: Any = None
    after: Any = None
    reason: str | None = None
    record_type: str
    purged: bool
    prev_hash: str
    hash: str


class FailureOut(BaseModel):
    id: int
    reason: str


class VerifyOut(BaseModel):
    ok: bool
    records: int
    purged: int
    head_id: int | None
    head_hash: str
    failure: FailureOut | None


def audit_router(ctx: Context) -> APIRouter:
    router = APIRouter(tags=["audit"], responses=ERROR_RESPONSES)

    @router.get(
        "/v1/audit",
        response_model=list[AuditRecordOut],
        dependencies=[requires(Permission.READ)],
    )
    def list_audit(
        actor: Annotated[str | None, Query(max_length=64)] = None,
        action: Annotated[str | None, Query(max_length=64)] = None,
        object_type: Annotated[str | None, Query(max_length=32)] = None,
        object_id: Annotated[str | None, Query(max_length=128)] = None,
        record_type: Annotated[str | None, Query(max_length=32)] = None,
        since: Annotated[datetime | None, Query(description="From this time (ISO 8601).")] = None,
        until: Annotated[datetime | None, Query(description="Before this time.")] = None,
        after_id: Annotated[int, Query(ge=0, description="Page on: ids above this.")] = 0,
        limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT)] = 100,
    ) -> list[AuditRecordOut]:
        query = audit.AuditQuery(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            record_type=record_type,
            since=since,
            until=until,
            after_id=after_id,
            limit=limit,
        )
        return [AuditRecordOut(**r) for r in audit.list_records(ctx, query)]

    @router.get(
        "/v1/audit/verify", response_model=VerifyOut, dependencies=[requires(Permission.READ)]
    )
    def verify_audit() -> VerifyOut:
        return VerifyOut(**audit.verify(ctx).to_dict())

    return router
