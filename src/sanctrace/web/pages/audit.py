"""The console's audit page: the hash-chained log with filters and keyset pagination, the
chain's verification run on demand, and the export as a JSON lines download
(``cases.audit``)."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.background import BackgroundTask

from sanctrace.cases import audit as audit_service
from sanctrace.cases.auth import Permission, Principal
from sanctrace.errors import BadRequest
from sanctrace.services.context import Context
from sanctrace.web.render import page
from sanctrace.web.session import page_requires

__all__ = ["PAGE_SIZE", "download", "router"]

PAGE_SIZE = 50
FILTERS = ("actor", "action", "object_type", "object_id", "since", "until")


def download(folder: Path, path: Path, media_type: str, filename: str | None = None) -> Any:
    """Stream ``path`` back as an attachment, then remove its temporary ``folder``."""
    return FileResponse(
        path,
        media_type=media_type,
        filename=filename or path.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


def _pretty(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


def router(ctx: Context) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/audit", response_class=HTMLResponse)
    def show(
        request: Request,
        _user: Annotated[Principal, page_requires(Permission.READ)],
        actor: str = "",
        action: str = "",
        object_type: str = "",
        object_id: str = "",
        since: str = "",
        until: str = "",
        after: int = 0,
        verify: str = "",
    ) -> HTMLResponse:
        filters = {
            "actor": actor.strip(),
            "action": action.strip(),
            "object_type": object_type.strip(),
            "object_id": object_id.strip(),
            "since": since.strip(),
            "until": until.strip(),
        }
        error = None
        records: list[dict[str, Any]] = []
        try:
            query = audit_service.AuditQuery(
                **{k: v or None for k, v in filters.items()},
                after_id=max(after, 0),
                limit=PAGE_SIZE + 1,
            )
            records = audit_service.list_records(ctx, query)
        except BadRequest as exc:
            error = str(exc)
        more = len(records) > PAGE_SIZE
        records = records[:PAGE_SIZE]
        kept = {k: v for k, v in filters.items() if v}
        next_link = (
            "/audit?" + urlencode({**kept, "after": records[-1]["id"]})
            if more and records
            else None
        )
        return page(
            request,
            "audit.html",
            filters=filters,
            records=records,
            error=error,
            after=after,
            next_link=next_link,
            first_link="/audit?" + urlencode(kept) if after else None,
            export_query=urlencode({k: v for k, v in kept.items() if k in ("since", "until")}),
            verification=audit_service.verify(ctx) if verify else None,
            pretty=_pretty,
        )

    @router.get("/audit/export", response_model=None)
    def export(
        _user: Annotated[Principal, page_requires(Permission.READ)],
        since: str = "",
        until: str = "",
    ) -> FileResponse:
        folder = Path(tempfile.mkdtemp(prefix="sanctrace-audit-"))
        try:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            path = folder / f"audit-{stamp}.jsonl"
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                for line in audit_service.export_lines(ctx, since or None, until or None):
                    fh.write(line)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        response: FileResponse = download(folder, path, "application/x-ndjson")
        return response

    return router
