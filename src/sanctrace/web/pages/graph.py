"""The console's transaction graph: the neighbourhood of an address or transaction, drawn with
the vendored cytoscape (``static/graph.js``) and grown on click through ``GET /v1/graph``.

The page renders the first step on the server (the subject, its inputs, outputs and cluster
neighbours) as tables too, so it reads without JavaScript and with a keyboard; every node row
links to the graph centred on it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sanctrace.cases.auth import Permission
from sanctrace.errors import SanctraceError
from sanctrace.services.context import Context
from sanctrace.services.neighbourhood import (
    DEFAULT_LIMIT,
    NeighbourhoodRequest,
    neighbourhood_service,
)
from sanctrace.web.render import page
from sanctrace.web.session import page_requires

__all__ = ["CYTOSCAPE", "router"]

CYTOSCAPE = "vendor/cytoscape-3.35.0.min.js"
MAX_FIELD = 200


def _field(value: str | None) -> str | None:
    value = (value or "").strip()[:MAX_FIELD]
    return value or None


def router(ctx: Context) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(
        "/graph", response_class=HTMLResponse, dependencies=[page_requires(Permission.READ)]
    )
    def show(
        request: Request,
        address: str | None = None,
        tx: str | None = None,
        chain: str | None = None,
    ) -> HTMLResponse:
        address, tx, chain = _field(address), _field(tx), _field(chain)
        data: dict[str, Any] | None = None
        error, status = None, 200
        if address or tx:
            try:
                answer = neighbourhood_service(ctx).around(
                    NeighbourhoodRequest(
                        address=address if not tx else None,
                        txid=tx,
                        chain=chain,
                        expand="all",
                        limit=DEFAULT_LIMIT,
                    )
                )
                data = answer.to_dict()
            except SanctraceError as exc:
                error, status = str(exc), exc.http_status
        nodes = {n["id"]: n for n in data["nodes"]} if data else {}
        return page(
            request,
            "graph.html",
            status_code=status,
            address=address or "",
            tx=tx or "",
            chain=chain or "",
            data=data,
            nodes=nodes,
            error=error,
            cytoscape=CYTOSCAPE,
        )

    return router
