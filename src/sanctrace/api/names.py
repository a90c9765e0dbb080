"""``POST /v1/screen/name``: one name against the active lists."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal, get_args

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sanctrace.api.auth import requires
from sanctrace.api.errors import ERROR_RESPONSES
from sanctrace.cases.auth import Permission
from sanctrace.model import Match
from sanctrace.services import names
from sanctrace.services.context import Context

__all__ = ["SCHEMAS", "ScreenSchema", "names_router"]

# The party schemas a name may be screened as; anything else (``PERSON``, ``Individual``) is
# a 422 naming these, never a silent "no match" (schemas are compared exactly downstream).
ScreenSchema = Literal[
    "Person", "Company", "Organization", "LegalEntity", "PublicBody", "Vessel", "Airplane"
]
SCHEMAS: tuple[str, ...] = get_args(ScreenSchema)


class NameRequest(BaseModel):
    name: str = Field(min_length=1, max_length=names.MAX_NAME)
    schema_: ScreenSchema | None = Field(default=None, alias="schema")
    birth_date: str | None = None
    country: str | None = None
    name_kana: str | None = None
    identifiers: list[str] = Field(default_factory=list, max_length=names.MAX_IDENTIFIERS)
    top: int = Field(default=5, ge=1, le=names.MAX_TOP)
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
    warnings: list[str] = []


def _match_out(m: Match) -> MatchOut:
    # The record's "schema" is "schema_" here: pydantic reserves the plain name.
    return MatchOut(**{**asdict(m), "schema_": m.schema})


def names_router(ctx: Context) -> APIRouter:
    """The name screening route over the context's lists."""
    router = APIRouter()

    @router.post(
        "/v1/screen/name",
        response_model=NameResponse,
        response_model_by_alias=True,
        responses=ERROR_RESPONSES,
        dependencies=[requires(Permission.SCREEN)],
    )
    def screen_name(request: NameRequest) -> NameResponse:
        answer = names.screen_name(
            ctx,
            names.NameScreenRequest(
                name=request.name,
                schema=request.schema_,
                birth_date=request.birth_date,
                country=request.country,
                name_kana=request.name_kana,
                identifiers=tuple(request.identifiers),
                top=request.top,
                threshold=request.threshold,
            ),
        )
        return NameResponse(
            query=answer.query,
            threshold=answer.threshold,
            snapshots=answer.snapshots,
            matches=[_match_out(m) for m in answer.matches],
            warnings=answer.warnings,
        )

    return router
