"""Audit → Session explorer: one session id's timeline across every participating agent."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web.audit_common import audit_page, parse_limit, reader, visible
from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.identity.domain import IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission

router = APIRouter(include_in_schema=False)


@router.get("/o/{org}/audit/sessions", response_class=HTMLResponse)
async def sessions(request: Request, id: str | None = None,
                   principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ))) -> Response:
    if id and id.strip():
        return RedirectResponse(f"/o/{principal.org.slug}/audit/sessions/{quote(id.strip(), safe='')}",
                                status_code=303)
    return await audit_page(request, "audit/session.html", principal, "session",
                            {"session_id": "", "records": [], "agents": []})


@router.get("/o/{org}/audit/sessions/{session_id}", response_class=HTMLResponse)
async def session(request: Request, session_id: str, cursor: str | None = None,
                  principal: Principal = Depends(require(Permission.AUDIT_RECORD_READ))) -> Response:
    limit = parse_limit(request.query_params.get("limit"), default=500, most=1000)
    try:
        timeline = await reader(request).session_timeline(principal.org.org_id, session_id, cursor or None, limit)
    except ValueError as exc:
        raise IdentityError(str(exc)) from None
    records = visible(principal, timeline.records)
    if not records and cursor is None:
        raise NotFound(f"no decision records with session id {session_id!r} in this organisation")
    agents = sorted({(r.stack_id, r.agent_id) for r in records})
    next_link = "?" + urlencode({"cursor": timeline.next_cursor}) if timeline.next_cursor else None
    return await audit_page(request, "audit/session.html", principal, "session", {
        "session_id": session_id, "records": records, "agents": agents, "next_link": next_link})
