"""Audit → Session explorer: one session id's timeline across every participating agent,
drawn on one time axis (a lane per agent, delegation edges, each DEFER joined to its approval
and resume record: ``session_view``), with the flat table one tab away (``?view=table``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from faramesh_cloud.gateway.web import session_view
from faramesh_cloud.gateway.web.audit_common import audit_page, parse_limit, reader, visible
from faramesh_cloud.gateway.web.auth import require
from faramesh_cloud.gateway.web.deps import web
from faramesh_cloud.identity.domain import IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.rpc.errors import ServiceUnavailable

router = APIRouter(include_in_schema=False)
VIEWS = ("timeline", "table")
_log = logging.getLogger(__name__)


async def _links(request: Request, org_id: str, records: Sequence[Any]) -> dict[str, dict[str, str]]:
    """``session_view.links_of`` per record id of the page (its stored bytes, one read)."""
    ids = [r.record_id for r in records if r.verified]
    if not ids:
        return {}
    out: dict[str, dict[str, str]] = {}
    for stored in await reader(request).records_with_bytes(org_id, ids):
        out.setdefault(stored.record_id, session_view.links_of(stored.raw))
    return out


async def _approvals(request: Request, principal: Principal, records: Sequence[Any],
                     links: dict[str, dict[str, str]]) -> tuple[list[Any], bool]:
    """Cloud's approvals of the page's DEFERs, read per (stack, agent) that deferred, on the
    stacks whose approvals the member may read; (approvals, whether the service answered)."""
    port = getattr(request.app.state, "approvals", None)
    wanted: dict[tuple[str, str], set[str]] = {}
    for r in records:
        token = links.get(r.record_id, {}).get("defer_token", "")
        if token and principal.access.allows(Permission.APPROVALS_REQUEST_READ, r.stack_id):
            wanted.setdefault((r.stack_id, r.agent_id), set()).add(token)
    if port is None or not wanted:
        return [], True
    found: list[Any] = []
    try:
        for (stack_id, agent_id), tokens in sorted(wanted.items()):
            for read in (port.pending, port.history):
                found += [a for a in await read(principal.org.org_id, stack_id=stack_id, agent_id=agent_id,
                                                stacks=[stack_id]) if a.defer_token in tokens]
    except ServiceUnavailable as exc:
        _log.warning("session timeline without approvals: %s", exc)
        return [], False
    return found, True


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
    view = request.query_params.get("view") or "timeline"
    if view not in VIEWS:
        raise IdentityError(f"view must be one of {', '.join(VIEWS)}")
    drawn, approvals_answered = None, True
    if view == "timeline" and records:
        org_id = principal.org.org_id
        links = await _links(request, org_id, records)
        approvals, approvals_answered = await _approvals(request, principal, records, links)
        names = {s.stack_id: s.name for s in await web(request).stacks.list_stacks(org_id)}
        drawn = session_view.build(records, links, approvals, f"/o/{principal.org.slug}", names)
    more = {"view": view} if view != "timeline" else {}
    next_link = "?" + urlencode({"cursor": timeline.next_cursor, **more}) if timeline.next_cursor else None
    here = f"/o/{principal.org.slug}/audit/sessions/{quote(session_id, safe='')}"
    return await audit_page(request, "audit/session.html", principal, "session", {
        "session_id": session_id, "records": records, "agents": agents, "next_link": next_link,
        "view": view, "drawn": drawn, "approvals_answered": approvals_answered,
        "view_links": {v: here + ("?" + urlencode({"view": v}) if v != "timeline" else "")
                       + (("&" if v != "timeline" else "?") + urlencode({"cursor": cursor}) if cursor else "")
                       for v in VIEWS}})
