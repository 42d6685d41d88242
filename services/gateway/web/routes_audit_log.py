"""Settings → Platform audit log: filter, page, export as a signed bundle, verify the chain."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from faramesh_cloud.gateway.web.audit_query import audit_filter, export_response, verify_chain
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.gateway.web.render import page
from faramesh_cloud.identity.domain import IdentityError, Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.platform_audit.events import AuditAction
from faramesh_cloud.platform_audit.store import AuditFilter

router = APIRouter(include_in_schema=False)
PAGE = 100


async def render(request: Request, principal: Principal, where: AuditFilter, **extra: Any) -> Response:
    entries = await web(request).identity.audit.page(principal.org.org_id, where, limit=PAGE)
    query = {k: v for k, v in request.query_params.items() if k in ("action", "actor", "since", "until") and v}
    return await page(request, "settings/audit_log.html", principal, {
        "tab": "audit-log", "entries": entries, "actions": list(AuditAction), "q": query,
        "older": entries[-1].seq if len(entries) == PAGE else None,
        "can_export": principal.access.allows(Permission.ORG_AUDITLOG_EXPORT), **extra,
    }, section="settings", status_code=400 if "error" in extra else 200)


@router.get("/o/{org}/settings/audit-log", response_class=HTMLResponse)
async def audit_log(request: Request, principal: Principal = Depends(require(Permission.ORG_AUDITLOG_READ)),
                    action: str | None = None, actor: str | None = None, since: str | None = None,
                    until: str | None = None, before: int | None = Query(None, ge=1)) -> Response:
    try:
        where = audit_filter(action, actor, since, until, before)
    except IdentityError as exc:
        return await render(request, principal, AuditFilter(), error=str(exc))
    return await render(request, principal, where)


@router.get("/o/{org}/settings/audit-log/export")
async def export(request: Request, principal: Principal = Depends(require(Permission.ORG_AUDITLOG_EXPORT)),
                 action: str | None = None, actor: str | None = None, since: str | None = None,
                 until: str | None = None) -> Response:
    return await export_response(request, principal, audit_filter(action, actor, since, until))


@router.post("/o/{org}/settings/audit-log/verify", dependencies=[Depends(check_csrf)])
async def verify(request: Request, principal: Principal = Depends(require(Permission.ORG_AUDITLOG_READ))) -> Response:
    report = await verify_chain(request, principal)
    return await render(request, principal, AuditFilter(), verified=report)
