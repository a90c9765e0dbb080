"""The console's screen page: ad-hoc checks of a name, an address, a transaction or a company,
with the explanations the CLI and the API give (the same services answer).

Checks are GET forms (``/screen?kind=name&name=…``): screening changes nothing, so there is no
CSRF token to carry, and a result can be bookmarked, reloaded and linked to (the graph page
links here). Only users with the SCREEN permission may use it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sanctrace.cases.auth import Permission
from sanctrace.errors import BadRequest, SanctraceError
from sanctrace.services.addresses import AddressScreener
from sanctrace.services.companies import (
    CompanyRequest,
    CompanyService,
    KybCompany,
    KybParty,
    summary,
)
from sanctrace.services.context import Context
from sanctrace.services.exposure import ExposureRequest
from sanctrace.services.names import NameScreenRequest, screen_name
from sanctrace.services.neighbourhood import neighbourhood_service
from sanctrace.web.render import page
from sanctrace.web.session import page_requires

__all__ = ["KINDS", "parse_shareholders", "router"]

KINDS = ("name", "address", "tx", "company")
MAX_FIELD = 500
MAX_SHAREHOLDERS = 100
PARTY_TYPES = ("person", "company", "organization", "entity")


def _text(value: str | None, limit: int = MAX_FIELD) -> str:
    return (value or "").strip()[:limit]


def parse_shareholders(text: str) -> list[KybParty]:
    """Shareholders from lines ``name;share`` (optionally ``;type``: person, company, …);
    blank lines are skipped; ``BadRequest`` names a bad line."""
    parties = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        if not parts[0]:
            raise BadRequest(f"shareholders: line {number}: a name comes first (name;share)")
        share = parts[1] if len(parts) > 1 and parts[1] else None
        kind = parts[2].lower() if len(parts) > 2 and parts[2] else "person"
        if kind not in PARTY_TYPES:
            raise BadRequest(
                f"shareholders: line {number}: type {kind!r} is not one of {', '.join(PARTY_TYPES)}"
            )
        parties.append(KybParty(name=parts[0][:MAX_FIELD], share=share, type=kind))
    if len(parties) > MAX_SHAREHOLDERS:
        raise BadRequest(f"shareholders: at most {MAX_SHAREHOLDERS} lines")
    return parties


@dataclass
class _Form:
    """What the user typed, kept to refill the forms."""

    kind: str = ""
    name: str = ""
    schema: str = ""
    birth_date: str = ""
    country: str = ""
    address: str = ""
    txid: str = ""
    output_index: str = ""
    chain: str = ""
    direction: str = "in"
    company: str = ""
    company_country: str = ""
    shareholders: str = ""


def router(ctx: Context) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    services: dict[str, Any] = {}

    def addresses() -> AddressScreener:
        if "addresses" not in services:
            services["addresses"] = AddressScreener(ctx.db, ctx.chain_store)
        found: AddressScreener = services["addresses"]
        return found

    def companies() -> CompanyService:
        if "companies" not in services:
            services["companies"] = CompanyService(ctx.db)
        found: CompanyService = services["companies"]
        return found

    def check(form: _Form) -> Any:
        if form.kind == "name":
            if not form.name:
                raise BadRequest("name: type a name to screen")
            return screen_name(
                ctx,
                NameScreenRequest(
                    name=form.name,
                    schema={"person": "Person", "company": "Company"}.get(form.schema),
                    birth_date=form.birth_date or None,
                    country=form.country or None,
                ),
            )
        if form.kind == "address":
            if not form.address:
                raise BadRequest("address: type an address to screen")
            return addresses().screen(form.address)
        if form.kind == "tx":
            if not form.txid:
                raise BadRequest("txid: type a transaction id to screen")
            index = None
            if form.output_index:
                try:
                    index = int(form.output_index)
                except ValueError:
                    raise BadRequest(
                        f"output_index: {form.output_index!r} is not a number"
                    ) from None
            request = ExposureRequest(
                txid=form.txid,
                output_index=index,
                chain=form.chain or None,
                direction=form.direction,
            )
            return neighbourhood_service(ctx).exposure.screen(request)
        if form.kind == "company":
            if not form.company:
                raise BadRequest("company: type the company's name")
            company = KybCompany(
                id="screen",
                name=form.company,
                country=form.company_country or None,
                shareholders=tuple(parse_shareholders(form.shareholders)),
            )
            return companies().check(CompanyRequest(companies=(company,)))
        return None

    @router.get(
        "/screen", response_class=HTMLResponse, dependencies=[page_requires(Permission.SCREEN)]
    )
    def show(
        request: Request,
        kind: str = "",
        name: str = "",
        schema: str = "",
        birth_date: str = "",
        country: str = "",
        address: str = "",
        txid: str = "",
        output_index: str = "",
        chain: str = "",
        direction: str = "in",
        company: str = "",
        company_country: str = "",
        shareholders: str = "",
    ) -> HTMLResponse:
        form = _Form(
            kind=kind if kind in KINDS else "",
            name=_text(name),
            schema=_text(schema, 16),
            birth_date=_text(birth_date, 10),
            country=_text(country, 100),
            address=_text(address, 200),
            txid=_text(txid, 100),
            output_index=_text(output_index, 10),
            chain=_text(chain, 16),
            direction="out" if direction == "out" else "in",
            company=_text(company),
            company_country=_text(company_country, 100),
            shareholders=_text(shareholders, 20_000),
        )
        result, error, status = None, None, 200
        if form.kind:
            try:
                result = check(form)
            except SanctraceError as exc:
                error, status = str(exc), exc.http_status
        return page(
            request,
            "screen.html",
            status_code=status,
            form=form,
            result=result,
            error=error,
            summary=summary,
        )

    return router
