"""Audit → Explain: the full decision trace of one DPR, and Verify (re-checked on the server)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from faramesh_cloud.gateway.web.audit_common import audit_page
from faramesh_cloud.gateway.web.audit_explain import explain
from faramesh_cloud.gateway.web.auth import check_csrf, require
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)


@router.get("/o/{org}/audit/records/{record_id}", response_class=HTMLResponse)
async def record(request: Request, record_id: str,
                 principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ))) -> Response:
    view = await explain(request, principal, record_id)
    return await audit_page(request, "audit/explain.html", principal, "search", view)


@router.post("/o/{org}/audit/records/{record_id}/verify", response_class=HTMLResponse,
             dependencies=[Depends(check_csrf)])
async def verify(request: Request, record_id: str,
                 principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ))) -> Response:
    view = await explain(request, principal, record_id, verify=True)
    return await audit_page(request, "audit/explain.html", principal, "search", {**view, "verified": True})
