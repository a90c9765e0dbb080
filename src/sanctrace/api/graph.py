"""``GET /v1/graph``: the neighbourhood of an address or transaction, one step at a time.

The console's transaction graph calls it when a node is expanded; see
``services.neighbourhood`` for what each expansion returns and how large ones are capped.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from sanctrace.api.auth import requires
from sanctrace.api.errors import ERROR_RESPONSES
from sanctrace.cases.auth import Permission
from sanctrace.services.context import Context
from sanctrace.services.neighbourhood import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    NeighbourhoodRequest,
    neighbourhood_service,
)

__all__ = ["GraphOut", "graph_router"]


class UnitOut(BaseModel):
    symbol: str
    decimals: int | None


class NodeOut(BaseModel):
    id: str = Field(description='"address:<address>" or "tx:<txid>"')
    kind: Literal["address", "tx"]
    label: str
    address: str | None
    txid: str | None
    listed: bool = Field(description="named by an active list snapshot")
    tagged: bool = Field(description="has attribution tags")
    sanctioned: bool
    lists: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    height: int | None
    time: int | None
    value: int | None
    inputs: int | None
    outputs: int | None


class EdgeOut(BaseModel):
    id: str
    source: str
    target: str
    kind: Literal["input", "output", "transfer", "cluster"]
    amount: int | None = Field(description="base units (satoshi, wei, …); none for cluster")
    amount_text: str
    index: int | None
    count: int


class MoreOut(BaseModel):
    """What an expansion left out: ``count`` more edges worth ``amount``."""

    node: str
    expand: str
    shown: int
    total: int
    count: int
    amount: int | None
    amount_text: str
    next_offset: int = Field(description="offset for the next page; 0 when none is left")


class ClusterOut(BaseModel):
    id: int
    size: int
    build: str


class GraphOut(BaseModel):
    """The subject's node and one step of the expansion asked for."""

    center: str
    chain: str
    unit: UnitOut
    expand: str
    limit: int
    offset: int
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    more: list[MoreOut]
    notes: list[str]
    cluster: ClusterOut | None


def graph_router(ctx: Context) -> APIRouter:
    """The graph endpoint over the context's chain store, lists and tags."""
    router = APIRouter()

    @router.get(
        "/v1/graph",
        response_model=GraphOut,
        responses=ERROR_RESPONSES,
        dependencies=[requires(Permission.READ)],
    )
    def graph(
        address: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        tx: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        chain: Annotated[str | None, Query(max_length=16)] = None,
        expand: Annotated[
            Literal["none", "inputs", "outputs", "cluster", "all"],
            Query(description="what to add around the subject"),
        ] = "all",
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> Any:
        """The nodes and edges around an address or transaction (``tx``), one step: its
        ``inputs``, ``outputs``, ``cluster`` neighbours or ``all``. At most ``limit`` edges
        per expansion, largest first; ``more`` says what was left out. 404: unknown address
        or transaction; 422: neither or both given; 503: no chain data for the chain."""
        request = NeighbourhoodRequest(
            address=address, txid=tx, chain=chain, expand=expand, limit=limit, offset=offset
        )
        return neighbourhood_service(ctx).around(request).to_dict()

    return router
