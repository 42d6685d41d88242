"""``/api/docs``: Swagger UI for the REST API, served from this installation, so the page
works on an air-gapped install (FastAPI's default loads it from a CDN).

The assets are ``swagger-ui-dist`` from npm, vendored byte for byte under
``static/swagger-ui`` with their licence (``static/swagger-ui/README.md``: version, checksums,
how to update). Chosen over a PyPI wrapper such as ``swagger-ui-bundle``: that one's last
release is years behind Swagger UI, and a security fix in Swagger UI is a file copy here. The
page's Content-Security-Policy allows same-origin scripts, styles and connections only (plus
the one inline script FastAPI writes to start Swagger UI), and the online validator is off.
"""

from __future__ import annotations

from importlib import resources
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL: Final = "/api/docs"
ASSETS: Final = "/api/docs/assets"
DOCS_CSP: Final = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                   "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")


def mount_docs(app: FastAPI) -> None:
    """Add ``/api/docs`` and its assets (the FastAPI app is made with ``docs_url=None``)."""
    directory = resources.files("faramesh_cloud.gateway") / "static" / "swagger-ui"
    app.mount(ASSETS, StaticFiles(directory=str(directory)), name="swagger-ui")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        assert app.openapi_url is not None
        page = get_swagger_ui_html(
            openapi_url=request.scope.get("root_path", "").rstrip("/") + app.openapi_url,
            title=f"{app.title}: API reference", swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css", swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None})
        page.headers["Content-Security-Policy"] = DOCS_CSP
        page.headers["X-Frame-Options"] = "DENY"
        return page
