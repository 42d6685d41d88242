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

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from faramesh_cloud import __version__
from faramesh_cloud.gateway.docs import mount_docs
from faramesh_cloud.gateway.edge import BodyLimit, EdgeLimits, RejectNul, validation_error
from faramesh_cloud.gateway.openapi import AllowHeader, document_answers
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.setup import mount_web, operates_here, start_page
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


class OutboxOut(BaseModel):
    table: str
    oldest_unrelayed_age_s: float | None = Field(
        None, description="age of the oldest event not yet on the log; absent: none waiting")
    parked: int = Field(description="events the log refused for good, set aside in the table")
    last_error: str | None = Field(None, description="why the relay's last attempt failed")


class ServiceOut(BaseModel):
    name: str
    role: str
    address: str
    state: str
    outboxes: list[OutboxOut] | None = Field(None, description="its transactional outboxes, if any")


class PlatformStatusOut(BaseModel):
    ok: bool = Field(description="every service is running")
    version: str
    mode: str | None = Field(None, description="the rest only for an Owner or Admin of an organisation")
    data_dir: str | None = None
    components: dict[str, str] | None = None
    services: list[ServiceOut] | None = None
    sync_address: str | None = None
    sync_cert: str | None = None
    started_at: str | None = None
    notes: list[str] | None = None


def _templates() -> Jinja2Templates:
    directory = resources.files("faramesh_cloud.gateway") / "templates"
    return Jinja2Templates(directory=str(directory))


def create_app(status: StatusSource, *, web: WebDeps | None = None, limits: EdgeLimits | None = None) -> FastAPI:
    app = FastAPI(
        title="Faramesh Cloud API",
        version=__version__,
        description="Fleet visibility, approvals, the verified DPR replica, compliance evidence "
        "and the registry for Faramesh. Every call is scoped to one organisation.",
        docs_url=None,  # served from this installation by mount_docs, not from a CDN
        openapi_url="/api/v1/openapi.json",
        redoc_url=None,
    )
    templates = _templates()
    mount_docs(app)
    app.add_exception_handler(RequestValidationError, validation_error)  # the UI's pages: mount_web's
    if web is not None:
        mount_web(app, web)
    # Each added outside the one before: a 405's Allow is completed, the body limit sees a
    # request first, then NUL bytes are refused (gateway/edge.py, gateway/openapi.py).
    app.add_middleware(RejectNul)
    app.add_middleware(BodyLimit, limits=limits or EdgeLimits())
    app.add_middleware(AllowHeader, routes=lambda: app.router.routes)
    document_answers(app)

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

    @app.get("/api/v1/status", tags=["platform"], response_model=PlatformStatusOut, response_model_exclude_none=True)
    async def platform_status(request: Request) -> PlatformStatusOut:
        """Liveness (``ok``: every service running, ``version``) for anyone; what this Cloud
        instance runs (mode, components, services and their addresses, the data dir) only for an
        Owner or Admin of an organisation here (session or platform API key)."""
        current = status()
        ok = all(s.state == "running" for s in current.services)
        if web is None or not await operates_here(request):
            return PlatformStatusOut(ok=ok, version=__version__)
        shown = asdict(current)
        shown["services"] = [ServiceOut(**{**s, "outboxes": s["outboxes"] or None}) for s in shown["services"]]
        return PlatformStatusOut(ok=ok, version=__version__, **shown)

    return app
