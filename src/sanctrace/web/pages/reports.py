"""The console's reports page: pick a case and download its JAFIC pack (HTML or JSON), its
goAML file and its case file; the period summary (CSV or HTML).

Each report is written by its service (``cases.reports``) into a temporary folder and streamed
back as a file; the service records the writing in the audit trail. Writing is a change, so
the downloads are POSTs with the session's CSRF token.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse

from sanctrace.cases import cases as case_service
from sanctrace.cases.auth import Permission, Principal
from sanctrace.cases.reports.casefile import CasefileRequest, write_casefile
from sanctrace.cases.reports.goaml import GoamlRequest, write_goaml
from sanctrace.cases.reports.jafic import JaficRequest, write_pack
from sanctrace.cases.reports.summary import SummaryRequest, write_summary
from sanctrace.errors import BadRequest
from sanctrace.services.context import Context
from sanctrace.web.pages.audit import download
from sanctrace.web.render import page
from sanctrace.web.session import page_requires

__all__ = ["router"]

CASES_SHOWN = 500
HTML = "text/html; charset=utf-8"


def _in_temp(make: Callable[[Path], tuple[Path, str]]) -> FileResponse:
    """Run ``make`` in a new temporary folder; stream the file it names back, then remove
    the folder."""
    folder = Path(tempfile.mkdtemp(prefix="sanctrace-report-"))
    try:
        path, media_type = make(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    response: FileResponse = download(folder, path, media_type)
    return response


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"{what}: not a date (YYYY-MM-DD)") from None


def router(ctx: Context) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/reports", response_class=HTMLResponse)
    def show(
        request: Request,
        _user: Annotated[Principal, page_requires(Permission.READ)],
        case: int | None = None,
    ) -> HTMLResponse:
        found = case_service.list_cases(ctx, case_service.CaseQuery(limit=CASES_SHOWN))
        chosen = case_service.show_case(ctx, case) if case is not None else None
        today = datetime.now(UTC).astimezone(ZoneInfo(ctx.settings.timezone)).date()
        return page(
            request,
            "reports.html",
            cases=sorted(found, key=lambda c: c.case_id, reverse=True),
            chosen=chosen,
            start=(today.replace(day=1) - timedelta(days=1)).replace(day=1).isoformat(),
            end=(today.replace(day=1) - timedelta(days=1)).isoformat(),
        )

    @router.post("/reports/case/{case_id}/jafic", response_model=None)
    def jafic(
        case_id: int,
        user: Annotated[Principal, page_requires(Permission.READ)],
        format: Annotated[str, Form()] = "html",  # noqa: A002
    ) -> FileResponse:
        if format not in ("html", "json"):
            raise BadRequest("format: html or json")

        def make(folder: Path) -> tuple[Path, str]:
            result = write_pack(ctx, JaficRequest(case_id=case_id, out_dir=folder, user=user.name))
            if format == "json":
                return result.json_path, "application/json"
            return result.html_path, HTML

        return _in_temp(make)

    @router.post("/reports/case/{case_id}/goaml", response_model=None)
    def goaml(
        case_id: int, user: Annotated[Principal, page_requires(Permission.READ)]
    ) -> FileResponse:
        def make(folder: Path) -> tuple[Path, str]:
            out = folder / f"goAML-case-{case_id}.xml"
            write_goaml(ctx, GoamlRequest(case_id=case_id, out=out, user=user.name))
            return out, "application/xml"

        return _in_temp(make)

    @router.post("/reports/case/{case_id}/casefile", response_model=None)
    def casefile(
        case_id: int, user: Annotated[Principal, page_requires(Permission.READ)]
    ) -> FileResponse:
        def make(folder: Path) -> tuple[Path, str]:
            out = folder / f"case-{case_id}.zip"
            write_casefile(ctx, CasefileRequest(case_id=case_id, out=out, user=user.name))
            return out, "application/zip"

        return _in_temp(make)

    @router.post("/reports/summary", response_model=None)
    def summary(
        _user: Annotated[Principal, page_requires(Permission.READ)],
        start: Annotated[str, Form()] = "",
        end: Annotated[str, Form()] = "",
        format: Annotated[str, Form()] = "csv",  # noqa: A002
    ) -> FileResponse:
        if format not in ("csv", "html"):
            raise BadRequest("format: csv or html")
        first, last = _date(start, "from"), _date(end, "to")

        def make(folder: Path) -> tuple[Path, str]:
            result = write_summary(ctx, SummaryRequest(start=first, end=last, out_dir=folder))
            if format == "csv":
                return result.csv_path, "text/csv; charset=utf-8"
            return result.html_path, HTML

        return _in_temp(make)

    return router
