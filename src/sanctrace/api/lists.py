"""``GET /v1/lists``: the active snapshot of each source, with counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from sanctrace.api.auth import requires
from sanctrace.api.errors import ERROR_RESPONSES
from sanctrace.cases.auth import Permission
from sanctrace.services import lists
from sanctrace.services.context import Context

__all__ = ["lists_router"]


class SnapshotOut(BaseModel):
    id: int
    version: str | None
    sha256: str
    loaded_at: str
    format: str


class SourceStatusOut(BaseModel):
    snapshot: SnapshotOut
    entities: int
    schemas: dict[str, int]
    names: int
    addresses: dict[str, int]
    invalid_addresses: int
    warnings: int


def lists_router(ctx: Context) -> APIRouter:
    """The list status route over the context's database."""
    router = APIRouter()

    @router.get(
        "/v1/lists",
        response_model=dict[str, SourceStatusOut],
        responses=ERROR_RESPONSES,
        dependencies=[requires(Permission.READ)],
    )
    def status() -> dict[str, dict[str, Any]]:
        return lists.status(ctx).to_dict()

    return router
