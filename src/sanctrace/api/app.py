"""The REST API: screening of names, addresses, transactions and companies; list status.
Every answer names its snapshots."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import FastAPI
from pydantic import BaseModel, Field

from sanctrace import __version__
from sanctrace.api.companies import company_router
from sanctrace.api.exposure import exposure_router
from sanctrace.lists.snapshots import status
from sanctrace.model import Match, NameQuery
from sanctrace.monitor.addresses import AddressScreener
from sanctrace.monitor.screening import build_screener
from sanctrace.monitor.snapshot_cache import SnapshotCache
from sanctrace.names import Screener
from sanctrace.store import open_database


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


class AddressRequest(BaseModel):
    address: str = Field(min_length=1, max_length=200)


def _match_out(m: Match) -> MatchOut:
    # The record's "schema" is "schema_" here: pydantic reserves the plain name.
    return MatchOut(**{**asdict(m), "schema_": m.schema})


def create_app(db_url: str | None = None) -> FastAPI:
    """The application over the database at ``db_url`` (resolved like the CLI's ``--db``)."""
    db = open_database(db_url)
    cache: SnapshotCache[Screener] = SnapshotCache(db, build_screener)
    addresses = AddressScreener(db)
    app = FastAPI(title="sanctrace", version=__version__)

    @app.get("/v1/health")
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.get("/v1/lists")
    def lists() -> dict:
        return status(db)

    @app.post("/v1/screen/name", response_model=NameResponse, response_model_by_alias=True)
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

    @app.post("/v1/screen/address")
    def screen_address(request: AddressRequest) -> dict:
        """List hits, tags and cluster tags of an address; ``snapshots`` names the lists."""
        return addresses.screen(request.address)

    app.include_router(exposure_router(db))
    app.include_router(company_router(db))
    return app
