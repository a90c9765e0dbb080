"""The API's own documentation, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served entirely
from the package: their scripts, styles and icons are vendored under ``web/static/vendor/``
(``swagger-ui-dist`` 5, Apache-2.0, and ``redoc`` 2's standalone bundle, MIT; the licence
files lie beside them), so the pages work on a network without internet. FastAPI's defaults
load them from a CDN (and ReDoc's fonts from Google), which leaves a blank page there.

``create_app`` builds its application with ``docs_url=None, redoc_url=None`` and calls
``install_docs``; the paths stay open to anyone (``api.auth.PUBLIC``): they carry no data.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

__all__ = ["DOCS_URL", "OAUTH2_REDIRECT_URL", "POLICY", "REDOC_URL", "VENDOR", "install_docs"]

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"
VENDOR = "/static/vendor"  # where web.install_console mounts web/static
SWAGGER_JS = f"{VENDOR}/swagger-ui-bundle-5.35.0.js"
SWAGGER_CSS = f"{VENDOR}/swagger-ui-5.35.0.css"
SWAGGER_ICON = f"{VENDOR}/swagger-ui-favicon-32x32.png"
REDOC_JS = f"{VENDOR}/redoc-standalone-2.5.4.js"
# The pages may load nothing but this site: ReDoc's bundle shows its vendor's logo from a CDN
# and Swagger UI asks an online validator for a badge; the policy (and ``validatorUrl: null``)
# keeps the browser from even trying. Both draw with inline styles; Swagger UI starts from an
# inline script and ReDoc searches in a blob worker.
POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    )
)


def _offline(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = POLICY
    return response


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, its OAuth2 redirect page and ``/redoc`` from the vendored assets."""
    router = APIRouter(include_in_schema=False)
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} {app.version}"

    @router.get(DOCS_URL, response_class=HTMLResponse)
    def swagger_ui() -> HTMLResponse:
        return _offline(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{title} · API",
                swagger_js_url=SWAGGER_JS,
                swagger_css_url=SWAGGER_CSS,
                swagger_favicon_url=SWAGGER_ICON,
                oauth2_redirect_url=OAUTH2_REDIRECT_URL,
                swagger_ui_parameters={"validatorUrl": None},
            )
        )

    @router.get(OAUTH2_REDIRECT_URL, response_class=HTMLResponse)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get(REDOC_URL, response_class=HTMLResponse)
    def redoc() -> HTMLResponse:
        return _offline(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{title} · ReDoc",
                redoc_js_url=REDOC_JS,
                redoc_favicon_url=SWAGGER_ICON,
                with_google_fonts=False,
            )
        )

    app.include_router(router)
