"""``POST /v1/screen/transaction``: pre-credit and pre-withdrawal exposure screening."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sanctrace.api.auth import requires
from sanctrace.api.errors import ERROR_RESPONSES
from sanctrace.cases.auth import Permission
from sanctrace.services.context import Context
from sanctrace.services.exposure import ExposureRequest, ExposureService

__all__ = ["ExposureOut", "TransactionRequest", "exposure_router"]

# The request's defaults are the service's (a dataclass keeps a field's default as the class
# attribute), so the OpenAPI document shows what applies.


class TransactionRequest(BaseModel):
    """One transaction (optionally one of its outputs) or one address to screen.

    Only types and sizes are checked here; the options are checked by the service
    (``chain.exposure_options``), and a bad one is a 422 naming the field."""

    txid: str | None = Field(default=None, min_length=1, max_length=100)
    output_index: int | None = None
    address: str | None = Field(default=None, min_length=1, max_length=200)
    chain: str | None = Field(default=None, max_length=16)
    direction: str = Field(
        default=ExposureRequest.direction, description="in (deposit) or out (withdrawal)"
    )
    model: str = Field(default=ExposureRequest.model, description="haircut, poison or fifo")
    hops: int = Field(default=ExposureRequest.hops, description="hop limit, 0..10")
    paths: int = Field(default=ExposureRequest.paths, description="evidence paths, 0..50")
    token: str | None = Field(default=None, max_length=100)  # account chains


# The answer's schema, mirroring ``services.exposure.ExposureAnswer.to_dict()``.


class StepOut(BaseModel):
    txid: str
    output_index: int = Field(description="UTXO: output index; account chains: log index")
    address: str | None
    tags: list[str]
    amount: int = Field(description="base units (satoshi, wei, …)")


class PathOut(BaseModel):
    value: float
    hops: int
    steps: list[StepOut]


class EntityOut(BaseModel):
    entity: str | None
    label: str | None
    category: str | None
    tainted_value: float
    fraction: float


class StopOut(BaseModel):
    txid: str | None
    output_index: int | None
    address: str | None
    label: str
    tainted_value: float


class RiskOut(BaseModel):
    level: Literal["flagged", "direct", "indirect", "none"]
    action: Literal["block", "review", "allow"]
    why: str


class BasisOut(BaseModel):
    snapshots: dict[str, int]
    tag_sets: list[int]
    flagged_file: str | None = None
    flagged: int
    stops: int
    chain_loads: list[str]
    cluster_build: str | None = Field(default=None, description="UTXO chains only")


class ExposureOut(BaseModel):
    """Exposure with evidence paths, a risk decision and its basis; values in base units."""

    subject: str
    direction: Literal["in", "out"]
    model: str
    hops_limit: int = Field(description="-1: no hop limit (account chains)")
    value: int
    tainted_value: float
    fraction: float
    min_hops: int | None
    by_category: dict[str, float]
    by_entity: list[EntityOut]
    stopped: list[StopOut]
    paths: list[PathOut]
    chain: str
    risk: RiskOut
    basis: BasisOut


def exposure_router(ctx: Context) -> APIRouter:
    """The exposure endpoint over the context's database and chain store."""
    router = APIRouter()
    service = ExposureService(ctx.db, ctx.chain_store)

    @router.post(
        "/v1/screen/transaction",
        response_model=ExposureOut,
        # Optional basis keys absent from an answer stay absent, as the CLI's JSON has them.
        response_model_exclude_unset=True,
        responses=ERROR_RESPONSES,
        dependencies=[requires(Permission.SCREEN)],
    )
    def screen_transaction(request: TransactionRequest) -> Any:
        """Exposure with its evidence paths, a risk decision and the data it was computed on.

        ``direction`` "in" screens a deposit (where the funds came from), "out" a withdrawal
        (where funds sent from the address or transaction went). 404: unknown transaction,
        output or address; 422: a bad option; 503: no chain data for the chain."""
        return service.screen(ExposureRequest(**request.model_dump())).to_dict()

    return router
