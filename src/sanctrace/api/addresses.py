"""``POST /v1/screen/address``: list hits, tags and cluster tags of an address."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sanctrace.api.auth import requires
from sanctrace.api.errors import ERROR_RESPONSES
from sanctrace.cases.auth import Permission
from sanctrace.services import lists
from sanctrace.services.addresses import AddressAnswer, AddressScreener
from sanctrace.services.context import Context

__all__ = ["AddressRequest", "addresses_router"]


# The answer may lag a list load by this long (it names its snapshots): the version query is
# most of a warm answer's cost, and a list load itself takes seconds (services.addresses).
VERSION_MAX_AGE = 0.5


class AddressRequest(BaseModel):
    address: str = Field(min_length=1, max_length=200)


def addresses_router(ctx: Context) -> APIRouter:
    """The address screening endpoint over the context's database and chain store."""
    router = APIRouter()
    addresses = AddressScreener(ctx.db, ctx.chain_store, max_age=VERSION_MAX_AGE)

    @router.post(
        "/v1/screen/address",
        response_model=AddressAnswer,
        responses=ERROR_RESPONSES,
        dependencies=[requires(Permission.SCREEN)],
    )
    def screen_address(request: AddressRequest) -> AddressAnswer:
        """List hits, tags and cluster tags of an address; ``snapshots`` names the lists.
        422: not a valid address for any supported chain (and named by no list or tag);
        503: no lists loaded (no list snapshot active, no tag set), never "not sanctioned"."""
        answer = addresses.screen(request.address)
        return replace(answer, warnings=lists.staleness_notice(ctx))

    return router
