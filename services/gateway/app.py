"""The gateway: the web UI and the REST API (``/api/v1``), server-rendered with Jinja2.

``create_app`` receives everything it shows through a ``StatusSource`` and, for the signed-in
UI and the REST API, a :class:`WebDeps` (identity, stacks, the platform signing key); it
imports no adapter and no other service's tables. Without ``web`` it serves only the landing
page, ``/healthz`` and ``/api/v1/status``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from faramesh_cloud import __version__
from faramesh_cloud.gateway.edge import BodyLimit, EdgeLimits, RejectNul, validation_error
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.setup import mount_web, start_page
from faramesh_cloud.runtime.service import ServiceInfo


@dataclass(frozen=True, slots=True)
class Status:
    mode: str
    data_dir: str
    components: dict[str, str]
    services: list[ServiceInfo]
    sync_address: str
    sync_cert: str | None
    started_at: str
    notes: list[str] = field(default_factory=list)


StatusSource = Callable[[], Status]


def _templates() -> Jinja2Templates:
    directory = resources.files("faramesh_cloud.gateway") / "templates"
    return Jinja2Templates(directory=str(directory))


def create_app(status: StatusSource, *, web: WebDeps | None = None, limits: EdgeLimits | None = None) -> FastAPI:
    app = FastAPI(
        title="Faramesh Cloud API",
        version=__version__,
        description="Fleet visibility, approvals, the verified DPR replica, compliance evidence "
        "and the registry for Faramesh. Every call is scoped to one organisation.",
        docs_url="/api/docs",
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    templates = _templates()
    if web is not None:
        mount_web(app, web)
    app.add_exception_handler(RequestValidationError, validation_error)
    # Outermost last: the body limit sees a request first, then NUL bytes are refused.
    app.add_middleware(RejectNul)
    app.add_middleware(BodyLimit, limits=limits or EdgeLimits())

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def landing(request: Request) -> Response:
        if web is not None:
            start = await start_page(request)
            if start is not None:
                return start
        return templates.TemplateResponse(request, "landing.html",
                                          {"status": status(), "version": __version__, "first_run": web is not None})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        current = status()
        healthy = all(s.state == "running" for s in current.services)
        return JSONResponse({"ok": healthy, "services": {s.name: s.state for s in current.services}},
                            status_code=200 if healthy else 503)

    @app.get("/api/v1/status", tags=["platform"])
    async def platform_status() -> dict[str, Any]:
        """What this Cloud instance runs: mode, components, services and their addresses."""
        current = status()
        body = asdict(current)
        body["version"] = __version__
        return body

    return app
