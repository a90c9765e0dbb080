"""The console's pages, one module per page group, each a ``router(ctx)``."""

from __future__ import annotations

from fastapi import APIRouter

from sanctrace.services.context import Context
from sanctrace.web.pages import audit, case, dashboard, graph, holds, lists, queue, reports, screen

__all__ = ["routers"]

_MODULES = (dashboard, queue, case, graph, screen, holds, lists, audit, reports)


def routers(ctx: Context) -> list[APIRouter]:
    return [module.router(ctx) for module in _MODULES]
