"""Wiring the signed-in UI and the REST API into the gateway app (called by ``create_app``)."""

from __future__ import annotations

import logging
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faramesh_cloud.gateway.api import api_keys as api_api_keys
from faramesh_cloud.gateway.api import audit_log as api_audit_log
from faramesh_cloud.gateway.api import audit_records as api_audit_records
from faramesh_cloud.gateway.api import audit_views as api_audit_views
from faramesh_cloud.gateway.api import config_assistant as api_config_assistant
from faramesh_cloud.gateway.api import groups as api_groups
from faramesh_cloud.gateway.api import me as api_me
from faramesh_cloud.gateway.api import members as api_members
from faramesh_cloud.gateway.api import orgs as api_orgs
from faramesh_cloud.gateway.edge import validation_error
from faramesh_cloud.gateway.web import (
    routes_api_keys,
    routes_audit_explain,
    routes_audit_integrity,
    routes_audit_live,
    routes_audit_log,
    routes_audit_search,
    routes_audit_session,
    routes_auth,
    routes_config_assistant,
    routes_groups,
    routes_home,
    routes_members,
    routes_organization,
    routes_sso,
)
from faramesh_cloud.gateway.web.auth import CsrfRejected, LoginRequired, caller
from faramesh_cloud.gateway.web.deps import WebDeps, is_api, web
from faramesh_cloud.gateway.web.errors import TITLES, error_page, http_message, validation_message
from faramesh_cloud.gateway.web.live_feed import LiveHub
from faramesh_cloud.gateway.web.render import make_templates, page
from faramesh_cloud.identity.domain import Forbidden, IdentityError, LoginLocked, NotFound
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.rpc.errors import OutcomeUnknown, ServiceUnavailable

ROUTERS = (
    routes_auth.router, routes_sso.router, routes_home.router, routes_organization.router,
    routes_groups.router, routes_members.router,
    routes_api_keys.router, routes_audit_log.router, routes_config_assistant.router,
    api_me.router, api_orgs.router, api_members.router, api_groups.router, api_api_keys.router, api_audit_log.router,
    api_config_assistant.router,
)
# The DPR explorer, mounted when the composition root gives an audit reader.
AUDIT_ROUTERS = (
    routes_audit_search.router, routes_audit_explain.router, routes_audit_session.router,
    routes_audit_integrity.router, routes_audit_live.router, api_audit_records.router, api_audit_views.router,
)

_log = logging.getLogger(__name__)
RETRY_AFTER_S = 5  # told to clients when a service the page needs does not answer

_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"


async def _error(request: Request, status: int, title: str, message: str) -> Response:
    return await error_page(request, status, title, message)


async def _login_required(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={target}" if request.method == "GET" else "/login", status_code=303)


async def _csrf(request: Request, exc: Exception) -> Response:
    return await _error(request, 403, "Form expired", str(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    return await _error(request, 404, "Not found", str(exc))


async def _forbidden(request: Request, exc: Exception) -> Response:
    return await _error(request, 403, "Not allowed", str(exc))


async def _identity(request: Request, exc: Exception) -> Response:
    status = 429 if isinstance(exc, LoginLocked) else 400
    return await _error(request, status, "That did not work", str(exc))


async def _unavailable(request: Request, exc: Exception) -> Response:
    """503 when a service the page reads (over its internal API) did not answer, or answered
    "not now" (``ServiceBusy``: Retry-After is then the service's): the person reads which
    service and what to do; where it runs and why it failed go to the log only. A change
    sent whose answer did not come back (``OutcomeUnknown``) is a 504 saying it may have
    been applied and where to check, with no Retry-After: repeating it blindly is wrong."""
    assert isinstance(exc, ServiceUnavailable)
    _log.warning("%s %s: %s", request.method, request.url.path, exc)
    if isinstance(exc, OutcomeUnknown):
        return await _error(request, 504, exc.headline, exc.public)
    response = await _error(request, 503, exc.headline, exc.public)
    response.headers["Retry-After"] = str(exc.retry_after_s or RETRY_AFTER_S)
    return response


async def _http(request: Request, exc: Exception) -> Response:
    """Starlette's (the router's unknown path, 405) and FastAPI's ``HTTPException``: JSON with
    its detail for the API; for the UI, the error page (in the layout under ``/o/{org}/``)."""
    assert isinstance(exc, HTTPException)
    if is_api(request):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return await error_page(request, exc.status_code, TITLES.get(exc.status_code, "Something went wrong"),
                            http_message(exc.status_code, exc.detail), dict(exc.headers or {}))


async def _invalid(request: Request, exc: Exception) -> Response:
    """A bad query or form field on a page: the error page naming the field (the API's 422 JSON
    from ``edge.validation_error`` otherwise)."""
    assert isinstance(exc, RequestValidationError)
    if is_api(request):
        return await validation_error(request, exc)
    return await error_page(request, 422, TITLES[422], validation_message(exc.errors()))


def mount_web(app: FastAPI, deps: WebDeps) -> None:
    app.state.web = deps
    app.state.live = deps.live or (LiveHub(deps.audit) if deps.audit is not None else None)
    app.state.templates = make_templates()
    static = resources.files("faramesh_cloud.gateway") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for router in (*ROUTERS, *(AUDIT_ROUTERS if deps.audit is not None else ())):
        app.include_router(router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRejected, _csrf)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(IdentityError, _identity)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(ServiceUnavailable, _unavailable)
    # Authlib keeps OIDC state, nonce and PKCE verifier here for the ten minutes a sign-in may take.
    app.add_middleware(SessionMiddleware, secret_key=deps.config.secret_key, session_cookie="fmc_sso",
                       max_age=600, same_site="lax", https_only=bool(deps.config.secure_cookies))

    app.add_middleware(SecurityHeaders)


class SecurityHeaders:
    """The headers every answer carries unless its route set them. A plain ASGI middleware
    (not ``@app.middleware("http")``, whose ``BaseHTTPMiddleware`` relays a streamed body chunk
    by chunk through a task and a memory stream: ~40 µs a chunk, on every live-view event)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not path.startswith("/api/docs"):
                    headers.setdefault("Content-Security-Policy", _CSP)
                    headers.setdefault("X-Frame-Options", "DENY")
                if path.startswith(("/o/", "/api/v1/orgs", "/invitations/", "/login", "/setup")):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, sending)


async def start_page(request: Request) -> Response | None:
    """``/`` for a configured installation: Home of the user's first organisation, or the
    sign-in page. None on a fresh install (no user): the landing page offers the first owner."""
    identity = web(request).identity
    if not await identity.users.any_user():
        return None
    found = await caller(request)
    if found is None or found.session is None:
        return RedirectResponse("/login", status_code=303)
    memberships = await identity.members.memberships_of(found.session.user.user_id)
    if not memberships:
        return await page(request, "error.html", None, {
            "title": "No organisation", "message": "You are not a member of any organisation any more; ask an "
            "owner to invite you again."}, status_code=200)
    return RedirectResponse(f"/o/{memberships[0].org.slug}/", status_code=303)


_OPERATORS = frozenset({Role.OWNER, Role.ADMIN})


async def operates_here(request: Request) -> bool:
    """Whether the caller may see how this installation runs (data dir, internal addresses):
    a signed-in Owner or Admin of any organisation, or an Owner or Admin platform API key."""
    found = await caller(request)
    if found is None:
        return False
    if found.api_key is not None:
        return found.api_key.role in _OPERATORS
    assert found.session is not None
    memberships = await web(request).identity.members.memberships_of(found.session.user.user_id)
    return any(m.role in _OPERATORS for m in memberships)
