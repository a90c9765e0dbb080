"""``POST /v1/screen/company``: corporate customers checked through owners, UBOs and directors.

The body is either ``{"records": [FtM entities]}`` (companies, persons, Ownership,
Directorship … as in a KYB FtM file) or ``{"companies": [company objects]}``, where a company
object carries its shareholders (each may carry its own shareholders, to any depth), UBOs and
directors. The answer is ``{"results": [...], "problems": [...], "snapshots": {...}}``: one
result per customer company (the shape of ``sanctrace network check --json``). See
docs/companies.md.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sanctrace.services.companies import CompanyScreener, NoListsError
from sanctrace.services.context import Context

MAX_RECORDS = 20_000
MAX_COMPANIES = 1_000
MAX_PARTIES = 500
PARTY_SCHEMAS = {
    "person": "Person",
    "company": "Company",
    "organization": "Organization",
    "entity": "LegalEntity",
}


class PartyIn(BaseModel):
    """A shareholder, UBO or director; a shareholder company may list its own shareholders."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=500)
    type: Literal["person", "company", "organization", "entity"] = "person"
    country: str | None = Field(default=None, max_length=100)
    birth_date: str | None = Field(default=None, max_length=10)
    incorporation_date: str | None = Field(default=None, max_length=10)
    address: str | None = Field(default=None, max_length=500)
    phone: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    share: str | float | None = None  # percent: 60, "60%", "25-50", a UK PSC band
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


class CompanyRequest(BaseModel):
    """Exactly one of ``records`` (FtM entities) or ``companies`` (company objects)."""

    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=MAX_RECORDS)
    companies: list[CompanyIn] | None = Field(default=None, min_length=1, max_length=MAX_COMPANIES)

    @model_validator(mode="after")
    def one_form(self) -> CompanyRequest:
        if (self.records is None) == (self.companies is None):
            raise ValueError("give exactly one of 'records' or 'companies'")
        return self


def _props(**values: str | float | None) -> dict[str, list[str]]:
    return {k: [str(v)] for k, v in values.items() if v is not None and str(v).strip()}


class _Flattener:
    """Company objects to FtM entities, each with the JSON path that problems should name."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.origins: list[str] = []
        self.seen: set[str] = set()

    def add(self, record: dict, where: str) -> None:
        if record["id"] in self.seen:
            return  # a party named twice (two companies share a director) is one party
        self.seen.add(record["id"])
        self.records.append(record)
        self.origins.append(where)

    def company(self, c: CompanyIn, where: str) -> None:
        props = _props(
            name=c.name,
            jurisdiction=c.country,
            incorporationDate=c.incorporation_date,
            registrationNumber=c.registration_number,
            address=c.address,
            phone=c.phone,
            email=c.email,
        )
        self.add({"id": c.id, "schema": "Company", "properties": props}, where)
        self.owners(c.id, c.shareholders, f"{where}.shareholders")
        for i, p in enumerate(c.ubos):
            pid = self.party(p, f"{where}.ubos[{i}]")
            role = f"ubo: {p.role}" if p.role else "ubo"
            self.link("UnknownLink", "subject", pid, "object", c.id, p, role, f"{where}.ubos[{i}]")
        for i, p in enumerate(c.directors):
            pid = self.party(p, f"{where}.directors[{i}]")
            self.link(
                "Directorship",
                "director",
                pid,
                "organization",
                c.id,
                p,
                p.role or "director",
                f"{where}.directors[{i}]",
            )

    def owners(self, asset: str, parties: list[PartyIn], where: str) -> None:
        for i, p in enumerate(parties):
            at = f"{where}[{i}]"
            pid = self.party(p, at)
            self.link("Ownership", "owner", pid, "asset", asset, p, p.role, at)
            self.owners(pid, p.shareholders, f"{at}.shareholders")

    def party(self, p: PartyIn, where: str) -> str:
        schema = PARTY_SCHEMAS[p.type]
        pid = p.id
        if pid is None:  # same name, type and country: the same party
            key = "|".join((p.name.casefold(), schema, (p.country or "").casefold()))
            pid = "party-" + hashlib.sha1(key.encode()).hexdigest()[:12]  # noqa: S324 (an id)
        country = "nationality" if schema == "Person" else "jurisdiction"
        props = _props(
            name=p.name,
            birthDate=p.birth_date,
            incorporationDate=p.incorporation_date,
            address=p.address,
            phone=p.phone,
            email=p.email,
        ) | _props(**{country: p.country})
        self.add({"id": pid, "schema": schema, "properties": props}, where)
        return pid

    def link(
        self,
        schema: str,
        a: str,
        a_id: str,
        b: str,
        b_id: str,
        p: PartyIn,
        role: str | None,
        where: str,
    ) -> None:
        props = {a: [a_id], b: [b_id]} | _props(
            role=role, startDate=p.start_date, endDate=p.end_date
        )
        if p.share is not None:
            props |= _props(percentage=p.share) if schema == "Ownership" else {}
        rid = f"{where}:{schema.lower()}"
        self.add({"id": rid, "schema": schema, "properties": props}, where)


def company_router(ctx: Context) -> APIRouter:
    """The router over the context's database; the list side is cached per set of active
    snapshots."""
    router = APIRouter()
    screener = CompanyScreener(ctx.db)

    @router.post("/v1/screen/company")
    def screen_company(request: CompanyRequest) -> dict:
        """Verdicts (blocked, possibly blocked, not blocked), control, paths and signals."""
        if request.records is not None:
            records, origins, customers = request.records, None, None
        else:
            flat = _Flattener()
            for i, company in enumerate(request.companies or []):
                flat.company(company, f"companies[{i}]")
            records, origins = flat.records, flat.origins
            customers = {c.id for c in request.companies or []}
        try:
            check = screener.run(records, origins=origins, customers=customers)
        except NoListsError as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from exc
        if not check.results:
            raise HTTPException(
                status_code=422,
                detail={
                    "message": "no company could be read",
                    "problems": [str(p) for p in check.problems],
                },
            )
        return check.to_dict()

    return router
