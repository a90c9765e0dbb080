"""``POST /v1/screen/name``: one name against the active lists."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sanctrace.api.errors import ERROR_RESPONSES
from sanctrace.model import Match, NameQuery
from sanctrace.names import Screener
from sanctrace.services._snapshot_cache import SnapshotCache
from sanctrace.services.context import Context
from sanctrace.services.names import build_screener

__all__ = ["names_router"]


class NameRequest(BaseModel):
    name: str = Field(min_length=1, max_length=500)
    schema_: str | None = Field(default=None, alias="schema")
    birth_date: str | None = None
    country: str | None = None
    name_kana: str | None = None
    identifiers: list[str] = Field(default_factory=list, max_length=20)
    top: int = Field(default=5, ge=1, le=50)
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)


class MatchOut(BaseModel):
    entity_id: str
    source: str
    source_id: str
    schema_: str = Field(serialization_alias="schema")
    entity_name: str
    matched_name: str
    query_name: str
    score: float
    explanation: str
    features: dict[str, float]
    snapshot_id: int | None


class NameResponse(BaseModel):
    query: str
    threshold: float
    snapshots: dict[str, int]
    matches: list[MatchOut]


def _match_out(m: Match) -> MatchOut:
    # The record's "schema" is "schema_" here: pydantic reserves the plain name.
    return MatchOut(**{**asdict(m), "schema_": m.schema})


def names_router(ctx: Context) -> APIRouter:
    router = APIRouter()
    cache: SnapshotCache[Screener] = SnapshotCache(ctx.db, build_screener)

    @router.post(
        "/v1/screen/name",
        response_model=NameResponse,
        response_model_by_alias=True,
        responses=ERROR_RESPONSES,
    )
    def screen_name(request: NameRequest) -> NameResponse:
        screener, snaps = cache.get()
        query = NameQuery(
            request.name,
            request.schema_,
            request.birth_date,
            request.country,
            request.name_kana,
            tuple(request.identifiers),
        )
        matches = screener.screen(query, top=request.top, threshold=request.threshold)
        threshold = request.threshold
        if threshold is None:
            threshold = screener.threshold_for(request.schema_ or "")
        return NameResponse(
            query=request.name,
            threshold=threshold,
            snapshots=snaps,
            matches=[_match_out(m) for m in matches],
        )

    return router
