"""Rendering console pages: one Jinja2 environment (autoescaped), the language and time zone
of the request, and the signed-in user's CSRF token in every page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from sanctrace import __version__
from sanctrace.web.i18n import LANG_COOKIE, LANGUAGES, choose, translator

__all__ = ["env", "page", "when"]

env = Environment(
    loader=PackageLoader("sanctrace.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(value: Any, tz: str = "Asia/Tokyo", with_zone: bool = True) -> str:
    """A time as the console shows it: in the configured zone (JST by default)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is None:  # stored as UTC
            value = value.replace(tzinfo=UTC)
        local = value.astimezone(ZoneInfo(tz))
        text = local.strftime("%Y-%m-%d %H:%M")
        return f"{text} {local.tzname()}" if with_zone else text
    return str(value)


def page(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render ``template`` for ``request`` (language, time zone, user and CSRF token set)."""
    lang = choose(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    gettext = translator(lang)
    ctx = getattr(request.app.state, "auth_context", None)
    tz = ctx.settings.timezone if ctx is not None else "Asia/Tokyo"
    session = getattr(request.state, "console", None)
    body = env.get_template(template).render(
        _=gettext,
        gettext=gettext,
        lang=lang,
        languages=LANGUAGES,
        tz=tz,
        when=lambda v, with_zone=True: when(v, tz, with_zone),
        user=session.principal if session is not None else None,
        csrf_token=session.csrf_token if session is not None else "",
        path=request.url.path,
        version=__version__,
        **values,
    )
    return HTMLResponse(body, status_code=status_code)
