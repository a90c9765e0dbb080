"""``GET /v1/lists``: the active snapshot of each source, with counts."""

from __future__ import annotations

from fastapi import APIRouter

from sanctrace.lists.snapshots import status
from sanctrace.services.context import Context

__all__ = ["lists_router"]


def lists_router(ctx: Context) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/lists")
    def lists() -> dict:
        return status(ctx.db)

    return router
