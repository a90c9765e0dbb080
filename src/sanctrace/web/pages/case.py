"""The console's case page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sanctrace.cases.auth import Permission
from sanctrace.services.context import Context
from sanctrace.web.render import page
from sanctrace.web.session import page_requires

__all__ = ["router"]


def router(ctx: Context) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(
        "/cases/{case_id}",
        response_class=HTMLResponse,
        dependencies=[page_requires(Permission.READ)],
    )
    def show(request: Request, case_id: int) -> HTMLResponse:
        return page(request, "placeholder.html", title="Case")

    return router
