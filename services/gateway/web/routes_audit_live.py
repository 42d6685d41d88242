"""Audit → Live stream: the page, and its server-sent event source."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from faramesh_cloud.gateway.web.audit_common import EFFECTS, VERIFICATIONS, audit_page, reader
from faramesh_cloud.gateway.web.audit_live import stream
from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.identity.domain import Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)


@router.get("/o/{org}/audit/live", response_class=HTMLResponse)
async def live(request: Request, principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ))) -> Response:
    reader(request)
    params = {k: v for k, v in request.query_params.items() if k in ("stack", "agent", "session", "effect",
                                                                     "action_type", "tool", "rule",
                                                                     "verification") and v}
    source = f"/o/{principal.org.slug}/audit/live/events" + (f"?{urlencode(params)}" if params else "")
    return await audit_page(request, "audit/live.html", principal, "live",
                            {"q": params, "effects": EFFECTS, "verifications": VERIFICATIONS, "source": source})


@router.get("/o/{org}/audit/live/events", response_class=StreamingResponse)
async def events(request: Request, principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ))) -> Response:
    return await stream(request, principal)
