"""The console's lists pages: every source with its active snapshot and freshness (a stale
list first), a source's snapshots and the deltas between them, and one listed entity in full
(``services.lists``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sanctrace.cases.auth import Permission, Principal
from sanctrace.errors import NotFound
from sanctrace.services import lists as list_service
from sanctrace.services.context import Context
from sanctrace.web.pages.holds import age_text
from sanctrace.web.render import page
from sanctrace.web.session import page_requires

__all__ = ["DELTA_ROWS", "router"]

DELTA_ROWS = 500  # rows of each kind of change shown; the rest are counted
NAME_KINDS = ("primary", "alias", "weak_alias", "former")
# FtM properties the entity page shows in their own sections; the rest are "other details".
IDENTIFIERS = (
    "identifier",
    "idNumber",
    "passportNumber",
    "taxNumber",
    "registrationNumber",
    "innCode",
    "ogrnCode",
    "imoNumber",
    "unscId",
    "swiftBic",
    "leiCode",
    "callSign",
)
SANCTIONS = ("program", "programId", "sanctions", "topics", "authority")
ADDRESSES = ("address", "addressEntity", "country", "jurisdiction", "mainCountry")
HIDDEN = frozenset({"notes", *IDENTIFIERS, *SANCTIONS, *ADDRESSES})


def router(ctx: Context) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/lists", response_class=HTMLResponse)
    def show(
        request: Request, _user: Annotated[Principal, page_requires(Permission.READ)]
    ) -> HTMLResponse:
        sources = list_service.freshness(ctx)
        return page(
            request,
            "lists.html",
            sources=sources,
            stale=[s for s in sources if s.stale],
            stale_after_hours=int(list_service.STALE_AFTER.total_seconds() // 3600),
            age_text=age_text,
        )

    @router.get("/lists/entity/{entity_id:path}", response_class=HTMLResponse)
    def entity(
        request: Request,
        entity_id: str,
        _user: Annotated[Principal, page_requires(Permission.READ)],
    ) -> HTMLResponse:
        view = list_service.entity(ctx, entity_id)
        props = view.entity.properties
        return page(
            request,
            "entity.html",
            view=view,
            names=sorted(
                view.entity.names,
                key=lambda n: (NAME_KINDS.index(n.kind.value), n.script, n.value),
            ),
            identifiers=[(k, props[k]) for k in IDENTIFIERS if props.get(k)],
            sanctions=[(k, props[k]) for k in SANCTIONS if props.get(k)],
            addresses=[(k, props[k]) for k in ADDRESSES if props.get(k)],
            others=sorted((k, v) for k, v in props.items() if k not in HIDDEN and v),
            notes=props.get("notes", []),
        )

    @router.get("/lists/{source}", response_class=HTMLResponse)
    def source(
        request: Request,
        source: str,
        _user: Annotated[Principal, page_requires(Permission.READ)],
        snapshot: int | None = None,
    ) -> HTMLResponse:
        history = list_service.snapshot_history(ctx, source)
        chosen = snapshot or next((s.id for s in history if s.active), history[0].id)
        current = next((s for s in history if s.id == chosen), None)
        if current is None:
            raise NotFound(f"snapshot {chosen} is not a snapshot of {source!r}")
        delta = list_service.snapshot_delta(ctx, source, chosen)
        return page(
            request,
            "lists_source.html",
            source=source,
            history=history,
            current=current,
            delta=delta,
            added=delta.added[:DELTA_ROWS],
            removed=delta.removed[:DELTA_ROWS],
            changed=list(delta.changed.items())[:DELTA_ROWS],
            limit=DELTA_ROWS,
        )

    return router
