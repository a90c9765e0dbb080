"""``POST /v1/screen/transaction``: pre-credit and pre-withdrawal exposure screening."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, model_validator

from sanctrace.chain.exposure import DEFAULT_HOPS, MAX_HOPS
from sanctrace.errors import SanctraceError
from sanctrace.services.context import Context
from sanctrace.services.exposure import ExposureService, Question


class TransactionRequest(BaseModel):
    """One transaction (optionally one of its outputs) or one address to screen."""

    txid: str | None = Field(default=None, min_length=1, max_length=100)
    output_index: int | None = Field(default=None, ge=0)
    address: str | None = Field(default=None, min_length=1, max_length=200)
    chain: str | None = Field(default=None, max_length=16)
    direction: Literal["in", "out"] = "in"
    model: Literal["haircut", "poison", "fifo"] = "haircut"
    hops: int = Field(default=DEFAULT_HOPS, ge=0, le=MAX_HOPS)
    paths: int = Field(default=5, ge=0, le=50)
    token: str | None = Field(default=None, max_length=100)  # account chains

    @model_validator(mode="after")
    def _one_subject(self) -> TransactionRequest:
        if (self.txid is None) == (self.address is None):
            raise ValueError("give exactly one of txid or address")
        if self.output_index is not None and self.txid is None:
            raise ValueError("output_index needs txid")
        return self


def exposure_router(ctx: Context) -> APIRouter:
    """The exposure endpoint over the context's database and chain store."""
    router = APIRouter()
    service = ExposureService(ctx.db, ctx.chain_store)

    @router.post("/v1/screen/transaction")
    def screen_transaction(request: TransactionRequest) -> dict:
        """Exposure with its evidence paths, a risk decision and the data it was computed on.

        ``direction`` "in" screens a deposit (where the funds came from), "out" a withdrawal
        (where funds sent from the address or transaction went)."""
        question = Question(
            request.chain,
            request.txid,
            request.output_index,
            request.address,
            request.direction,
            request.model,
            request.hops,
            request.paths,
            request.token,
        )
        try:
            return service.screen(question)
        except SanctraceError as exc:
            # Unknown transaction, address or chain: the caller's question, not our failure.
            raise HTTPException(status_code=404, detail=str(exc)) from exc

    return router
