"""``/api/v1/orgs/{org}/audit-log`` (Settings → Platform audit log) and the platform's
public signing key (``/api/v1/platform/signing-key``)."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from faramesh_cloud.gateway.api.models import AuditEntryOut, ChainReportOut
from faramesh_cloud.gateway.web.audit_query import audit_filter, export_response, verify_chain
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.signing.keys import key_id, public_pem, public_raw

router = APIRouter(prefix="/api/v1", tags=["platform audit log"])


@router.get("/orgs/{org}/audit-log", response_model=list[AuditEntryOut])
async def list_entries(request: Request, principal: Principal = Depends(require(Permission.ORG_AUDITLOG_READ)),
                       action: str | None = Query(None, description="exact action, or a prefix ending in ':'"),
                       actor: str | None = Query(None, description="part of the actor's email, key name or id"),
                       since: str | None = None, until: str | None = None,
                       before: int | None = Query(None, ge=1, description="entries older than this seq"),
                       limit: int = Query(100, ge=1, le=500)) -> list[AuditEntryOut]:
    """Newest first."""
    where = audit_filter(action, actor, since, until, before)
    return [AuditEntryOut.of(e) for e in await web(request).identity.audit.page(principal.org.org_id, where,
                                                                                limit=limit)]


@router.get("/orgs/{org}/audit-log/export", response_class=Response,
            responses={200: {"content": {"application/json": {}}, "description": "a signed bundle"}})
async def export(request: Request, principal: Principal = Depends(require(Permission.ORG_AUDITLOG_EXPORT)),
                 action: str | None = None, actor: str | None = None, since: str | None = None,
                 until: str | None = None) -> Response:
    """The matching entries as a signed JSON bundle; check it offline with
    ``faramesh-cloud verify-bundle FILE --public-key KEY``."""
    return await export_response(request, principal, audit_filter(action, actor, since, until))


@router.post("/orgs/{org}/audit-log/verify", response_model=ChainReportOut, dependencies=[Depends(check_csrf)])
async def verify(request: Request, principal: Principal = Depends(require(Permission.ORG_AUDITLOG_READ))) -> ChainReportOut:
    """Re-hash the organisation's whole chain from its first entry."""
    return ChainReportOut.of(await verify_chain(request, principal))


@router.get("/platform/signing-key", response_model=None)
async def signing_key(request: Request, format: str = Query("json", pattern="^(json|pem)$")) -> Response | dict[str, str]:
    """The platform's ed25519 public key, which verifies signed bundles."""
    public = web(request).signing_key.public_key()
    if format == "pem":
        return PlainTextResponse(public_pem(public), media_type="application/x-pem-file")
    return {"algorithm": "ed25519", "key_id": key_id(public), "pem": public_pem(public),
            "base64": base64.b64encode(public_raw(public)).decode("ascii")}
