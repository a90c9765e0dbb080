"""Hold routes: ``GET /v1/holds``, ``GET /v1/holds/{id}`` and ``POST /v1/holds/{id}/release``
(the request), ``…/approve`` (four-eyes: another approver) and ``…/reject``.

No tipping off: a hold is answered with ``HoldOut`` only (id, state, event id, decision id,
kind, asset, amount and times); reasons, rules, reports and case notes never leave here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from sanctrace.api.auth import requires
from sanctrace.api.errors import ERROR_RESPONSES
from sanctrace.cases import holds, webhooks
from sanctrace.cases.auth import Permission, Principal
from sanctrace.services.context import Context

__all__ = ["HoldOut", "holds_router", "webhook_lifespan"]

State = Literal["held", "release_pending", "released", "rejected"]


class HoldOut(BaseModel):
    """A hold as the platform sees it."""

    model_config = ConfigDict(extra="forbid")

    hold_id: int
    state: State
    event_id: str
    decision_id: str
    kind: str
    asset: str | None
    amount: str | None
    created_at: str | None
    updated_at: str | None


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=10_000)


class RejectIn(ReasonIn):
    target: bool = False  # an asset-freeze target of the FSA request: open the report task


def _out(hold: holds.Hold) -> HoldOut:
    return HoldOut(**hold.to_dict())


def holds_router(ctx: Context) -> APIRouter:
    router = APIRouter(tags=["holds"], responses=ERROR_RESPONSES)

    @router.get("/v1/holds", response_model=list[HoldOut], dependencies=[requires(Permission.READ)])
    def list_holds(
        state: Annotated[State | None, Query()] = None,
        customer: Annotated[str | None, Query(max_length=128)] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[HoldOut]:
        query = holds.HoldQuery(state=state, customer_id=customer, limit=limit)
        return [_out(h) for h in holds.list_holds(ctx, query)]

    @router.get(
        "/v1/holds/{hold_id}", response_model=HoldOut, dependencies=[requires(Permission.READ)]
    )
    def show_hold(hold_id: int) -> HoldOut:
        return _out(holds.get_hold(ctx, hold_id))

    @router.post("/v1/holds/{hold_id}/release", response_model=HoldOut)
    def release(
        hold_id: int, body: ReasonIn, who: Annotated[Principal, requires(Permission.WORK)]
    ) -> HoldOut:
        return _out(holds.request_release(ctx, hold_id, who, body.reason))

    @router.post("/v1/holds/{hold_id}/approve", response_model=HoldOut)
    def approve(hold_id: int, who: Annotated[Principal, requires(Permission.APPROVE)]) -> HoldOut:
        return _out(holds.approve_release(ctx, hold_id, who))

    @router.post("/v1/holds/{hold_id}/reject", response_model=HoldOut)
    def reject(
        hold_id: int, body: RejectIn, who: Annotated[Principal, requires(Permission.WORK)]
    ) -> HoldOut:
        return _out(holds.reject(ctx, hold_id, who, body.reason, target=body.target))

    return router


def webhook_lifespan(ctx: Context) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """The app's lifespan: with ``webhook_url`` set, a background thread delivers the
    webhooks (``cases.webhooks.start_delivery_loop``) while the app runs."""

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        if not ctx.settings.webhook_url:
            yield
            return
        thread, stop = webhooks.start_delivery_loop(ctx)
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=15)

    return lifespan
