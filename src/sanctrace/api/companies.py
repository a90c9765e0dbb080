"""``POST /v1/screen/company``: corporate customers checked through owners, UBOs and directors.

The body is either ``{"records": [FtM entities]}`` (companies, persons, Ownership,
Directorship … as in a KYB FtM file) or ``{"companies": [company objects]}``, where a company
object carries its shareholders (each may carry its own shareholders, to any depth), UBOs and
directors. The answer is ``{"results": [...], "problems": [...], "snapshots": {...}}``: one
result per customer company (the shape of ``sanctrace network check --json``). Company
objects become plain ``KybCompany`` records here; flattening and party ids are
``network.kyb``'s. See docs/companies.md.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sanctrace.api.auth import requires
from sanctrace.api.errors import ERROR_RESPONSES
from sanctrace.cases.auth import Permission
from sanctrace.services.companies import CompanyRequest, CompanyService, KybCompany
from sanctrace.services.context import Context

__all__ = ["CompanyCheckOut", "CompanyIn", "CompanyRequestIn", "PartyIn", "company_router"]

MAX_RECORDS = 20_000
MAX_COMPANIES = 1_000
MAX_PARTIES = 500


class PartyIn(BaseModel):
    """A shareholder, UBO or director; a shareholder company may list its own shareholders."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=500)
    name_kana: str | None = Field(default=None, max_length=500)  # the kana reading of name
    type: Literal["person", "company", "organization", "entity"] = "person"
    country: str | None = Field(default=None, max_length=100)
    birth_date: str | None = Field(default=None, max_length=10)
    incorporation_date: str | None = Field(default=None, max_length=10)
    address: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    # percent: 60, "60%", "25-50", a UK PSC band; ``int`` first so 60 stays "60" in answers.
    # An unreadable value is not refused here: it counts as unknown and is reported.
    share: str | int | float | None = None
    role: str | None = Field(default=None, max_length=200)
    start_date: str | None = Field(default=None, max_length=10)
    end_date: str | None = Field(default=None, max_length=10)
    shareholders: list[PartyIn] = Field(default_factory=list, max_length=MAX_PARTIES)


PartyIn.model_rebuild()


class CompanyIn(BaseModel):
    """A corporate customer as KYB holds it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=500)
    country: str | None = Field(default=None, max_length=100)
    incorporation_date: str | None = Field(default=None, max_length=10)
    registration_number: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    shareholders: list[PartyIn] = Field(default_factory=list, max_length=MAX_PARTIES)
    ubos: list[PartyIn] = Field(default_factory=list, max_length=MAX_PARTIES)
    directors: list[PartyIn] = Field(default_factory=list, max_length=MAX_PARTIES)


class CompanyRequestIn(BaseModel):
    """Exactly one of ``records`` (FtM entities) or ``companies`` (company objects)."""

    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=MAX_RECORDS)
    companies: list[CompanyIn] | None = Field(default=None, min_length=1, max_length=MAX_COMPANIES)

    @model_validator(mode="after")
    def one_form(self) -> CompanyRequestIn:
        if (self.records is None) == (self.companies is None):
            raise ValueError("give exactly one of 'records' or 'companies'")
        return self

    def to_request(self) -> CompanyRequest:
        """The service's request: FtM records as given, company objects as plain data."""
        if self.companies is not None:
            companies = tuple(KybCompany.from_dict(c.model_dump()) for c in self.companies)
            return CompanyRequest(companies=companies)
        return CompanyRequest(records=tuple(self.records or ()))


class BlockedShareOut(BaseModel):
    low: float
    high: float


class CompanyResultOut(BaseModel):
    """One customer company: verdict, control and what explains them (docs/companies.md)."""

    entity_id: str
    name: str
    verdict: Literal["blocked", "possibly_blocked", "not_blocked"]
    controlled: bool
    paths: list[dict[str, Any]]
    signals: list[dict[str, Any]]
    eu_verdict: Literal["blocked", "possibly_blocked", "not_blocked"]
    listed: bool
    blocked_share: BlockedShareOut
    control_paths: list[dict[str, Any]]
    matches: list[dict[str, Any]]
    snapshots: dict[str, int]


class ProblemOut(BaseModel):
    """A bad record of the body, skipped (or a field of it ignored); the rest is checked."""

    origin: str
    field: str
    message: str
    record: str | None
    text: str


class CompanyCheckOut(BaseModel):
    results: list[CompanyResultOut]
    problems: list[ProblemOut]
    snapshots: dict[str, int]


def company_router(ctx: Context) -> APIRouter:
    """The router over the context's database; the list side is cached per set of active
    snapshots."""
    router = APIRouter()
    service = CompanyService(ctx.db)

    @router.post(
        "/v1/screen/company",
        response_model=CompanyCheckOut,
        responses=ERROR_RESPONSES,
        dependencies=[requires(Permission.SCREEN)],
    )
    def screen_company(request: CompanyRequestIn) -> dict[str, Any]:
        """Verdicts (blocked, possibly blocked, not blocked), control, paths and signals.

        422 when no company could be read (the message names the problems), 503 when no list
        is loaded."""
        return service.check(request.to_request()).to_dict()

    return router
