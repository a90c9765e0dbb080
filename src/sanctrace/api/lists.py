"""``GET /v1/lists``: the active snapshot of each source, with counts and freshness;
``GET /v1/lists/entities/{id}``: one listed entity in full; ``GET /v1/lists/{source}/warnings``:
the warnings of the source's last load."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

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
    published: str | None = None


class FreshnessOut(BaseModel):
    checked_at: str
    age_hours: float
    max_age_hours: float
    stale: bool


class SourceStatusOut(BaseModel):
    snapshot: SnapshotOut
    entities: int
    schemas: dict[str, int]
    names: int
    addresses: dict[str, int]
    invalid_addresses: int
    warnings: int
    freshness: FreshnessOut | None = None


class NameOut(BaseModel):
    value: str
    kind: str
    script: str | None
    lang: str | None


class CryptoOut(BaseModel):
    asset: str
    chain: str
    address: str
    valid: bool
    reason: str | None


class LinkOut(BaseModel):
    relation: str
    role: str
    other_id: str
    other_caption: str | None
    details: dict[str, list[str]]


class EntityOut(BaseModel):
    """A listed entity: names in every script, FtM properties (birthDate, nationality,
    identifiers, address, program, createdAt, notes …), crypto addresses, relations."""

    id: str
    schema_: str = Field(alias="schema")  # "schema" would shadow BaseModel.schema
    caption: str
    source: str
    snapshot_id: int
    active: bool
    names: list[NameOut]
    properties: dict[str, list[str]]
    crypto: list[CryptoOut]
    links: list[LinkOut]


class WarningsOut(BaseModel):
    source: str
    snapshot_id: int
    version: str | None
    loaded_at: str
    warnings: list[str]


def lists_router(ctx: Context) -> APIRouter:
    """The list routes over the context's database."""
    router = APIRouter()

    @router.get(
        "/v1/lists",
        response_model=dict[str, SourceStatusOut],
        responses=ERROR_RESPONSES,
        dependencies=[requires(Permission.READ)],
    )
    def status() -> dict[str, dict[str, Any]]:
        return lists.status(ctx).to_dict()

    @router.get(
        "/v1/lists/entities/{entity_id:path}",
        response_model=EntityOut,
        responses=ERROR_RESPONSES,
        dependencies=[requires(Permission.READ)],
    )
    def show(entity_id: str) -> dict[str, Any]:
        return lists.entity(ctx, entity_id).to_dict()

    @router.get(
        "/v1/lists/{source}/warnings",
        response_model=WarningsOut,
        responses=ERROR_RESPONSES,
        dependencies=[requires(Permission.READ)],
    )
    def warnings(source: str) -> dict[str, Any]:
        return lists.load_warnings(ctx, source).to_dict()

    return router
