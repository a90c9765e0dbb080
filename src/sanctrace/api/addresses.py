"""``POST /v1/screen/address``: list hits, tags and cluster tags of an address."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sanctrace.services.addresses import AddressScreener
from sanctrace.services.context import Context

__all__ = ["addresses_router"]


class AddressRequest(BaseModel):
    address: str = Field(min_length=1, max_length=200)


def addresses_router(ctx: Context) -> APIRouter:
    router = APIRouter()
    addresses = AddressScreener(ctx.db, ctx.chain_store)

    @router.post("/v1/screen/address")
    def screen_address(request: AddressRequest) -> dict:
        """List hits, tags and cluster tags of an address; ``snapshots`` names the lists."""
        return addresses.screen(request.address)

    return router
